"""Issuance records: written by the issuer CLI, loaded with the registry, and every way a
record can be wrong refused by `build.py check` at its file and line."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import at, claims, fixture_key
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from xcert import issuance, merkle
from xcert.load import load_registry
from xcert.token import sign

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "registry"
KID2 = hashlib.sha256(bytes(fixture_key(2).verify_key)).digest()[:8]
KID1 = hashlib.sha256(bytes(fixture_key(1).verify_key)).digest()[:8]


def tokens(n: int, key: int = 2, day: str = "2023-01-10", prefix: str = "S") -> list[bytes]:
    return [sign(claims(serial=f"{prefix}{i}", issued_at=at(day)), fixture_key(key)) for i in range(n)]


@pytest.fixture
def reg_dir(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "registry")
    return tmp_path / "registry"


def record(reg_dir: Path, batch: str, toks: list[bytes], kid: bytes = KID2, day: str = "2023-01-10") -> Path:
    rec, leaves = issuance.make_record("care-org", batch, kid, toks)
    return issuance.write_record(reg_dir, rec, leaves)


def problems(reg_dir: Path) -> list[str]:
    result = load_registry(reg_dir)
    return [p.format().replace(str(reg_dir) + "/", "") for p in result.problems]


def test_a_record_is_sorted_hashes_with_their_tree_hash(reg_dir: Path) -> None:
    toks = tokens(5)
    path = record(reg_dir, "2023-01-a", toks)
    leaves = (path.parent / "2023-01-a.leaves").read_bytes()
    hashes = sorted(hashlib.sha256(t).digest() for t in toks)
    assert leaves == b"".join(h.hex().encode() + b"\n" for h in hashes)
    text = path.read_text(encoding="utf-8")
    assert f"tree_hash: '{merkle.tree_hash(hashes).hex()}'" in text
    assert f"leaves_sha256: '{hashlib.sha256(leaves).hexdigest()}'" in text
    assert "王小明" not in text and "123X" not in text  # no personal data
    assert problems(reg_dir) == []
    loaded = load_registry(reg_dir).registry
    assert loaded is not None and [r.record.batch for r in loaded.records] == ["2023-01-a"]
    with pytest.raises(issuance.RecordError, match="never changes"):
        record(reg_dir, "2023-01-a", tokens(1, prefix="X"))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (old, text)
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_check_refuses_every_bad_record(reg_dir: Path) -> None:
    a = record(reg_dir, "a", tokens(3))
    b = record(reg_dir, "b", tokens(2, prefix="T") + tokens(1))  # S0 again: in two records
    record(reg_dir, "c", tokens(1, prefix="U"), kid=b"\x00" * 8)
    record(
        reg_dir, "d", tokens(1, key=1, day="2022-07-05", prefix="V"), kid=KID1, day="2022-07-05"
    )  # after retirement
    _edit(a, "count: 3", "count: 4")
    e = record(reg_dir, "e", tokens(2, prefix="W"))
    leaves_e = e.parent / "e.leaves"
    lines = leaves_e.read_bytes().splitlines(keepends=True)
    leaves_e.write_bytes(lines[0] + b"0" * 64 + b"\n")  # tampered leaf
    _edit(e, f"leaves_sha256: '{hashlib.sha256(b''.join(lines)).hexdigest()}'",
          f"leaves_sha256: '{hashlib.sha256(leaves_e.read_bytes()).hexdigest()}'")  # fmt: skip
    found = problems(reg_dir)
    first_s0 = sorted(hashlib.sha256(t).hexdigest() for t in tokens(3)).index(
        hashlib.sha256(tokens(1)[0]).hexdigest()
    )
    assert found == sorted(found)
    assert found == [
        "issuance/care-org/a.yaml:5:8: error: count: issuance/care-org/a.leaves has 3 hashes, not 4",
        f"issuance/care-org/b.leaves:{_line(b, tokens(1)[0])}:1: error: token hash "
        f"{hashlib.sha256(tokens(1)[0]).hexdigest()} is already recorded at "
        f"issuance/care-org/a.leaves:{first_s0 + 1}; a token belongs to one record",
        "issuance/care-org/c.yaml:4:6: error: kid: care-org has no key 0000000000000000 "
        f"(its keys: {KID1.hex()}, {KID2.hex()})",
        "issuance/care-org/d.yaml:7:11: error: last_iat: 2022-07-05T12:00:00+08:00 is outside key "
        f"{KID1.hex()}'s signing window (it was retired on 2022-06-30)",
        "issuance/care-org/e.leaves:2:1: error: hash " + "0" * 64 +
        " is out of order (the lines are sorted)",
    ]  # fmt: skip
    # the leaves in order, but not the ones the tree hash was made from
    tampered = hashlib.sha256(leaves_e.read_bytes()).hexdigest()
    leaves_e.write_bytes(b"".join(sorted([lines[0], b"f" * 64 + b"\n"])))
    _edit(e, f"leaves_sha256: '{tampered}'",
          f"leaves_sha256: '{hashlib.sha256(leaves_e.read_bytes()).hexdigest()}'")  # fmt: skip
    assert [p for p in problems(reg_dir) if "e.yaml" in p] == [
        "issuance/care-org/e.yaml:8:12: error: tree_hash: the leaves in issuance/care-org/e.leaves hash to "
        f"{merkle.tree_hash(issuance.split_hashes(issuance.parse_leaves(leaves_e.read_bytes()))).hex()}, "
        "not to this tree hash"
    ]


def _line(path: Path, token: bytes) -> int:
    leaves = (path.parent / f"{path.stem}.leaves").read_text().split()
    return leaves.index(hashlib.sha256(token).hexdigest()) + 1


@pytest.mark.parametrize(
    ("data", "message", "line"),
    [
        (b"ab\n", "3 bytes is not a whole number of 65-byte lines", 2),
        (b"g" * 64 + b"\n", "expected 64 lowercase hex digits and a newline", 1),
        (b"A" * 64 + b"\n", "hex digits must be lowercase", 1),
        (b"a" * 64 + b"\n" + b"a" * 64 + b"\n", "hash " + "a" * 64 + " appears twice", 2),
        (b"a" * 64 + b" ", "expected 64 lowercase hex digits and a newline", 1),
    ],
)
def test_bad_leaves_files(data: bytes, message: str, line: int) -> None:
    with pytest.raises(issuance.RecordError) as e:
        issuance.parse_leaves(data)
    assert (str(e.value), e.value.line) == (message, line)


def test_an_active_key_of_a_suspended_organization_is_refused(reg_dir: Path) -> None:
    org = reg_dir / "organizations" / "logi-org.yaml"
    key = "  - {public_key: " + issuance_b64(fixture_key(3)) + ", not_before: 2019-04-10, status: active}\n"
    org.write_text(org.read_text(encoding="utf-8") + "keys:\n" + key, encoding="utf-8")
    assert problems(reg_dir) == [
        "organizations/logi-org.yaml:11:95: error: keys[0].status: the organization is suspended since "
        "2021-03-01; retire its keys (retired_on no later than that day)"
    ]


def issuance_b64(key: SigningKey) -> str:
    from xcert.codes import encode_b64url

    return encode_b64url(bytes(key.verify_key))


def test_issue_batch_writes_the_record(reg_dir: Path, tmp_path: Path) -> None:
    """The CLI writes the record into the registry checkout; check accepts it."""
    key = tmp_path / "care.key"
    key.write_text("xcert-ed25519-private-key v1\norg: care-org\nseed: " + _seed(2) + "\n", encoding="utf-8")
    key.chmod(0o600)
    csv = tmp_path / "in.csv"
    csv.write_text(
        "certificate,level,serial,name,id_number,date\n"
        "old-care,2,A1,王小明,11010519491231002X,2024-06-10\n"
        "old-care,2,A2,李四,11010519491231002X,2024-06-11\n",
        encoding="utf-8",
    )
    run = [sys.executable, "-m", "xcert.cli", "issue-batch", "--key", str(key), "--csv", str(csv)]
    run += ["--registry", str(reg_dir), "--record-into", str(reg_dir), "--workers", "1", "-q"]
    done = subprocess.run([*run, "--out", str(tmp_path / "out" / "s1")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rec = reg_dir / "issuance" / "care-org" / "s1.yaml"
    assert rec.is_file() and "count: 2\n" in rec.read_text(encoding="utf-8")
    assert "first_iat: 1717948800" in rec.read_text(encoding="utf-8")  # 2024-06-10 00:00 CST
    assert "  - {year: 2024, certificate: 'old-care', level: 2, count: 2}\n" in rec.read_text(
        encoding="utf-8"
    )
    assert problems(reg_dir) == []
    again = subprocess.run(
        [*run, "--out", str(tmp_path / "out2"), "--batch-id", "s1"], capture_output=True, text=True
    )
    assert again.returncode == 1 and "exists: a record never changes" in again.stderr
    assert not (tmp_path / "out2").exists()  # refused before anything was issued


def _seed(n: int) -> str:
    from xcert.codes import encode_b64url

    return encode_b64url(bytes(fixture_key(n)))


# ---------------------------------------------------------------- the verifier's side


def published(tmp_path: Path, toks: list[bytes], day: str, batch: str = "b", key: int = 2) -> Any:
    kid = hashlib.sha256(bytes(fixture_key(key).verify_key)).digest()[:8]
    rec, leaves = issuance.make_record("care-org", batch, kid, toks)
    path = tmp_path / f"{batch}.leaves"
    path.write_bytes(leaves)
    when = dt.datetime.fromisoformat(day + "T00:00:00+08:00")
    return issuance.PublishedRecord(rec, when, path)


def test_the_index_finds_exactly_the_recorded_tokens(tmp_path: Path) -> None:
    toks = tokens(300)
    first = published(tmp_path, toks[:200], "2023-02-01", "first")
    second = published(tmp_path, toks[150:], "2023-01-01", "second")  # 150..199 in both
    index = issuance.RecordIndex([first, second])
    assert index.size == 350
    for i, t in enumerate(toks):
        found = [r.record.batch for r in index.lookup(hashlib.sha256(t).digest())]
        expected = (["second"] if i >= 150 else []) + (["first"] if i < 200 else [])
        assert found == expected, i  # earliest published first
    assert index.lookup(hashlib.sha256(b"not a token").digest()) == []


@pytest.mark.parametrize("code", ["1024", "yes", "null", "on", "1e3", "0x1f", "2023-01-10"])
def test_written_records_read_back_whatever_a_slug_looks_like_to_yaml(code: str) -> None:
    """A certificate code or organization id YAML would read as a number, bool, null or date
    (all valid slugs) stays text: a published record never changes, so it must be right."""
    import yaml

    counts = (issuance.Tally(2023, code, 1, 1),)
    written = issuance.Record(code, "b", KID2, 1, 5, 5, b"\1" * 32, "b.leaves", b"\2" * 32, counts)
    parsed = yaml.safe_load(written.to_yaml())
    assert parsed["organization"] == code and parsed["counts"][0]["certificate"] == code
    assert issuance.Record.from_mapping(parsed) == written


def test_record_times_must_read_as_dates() -> None:
    """Past year 9999 in China time no page could show a record's dates (it was a traceback)."""
    from xcert.token import MAX_TIME

    good = issuance.Record("o", "b", KID2, 1, 5, MAX_TIME, b"\1" * 32, "b.leaves", b"\2" * 32)
    assert issuance.Record.from_mapping(yaml_of(good)) == good
    for first, last in ((5, MAX_TIME + 1), (6, 5), (-1, 5)):
        bad = dict(yaml_of(good), first_iat=first, last_iat=last)
        with pytest.raises(issuance.RecordError, match="out of order or out of range"):
            issuance.Record.from_mapping(bad)


