from . import test_enrollment
from . import test_reliability
from . import test_security_admin
from . import test_simulator_controller
