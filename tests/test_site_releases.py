"""Releases built into new directories (docs/deploy.md's publishing recipe): `--previous`
names the live release, so each issuance record keeps its first publication time. Without
it every release re-dated every record, and verifiers that saw the last release refused
them all (review of stop 21)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY = ROOT / "sandbox" / "sandbox-TEST-ONLY.key"
CSV = "certificate,level,serial,name,id_number\nsandbox-demo,1,TEST-2026-0001,王小明,11010519491231002X\n"


def xcert(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "xcert.cli", *args], cwd=cwd, capture_output=True, text=True, env=_env()
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(ROOT)}


def first_published(site: Path) -> dict[str, int]:
    snapshot = json.loads((site / "tuf" / "snapshot.json").read_text(encoding="utf-8"))
    return {p: e["published"] for p, e in snapshot["signed"]["x-xcert-first-published"].items()}


def test_a_release_into_a_new_directory_keeps_the_records_dates(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "registry", tmp_path / "registry")
    (tmp_path / "session.csv").write_text(CSV, encoding="utf-8")
    xcert(
        tmp_path,
        "issue-batch",
        "--key",
        str(KEY),
        "--csv",
        "session.csv",
        "--out",
        "out/s1",
        "--record-into",
        "registry",
    )
    xcert(tmp_path, "issuance", "sign", "--key", str(KEY), "--registry", "registry")
    first = xcert(tmp_path, "site", "--registry", "registry", "--out", "releases/1")
    assert "issuance records are dated by this build" in first.stderr  # no live release named
    dated = first_published(tmp_path / "releases" / "1")
    assert list(dated) == ["issuance/sandbox/s1.yaml"]

    import time

    time.sleep(1.1)  # versions count in seconds
    xcert(tmp_path, "site", "--registry", "registry", "--out", "releases/2", "--previous", "releases/1")
    assert first_published(tmp_path / "releases" / "2") == dated
    time.sleep(1.1)
    xcert(tmp_path, "site", "--registry", "registry", "--out", "releases/3")  # the mistake
    assert first_published(tmp_path / "releases" / "3") != dated

    refused = subprocess.run(
        [sys.executable, "-m", "xcert.cli", "site", "--registry", "registry", "--out", "releases/4"]
        + ["--previous", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert refused.returncode == 1 and "holds no published site" in refused.stderr
    assert not (tmp_path / "releases" / "4").exists()


def test_a_killed_builds_leftovers_are_undone_by_the_next(tmp_path: Path) -> None:
    """A kill between swap_in's two renames left no site at all, and killed builds left their
    work directories forever (review of stop 21)."""
    import os
    import time

    from xcert.site import BUILDING, STALE_SECONDS, recover

    out = tmp_path / "site"
    killed = tmp_path / f".site{BUILDING}killed"
    (killed / "old").mkdir(parents=True)
    (killed / "old" / "index.html").write_text("the old site", encoding="utf-8")
    old_work = tmp_path / f".site{BUILDING}ancient"
    (old_work / "work").mkdir(parents=True)
    running = tmp_path / f".site{BUILDING}running"
    running.mkdir()
    unrelated = tmp_path / "site.2026-backup"
    unrelated.mkdir()
    day_ago = time.time() - STALE_SECONDS - 60
    os.utime(old_work, (day_ago, day_ago))
    recover(out)
    assert (out / "index.html").read_text(encoding="utf-8") == "the old site"
    assert not old_work.exists() and running.is_dir() and unrelated.is_dir()
