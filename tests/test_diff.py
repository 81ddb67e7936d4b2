"""The semantic registry diff: events from model changes, Markdown for reviewers, and both
sides read from directories or git refs (real repositories in temporary directories)."""

from __future__ import annotations

import base64
import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import at, registry_at
from nacl.signing import SigningKey

from xcert import diff as xdiff
from xcert import keys
from xcert.diff import diff_registries, render_markdown
from xcert.load import load_registry

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "registry"
NEW_KEY = base64.urlsafe_b64encode(bytes(SigningKey(b"d" * 32).verify_key)).rstrip(b"=").decode()


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def append(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    """Two copies of the fixture registry: `old` stays, tests edit `new`."""
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(FIXTURE, old)
    shutil.copytree(FIXTURE, new)
    return old, new


def changes(old: Path, new: Path) -> xdiff.Diff:
    return diff_registries(registry_at(old), registry_at(new))


def test_identical_registries_have_no_change(pair: tuple[Path, Path]) -> None:
    d = changes(*pair)
    assert not d and d.kinds() == []
    assert "No change to the registry data" in render_markdown(d)


def test_reformatting_is_no_change(pair: tuple[Path, Path]) -> None:
    old, new = pair
    edit(new, "certificates/old-care.yaml", "levels: [1, 2, 3]", "levels:\n  - 3\n  - 1\n  - 2")
    assert changes(old, new).kinds() == []


def test_key_events(pair: tuple[Path, Path]) -> None:
    old, new = pair
    edit(
        new,
        "organizations/care-org.yaml",
        "    not_before: 2022-06-01\n    status: active\n",
        "    not_before: 2022-06-01\n    status: compromised\n    compromised_on: 2024-03-01\n"
        f"  - public_key: {NEW_KEY}\n    not_before: 2024-03-02\n    status: active\n",
    )
    d = changes(old, new)
    assert d.kinds() == ["key-compromised", "key-added"]
    compromised, added = d.changes
    assert compromised.date is not None
    assert (compromised.id, compromised.date.isoformat(), compromised.note) == (
        "care-org",
        "2024-03-01",
        # the new active key keeps the organization signing: no "no active signing key"
        "active → compromised; "
        "no issuance record holds its tokens: every certificate it signed is now INVALID",
    )
    assert compromised.fingerprint == keys.fingerprint(
        base64.urlsafe_b64decode("jh7fkmOOdWYdk6Cu7ZKEC1xAWhAVeQO8lNdGuxpLUTA=")
    )
    assert [(f.path, f.old, f.new) for f in compromised.fields] == [
        ("status", "active", "compromised"),
        ("compromised_on", None, "2024-03-01"),
    ]
    assert added.ref == registry_at(new).organizations["care-org"].keys[2].kid.hex()
    assert all(c.security for c in d.changes)


def test_key_retired_changed_and_removed(pair: tuple[Path, Path]) -> None:
    old, new = pair
    edit(
        new,
        "organizations/care-org.yaml",
        "    status: active\n",
        "    status: retired\n    retired_on: 2025-01-01\n",
    )
    edit(new, "organizations/care-org.yaml", "sign_until: 2022-12-31", "sign_until: 2022-11-30")
    d = changes(old, new)
    assert d.kinds() == ["key-changed", "key-retired"]
    assert [(f.path, f.old, f.new) for f in d.changes[0].fields] == [
        ("sign_until", "2022-12-31", "2022-11-30")
    ]
    lines = (new / "organizations/care-org.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("  - public_key: jLQf2FLfP1uy1JlPFhFrlgdKLTrQui1halrNKw11Sqw\n")
    del lines[start : start + 5]
    (new / "organizations/care-org.yaml").write_text("".join(lines), encoding="utf-8")
    assert changes(old, new).kinds() == ["key-removed", "key-retired"]


def test_organization_status_revocation_and_field_changes(pair: tuple[Path, Path]) -> None:
    old, new = pair
    org = "organizations/care-org.yaml"
    edit(
        new,
        org,
        "reason: 首批}\n",
        "reason: 首批}\n  - {status: suspended, since: 2024-05-01, reason: 监督检查}\n",
    )
    # a suspended organization's keys are retired by its status date (check refuses otherwise)
    edit(new, org, "    status: active\n", "    status: retired\n    retired_on: 2024-05-01\n")
    edit(new, org, "en: Test Elderly Care Organization", "en: Test Elderly-Care Organisation")
    append(
        new,
        "revocations/care-org.yaml",
        '  - {serial: "Y2024000002", date: 2024-06-01, reason: 证书信息造假}\n',
    )
    d = changes(old, new)
    assert d.kinds() == ["organization-status", "organization-changed", "key-retired", "revocation-added"]
    status, changed, _retired, revoked = d.changes
    assert status.note == "approved → suspended (since 2024-05-01, 监督检查)" and status.security
    assert [(f.path, f.old, f.new) for f in changed.fields] == [
        ("name.en", "Test Elderly Care Organization", "Test Elderly-Care Organisation")
    ]
    assert changed.security  # names are in the signed trust list: the verify page shows them
    assert (revoked.ref, revoked.note, revoked.security) == ("Y2024000002", "证书信息造假", True)


def test_history_rewritten_is_security_sensitive(pair: tuple[Path, Path]) -> None:
    old, new = pair
    edit(new, "organizations/care-org.yaml", "since: 2019-04-10, batch: 1", "since: 2018-01-01, batch: 1")
    d = changes(old, new)
    assert d.kinds() == ["organization-history-rewritten"]
    assert d.changes[0].fields[0].new == "approved since 2018-01-01"


def test_certificate_withdrawn_and_changed_fields(pair: tuple[Path, Path]) -> None:
    old, new = pair
    cert = "certificates/old-care.yaml"
    edit(
        new,
        cert,
        "  - {status: active, since: 2019-04-10}\n",
        "  - {status: active, since: 2019-04-10}\n"
        "  - {status: withdrawn, since: 2024-12-31, reason: 退出目录}\n",
    )
    edit(new, cert, "credits: {1: 4, 2: 6, 3: 8}", "credits: {1: 4, 2: 5, 3: 8}")
    d = changes(old, new)
    assert d.kinds() == ["certificate-withdrawn", "certificate-changed"]
    assert [(f.path, f.old, f.new) for f in d.changes[1].fields] == [("credits.2", "6", "5")]
    assert d.security == d.changes[:1]  # a withdrawal changes verdicts; credits do not
    md = render_markdown(d)
    assert "### ⚠️ Security-sensitive changes · 安全敏感变更 (1)" in md and "### Changed · 修改 (1)" in md
    assert (
        "- **Certificate withdrawn**: certificate `old-care` 老年照护 "  # the date said once
        "(active → withdrawn (since 2024-12-31, 退出目录))\n" in md
    )
    assert "  - `credits.2`: `6` → `5`" in md


def test_certificate_levels_change_is_security_sensitive(pair: tuple[Path, Path]) -> None:
    old, new = pair
    edit(new, "certificates/old-care.yaml", "credits: {1: 4, 2: 6, 3: 8}", "credits: {1: 4, 2: 6, 3: 9}")
    assert not changes(old, new).security  # not in the trust list: no verdict depends on it
    edit(new, "certificates/logistics.yaml", "levels: [1, 2]", "levels: [1, 2, 3]")
    d = changes(old, new)
    assert [c.id for c in d.security] == ["logistics"]


# Issue 13, item 1: each of these turned a verdict around yet was listed only under "Changed".
VERDICT_EDITS = [
    ("validity_years removed (a 2019 token EXPIRED → VALID)", "old-care", "validity_years: 3\n", ""),
    ("validity_years changed", "old-care", "validity_years: 3", "validity_years: 30"),
    (
        "status appended: withdrawn → active",
        "old-care",
        "  - {status: active, since: 2019-04-10}\n",
        "  - {status: active, since: 2019-04-10}\n  - {status: withdrawn, since: 2020-01-01}\n"
        "  - {status: active, since: 2021-01-01}\n",
    ),
    ("owner changed", "logistics", "organization: logi-org", "organization: care-org"),
    ("levels changed", "logistics", "levels: [1, 2]", "levels: [1, 2, 3]"),
    ("name changed (shown by the verify page)", "old-care", "en: Elderly Care}", "en: Elderly Care Plus}"),
]


@pytest.mark.parametrize(
    ("name", "code", "before", "after"), VERDICT_EDITS, ids=[e[0] for e in VERDICT_EDITS]
)
def test_verdict_changing_certificate_edits_are_security(
    pair: tuple[Path, Path], name: str, code: str, before: str, after: str
) -> None:
    old, new = pair
    edit(new, f"certificates/{code}.yaml", before, after)
    if "owner" in name:  # the standard follows its certificate to the new owner
        edit(new, "standards/logistics-2019.yaml", "organization: logi-org", "organization: care-org")
    d = changes(old, new)
    assert d.security and {c.id for c in d.security} == {code}, d.kinds()
    md = render_markdown(d)
    security_part = md.split("### ⚠️ Security-sensitive changes", 1)[1].split("\n### ", 1)[0]
    assert f"certificate `{code}`" in security_part


def test_a_trust_list_change_no_event_names_is_still_reported(pair: tuple[Path, Path]) -> None:
    old, new = pair
    edit(new, "certificates/old-care.yaml", "validity_years: 3", "validity_years: 4")
    a, b = load_registry(old).registry, load_registry(new).registry
    assert a is not None and b is not None
    (extra,) = xdiff._mark_trust([], a, b)  # as if no event had seen the edit
    assert (extra.kind, extra.entity, extra.id, extra.security) == (
        "trust-list-changed",
        "certificate",
        "old-care",
        True,
    )


def test_pilots_and_sites_per_province(pair: tuple[Path, Path]) -> None:
    old, new = pair
    colleges = "colleges/43.yaml"
    edit(
        new,
        colleges,
        "{certificate: old-care, levels: [1, 2, 3], since: 2019-06-01}",
        "{certificate: old-care, levels: [1, 2, 3], since: 2019-06-01, ended: 2024-07-01}",
    )
    edit(
        new,
        colleges,
        "since: 2019-10-01, status: active}",
        "since: 2019-10-01, status: closed, ended: 2024-07-01}\n"
        "      - {certificate: logistics, levels: [1], since: 2024-09-01, status: active}",
    )
    (new / "colleges" / "11.yaml").write_text(
        '# yaml-language-server: $schema=../../schema/colleges.schema.json\nprovince: "11"\ncolleges:\n'
        "  - id: beijing-test-college\n    name: {zh: 北京测试职业学院}\n    kind: 中职\n"
        "    pilots:\n      - {certificate: logistics, levels: [1, 2], since: 2024-09-01}\n",
        encoding="utf-8",
    )
    d = changes(old, new)
    assert d.kinds() == ["college-added", "pilot-added", "pilot-ended", "site-added", "site-ended"]
    assert [c.province for c in d.changes] == ["11", "11", "43", "43", "43"]
    md = render_markdown(d)
    assert "#### 北京市 Beijing (11): 1 college added, 1 pilot added" in md
    assert "#### 湖南省 Hunan (43): 1 pilot ended, 1 site added, 1 site ended" in md
    assert md.index("(11)") < md.index("(43)")
    assert (
        "- **Pilot ended**: college `test-care-college` 测试民政职业技术学院, "
        "certificate `old-care` on 2024-07-01" in md
    )


def test_notices_and_standards(pair: tuple[Path, Path]) -> None:
    old, new = pair
    (new / "notices" / "2024-01-02-news.md").write_text(
        "---\ndate: 2024-01-02\ntitle: {zh: 新公告, en: News}\nkind: news\n---\n正文\n", encoding="utf-8"
    )
    append(new, "notices/2019-04-10-first-batch.md", "补充。\n")
    edit(new, "standards/old-care-2019.yaml", 'version: "1.0"', 'version: "1.1"')
    d = changes(old, new)
    assert d.kinds() == ["standard-changed", "notice-changed", "notice-added"]
    assert d.changes[0].fields[0] == xdiff.FieldChange("version", "1.0", "1.1")
    assert d.changes[1].fields[0] == xdiff.FieldChange("body", "8 characters", "12 characters")


def test_security_heading_comes_first_and_most_damaging_first(pair: tuple[Path, Path]) -> None:
    old, new = pair
    edit(
        new,
        "organizations/care-org.yaml",
        "website: https://care.example.org/",
        "website: https://x.example/",
    )
    append(new, "revocations/care-org.yaml", '  - {serial: "Y2024000002", date: 2024-06-01, reason: 造假}\n')
    edit(
        new,
        "organizations/care-org.yaml",
        "    status: active\n",
        "    status: compromised\n    compromised_on: 2024-03-01\n",
    )
    md = render_markdown(changes(old, new), "Registry changes main → HEAD")
    lines = md.splitlines()
    assert lines[:3] == [
        xdiff.MARKER,
        "## Registry changes main → HEAD · 注册库变更",
        "",
    ]
    headings = [line for line in lines if line.startswith("### ")]
    assert headings == ["### ⚠️ Security-sensitive changes · 安全敏感变更 (2)", "### Changed · 修改 (1)"]
    items = [line for line in lines if line.startswith("- ")]
    assert items[0].startswith("- **KEY COMPROMISED**: organization `care-org`")
    assert items[0].endswith(
        "care-org now has no active signing key; "
        "no issuance record holds its tokens\\: every certificate it signed is now INVALID)"
    )
    assert items[1].startswith(
        "- **Certificate revoked**: organization `care-org` 测试养老培训评价组织, serial `Y2024000002`"
    )


def test_markdown_escapes_names_and_values() -> None:
    change = xdiff.Change(
        "organization-changed",
        "organization",
        "x",
        "Evil *bold* @team <b>",
        fields=(xdiff.FieldChange("website", "a`b", "x" * 200),),
    )
    md = render_markdown(xdiff.Diff((change,)))
    assert r"Evil \*bold\* ＠team \<b\>" in md  # GitHub mentions ignore backslashes: a full-width ＠
    assert "`` a`b ``" in md and "x" * 157 + "…" in md and "x" * 158 not in md


def test_long_summaries_are_cut_for_github() -> None:
    many = tuple(
        xdiff.Change("college-added", "college", f"c{i:05}", "学院" * 20, province="43") for i in range(3000)
    )
    md = render_markdown(xdiff.Diff(many))
    assert len(md) <= xdiff.MAX_CHARS + 200
    assert md.rstrip().endswith("run `python build.py diff` for the whole summary.")


# ---------------------------------------------------------------- directories and git refs


def test_main_between_two_directories(pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    old, new = pair
    append(new, "revocations/care-org.yaml", '  - {serial: "Y2024000002", date: 2024-06-01, reason: 造假}\n')
    assert xdiff.main(str(old), str(new)) == 0
    out = capsys.readouterr().out
    assert f"## Registry changes {old} → {new} · 注册库变更" in out
    assert "- **Certificate revoked**" in out


def git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z"}
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=T", "-c", "user.email=t@example.org", *args],
        capture_output=True,
        text=True,
        check=True,
        env={**env, "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(repo)},
    ).stdout


def make_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "docs" / "x.md").write_text("x\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "before the registry")
    shutil.copytree(FIXTURE, repo / "registry")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "registry")
    return repo


def run_diff(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "diff", *args], capture_output=True, text=True, cwd=repo
    )


def test_git_refs_work_tree_and_build_py(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    append(
        repo / "registry",
        "revocations/care-org.yaml",
        '  - {serial: "Y2024000002", date: 2024-06-01, reason: 造假}\n',
    )
    # HEAD → work tree (uncommitted)
    proc = run_diff(repo, "HEAD")
    assert proc.returncode == 0, proc.stderr
    assert "## Registry changes HEAD → work tree · 注册库变更" in proc.stdout
    assert "Certificate revoked" in proc.stdout
    git(repo, "commit", "-q", "-am", "revoke")
    edit(repo / "registry", "certificates/old-care.yaml", "en: Elderly Care", "en: Elderly Care (old)")
    git(repo, "commit", "-q", "-am", "rename")
    proc = run_diff(repo, "HEAD~2", "HEAD")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.index("Certificate revoked") < proc.stdout.index(
        "`name.en`: `Elderly Care` → `Elderly Care (old)`"
    )
    # the commit before registry/ existed: everything is added
    added = run_diff(repo, "HEAD~3", "HEAD~2").stdout
    assert "### Added · 新增" in added and "Organization added" in added and "Key added" in added
    # REF:path names another registry directory inside the tree
    assert "No change" in run_diff(repo, "HEAD:registry", "HEAD").stdout


def test_errors_are_reported_with_registry_paths(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    edit(repo / "registry", "organizations/care-org.yaml", "kind: 企业", "kind: 公司")
    git(repo, "commit", "-q", "-am", "break")
    proc = run_diff(repo, "HEAD~1", "HEAD")
    assert proc.returncode == 1
    assert "### ❌ The head registry (`HEAD`) has 1 error(s)" in proc.stdout
    assert "registry/organizations/care-org.yaml:4:7: error: kind: '公司' is not one of" in proc.stdout
    assert "xcert-diff-" not in proc.stdout
    assert proc.stdout.startswith(xdiff.MARKER + "\n### ❌")


def test_unknown_ref_and_no_repository(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    proc = run_diff(repo, "no-such-branch")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("diff: git rev-parse")
    bare = tmp_path / "elsewhere"
    bare.mkdir()
    proc = run_diff(bare, "main")
    assert proc.returncode == 2
    assert "'main' is neither a directory nor a git ref (not inside a git repository)" in proc.stderr


def test_a_key_new_in_the_file_shows_its_real_state(pair: tuple[Path, Path]) -> None:
    old, new = pair
    edit(
        new,
        "organizations/logi-org.yaml",
        "status:\n",
        f"keys:\n  - public_key: {NEW_KEY}\n    not_before: 2020-01-01\n    status: compromised\n"
        "    compromised_on: 2020-02-01\nstatus:\n",
    )
    d = changes(old, new)
    assert d.kinds() == ["key-compromised"]
    assert d.changes[0].date is not None
    assert (d.changes[0].date.isoformat(), d.changes[0].note) == (
        "2020-02-01",
        "new key, signs 2020-01-01 … open-ended, compromised",
    )


def test_settings_urls_are_security_sensitive(pair: tuple[Path, Path]) -> None:
    old, new = pair
    text = (new / "registry.yaml").read_text(encoding="utf-8")
    verify_url = next(line for line in text.splitlines() if line.startswith("verify_url:"))
    edit(new, "registry.yaml", verify_url, "verify_url: https://verify.elsewhere.example")
    edit(new, "registry.yaml", "en: Test registry", "en: Test registry 2")
    d = changes(old, new)
    assert d.kinds() == ["settings-security", "settings-changed"]
    assert [c.security for c in d.changes] == [True, True]  # the registry's name is in the trust list too
    assert d.changes[0].to_json() == {
        "kind": "settings-security",
        "entity": "settings",
        "id": "registry.yaml",
        "fields": [
            {
                "path": "verify_url",
                "old": verify_url.split(": ", 1)[1].split()[0],
                "new": "https://verify.elsewhere.example",
            }
        ],
        "security": True,
    }


def test_change_json_form() -> None:
    import datetime as dt

    c = xdiff.Change("key-added", "organization", "o", "名", "ab12", dt.date(2024, 1, 2), note="n")
    assert c.to_json() == {
        "kind": "key-added",
        "entity": "organization",
        "id": "o",
        "name": "名",
        "ref": "ab12",
        "date": "2024-01-02",
        "note": "n",
        "security": True,
    }


def test_a_site_suspended_is_a_change_of_its_status(pair: tuple[Path, Path]) -> None:
    old, new = pair
    edit(
        new, "colleges/43.yaml", "since: 2019-10-01, status: active}", "since: 2019-10-01, status: suspended}"
    )
    d = changes(old, new)
    assert d.kinds() == ["site-changed"]
    assert d.changes[0].fields == (xdiff.FieldChange("status", "active", "suspended"),)


# Issue 13, item 10: a value that ends its code span early turned the rest into Markdown
# (a mention of the security team, a <details> block) in the pull request's comment.
HOSTILE = "x``@1x-registry/security <details><summary>ok</summary>`` **b** [l](https://e.example) ```"


def test_values_cannot_break_out_of_the_pr_comment(pair: tuple[Path, Path]) -> None:
    from markdown_it import MarkdownIt

    old, new = pair
    quoted = HOSTILE.replace("\\", "\\\\").replace('"', '\\"')
    edit(new, "certificates/old-care.yaml", "en: Elderly Care}", f'en: "{quoted}"}}')
    edit(new, "certificates/old-care.yaml", "zh: 老年照护,", f'zh: "老年照护{quoted}",')
    md = render_markdown(changes(old, new))
    html = MarkdownIt("commonmark").render(md)
    codes = re.findall(r"<code>(.*?)</code>", html, re.DOTALL)
    assert any(c.replace("&lt;", "<").replace("&gt;", ">") == HOSTILE for c in codes), codes  # one whole span
    outside = re.sub(r"<code>.*?</code>", "", html, flags=re.DOTALL)
    assert "<details>" not in outside and "<summary>" not in outside and "<strong>b" not in outside
    assert "@1x-registry" not in outside  # no mention anywhere outside a code span
    assert '<a href="https://e.example">' not in outside
    assert "老年照护x``＠1x-registry/security &lt;details&gt;" in outside  # the name, shown as text


def test_load_errors_cannot_close_their_code_block() -> None:
    from markdown_it import MarkdownIt

    from xcert.problems import Loc, Problem

    side = xdiff.Side("HEAD", xdiff.LoadResult(None, (Problem(Loc("r.yaml", 1, 1), "bad\n```\n<details>"),)))
    html = MarkdownIt("commonmark").render(xdiff._failure(side, "head"))
    assert "<details>" not in html and "&lt;details&gt;" in html


def _compromise(new: Path) -> None:
    """care-org's only active key turns compromised, and nothing replaces it."""
    edit(
        new,
        "organizations/care-org.yaml",
        "    status: active\n",
        "    status: compromised\n    compromised_on: 2024-03-01\n",
    )


def test_compromise_says_recorded_certificates_stay_valid(pair: tuple[Path, Path]) -> None:
    """The base registry's issuance records of the key are published already: their tokens
    stay VALID; the count is theirs, and the sentence says so. Another key's record or
    another organization's does not count."""
    from xcert.issuance import Record, RecordFile

    old, new = pair
    _compromise(new)
    a, b = load_registry(old).registry, load_registry(new).registry
    assert a is not None and b is not None
    key = b.organizations["care-org"].keys[1]

    def record(org: str, kid: bytes, count: int) -> RecordFile:
        rec = Record(org, f"b{count}", kid, count, 0, 1, bytes(32), "x.leaves", bytes(32))
        return RecordFile(rec, None, Path("x.leaves"))

    records: tuple[RecordFile, ...] = (
        record("care-org", key.kid, 3),
        record("care-org", key.kid, 4),
        record("care-org", b"x" * 8, 50),
    )
    records += (record("logi-org", key.kid, 60),)
    d = diff_registries(dataclasses.replace(a, records=records), b)
    (change,) = d.changes
    assert change.note == (
        "active → compromised; care-org now has no active signing key; 7 recorded certificates can stay "
        "valid (those in this key's issuance records published before 2024-03-01), every other "
        "certificate it signed is now INVALID"
    )
    one = diff_registries(dataclasses.replace(a, records=(record("care-org", key.kid, 1),)), b)
    assert "; 1 recorded certificate can stay valid (" in one.changes[0].note
    # a record holding tokens issued on or after the day cannot have been published before it
    late = Record("care-org", "late", key.kid, 9, 0, at("2024-03-01", 0), bytes(32), "x.leaves", bytes(32))
    with_late = dataclasses.replace(a, records=(*records, RecordFile(late, None, Path("x.leaves"))))
    assert "; 7 recorded certificates can stay valid (" in diff_registries(with_late, b).changes[0].note
    # records new in this change are not published before the compromise
    assert (
        "every certificate it signed is now INVALID"
        in diff_registries(a, dataclasses.replace(b, records=records)).changes[0].note
    )


def test_markdown_shows_example_sources_and_fingerprint(pair: tuple[Path, Path]) -> None:
    old, new = pair
    (new / "colleges" / "11.yaml").write_text(
        '# yaml-language-server: $schema=../../schema/colleges.schema.json\nprovince: "11"\ncolleges:\n'
        "  - id: beijing-example\n    name: {zh: 示例北京学院}\n    kind: 中职\n    example: true\n"
        "    pilots:\n      - {certificate: logistics, levels: [1], since: 2024-09-01}\n"
        "  - id: beijing-real\n    name: {zh: 北京真实学院}\n    kind: 中职\n"
        "    sources: [https://jyt.example.gov.cn/notice.html]\n",
        encoding="utf-8",
    )
    edit(
        new,
        "organizations/care-org.yaml",
        "    not_before: 2022-06-01\n    status: active\n",
        "    not_before: 2022-06-01\n    status: active\n"
        f"  - public_key: {NEW_KEY}\n    not_before: 2024-01-01\n    status: active\n",
    )
    md = render_markdown(changes(old, new))
    example = md.split("college `beijing-example`", 1)[1].split("\n- ", 1)[0]
    assert "  - **`example: true`**: an illustrative entry, never counted as real data" in example
    assert "  - sources: *(none)*" in example
    real = md.split("college `beijing-real`", 1)[1].split("\n- ", 1)[0]
    assert "example: true" not in real
    assert "  - sources: `https://jyt.example.gov.cn/notice.html`" in real
    fingerprint = keys.fingerprint(base64.urlsafe_b64decode(NEW_KEY + "="))
    assert len(fingerprint) == 79  # the full SHA-256: 16 groups of 4
    assert f"  - fingerprint `{fingerprint}`: confirm it with the organization" in md
    assert "#### 北京市 Beijing (11): 2 colleges added, 1 pilot added" in md


@pytest.mark.parametrize(
    ("n", "kind", "said"),
    [
        (1, "college-added", "1 college added"),
        (3, "college-added", "3 colleges added"),
        (2, "organization-history-rewritten", "2 organization histories rewritten"),
        (2, "key-compromised", "2 keys compromised"),
        (2, "organization-status", "2 organization status changes"),
        (2, "settings-security", "2 registry URL changes"),
        (2, "trust-list-changed", "2 trust lists changed"),
    ],
)
def test_tally_plurals(n: int, kind: str, said: str) -> None:
    assert xdiff._tally([xdiff.Change(kind, "college", str(i)) for i in range(n)]) == said
