"""registry/ → model: the real registry, the fixture, queries, and the `check` command."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURE_REGISTRY

from xcert.load import load_registry
from xcert.model import status_on

ROOT = Path(__file__).resolve().parent.parent


def test_the_real_registry_passes_check() -> None:
    result = load_registry(ROOT / "registry")
    assert result.ok, "\n".join(p.format() for p in result.errors)
    reg = result.registry
    assert reg is not None
    assert {"elderly-care", "bim", "web-frontend", "logistics-management"} <= set(reg.certificates)
    assert any(o.sandbox for o in reg.organizations.values())


def test_model_queries(registry) -> None:
    assert [c.code for c in registry.certificates_of("care-org")] == ["old-care"]
    (college, pilot), *_ = registry.pilots_of("old-care")
    assert (college.id, pilot.levels) == ("test-care-college", (1, 2, 3))
    assert registry.field_by_id("logistics").zh == "物流"
    (revoked,) = (r for r in registry.revocations["care-org"].revoked if r.serial == "Y2020000001")
    assert revoked.reason == "考核舞弊"


def test_status_on_a_day(registry) -> None:
    history = registry.organizations["logi-org"].status
    assert status_on(history, dt.date(2019, 4, 9)) is None
    assert status_on(history, dt.date(2019, 4, 10)) == "approved"
    assert status_on(history, dt.date(2021, 3, 1)) == "suspended"


def test_objects_are_immutable_and_compare_by_content(registry) -> None:
    again = load_registry(FIXTURE_REGISTRY).registry
    assert again is not None
    assert again.certificates["old-care"] == registry.certificates["old-care"]
    try:
        registry.certificates["old-care"].levels = (1,)
    except AttributeError:
        pass
    else:
        raise AssertionError("model objects must be frozen")


def run_check(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "check", *args], capture_output=True, text=True, cwd=cwd
    )


def test_check_command_exit_codes_and_formats(tmp_path: Path) -> None:
    assert run_check("--registry", str(FIXTURE_REGISTRY)).returncode == 0
    broken = tmp_path / "registry"
    broken.mkdir()
    (broken / "registry.yaml").write_text("name: {zh: x, en: y}\nsite_url: ftp://x\n", encoding="utf-8")
    text = run_check("--registry", "registry", cwd=tmp_path)
    assert text.returncode == 1
    assert text.stdout.splitlines() == [
        "registry/registry.yaml:1:1: error: missing required key 'fields'",
        "registry/registry.yaml:1:1: error: missing required key 'verify_url'",
        "registry/registry.yaml:2:11: error: site_url: 'ftp://x' is not an http(s) address: ASCII host "
        "(xn-- form for a Chinese domain), no ?query or #fragment, e.g. 'https://verify.example.cn'",
    ]
    github = run_check("--registry", "registry", "--format", "github", cwd=tmp_path)
    assert github.stdout.splitlines()[0] == (
        "::error file=registry/registry.yaml,line=1,col=1::missing required key 'fields'"
    )


def test_missing_registry_is_one_clear_error(tmp_path: Path) -> None:
    result = run_check("--registry", str(tmp_path / "nowhere"))
    assert result.returncode == 1 and "registry.yaml not found" in result.stdout


def test_a_notice_file_name_never_becomes_a_path_outside_its_page(tmp_path: Path) -> None:
    """A notice's slug is its file name and its page goes to /notices/<slug>/: "...md" would
    have been written over the home page, "..md" over the notices index (review of stop 21)."""
    import shutil

    registry = tmp_path / "registry"
    shutil.copytree(FIXTURE_REGISTRY, registry)
    notice = (registry / "notices" / "2019-04-10-first-batch.md").read_text(encoding="utf-8")
    bad = ["...md", "..md", "a?b#c d.md", "2019-04-10-First.md", "first-batch.md"]
    for name in bad:
        (registry / "notices" / name).write_text(notice, encoding="utf-8")
    result = load_registry(registry)
    assert not result.ok
    assert sorted(p.format() for p in result.problems) == sorted(
        f"{registry / 'notices' / name}:1:1: error: a notice's file name is <date>-<slug>.md (YYYY-MM-DD, "
        f"then lowercase letters, digits and hyphens), got '{name}'"
        for name in bad
    )


def test_the_registry_addresses_can_carry_a_token(tmp_path: Path) -> None:
    """Every QR code is verify_url + /c/<digits>: a ?query or #fragment swallowed the token
    (the phone opened the home page), and a Chinese host crashed issuing (QR text is
    ASCII). Review of stop 21."""
    import shutil

    for bad in (
        "https://v.example.cn/?lang=zh",
        "https://v.example.cn/x#y",
        "https://验证.example.cn",
        "https://u:p@v.example.cn",
    ):
        registry = tmp_path / bad.encode().hex() / "registry"
        shutil.copytree(FIXTURE_REGISTRY, registry)
        path = registry / "registry.yaml"
        text = path.read_text(encoding="utf-8")
        start = text.index("verify_url:")
        end = text.index("\n", start)
        path.write_text(f"{text[:start]}verify_url: '{bad}'{text[end:]}", encoding="utf-8")
        messages = [p.message for p in load_registry(registry).problems]
        assert f"verify_url: '{bad}' is not an http(s) address: ASCII host" in " ".join(messages), messages
