"""The published test vectors: up to date with the generator, and each verifies as stated."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from xcert.token import Claims, MalformedToken, decode, encode_claims, from_digits, to_digits, token_from_text
from xcert.trust import read_trust_list
from xcert.verify import CHECKS, verify

HERE = Path(__file__).resolve().parent.parent / "docs" / "vectors"
_spec = importlib.util.spec_from_file_location("vector_generate", HERE / "generate.py")
assert _spec and _spec.loader
generate = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = generate  # dataclasses look their module up there
_spec.loader.exec_module(generate)

VECTORS = sorted(p for p in HERE.glob("*.json") if p.name != "trust.json")


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def test_files_equal_the_generator_output() -> None:
    files = generate.build()
    on_disk = {p.name for p in HERE.glob("*.json")}
    assert on_disk == set(files), "run: python docs/vectors/generate.py"
    for name, text in files.items():
        assert (HERE / name).read_text(encoding="utf-8") == text, f"{name} is stale: regenerate"


def test_the_issue_s_cases_are_covered() -> None:
    names = {p.stem for p in VECTORS}
    wanted = [
        "valid-typical", "bad-signature", "unknown-kid", "malformed-wrong-alg", "malformed-wrong-tag",
        "malformed-truncated", "malformed-trailing-bytes", "expired-validity-years",
        "not-yet-valid-before-key-window", "not-yet-valid-issued-in-future", "revoked-serial",
        "retired-key-unrecorded", "retired-key-after-retirement",
        "compromised-key-before-compromise", "organization-not-owner", "level-not-offered",
    ]  # fmt: skip
    assert not set(wanted) - names
    statuses = {load(p)["expected"]["status"] for p in VECTORS}
    assert statuses == {"valid", "invalid", "revoked", "expired", "malformed", "test"}
    failing = {code for p in VECTORS for code in load(p)["expected"]["failing_checks"]}
    # trust.current is the verifier's own metadata going stale, not a property of a token:
    # tests/test_tuf.py covers it
    assert failing == set(CHECKS) - {"trust.current"}, "every check code fails in at least one vector"


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector(path: Path) -> None:
    v = load(path)
    trust = read_trust_list(HERE / v["trust_list"])
    now = dt.datetime.fromisoformat(v["now"])
    token = bytes.fromhex(v["token_hex"])
    expected = (v["expected"]["status"], v["expected"]["failing_checks"])

    # the stages agree with each other
    assert len(token) == v["token_bytes"]
    assert to_digits(token) == v["digits"] and from_digits(v["digits"]) == token
    assert v["url"] == f"{trust.verify_url}/c/{v['digits']}" == v["qr"]["text"]
    assert token_from_text(v["url"]) == token
    assert v["qr"]["version_m"] <= 10 and v["qr"]["version_q"] <= 12

    # the same result from the URL and from the bytes
    for form in (v["url"], token):
        result = verify(form, trust, now)
        assert (result.status, [c.code for c in result.failures]) == expected

    if v["expected"]["status"] == "malformed":
        with pytest.raises(MalformedToken):
            decode(token)
        return
    claims = {k: val for k, val in v["claims"].items() if not k.endswith("_iso")}
    decoded = decode(token)
    assert decoded.claims == Claims(**claims)
    assert decoded.payload.hex() == v["payload_hex"] == encode_claims(Claims(**claims)).hex()
    assert decoded.protected.hex() == v["protected_hex"] and decoded.kid.hex() == v["signer"]["kid"]
    assert decoded.sig_structure.hex() == v["sig_structure_hex"]
    assert decoded.signature.hex() == v["signature_hex"]


# ---------------------------------------------------------------- signed trust list (tuf/)

_tuf_spec = importlib.util.spec_from_file_location("vector_generate_tuf", HERE / "generate_tuf.py")
assert _tuf_spec and _tuf_spec.loader
generate_tuf = importlib.util.module_from_spec(_tuf_spec)
_tuf_spec.loader.exec_module(generate_tuf)
TUF_CASES = sorted(p.parent for p in (HERE / "tuf").glob("*/case.json"))


def _files(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_tuf_files_equal_the_generator_output(tmp_path: Path) -> None:
    names = generate_tuf.write(tmp_path / "tuf")
    assert sorted(names) == [p.name for p in TUF_CASES], "run: python docs/vectors/generate_tuf.py"
    assert _files(tmp_path / "tuf") == _files(HERE / "tuf"), "tuf/ is stale: regenerate"


def test_tuf_cases_cover_the_issue() -> None:
    wanted = {"valid-chain", "tampered-keys-json", "rollback", "expired-timestamp", "below-threshold-targets"}
    assert wanted | {"root-rotation"} <= {p.name for p in TUF_CASES}


@pytest.mark.parametrize("case_dir", TUF_CASES, ids=[p.name for p in TUF_CASES])
def test_tuf_vector(case_dir: Path, tmp_path: Path) -> None:
    from xcert.trust import TrustListError
    from xcert.tufclient import TrustClient

    case = load(case_dir / "case.json")
    root = (case_dir / case["pinned_root"]).read_bytes()
    for step in case["steps"]:
        client = TrustClient(str(case_dir / step["dir"] / "keys.json"), root, tmp_path / "state")
        if step["expected"] == "accept":
            trust = client.update()
            assert trust.signed is not None and trust.signed.root_version == step["root_version"]
            assert trust.signed.signed_by == ("reviewer-1", "reviewer-2")
        else:
            with pytest.raises(TrustListError, match="refused"):
                client.update()


# ---------------------------------------------------------------- issuance records (issuance/)

_iss_spec = importlib.util.spec_from_file_location("vector_generate_issuance", HERE / "generate_issuance.py")
assert _iss_spec and _iss_spec.loader
generate_issuance = importlib.util.module_from_spec(_iss_spec)
_iss_spec.loader.exec_module(generate_issuance)


def test_issuance_files_equal_the_generator_output(tmp_path: Path) -> None:
    generate_issuance.write(tmp_path / "issuance")
    assert _files(tmp_path / "issuance") == _files(HERE / "issuance"), (
        "run: python docs/vectors/generate_issuance.py"
    )


def test_issuance_vectors(tmp_path: Path) -> None:
    """Each step fetched in order into one state directory; each token checked as stated."""
    from xcert.tufclient import TrustClient

    directory = HERE / "issuance"
    case = load(directory / "case.json")
    root = (directory / case["pinned_root"]).read_bytes()
    now = dt.datetime.fromisoformat(case["now"])
    seen = []
    for number, step in enumerate(case["steps"], start=1):
        trust = TrustClient(str(directory / step / "keys.json"), root, tmp_path / "state").update()
        for check in (c for c in case["checks"] if c["after_step"] == number):
            result = verify(token_from_text(check["url_digits"]), trust, now)
            got = {
                "status": result.status,
                "failing_checks": [c.code for c in result.failures],
                "record": result.record.record.batch if result.record else None,
            }
            assert got == check["expected"], (step, check["name"])
            seen.append(check["name"])
        if number == 3:
            assert list(trust.record_problems) == case["record_problems_after_step_3"]
    assert set(seen) == {"recorded", "unrecorded-retired-key", "recorded-after-compromise"}
