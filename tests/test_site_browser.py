"""The built site in headless Chromium, served over real HTTP on loopback.

Every request of every page is logged and none may leave 127.0.0.1; console errors and
dialogs are collected and must stay empty. Screenshots at desktop and phone width go to
test-artifacts/site/ (gitignored; CI keeps them as artifacts).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from conftest import registry_with_sites

import build
from xcert.site import serve

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "site"
HOSTILE_REGISTRY = Path(__file__).parent / "fixtures" / "hostile-registry"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@dataclass
class Site:
    """A built site served on loopback, and what the browser did with it."""

    base: str
    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # console errors, page errors, dialogs

    def outside(self) -> list[str]:
        return [u for u in self.requests if not u.startswith((self.base, "data:", "blob:"))]


def _serve(directory: Path) -> Iterator[Site]:
    """Served as production serves it: the build's .br/.gz copies (xcert.site.serve)."""
    server = serve.server(str(directory), quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_port}/")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _built(registry: Path, out: Path) -> Path:
    assert build.main(["site", "--registry", str(registry), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from _serve(_built(ROOT / "registry", tmp_path_factory.mktemp("real") / "site"))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from _serve(_built(HOSTILE_REGISTRY, tmp_path_factory.mktemp("hostile") / "site"))


def _context(chromium: Any, site: Site, viewport: dict[str, int], js: bool = True) -> Any:
    context = chromium.new_context(viewport=viewport, java_script_enabled=js, locale="zh-CN")
    context.on("request", lambda request: site.requests.append(request.url))

    def watch(page: Any) -> None:
        page.on("console", lambda m: site.problems.append(f"console {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: site.problems.append(f"pageerror {e}"))

        def dialog(d: Any) -> None:
            site.problems.append(f"dialog {d.type}: {d.message}")
            d.dismiss()

        page.on("dialog", dialog)

    context.on("page", watch)
    return context


@pytest.fixture
def page(chromium: Any, real: Site) -> Iterator[Any]:
    context = _context(chromium, real, DESKTOP)
    yield context.new_page()
    context.close()
    _clean(real)


def _clean(site: Site) -> None:
    outside, problems = site.outside(), list(site.problems)
    site.requests.clear()
    site.problems.clear()
    assert not outside, f"requests left loopback: {outside}"
    assert not problems, problems


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


# ---------------------------------------------------------------- layout, desktop and phone

PAGES = {
    "home": "",
    "catalogue": "certificates/",
    "certificate": "certificates/elderly-care/",
    "organization": "organizations/zhongfu-elderly/",
    "sandbox": "organizations/sandbox/",
    "province": "colleges/43/",
    "college": "colleges/43/changsha-social-work/",
    "statistics": "statistics/",
    "data": "data/",
    "verify": "verify/",
    "token-format": "token-format/",
    "vectors": "vectors/",
    "notice": "notices/2019-04-10-first-batch/",
}


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_pages_load_without_horizontal_scroll(chromium: Any, real: Site, width: str) -> None:
    viewport = DESKTOP if width == "desktop" else PHONE
    context = _context(chromium, real, viewport)
    page = context.new_page()
    for name, path in PAGES.items():
        response = page.goto(real.base + path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").first.is_visible(), path
        stacked = page.locator("table[data-xc-stack] thead")
        if stacked.count():  # a table on desktop, labelled cards on a phone
            assert stacked.first.is_visible() == (width == "desktop"), path
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= viewport["width"], f"{path} scrolls sideways at {viewport['width']} px: {scroll}"
        _shot(page, f"{name}-{width}")
    context.close()
    _clean(real)


def test_home_shows_counts_search_and_how_to_verify(page: Any, real: Site) -> None:
    page.goto(real.base)
    counts = page.locator("a.xc-count strong").all_inner_texts()
    assert len(counts) == 4 and all(c.isdigit() for c in counts) and int(counts[0]) > 0
    assert page.get_by_role("heading", name="如何验证证书 How to verify a certificate").is_visible()
    assert page.get_by_text("数据版本 Data version").is_visible()


def test_certificate_page_shows_levels_and_organization(page: Any, real: Site) -> None:
    page.goto(real.base + "certificates/elderly-care/")
    facts = page.locator("table.xc-facts")
    assert facts.get_by_text("初级").is_visible() and facts.get_by_text("高级").is_visible()
    link = facts.get_by_role("link", name="北京中福长者文化科技有限公司")
    link.click()
    page.wait_for_url("**/organizations/zhongfu-elderly/")
    assert page.get_by_role("heading", name="签名公钥 Signing keys").is_visible()


# ---------------------------------------------------------------- catalogue


def _visible_rows(page: Any) -> list[Any]:
    return [r for r in page.locator("#xc-catalogue li").all() if r.is_visible()]


def test_catalogue_filters_narrow_rows(page: Any, real: Site) -> None:
    page.goto(real.base + "certificates/")
    total = page.locator("#xc-catalogue li").count()
    assert len(_visible_rows(page)) == total > 5
    page.select_option("#xc-filters select[name=field]", "elderly-care")
    rows = _visible_rows(page)
    assert 0 < len(rows) < total
    assert {r.get_attribute("data-field") for r in rows} == {"elderly-care"}
    assert page.locator("#xc-shown").inner_text() == f"{len(rows)} / {total}"
    page.select_option("#xc-filters select[name=org]", "zhongfu-elderly")
    names = [r.locator("a").first.inner_text() for r in _visible_rows(page)]
    assert any("老年照护" in n for n in names) and all("zhongfu" not in n for n in names)
    page.select_option("#xc-filters select[name=field]", "")
    page.select_option("#xc-filters select[name=org]", "")
    page.select_option("#xc-filters select[name=status]", "withdrawn")
    withdrawn = len(_visible_rows(page))
    assert withdrawn < total
    _shot(page, "catalogue-filtered-desktop")
    assert page.url.endswith("/certificates/?status=withdrawn")  # the filtered view has an address
    page.goto(real.base + "certificates/?field=elderly-care&level=3")
    assert page.locator("#xc-filters select[name=field]").input_value() == "elderly-care"
    assert 0 < len(_visible_rows(page)) < total


def test_catalogue_reads_as_a_plain_list_without_javascript(chromium: Any, real: Site) -> None:
    context = _context(chromium, real, PHONE, js=False)
    page = context.new_page()
    page.goto(real.base + "certificates/")
    rows = page.locator("#xc-catalogue li")
    assert rows.count() > 5 and len(_visible_rows(page)) == rows.count()
    assert not page.locator("#xc-filters").is_visible()  # the filters need JS: hidden, not broken
    assert page.locator("#xc-catalogue").get_by_role("link", name="老年照护").is_visible()
    _shot(page, "catalogue-nojs-phone")
    context.close()
    _clean(real)


# ---------------------------------------------------------------- search


def _search(page: Any, base: str, query: str) -> list[str]:
    """Run a query on the search page; every result's link, after loading them all."""
    page.goto(base + "search/?q=" + quote(query))
    page.wait_for_selector(".xc-result-link", timeout=20_000)
    more = page.locator("#xc-search-more")
    while more.is_visible():
        shown = page.locator(".xc-result").count()
        more.click()
        for _ in range(100):  # (wait_for_function would eval a string: the page's CSP refuses that)
            if page.locator(".xc-result").count() > shown:
                break
            page.wait_for_timeout(50)
    return [a.get_attribute("href") or "" for a in page.locator(".xc-result-link").all()]


def test_chinese_search_finds_certificate_organization_and_colleges(page: Any, real: Site) -> None:
    links = _search(page, real.base, "老年照护")
    _shot(page, "search-desktop")
    assert "/certificates/elderly-care/" in links
    assert "/organizations/zhongfu-elderly/" in links
    assert "/colleges/43/changsha-social-work/" in links
    assert _search(page, real.base, "长沙民政职业技术学院")[0] == "/colleges/43/changsha-social-work/"
    assert "/token-format/" in _search(page, real.base, "COSE_Sign1")  # hand-written pages too
    _search(page, real.base, "长沙民政职业技术学院")
    first = page.locator(".xc-result").first
    assert "试点院校 College" in first.inner_text() and "老年照护" in first.inner_text()  # type and summary


def test_home_search_box_leads_to_results(chromium: Any, real: Site) -> None:
    context = _context(chromium, real, PHONE)
    page = context.new_page()
    page.goto(real.base)
    page.fill("#xc-q", "老年照护")
    page.press("#xc-q", "Enter")
    page.wait_for_selector(".xc-result-link", timeout=20_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _shot(page, "search-phone")
    context.close()
    _clean(real)


# ---------------------------------------------------------------- assessment sites, date bounds


@pytest.fixture(scope="module")
def with_sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The real registry plus test assessment sites (conftest.registry_with_sites)."""
    root = tmp_path_factory.mktemp("sites")
    yield from _serve(_built(registry_with_sites(root / "registry"), root / "site"))


def test_assessment_site_page_search_and_province_list(chromium: Any, with_sites: Site) -> None:
    """A person finds a site by its name, reads what it assesses at phone width, and filters
    the province's sites without touching its colleges."""
    for viewport, width in ((PHONE, "phone"), (DESKTOP, "desktop")):
        context = _context(chromium, with_sites, viewport)
        page = context.new_page()
        page.goto(with_sites.base + "colleges/11/test-assessment-centre/")
        assert page.locator("h1").inner_text() == "北京测试考核中心"
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        rows = page.locator("table[data-xc-stack]").first.locator("tbody tr")
        assert rows.count() == 3 and "工业机器人操作与运维" in rows.nth(2).inner_text()
        assert page.get_by_text("日期未登记").is_visible()
        _shot(page, f"assessment-site-{width}")
        context.close()
    page = _context(chromium, with_sites, DESKTOP).new_page()
    links = _search(page, with_sites.base, "北京测试考核中心")
    assert links[0] == "/colleges/11/test-assessment-centre/"
    assert "考核站点 Assessment site" in page.locator(".xc-result").first.inner_text()
    page.select_option("#xc-search-kind", "考核站点")
    page.wait_for_timeout(300)
    kinds = page.locator(".xc-result").all_inner_texts()
    assert kinds and all("考核站点 Assessment site" in k for k in kinds)
    page.goto(with_sites.base + "colleges/11/")
    page.fill("#xc-sites-q", "示例")
    page.wait_for_timeout(200)
    shown = [li.inner_text() for li in page.locator("#xc-sites li").all() if li.is_visible()]
    assert len(shown) == 1 and "示例考核站点" in shown[0]
    assert page.locator("#xc-colleges li").first.is_visible()  # the colleges' list is its own
    page.goto(with_sites.base + "certificates/special-welding/")
    assert page.get_by_text("不晚于 2019-10-12").is_visible()
    page.context.close()
    _clean(with_sites)


# ---------------------------------------------------------------- hostile registry


def test_hostile_strings_show_as_text_and_run_nothing(chromium: Any, hostile: Site) -> None:
    context = _context(chromium, hostile, DESKTOP)
    page = context.new_page()
    page.goto(hostile.base + "organizations/care-org/")
    assert page.get_by_text("<script>alert(1)</script>养老组织").first.is_visible()
    assert page.get_by_text("{{ 7*7 }} Care {% raw %}").first.is_visible()
    assert page.get_by_text("[x](javascript:alert(1))").first.is_visible()
    page.goto(hostile.base + "certificates/old-care/")
    assert page.get_by_text("{% raw %}<svg onload=alert(1)>").first.is_visible()
    page.goto(hostile.base + "colleges/43/test-care-college/")
    assert page.get_by_text("测试民政<img src=x onerror=alert(1)>学院").first.is_visible()
    page.goto(hostile.base + "notices/2019-04-10-first-batch/")
    body = page.locator(".xc-notice-body")
    assert "<script>alert(1)</script>" in body.inner_text() and "{{ 7*7 }} {% raw %}" in body.inner_text()
    hrefs = [link.get_attribute("href") for link in body.locator("a").all()]
    assert hrefs.count(None) == 2 and "https://example.org/ok" in hrefs  # javascript:, data: lost href
    assert all(h is None or h.startswith("https://") for h in hrefs)
    _shot(page, "hostile-notice-desktop")
    for path in ("", "certificates/", "colleges/43/", "notices/", "standards/old-care-2019/"):
        page.goto(hostile.base + path)
        page.wait_for_load_state("networkidle")
    links = _search(page, hostile.base, "养老组织")
    assert "/organizations/care-org/" in links
    _shot(page, "hostile-search-desktop")
    assert page.evaluate("typeof window.xcPwned") == "undefined"
    _clean(hostile)  # no dialog fired, no console error, nothing left loopback
    # Second guard, the page's Content-Security-Policy: an injected inline script and a
    # third-party image are refused by the browser itself.
    refused = page.evaluate(
        """() => new Promise(resolve => {
            const seen = [];
            document.addEventListener("securitypolicyviolation", e => seen.push(e.effectiveDirective));
            const s = document.createElement("script");
            s.textContent = "window.xcPwned = 1";
            document.body.appendChild(s);
            const img = document.createElement("img");
            img.src = "http://tracker.example.net/pixel.png";
            document.body.appendChild(img);
            setTimeout(() => resolve(seen), 500);
        })"""
    )
    assert sorted(set(refused)) == ["img-src", "script-src-elem"], refused
    assert page.evaluate("typeof window.xcPwned") == "undefined"
    hostile.problems.clear()  # the two refusals, logged as console errors
    hostile.requests.clear()  # Playwright lists the refused image as a (failed) request
    context.close()
