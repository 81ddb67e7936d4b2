"""Generate the certificate-token test vectors: ``python docs/vectors/generate.py``.

Writes ``docs/vectors/trust.json`` (the trust list of the small registry in
``docs/vectors/registry/``) and one ``<name>.json`` per case, each showing every stage
(claims, CBOR, COSE, digits, URL, QR) and the result a conforming verifier must give at
the vector's fixed ``now``. Deterministic: fixed TEST keys, fixed times, Ed25519 signs
deterministically, so running it again gives the same bytes (tests/test_vectors.py checks).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import cbor2
from nacl.signing import SigningKey

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from xcert import qr, trust  # noqa: E402
from xcert.codes import encode_b64url as b64url  # noqa: E402
from xcert.load import load_registry  # noqa: E402
from xcert.token import Claims, encode_claims, kid_of, sign, to_digits, url_for  # noqa: E402

NOW = "2024-06-01T00:00:00Z"
CST = dt.timezone(dt.timedelta(hours=8))


def key(n: int) -> SigningKey:
    """TEST key n of the vector registry: vec-org 1 retired, 2 active, 3 compromised;
    4 vec-suspended's; 5 vec-sandbox's (a sandbox organization); 9 in no trust list."""
    return SigningKey(f"xcert-vector-key-{n}".encode().ljust(32, b"."))


def at(day: str) -> int:
    """Unix seconds of 00:00 China Standard Time on an ISO day (how the issuer dates tokens)."""
    return int(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(0), CST).timestamp())


BASE = Claims(
    1, "vec-care", 2, "2024030100000123", "王小明", "123X", at("2024-03-01"), None, "9999000001"
)  # an obviously fake college code (no province 99)


def claims(**changes: Any) -> Claims:
    return replace(BASE, **changes)


# --- raw COSE for the cases the codec refuses to build ------------------------------------


def protected(alg: int = -8, kid: bytes | None = None, signer: int = 2) -> bytes:
    return cbor2.dumps({1: alg, 4: kid or kid_of(bytes(key(signer).verify_key))}, canonical=True)


def cose(payload: bytes, signer: int = 2, header: bytes | None = None, tag: int | None = 18) -> bytes:
    """A COSE_Sign1 over any payload bytes, signed properly with TEST key ``signer``."""
    header = header or protected(signer=signer)
    to_sign = cbor2.dumps(["Signature1", header, b"", payload])
    body = [header, {}, payload, key(signer).sign(to_sign).signature]
    return cbor2.dumps(cbor2.CBORTag(tag, body) if tag is not None else body, canonical=True)


def claims_map(extra: dict[int, Any] | None = None) -> dict[int, Any]:
    """BASE's claims map, with ``extra`` keys added or replaced, to re-encode by hand."""
    return cbor2.loads(encode_claims(BASE)) | (extra or {})


def body_with(index: int, value: Any) -> list[Any]:
    """BASE's 1+X claim array with one position replaced."""
    body = list(claims_map()[-65537])
    body[index] = value
    return body


def flip_last_byte(token: bytes) -> bytes:
    return token[:-1] + bytes([token[-1] ^ 0x01])


# --- the cases -------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    description: str
    status: str
    failing: list[str]
    claims: Claims | None = BASE  # what was signed (None: not representable as Claims)
    signer: int = 2
    token: Callable[[], bytes] | None = None  # default: sign(claims, key(signer))
    mutation: str | None = None  # what was done to a properly signed token
    tags: list[str] = field(default_factory=list)


K1_BEFORE = claims(issued_at=at("2022-03-01"), level=1, serial="2022030100000007")

