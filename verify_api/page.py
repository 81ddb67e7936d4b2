"""The result page the QR code opens: one Jinja2 template, autoescaped, no JavaScript.

The page's CSS is inlined and allowed by its SHA-256 hash in the Content-Security-Policy,
so a phone needs exactly one request and nothing else is allowed to load.

The template is not run per request. Its output depends on the context's values in two
ways only: a value is printed (escaped unless it is Markup), or its truth picks a branch.
So the template is rendered once per *shape* (which values are present, and the falsy
ones themselves) with a placeholder in place of every present value, and cut at the
placeholders; a request escapes its values and joins them with the cut pieces, which gives
the bytes Jinja2 would give (tests compare the two) for a fraction of the cost.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from xcert.model import CST, LEVEL_NAMES, last_valid_day
from xcert.verify import CHECKS, EXPIRED, INVALID, MALFORMED, REVOKED, TEST, VALID, Check, Result

TEMPLATES = Path(__file__).parent / "templates"

# status -> (css class, 中文, English, what to do, in both languages)
VERDICTS: dict[str, tuple[str, str, str, str, str]] = {
    VALID: (
        "valid",
        "有效",
        "VALID",
        "证书真实有效。请核对姓名和身份证号后四位与持证人的身份证一致。",
        "Genuine and valid. Check the name and the last 4 ID characters against the holder's ID card.",
    ),
    INVALID: (
        "invalid",
        "无效",
        "INVALID",
        "不要接受此证书。",
        "Do not accept this certificate.",
    ),
    REVOKED: (
        "revoked",
        "已撤销",
        "REVOKED",
        "该证书已被签发机构撤销，不再有效。",
        "The issuing organization revoked this certificate; it is no longer valid.",
    ),
    EXPIRED: (
        "expired",
        "已过期",
        "EXPIRED",
        "该证书曾经有效，但已超过有效期。",
        "This certificate was valid but has passed its expiry date.",
    ),
    MALFORMED: (
        "malformed",
        "无法识别",
        "MALFORMED",
        "二维码内容不是证书凭证，或在复制时被截断。请重新扫描证书上的二维码。",
        "The QR content is not a certificate token, or it was cut off. Scan the certificate's QR again.",
    ),
}
TEST_VERDICT = (
    "test",
    "测试",
    "TEST",
    "这是沙盒测试证书，用于演示，不是真实的证书。",
    "A sandbox TEST certificate for demonstrations: not a real certificate.",
)


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    status_code: int


def _css_hash(css: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'"


def _day(instant: dt.datetime | None) -> str | None:
    """The last valid day (China time) of a certificate expiring at `instant`."""
    return last_valid_day(instant).isoformat() if instant else None


class Pages:
    """The compiled template, the inline CSS and every fragment that depends only on a status
    or a check code, made once per app: a request escapes just the signed values and details."""

    def __init__(self) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            auto_reload=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.template = self.env.get_template("result.html")
        parts = self.env.get_template("parts.html").module
        css = (TEMPLATES / "verify.css").read_text(encoding="utf-8")
        self.css = Markup(css)  # our own static file, not user input
        self.style_src = _css_hash(css)
        self.verdicts: dict[tuple[str, bool], tuple[str, Markup]] = {}
        for status, verdict in VERDICTS.items():
            for test in (False, True):
                chosen = TEST_VERDICT if test and status in (VALID, TEST) else verdict
                self.verdicts[status, test] = (
                    f"{chosen[1]} {chosen[2]}",
                    Markup(parts.verdict(*chosen, test)),
                )
        self.verdicts[TEST, True] = self.verdicts[TEST, False] = self.verdicts[VALID, True]
        # Plain str fragments, joined with str.join and wrapped in Markup once: joining Markup
        # objects would re-check every piece.
        self.reasons = {code: str(parts.reason(code, zh, en)) for code, (zh, en) in CHECKS.items()}
        self.check_heads = {(code, ok): str(parts.check(code, ok)) for code in CHECKS for ok in (False, True)}
        self.shapes: dict[tuple[Any, ...], tuple[list[str], list[tuple[int, int]]]] = {}
        self.check_items: dict[int, tuple[Check, str]] = {}

    def render(self, result: Result, site_url: str, trust: dict[str, Any]) -> Rendered:
        body = self._fill(self.context(result, site_url, trust)).encode()
        return Rendered(body, 400 if result.status == MALFORMED else 200)

    def context(self, result: Result, site_url: str, trust: dict[str, Any]) -> dict[str, Any]:
        """The template's context for a result: its values, in the template's terms."""
        title, verdict = self.verdicts[result.status, result.test]
        context: dict[str, Any] = {
            "css": self.css,
            "title": title,
            "verdict": verdict,
            "reasons": Markup("".join([self.reasons[c.code] for c in result.checks if not c.ok])),
            "checks": Markup("".join([self._check_item(c) for c in result.checks])),
            "cert": None,
            "trust": trust,
            "verified_at": result.verified_at.astimezone(CST).isoformat(" ", "seconds")[:19],
        }
        claims = result.claims
        if claims is not None and result.issuer is not None:
            site = site_url.rstrip("/") if site_url.startswith(("https://", "http://")) else None
            level_zh, level_en = LEVEL_NAMES[claims.level]
            cert_name = result.certificate.name if result.certificate else {}
            context["cert"] = {
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
                "expires": _day(result.expires_at),
                "serial": claims.serial,
                "college": claims.college,
            }
        return context

    def _check_item(self, check: Check) -> str:
        """A check's list item. Most checks are the verification index's own objects, the same
        ones request after request: their items are kept (by identity, at most 4,096)."""
        kept = self.check_items.get(id(check))
        if kept is not None and kept[0] is check:
            return kept[1]
        item = self.check_heads[check.code, check.ok] + html.escape(check.detail) + "</li>\n"
        if len(self.check_items) >= 4096:
            self.check_items.clear()
        self.check_items[id(check)] = (check, item)
        return item

    def render_template(self, context: dict[str, Any]) -> str:
        """The template run the ordinary way (what `_fill` must reproduce)."""
        return self.template.render(context)

    def _fill(self, context: dict[str, Any]) -> str:
        values: list[Any] = []
        shape = _shape(context, values)
        cut = self.shapes.get(shape)
        if cut is None:
            if len(self.shapes) >= _MAX_SHAPES:
                self.shapes.clear()
            cut = self.shapes[shape] = self._cut(context)
        pieces, slots = cut
        out = pieces.copy()
        for position, index in slots:
            value = values[index]
            if type(value) is str:  # what markupsafe.escape does, without a Markup per value
                if _SPECIAL.search(value) is None:
                    out[position] = value
                    continue
                value = (
                    value.replace("&", "&amp;")
                    .replace(">", "&gt;")
                    .replace("<", "&lt;")
                    .replace("'", "&#39;")
                    .replace('"', "&#34;")
                )
            elif not isinstance(value, Markup):
                value = escape(value)
            out[position] = value
        return "".join(out)

    def _cut(self, context: dict[str, Any]) -> tuple[list[str], list[tuple[int, int]]]:
        """The template's output for this shape cut at the placeholders: the text pieces, and
        for each placeholder its position among them and the index of its value."""
        counter = iter(range(1 << 30))
        rendered = self.template.render(_placeholders(context, counter))
        pieces: list[str] = []
        slots: list[tuple[int, int]] = []
        for i, part in enumerate(_PLACEHOLDER.split(rendered)):
            if i % 2:
                slots.append((len(pieces), int(part)))
                pieces.append("")
            elif part:
                pieces.append(part)
        return pieces, slots


_MAX_SHAPES = 1024  # a few dozen occur; the cap only keeps memory bounded whatever happens
_SPECIAL = re.compile("[&<>'\"]")
_PLACEHOLDER = re.compile("\x00([0-9]+)\x00")


def _shape(context: dict[str, Any], values: list[Any]) -> tuple[Any, ...]:
    """The context's shape (see the module docstring); appends its present values, in order."""
    shape: list[Any] = []
    for name, value in context.items():
        if type(value) is dict:
            shape.append(name)
            shape.append(_shape(value, values))
        elif value:
            values.append(value)
            shape.append(True)
        else:
            shape.append((type(value), value))
    return tuple(shape)


def _placeholders(context: dict[str, Any], counter: Any) -> dict[str, Any]:
    """The context with each present value replaced by its numbered placeholder (same order as _shape)."""
    out: dict[str, Any] = {}
    for name, value in context.items():
        if type(value) is dict:
            out[name] = _placeholders(value, counter)
        elif value:
            out[name] = f"\x00{next(counter)}\x00"
        else:
            out[name] = value
    return out
