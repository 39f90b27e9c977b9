from . import test_install
from . import test_client
from . import test_data_source
from . import test_callbacks
from . import test_bulk_run
from . import test_keep_alive
