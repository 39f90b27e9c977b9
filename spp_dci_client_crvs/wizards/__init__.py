from . import crvs_subscribe_wizard
