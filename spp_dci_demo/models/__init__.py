from . import program
from . import enrollment_check
from . import enrollment
from . import data_source
from . import ir_config_parameter
from . import dci_transaction
from . import bulk_run
