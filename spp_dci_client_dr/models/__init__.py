from . import disability_status
from . import res_partner
