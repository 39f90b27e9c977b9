from . import disability_status
from . import res_partner
from . import bulk_run
