"""Markdown for notices, with no way to smuggle in HTML or script links.

Notices come from pull requests, so their Markdown is untrusted: raw HTML is shown as
text (the HTML parsers are switched off) and a link survives only if it is relative,
https: or mailto:, an image only if it is this site's own file; anything else
(javascript:, data:, vbscript:, http: ...) loses it.

The check reads the URL the way a browser will: Python-Markdown writes character
references such as `&#106;` or `&colon;` into the attribute unchanged, and the browser
decodes them, so `&#106;avascript:` is `javascript:`. Each URL is therefore HTML-unescaped
and percent-decoded, repeatedly, and every form along the way must pass (issue 13).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from urllib.parse import unquote

import markdown
from markdown.treeprocessors import Treeprocessor

# A link: https, mailto or relative to this site (not "//host", which takes the page's scheme).
_SAFE_HREF = re.compile(r"^(?:https://|mailto:|(?!//)(?:[#/.]|[^:/?#]*(?:[/?#]|$)))", re.IGNORECASE)
# An image is a request: only this site's own files (no scheme, no //host).
_SAFE_SRC = re.compile(r"^(?!//)(?:[#/.]|[^:/?#]*(?:[/?#]|$))")
# Browsers drop these before reading a scheme, so "java\tscript:" must not pass as relative.
_IGNORED = re.compile(r"[\x00-\x20\x7f]")


def _forms(url: str, limit: int = 8) -> list[str]:
    """The URL and each decoding of it (HTML references, then percent-escapes) until stable."""
    forms = [url]
    for _ in range(limit):
        decoded = unquote(html.unescape(forms[-1]))
        if decoded == forms[-1]:
            return forms
        forms.append(decoded)
    return [*forms, "x:"]  # still changing: refuse


def safe_url(url: str, attr: str = "href") -> bool:
    pattern = _SAFE_SRC if attr == "src" else _SAFE_HREF
    return all(pattern.match(_IGNORED.sub("", form).replace("\\", "/")) for form in _forms(url))


class _LinkFilter(Treeprocessor):
    def run(self, root: ET.Element) -> None:
        for el in root.iter():
            for attr in ("href", "src"):
                value = el.get(attr)
                if value is not None and not safe_url(value, attr):
                    del el.attrib[attr]
            if el.tag == "a" and el.get("href", "").startswith("https://"):
                el.set("rel", "nofollow noopener")
            if el.tag == "img" and el.get("src") is None:  # a dropped image shows its alt text
                alt = el.get("alt", "")
                el.tag, el.text = "span", f"[{alt}]" if alt else ""
                el.attrib.clear()


def render(text: str) -> str:
    md = markdown.Markdown(extensions=["tables", "sane_lists"], output_format="html")
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    md.treeprocessors.register(_LinkFilter(md), "xcert_links", 0)
    return md.convert(text)
