"""Issuance records through the signed trust list: each organization signs its own records
(a TUF delegation), the publisher dates them by the first signed version that carried
them, and a verifier refuses a record that changes or shows up retroactively."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import SignedRepo, at, claims, fixture_key

from xcert import issuance, tufrepo
from xcert.keys import PrivateKey, generate, read_private_key
from xcert.token import sign
from xcert.tufclient import TrustClient

CARE = PrivateKey("care-org", fixture_key(2))
KID2 = hashlib.sha256(bytes(fixture_key(2).verify_key)).digest()[:8]
T1, T2, T3 = (int(dt.datetime(y, 1, 1, tzinfo=dt.UTC).timestamp()) for y in (2022, 2023, 2024))


def write(records: Path, batch: str, serials: list[str]) -> list[bytes]:
    toks = [sign(claims(serial=s, issued_at=at("2023-01-10")), fixture_key(2)) for s in serials]
    rec, leaves = issuance.make_record("care-org", batch, KID2, toks)
    issuance.write_record(records, rec, leaves)
    return toks


@pytest.fixture
def setup(tmp_path: Path, trust_json: dict[str, Any]) -> tuple[SignedRepo, Path, Path, TrustClient]:
    repo = SignedRepo(tmp_path / "repo")
    site, records = tmp_path / "site", tmp_path / "records"
    site.mkdir()
    client = TrustClient(str(site / "keys.json"), repo.root.read_bytes(), tmp_path / "state")
    return repo, site, records, client


def test_a_record_is_dated_by_its_first_publication(setup: Any, trust_json: dict[str, Any]) -> None:
    repo, site, records, client = setup
    write(records, "a", ["A1", "A2"])
    repo.publish(trust_json, site, records=records, record_keys=[CARE], version=T1)
    first = client.update()
    assert [(r.record.batch, int(r.published.timestamp())) for r in first.records] == [("a", T1)]
    assert first.record_problems == ()
    write(records, "b", ["B1"])
    repo.publish(trust_json, site, records=records, record_keys=[CARE], version=T2)
    second = client.update(first)
    assert [(r.record.batch, int(r.published.timestamp())) for r in second.records] == [("a", T1), ("b", T2)]
    # the publisher refuses to change or drop what it published
    (records / "issuance" / "care-org" / "b.yaml").write_text("changed", encoding="utf-8")
    with pytest.raises(
        tufrepo.TrustRepoError, match="issuance record issuance/care-org/b.yaml changed after"
    ):
        repo.publish(trust_json, site, records=records, record_keys=[CARE], version=T3)


def test_a_changed_or_retroactive_record_is_refused_and_reported(
    setup: Any, trust_json: dict[str, Any], tmp_path: Path
) -> None:
    """An attacker holding the online key (and an organization's key) rewrites history."""
    repo, site, records, client = setup
    write(records, "a", ["A1"])
    repo.publish(trust_json, site, records=records, record_keys=[CARE], version=T2)
    seen = client.update()
    assert [r.record.batch for r in seen.records] == ["a"]

    # 1. record a changes (new tokens), re-signed by the organization, dated T2 again
    shutil.rmtree(records / "issuance" / "care-org")
    write(records, "a", ["A1", "FORGED"])
    forged = tmp_path / "forged-history"
    forged.mkdir()
    repo.publish(
        trust_json, forged, records=records, record_keys=[CARE], version=T2 + 1, previous=tmp_path / "x"
    )
    # 2. and a record b that was never published, dated before the version this verifier saw
    write(records, "b", ["B1"])
    fake_past = tmp_path / "fake-past"
    fake_past.mkdir()
    SignedRepo(tmp_path / "other").publish(
        trust_json, fake_past, records=records, record_keys=[CARE], version=T1
    )
    repo.publish(trust_json, site, records=records, record_keys=[CARE], version=T3, previous=fake_past)
    after = client.update(seen)
    assert [r.record.batch for r in after.records] == []
    assert after.record_problems == (
        "issuance/care-org/a.yaml: refused: it changed since this verifier first saw it (published "
        "2023-01-01 08:00:00+08:00); a record never changes",
        "issuance/care-org/b.yaml: refused: it appeared retroactively (says first published "
        "2022-01-01 08:00:00+08:00, but the version of 2023-01-01 08:00:00+08:00 seen here did not hold "
        "it)",
    )
    # a fresh verifier has no memory: it takes the dates as signed (docs/issuance-records.md)
    fresh = TrustClient(client.source, client.root, tmp_path / "fresh-state").update()
    assert [r.record.batch for r in fresh.records] == ["a", "b"]


def test_a_record_signed_by_another_key_is_refused(setup: Any, trust_json: dict[str, Any]) -> None:
    repo, site, records, client = setup
    write(records, "a", ["A1"])
    outsider = generate("care-org")  # claims to be care-org; not in the trust list
    repo.publish(trust_json, site, records=records, record_keys=[outsider], version=T1)
    trust = client.update()
    assert trust.records == ()
    assert len(trust.record_problems) == 1
    assert trust.record_problems[0].startswith("issuance/care-org/a.yaml: refused: ")
    assert "issuance-care-org" in trust.record_problems[0]


def test_check_and_publish_refuse_unsigned_records(tmp_path: Path) -> None:
    """The real registry with one record: check names the record until care signs it."""
    from xcert.load import load_registry

    root = Path(__file__).resolve().parent.parent
    reg_dir = tmp_path / "registry"
    shutil.copytree(root / "registry", reg_dir)
    sandbox = read_private_key(root / "sandbox" / "sandbox-TEST-ONLY.key")
    tok = sign(claims(certificate="sandbox-demo", level=1, issued_at=at("2025-07-01")), sandbox.signing_key)
    rec, leaves = issuance.make_record("sandbox", "s1", sandbox.kid, [tok])
    issuance.write_record(reg_dir, rec, leaves)
    reg = load_registry(reg_dir).registry
    assert reg is not None
    problems = [p.format() for p in tufrepo.check_signed(reg_dir, reg)]
    assert problems == [
        f"{reg_dir}/issuance/sandbox/s1.yaml:2:1: error: issuance record s1 is not signed by sandbox; the "
        f"organization signs them: xcert issuance sign --key KEY --registry {reg_dir}"
    ]
    online = read_private_key(tufrepo.SANDBOX_TIMESTAMP_KEY)
    with pytest.raises(tufrepo.TrustRepoError, match="unsigned issuance records"):
        tufrepo.publish(tmp_path / "site", reg_dir, reg, online)
    tufrepo.sign_records(reg_dir, reg, sandbox)
    assert tufrepo.check_signed(reg_dir, reg) == []
    (reg_dir / "issuance" / "sandbox" / "s1.leaves").write_bytes(b"0" * 64 + b"\n")
    reg = load_registry(reg_dir).registry
    assert reg is not None
    assert [p.message for p in tufrepo.check_signed(reg_dir, reg)] == [
        "issuance record s1 changed or was added since sandbox signed its records; the organization signs "
        f"them: xcert issuance sign --key KEY --registry {reg_dir}"
    ]
