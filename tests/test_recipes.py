"""CONTRIBUTING.md's recipes, performed: the YAML blocks are taken from the document, applied
to a copy of the registry in a temporary git repository, then `check` must find nothing and
`diff` must summarise the change as the recipe says."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from xcert import diff as xdiff
from xcert.keys import read_private_key
from xcert.load import DIRECTORIES, load_registry
from xcert.tufrepo import check_signed, sign_targets

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "CONTRIBUTING.md"
FENCE = re.compile(r"^```yaml (\w+)=(\S+)(?: under=(\w+))?\n(.*?)^```$", re.MULTILINE | re.DOTALL)
RECIPES = [
    "Add an organization",
    "Add a certificate and its standard",
    "Rotate a signing key",
    "Report a compromised key",
    "Revoke a certificate",
    "File a province's pilot colleges",
    "Withdraw a certificate type",
]


@dataclass(frozen=True)
class Snippet:
    op: str  # file | append | item
    path: str
    under: str | None
    text: str


def recipes() -> dict[str, list[Snippet]]:
    sections = re.split(r"^## ", GUIDE.read_text(encoding="utf-8"), flags=re.MULTILINE)[1:]
    out = {}
    for section in sections:
        title, _, body = section.partition("\n")
        out[title.strip()] = [Snippet(*m.groups()) for m in FENCE.finditer(body)]
    return out


def apply(repo: Path, s: Snippet) -> None:
    path = repo / s.path
    if s.op == "file":
        path.parent.mkdir(exist_ok=True)
        path.write_text(s.text, encoding="utf-8")
        return
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    new = s.text.splitlines(keepends=True)
    if s.op == "append":  # at the end of the top-level list `under:`
        start = next(i for i, line in enumerate(lines) if re.match(rf"{s.under}:(\s|#|$)", line))
        end = start + 1
        while end < len(lines) and (lines[end][:1] in (" ", "-") or not lines[end].strip()):
            end += 1
    else:  # "item": replace the list item that starts with the snippet's first line
        assert s.op == "item", s.op
        starts = [i for i, line in enumerate(lines) if line == new[0]]
        assert len(starts) == 1, f"{new[0]!r} found {len(starts)} times in {s.path}"
        start = starts[0]
        indent = len(new[0]) - len(new[0].lstrip())
        end = start + 1
        while end < len(lines) and len(lines[end]) - len(lines[end].lstrip()) > indent:
            end += 1
    lines[start if s.op == "item" else end : end] = new
    path.write_text("".join(lines), encoding="utf-8")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=T", "-c", "user.email=t@example.org", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def perform(
    tmp_path: Path, upto: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    """Apply the recipes before `upto` (one commit each), then `upto`; return the diff."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    shutil.copytree(ROOT / "registry", repo / "registry")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "registry")
    all_recipes = recipes()
    for title in RECIPES[: RECIPES.index(upto) + 1]:
        for snippet in all_recipes[title]:
            apply(repo, snippet)
        result = load_registry(repo / "registry")
        assert [p.format() for p in result.problems] == [], title
        sign_as_the_guide_says(repo / "registry", result.registry, title)
        git(repo, "add", ".")
        git(repo, "commit", "-q", "-m", title)
    monkeypatch.chdir(repo)
    capsys.readouterr()
    assert xdiff.main("HEAD~1", "HEAD") == 0
    return capsys.readouterr().out


def sign_as_the_guide_says(registry: Path, reg: Any, title: str) -> None:
    """ "Sign the trust content": check names the changed file; one TEST reviewer signs."""
    problems = check_signed(registry, reg)
    if problems:
        assert all("changed since the reviewers signed" in p.message for p in problems), problems
        assert all(p.loc.path.startswith(str(registry)) for p in problems)
        sign_targets(registry, reg, read_private_key(ROOT / "sandbox" / "trust-reviewer-1-TEST-ONLY.key"))
    assert check_signed(registry, reg) == [], title


def test_guide_names_the_reviewer_step() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    assert "xcert trust sign --key sandbox/trust-reviewer-1-TEST-ONLY.key" in text
    assert (ROOT / "sandbox" / "trust-reviewer-1-TEST-ONLY.key").is_file()


def headings(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.startswith("#")]


def items(md: str) -> list[str]:
    return [line.split("**")[1] for line in md.splitlines() if line.startswith("- **")]


SECURITY = "### ⚠️ Security-sensitive changes · 安全敏感变更"


def test_the_guide_has_every_recipe_with_snippets() -> None:
    found = recipes()
    for title in RECIPES:
        assert found.get(title), f"CONTRIBUTING.md: no YAML for '{title}'"
    for snippets in found.values():
        for s in snippets:
            if s.op == "file":  # a new file keeps the editor's schema line
                kind = DIRECTORIES[s.path.split("/")[1]][0]
                assert s.text.startswith(f"# yaml-language-server: $schema=../../schema/{kind}.schema.json\n")