CASES = [
    # test: every check passes, but the signer is a sandbox key anyone can use
    Case(
        "test-sandbox-key",
        "Signed with a sandbox organization's published key: status test, never valid.",
        "test",
        [],
        claims(certificate="vec-sandbox-demo", serial="SANDBOX-1"),
        signer=5,
    ),
    # valid
    Case(
        "valid-typical",
        "A typical certificate: 16-digit serial and college code as CBOR integers.",
        "valid",
        [],
    ),
    Case(
        "valid-minimal",
        "Text serial, no college, 2-character name.",
        "valid",
        [],
        claims(level=1, serial="A-1", holder_name="李娜", id_tail="0012", college=None),
    ),
    Case(
        "valid-text-codes",
        "A serial with a leading zero and a college code with letters stay text.",
        "valid",
        [],
        claims(serial="0012345/B", college="GX-01"),
    ),
    Case(
        "valid-supplementary-name",
        "A name with a character outside the BMP (4 bytes of UTF-8).",
        "valid",
        [],
        claims(holder_name="𠮷田花", id_tail="9876"),
    ),
    Case(
        "valid-explicit-exp",
        "An explicit exp claim (4) before the validity-years expiry.",
        "valid",
        [],
        claims(expires_at=at("2026-03-01")),
    ),
    Case(
        "valid-lifetime-type",
        "A certificate type without validity years and level 3: no expiry.",
        "valid",
        [],
        claims(certificate="vec-lifetime", level=3, issued_at=at("2022-07-01")),
    ),
    Case(
        "retired-key-unrecorded",
        "Key 1 was retired on 2022-06-30. Its token dated 2022-03-01 is in no issuance record "
        "published before then, so nothing proves it was signed before the retirement (this "
        "file holds no records: docs/issuance-records.md has the recorded cases).",
        "invalid",
        ["key.retired"],
        K1_BEFORE,
        signer=1,
    ),
    # signature and key
    Case(
        "bad-signature",
        "The last signature byte flipped.",
        "invalid",
        ["signature"],
        token=lambda: flip_last_byte(sign(BASE, key(2))),
        mutation="last byte XOR 0x01",
    ),
    Case(
        "bad-signature-altered-claims",
        "The payload changed after signing (level 1 → 2); the signature covers the original.",
        "invalid",
        ["signature"],
        token=lambda: cose_swap_payload(sign(claims(level=1), key(2)), encode_claims(BASE)),
        mutation="payload replaced by the shown claims; the signature is over level 1",
    ),
    Case("unknown-kid", "Signed by a key that is in no trust list.", "invalid", ["key.known"], signer=9),
    Case(
        "retired-key-after-retirement",
        "Key 1 used after its retirement on 2022-06-30.",
        "invalid",
        ["key.window"],
        claims(issued_at=at("2022-07-01"), level=1),
        signer=1,
    ),
    Case(
        "compromised-key-before-compromise",
        "Key 3 was reported compromised on 2023-06-01: even earlier dates prove nothing.",
        "invalid",
        ["key.not_compromised"],
        claims(issued_at=at("2023-01-10")),
        signer=3,
    ),
    Case(
        "compromised-key-after-compromise",
        "Key 3 used after it was reported compromised.",
        "invalid",
        ["key.not_compromised"],
        claims(issued_at=at("2023-07-01")),
        signer=3,
    ),
    Case(
        "not-yet-valid-before-key-window",
        "Key 2 signs from 2022-06-01; issued before that.",
        "invalid",
        ["key.window"],
        claims(issued_at=at("2022-05-01")),
    ),
    Case(
        "not-yet-valid-issued-in-future",
        "Issued a month after the vector's now (beyond clock skew).",
        "invalid",
        ["issued.not_future"],
        claims(issued_at=at("2024-07-01")),
    ),
    # registry rules
    Case(
        "organization-not-owner",
        "vec-org signs a certificate type owned by vec-suspended.",
        "invalid",
        ["certificate.owner"],
        claims(certificate="vec-logistics", level=1),
    ),
    Case(
        "level-not-offered",
        "vec-care offers levels 1 and 2 only.",
        "invalid",
        ["certificate.level"],
        claims(level=3),
    ),
    Case(
        "organization-suspended",
        "vec-suspended was suspended on 2021-03-01, and its key retired that day.",
        "invalid",
        ["key.window", "organization.approved"],
        claims(certificate="vec-logistics", level=1, issued_at=at("2023-01-10")),
        signer=4,
    ),
    Case(
        "organization-suspended-later-unrecorded",
        "Dated 2020-06-01, while vec-suspended was approved; it was suspended (and its key "
        "retired) on 2021-03-01, and no issuance record published before then holds the token.",
        "invalid",
        ["key.retired", "organization.not_suspended_since"],
        claims(certificate="vec-logistics", level=1, issued_at=at("2020-06-01")),
        signer=4,
    ),
    Case(
        "certificate-withdrawn",
        "vec-withdrawn was withdrawn on 2023-01-01.",
        "invalid",
        ["certificate.active"],
        claims(certificate="vec-withdrawn", issued_at=at("2023-06-01")),
    ),
    Case(
        "revoked-serial",
        "Serial 2023000000000099 is on vec-org's revocation list.",
        "revoked",
        ["revocation"],
        claims(serial="2023000000000099", issued_at=at("2023-05-01")),
    ),
    Case(
        "expired-validity-years",
        "Issued 2022-07-01, vec-short is valid 1 year: expired 2023-07-01.",
        "expired",
        ["expiry"],
        claims(certificate="vec-short", issued_at=at("2022-07-01"), level=1),
    ),
    Case(
        "expired-exp-claim",
        "The token's own exp claim has passed.",
        "expired",
        ["expiry"],
        claims(certificate="vec-lifetime", issued_at=at("2023-01-10"), expires_at=at("2024-01-01")),
    ),
    # malformed
    Case(
        "malformed-wrong-alg",
        "Protected header says ES256 (-7); only EdDSA (-8) is allowed.",
        "malformed",
        ["token.format"],
        token=lambda: cose(encode_claims(BASE), header=protected(alg=-7)),
        mutation="alg -7",
    ),
    Case(
        "malformed-wrong-tag",
        "CBOR tag 17 (COSE_Mac0) instead of 18 (COSE_Sign1).",
        "malformed",
        ["token.format"],
        token=lambda: cose(encode_claims(BASE), tag=17),
        mutation="tag 17",
    ),
    Case(
        "malformed-untagged",
        "The COSE_Sign1 array without its tag 18.",
        "malformed",
        ["token.format"],
        token=lambda: cose(encode_claims(BASE), tag=None),
        mutation="no tag",
    ),
    Case(
        "malformed-cwt-tag",
        "Wrapped in the CWT tag 61; the format uses bare tag 18.",
        "malformed",
        ["token.format"],
        token=lambda: cbor2.dumps(cbor2.CBORTag(61, cbor2.loads(sign(BASE, key(2))))),
        mutation="61(18([...]))",
    ),
    Case(
        "malformed-truncated",
        "The last byte cut off.",
        "malformed",
        ["token.format"],
        token=lambda: sign(BASE, key(2))[:-1],
        mutation="last byte removed",
    ),
    Case(
        "malformed-trailing-bytes",
        "One zero byte after the token.",
        "malformed",
        ["token.format"],
        token=lambda: sign(BASE, key(2)) + b"\x00",
        mutation="0x00 appended",
    ),
    Case(
        "malformed-unknown-claim",
        "A properly signed token with an extra claim (7, cti).",
        "malformed",
        ["token.format"],
        token=lambda: cose(cbor2.dumps(claims_map({7: b"\x01"}), canonical=True)),
        mutation="claim 7 added",
    ),
    Case(
        "malformed-version-2",
        "Format version 2 in the 1+X claim array.",
        "malformed",
        ["token.format"],
        token=lambda: cose(cbor2.dumps(claims_map({-65537: body_with(0, 2)}), canonical=True)),
        mutation="array[0] = 2",
    ),
    Case(
        "malformed-decimal-serial-as-text",
        "A decimal serial sent as text; it must be a CBOR integer (one encoding per value).",
        "malformed",
        ["token.format"],
        token=lambda: cose(cbor2.dumps(claims_map({-65537: body_with(3, BASE.serial)}), canonical=True)),
        mutation="serial as tstr",
    ),
    Case(
        "malformed-non-deterministic-cbor",
        "iat encoded in 8 bytes instead of the shortest 4.",
        "malformed",
        ["token.format"],
        token=lambda: cose(long_iat(encode_claims(BASE))),
        mutation="iat as 0x1b + 8 bytes",
    ),
]


