"""The result page (verify_api/page.py) as a phone gets it from a real server: the verdict in
plain words, what to compare with the paper certificate, signed text escaped.
"""

from __future__ import annotations

from typing import Any

import cbor2
import httpx
import pytest
from conftest import (
    KID,
    RECENT,
    RULES,
    at,
    cose,
    raw_digits,
    token,
)

from xcert.token import to_digits
from xcert.verify import CHECKS, EXPIRED, INVALID, REVOKED, VALID


@pytest.mark.parametrize(("name", "args", "status", "failing"), RULES, ids=[r[0] for r in RULES])
def test_rule_on_the_page(
    http: httpx.Client, name: str, args: dict[str, Any], status: str, failing: list[str]
) -> None:
    response = http.get(f"/c/{to_digits(token(**args))}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    words = {VALID: "有效", INVALID: "无效", REVOKED: "已撤销", EXPIRED: "已过期"}[status]
    assert f'<span class="zh">{words}</span> <span class="en">{status.upper()}</span>' in response.text
    for code in failing:  # says why, in plain words from the routine's explanations
        zh, en = CHECKS[code]
        assert zh in response.text and en.replace("'", "&#39;") in response.text


def test_valid_page_shows_what_the_employer_compares(http: httpx.Client) -> None:
    page = http.get(f"/c/{to_digits(token())}").text
    for text in (
        "王小明",
        '<dd class="big mono" id="id-tail">123X</dd>',
        "老年照护",
        "Elderly Care",
        "中级",
        "测试养老培训评价组织",
        f"<dd>{RECENT}</dd>",
        "2023000000000001",
        "test-care-college",
        'href="http://127.0.0.1:8000/certificates/old-care/"',
        'href="http://127.0.0.1:8000/organizations/care-org/"',
    ):
        assert text in page, text
    assert "<script" not in page.lower()


def test_markup_in_signed_text_is_escaped(http: httpx.Client) -> None:
    """A signed name is the signer's text: shown as text, never as markup."""
    name = '<img src=x onerror="alert(1)">&amp;'
    page = http.get(f"/c/{to_digits(token(holder_name=name))}").text
    assert "<img" not in page and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&amp;amp;" in page
    assert (
        http.get("/api/v1/verify", params={"token": to_digits(token(holder_name=name))}).json()["claims"][
            "holder_name"
        ]
        == name
    )


def test_markup_in_a_malformed_tokens_detail_is_escaped(http: httpx.Client) -> None:
    from xcert.token import CLAIM_1X

    payload = cbor2.dumps(
        {6: at(RECENT), CLAIM_1X: [1, "old-care", 2, "S1", "<b>bad</b> ", "123X"]}, canonical=True
    )
    digits = raw_digits(cose({1: -8, 4: KID}, payload))
    page = http.get(f"/c/{digits}")
    assert page.status_code == 400 and "holder_name" in page.text
    assert "<b>" not in page.text and "&lt;b&gt;bad&lt;/b&gt;" in page.text


def test_inline_css_matches_its_csp_hash(http: httpx.Client) -> None:
    import base64
    import hashlib
    import re

    response = http.get(f"/c/{to_digits(token())}")
    css = re.search(r"<style>(.*?)</style>", response.text, re.S)
    assert css is not None
    digest = base64.b64encode(hashlib.sha256(css.group(1).encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in response.headers["content-security-policy"]


def test_valid_until_shows_the_last_valid_day(http: httpx.Client) -> None:
    """A certificate that expires at 2030-03-01 00:00 China time is valid until 2030-02-28."""
    raw = token(certificate="care-assist", expires_at=at("2030-03-01", hour=0))
    page = http.get(f"/c/{to_digits(raw)}").text
    assert "<dt>有效期至 Valid until</dt><dd>2030-02-28</dd>" in page


def test_a_revoked_certificate_shows_its_date_and_reason(http: httpx.Client) -> None:
    """The CLI showed them; the employer's page did not."""
    page = http.get(f"/c/{to_digits(token(serial='R2025000001'))}").text
    assert "已撤销" in page and '<dd id="revocation">' in page and "考核舞弊" in page
    assert f'<dd id="revocation">{RECENT} · 考核舞弊</dd>' in page
    assert 'id="revocation"' not in http.get(f"/c/{to_digits(token())}").text
