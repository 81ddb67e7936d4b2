"""A phone-width headless Chromium opens QR URLs on the real verify service.

Valid, tampered, sandbox and malformed tokens each show their verdict; the page works with
JavaScript off, its inline CSS passes the CSP (no console errors), and no request leaves
the loopback origin. Screenshots go to test-artifacts/ for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ROOT, Server, publish_signed, rules_trust, token

from xcert.token import to_digits

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}


def _tampered() -> bytes:
    raw = bytearray(token())
    raw[-5] ^= 0x40  # inside the signature
    return bytes(raw)


# name, token digits, heading text, other text that must be visible
PAGES: list[tuple[str, str, str, list[str]]] = [
    ("valid", to_digits(token()), "有效 VALID", ["王小明", "123X", "老年照护", "2023000000000001"]),
    ("tampered", to_digits(_tampered()), "无效 INVALID", ["签名无效", "The signature does not match"]),
    (
        "sandbox",
        to_digits(token(key=6, certificate="sandbox-cert", holder_name="测试用户")),
        "测试 TEST",
        ["不是真实证书", "测试用户"],
    ),
    ("malformed", "12345", "无法识别 MALFORMED", ["二维码内容不是有效的证书凭证"]),
]


@pytest.fixture(scope="module")
def server(trust_json: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("browser")
    publish_signed(directory / "keys.json", rules_trust(trust_json))
    srv = Server(directory / "keys.json", directory / "server.log")
    yield srv
    srv.stop()


@pytest.mark.parametrize("javascript", [False, True], ids=["js-off", "js-on"])
@pytest.mark.parametrize(("name", "digits", "heading", "texts"), PAGES, ids=[p[0] for p in PAGES])
def test_phone_sees_the_verdict(
    server: Server,
    chromium: Any,
    name: str,
    digits: str,
    heading: str,
    texts: list[str],
    javascript: bool,
) -> None:
    context = chromium.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, java_script_enabled=javascript
    )
    page = context.new_page()
    requests: list[str] = []
    console: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    try:
        response = page.goto(f"{server.url}/c/{digits}", wait_until="load")
        assert response is not None and response.status == (400 if name == "malformed" else 200)
        status = page.locator("#status")
        assert status.is_visible()
        assert " ".join(status.inner_text().split()) == heading
        body = page.locator("body").inner_text()
        for text in texts:
            assert text in body, text
        if name == "sandbox":
            assert page.locator("#test-banner").is_visible()
        # The big verdict is big and coloured: the inline CSS was allowed by the CSP hash.
        box = status.bounding_box()
        assert box is not None and box["height"] >= 60 and box["width"] <= PHONE["width"]
        if javascript:
            style = "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).backgroundImage]"
            painted = page.eval_on_selector("header.verdict", style)
            assert painted != ["rgba(0, 0, 0, 0)", "none"], painted
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            assert not [m for m in console if "Refused" in m or "Content Security Policy" in m], console
        else:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"verify-{name}.png"), full_page=True)
        assert requests and all(url.startswith(server.url + "/") for url in requests), requests
    finally:
        context.close()
