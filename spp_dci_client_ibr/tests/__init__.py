from . import test_ibr_service
from . import test_ibr_bulk
