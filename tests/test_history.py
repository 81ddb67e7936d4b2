"""The change history from git (/data/changes.json) and its Atom feed, on real repositories
made in temporary directories."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from xcert import history
from xcert.trust import Stamp

FIXTURE = Path(__file__).parent / "fixtures" / "registry"
A = "{http://www.w3.org/2005/Atom}"
NEW_KEY = base64.urlsafe_b64encode(bytes(SigningKey(b"h" * 32).verify_key)).rstrip(b"=").decode()
STAMP = Stamp("0123456789abcdef", None, "2030-01-01T00:00:00Z")
NEW_ORG = """\
# yaml-language-server: $schema=../../schema/organization.schema.json
id: amp-org
name: {zh: "A&B <测试> 机构", en: "A&B <Test> Org"}
kind: 企业
province: "11"
status:
  - {status: approved, since: 2024-02-01, batch: 5}
"""


class Repo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.day = 0
        root.mkdir()
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        env = {"GIT_AUTHOR_DATE": f"2024-03-{self.day + 1:02}T08:00:00+08:00", "HOME": str(self.root)}
        env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"]
        env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
        return subprocess.run(
            ["git", "-C", str(self.root), "-c", "user.name=T", "-c", "user.email=t@example.org", *args],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout

    def commit(self, message: str) -> str:
        self.day += 1
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def edit(self, rel: str, old: str, new: str) -> None:
        path = self.root / "registry" / rel
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo")
    (r.root / "README.md").write_text("x\n")
    r.commit("start")
    shutil.copytree(FIXTURE, r.root / "registry")
    r.commit("registry: first entries")
    (r.root / "registry" / "organizations" / "amp-org.yaml").write_text(NEW_ORG, encoding="utf-8")
    r.commit("add amp-org")
    r.edit(
        "organizations/care-org.yaml",
        "    status: active\n",
        f"    status: compromised\n    compromised_on: 2024-03-03\n  - public_key: {NEW_KEY}\n"
        "    not_before: 2024-03-04\n    status: active\n",
    )
    r.commit("care-org: key compromised, new key")
    (r.root / "README.md").write_text("docs only\n")
    r.commit("docs")
    r.edit("organizations/amp-org.yaml", "kind: 企业", "kind: 公司")
    r.commit("broken on main")
    r.edit("organizations/amp-org.yaml", "kind: 公司", "kind: 企业")
    (r.root / "registry" / "notices" / "2024-03-08-news.md").write_text(
        "---\ndate: 2024-03-08\ntitle: {zh: 新闻, en: News}\nkind: news\n---\n正文\n", encoding="utf-8"
    )
    r.commit("fix amp-org, add a notice")
    return r


def test_changes_per_commit_newest_first(repo: Repo) -> None:
    entries = history.changes(repo.root / "registry")
    assert entries is not None
    assert [e.subject for e in entries] == [
        "fix amp-org, add a notice",  # carries the broken commit's (net) changes
        "care-org: key compromised, new key",
        "add amp-org",
        "registry: first entries",
    ]
    assert [c.kind for c in entries[0].changes] == ["notice-added"]
    assert [c.kind for c in entries[1].changes] == ["key-compromised", "key-added"]
    assert [(c.kind, c.id) for c in entries[2].changes] == [("organization-added", "amp-org")]
    assert entries[3].changes[0].kind == "organization-added" and len(entries[3].changes) > 5
    assert entries[0].date == "2024-03-08T08:00:00+08:00"
    # the limit counts commits walked (the broken one too), not entries
    assert [e.subject for e in history.changes(repo.root / "registry", limit=3) or []] == [
        "fix amp-org, add a notice",
        "care-org: key compromised, new key",
    ]


def test_write_history_json_and_atom_feed(repo: Repo, tmp_path: Path) -> None:
    site = tmp_path / "site"
    history.write_history(site, repo.root / "registry", stamp=STAMP)
    data = json.loads((site / "data" / "changes.json").read_text(encoding="utf-8"))
    assert (data["version"], data["history"], data["max_commits"]) == ("0123456789abcdef", "git", 100)
    assert len(data["entries"]) == 4
    key = data["entries"][1]["changes"][0]
    assert key["kind"] == "key-compromised" and key["security"] is True and key["date"] == "2024-03-03"

    raw = (site / "feed.xml").read_bytes()
    feed = ET.fromstring(raw)
    assert feed.tag == f"{A}feed"
    assert feed.findtext(f"{A}id") == "http://127.0.0.1:8000/feed.xml"
    assert feed.findtext(f"{A}updated") == "2024-03-08T08:00:00+08:00"
    entries = feed.findall(f"{A}entry")
    assert len(entries) == 4
    titles = [e.findtext(f"{A}title") for e in entries]
    assert titles[1] == "KEY COMPROMISED: organization care-org 测试养老培训评价组织 (+1 more)"
    assert titles[2] == "Organization added: organization amp-org A&B <测试> 机构"
    content = entries[2].find(f"{A}content")
    assert content is not None and content.get("type") == "html"
    assert (
        content.text is not None
        and "<li>Organization added: organization amp-org A&amp;B &lt;测试&gt; 机构" in content.text
    )
    assert b"A&amp;B &lt;" in raw and b"A&amp;amp;B &amp;lt;" in raw  # text, and HTML inside text
    ids = [e.findtext(f"{A}id") for e in entries]
    assert len(set(ids)) == 4 and all(
        i and i.startswith("http://127.0.0.1:8000/data/changes.json#") for i in ids
    )
    for e in entries:
        assert e.findtext(f"{A}updated") and e.find(f"{A}link") is not None


def empty_feed_is_valid(site: Path) -> None:
    data = json.loads((site / "data" / "changes.json").read_text(encoding="utf-8"))
    assert (data["history"], data["entries"], data["built_at"]) == ("unavailable", [], STAMP.built_at)
    feed = ET.fromstring((site / "feed.xml").read_bytes())
    assert feed.tag == f"{A}feed" and feed.findall(f"{A}entry") == []
    assert feed.findtext(f"{A}updated") == STAMP.built_at
    assert feed.findtext(f"{A}title") == "测试注册库 · 变更 Changes"


def test_outside_a_git_repository(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path / "registry")
    history.write_history(tmp_path / "site", tmp_path / "registry", stamp=STAMP)
    empty_feed_is_valid(tmp_path / "site")


def test_without_git(repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    assert history.changes(repo.root / "registry") is None
    history.write_history(tmp_path / "site", repo.root / "registry", stamp=STAMP)
    empty_feed_is_valid(tmp_path / "site")


def test_without_a_stamp_one_is_made(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path / "registry")
    history.write_history(tmp_path / "site", tmp_path / "registry")
    data = json.loads((tmp_path / "site" / "data" / "changes.json").read_text(encoding="utf-8"))
    assert len(data["version"]) == 16 and data["built_at"].endswith("Z")


def test_shallow_clone_does_not_claim_everything_was_added(repo: Repo, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    repo.git("clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone))
    assert history.changes(clone / "registry") == []
    deeper = tmp_path / "deeper"
    repo.git("clone", "-q", "--depth", "3", f"file://{repo.root}", str(deeper))
    assert [e.subject for e in history.changes(deeper / "registry") or []] == ["fix amp-org, add a notice"]


def test_any_character_in_a_subject_keeps_the_history_and_the_feed_whole(repo: Repo, tmp_path: Path) -> None:
    """U+2028 split the log's lines (every build failed while the commit was in the window);
    control characters made feed.xml malformed. Review of stop 21."""
    (repo.root / "registry" / "notices" / "2024-03-09-more.md").write_text(
        "---\ndate: 2024-03-09\ntitle: {zh: 更多, en: More}\nkind: news\n---\n正文\n", encoding="utf-8"
    )
    repo.commit("fix\u2028typo\x01\x1b\u202eevil\x85 ok")
    entries = history.changes(repo.root / "registry")
    assert entries is not None and entries[0].subject == "fix typo   evil  ok"
    history.write_history(tmp_path / "site", repo.root / "registry", stamp=STAMP)
    feed = ET.fromstring((tmp_path / "site" / "feed.xml").read_bytes())
    summary = feed.findall(f"{A}entry")[0].findtext(f"{A}summary")
    assert summary is not None and summary.endswith(": fix typo   evil  ok")
