"""Files that must never exist half-written or be silently replaced: issuance records and
their leaves (two runs with one batch id), and private keys (a full disk). Real files; a
full disk is simulated by making os.write fail with ENOSPC after some bytes."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import at, claims, fixture_key

from xcert import cli, issuance, tufrepo
from xcert import keys as keymod
from xcert.codes import encode_b64url
from xcert.token import sign

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "registry"
KID2 = hashlib.sha256(bytes(fixture_key(2).verify_key)).digest()[:8]


def _tokens(prefix: str, n: int) -> list[bytes]:
    return [sign(claims(serial=f"{prefix}{i}", issued_at=at("2023-01-10")), fixture_key(2)) for i in range(n)]


def test_concurrent_write_record_with_one_batch_id_has_one_winner_and_a_matching_pair(tmp_path: Path) -> None:
    runs = 4
    made = [issuance.make_record("care-org", "day1", KID2, _tokens(f"R{r}-", 3 + r)) for r in range(runs)]
    wins: list[int] = []
    for round_ in range(50):
        reg = tmp_path / f"reg{round_}"
        reg.mkdir()
        barrier = threading.Barrier(runs)
        outcome: list[str] = [""] * runs

        def run(
            i: int, reg: Path = reg, barrier: threading.Barrier = barrier, outcome: list[str] = outcome
        ) -> None:
            barrier.wait()
            try:
                issuance.write_record(reg, *made[i])
                outcome[i] = "ok"
            except issuance.RecordError as e:
                assert "refusing to overwrite" in str(e)
                outcome[i] = "refused"

        threads = [threading.Thread(target=run, args=(i,)) for i in range(runs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcome) == ["ok"] + ["refused"] * (runs - 1), outcome
        winner = outcome.index("ok")
        wins.append(winner)
        directory = reg / issuance.DIRECTORY / "care-org"
        assert sorted(p.name for p in directory.iterdir()) == ["day1.leaves", "day1.yaml"]  # no temp files
        record, leaves = made[winner]
        assert (directory / "day1.yaml").read_text(encoding="utf-8") == record.to_yaml()
        assert (directory / "day1.leaves").read_bytes() == leaves
        assert hashlib.sha256(leaves).digest() == record.leaves_sha256


def test_a_record_whose_yaml_exists_takes_back_only_its_own_leaves(tmp_path: Path) -> None:
    record, leaves = issuance.make_record("care-org", "b", KID2, _tokens("S", 2))
    directory = tmp_path / issuance.DIRECTORY / "care-org"
    directory.mkdir(parents=True)
    real_link = os.link

    def link(src: Any, dst: Any, **kw: Any) -> None:
        if str(dst).endswith(".yaml"):  # another run's record lands between the two links
            (directory / "b.yaml").write_text("theirs\n", encoding="utf-8")
        real_link(src, dst, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "link", link)
        with pytest.raises(issuance.RecordError, match="refusing to overwrite"):
            issuance.write_record(tmp_path, record, leaves)
    assert sorted(p.name for p in directory.iterdir()) == ["b.yaml"]
    assert (directory / "b.yaml").read_text(encoding="utf-8") == "theirs\n"


def test_a_leftover_leaves_file_refuses_issue_batch_before_any_certificate(tmp_path: Path) -> None:
    reg = tmp_path / "registry"
    shutil.copytree(FIXTURE, reg)
    records = tmp_path / "checkout"  # the registry checkout the pull request comes from
    key = tmp_path / "care.key"
    seed = encode_b64url(bytes(fixture_key(2)))
    key.write_text(f"xcert-ed25519-private-key v1\norg: care-org\nseed: {seed}\n", encoding="utf-8")
    key.chmod(0o600)
    csv = tmp_path / "in.csv"
    csv.write_text(
        "certificate,level,serial,name,id_number,date\nold-care,2,A1,王小明,11010519491231002X,2024-06-10\n",
        encoding="utf-8",
    )
    leftover = records / issuance.DIRECTORY / "care-org" / "day2.leaves"
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_text("partial\n", encoding="utf-8")
    out = tmp_path / "out"
    run = [sys.executable, "-m", "xcert.cli", "issue-batch", "--key", str(key), "--csv", str(csv)]
    run += ["--registry", str(reg), "--record-into", str(records), "--workers", "1", "-q"]
    done = subprocess.run([*run, "--out", str(out), "--batch-id", "day2"], capture_output=True, text=True)
    assert done.returncode == 1
    assert f"{leftover} exists without its record day2.yaml" in done.stderr
    assert "nothing was issued" in done.stderr
    assert not out.exists()
    assert not (leftover.parent / "day2.yaml").exists()
    assert leftover.read_text(encoding="utf-8") == "partial\n"


def _disk_full_after(mp: pytest.MonkeyPatch, room: int) -> None:
    """os.write writes until `room` bytes in all, then fails as a full disk does."""
    real_write = os.write
    left = [room]

    def write(fd: int, data: Any) -> int:
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = real_write(fd, bytes(data)[: left[0]])
        left[0] -= n
        return n

    mp.setattr(os, "write", write)


@pytest.mark.parametrize("room", [0, 40])
def test_a_key_on_a_full_disk_leaves_nothing_and_the_rerun_succeeds(tmp_path: Path, room: int) -> None:
    path = tmp_path / "org.key"
    key = keymod.generate("care-org")
    with pytest.MonkeyPatch.context() as mp:
        _disk_full_after(mp, room)
        with pytest.raises(keymod.KeyFileError, match=f"{path}: cannot write: No space left on device"):
            keymod.write_private_key(path, key)
    assert list(tmp_path.iterdir()) == []  # neither the key nor a temporary file
    keymod.write_private_key(path, key)
    assert keymod.read_private_key(path) == key
    assert path.stat().st_mode & 0o777 == 0o600
    assert list(tmp_path.iterdir()) == [path]


def test_a_key_fsync_failure_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "org.key"
    with pytest.MonkeyPatch.context() as mp:

        def fsync(fd: int) -> None:
            raise OSError(errno.EIO, os.strerror(errno.EIO))

        mp.setattr(os, "fsync", fsync)
        with pytest.raises(keymod.KeyFileError, match="cannot write: Input/output error"):
            keymod.write_private_key(path, keymod.generate("care-org"))
    assert list(tmp_path.iterdir()) == []


def test_an_existing_key_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "org.key"
    path.write_text("mine\n", encoding="utf-8")
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        keymod.write_private_key(path, keymod.generate("care-org"))
    assert path.read_text(encoding="utf-8") == "mine\n"
    assert list(tmp_path.iterdir()) == [path]


def test_keygen_on_a_full_disk_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "org.key"
    with pytest.MonkeyPatch.context() as mp:
        _disk_full_after(mp, 10)
        result = CliRunner().invoke(cli.main, ["keygen", "--org", "care-org", "--out", str(path)])
    assert result.exit_code == 1 and result.exception is not None
    assert isinstance(result.exception, SystemExit)  # a ClickException, not a traceback
    assert f"{path}: cannot write: No space left on device" in result.output
    assert not path.exists()
    again = CliRunner().invoke(cli.main, ["keygen", "--org", "care-org", "--out", str(path)])
    assert again.exit_code == 0, again.output
    assert keymod.read_private_key(path).org == "care-org"


def test_a_ceremony_that_fills_the_disk_keeps_no_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "ceremony"
    real = keymod.write_private_key
    calls = [0]

    def third_fails(path: Any, key: keymod.PrivateKey, comment: str = "") -> None:
        calls[0] += 1
        if calls[0] == 3:
            with pytest.MonkeyPatch.context() as mp:
                _disk_full_after(mp, 0)
                real(path, key, comment)
        else:
            real(path, key, comment)

    monkeypatch.setattr(keymod, "write_private_key", third_fails)
    with pytest.raises(tufrepo.TrustRepoError, match="No space left on device; no key of this ceremony"):
        tufrepo.init_ceremony(out, root_keys=3, root_threshold=2, reviewers=3, threshold=2)
    assert calls[0] == 3
    assert list(out.iterdir()) == []
    monkeypatch.setattr(keymod, "write_private_key", real)
    made = tufrepo.init_ceremony(out, root_keys=3, root_threshold=2, reviewers=3, threshold=2)
    assert made.root_path.is_file() and all(p.is_file() for p in made.key_paths)


def test_a_ceremony_whose_root_cannot_be_written_keeps_no_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "ceremony"

    def full(md: Any, path: Path) -> None:
        path.write_bytes(b"{")  # a partial root.json, then the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tufrepo, "write_metadata", full)
    result = CliRunner().invoke(cli.main, ["trust", "init", "--out", str(out)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "root.json: cannot write: No space left on device" in result.output
    assert list(out.iterdir()) == []
