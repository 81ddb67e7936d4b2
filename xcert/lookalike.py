"""Names that people compare by eye: no invisible characters, no lookalike letters.

An employer reads the holder's name on the verify page and the organization's name in the
registry, and compares them with the paper. Issue 13 (item 9) showed names that look right
and are not: Hangul fillers (U+3164, U+115F) and the braille blank (U+2800) that render as
nothing, a combining overlay (U+0336) that strikes through, a Cyrillic "а" inside a Latin
word or a full-width "Ａ" beside ASCII letters.

* `invisible_problem` (every registry text and every holder name): Unicode's
  Default_Ignorable_Code_Point characters, which include the Hangul fillers and zero-width
  characters, plus U+2800, which renders blank but is not in that list.
* `name_problem` (names): that, plus combining marks of the Inherited script that survive
  NFC (U+0336 and other overlays; Tibetan or Arabic vowel signs belong to their script and
  stay), full-width Latin letters and digits (write the ASCII ones: the official lists'
  full-width ＢＩＭ is BIM), and mixed scripts within one word following Unicode TR 39's
  "highly restrictive" level: a word is one script, or Latin with Han and Japanese kana,
  Han with Bopomofo, or Han with Hangul (北京TCL科技 passes; "Аlibaba" with a Cyrillic А does not).

Scripts come from the `regex` module's Script_Extensions (`\\p{scx=...}`). A fast path takes
the usual names (all Han, or all Latin, with common punctuation) in one match, so checking a
national-scale registry costs milliseconds.
"""

from __future__ import annotations

import functools
import unicodedata

import regex

_INVISIBLE = regex.compile(r"[\p{Default_Ignorable_Code_Point}\u2800]")
_OVERLAY = regex.compile(r"\p{Mn}|\p{Me}")
_FULLWIDTH = regex.compile(r"[\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A]")
_WORDS = regex.compile(r"[^\s\p{P}\p{S}]+")
_PLAIN = regex.compile(r"[\p{scx=Han}\p{scx=Zyyy}\p{scx=Zinh}]*|[\p{scx=Latn}\p{scx=Zyyy}\p{scx=Zinh}]*")
# Scripts looked up by name; any other is "Other" (two rare scripts in one word are not told apart).
_SCRIPTS = [
    "Latin",
    "Han",
    "Hiragana",
    "Katakana",
    "Bopomofo",
    "Hangul",
    "Cyrillic",
    "Greek",
    "Armenian",
    "Georgian",
    "Hebrew",
    "Arabic",
    "Syriac",
    "Thaana",
    "Devanagari",
    "Thai",
    "Lao",
    "Tibetan",
    "Mongolian",
    "Yi",
    "Cherokee",
    "Tifinagh",
    "Ethiopic",
    "Khmer",
    "Myanmar",
]
_PATTERNS = {name: regex.compile(rf"\p{{scx={name}}}") for name in _SCRIPTS}
_COMMON = regex.compile(r"[\p{scx=Zyyy}\p{scx=Zinh}]")
# TR 39 augmentation: Han stands for the CJK writing systems; kana for Japanese; Hangul for Korean.
_AUGMENT = {
    "Han": {"Han", "Hanb", "Jpan", "Kore"},
    "Hiragana": {"Hiragana", "Jpan"},
    "Katakana": {"Katakana", "Jpan"},
    "Bopomofo": {"Bopomofo", "Hanb"},
    "Hangul": {"Hangul", "Kore"},
}


def _show(ch: str) -> str:
    return f"U+{ord(ch):04X} ({unicodedata.name(ch, 'unnamed')})"


def invisible_problem(text: str) -> str | None:
    if m := _INVISIBLE.search(text):
        return f"contains the invisible character {_show(m.group())}"
    return None


@functools.lru_cache(maxsize=4096)
def _scripts(ch: str) -> frozenset[str] | None:
    """The character's augmented Script_Extensions; None for Common and Inherited (any script)."""
    if _COMMON.match(ch):
        return None
    found: set[str] = set()
    for name, pattern in _PATTERNS.items():
        if pattern.match(ch):
            found |= _AUGMENT.get(name, {name})
    return frozenset(found or {"Other"})


def _mixed(word: str) -> str | None:
    """TR 39 highly restrictive: None, or the scripts that do not go together in `word`."""
    if _PLAIN.fullmatch(word):
        return None
    sets = [s for ch in word if (s := _scripts(ch)) is not None]
    if not sets or frozenset.intersection(*sets):
        return None  # one script
    non_latin = [s for s in sets if "Latin" not in s]
    if non_latin:
        shared = frozenset.intersection(*non_latin)
        if shared & {"Jpan", "Hanb", "Kore"}:
            return None  # Latin with Han + kana, Han + Bopomofo, Han + Hangul
    names = sorted({name for s in sets for name in s if name in _PATTERNS or name == "Other"})
    return " and ".join(names)


def name_problem(text: str) -> str | None:
    """Why a name could be mistaken for another one, or None."""
    if problem := invisible_problem(text):
        return problem
    for ch in text:
        if _OVERLAY.match(ch) and regex.match(r"\p{scx=Zinh}", ch):
            return f"contains the combining mark {_show(ch)}, which can hide or strike out letters"
    if m := _FULLWIDTH.search(text):
        ascii_form = unicodedata.normalize("NFKC", m.group())
        return f"contains the full-width {_show(m.group())}: write '{ascii_form}'"
    for word in _WORDS.findall(text):
        if scripts := _mixed(word):
            return f"mixes scripts within the word '{word}' ({scripts}): a lookalike letter?"
    return None
