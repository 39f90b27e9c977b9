from . import crvs_subscription
from . import crvs_event
from . import res_partner
from . import dci_transaction
from . import bulk_run
