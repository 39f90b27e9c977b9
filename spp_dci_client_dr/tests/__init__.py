from . import test_dr_service
from . import test_compat
from . import test_dr_bulk
