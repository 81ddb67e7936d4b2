"""The notice Markdown sanitizer (xcert/site/safemd.py): each bypass from the outside review
(issue 13, item 5) and its neighbours, checked on the HTML a browser would decode."""

from __future__ import annotations

import html.parser

import pytest

from xcert.site import safemd


class _Attrs(html.parser.HTMLParser):
    """href and src values as the browser sees them (character references decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [(name, value) for name, value in attrs if name in ("href", "src") and value is not None]


def urls(markdown: str) -> list[tuple[str, str]]:
    parser = _Attrs()
    parser.feed(safemd.render(markdown))
    return parser.urls


REFUSED = [
    "[x](&#106;avascript:alert(1))",  # the review's repro: ran in Chromium without the CSP
    "[x](&#x6A;avascript:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](&#0000106;avascript:alert(1))",
    "[x](&amp;#106;avascript:alert(1))",  # decoded twice
    "[x](%6Aavascript:alert(1))",
    "[x](java%09script:alert(1))",
    "[x](java&#9;script:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](data:text/html,<script>alert(1)</script>)",
    "[x](vbscript:msgbox(1))",
    "[x](http://plain.example/)",  # only https
    "[x](//evil.example/)",
    "![p](&#47;/evil.example/t.png)",  # the review's repro: a third-party request
    "![p](%2F/evil.example/t.png)",
    "![p](https://evil.example/t.png)",
    "![p](/\\\\evil.example/t.png)",  # browsers read /\\ as //
]


@pytest.mark.parametrize("markdown", REFUSED)
def test_bypasses_lose_their_url(markdown: str) -> None:
    assert urls(markdown) == []


ALLOWED = [
    ("[x](https://example.org/a?b=1&c=2)", ("href", "https://example.org/a?b=1&c=2")),
    ("[x](mailto:office@example.org)", ("href", "mailto:office@example.org")),
    ("[x](/notices/)", ("href", "/notices/")),
    ("[x](../organizations/care-org/)", ("href", "../organizations/care-org/")),
    ("[x](#part-2)", ("href", "#part-2")),
    ("[x](page.html)", ("href", "page.html")),
    ("![p](/assets/a.png)", ("src", "/assets/a.png")),
]


@pytest.mark.parametrize(("markdown", "kept"), ALLOWED)
def test_https_mailto_and_relative_urls_stay(markdown: str, kept: tuple[str, str]) -> None:
    assert urls(markdown) == [kept]


def test_a_dropped_image_shows_its_alt_text() -> None:
    assert safemd.render("![p](&#47;/evil.example/t.png)") == "<p><span>[p]</span></p>"
