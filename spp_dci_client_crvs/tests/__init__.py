from . import test_crvs_service
from . import test_crvs_events
from . import test_compat
from . import test_bulk_workers
