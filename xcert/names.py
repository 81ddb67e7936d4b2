"""Names as the official lists write them: comparing, classifying and turning into ids.

The ministry's and the provinces' attachments spell one name several ways: full-width or
half-width letters and digits, （） or () or 【】, stray spaces. `normalise` folds exactly
those differences and nothing else. In particular the legal form stays part of the name:
北京某某有限公司 and 北京某某有限责任公司 are two different registered names (a company
registry would hold both), so they never match; `legal_form` lets the importer notice such
a near miss and ask a person instead of guessing.
"""

from __future__ import annotations

import re
import unicodedata

from pypinyin import lazy_pinyin
from pypinyin.seg.mmseg import seg

from . import codes

# Bracket shapes that NFKC leaves alone; the full-width （）［］｛｝ become () [] {} by NFKC.
_BRACKETS = str.maketrans(
    {
        "【": "(",
        "】": ")",
        "〔": "(",
        "〕": ")",
        "〖": "(",
        "〗": ")",
        "[": "(",
        "]": ")",
        "{": "(",
        "}": ")",
        "〈": "(",
        "〉": ")",
        "「": "(",
        "」": ")",
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
        "・": "·",
        "•": "·",
        "—": "-",
        "–": "-",
        "‐": "-",
    }
)
_SPACE = re.compile(r"\s+")


def normalise(name: str) -> str:
    """The comparison key of a name: NFKC (full-width forms to half-width, the ideographic
    space to a space), every bracket shape to (), no whitespace, ASCII letters lower-case.
    Idempotent; 有限公司 and 有限责任公司 stay different."""
    text = name
    for _ in range(4):  # lower() or a removed space can make a new NFKC composition
        folded = _SPACE.sub("", unicodedata.normalize("NFKC", text).lower().translate(_BRACKETS))
        if folded == text:
            break
        text = folded
    return text


_FULLWIDTH_ALNUM = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F) if chr(c - 0xFEE0).isalnum()}


def tidy(name: str) -> str:
    """A name as the registry stores it: NFC, full-width letters and digits as ASCII
    (ＷＭＳ → WMS), runs of spaces as one, no spaces at the ends. Chinese punctuation,
    brackets included, stays as the document wrote it."""
    text = unicodedata.normalize("NFC", name).translate(_FULLWIDTH_ALNUM).replace("\u3000", " ")
    return re.sub(r"\s+", " ", text).strip()


# Longest first: 股份有限公司 ends in 有限公司 too.
LEGAL_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "股份公司", "集团公司", "公司")


def legal_form(name: str) -> tuple[str, str]:
    """(stem, legal form) of a normalised or raw name; the form is '' when none is found."""
    key = normalise(name)
    for form in LEGAL_FORMS:
        if key.endswith(form) and len(key) > len(form):
            return key[: -len(form)], form
    return key, ""


def organization_kind(name: str) -> str | None:
    """The organization kind that the name itself proves, else None (ask the mapping file).

    Only the legal form is read: a company is a 企业. A 中心 or 研究院 may be a public
    institution or a private non-enterprise unit, which the name does not tell."""
    _, form = legal_form(name)
    if form:
        return "企业"
    if re.search(r"(协会|学会|联合会)$", normalise(name)):
        return "行业协会"
    return None


def _short(full: str) -> str:
    for suffix in ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市"):
        if full.endswith(suffix):
            return full[: -len(suffix)]
    return full


PROVINCE_BY_NAME: dict[str, str] = {}
for _code, (_zh, _en) in codes.PROVINCES.items():
    PROVINCE_BY_NAME[_zh] = _code
    PROVINCE_BY_NAME[_short(_zh)] = _code
    PROVINCE_BY_NAME[_en.lower()] = _code


def province_code(text: str) -> str | None:
    """A province cell ('湖南省', '湖南', '43', 'Hunan') as its GB/T 2260 code, else None."""
    key = normalise(text)
    if key in codes.PROVINCES:
        return key
    return PROVINCE_BY_NAME.get(key) or PROVINCE_BY_NAME.get(key.removesuffix("省"))


def province_in_name(name: str) -> str | None:
    """The province an enterprise name registers it in, else None.

    Enterprise names put the registering region first (北京某某有限公司) or in brackets
    (某某（北京）有限公司). Only province-level names are read; a city (济南, 廊坊) needs
    the mapping file, since a table of every city would be a second source of truth."""
    key = normalise(name)
    shorts = sorted((k for k in PROVINCE_BY_NAME if not k.isascii()), key=len, reverse=True)
    for short in shorts:
        if key.startswith(short) or f"({short})" in key:
            return PROVINCE_BY_NAME[short]
    return None


MAX_SLUG = 64


_RUNS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[A-Za-z0-9]+")


def _pinyin_words(run: str) -> list[str]:
    """Pinyin words of a run of Chinese: dictionary words of three or more characters
    (哈尔滨, 石家庄) whole, the rest two syllables a word."""
    words: list[str] = []
    stretch = ""
    for piece in [*seg.cut(run), ""]:
        if piece and len(piece) < 3:
            stretch += piece
            continue
        syllables = [s.replace("ü", "v") for s in lazy_pinyin(stretch)]
        words += ["".join(syllables[i : i + 2]) for i in range(0, len(syllables), 2)]
        if piece:
            words.append("".join(lazy_pinyin(piece)).replace("ü", "v"))
        stretch = ""
    return words


def slugify(text: str, max_len: int = MAX_SLUG) -> str:
    """A readable id of a-z, 0-9 and -: ASCII words as they are, Chinese as toneless pinyin
    joined two syllables a word (most words in these names have two characters:
    长沙|民政|职业|技术|学院 → changsha-minzheng-zhiye-jishu-xueyuan), cut at a word
    boundary to `max_len`. pypinyin reads each run as a whole, so 长者 is zhangzhe."""
    text = unicodedata.normalize("NFKC", text)
    words: list[str] = []
    for run in _RUNS.findall(text):
        if run.isascii():
            words.append(run.lower())
            continue
        words += _pinyin_words(run)
    slug = "-".join(w for w in (re.sub(r"[^a-z0-9]", "", w) for w in words) if w)
    if len(slug) > max_len:
        cut = slug[: max_len + 1]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else slug[:max_len]
    return slug


def organization_slug(name: str) -> str:
    """An organization id from its name, without the legal form (…有限公司 adds nothing)."""
    text = unicodedata.normalize("NFKC", name).strip()
    stem = next((text[: -len(f)] for f in LEGAL_FORMS if text.endswith(f) and len(text) > len(f)), text)
    return slugify(stem) or slugify(name)


def unique_slug(base: str, taken: set[str]) -> str:
    """`base`, or `base-2`, `base-3` … : the first one not in `taken` (which it joins)."""
    base = base or "x"
    slug, n = base, 1
    while slug in taken:
        n += 1
        suffix = f"-{n}"
        slug = base[: MAX_SLUG - len(suffix)].rstrip("-") + suffix
    taken.add(slug)
    return slug
