from . import test_dr_service
