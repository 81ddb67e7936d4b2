"""The static site build: refusal and atomic swap, pages, open data, trust list, escaping.

Each registry is built once per module into a temporary directory with the real build
(MkDocs, Jinja2, Pagefind); the tests read the files it wrote.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import html.parser
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import brotli
import jsonschema
import pytest
from conftest import FIXTURE_REGISTRY, claims, fixture_key, registry_with_sites

import build
from xcert import schema as registry_schema
from xcert import site as sitemod
from xcert.load import load_registry
from xcert.model import Registry
from xcert.site import opendata, pages
from xcert.token import sign
from xcert.trust import TrustList, content_version, parse_trust_list
from xcert.verify import VALID, verify

ROOT = Path(__file__).resolve().parent.parent
REAL_REGISTRY = ROOT / "registry"
HOSTILE_REGISTRY = Path(__file__).parent / "fixtures" / "hostile-registry"
HOSTILE_STRINGS = ("<script>alert(1)</script>", "[x](javascript:alert(1))", "{{ 7*7 }}", "{% raw %}")


def _build(registry: Path, out: Path) -> Path:
    assert build.main(["site", "--registry", str(registry), "--out", str(out)]) == 0
    return out


def _load(registry: Path) -> Registry:
    result = load_registry(registry)
    assert result.ok and result.registry is not None
    return result.registry


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(REAL_REGISTRY, tmp_path_factory.mktemp("real") / "site")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(HOSTILE_REGISTRY, tmp_path_factory.mktemp("hostile") / "site")


@pytest.fixture(scope="module")
def fixture_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(FIXTURE_REGISTRY, tmp_path_factory.mktemp("fixture") / "site")


def _read(site: Path, path: str) -> str:
    return (site / path).read_text(encoding="utf-8")


def _json(site: Path, path: str) -> Any:
    return json.loads(_read(site, path))


# ---------------------------------------------------------------- refusal, atomic swap


def _old_site(out: Path) -> Path:
    out.mkdir(parents=True)
    (out / "index.html").write_text("old site", encoding="utf-8")
    return out


def _assert_untouched(out: Path) -> None:
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]
    assert (out / "index.html").read_text(encoding="utf-8") == "old site"
    assert sorted(p.name for p in out.parent.iterdir()) == ["registry", "site"]  # no temp dirs left


def test_refuses_to_build_on_check_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry = tmp_path / "registry"
    shutil.copytree(FIXTURE_REGISTRY, registry)
    cert = registry / "certificates" / "logistics.yaml"
    cert.write_text(cert.read_text(encoding="utf-8").replace("logi-org", "nobody"), encoding="utf-8")
    out = _old_site(tmp_path / "site")
    assert build.main(["site", "--registry", str(registry), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "certificates/logistics.yaml:4:" in err and "nobody" in err
    assert "build refused: " in err and " left as it was" in err
    _assert_untouched(out)


def test_failure_mid_build_keeps_the_old_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(FIXTURE_REGISTRY, tmp_path / "registry")
    out = _old_site(tmp_path / "site")
    seen: list[Path] = []

    def failing_index(pages: Path, bundle: Path) -> None:  # the last phase: the pages are written
        seen.append(bundle.parent)
        assert (bundle.parent / "certificates" / "old-care" / "index.html").is_file()
        raise OSError("disk full (injected)")

    monkeypatch.setattr(sitemod.search, "index_site", failing_index)
    assert build.main(["site", "--registry", str(tmp_path / "registry"), "--out", str(out)]) == 1
    assert "build failed: OSError: disk full (injected)" in capsys.readouterr().err
    assert seen and not seen[0].exists()
    _assert_untouched(out)


def test_a_good_build_replaces_the_old_site(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE_REGISTRY, tmp_path / "registry")
    out = _old_site(tmp_path / "site")
    _build(tmp_path / "registry", out)
    assert "old site" not in _read(out, "index.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry", "site"]


def test_deployment_urls_replace_the_local_defaults_everywhere(tmp_path: Path) -> None:
    local = _load(FIXTURE_REGISTRY).settings
    out = tmp_path / "site"
    argv = ["--registry", str(FIXTURE_REGISTRY), "--out", str(out)]
    urls = ["--site-url", "https://registry.example.cn/", "--verify-url", "https://v.example.cn"]
    assert build.main([*argv, *urls]) == 0
    trust = parse_trust_list((out / "keys.json").read_bytes())
    assert (trust.site_url, trust.verify_url) == ("https://registry.example.cn", "https://v.example.cn")
    assert "https://registry.example.cn/" in _read(out, "sitemap.xml")
    for path in sorted(out.rglob("*")):
        if path.suffix in {".html", ".json", ".xml", ".csv"}:
            text = path.read_text(encoding="utf-8-sig")
            assert local.site_url not in text, path  # (verify_url: the token spec's own example)


def test_deployment_urls_must_be_http_urls(capsys: pytest.CaptureFixture[str]) -> None:
    assert build.main(["--site-url", "javascript:alert(1)"]) == 2  # a usage error, as before
    assert "'javascript:alert(1)' is not an http(s) URL" in capsys.readouterr().err


# ---------------------------------------------------------------- pages


def test_every_entity_has_a_page(real: Path) -> None:
    reg = _load(REAL_REGISTRY)
    expected = ["", "certificates/", "organizations/", "standards/", "colleges/", "statistics/", "notices/"]
    expected += [f"certificates/{c}/" for c in reg.certificates]
    expected += [f"organizations/{o}/" for o in reg.organizations]
    expected += [f"standards/{s}/" for s in reg.standards]
    expected += [f"colleges/{k.province}/{k.id}/" for k in reg.colleges.values()]
    expected += [f"colleges/{p}/" for p in {k.province for k in reg.colleges.values()}]
    expected += [f"notices/{n.slug}/" for n in reg.notices]
    expected += ["search/", "verify/", "data/", "about/", "token-format/", "vectors/"]
    missing = [p for p in expected if not (real / p / "index.html").is_file()]
    assert not missing
    for college in reg.colleges.values():  # the province page also holds a stable anchor per college
        assert f'id="{college.id}"' in _read(real, f"colleges/{college.province}/index.html")


def test_certificate_page_shows_levels_organization_and_history(real: Path) -> None:
    page = _read(real, "certificates/elderly-care/index.html")
    for text in ("初级", "中级", "高级", "北京中福长者文化科技有限公司", "状态历史", "长沙民政职业技术学院"):
        assert text in page
    assert "<title>老年照护 - " in page


def test_organization_page_lists_signing_keys(real: Path) -> None:
    reg = _load(REAL_REGISTRY)
    sandbox = reg.organizations["sandbox"]
    page = _read(real, "organizations/sandbox/index.html")
    for key in sandbox.keys:
        assert key.kid.hex() in page and key.fingerprint in page
        assert key.not_before.isoformat() in page


def test_statistics_charts_are_inline_svg(real: Path) -> None:
    page = _read(real, "statistics/index.html")
    assert page.count('<svg class="xc-svg"') >= 3
    assert "养老服务" in page


def test_every_page_carries_the_data_version(real: Path) -> None:
    stamp = _json(real, "data/registry.json")
    for path in ("index.html", "certificates/elderly-care/index.html", "data/index.html"):
        page = _read(real, path)
        assert f"Data version {stamp['version']}" in page and stamp["generated_at"] in page


def test_sitemap_lists_every_page(real: Path) -> None:
    sitemap = _read(real, "sitemap.xml")
    pages = sorted(p.parent.relative_to(real).as_posix() for p in real.rglob("index.html"))
    for page in pages:
        assert f"<loc>http://127.0.0.1:8000/{'' if page == '.' else page + '/'}</loc>" in sitemap, page


def test_every_page_has_its_own_meta_description(real: Path) -> None:
    found = {}
    for page in sorted(real.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        descriptions = re.findall(r'<meta name="description" content="([^"]*)">', text)
        assert len(descriptions) == 1 and len(descriptions[0]) > 10, page
        assert "xcert" not in descriptions[0], page  # no token left unfilled
        found[page.relative_to(real).as_posix()] = html.unescape(descriptions[0])
    cert = found["certificates/elderly-care/index.html"]
    assert cert.startswith("老年照护职业技能等级证书（初级、中级、高级）") and "北京中福长者" in cert
    assert "长沙民政职业技术学院（湖南省长沙市）" in found["colleges/43/changsha-social-work/index.html"]
    entity = [d for p, d in found.items() if p.count("/") >= 3]
    assert len(set(entity)) == len(entity)  # every registry page says what it alone holds


def test_text_files_ship_precompressed(real: Path) -> None:
    for path in ("index.html", "certificates/elderly-care/index.html", "data/registry.json", "keys.json"):
        raw = (real / path).read_bytes()
        assert gzip.decompress((real / f"{path}.gz").read_bytes()) == raw, path
        assert brotli.decompress((real / f"{path}.br").read_bytes()) == raw, path
    assert list(real.glob("assets/**/*.css.br")) and list(real.glob("pagefind/*.js.br"))


def test_lookup_holds_every_name_in_files_listed_by_keys(real: Path) -> None:
    from xcert.site import lookup

    reg = _load(REAL_REGISTRY)
    keys = _json(real, "lookup/keys.json")
    assert sorted(p.stem for p in (real / "lookup").glob("*.json") if p.stem != "keys") == keys
    for cert in reg.certificates.values():
        for name in (cert.name.zh, cert.name.en):
            if name:
                norm = lookup.normalize(name)
                rows = _json(real, f"lookup/{lookup.shard(norm)}.json")
                assert [norm, cert.name.zh, f"certificates/{cert.code}/", "证书"] in [r[:4] for r in rows]
    assert lookup.normalize("Ｅｌｄｅｒｌｙ  Care") == "elderlycare"
    assert lookup.shard("老年照护") == "8001-5e74"


def test_token_spec_and_vectors_are_published(real: Path) -> None:
    assert "COSE_Sign1" in _read(real, "token-format/index.html")
    vectors = sorted(p.name for p in (ROOT / "docs" / "vectors").glob("*.json"))
    assert vectors and sorted(p.name for p in (real / "vectors").glob("*.json")) == vectors
    index = _read(real, "vectors/index.html")
    for name in vectors:
        assert name in index


# ---------------------------------------------------------------- open data


def _validator(site: Path, name: str) -> jsonschema.Draft202012Validator:
    schema = _json(site, f"data/schema/{name}")
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_registry_json_is_sorted_stamped_and_valid(real: Path) -> None:
    data = _json(real, "data/registry.json")
    assert data["format"] == "xcert-registry/1"
    assert re.fullmatch(r"[0-9a-f]{16}", data["version"])
    assert data["commit"] is None or re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", data["commit"])
    built = dt.datetime.fromisoformat(data["generated_at"])
    assert abs(dt.datetime.now(dt.UTC) - built) < dt.timedelta(hours=1)
    for kind, key in (("organizations", "id"), ("certificates", "code"), ("colleges", "id")):
        ids = [item[key] for item in data[kind]]
        assert ids == sorted(ids) and ids
    _validator(real, "registry.schema.json").validate(data)
    _validator(real, "keys.schema.json").validate(_json(real, "keys.json"))
    text = _read(real, "data/registry.json")
    assert text == opendata.dumps_lines(json.loads(text))  # canonical: sorted keys, one entity a line


def test_entity_json_at_stable_urls(real: Path) -> None:
    reg = _load(REAL_REGISTRY)
    for kind, ids in (
        ("certificate", reg.certificates),
        ("organization", reg.organizations),
        ("standard", reg.standards),
        ("college", reg.colleges),
    ):
        validator = _validator(real, f"{kind}.schema.json")
        for entity_id in ids:
            data = _json(real, f"data/{kind}s/{entity_id}.json")
            validator.validate(data)
            assert data[kind].get("id", data[kind].get("code")) == entity_id
    assert (
        _json(real, "data/certificates/elderly-care.json")["certificate"]["organization"] == "zhongfu-elderly"
    )


def test_csvs_start_with_a_bom_and_parse(real: Path) -> None:
    reg = _load(REAL_REGISTRY)
    for kind, columns in opendata.CSV_COLUMNS.items():
        raw = (real / "data" / f"{kind}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), kind
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
        assert rows[0] == columns
        assert all(len(r) == len(columns) for r in rows[1:]), kind
    certs = list(csv.DictReader(io.StringIO(_read(real, "data/certificates.csv").lstrip("\ufeff"))))
    assert [r["code"] for r in certs] == sorted(reg.certificates)
    assert next(r for r in certs if r["code"] == "elderly-care")["name_zh"] == "老年照护"


def test_open_data_page_documents_every_file(real: Path) -> None:
    page = _read(real, "data/index.html")
    for path in [*(real / "data").glob("*.csv"), *(real / "data" / "schema").glob("*.json")]:
        assert path.name in page, f"{path.name} is published but not documented on /data/"
    for path in (real / "schema").glob("*.json"):
        assert f"/schema/{path.name}" in page
    for kind in ("certificates", "organizations", "standards", "colleges", "notices"):
        assert f"/data/{kind}/" in page
    for kind, columns in opendata.CSV_COLUMNS.items():  # the documented columns are the real ones
        assert f"<code>{kind}.csv</code></a></td>\n<td>{', '.join(columns)}</td>" in page, kind


def test_issuance_records_format_is_published(real: Path) -> None:
    page = _read(real, "issuance-records/index.html")
    assert "Issuance records" in page and "x-xcert-first-published" in page
    assert 'href="../issuance-records/"' in _read(real, "trust-list-format/index.html")  # in the nav


def test_change_history_is_published(real: Path) -> None:
    changes = _json(real, "data/changes.json")
    assert changes["version"] == _json(real, "data/registry.json")["version"]
    assert _read(real, "feed.xml").startswith("<?xml")
    assert 'type="application/atom+xml"' in _read(real, "certificates/elderly-care/index.html")
    assert 'href="/feed.xml"' in _read(real, "404.html")


def test_registry_file_schemas_are_published(real: Path) -> None:
    site_url = _load(REAL_REGISTRY).settings.site_url.rstrip("/")
    for kind in registry_schema.KINDS:
        assert _json(real, f"schema/{kind}.schema.json") == registry_schema.json_schema(kind, site_url)


def test_keys_json_reads_back_and_verifies_a_token(fixture_site: Path) -> None:
    raw = (fixture_site / "keys.json").read_bytes()
    trust = parse_trust_list(raw)
    assert trust == TrustList.from_dict(json.loads(raw))
    assert set(trust.organizations) == {"care-org", "logi-org"}
    result = verify(sign(claims(), fixture_key(2)), trust, dt.datetime(2024, 6, 1, tzinfo=dt.UTC))
    assert result.status == VALID, result.failures
    # the bytes are the security content alone (what reviewers sign), not the build stamp
    data = json.loads(raw)
    assert "generated_at" not in data and "commit" not in data
    assert data["version"] == content_version(data) != _json(fixture_site, "data/registry.json")["version"]


# ---------------------------------------------------------------- TEST and example entries


def _counts(site: Path) -> dict[str, int]:
    home = _read(site, "index.html")
    found = re.findall(r'<a class="xc-count" href="[^"]*" data-count="(\w+)"><strong>(\d+)</strong>', home)
    return {name: int(n) for name, n in found}


def test_sandbox_and_examples_are_labelled_and_not_counted(real: Path, hostile: Path) -> None:
    reg = _load(REAL_REGISTRY)
    view = pages.View(reg)
    assert "TEST 测试" in _read(real, "certificates/sandbox-demo/index.html")
    assert "TEST 测试" in _read(real, "organizations/sandbox/index.html")
    example = next(k for k in reg.colleges.values() if k.example)
    assert "示例 example" in _read(real, f"colleges/{example.province}/{example.id}/index.html")
    counted = [c for c in reg.certificates.values() if view.counted(c)]
    assert "sandbox-demo" not in {c.code for c in counted}
    assert _counts(real)["certificates"] == len(counted)
    # hostile fixture: one counted certificate, organization, college and site each; the
    # sandbox's and the example entries are listed but not counted
    assert _counts(hostile) == {"certificates": 1, "organizations": 1, "colleges": 1, "sites": 1}
    catalogue = _read(hostile, "certificates/index.html")
    assert "sandbox-demo/" in catalogue and "TEST 测试" in catalogue and "示例 example" in catalogue


# ---------------------------------------------------------------- no third-party requests

# Attributes whose URL the browser fetches by itself (a plain <a href> is only a link).
FETCHING = {
    ("script", "src"),
    ("img", "src"),
    ("img", "srcset"),
    ("source", "src"),
    ("source", "srcset"),
    ("iframe", "src"),
    ("frame", "src"),
    ("embed", "src"),
    ("object", "data"),
    ("video", "src"),
    ("video", "poster"),
    ("audio", "src"),
    ("track", "src"),
    ("input", "src"),
    ("image", "href"),
    ("use", "href"),
    ("image", "xlink:href"),
    ("use", "xlink:href"),
    ("form", "action"),
}
LINK_FETCHING_RELS = {"stylesheet", "icon", "shortcut", "preload", "prefetch", "modulepreload", "manifest"}
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""")


