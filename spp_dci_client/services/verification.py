"""The one place that decides whether a registry's message is signed well enough.

The client (responses), Test Connection and the callback controller all call
check_registry_signature. A signature that is present, in the body or in the
``Signature`` HTTP header, is verified under every policy but "off", and a
present signature that fails is always an error; the policy only says what
happens to a message that carries none.
"""

from .errors import DCISignatureError, _lt

POLICY_REQUIRE = "require"
POLICY_IF_PRESENT = "if_present"
POLICY_OFF = "off"
SIGNATURE_POLICIES = [
    (POLICY_REQUIRE, "Required: unsigned responses are refused"),
    (POLICY_IF_PRESENT, "Verified when present"),
    (POLICY_OFF, "Not verified"),
]


def check_registry_signature(policy, profile, envelope, http_signature, resolve_key, *, callback=False, now=None):
    """Verify a message from the registry; returns the VerifiedSignature, or None when nothing was checked.

    ``http_signature`` is the message's ``Signature`` HTTP header (or None).
    Callbacks are refused unsigned even under "if_present": a callback is
    authenticated by its signature alone.
    """
    if policy == POLICY_OFF:
        return None
    signed = bool(http_signature) or (isinstance(envelope, dict) and envelope.get("signature") not in (None, ""))
    if not signed:
        if policy == POLICY_IF_PRESENT and not callback:
            return None
        raise DCISignatureError(_lt("The registry's message is not signed."), code="err.signature.missing")
    return profile.verify(envelope, resolve_key, http_signature=http_signature, now=now, is_response=True)
