from . import test_ibr_service
from . import test_compat
from . import test_ibr_bulk
