"""One fingerprint, the full SHA-256 in groups of four (keys.fingerprint), in the three
places a reviewer compares when confirming a new key with its organization (issue 18):
what `xcert keygen` and `xcert key-info` print, the organization page, and the diff."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from click.testing import CliRunner
from conftest import FIXTURE_REGISTRY

from xcert import cli
from xcert.diff import diff_registries, render_markdown
from xcert.load import load_registry
from xcert.site import build_site

FULL = re.compile(r"(?:[0-9a-f]{4}:){15}[0-9a-f]{4}")


def test_keygen_page_and_diff_show_the_same_full_fingerprint(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    shutil.copytree(FIXTURE_REGISTRY, registry)
    key = tmp_path / "new.key"
    snippet = CliRunner().invoke(cli.main, ["keygen", "--org", "care-org", "--out", str(key)]).stdout
    printed = FULL.search(snippet)
    assert printed, snippet
    fingerprint = printed[0]
    info = CliRunner().invoke(cli.main, ["key-info", str(key)]).stdout
    assert f"fingerprint: {fingerprint}\n" in info  # the key file says the same

    org = registry / "organizations" / "care-org.yaml"
    items = snippet.split("keys:\n", 1)[1]
    org.write_text(org.read_text(encoding="utf-8").replace("keys:\n", "keys:\n" + items), encoding="utf-8")
    old, new = load_registry(FIXTURE_REGISTRY).registry, load_registry(registry).registry
    assert old is not None and new is not None
    assert f"  - fingerprint `{fingerprint}`: confirm it with the organization" in render_markdown(
        diff_registries(old, new)
    )

    assert build_site(registry, tmp_path / "site") == 0
    page = (tmp_path / "site" / "organizations" / "care-org" / "index.html").read_text(encoding="utf-8")
    assert f'<code class="xc-fp">{fingerprint}</code>' in page
    # every key on the page in the same form, none as plain 64-hex
    assert len(re.findall(r'<code class="xc-fp">((?:[0-9a-f]{4}:){15}[0-9a-f]{4})</code>', page)) == 3
    assert not re.search(r'<code class="xc-fp">[0-9a-f]{64}</code>', page)
