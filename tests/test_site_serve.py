"""Pre-compressed site files (xcert.site.compress) and the local server that sends them
(xcert.site.serve, used by run.sh), over real HTTP on loopback."""

from __future__ import annotations

import gzip
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import brotli
import httpx
import pytest

from xcert.site import compress, serve

PAGE = ("<!doctype html><title>证书</title>" + "<p>老年照护 elderly care</p>" * 200).encode()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("served")
    (root / "certificates" / "a").mkdir(parents=True)
    (root / "certificates" / "a" / "index.html").write_bytes(PAGE)
    (root / "assets").mkdir()
    (root / "assets" / "x.js").write_bytes(b"console.log('x');\n" * 100)
    (root / "tiny.json").write_bytes(b"{}")
    (root / "pagefind").mkdir()
    (root / "pagefind" / "chunk.pf_fragment").write_bytes(gzip.compress(b"already packed" * 100))
    compress.compress_site(root)
    return root


@pytest.fixture(scope="module")
def http(site: Path) -> Iterator[httpx.Client]:
    httpd = serve.server(str(site), quiet=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    # httpx would decode bodies and ask for encodings itself: send the header by hand, read raw
    with httpx.Client(base_url=f"http://127.0.0.1:{httpd.server_port}") as client:
        yield client
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_text_files_get_both_copies_binary_and_tiny_ones_none(site: Path) -> None:
    page = site / "certificates" / "a" / "index.html"
    assert gzip.decompress(Path(f"{page}.gz").read_bytes()) == PAGE
    assert brotli.decompress(Path(f"{page}.br").read_bytes()) == PAGE
    assert (site / "assets" / "x.js.br").is_file()
    assert not (site / "tiny.json.gz").exists()  # under MIN_BYTES
    assert not list((site / "pagefind").glob("*.pf_fragment.*"))  # Pagefind packs its own


def _raw(client: httpx.Client, path: str, accept: str | None) -> tuple[httpx.Response, bytes]:
    """The response, and its body as sent (httpx would decode it)."""
    headers = {} if accept is None else {"Accept-Encoding": accept}
    request = client.build_request("GET", path, headers=headers)
    if accept is None:
        del request.headers["Accept-Encoding"]
    response = client.send(request, stream=True)
    wire = b"".join(response.iter_raw())
    response.close()
    return response, wire


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("gzip, deflate, br, zstd", "br"),  # what Chromium sends
        ("gzip", "gzip"),
        ("br;q=0, gzip;q=0.8", "gzip"),
        ("gzip;q=0", None),
        ("identity", None),
        (None, None),
    ],
)
def test_page_is_sent_in_the_best_accepted_coding(
    http: httpx.Client, accept: str | None, coding: str | None
) -> None:
    response, body = _raw(http, "/certificates/a/", accept)
    assert response.status_code == 200
    assert response.headers.get("content-encoding") == coding
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    decoded = {"br": brotli.decompress, "gzip": gzip.decompress, None: lambda b: b}[coding](body)
    assert decoded == PAGE
    assert int(response.headers["content-length"]) == len(body) < (len(PAGE) if coding else len(PAGE) + 1)
    if coding:
        assert response.headers["vary"] == "Accept-Encoding"


def test_types_redirects_and_missing_files(http: httpx.Client) -> None:
    js = _raw(http, "/assets/x.js", "br")[0]
    assert js.headers["content-type"] == "text/javascript" and js.headers["content-encoding"] == "br"
    assert _raw(http, "/tiny.json", "gzip")[0].headers.get("content-encoding") is None
    moved = _raw(http, "/certificates/a", "gzip")[0]
    assert moved.status_code == 301 and moved.headers["location"] == "/certificates/a/"
    assert _raw(http, "/nothing/", "gzip")[0].status_code == 404
    assert _raw(http, "/certificates/a/index.html.gz", None)[0].status_code == 200  # the copy itself


def test_accept_encoding_parsing() -> None:
    assert serve.accepted("gzip, deflate, br, zstd") == {"gzip", "deflate", "br", "zstd"}
    assert serve.accepted("br;q=0, GZIP ; q=0.5") == {"gzip"}
    assert serve.accepted("br;q=x") == set()
    assert serve.accepted("") == set()


def test_a_rewritten_file_gets_fresh_copies_and_fresh_ones_are_kept(tmp_path: Path) -> None:
    page = tmp_path / "keys.json"
    page.write_bytes(b'{"version": 1}' + b" " * 1000)
    os.utime(page, ns=(10**18, 10**18))  # written well before it is compressed
    compress.compress_site(tmp_path)
    first = (tmp_path / "keys.json.br").stat().st_mtime_ns
    compress.compress_site(tmp_path)  # nothing changed: nothing rewritten
    assert (tmp_path / "keys.json.br").stat().st_mtime_ns == first
    page.write_bytes(b'{"version": 2}' + b" " * 1000)  # a later build step rewrites the file
    os.utime(page, ns=(first, first))  # even within the same clock tick
    compress.compress_site(tmp_path)
    assert gzip.decompress((tmp_path / "keys.json.gz").read_bytes()) == page.read_bytes()
    assert brotli.decompress((tmp_path / "keys.json.br").read_bytes()) == page.read_bytes()
    page.write_bytes(b"{}")  # now too small to compress: the old copies must go
    compress.compress_site(tmp_path)
    assert not list(tmp_path.glob("keys.json.*"))
    (tmp_path / "pagefind").mkdir()
    (tmp_path / "pagefind" / "pagefind.js").write_bytes(b"x" * 1000)
    compress.compress_site(tmp_path, exclude=("pagefind/",))
    assert not list(tmp_path.glob("pagefind/*.gz"))
