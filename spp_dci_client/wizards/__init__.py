from . import jwks_fetch
