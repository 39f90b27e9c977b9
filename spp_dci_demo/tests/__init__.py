from . import test_install
from . import test_enrollment
from . import test_reliability
