from . import ibr_check
from . import res_partner
from . import bulk_run
