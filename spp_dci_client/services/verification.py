"""The one place that decides whether a registry's response is signed well enough.

The client and Test Connection call check_registry_signature. A signature
that is present, in the body or in the ``Signature`` HTTP header, is verified
under every policy but "off", and a present signature that fails is always an
error; the policy only says what happens to a response that carries none.
Callbacks do not follow the policy: they must be signed or carry our callback
token (spp.dci.data.source _authenticate_callback).
"""

from . import constants as C
from .constants import POLICY_IF_PRESENT, POLICY_OFF
from .errors import DCISignatureError, _lt
from .freshness import verify_signature


def check_registry_signature(policy, profile, envelope, http_signature, resolve_key, *, now=None):
    """Verify a response from the registry; returns the VerifiedSignature, or None when nothing was checked.

    ``http_signature`` is the response's ``Signature`` HTTP header (or None).
    """
    if policy == POLICY_OFF:
        return None
    signed = bool(http_signature) or (isinstance(envelope, dict) and envelope.get("signature") not in (None, ""))
    if not signed:
        if policy == POLICY_IF_PRESENT:
            return None
        raise DCISignatureError(_lt("The registry's message is not signed."), code=C.ERR_SIGNATURE_MISSING)
    return verify_signature(profile, envelope, resolve_key, http_signature=http_signature, now=now)
