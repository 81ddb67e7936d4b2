"""The result page the QR code opens: one Jinja2 template, autoescaped, no JavaScript.

The page's CSS is inlined and allowed by its SHA-256 hash in the Content-Security-Policy,
so a phone needs exactly one request and nothing else is allowed to load.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from pathlib import Path
from typing import Any, NamedTuple

import jinja2
from markupsafe import Markup

from xcert.model import CST, LEVEL_NAMES, last_valid_day
from xcert.verify import (
    CHECKS,
    EXPIRED,
    INVALID,
    MALFORMED,
    REVOKED,
    TEST,
    VALID,
    WARNINGS,
    Result,
    recorded_text,
)

TEMPLATES = Path(__file__).parent / "templates"


class Verdict(NamedTuple):
    css_class: str
    zh: str
    en: str
    advice_zh: str
    advice_en: str


VERDICTS: dict[str, Verdict] = {
    VALID: Verdict(
        "valid",
        "有效",
        "VALID",
        "证书真实有效。请核对姓名和身份证号后四位与持证人的身份证一致。",
        "Genuine and valid. Check the name and the last 4 ID characters against the holder's ID card.",
    ),
    TEST: Verdict(
        "test",
        "测试",
        "TEST",
        "这是沙盒测试证书，用于演示，不是真实的证书。",
        "A sandbox TEST certificate for demonstrations: not a real certificate.",
    ),
    INVALID: Verdict("invalid", "无效", "INVALID", "不要接受此证书。", "Do not accept this certificate."),
    REVOKED: Verdict(
        "revoked",
        "已撤销",
        "REVOKED",
        "该证书已被签发机构撤销，不再有效。",
        "The issuing organization revoked this certificate; it is no longer valid.",
    ),
    EXPIRED: Verdict(
        "expired",
        "已过期",
        "EXPIRED",
        "该证书曾经有效，但已超过有效期。",
        "This certificate was valid but has passed its expiry date.",
    ),
    MALFORMED: Verdict(
        "malformed",
        "无法识别",
        "MALFORMED",
        "二维码内容不是证书凭证，或在复制时被截断。请重新扫描证书上的二维码。",
        "The QR content is not a certificate token, or it was cut off. Scan the certificate's QR again.",
    ),
}


class Rendered(NamedTuple):
    body: bytes
    status_code: int


def _css_hash(css: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'"


class Pages:
    """The compiled template and the inline CSS, made once per app."""

    def __init__(self) -> None:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            auto_reload=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.template = env.get_template("result.html")
        css = (TEMPLATES / "verify.css").read_text(encoding="utf-8")
        self.css = Markup(css)  # our own static file, not user input
        self.style_src = _css_hash(css)

    def render(self, result: Result, site_url: str, trust: dict[str, Any]) -> Rendered:
        body = self.template.render(context(result, site_url, trust), css=self.css).encode()
        return Rendered(body, 400 if result.status == MALFORMED else 200)


def context(result: Result, site_url: str, trust: dict[str, Any]) -> dict[str, Any]:
    """The template's values for a result."""
    return {
        "verdict": VERDICTS[result.status],
        "test": result.test,
        "reasons": [(c.code, *CHECKS[c.code]) for c in result.failures],
        "warnings": [(w.code, *WARNINGS[w.code], w.detail) for w in result.warnings],
        "checks": result.checks,
        "cert": _certificate(result, site_url),
        "trust": trust,
        "verified_at": result.verified_at.astimezone(CST).isoformat(" ", "seconds")[:19],
    }


def _certificate(result: Result, site_url: str) -> dict[str, Any] | None:
    """What the employer compares with the paper certificate: only once the signature verified."""
    claims = result.claims
    if claims is None or result.issuer is None:
        return None
    site = site_url.rstrip("/") if site_url.startswith(("https://", "http://")) else None
    level_zh, level_en = LEVEL_NAMES[claims.level]
    cert_name = result.certificate.name if result.certificate else {}
    return {
        "holder_name": claims.holder_name,
        "id_tail": claims.id_tail,
        "certificate_code": claims.certificate,
        "certificate_zh": cert_name.get("zh"),
        "certificate_en": cert_name.get("en"),
        "certificate_url": f"{site}/certificates/{claims.certificate}/" if site else None,
        "level": claims.level,
        "level_zh": level_zh,
        "level_en": level_en,
        "org_zh": result.issuer.name.get("zh"),
        "org_en": result.issuer.name.get("en"),
        "org_url": f"{site}/organizations/{result.issuer.id}/" if site else None,
        "issued": dt.datetime.fromtimestamp(claims.issued_at, CST).date().isoformat(),
        # the last valid day (China time) of a certificate expiring at that instant
        "expires": last_valid_day(result.expires_at).isoformat() if result.expires_at else None,
        "serial": claims.serial,
        "college": claims.college,
        "key": _key_status(result),
        "record": recorded_text(result.record) if result.record else None,
        "revocation": _revocation(result),
    }


def _revocation(result: Result) -> dict[str, str] | None:
    """A revoked certificate's date and reason, as the CLI shows them: an employer needs both."""
    if result.status != REVOKED or result.claims is None or result.issuer is None:
        return None
    revoked = result.issuer.revocations.get(result.claims.serial)
    return {"date": revoked.date, "reason": revoked.reason} if revoked else None


_KEY_STATUS = {"active": "在用", "retired": "已停用", "compromised": "已泄露"}


def _key_status(result: Result) -> str | None:
    """The signing key's state, in the main card (a retired or stolen key matters to a reader)."""
    key = result.key
    if key is None:
        return None
    since = key.compromised_at or key.retired_at
    day = f" {since.astimezone(CST).date().isoformat()}" if since else ""
    return f"{_KEY_STATUS.get(key.status, key.status)} {key.status}{day} · kid {key.kid.hex()}"
