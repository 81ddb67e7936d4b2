"""WCAG 2.1 A and AA, measured by axe-core in headless Chromium: 0 violations allowed.

axe-core is a test dependency from npm (tests/a11y/package.json and its lock; `bash test.sh`
runs `npm ci` there, node_modules is not committed). It is injected into every page as an
init script, so the pages keep their own Content-Security-Policy while it runs.

Every page kind of the real registry's site is checked at phone (390 px) and desktop width,
with its collapsible groups opened and the search page showing results; the national
synthetic site is sampled (one page of each registry kind, the lists at full length); the
verify service's result pages are in test_a11y_verify.py. A keyboard-only walk goes from the home page to a
certificate page and to a search result, and every focused element must show a focus ring.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from conftest import registry_with_sites

import build

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
AXE_DIR = Path(__file__).parent / "a11y"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
WIDTHS = {"phone": PHONE, "desktop": DESKTOP}
# WCAG 2.0 and 2.1, levels A and AA (axe's own tags; best practices are not part of the bar)
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Every page kind of the real registry's site.
REAL_PAGES = [
    "",
    "certificates/",
    "certificates/elderly-care/",
    "organizations/",
    "organizations/zhongfu-elderly/",
    "organizations/sandbox/",
    "standards/",
    "standards/elderly-care-2019/",
    "colleges/",
    "colleges/43/",
    "colleges/43/changsha-social-work/",
    "colleges/43/hunan-example-college/",
    "statistics/",
    "notices/",
    "notices/2019-04-10-first-batch/",
    "search/?q=" + quote("老年照护"),
    "verify/",
    "data/",
    "token-format/",
    "vectors/",
    "about/",
    "404.html",
]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def _serve(directory: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture(scope="module")
def axe() -> str:
    """axe-core's source, as npm installed it from the lock."""
    if not AXE_JS.is_file():
        pytest.skip(f"axe-core not installed: run `npm ci` in {AXE_DIR} (bash test.sh does)")
    lock = json.loads((AXE_DIR / "package-lock.json").read_text(encoding="utf-8"))
    installed = json.loads((AXE_JS.parent / "package.json").read_text(encoding="utf-8"))["version"]
    assert installed == lock["packages"]["node_modules/axe-core"]["version"], "stale node_modules: npm ci"
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    out = tmp_path_factory.mktemp("a11y-real") / "site"
    assert build.main(["site", "--registry", str(ROOT / "registry"), "--out", str(out)]) == 0
    yield from _serve(out)


@pytest.fixture(scope="module")
def national(national_site: tuple[Path, Path]) -> Iterator[tuple[str, list[str]]]:
    """The national synthetic site (conftest), and one page of each kind from it (the first of each list)."""
    out = national_site[1]

    def first(kind: str, depth: int = 1) -> str:
        pages = sorted(p.parent.relative_to(out) for p in out.glob(f"{kind}/{'*/' * depth}index.html"))
        assert pages, kind
        return f"{pages[0].as_posix()}/"

    sample = [
        "",
        "certificates/",
        first("certificates"),
        "organizations/",
        first("organizations"),
        "standards/",
        first("standards"),
        "colleges/",
        first("colleges"),
        first("colleges", 2),
        "statistics/",
        "notices/",
        first("notices"),
        "search/?q=" + quote("职业技术学院"),
    ]
    for base in _serve(out):
        yield base, sample


def _context(chromium: Any, viewport: dict[str, int], axe_js: str) -> Any:
    context = chromium.new_context(viewport=viewport, locale="zh-CN")
    context.add_init_script(script=axe_js)
    return context


def _open(page: Any, url: str, open_details: bool = False) -> None:
    response = page.goto(url)
    assert response is not None and response.ok, url
    page.wait_for_load_state("networkidle")
    if "/search/?q=" in url:
        page.wait_for_selector(".xc-result-link", timeout=20_000)
    if open_details:  # the collapsed lists and chart data tables are checked too
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")


