from . import test_install
from . import test_dr_service
