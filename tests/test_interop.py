"""Interop with COSE libraries nobody here wrote: pycose and cwt (python-cwt).

Our tokens verify in both with nothing but the public key from the trust list, and tokens
they sign over our claims payload verify with ours (they are even byte-identical, since
Ed25519 is deterministic and all three encode the headers the same way).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import cwt
import pytest
from conftest import at, claims, fixture_key
from cwt import COSE, COSEKey
from cwt.cose_key_interface import COSEKeyInterface
from nacl.signing import SigningKey
from pycose.algorithms import EdDSA
from pycose.headers import KID, Algorithm
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.messages import CoseMessage, Sign1Message

from xcert.codes import encode_b64url as b64url
from xcert.keys import from_b64url
from xcert.token import encode_claims, kid_of, sign
from xcert.verify import VALID, verify

VECTORS = Path(__file__).resolve().parent.parent / "docs" / "vectors"
NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


def vectors(prefix: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(VECTORS.glob(f"{prefix}*.json"))]


def trust_key(vector: dict[str, Any]) -> bytes:
    """The signer's public key as published in the vectors' trust list (not the vector's copy)."""
    data = json.loads((VECTORS / "trust.json").read_text(encoding="utf-8"))
    keys = [k for o in data["organizations"] for k in o["keys"] if k["kid"] == vector["signer"]["kid"]]
    assert len(keys) == 1
    return from_b64url(keys[0]["public_key"])


def pycose_verify(token: bytes, public_key: bytes) -> bool:
    msg = CoseMessage.decode(token)
    assert isinstance(msg, Sign1Message)
    assert msg.phdr[Algorithm] is EdDSA and msg.phdr[KID] == kid_of(public_key)
    msg.key = OKPKey(crv=Ed25519, x=public_key)
    return msg.verify_signature()


def cwt_key(public_key: bytes, seed: bytes | None = None) -> COSEKeyInterface:
    params: dict[int, Any] = {1: 1, 2: kid_of(public_key), 3: -8, -1: 6, -2: public_key}  # OKP, Ed25519
    if seed is not None:
        params[-4] = seed
    return COSEKey.new(params)


# --- ours, checked by theirs -------------------------------------------------------------


@pytest.mark.parametrize("vector", vectors("valid-"), ids=lambda v: v["name"])
def test_valid_vectors_verify_in_pycose_and_cwt(vector: dict[str, Any]) -> None:
    token, public_key = bytes.fromhex(vector["token_hex"]), trust_key(vector)
    assert pycose_verify(token, public_key)
    payload = COSE.new().decode(token, keys=[cwt_key(public_key)])
    assert payload.hex() == vector["payload_hex"]
    if vector["claims"]["expires_at"] is None:  # cwt.decode also checks exp against today's clock
        decoded = cwt.decode(token, keys=[cwt_key(public_key)])
        assert isinstance(decoded, dict)  # claims, not the raw payload bytes
        assert decoded[6] == vector["claims"]["issued_at"] and decoded[-65537][0] == 1


@pytest.mark.parametrize("vector", vectors("bad-signature"), ids=lambda v: v["name"])
def test_bad_signature_vectors_fail_in_pycose_and_cwt(vector: dict[str, Any]) -> None:
    token, public_key = bytes.fromhex(vector["token_hex"]), trust_key(vector)
    assert not pycose_verify(token, public_key)
    with pytest.raises(cwt.VerifyError):
        COSE.new().decode(token, keys=[cwt_key(public_key)])


def test_fresh_token_verifies_in_pycose_with_only_the_public_key(signed) -> None:
    token = signed(serial="S-0042", holder_name="欧阳明月", college=None)
    assert pycose_verify(token, bytes(fixture_key(2).verify_key))


# --- theirs, checked by ours -------------------------------------------------------------


def with_key(public_key: bytes, since: str = "2022-01-01") -> Any:
    def change(data: dict[str, Any]) -> None:
        org = next(o for o in data["organizations"] if o["id"] == "care-org")
        org["keys"].append(
            {
                "kid": kid_of(public_key).hex(),
                "alg": "EdDSA",
                "crv": "Ed25519",
                "public_key": b64url(public_key),
                "status": "active",
                "sign_from": f"{since}T00:00:00+08:00",
                "sign_before": None,
                "retired_at": None,
                "compromised_at": None,
            }
        )

    return change


def pycose_sign(payload: bytes, key: SigningKey) -> bytes:
    public_key = bytes(key.verify_key)
    msg = Sign1Message(phdr={Algorithm: EdDSA, KID: kid_of(public_key)}, payload=payload)
    msg.key = OKPKey(crv=Ed25519, d=bytes(key), x=public_key)
    return msg.encode()


def cwt_sign(payload: bytes, key: SigningKey) -> bytes:
    public_key = bytes(key.verify_key)
    protected = {1: -8, 4: kid_of(public_key)}
    return COSE.new().encode_and_sign(
        payload, cwt_key(public_key, bytes(key)), protected=protected, unprotected={}
    )


@pytest.mark.parametrize("signer", [pycose_sign, cwt_sign], ids=["pycose", "cwt"])
def test_their_signature_over_our_claims_verifies_with_ours(signer, make_trust) -> None:
    key = SigningKey(b"interop-key-not-in-any-registry.")
    ours = claims(serial="2023011000000007", issued_at=at("2023-03-01"))
    token = signer(encode_claims(ours), key)
    assert token == sign(ours, key)  # same bytes: deterministic CBOR and Ed25519
    result = verify(token, make_trust(with_key(bytes(key.verify_key))), NOW)
    assert result.status == VALID and result.claims == ours
    assert verify(token, make_trust(), NOW).failures[0].code == "key.known"  # the key is what made it valid


@pytest.mark.parametrize("signer", [pycose_sign, cwt_sign], ids=["pycose", "cwt"])
def test_their_token_with_the_published_fixture_key(signer, make_trust) -> None:
    token = signer(encode_claims(claims()), fixture_key(2))
    assert verify(token, make_trust(), NOW).status == VALID