def _violations(page: Any) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page, one line per element."""
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        TAGS,
    )
    return [
        f"{v['id']} ({v['impact']}): {n['target']} {n['failureSummary'].splitlines()[-1].strip()}"
        for v in result["violations"]
        for n in v["nodes"]
    ]


def _check_all(page: Any, base: str, paths: list[str], open_details: bool) -> dict[str, list[str]]:
    found = {}
    for path in paths:
        _open(page, base + path, open_details)
        problems = _violations(page)
        if problems:
            found[path or "/"] = problems
    return found


@pytest.mark.parametrize("width", list(WIDTHS))
def test_real_site_has_no_wcag_violations(chromium: Any, axe: str, real: str, width: str) -> None:
    context = _context(chromium, WIDTHS[width], axe)
    page = context.new_page()
    found = _check_all(page, real, REAL_PAGES, open_details=True)
    context.close()
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)


# The page kinds the real registry has no entry for yet: assessment sites (conftest.registry_with_sites).
SITES_PAGES = [
    "colleges/",
    "colleges/11/",
    "colleges/11/test-assessment-centre/",
    "colleges/11/example-assessment-site/",
    "colleges/11/test-site-college/",
    "statistics/",
    "search/?q=" + quote("北京测试考核中心") + "&kind=" + quote("考核站点"),
]


@pytest.mark.parametrize("width", list(WIDTHS))
def test_assessment_site_pages_have_no_wcag_violations(
    chromium: Any, axe: str, tmp_path_factory: pytest.TempPathFactory, width: str
) -> None:
    root = tmp_path_factory.getbasetemp() / "a11y-sites"
    if not (root / "site").is_dir():  # built once for both widths
        registry = registry_with_sites(root / "registry")
        assert build.main(["site", "--registry", str(registry), "--out", str(root / "site")]) == 0
    context = _context(chromium, WIDTHS[width], axe)
    page = context.new_page()
    for base in _serve(root / "site"):
        found = _check_all(page, base, SITES_PAGES, open_details=True)
    context.close()
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)


@pytest.mark.slow
@pytest.mark.parametrize("width", list(WIDTHS))
def test_national_site_has_no_wcag_violations(
    chromium: Any, axe: str, national: tuple[str, list[str]], width: str
) -> None:
    base, sample = national
    context = _context(chromium, WIDTHS[width], axe)
    page = context.new_page()
    found = _check_all(page, base, sample, open_details=False)  # national lists stay folded: seconds each
    context.close()
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)


def test_axe_finds_what_the_bar_forbids(chromium: Any, axe: str, real: str) -> None:
    """The check can fail: light red header text and an unlabelled field are reported."""
    context = _context(chromium, PHONE, axe)
    page = context.new_page()
    _open(page, real)
    page.evaluate(
        """() => {
            document.querySelector('.md-header').style.backgroundColor = '#ef5552';
            const box = document.querySelector('#xc-q');
            box.labels.forEach(l => l.remove());
            box.removeAttribute('placeholder');
        }"""
    )
    rules = {line.split()[0] for line in _violations(page)}
    context.close()
    assert {"color-contrast", "label"} <= rules, rules


# ---------------------------------------------------------------- keyboard only


def _focused(page: Any) -> dict[str, Any]:
    """What has the focus, and whether it shows a focus ring."""
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            return {
                tag: el.tagName.toLowerCase(),
                id: el.id,
                href: el.getAttribute('href') || '',
                text: (el.innerText || el.value || '').trim().slice(0, 40),
                ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
                visible: el.getClientRects().length > 0 && style.visibility !== 'hidden',
            };
        }"""
    )


def _tab_to(page: Any, selector: str, limit: int = 40) -> dict[str, Any]:
    """Press Tab until an element matching `selector` has the focus; each stop shows a ring."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = _focused(page)
        if now["tag"] != "body":
            assert now["ring"], f"no visible focus ring on {now}"
            assert now["visible"], f"the focus went to something hidden: {now}"
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return now
    raise AssertionError(f"{limit} Tabs did not reach {selector}; stopped at {_focused(page)}")


def _skip_to_content(page: Any) -> None:
    page.keyboard.press("Tab")
    skip = _focused(page)
    assert page.evaluate("document.activeElement.matches('a.xc-skip')"), skip
    assert skip["visible"] and skip["ring"], skip
    page.keyboard.press("Enter")
    page.wait_for_url("**#xc-main")  # the fragment navigation is a queued task


@pytest.mark.parametrize("width", list(WIDTHS))
def test_keyboard_reaches_a_certificate_from_the_home_page(chromium: Any, real: str, width: str) -> None:
    context = chromium.new_context(viewport=WIDTHS[width], locale="zh-CN")
    page = context.new_page()
    _open(page, real)
    _skip_to_content(page)
    # past the search box to the catalogue's count card
    assert _tab_to(page, "#xc-q", limit=1)["id"] == "xc-q"
    _tab_to(page, "a.xc-count[data-count=certificates]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/certificates/")
    page.wait_for_load_state("networkidle")
    total = page.locator("#xc-catalogue li").count()
    # the filters work from the keyboard: the field select, an arrow key, the rows narrow
    _skip_to_content(page)
    _tab_to(page, "#xc-filters select[name=field]", limit=4)  # past the name box
    page.keyboard.press("ArrowDown")
    chosen = page.locator("#xc-filters select[name=field]").input_value()
    assert chosen, "ArrowDown did not choose a field"
    visible = [r for r in page.locator("#xc-catalogue li").all() if r.is_visible()]
    assert 0 < len(visible) < total
    assert {r.get_attribute("data-field") for r in visible} == {chosen}
    assert f"{len(visible)} / {total}" in page.locator(".xc-shown").inner_text()
    # on through the other filters to the first certificate still listed, and open it
    link = _tab_to(page, "#xc-catalogue li > a")
    assert link["href"] == visible[0].locator("a").first.get_attribute("href")
    page.keyboard.press("Enter")
    page.wait_for_url("**/certificates/*/")
    assert page.locator("table.xc-facts").is_visible()
    assert page.locator(f"[data-field={chosen}]").count() == 0  # a certificate page, not the list
    context.close()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_keyboard_reaches_a_search_result_from_the_home_page(chromium: Any, real: str, width: str) -> None:
    context = chromium.new_context(viewport=WIDTHS[width], locale="zh-CN")
    page = context.new_page()
    _open(page, real)
    _skip_to_content(page)
    _tab_to(page, "#xc-q", limit=1)
    page.keyboard.type("老年照护")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search/?q=*")
    page.wait_for_selector(".xc-result-link", timeout=20_000)
    status = page.locator("#xc-search-status")
    assert status.get_attribute("role") == "status" and "结果" in status.inner_text()  # announced
    _skip_to_content(page)
    first = _tab_to(page, ".xc-result-link", limit=8)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{first['href']}")
    assert page.locator("h1").first.is_visible()
    context.close()
