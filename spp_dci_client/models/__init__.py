from . import signing_key
from . import data_source
from . import oauth_token
from . import transaction
from . import partner_identifier
from . import res_partner
