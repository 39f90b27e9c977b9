"""The peer oracles (tests/peers/) against their fixed vectors, by a second
route where one exists (a hand-built header, the openssl command line), and
against tampering."""

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from peers import openg2p, openspp

PEERS = Path(__file__).resolve().parent / "peers"
VECTORS = json.loads((PEERS / "vectors.json").read_text(encoding="utf-8"))
OPENSPP = {vector["algorithm"]: vector for vector in VECTORS["openspp"]}
OPENG2P = {vector["algorithm"]: vector for vector in VECTORS["openg2p"]}


def pem(name):
    return (PEERS / "keys" / name).read_text()


def private_pem(public_name):
    return pem(public_name.replace(".pub.pem", ".pem"))


def openssl_verifies(tmp_path, public_pem_name, data, signature):
    (tmp_path / "data").write_bytes(data)
    (tmp_path / "sig").write_bytes(signature)
    key = PEERS / "keys" / public_pem_name
    if "ed25519" in public_pem_name:
        command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", key, "-rawin", "-in", "data", "-sigfile", "sig"]
    else:
        command = ["openssl", "dgst", "-sha256", "-verify", key, "-signature", "sig", "data"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    return result.returncode == 0 and "Verif" in result.stdout and "Failure" not in result.stdout


def rebuilt_body(vector, mutate):
    envelope = json.loads(vector["request_body"])
    mutate(envelope)
    return json.dumps(envelope, ensure_ascii=False).encode()


def resigned_body(vector, mutate, created=None, algorithm=None):
    """An OpenSPP request re-signed after ``mutate`` changed its header or message."""
    envelope = json.loads(vector["request_body"])
    mutate(envelope)
    header = openspp.dumped_header(openspp.Envelope(signature="x", header=envelope["header"], message=None))
    key = private_pem(vector["client_public_key"])
    envelope["signature"] = openspp.sign(
        header,
        envelope["message"],
        key,
        vector["sender_id"],
        "k1",
        algorithm or vector["algorithm"],
        created or vector["now"] - 10,
    )
    return json.dumps(envelope, ensure_ascii=False).encode()


@pytest.mark.parametrize("algorithm", ["ed25519", "rs256"])
class TestOpenSPPVectors:
    def test_request_verifies_with_the_vector_digest(self, algorithm):
        vector = OPENSPP[algorithm]
        verified = openspp.verify_request(
            vector["request_body"].encode(),
            pem(vector["client_public_key"]),
            algorithm,
            vector["sender_id"],
            now=vector["now"],
        )
        assert verified.digest == vector["digest"]
        assert verified.signing_string == vector["signing_string"]
        key_name = "ed25519" if algorithm == "ed25519" else "rsa"
        assert verified.params["kidId"] == f"openspp-client|client-{key_name}|{algorithm}"

    def test_signing_is_deterministic_and_reproduces_the_vector(self, algorithm):
        vector = OPENSPP[algorithm]
        key_name = "ed25519" if algorithm == "ed25519" else "rsa"
        signature = openspp.sign(
            vector["dumped_header"],
            json.loads(vector["request_body"])["message"],
            private_pem(vector["client_public_key"]),
            "openspp-client",
            f"client-{key_name}",
            algorithm,
            vector["now"] - 10,
        )
        assert signature == vector["signature"]

    def test_digest_by_hand_without_pydantic(self, algorithm):
        vector = OPENSPP[algorithm]
        sent = json.loads(vector["request_body"])
        header = dict(sent["header"])
        header["message_ts"] = header["message_ts"].replace(".178Z", ".178000Z")
        header |= {"sender_uri": None, "meta": None, "is_msg_encrypted": False}
        assert header == vector["dumped_header"]
        text = json.dumps({"header": header, "message": sent["message"]}, sort_keys=True, separators=(",", ":"))
        assert "\\u00d1o\\u00f1o M\\u00fcller" in text
        assert base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() == vector["digest"]

    @pytest.mark.skipif(not shutil.which("openssl"), reason="openssl command line not installed")
    def test_openssl_verifies_the_signature(self, algorithm, tmp_path):
        vector = OPENSPP[algorithm]
        raw = base64.b64decode(openspp.parse_signature(vector["signature"])["signature"])
        data = vector["signing_string"].encode()
        assert openssl_verifies(tmp_path, vector["client_public_key"], data, raw)
        assert not openssl_verifies(tmp_path, vector["client_public_key"], data.replace(b"digest: ", b"digest: x"), raw)

    def test_response_wire_and_signed_headers_differ_as_openspp_sends_them(self, algorithm):
        vector = OPENSPP[algorithm]
        key_name = "ed25519" if algorithm == "ed25519" else "rsa"
        wire = openspp.sign_response(
            vector["response_header_fields"],
            vector["response_message"],
            private_pem(vector["registry_public_key"]),
            f"registry-{key_name}",
            algorithm,
            sender_id="crvs.registry",
            created=vector["response_created"],
        )
        assert wire == vector["response_wire"]
        assert "is_msg_encrypted" not in wire["header"]
        assert "status_reason_code" not in wire["header"]
        assert vector["response_signed_header"]["is_msg_encrypted"] is False
        assert wire["header"]["message_ts"] == "2025-01-15T10:30:52.500000Z"
        params = openspp.verify_response(wire, pem(vector["registry_public_key"]), algorithm, now=vector["now"])
        assert params["kidId"] == f"crvs.registry|registry-{key_name}|{algorithm}"
        with pytest.raises(openspp.PeerRejected, match="does not verify"):
            openspp.verify_signature(
                wire["signature"],
                wire["header"],
                wire["message"],
                pem(vector["registry_public_key"]),
                algorithm,
                now=vector["now"],
            )

    def test_tampered_response_is_refused(self, algorithm):
        vector = OPENSPP[algorithm]
        wire = json.loads(json.dumps(vector["response_wire"]))
        wire["message"]["search_response"][0]["data"]["reg_records"][0]["name"]["given_name"] = "Zoe"
        with pytest.raises(openspp.PeerRejected, match="does not verify"):
            openspp.verify_response(wire, pem(vector["registry_public_key"]), algorithm, now=vector["now"])


class TestOpenSPPRefusals:
    vector = OPENSPP["ed25519"]

    def verify(self, body, algorithm="ed25519", sender_id="openspp-client", now=None):
        return openspp.verify_request(
            body,
            pem(self.vector["client_public_key"]),
            algorithm,
            sender_id,
            now=self.vector["now"] if now is None else now,
        )

    def test_changed_message(self):
        def rename(envelope):
            envelope["message"]["search_request"][0]["search_criteria"]["query"][0]["expression1"][
                "attribute_value"
            ] = "Nono Muller"

        with pytest.raises(openspp.PeerRejected, match="does not verify"):
            self.verify(rebuilt_body(self.vector, rename))

    def test_changed_header_field(self):
        with pytest.raises(openspp.PeerRejected, match="does not verify"):
            self.verify(rebuilt_body(self.vector, lambda envelope: envelope["header"].update(receiver_id="other")))

    def test_header_fields_unknown_to_the_model_are_dropped_before_the_digest(self):
        body = rebuilt_body(self.vector, lambda envelope: envelope["header"].update(x_extra="anything"))
        assert self.verify(body).digest == self.vector["digest"]

    def test_pydantic_timestamp_forms_digest_alike(self):
        body = rebuilt_body(
            self.vector, lambda envelope: envelope["header"].update(message_ts="2025-01-15T10:30:51.178000+00:00")
        )
        assert self.verify(body).digest == self.vector["digest"]

    def test_expiry_window(self):
        body = self.vector["request_body"].encode()
        expires = int(openspp.parse_signature(self.vector["signature"])["expires"])
        assert self.verify(body, now=expires)
        with pytest.raises(openspp.PeerRejected, match="expired"):
            self.verify(body, now=expires + 1)

    def test_future_dated_beyond_the_skew(self):
        body = self.vector["request_body"].encode()
        created = int(openspp.parse_signature(self.vector["signature"])["created"])
        assert self.verify(body, now=created - openspp.CLOCK_SKEW)
        with pytest.raises(openspp.PeerRejected, match="future"):
            self.verify(body, now=created - openspp.CLOCK_SKEW - 1)

    def test_wrong_algorithm_label(self):
        with pytest.raises(openspp.PeerRejected, match="registered"):
            self.verify(self.vector["request_body"].encode(), algorithm="rs256")
        body = resigned_body(self.vector, lambda envelope: None, algorithm="rsa-sha256")
        with pytest.raises(openspp.PeerRejected, match="registered"):
            self.verify(body)
        with pytest.raises(ValueError):
            self.verify(body, algorithm="rsa-sha256")

    def test_unknown_sender(self):
        with pytest.raises(openspp.PeerRejected, match=r"err\.sender\.unknown"):
            self.verify(self.vector["request_body"].encode(), sender_id="someone-else")

    def test_kid_is_not_checked_by_the_server(self):
        body = rebuilt_body(
            self.vector,
            lambda envelope: envelope.update(
                signature=envelope["signature"].replace("openspp-client|client-ed25519|", "nobody|unknown|")
            ),
        )
        assert self.verify(body).params["kidId"] == "nobody|unknown|ed25519"
        assert openspp.kid_parts(self.vector["signature"]) == ("openspp-client", "client-ed25519", "ed25519")
        with pytest.raises(openspp.PeerRejected, match="kidId"):
            openspp.kid_parts('algorithm="ed25519", kidId="thumbprint-only"')

    @pytest.mark.parametrize("signature", ["", "unsigned-stub"])
    def test_missing_signature(self, signature):
        body = rebuilt_body(self.vector, lambda envelope: envelope.update(signature=signature))
        with pytest.raises(openspp.PeerRejected, match=r"err\.signature\.missing"):
            self.verify(body)

    @pytest.mark.parametrize("field", ["signature", "receiver_id", "message_ts"])
    def test_envelope_the_model_refuses(self, field):
        def drop(envelope):
            (envelope if field == "signature" else envelope["header"]).pop(field)

        with pytest.raises(openspp.PeerRejected, match="422"):
            self.verify(rebuilt_body(self.vector, drop))

    def test_not_json(self):
        with pytest.raises(openspp.PeerRejected, match="not JSON"):
            self.verify(b"{not json")

    def test_rsa_key_registered_as_ed25519_signature_does_not_verify(self):
        vector = OPENSPP["rs256"]
        body = resigned_body(vector, lambda envelope: None, algorithm="ed25519")
        with pytest.raises(openspp.PeerRejected, match="does not verify"):
            openspp.verify_request(body, pem("client_ed25519.pub.pem"), "ed25519", "openspp-client", now=vector["now"])

    def test_async_callback_is_signed_over_the_header_as_sent(self):
        vector = OPENSPP["ed25519"]
        header = {
            "version": "1.0.0",
            "message_id": "9f0e",
            "message_ts": "2025-01-15T10:31:00.123456+00:00",
            "action": "on-search",
            "status": "succ",
            "sender_id": "openspp",
            "receiver_id": "openspp-client",
            "total_count": 1,
        }
        callback = openspp.sign_callback(
            header,
            vector["response_message"],
            private_pem(vector["registry_public_key"]),
            "server-1",
            created=vector["now"] - 5,
        )
        assert callback["header"] == header
        key = pem(vector["registry_public_key"])
        now = vector["now"]
        assert openspp.verify_signature(callback["signature"], header, callback["message"], key, "ed25519", now)
        assert openspp.verify_response(callback, key, "ed25519", now=now)["kidId"] == "openspp|server-1|ed25519"
        rebuilt = openspp.CallbackHeader.model_validate(header).model_dump(mode="json", exclude_none=True)
        with pytest.raises(openspp.PeerRejected, match="does not verify"):
            openspp.verify_signature(callback["signature"], rebuilt, callback["message"], key, "ed25519", vector["now"])
        callback["header"]["status"] = "rjct"
        with pytest.raises(openspp.PeerRejected, match="does not verify"):
            openspp.verify_response(callback, key, "ed25519", now=vector["now"])

    def test_deployed_openspp2_sends_rsa_responses_unsigned(self):
        vector = OPENSPP["rs256"]
        wire = openspp.sign_response(
            vector["response_header_fields"],
            vector["response_message"],
            private_pem(vector["registry_public_key"]),
            "registry-rsa",
            "rs256",
            as_deployed=True,
        )
        assert wire["signature"] == ""
        with pytest.raises(openspp.PeerRejected, match="unsigned"):
            openspp.verify_response(wire, pem(vector["registry_public_key"]), "rs256")


class TestOpenSPPSenderRegistry:
    def jwk(self, public_name, kid):
        key = serialization.load_pem_public_key(pem(public_name).encode())
        if "ed25519" in public_name:
            raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            return {"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": openg2p.b64url(raw)}
        numbers = key.public_numbers()
        return {
            "kty": "RSA",
            "kid": kid,
            "n": openg2p.b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": openg2p.b64url(numbers.e.to_bytes(3, "big")),
        }

    def test_takes_the_first_key_named_for_the_sender(self):
        jwks = {
            "keys": [
                self.jwk("client_ed25519.pub.pem", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"),
                self.jwk("client_rsa.pub.pem", "openspp-client|k-rsa|rs256"),
                self.jwk("client_ed25519.pub.pem", "openspp-client|k-ed|ed25519"),
            ]
        }
        accepted = openspp.accept_jwks(jwks, "openspp-client")
        assert (accepted.kid, accepted.algorithm) == ("openspp-client|k-rsa|rs256", "rs256")
        vector = OPENSPP["rs256"]
        assert openspp.verify_request(
            vector["request_body"].encode(),
            accepted.public_key,
            accepted.algorithm,
            "openspp-client",
            now=vector["now"],
        )

    def test_thumbprint_kids_are_not_taken(self):
        jwks = {"keys": [self.jwk("client_ed25519.pub.pem", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")]}
        with pytest.raises(openspp.PeerRejected, match="No matching key"):
            openspp.accept_jwks(jwks, "openspp-client")

    @pytest.mark.parametrize("kid", ["openspp-client|k1|EdDSA", "openspp-client|k1"])
    def test_kid_algorithm_must_be_a_registry_value(self, kid):
        with pytest.raises(openspp.PeerRejected, match="algorithm"):
            openspp.accept_jwks({"keys": [self.jwk("client_ed25519.pub.pem", kid)]}, "openspp-client")

    def test_no_keys_member(self):
        with pytest.raises(openspp.PeerRejected, match="'keys'"):
            openspp.accept_jwks({"key": []}, "openspp-client")


@pytest.mark.parametrize("algorithm", ["EdDSA", "RS256"])
class TestOpenG2PVectors:
    def test_request_verifies(self, algorithm):
        vector = OPENG2P[algorithm]
        header = openg2p.verify_request(
            vector["request_body"].encode(),
            vector["signature_header"],
            pem(vector["client_public_key"]),
            allowed_algorithms=(algorithm,),
            registered_kid=vector["kid"],
        )
        assert header == vector["protected_header"] == {"alg": algorithm, "kid": vector["kid"], "typ": "JWT"}

    def test_canonical_body_is_sorted_compact_raw_utf8(self, algorithm):
        vector = OPENG2P[algorithm]
        canonical = vector["canonical_body"]
        assert openg2p.canonical(json.loads(vector["request_body"])).decode() == canonical
        assert canonical.startswith('{"header":{"action":"search","message_id":')
        assert '"attribute_value":"Ñoño Müller"' in canonical
        assert ", " not in canonical
        assert "\\u" not in canonical

    def test_signing_is_deterministic_and_reproduces_the_vector(self, algorithm):
        vector = OPENG2P[algorithm]
        signature = openg2p.sign_payload(
            json.loads(vector["request_body"]), private_pem(vector["client_public_key"]), algorithm, vector["kid"]
        )
        assert signature == vector["signature_header"]
        protected, payload, _raw = signature.split(".")
        assert payload == ""
        assert vector["signing_input"] == f"{protected}.{openg2p.b64url(vector['canonical_body'].encode())}"

    @pytest.mark.skipif(not shutil.which("openssl"), reason="openssl command line not installed")
    def test_openssl_verifies_the_signature(self, algorithm, tmp_path):
        vector = OPENG2P[algorithm]
        raw = openg2p.b64url_decode(vector["signature_header"].split(".")[2])
        assert openssl_verifies(tmp_path, vector["client_public_key"], vector["signing_input"].encode(), raw)

    def test_response_verifies_over_the_reserialized_body(self, algorithm):
        vector = OPENG2P[algorithm]
        body = vector["response_body"].encode()
        assert body.startswith(b'{"header":{"version":"1.0.0"')
        assert "Zoë".encode() in body
        header = openg2p.verify_request(
            body,
            vector["response_signature_header"],
            pem(vector["registry_public_key"]),
            allowed_algorithms=(algorithm,),
            registered_kid=vector["response_kid"],
        )
        assert header["kid"] == vector["response_kid"]

    def test_tampered_response_is_refused(self, algorithm):
        vector = OPENG2P[algorithm]
        body = vector["response_body"].replace("Zoë", "Zoe").encode()
        with pytest.raises(openg2p.PeerRejected, match="does not verify"):
            openg2p.verify_request(
                body,
                vector["response_signature_header"],
                pem(vector["registry_public_key"]),
                allowed_algorithms=(algorithm,),
            )


class TestOpenG2PRefusals:
    vector = OPENG2P["RS256"]

    def verify(self, body=None, signature=None, **options):
        return openg2p.verify_request(
            self.vector["request_body"].encode() if body is None else body,
            self.vector["signature_header"] if signature is None else signature,
            pem(self.vector["client_public_key"]),
            **options,
        )

    def forged(self, header, signature=b"\x00" * 256):
        protected = openg2p.b64url(json.dumps(header).encode())
        return f"{protected}..{openg2p.b64url(signature)}"

    def test_key_order_and_spacing_of_the_body_do_not_matter(self):
        body = json.dumps(json.loads(self.vector["request_body"]), sort_keys=True, indent=2).encode()
        assert self.verify(body)

    def test_changed_body(self):
        body = self.vector["request_body"].replace("Ñoño", "Nono").encode()
        with pytest.raises(openg2p.PeerRejected, match="does not verify"):
            self.verify(body)

    def test_changed_header_field(self):
        body = self.vector["request_body"].replace('"receiver_id": "crvs.registry"', '"receiver_id": "x"').encode()
        assert body != self.vector["request_body"].encode()
        with pytest.raises(openg2p.PeerRejected, match="does not verify"):
            self.verify(body)

    @pytest.mark.parametrize("alg", ["none", "None", "HS256", "hs512"])
    def test_none_and_hmac_are_refused_even_when_allowed(self, alg):
        canonical = self.vector["canonical_body"].encode()
        protected = openg2p.b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
        secret = pem(self.vector["client_public_key"]).encode()
        mac = hmac.new(secret, f"{protected}.{openg2p.b64url(canonical)}".encode(), hashlib.sha256)
        with pytest.raises(openg2p.PeerRejected, match="not allowed"):
            self.verify(signature=f"{protected}..{openg2p.b64url(mac.digest())}", allowed_algorithms=(alg, "RS256"))

    def test_eddsa_needs_configuring(self):
        vector = OPENG2P["EdDSA"]
        with pytest.raises(openg2p.PeerRejected, match="not allowed"):
            openg2p.verify_request(
                vector["request_body"].encode(), vector["signature_header"], pem(vector["client_public_key"])
            )

    def test_algorithm_must_match_the_registered_key(self):
        with pytest.raises(openg2p.PeerRejected, match="registered key"):
            self.verify(allowed_algorithms=("RS256", "EdDSA"), registered_algorithm="EdDSA")

    def test_unknown_kid(self):
        with pytest.raises(openg2p.PeerRejected, match="kid"):
            self.verify(registered_kid="some-other-key")

    def test_kid_is_checked_only_when_both_sides_have_one(self):
        assert self.verify(registered_kid=None)
        unnamed = openg2p.sign_payload(
            json.loads(self.vector["request_body"]), private_pem(self.vector["client_public_key"]), "RS256"
        )
        assert "kid" not in self.verify(signature=unnamed, registered_kid="registered-kid")

    def test_no_iat_or_exp_is_needed_and_none_is_checked(self):
        header = self.verify()
        assert "iat" not in header
        assert "exp" not in header
        protected = openg2p.b64url(json.dumps({"alg": "RS256", "exp": 1, "iat": 1, "typ": "JWT"}).encode())
        key = serialization.load_pem_private_key(private_pem(self.vector["client_public_key"]).encode(), None)
        data = openg2p.signing_input(protected, self.vector["canonical_body"].encode())
        raw = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        assert self.verify(signature=f"{protected}..{openg2p.b64url(raw)}")["exp"] == 1

    @pytest.mark.parametrize("signature", ["", "abc", "a.b", "a.b.c.d"])
    def test_malformed_signature_header(self, signature):
        with pytest.raises(openg2p.PeerRejected):
            self.verify(signature=signature)

    def test_attached_payload_is_ignored_and_replaced_by_the_body(self):
        protected, _payload, raw = self.vector["signature_header"].split(".")
        assert self.verify(signature=f"{protected}.{openg2p.b64url(b'{}')}.{raw}")

    def test_body_without_sender_id(self):
        body = json.dumps({"header": {}, "message": {}}).encode()
        with pytest.raises(openg2p.PeerRejected, match="sender_id"):
            self.verify(body)


class TestOpenG2PLegacy:
    vector = OPENG2P["RS256"]

    def test_legacy_form_keeps_order_and_escapes(self):
        legacy = self.vector["legacy_canonical_body"]
        assert legacy.startswith('{"header":{"version":"1.0.0","message_id":')
        assert "\\u00d1o\\u00f1o M\\u00fcller" in legacy
        assert openg2p.verify_request_legacy(
            self.vector["request_body"].encode(),
            self.vector["legacy_signature_header"],
            pem(self.vector["client_public_key"]),
        )

    def test_no_signature_satisfies_both_variants_for_non_ascii_bodies(self):
        body = self.vector["request_body"].encode()
        key = pem(self.vector["client_public_key"])
        with pytest.raises(openg2p.PeerRejected, match="does not verify"):
            openg2p.verify_request(body, self.vector["legacy_signature_header"], key)
        with pytest.raises(openg2p.PeerRejected, match="does not verify"):
            openg2p.verify_request_legacy(body, self.vector["signature_header"], key)


class TestOrjsonEquivalence:
    @pytest.mark.parametrize("value", [1.5e-7, 1e-5, float("nan"), float("inf"), 2**64, -(2**63) - 1, "\ud800"])
    def test_values_the_stdlib_cannot_render_like_orjson_are_refused(self, value):
        with pytest.raises(openg2p.NotCanonical):
            openg2p.canonical({"v": value})

    def test_values_as_orjson_writes_them(self):
        value = {"b": [1, 2.5, True, None, 1e16, 1e-10], "a": 'é\n"\\/\u2028', "c": 2**64 - 1, "d": -(2**63)}
        assert (
            openg2p.canonical(value)
            == (
                '{"a":"é\\n\\"\\\\/\u2028","b":[1,2.5,true,null,1e+16,1e-10],'
                '"c":18446744073709551615,"d":-9223372036854775808}'
            ).encode()
        )

    def test_integers_beyond_64_bits_parse_as_floats(self):
        body = openg2p.parse_body(b'{"v": 18446744073709551616}')
        assert openg2p.canonical(body) == b'{"v":1.8446744073709552e+19}'

    @pytest.mark.parametrize("body", [b'{"v": NaN}', b'{"v": "\\ud800"}', b"\xff"])
    def test_bodies_orjson_would_not_parse(self, body):
        with pytest.raises(openg2p.PeerRejected, match="orjson"):
            openg2p.parse_body(body)
