"""The trust list: what the site publishes and every verifier reads."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from conftest import FIXTURE_REGISTRY

from xcert import trust
from xcert.load import load_registry


def test_dates_become_exact_instants(trust_json) -> None:
    care = next(o for o in trust_json["organizations"] if o["id"] == "care-org")
    retired = next(k for k in care["keys"] if k["status"] == "retired")
    assert retired["sign_from"] == "2019-04-10T00:00:00+08:00"
    assert retired["sign_before"] == "2023-01-01T00:00:00+08:00"  # sign_until is inclusive
    assert retired["retired_at"] == "2022-06-30T00:00:00+08:00"
    assert care["revocations"][0]["serial"] == "Y2020000001"


def test_bytes_depend_only_on_security_content(tmp_path: Path) -> None:
    """Reviewers' signatures must survive anything that cannot change a verdict: a copy of
    the registry elsewhere, later, with a notice added, gives the same bytes; a key status
    change does not."""
    copy = tmp_path / "registry"
    shutil.copytree(FIXTURE_REGISTRY, copy)
    original = trust.trust_content(load(FIXTURE_REGISTRY))
    (copy / "notices" / "2030-01-01-later.md").write_text(
        "---\ndate: 2030-01-01\ntitle: {zh: 以后, en: Later}\nkind: batch\nexample: true\n---\n\nLater.\n",
        encoding="utf-8",
    )
    assert trust.trust_content(load(copy)) == original
    assert json.loads(original)["version"] == trust.content_version(json.loads(original))
    care = copy / "organizations" / "care-org.yaml"
    care.write_text(
        care.read_text("utf-8").replace("status: active\n", "status: retired\n    retired_on: 2024-01-01\n"),
        "utf-8",
    )
    changed = trust.trust_content(load(copy))
    assert changed != original and json.loads(changed)["version"] != json.loads(original)["version"]


def load(directory: Path):
    result = load_registry(directory)
    assert result.ok, [p.format() for p in result.errors]
    return result.registry


def test_round_trip_and_kid_is_derived_not_trusted(trust_json) -> None:
    data = json.loads(json.dumps(trust_json))
    data["organizations"][0]["keys"][0]["kid"] = "0000000000000000"  # a lying file
    parsed = trust.TrustList.from_dict(data)
    key = parsed.organizations["care-org"].keys[0]
    assert parsed.keys_for(key.kid) == (key,)
    assert key.kid.hex() != "0000000000000000"


def test_stamp_is_a_content_hash(tmp_path: Path) -> None:
    """Same files, same version wherever and whenever they are; a changed byte or a renamed
    file, a new version."""
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    copy = tmp_path / "registry"
    shutil.copytree(FIXTURE_REGISTRY, copy)
    original = trust.stamp_for(FIXTURE_REGISTRY, now).version
    assert trust.stamp_for(copy, now + dt.timedelta(days=1)).version == original
    assert trust.stamp_for(copy, now).built_at == "2024-01-01T00:00:00Z"
    care = copy / "organizations" / "care-org.yaml"
    care.write_bytes(care.read_bytes() + b"\n")
    changed = trust.stamp_for(copy, now).version
    assert changed != original
    care.rename(copy / "organizations" / "care-org2.yaml")
    assert trust.stamp_for(copy, now).version not in (original, changed)


def test_read_from_file_and_missing_file(tmp_path: Path, trust_json) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(trust_json), encoding="utf-8")
    assert "care-org" in trust.read_trust_list(path).organizations
    try:
        trust.read_trust_list(tmp_path / "none.json")
    except trust.TrustListError as e:
        assert "cannot read trust list" in str(e)
    else:
        raise AssertionError("a missing trust list must be refused")


def test_one_model_writes_and_reads_the_same_bytes(registry) -> None:
    """The writer is the reader's model serialised: keys.json → from_dict → to_dict → keys.json."""
    written = trust.trust_content(registry)
    parsed = trust.parse_trust_list(written)
    assert trust.dumps(parsed.to_dict()).encode() == written
    assert parsed == trust.from_registry(registry) and parsed.name["zh"]
