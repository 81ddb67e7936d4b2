"""Finding things in headless Chromium: a page's exact name finds it, and first; long lists
filter as one types, from the keyboard, and read as plain sorted lists without JavaScript.

Every certificate, organization and college name of the real registry is searched; on
the national-scale synthetic site (slow: built once, ~1 min), names picked at random
(seed in every failure message; set XCERT_TEST_SEED to replay one).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from test_site_browser import DESKTOP, PHONE, ROOT, Site, _built, _clean, _context, _serve

from xcert.load import load_registry
from xcert.model import Registry
from xcert.site.pages import pinyin_key

pytestmark = pytest.mark.browser

SEED = int(os.environ.get("XCERT_TEST_SEED") or random.SystemRandom().randrange(2**31))


def _registry(path: Path) -> Registry:
    result = load_registry(path)
    assert result.ok and result.registry is not None
    return result.registry


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from _serve(_built(ROOT / "registry", tmp_path_factory.mktemp("real") / "site"))


@pytest.fixture(scope="module")
def page(chromium: Any, real: Site) -> Iterator[Any]:
    context = _context(chromium, real, DESKTOP)
    yield context.new_page()
    context.close()
    _clean(real)


def results(page: Any, base: str, query: str, kind: str = "") -> list[tuple[str, str]]:
    """The first page of results: (link, kind badge) of each, best first."""
    page.goto(f"{base}search/?q={quote(query)}" + (f"&kind={quote(kind)}" if kind else ""))
    page.wait_for_selector(".xc-result-link, #xc-search-status:has-text('No results')", timeout=30_000)
    return [
        (
            r.locator(".xc-result-link").get_attribute("href") or "",
            "".join(r.locator(".xc-result-type").all_inner_texts()),  # hand-written pages: none
        )
        for r in page.locator(".xc-result").all()
    ]


def rank(found: list[tuple[str, str]], url: str) -> int:
    """1-based place of `url` in the results (0: not on the first page)."""
    links = [link for link, _ in found]
    return links.index(url) + 1 if url in links else 0


def named_pages(reg: Registry) -> dict[str, list[tuple[str, str]]]:
    """(name, page URL) of every certificate, organization and college, by kind."""
    return {
        "certificate": [(c.name.zh, f"/certificates/{c.code}/") for c in reg.certificates.values()],
        "organization": [(o.name.zh, f"/organizations/{o.id}/") for o in reg.organizations.values()],
        "college": [(k.name.zh, f"/colleges/{k.province}/{k.id}/") for k in reg.colleges.values()],
    }


def misses(page: Any, base: str, names: list[tuple[str, str]], within: int) -> list[str]:
    out = []
    for name, url in names:
        place = rank(results(page, base, name), url)
        if not 0 < place <= within:
            out.append(f"{name} → {url} is #{place or 'missing'}")
    return out


def test_every_real_name_finds_its_page_first(page: Any, real: Site) -> None:
    pages = named_pages(_registry(ROOT / "registry"))
    assert len(pages["certificate"]) > 10 and pages["organization"] and pages["college"]
    # the bar: a certificate in the top 3; what this index gives is first, for every kind
    bad = [m for kind in pages for m in misses(page, real.base, pages[kind], within=1)]
    assert not bad, bad


def test_names_that_pagefind_alone_could_not_find(page: Any, real: Site) -> None:
    for name, code in (
        ("工业机器人应用编程", "industrial-robot-programming"),
        ("智能新能源汽车", "smart-nev"),
    ):
        found = results(page, real.base, name)
        assert found[0] == (f"/certificates/{code}/", "证书 Certificate"), (name, found)
    # the English name and a different case and width find it too (NFKC, lower case)
    found = results(page, real.base, "ＥＬＤＥＲＬＹ care")
    assert found and found[0][0] == "/certificates/elderly-care/", found


def test_results_narrow_by_kind(page: Any, real: Site) -> None:
    everything = results(page, real.base, "老年照护")
    assert {k for _, k in everything} >= {"证书 Certificate", "等级标准 Standard"}
    for kind, badge in (("等级标准", "等级标准 Standard"), ("试点院校", "试点院校 College")):
        narrowed = results(page, real.base, "老年照护", kind)
        assert narrowed and {k for _, k in narrowed} == {badge}, (kind, narrowed)
        assert page.locator("#xc-search-kind").input_value() == kind
    page.select_option("#xc-search-kind", "")  # choosing a kind reruns the query
    page.wait_for_selector(".xc-result-type:has-text('证书 Certificate')")
    assert "kind=" not in page.url


def test_pages_do_not_fetch_the_sitemap(chromium: Any, real: Site) -> None:
    context = _context(chromium, real, DESKTOP)
    tab = context.new_page()
    for path in ("", "certificates/", "certificates/elderly-care/", "colleges/43/", "search/?q=老年照护"):
        tab.goto(real.base + path)
        tab.wait_for_load_state("networkidle")
    assert real.requests and not [u for u in real.requests if "sitemap" in u]
    context.close()
    _clean(real)


# ---------------------------------------------------------------- national scale


@pytest.fixture(scope="module")
def national(national_site: tuple[Path, Path]) -> Iterator[tuple[Site, Registry]]:
    registry, built = national_site  # conftest: built once for every slow test that needs it
    reg = _registry(registry)
    for site in _serve(built):
        yield site, reg


@pytest.mark.slow
def test_random_national_names_find_their_pages(chromium: Any, national: tuple[Site, Registry]) -> None:
    site, reg = national
    rng = random.Random(SEED)
    pages = named_pages(reg)
    context = _context(chromium, site, DESKTOP)
    tab = context.new_page()
    bad = misses(tab, site.base, rng.sample(pages["certificate"], 12), within=3)
    bad += misses(tab, site.base, rng.sample(pages["organization"], 12), within=1)
    bad += misses(tab, site.base, rng.sample(pages["college"], 24), within=1)
    # the issue's own examples
    for name in ("营养配餐服务", "营养配餐", "西式面点管理", "动力电池技术", "老年照护"):
        url = next((u for n, u in pages["certificate"] if n == name), None)
        if url is not None:
            bad += misses(tab, site.base, [(name, url)], within=3)
    assert not bad, f"seed {SEED}: {bad}"
    context.close()
    _clean(site)


# ---------------------------------------------------------------- long lists


def _visible(page: Any, selector: str) -> list[str]:
    return [e.inner_text() for e in page.locator(selector).all() if e.is_visible()]


def _wait_shown(page: Any, selector: str, n: int) -> None:
    """Until `n` entries are not hidden (polled: wait_for_function's eval is refused by the CSP)."""
    shown = page.locator(f"{selector}:not([hidden])")
    for _ in range(100):
        if shown.count() == n:
            return
        page.wait_for_timeout(30)
    assert shown.count() == n


def _in_pinyin_order(names: list[str]) -> bool:
    keys = [pinyin_key(n) for n in names]
    return keys == sorted(keys)


def test_list_filter_works_from_the_keyboard(page: Any, real: Site) -> None:
    page.goto(real.base + "organizations/")
    box = "#xc-organizations"
    total = page.locator(f"{box} li").count()
    assert total > 10 and len(_visible(page, f"{box} li")) == total  # short list: groups open
    for group in page.locator(f"{box} details.xc-group").all():
        names = group.locator("li > a").all_inner_texts()
        assert _in_pinyin_order(names), names
    page.locator(f"{box}-q").focus()
    page.keyboard.type("中福")
    _wait_shown(page, f"{box} li", 1)
    shown = _visible(page, f"{box} li > a")
    assert shown == ["北京中福长者文化科技有限公司"]
    assert page.locator(f"{box} output").inner_text() == f"1 / {total}"
    assert len(_visible(page, f"{box} details.xc-group")) == 1  # groups without a match hide
    page.keyboard.press("Tab")  # the group's summary, then its one link
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "北京中福长者文化科技有限公司"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Escape")  # clears the filter: every entry back
    _wait_shown(page, f"{box} li", total)
    page.keyboard.type("没有这个名字")
    _wait_shown(page, f"{box} li", 0)
    assert page.locator(f"{box} output").inner_text() == f"0 / {total}"


def test_catalogue_name_filter_combines_with_the_selects(page: Any, real: Site) -> None:
    page.goto(real.base + "certificates/?q=" + quote("照护"))
    assert page.locator("#xc-filters input[name=q]").input_value() == "照护"
    names = _visible(page, "#xc-catalogue li > a")
    assert "老年照护" in names and all("照护" in n for n in names)
    page.select_option("#xc-filters select[name=status]", "withdrawn")
    assert all("照护" in n for n in _visible(page, "#xc-catalogue li > a"))
    assert "q=" in page.url and "status=withdrawn" in page.url


def test_lists_without_javascript_are_plain_sorted_lists(chromium: Any, real: Site) -> None:
    context = _context(chromium, real, DESKTOP, js=False)
    tab = context.new_page()
    for path, box in (("organizations/", "#xc-organizations"), ("colleges/43/", "#xc-colleges")):
        tab.goto(real.base + path)
        assert not tab.locator(".xc-filter").is_visible()  # needs JavaScript: not shown
        items = tab.locator(f"{box} li")
        assert items.count() and len(_visible(tab, f"{box} li")) == items.count()
        summaries = tab.locator(f"{box} summary").all_inner_texts()
        assert _in_pinyin_order([s.split(" (")[0] for s in summaries if not s.startswith("其他")]), summaries
    context.close()
    _clean(real)


def test_pinyin_order_reads_words_whole() -> None:
    assert pinyin_key("重庆")[:2] == ("chong2", "qing4")  # not zhong
    cities = ["重庆", "长沙", "北京", "银行学校"]
    assert sorted(cities, key=pinyin_key) == ["北京", "长沙", "重庆", "银行学校"]


@pytest.mark.slow
def test_national_lists_start_closed_and_open_to_a_filter(
    chromium: Any, national: tuple[Site, Registry]
) -> None:
    site, reg = national
    rng = random.Random(SEED)
    provinces: dict[str, list[str]] = {}
    for college in reg.colleges.values():
        provinces.setdefault(college.province, []).append(college.name.zh)
    province = max(provinces, key=lambda p: len(provinces[p]))
    context = _context(chromium, site, PHONE)
    tab = context.new_page()
    tab.goto(f"{site.base}colleges/{province}/")
    box = "#xc-colleges"
    total = tab.locator(f"{box} li").count()
    assert total == len(provinces[province]) > 100
    assert not _visible(tab, f"{box} li")  # a long list opens as its groups (cities) only
    cities = [s.split(" (")[0] for s in tab.locator(f"{box} summary").all_inner_texts()]
    assert _in_pinyin_order([c for c in cities if not c.startswith("其他")]), cities
    name = rng.choice(provinces[province])
    tab.locator(f"{box}-q").fill(name)
    shown = _visible(tab, f"{box} li > a")
    assert name in shown and all(name in n for n in shown), f"seed {SEED}: {name}: {shown}"
    tab.locator(f"{box}-q").press("Escape")
    _wait_shown(tab, f"{box} li", total)
    assert not _visible(tab, f"{box} li")  # the groups as they were: closed
    tab.goto(site.base + "certificates/")
    assert not _visible(tab, "#xc-catalogue li")
    field = reg.settings.fields[0].id
    tab.select_option("#xc-filters select[name=field]", field)
    shown_rows = [r for r in tab.locator("#xc-catalogue li").all() if r.is_visible()]
    assert shown_rows and {r.get_attribute("data-field") for r in shown_rows} == {field}
    context.close()
    _clean(site)
