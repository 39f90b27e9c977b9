from . import test_ibr_service
