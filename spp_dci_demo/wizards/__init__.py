from . import bulk_verify_wizard
from . import reject_wizard
