"""The verify service's result page (verify_api/templates) under axe-core: 0 WCAG 2.1 A/AA violations.

Each verdict (valid, tampered, sandbox TEST, malformed) at phone and desktop width, served by
the real service over a signed trust list (test_verify_api's `server` fixture).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_a11y import WIDTHS, _context, _violations, axe  # noqa: F401 - axe is a fixture
from test_verify_api import rules_data, server, token  # noqa: F401 - rules_data and server are fixtures

from xcert.token import to_digits

pytestmark = pytest.mark.browser


def _tampered() -> bytes:
    raw = bytearray(token())
    raw[-5] ^= 0x40  # inside the signature
    return bytes(raw)


VERDICTS = {
    "VALID": to_digits(token()),
    "INVALID": to_digits(_tampered()),
    "TEST": to_digits(token(key=6, certificate="sandbox-cert", holder_name="测试用户")),
    "MALFORMED": "12345",
}


@pytest.mark.parametrize("width", list(WIDTHS))
def test_verify_result_pages_have_no_wcag_violations(
    chromium: Any,
    axe: str,  # noqa: F811 - the fixture imported above
    server: Any,  # noqa: F811 - the fixture imported above
    width: str,
) -> None:
    context = _context(chromium, WIDTHS[width], axe)
    page = context.new_page()
    found = {}
    for verdict, digits in VERDICTS.items():
        page.goto(f"{server.url}/c/{digits}", wait_until="load")
        assert verdict in page.locator("#status").inner_text()  # the page we mean to check
        if problems := _violations(page):
            found[verdict] = problems
    context.close()
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)
