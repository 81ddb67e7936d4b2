"""Markdown for notices, with no way to smuggle in HTML or script links.

Notices come from pull requests, so their Markdown is untrusted: raw HTML is shown as
text (the HTML parsers are switched off) and a link or image survives only if it is
relative or http(s)/mailto; anything else (javascript:, data:, vbscript: ...) loses it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import markdown
from markdown.treeprocessors import Treeprocessor

_SAFE_HREF = re.compile(r"^(?:https?://|mailto:|[#/.]|[^:/?#]*(?:[/?#]|$))", re.IGNORECASE)
# An image is a request: only this site's own files (no scheme, no //host).
_SAFE_SRC = re.compile(r"^(?!//)(?:[#/.]|[^:/?#]*(?:[/?#]|$))")
# Browsers drop these before reading a scheme, so "java\tscript:" must not pass as relative.
_IGNORED = re.compile(r"[\x00-\x20\x7f]")


def safe_url(url: str, attr: str = "href") -> bool:
    pattern = _SAFE_SRC if attr == "src" else _SAFE_HREF
    return bool(pattern.match(_IGNORED.sub("", url).replace("\\", "/")))


class _LinkFilter(Treeprocessor):
    def run(self, root: ET.Element) -> None:
        for el in root.iter():
            for attr in ("href", "src"):
                value = el.get(attr)
                if value is not None and not safe_url(value, attr):
                    del el.attrib[attr]
            if el.tag == "a" and el.get("href", "").startswith(("http://", "https://")):
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
