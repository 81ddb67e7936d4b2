"""Example and sandbox entries: one rule (model.Registry.label / counted), left out of every
count and labelled wherever they are listed (issue 18). The certificate pages' "Pilot
colleges (N)" counts what /colleges/ counts; the home page says how many certificates and
colleges it left out. Built with the real site build; numbers recomputed from open data.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from conftest import FIXTURE_REGISTRY, registry_with_sites

from xcert.site import build_site


def _build(registry: Path, out: Path) -> Path:
    assert build_site(registry, out) == 0
    return out


@pytest.fixture(scope="module", params=["fixture", "with_sites"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp(request.param)
    registry = FIXTURE_REGISTRY if request.param == "fixture" else registry_with_sites(root / "registry")
    return _build(registry, root / "site")


def _csv(site: Path, name: str) -> list[dict[str, str]]:
    text = (site / "data" / f"{name}.csv").read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_certificate_pages_count_what_the_colleges_index_counts(site: Path) -> None:
    colleges = {r["id"]: r for r in _csv(site, "colleges")}
    labelled = {c for c, r in colleges.items() if r["example"] == "true"}
    pilots = _csv(site, "pilots")
    seen_labelled = 0
    for cert in _csv(site, "certificates"):
        page = (site / "certificates" / cert["code"] / "index.html").read_text(encoding="utf-8")
        match = re.search(r"试点院校 Pilot colleges <small>\((\d+)(?: \+ (\d+) 示例 example)?\)", page)
        assert match, cert["code"]
        rows = [p["college"] for p in pilots if p["certificate"] == cert["code"]]
        assert int(match[1]) == sum(1 for c in rows if c not in labelled), cert["code"]
        assert int(match[2] or 0) == sum(1 for c in rows if c in labelled), cert["code"]
        seen_labelled += int(match[2] or 0)
    if site.parent.name.startswith("fixture"):
        assert seen_labelled == 2  # the fixture's one example college pilots two certificates


def test_home_says_what_it_left_out(site: Path) -> None:
    """The home page's note names both kinds of left-out entries: certificates that are
    examples or the sandbox's (labelled test), and example colleges or sites."""
    home = (site / "index.html").read_text(encoding="utf-8")
    certs = sum(
        1 for r in _csv(site, "certificates") if r["example"] == "true" or r["organization"] == "sandbox"
    )
    colleges = sum(1 for r in _csv(site, "colleges") if r["example"] == "true")
    assert colleges  # both registries have an example college
    note = re.search(r"统计不含沙盒测试（TEST）与示例数据(（[^）]*）)?。", home)
    assert note
    said = note[1] or ""
    assert (f"{certs} 个测试或示例证书" in said) == bool(certs), said
    assert f"{colleges} 所示例院校或站点" in said, said
