"""Decode every published vector with whichever cbor2 is installed; print a JSON summary.

Needs only cbor2, PyNaCl and this repository on PYTHONPATH (xcert.token imports nothing
else), so it runs in a throwaway environment holding another cbor2 release:
``tests/test_dependency_versions.py`` runs it with the newest 5.x and 6.x.
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path

import cbor2

from xcert.keys import from_b64url
from xcert.token import Claims, MalformedToken, decode, encode_claims, verify_signature


def check(vector: dict) -> str | None:
    """None when the codec agrees with the vector, else what went wrong."""
    token = bytes.fromhex(vector["token_hex"])
    try:
        decoded = decode(token)
    except MalformedToken as e:
        return None if vector["expected"]["status"] == "malformed" else f"malformed: {e}"
    if vector["expected"]["status"] == "malformed":
        return "decoded a token the vector says is malformed"
    claims = Claims(**{k: v for k, v in vector["claims"].items() if not k.endswith("_iso")})
    if decoded.claims != claims:
        return f"claims differ: {decoded.claims}"
    if encode_claims(claims).hex() != vector["payload_hex"]:
        return "re-encoded claims differ"
    signed_ok = verify_signature(decoded, from_b64url(vector["signer"]["public_key"]))
    if signed_ok != ("signature" not in vector["expected"]["failing_checks"]):
        return f"signature check gave {signed_ok}"
    return None


def main() -> int:
    here = Path(__file__).parent
    vectors = sorted(p for p in here.glob("*.json") if p.name != "trust.json")
    problems = {p.stem: err for p in vectors if (err := check(json.loads(p.read_text("utf-8"))))}
    version = getattr(cbor2, "__version__", None) or metadata.version("cbor2")
    print(json.dumps({"cbor2": version, "vectors": len(vectors), "problems": problems}))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