def cose_swap_payload(token: bytes, payload: bytes) -> bytes:
    parts = cbor2.loads(token).value
    return cbor2.dumps(cbor2.CBORTag(18, [parts[0], {}, payload, parts[3]]), canonical=True)


def long_iat(payload: bytes) -> bytes:
    short = b"\x06\x1a" + BASE.issued_at.to_bytes(4, "big")
    assert short in payload
    return payload.replace(short, b"\x06\x1b" + BASE.issued_at.to_bytes(8, "big"))


# --- writing ---------------------------------------------------------------------------


def diagnostic(value: Any) -> str:
    """CBOR diagnostic notation (RFC 8949 section 8) for the values tokens hold."""
    if isinstance(value, cbor2.CBORTag):
        return f"{value.tag}({diagnostic(value.value)})"
    if isinstance(value, bool) or value is None:
        raise TypeError(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return f"h'{value.hex()}'"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(diagnostic(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{diagnostic(k)}: {diagnostic(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def _iso(seconds: int | None) -> str | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, CST).isoformat()


def _stages(token: bytes) -> dict[str, Any]:
    """Protected header, payload and signature as they sit in the token, where it parses."""
    try:
        outer = cbor2.loads(token)
        parts = outer.value if isinstance(outer, cbor2.CBORTag) else outer
        header, _, payload, signature = parts
        return {
            "protected_hex": header.hex(),
            "protected_diagnostic": diagnostic(cbor2.loads(header)),
            "payload_hex": payload.hex(),
            "payload_diagnostic": diagnostic(cbor2.loads(payload)),
            "sig_structure_hex": cbor2.dumps(["Signature1", header, b"", payload]).hex(),
            "signature_hex": signature.hex(),
        }
    except Exception:  # truncated and friends: only the raw bytes are meaningful
        return {}


def vector(case: Case, verify_url: str) -> dict[str, Any]:
    signer = key(case.signer)
    if case.token:
        token = case.token()
    else:
        assert case.claims is not None, f"{case.name}: a case without claims needs its own token"
        token = sign(case.claims, signer)
    url = url_for(verify_url, token)
    c = case.claims
    return {
        "name": case.name,
        "description": case.description,
        "trust_list": "trust.json",
        "now": NOW,
        "signer": {
            "test_key": case.signer,
            "seed_hex": bytes(signer).hex(),  # TEST key: published on purpose
            "public_key": b64url(bytes(signer.verify_key)),
            "kid": kid_of(bytes(signer.verify_key)).hex(),
        },
        "claims": None
        if c is None
        else asdict(c) | {"issued_at_iso": _iso(c.issued_at), "expires_at_iso": _iso(c.expires_at)},
        "mutation": case.mutation,
        **_stages(token),
        "token_hex": token.hex(),
        "token_bytes": len(token),
        "digits": to_digits(token),
        "url": url,
        "qr": {
            "text": url,
            "version_m": qr.encode(url, "M").version,
            "version_q": qr.encode(url, "Q").version,
        },
        "expected": {"status": case.status, "failing_checks": case.failing},
    }


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def build() -> dict[str, str]:
    """Every file the generator writes, name → text."""
    result = load_registry(HERE / "registry")
    assert result.ok and result.registry is not None, [p.format() for p in result.errors]
    trust_list = trust.build_trust_list(result.registry)
    files = {"trust.json": trust.dumps(trust_list)}
    names = [case.name for case in CASES]
    assert len(set(names)) == len(names), "vector names must be unique"
    for case in CASES:
        files[f"{case.name}.json"] = _dump(vector(case, trust_list["registry"]["verify_url"]))
    return files


def main() -> None:
    files = build()
    for old in HERE.glob("*.json"):
        if old.name not in files:
            old.unlink()
    for name, text in files.items():
        (HERE / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files to {HERE}")


if __name__ == "__main__":
    main()