def yaml_of(record: Any) -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load(record.to_yaml()))


def _stub(n: int, day: int) -> Any:
    rec = issuance.Record("org", f"r{n}", KID2, 1, 0, 0, b"\0" * 32, "x.leaves", b"\0" * 32)
    return issuance.PublishedRecord(rec, dt.datetime(2023, 1, day, tzinfo=dt.UTC), Path("unused"))


@given(
    st.lists(st.lists(st.binary(min_size=32, max_size=32), max_size=12, unique=True), max_size=5),
    st.lists(st.binary(min_size=32, max_size=32), max_size=5),
)
@settings(max_examples=200, deadline=None)
def test_the_index_agrees_with_a_plain_dict(groups: list[list[bytes]], strangers: list[bytes]) -> None:
    """Against the obvious model, with hashes crafted to share buckets and 14-byte keys:
    the same tail under another 2-byte bucket must never match across the bucket edge."""
    twins = [[b"\x00\x01" + h[2:] for h in g] + [b"\x00\x02" + h[2:] for h in g[:1]] for g in groups]
    records = [_stub(n, 28 - n) for n in range(len(twins))]  # later records published earlier
    raws = [b"".join(sorted(set(g))) for g in twins]
    index = issuance.RecordIndex(records, raws)
    model: dict[bytes, list[str]] = {}
    for rec, raw in sorted(zip(records, raws, strict=True), key=lambda p: p[0].published):
        for i in range(0, len(raw), 32):
            model.setdefault(raw[i : i + 32], []).append(rec.record.batch)
    assert index.size == sum(len(raw) // 32 for raw in raws)
    for digest in [*model, *strangers, *(b"\x00\x03" + h[2:] for h in model)]:
        assert [r.record.batch for r in index.lookup(digest)] == model.get(digest, [])


def test_verdicts_with_records_and_the_record_policy(tmp_path: Path, make_trust: Any) -> None:
    import dataclasses

    from xcert.verify import VALID, verify

    now = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    recorded, unrecorded = tokens(2, day="2023-01-10")
    trust = dataclasses.replace(
        make_trust(),
        records=(published(tmp_path, [recorded], "2023-02-01", "2023-01"),),
        record_required_after_days=30,
    )
    good = verify(recorded, trust, now)
    assert (good.status, good.warnings) == (VALID, ())
    assert good.to_dict()["record"] == {
        "organization": "care-org",
        "batch": "2023-01",
        "published": "2023-01-31T16:00:00Z",
        "tree_hash": good.record.record.tree_hash.hex() if good.record else None,
    }
    late = verify(unrecorded, trust, now)
    assert late.status == VALID  # a warning never changes the status
    assert [(w.code, w.detail) for w in late.warnings] == [
        (
            "issuance.unrecorded",
            "issued 2023-01-10 12:00:00+08:00, more than 30 days ago, and in no published issuance record",
        )
    ]
    young = verify(unrecorded, trust, dt.datetime(2023, 1, 20, tzinfo=dt.UTC))
    assert young.warnings == ()


def test_issue_with_record_writes_a_one_token_record(reg_dir: Path, tmp_path: Path) -> None:
    key = tmp_path / "care.key"
    key.write_text("xcert-ed25519-private-key v1\norg: care-org\nseed: " + _seed(2) + "\n", encoding="utf-8")
    key.chmod(0o600)
    run = [sys.executable, "-m", "xcert.cli", "issue", "--key", str(key), "--registry", str(reg_dir)]
    run += ["--certificate", "old-care", "--level", "2", "--serial", "ONE-1", "--name", "王小明"]
    run += ["--id-number", "11010519491231002X", "--date", "2024-06-10", "--record", "one-1"]
    done = subprocess.run([*run, "--record-into", str(reg_dir)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    token = issuance_token(done.stdout.strip())
    rec = (reg_dir / "issuance" / "care-org" / "one-1.yaml").read_text(encoding="utf-8")
    leaves = (reg_dir / "issuance" / "care-org" / "one-1.leaves").read_text(encoding="utf-8")
    assert "count: 1\n" in rec and leaves == hashlib.sha256(token).hexdigest() + "\n"
    assert problems(reg_dir) == []
    bad = subprocess.run(
        [*run[:-1], "bad id!", "--record-into", str(reg_dir)], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "a batch id is 1-64 of A-Z a-z 0-9 . _ -" in bad.stderr


def issuance_token(url: str) -> bytes:
    from xcert.token import token_from_text

    return token_from_text(url)


# ---------------------------------------------------------------- counts per year and level


def test_counts_come_from_the_claims_in_china_time(reg_dir: Path) -> None:
    new_year = at("2023-01-01", hour=0) + 1800  # 2022-12-31T16:30Z is 2023-01-01 00:30 in China
    toks = [
        sign(claims(serial="Y1", level=1, issued_at=new_year - 3600), fixture_key(2)),  # 2022 in China
        sign(claims(serial="Y2", level=1, issued_at=new_year), fixture_key(2)),
        sign(claims(serial="Y3", level=3, issued_at=new_year), fixture_key(2)),
        sign(claims(serial="Y4", level=1, issued_at=new_year + 60), fixture_key(2)),
    ]
    rec, _ = issuance.make_record("care-org", "ny", KID2, toks)
    assert rec.counts == (
        issuance.Tally(2022, "old-care", 1, 1),
        issuance.Tally(2023, "old-care", 1, 2),
        issuance.Tally(2023, "old-care", 3, 1),
    )
    assert (rec.first_iat, rec.last_iat) == (new_year - 3600, new_year + 60)
    path = record(reg_dir, "ny", toks)
    assert problems(reg_dir) == []
    loaded = load_registry(reg_dir).registry
    assert loaded is not None and loaded.records[0].record == rec  # the YAML reads back the same
    with pytest.raises(issuance.RecordError, match="not a token"):
        issuance.make_record("care-org", "x", KID2, [b"\xa0"])
    assert path.read_text(encoding="utf-8").count("the leaves prove only the total count") == 1


def test_check_refuses_counts_that_do_not_fit(reg_dir: Path) -> None:
    path = record(reg_dir, "a", tokens(3))
    row = "  - {year: 2023, certificate: 'old-care', level: 2, count: 3}\n"
    _edit(
        path,
        row,
        "  - {year: 2023, certificate: 'old-care', level: 2, count: 1}\n"
        "  - {year: 2023, certificate: 'old-care', level: 2, count: 1}\n"  # twice
        "  - {year: 2021, certificate: 'old-care', level: 1, count: 1}\n"  # before first_iat's year
        "  - {year: 2023, certificate: logistics, level: 1, count: 1}\n",  # logi-org's certificate
    )
    cert = reg_dir / "certificates" / "old-care.yaml"
    _edit(cert, "levels: [1, 2, 3]", "levels: [1, 3]")
    at = "issuance/care-org/a.yaml:{}:5: error: counts"
    assert [p for p in problems(reg_dir) if "issuance/" in p] == [
        f"{at.format(14)}: add up to 4, not to the record's count 3".replace(":5:", ":3:"),
        f"{at.format(14)}[0] (2023, old-care, level 2): old-care has no level 2 (its levels: 1, 3)",
        f"{at.format(15)}[1] (2023, old-care, level 2): appears twice; one line per year, certificate "
        "and level",
        f"{at.format(15)}[1] (2023, old-care, level 2): old-care has no level 2 (its levels: 1, 3)",
        f"{at.format(16)}[2] (2021, old-care, level 1): the year is outside first_iat..last_iat "
        "(2023-2023, China time)",
        f"{at.format(17)}[3] (2023, logistics, level 1): care-org holds no certificate 'logistics'",
    ]


def test_a_record_without_counts_is_still_read(reg_dir: Path) -> None:
    """Records made before the counts existed are published trust content that never
    changes: they stay valid for check and verifiers (the site counts them as unknown)."""
    path = record(reg_dir, "old", tokens(2))
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("counts:")], encoding="utf-8")
    assert problems(reg_dir) == []
    loaded = load_registry(reg_dir).registry
    assert loaded is not None and loaded.records[0].record.counts is None
    assert "counts" not in loaded.records[0].record.to_yaml()


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        (3, "bad field: counts: expected a list, got 3"),
        ([{"year": 2023, "level": 2, "count": 3}], "counts[0]: expected year, certificate, level and count"),
        ([{"year": 2023, "certificate": 7, "level": 2, "count": 3}], "counts[0]: certificate: expected text"),
        ([{"year": 2023, "certificate": "c", "level": 2, "count": True}], "expected an integer, got True"),
    ],
)
def test_a_verifier_refuses_malformed_counts(counts: object, message: str) -> None:
    rec, _ = issuance.make_record("care-org", "m", KID2, tokens(1))
    import yaml

    doc = yaml.safe_load(rec.to_yaml())
    assert issuance.Record.from_mapping(doc) == rec
    with pytest.raises(issuance.RecordError, match=re.escape(message)):
        issuance.Record.from_mapping({**doc, "counts": counts})