def _external(url: str, own_host: str) -> bool:
    url = url.strip()
    if url.startswith("data:") or url.startswith("#"):
        return False
    parts = urlsplit(url)
    if parts.scheme in ("", "http", "https") and not parts.netloc:
        return bool(parts.scheme)  # "http:foo" is odd; relative paths are ours
    return parts.netloc != own_host or parts.scheme not in ("http", "https")


class _Requests(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for name, value in a.items():
            if (tag, name) in FETCHING:
                self.urls += (
                    [u.split()[0] for u in value.split(",") if u.strip()] if "srcset" in name else [value]
                )
            if name == "style":
                self.urls += [m[0] or m[1] for m in CSS_URL.findall(value)]
        if tag == "link" and set(a.get("rel", "").lower().split()) & LINK_FETCHING_RELS:
            self.urls.append(a.get("href", ""))
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh" and "url=" in a.get("content", ""):
            self.urls.append(a["content"].split("url=", 1)[1])

    def handle_data(self, data: str) -> None:
        if self.lasttag == "style":
            self.urls += [m[0] or m[1] for m in CSS_URL.findall(data)]


# The only absolute URLs in shipped JavaScript, each inert on this site: Material loads
# mermaid from unpkg only for `.mermaid` diagrams and calls the GitHub API only with a
# `repo_url`; the rest sit in licence comments or are string constants never fetched.
JS_ALLOWED = {
    "unpkg.com": "mermaid, only for .mermaid blocks (none on this site, asserted below)",
    "api.github.com": "repository facts, only with repo_url (not configured, asserted below)",
    "github.com": "translator credits in Pagefind UI strings; repository facts",
    "harrymkt.github.io": "translator credit in Pagefind UI strings",
    "yekta.dev": "translator credit in Pagefind UI strings",
    "clipboardjs.com": "licence comment",
    "example.com": "Pagefind's base for URL parsing (new URL), never fetched",
    "www.w3.org": "SVG/XML namespace constants",
}
JS_URL = re.compile(r"""(?:https?:)?//([a-z0-9.-]+\.[a-z]{2,})(?=[/"'`:)\s])""", re.IGNORECASE)


def test_no_request_leaves_the_site(real: Path, hostile: Path) -> None:
    for site in (real, hostile):
        own = urlsplit(_load(REAL_REGISTRY if site is real else HOSTILE_REGISTRY).settings.site_url).netloc
        bad: list[tuple[str, str]] = []
        for path in site.rglob("*.html"):
            parser = _Requests()
            text = path.read_text(encoding="utf-8")
            parser.feed(text)
            bad += [(str(path.relative_to(site)), u) for u in parser.urls if _external(u, own)]
            assert 'class="mermaid"' not in text and "md-source" not in text
            assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in text, path
        for path in site.rglob("*.css"):
            css = path.read_text(encoding="utf-8")
            bad += [
                (str(path.relative_to(site)), m[0] or m[1])
                for m in CSS_URL.findall(css)
                if _external(m[0] or m[1], own)
            ]
        for path in [*site.rglob("*.js"), *site.rglob("*.mjs")]:
            hosts = {h.lower() for h in JS_URL.findall(path.read_text(encoding="utf-8", errors="replace"))}
            bad += [(str(path.relative_to(site)), h) for h in hosts - set(JS_ALLOWED) - {own.split(":")[0]}]
        assert not bad, bad[:20]
    mkdocs_yml = _read(ROOT / "site_src", "mkdocs.yml")
    assert "font: false" in mkdocs_yml and "repo_url" not in mkdocs_yml


def test_our_own_scripts_hold_no_absolute_url(real: Path) -> None:
    for name in ("assets/xcert.js", "assets/xcert.css"):
        assert not re.search(r"(https?:)?//[a-z]", _read(real, name), re.IGNORECASE), name


# ---------------------------------------------------------------- nothing unescaped


def test_hostile_strings_show_as_text(hostile: Path) -> None:
    every = "\n".join(p.read_text(encoding="utf-8") for p in hostile.rglob("*.html"))
    assert "<script>alert(1)" not in every
    assert "<img src=x" not in every and "<svg onload" not in every and "<b>bold</b>" not in every
    assert not re.search(r"""(href|src)\s*=\s*["']?\s*(javascript|data):""", every, re.IGNORECASE)
    assert "tracker.example.net" not in every  # an image in a notice is a request: dropped
    assert ">49<" not in every and " 49 " not in every
    org = _read(hostile, "organizations/care-org/index.html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;养老组织" in org
    assert "{{ 7*7 }} Care {% raw %}" in org
    assert "[x](javascript:alert(1))" in org
    cert = _read(hostile, "certificates/old-care/index.html")
    assert "{% raw %}&lt;svg onload=alert(1)&gt;" in cert
    notice = _read(hostile, "notices/2019-04-10-first-batch/index.html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in notice and "{{ 7*7 }} {% raw %}" in notice
    assert 'href="https://example.org/ok"' in notice
    college = _read(hostile, "colleges/43/test-care-college/index.html")
    assert "测试民政&lt;img src=x onerror=alert(1)&gt;学院" in college
    for s in HOSTILE_STRINGS:  # the raw registry text survives into the open data as data
        assert s in _read(hostile, "data/registry.json")


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def test_no_internal_link_is_broken(real: Path) -> None:
    _assert_no_broken_links(real)
    for link in ("/", "/certificates/", "/search/"):
        assert (
            f'href="{link}"' in _read(real, "404.html") and (real / link.strip("/") / "index.html").is_file()
        )


def _assert_no_broken_links(real: Path) -> None:
    broken: list[tuple[str, str]] = []
    for page in real.rglob("*.html"):
        if page.name == "404.html":  # root-relative links, checked below
            continue
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for link in parser.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or not parts.path:
                continue  # another site (a plain link), or an anchor on this page
            target = (page.parent / parts.path).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append((str(page.relative_to(real)), link))
    assert not broken, broken[:20]


# ---------------------------------------------------------------- assessment sites, date bounds


@pytest.fixture(scope="module")
def with_sites(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real registry plus test assessment sites (conftest.registry_with_sites)."""
    root = tmp_path_factory.mktemp("sites")
    return _build(registry_with_sites(root / "registry"), root / "site")


def _text(page: str) -> str:
    """A page's visible text in one line (tags dropped, entities read)."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


SITE = "colleges/11/test-assessment-centre/index.html"


def test_site_page_shows_certificates_levels_organizations_and_history(with_sites: Path) -> None:
    page = _read(with_sites, SITE)
    assert 'data-pagefind-filter="type:考核站点"' in page and "<title>北京测试考核中心 - " in page
    text = _text(page)
    assert "类型 Kind 考核站点（非院校） Assessment site, not a college" in text
    # each organization whose certificate it assesses, linked
    for org in ("zhongfu-elderly", "zhongmin-fuzhi", "xinao-shidai"):
        assert f'href="../../../organizations/{org}/"' in page
    assert "当前状态 Status 有效 active" in text  # active while one certificate is
    assert (
        "老年照护 北京中福长者文化科技有限公司 初级 中级 2020-06-01 有效 active "
        "失智老年人照护 北京中民福祉教育科技有限责任公司 初级 2020-07-01 2022-06-30 已关闭 closed "
        "工业机器人操作与运维 北京新奥时代科技有限责任公司 初级 中级 高级 2021-03-01 暂停 suspended"
    ) in text
    history = text[text.index("状态历史 Status history") :]
    assert (
        "2020-06-01 老年照护 初级 中级 有效 active 2020-07-01 失智老年人照护 初级 有效 active "
        "2021-03-01 工业机器人操作与运维 初级 中级 高级 有效 active "
        "2022-06-30 失智老年人照护 初级 已关闭 closed "
        "日期未登记 day not recorded 工业机器人操作与运维 初级 中级 高级 暂停 suspended"
    ) in history
    assert 'href="../../../data/colleges/test-assessment-centre.json"' in page
    description = re.search(r'<meta name="description" content="([^"]*)">', page)
    assert description and "1+X 考核站点" in html.unescape(description.group(1))
    # the example site is labelled as such; a college keeps its own page kind
    example = _read(with_sites, "colleges/11/example-assessment-site/index.html")
    assert "示例 example" in example and "不计入统计" in example
    assert 'type:试点院校"' in _read(with_sites, "colleges/11/test-site-college/index.html")


def test_province_page_lists_sites_apart_from_colleges(with_sites: Path, real: Path) -> None:
    page = _read(with_sites, "colleges/11/index.html")
    assert "<title>北京市试点院校与考核站点 - " in page
    colleges, sites = page.split('id="xc-sites-h"')
    assert 'id="test-site-college"' in colleges and 'id="test-assessment-centre"' not in colleges
    assert 'id="test-assessment-centre"' in sites and 'id="example-assessment-site"' in sites
    assert "示例 example" in sites.split('id="example-assessment-site"')[1]
    assert "北京市：1 所试点院校、2 个不是院校的考核站点" in page
    assert 'id="xc-sites-h"' not in _read(real, "colleges/43/index.html")  # no empty section


def test_sites_are_found_by_name(with_sites: Path) -> None:
    from xcert.site import lookup

    for name, kind in (("北京测试考核中心", "考核站点"), ("Beijing Test Assessment Centre", "考核站点")):
        norm = lookup.normalize(name)
        rows = _json(with_sites, f"lookup/{lookup.shard(norm)}.json")
        row = next(r for r in rows if r[0] == norm)
        assert row[2:4] == ["colleges/11/test-assessment-centre/", kind]
        assert "考核证书：老年照护、失智老年人照护" in row[4]  # the summary names what it assesses
    assert '<option value="考核站点">' in _read(with_sites, "search/index.html")


def _csv(site: Path, kind: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_read(site, f"data/{kind}.csv").lstrip("\ufeff"))))


def _table(page: str, table_id: str) -> dict[str, int]:
    body = page.split(f'id="{table_id}"')[1].split("</table>")[0]
    return {
        _text(k).strip(): int(v) for k, v in re.findall(r"<th scope=\"row\">(.*?)</th><td>(\d+)</td>", body)
    }


def _published_counts(site: Path) -> dict[str, int]:
    """The counts recomputed from the open data CSVs alone, as a reader of /data/ would."""
    sandbox = {r["id"] for r in _csv(site, "organizations") if r["sandbox"] == "true"}
    certs = [
        r for r in _csv(site, "certificates") if r["example"] == "false" and r["organization"] not in sandbox
    ]
    codes = {r["code"] for r in certs}
    counted = {r["id"] for r in _csv(site, "colleges") if r["example"] == "false"}
    sites = [
        r
        for r in _csv(site, "sites")
        if r["example"] == "false" and r["status"] == "active" and r["certificate"] in codes
    ]
    assert {r["college"] for r in sites} <= counted
    return {
        "certificates": len(certs),
        "organizations": sum(
            1 for r in _csv(site, "organizations") if r["example"] == "false" and r["sandbox"] == "false"
        ),
        "colleges": len(
            {
                r["college"]
                for r in _csv(site, "pilots")
                if r["college"] in counted and r["certificate"] in codes
            }
        ),
        "sites": len(sites),
        "standalone": sum(1 for r in sites if r["college_kind"] == "考核站点"),
    }


@pytest.mark.parametrize("which", ["real", "with_sites"])
def test_counts_agree_everywhere(which: str, request: pytest.FixtureRequest) -> None:
    """Home, statistics (totals and charts) and the colleges index give the same numbers,
    and a reader of the open data gets them too: sandbox and example entries left out."""
    site: Path = request.getfixturevalue(which)
    expected = _published_counts(site)
    home = _counts(site)
    assert home == {k: expected[k] for k in ("certificates", "organizations", "colleges", "sites")}
    stats = _read(site, "statistics/index.html")
    totals = dict(re.findall(r'<td data-count="(\w+)">(\d+)', stats))
    assert {k: int(v) for k, v in totals.items()} == home
    if expected["sites"]:
        assert sum(_table(stats, "xc-site-province-data").values()) == expected["sites"]
        assert sum(_table(stats, "xc-sites-data").values()) == expected["sites"]
    assert sum(_table(stats, "xc-province-data").values()) == expected["colleges"]
    index = _read(site, "colleges/index.html")
    columns = [
        re.findall(rf'<td data-label="{label}">(\d+)</td>', index)
        for label in (
            "试点院校 Pilot colleges",
            "考核站点 Active sites",
            "其中非院校站点 Sites not at colleges",
        )
    ]
    assert [sum(map(int, c)) for c in columns] == [
        expected["colleges"],
        expected["sites"],
        expected["standalone"],
    ]
    if which == "with_sites":  # the test overlay: one counted site not at a college, one at a college
        assert (expected["sites"], expected["standalone"]) == (2, 1)
        assert "其中 1 个不在院校" in stats


def test_open_data_carries_sites_and_date_bounds(with_sites: Path) -> None:
    data = _json(with_sites, "data/colleges/test-assessment-centre.json")
    _validator(with_sites, "college.schema.json").validate(data)
    assert data["college"]["kind"] == "考核站点" and len(data["college"]["sites"]) == 3
    _validator(with_sites, "registry.schema.json").validate(_json(with_sites, "data/registry.json"))
    rows = [r for r in _csv(with_sites, "sites") if r["college"] == "test-assessment-centre"]
    assert [(r["certificate"], r["organization"], r["college_kind"], r["example"]) for r in rows] == [
        ("elderly-care", "zhongfu-elderly", "考核站点", "false"),
        ("dementia-care", "zhongmin-fuzhi", "考核站点", "false"),
        ("industrial-robot-ops", "xinao-shidai", "考核站点", "false"),
    ]
    cert = _json(with_sites, "data/certificates/special-welding.json")["certificate"]
    assert cert["status"][0]["since"] == "2019-10-12" and cert["status"][0]["bound"] == "not-after"
    assert (
        _json(with_sites, "data/certificates/elderly-care.json")["certificate"]["status"][0]["bound"] is None
    )
    welding = next(r for r in _csv(with_sites, "certificates") if r["code"] == "special-welding")
    assert (welding["status_since"], welding["status_bound"]) == ("2019-10-12", "not-after")
    pilot = next(r for r in _csv(with_sites, "pilots") if r["college"] == "changsha-social-work")
    assert (pilot["since"], pilot["bound"]) == ("2019-06-17", "not-after")
    college = _json(with_sites, "data/colleges/changsha-social-work.json")["college"]
    assert college["pilots"][0]["bound"] == "not-after"


def test_bounded_dates_say_so_on_pages(real: Path, with_sites: Path) -> None:
    bounded = (
        (real, "certificates/special-welding/index.html", "不晚于 2019-10-12 · no later than"),
        (real, "organizations/ubtech/index.html", "不晚于 2020-12-31 · no later than"),
        (real, "colleges/43/changsha-social-work/index.html", "不晚于 2019-06-17 · no later than"),
        (with_sites, "colleges/11/test-site-college/index.html", "不早于 2020-03-01 · no earlier than"),
    )
    for site, path, words in bounded:
        page = _read(site, path)
        assert words in _text(page), path
        day = words.split()[1]
        assert f">{day}</td>" not in page, path  # never the bare date as if it were exact
    exact = _read(real, "certificates/elderly-care/index.html")
    assert '<td data-label="起始 Since">2019-04-10</td>' in exact and "不晚于" not in exact


def test_site_pages_have_no_broken_links(with_sites: Path) -> None:
    _assert_no_broken_links(with_sites)
