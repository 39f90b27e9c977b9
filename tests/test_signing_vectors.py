"""Fixed signature vectors: (key, envelope, expected signature string) per profile.

Ed25519 and RSA PKCS#1 v1.5 are deterministic, so a change to the canonical
form, the digest or the signed string breaks these tests, and a registry that
implements the documented recipe can check its own code against them.
"""

import base64
import copy
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from odoo.addons.spp_dci_client.services import signing
from odoo.addons.spp_dci_client.services.errors import DCISignatureError

DATA = Path(__file__).parent / "data"
VECTORS = json.loads((DATA / "signing_vectors.json").read_text())
NOW = VECTORS["now"]


def private_key(kind):
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(VECTORS["ed25519"]["seed_hex"]))
    return signing.load_private_key((DATA / VECTORS["rsa"]["pem_file"]).read_text())


def envelope(signature):
    return {
        "header": copy.deepcopy(VECTORS["header"]),
        "message": copy.deepcopy(VECTORS["message"]),
        "signature": signature,
    }


def test_digest_is_openspp_recipe():
    canonical = json.dumps(
        {"header": VECTORS["header"], "message": VECTORS["message"]}, sort_keys=True, separators=(",", ":")
    )
    expected = base64.b64encode(hashlib.sha256(canonical.encode()).digest()).decode()
    assert expected == VECTORS["digest"]
    assert signing.CavageProfile.digest(VECTORS["header"], VECTORS["message"]) == VECTORS["digest"]


def test_rfc7638_thumbprint_example():
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZ"
        "CiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8K"
        "JZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_x"
        "BniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert signing.jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_openspp_digest_covers_the_header_as_openspp_dumps_it():
    dumped = signing.openspp_header(VECTORS["header"])
    assert dumped == VECTORS["openspp_header"]
    assert dumped["message_ts"] == "2026-01-15T10:00:00Z"
    assert (dumped["sender_uri"], dumped["meta"]) == (None, None)
    assert signing.OpenSPPProfile.digest(dumped, VECTORS["message"]) == VECTORS["openspp_digest"]


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
@pytest.mark.parametrize("profile_name", [signing.PROFILE_CAVAGE, signing.PROFILE_OPENSPP, signing.PROFILE_OPENG2P])
def test_vector(kind, profile_name):
    key = private_key(kind)
    signer = signing.Signer(key, signing.public_jwk(key.public_key())["kid"])
    assert signer.kid == VECTORS[kind]["kid"]
    profile = signing.get_profile(profile_name)
    expected = VECTORS[kind][profile_name]
    assert profile.sign(VECTORS["header"], VECTORS["message"], signer, VECTORS["sender_id"], now=NOW) == expected

    def resolve(kid):
        assert kid == signer.kid
        return key.public_key()

    def verify(signed_envelope, now):
        if profile_name == signing.PROFILE_OPENG2P:
            body = {name: value for name, value in signed_envelope.items() if name != "signature"}
            return profile.verify(
                body, resolve, now=now, http_signature=signed_envelope["signature"], is_response=False
            )
        return profile.verify(signed_envelope, resolve, now=now, is_response=False)

    verified = verify(envelope(expected), NOW + 10)
    assert verified.kid == signer.kid

    tampered = envelope(expected)
    tampered["message"]["search_request"][0]["search_criteria"]["query"]["value"] = "BR-2024-0043"
    with pytest.raises(DCISignatureError) as error:
        verify(tampered, NOW + 10)
    assert error.value.code == "err.signature.invalid"

    if profile_name == signing.PROFILE_OPENG2P:
        assert (verified.created, verified.expires) == (None, None)  # OpenG2P's JWS has no iat/exp
        return
    assert (verified.created, verified.expires) == (NOW, NOW + 300)
    with pytest.raises(DCISignatureError, match="expired"):
        verify(envelope(expected), NOW + 300 + signing.CLOCK_SKEW + 1)
    with pytest.raises(DCISignatureError, match="future"):
        verify(envelope(expected), NOW - signing.CLOCK_SKEW - 1)


def test_missing_signature_has_its_own_code():
    with pytest.raises(DCISignatureError) as error:
        signing.CavageProfile().verify(envelope(None), lambda kid: None, now=NOW)
    assert error.value.code == "err.signature.missing"
