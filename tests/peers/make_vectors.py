"""Write vectors.json from the fixed keys in keys/ (run once; the output is committed).

PYTHONPATH=tests python tests/peers/make_vectors.py
"""

import json
from pathlib import Path

from peers import openg2p, openspp

HERE = Path(__file__).resolve().parent
KEYS = HERE / "keys"
CREATED = 1736937051  # 2025-01-15T10:30:51Z
CLIENT_ID = "openspp-client"
REGISTRY_ID = "crvs.registry"

REQUEST_HEADER = {
    "version": "1.0.0",
    "message_id": "0d5e3c9a-6a57-4a4f-9c4e-2b8f3f1f6a01",
    "message_ts": "2025-01-15T10:30:51.178Z",
    "action": "search",
    "sender_id": CLIENT_ID,
    "receiver_id": REGISTRY_ID,
    "total_count": 1,
}
REQUEST_MESSAGE = {
    "transaction_id": "txn-Zoë-0001",
    "search_request": [
        {
            "reference_id": "ref-1",
            "timestamp": "2025-01-15T10:30:51.178Z",
            "search_criteria": {
                "version": "1.0.0",
                "reg_type": "ns:org:RegistryType:Civil",
                "query_type": "predicate",
                "query": [
                    {
                        "seq_num": 1,
                        "expression1": {"attribute_name": "name", "operator": "eq", "attribute_value": "Ñoño Müller"},
                    }
                ],
                "pagination": {"page_size": 10, "page_number": 1},
            },
            "locale": "eng",
        }
    ],
}
RESPONSE_HEADER = {
    "version": "1.0.0",
    "message_id": "5b7e1f2c-3d4a-4b6c-8d9e-0f1a2b3c4d5e",
    "message_ts": "2025-01-15T10:30:52.5+00:00",
    "action": "on-search",
    "sender_id": REGISTRY_ID,
    "receiver_id": CLIENT_ID,
    "total_count": 1,
    "status": "succ",
    "status_reason_code": None,
    "status_reason_message": None,
    "completed_count": 1,
}
RESPONSE_MESSAGE = {
    "transaction_id": "txn-Zoë-0001",
    "correlation_id": "corr-1",
    "search_response": [
        {
            "reference_id": "ref-1",
            "timestamp": "2025-01-15T10:30:52Z",
            "status": "succ",
            "data": {
                "version": "1.0.0",
                "reg_type": "ns:org:RegistryType:Civil",
                "reg_records": [{"name": {"given_name": "Zoë", "surname": "Müller"}, "sex": "female"}],
            },
        }
    ],
}


def pem(name):
    return (KEYS / name).read_text()


def openspp_vectors():
    vectors = []
    for algorithm, key in (("ed25519", "ed25519"), ("rs256", "rsa")):
        unsigned = openspp.parse_envelope(
            json.dumps({"signature": "x", "header": REQUEST_HEADER, "message": REQUEST_MESSAGE})
        )
        dumped = openspp.dumped_header(unsigned)
        signature = openspp.sign(
            dumped, REQUEST_MESSAGE, pem(f"client_{key}.pem"), CLIENT_ID, f"client-{key}", algorithm, CREATED
        )
        body = json.dumps(
            {"signature": signature, "header": REQUEST_HEADER, "message": REQUEST_MESSAGE}, ensure_ascii=False
        )
        verified = openspp.verify_request(
            body.encode(), pem(f"client_{key}.pub.pem"), algorithm, CLIENT_ID, now=CREATED + 10
        )
        response = openspp.sign_response(
            RESPONSE_HEADER,
            RESPONSE_MESSAGE,
            pem(f"registry_{key}.pem"),
            f"registry-{key}",
            algorithm,
            sender_id=REGISTRY_ID,
            created=CREATED + 1,
        )
        vectors.append(
            {
                "algorithm": algorithm,
                "client_public_key": f"client_{key}.pub.pem",
                "registry_public_key": f"registry_{key}.pub.pem",
                "sender_id": CLIENT_ID,
                "now": CREATED + 10,
                "request_body": body,
                "dumped_header": dumped,
                "digest": verified.digest,
                "signing_string": verified.signing_string,
                "signature": signature,
                "response_header_fields": RESPONSE_HEADER,
                "response_message": RESPONSE_MESSAGE,
                "response_created": CREATED + 1,
                "response_wire": response,
                "response_signed_header": openspp.CallbackHeader(**RESPONSE_HEADER).model_dump(
                    mode="json", exclude_none=True
                ),
            }
        )
    return vectors


def openg2p_vectors():
    vectors = []
    body_obj = {"header": REQUEST_HEADER, "message": REQUEST_MESSAGE}
    response_obj = {"header": RESPONSE_HEADER | {"status_reason_code": None}, "message": RESPONSE_MESSAGE}
    for algorithm, key in (("EdDSA", "ed25519"), ("RS256", "rsa")):
        kid = f"client-{key}"
        body = json.dumps(body_obj, ensure_ascii=False).encode()
        signature = openg2p.sign_payload(body_obj, pem(f"client_{key}.pem"), algorithm, kid)
        response_body, response_signature = openg2p.sign_response(
            response_obj, pem(f"registry_{key}.pem"), algorithm, f"registry-{key}"
        )
        vectors.append(
            {
                "algorithm": algorithm,
                "kid": kid,
                "client_public_key": f"client_{key}.pub.pem",
                "registry_public_key": f"registry_{key}.pub.pem",
                "request_body": body.decode(),
                "canonical_body": openg2p.canonical(body_obj).decode(),
                "protected_header": json.loads(openg2p.b64url_decode(signature.split(".")[0])),
                "signing_input": openg2p.signing_input(signature.split(".")[0], openg2p.canonical(body_obj)).decode(),
                "signature_header": signature,
                "response_kid": f"registry-{key}",
                "response_body": response_body.decode(),
                "response_signature_header": response_signature,
            }
        )
        if algorithm == "RS256":
            vectors[-1]["legacy_canonical_body"] = openg2p.canonical_legacy(body_obj).decode()
            vectors[-1]["legacy_signature_header"] = openg2p.sign_request_legacy(body_obj, pem("client_rsa.pem"), kid)
    return vectors


if __name__ == "__main__":
    vectors = {"openspp": openspp_vectors(), "openg2p": openg2p_vectors()}
    (HERE / "vectors.json").write_text(json.dumps(vectors, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