def test_add_an_organization(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    md = perform(tmp_path, "Add an organization", monkeypatch, capsys)
    assert headings(md)[1:] == [f"{SECURITY} (2)"]  # both enter the signed trust list
    assert items(md) == ["Key added", "Organization added"]
    assert "organization `example-care` 示例养老服务有限公司 (approved (since 2026-12-01, batch 5" in md
    spec = importlib.util.spec_from_file_location(
        "codeowners", ROOT / ".github" / "scripts" / "codeowners.py"
    )
    assert spec and spec.loader
    codeowners = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(codeowners)
    assert re.search(
        r"^/registry/organizations/example-care\.yaml +@1x-registry/org-example-care @1x-registry/security$",
        codeowners.render(tmp_path / "repo" / "registry"),
        re.MULTILINE,
    )


def test_add_a_certificate_and_its_standard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    md = perform(tmp_path, "Add a certificate and its standard", monkeypatch, capsys)
    assert headings(md)[1:] == [f"{SECURITY} (1)", "### Added · 新增 (1)"]  # the type enters the trust list
    assert items(md) == ["Certificate added", "Standard added"]
    assert "(organization example-care, levels 1, 2, 3)" in md


def test_rotate_a_signing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    md = perform(tmp_path, "Rotate a signing key", monkeypatch, capsys)
    assert headings(md)[1:] == [f"{SECURITY} (2)"]
    assert items(md) == ["Key added", "Key retired"]
    # a rotation's cost, said plainly: unrecorded certificates stop verifying on retired_on
    assert (
        "(active → retired; no issuance record holds its tokens\\: "
        "every certificate it signed is INVALID from 2027-06-08)" in md
    )
    assert "  - `retired_on`: *(none)* → `2027-06-08`" in md


def test_report_a_compromised_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    md = perform(tmp_path, "Report a compromised key", monkeypatch, capsys)
    assert headings(md)[1] == f"{SECURITY} (2)"
    assert items(md) == ["KEY COMPROMISED", "Key added"]
    assert (
        "on 2027-09-15 (active → compromised; no issuance record holds its tokens\\: "
        "every certificate it signed is now INVALID)" in md
    )
    reg = load_registry(tmp_path / "repo" / "registry").registry
    assert reg is not None
    assert [k.status for k in reg.organizations["example-care"].keys] == ["retired", "compromised", "active"]


def test_revoke_a_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    md = perform(tmp_path, "Revoke a certificate", monkeypatch, capsys)
    assert headings(md)[1:] == [f"{SECURITY} (1)"]
    assert items(md) == ["Certificate revoked"]
    assert "serial `EC2027000001` on 2027-10-08 (考核舞弊（示例）; certificate example-home-care)" in md


def test_file_a_provinces_pilot_colleges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    md = perform(tmp_path, "File a province's pilot colleges", monkeypatch, capsys)
    assert SECURITY not in md
    assert headings(md)[1:] == [
        "### Pilot colleges and assessment sites · 试点院校与考核站点",
        "#### 广东省 Guangdong (44): 1 college added, 1 pilot added, 1 site added",
    ]
    assert items(md) == ["College added", "Pilot added", "Site added"]


def test_withdraw_a_certificate_type(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    md = perform(tmp_path, "Withdraw a certificate type", monkeypatch, capsys)
    assert headings(md)[1:] == [f"{SECURITY} (1)"]  # a withdrawal changes verdicts
    assert items(md) == ["Certificate withdrawn"]
    assert "（示例） (active → withdrawn (since 2028-12-31, 退出证书目录（示例）))" in md  # the date once


def _block(title: str, info: str) -> str:
    section = re.split(r"^## ", GUIDE.read_text(encoding="utf-8"), flags=re.MULTILINE)
    body = next(b for b in section if b.startswith(title + "\n"))
    match = re.search(rf"^```{re.escape(info)}\n(.*?)^```$", body, re.MULTILINE | re.DOTALL)
    assert match, f"{title}: no ```{info} block"
    return match.group(1)


def test_record_an_issued_batch(tmp_path: Path) -> None:
    """The recipe's commands, run as written (xcert through this interpreter) in a copy of the
    repository's registry: check passes with the new record signed by the organization."""
    import shlex
    import sys

    shutil.copytree(ROOT / "registry", tmp_path / "registry")
    shutil.copytree(ROOT / "sandbox", tmp_path / "sandbox")
    (tmp_path / "session.csv").write_text(
        _block("Record an issued batch", "csv session.csv"), encoding="utf-8"
    )
    ran = []
    for line in _block("Record an issued batch", "sh recipe").splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["xcert"]:
            command = [sys.executable, "-m", "xcert.cli", *words[1:]]
        elif words[:3] == ["python", "build.py", "check"]:
            command = [sys.executable, str(ROOT / "build.py"), "check", "--registry", "registry"]
        else:
            assert words[:2] == ["git", "add"], line
            assert all((tmp_path / p).exists() for p in words[2:]), line
            continue
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, (line, done.stdout, done.stderr)
        ran.append(words[0])
    assert ran == ["xcert", "xcert", "python"]
    record = (tmp_path / "registry" / "issuance" / "sandbox" / "session-1.yaml").read_text(encoding="utf-8")
    assert "count: 2\n" in record and "王小明" not in record
