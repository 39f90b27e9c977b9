"""What the (env, data_source_code) services share: argument checks and the data source lookup."""

from odoo.api import Environment

from .errors import DCIValidationError


def check_service_arguments(service, env, data_source_code):
    """TypeError naming the right shape unless called as Service(env, data_source_code)."""
    shape = f"{service}(env, data_source_code='...')"
    if not isinstance(env, Environment):
        raise TypeError(f"{shape}: the first argument must be the Odoo environment, got {type(env).__name__}")
    if not isinstance(data_source_code, str):
        raise TypeError(f"{shape}: data_source_code must be the data source's code (a string), "
                        f"got {type(data_source_code).__name__}")


def data_source_for(env, code, registry_type):
    """The active data source with this code; DCIValidationError unless it serves ``registry_type``."""
    data_source = env["spp.dci.data.source"].get_by_code(code)
    if data_source.sudo().registry_type != registry_type:
        raise DCIValidationError(env._("Data source %(code)s is not a %(kind)s registry.", code=code,
                                       kind=registry_type))
    return data_source
