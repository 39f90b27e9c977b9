from . import test_enrollment
from . import test_reliability
