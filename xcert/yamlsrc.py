"""Safe, bounded YAML loading that remembers where every value came from.

Registry files are edited by hand in pull requests, so every complaint must point at a
line. We read libyaml's event stream and build plain Python values ourselves, keeping
each value's position in `YMap` / `YList`. Going from events straight to values (instead
of PyYAML's node graph) is several times faster, which the national-scale registry (tens
of megabytes) needs, and lets us refuse at the exact spot what a data file has no
business using: anchors and aliases (the "billion laughs" bomb), duplicate keys, tags,
several documents, deep nesting, huge files.

Positions are packed into one int (`line << 20 | column`) and turned into a `Loc` only
when a problem is reported: a registry has millions of values and few problems.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import ScalarNode

from .problems import Loc

MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 24

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_resolver = yaml.resolver.Resolver()
_constructor = SafeConstructor()
_STR = "tag:yaml.org,2002:str"
_CONSTRUCT = {
    "tag:yaml.org,2002:null": lambda _node: None,
    "tag:yaml.org,2002:bool": _constructor.construct_yaml_bool,
    "tag:yaml.org,2002:int": _constructor.construct_yaml_int,
    "tag:yaml.org,2002:float": _constructor.construct_yaml_float,
    "tag:yaml.org,2002:timestamp": _constructor.construct_yaml_timestamp,
}
# A plain scalar can be anything but a string only if it starts with one of these.
_MAYBE_TYPED = frozenset("0123456789-+.~nNtTfFyYoO<=")
_COL_BITS = 20
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def pack(line: int, col: int) -> int:
    return line << _COL_BITS | min(col, (1 << _COL_BITS) - 1)


def loc_at(path: str, pos: int) -> Loc:
    return Loc(path, pos >> _COL_BITS, pos & ((1 << _COL_BITS) - 1))


class SourceInt(int):
    """An integer whose YAML spelling differs from its decimal form (`0012` is octal 10):
    a message that says "quote it" must quote what the author wrote."""

    source: str


class SourceFloat(float):
    """A float whose YAML spelling differs from Python's (`1.50`, `1e3`)."""

    source: str


class InvalidDate(str):
    """A plain scalar written as a date (YYYY-MM-DD) that is no calendar day: 2024-09-31.
    Kept as its text rather than failing the whole file, so the schema can name the field
    and say which part is out of range (xcert.schema.Date)."""


def source_text(value: Any) -> str:
    """The text as written in the file, for a typed scalar that the registry wants as a string."""
    return getattr(value, "source", None) or str(value)


class YamlError(Exception):
    """A file that cannot be read as registry YAML at all."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(f"{loc}: {message}")
        self.loc = loc
        self.message = message


class YMap(dict[Any, Any]):
    """A mapping that knows where it, each key and each value stand in the file."""

    __slots__ = ("path", "pos", "key_pos", "value_pos")

    def __init__(self, path: str, pos: int) -> None:
        super().__init__()
        self.path = path
        self.pos = pos
        self.key_pos: dict[Any, int] = {}
        self.value_pos: dict[Any, int] = {}

    @property
    def loc(self) -> Loc:
        return loc_at(self.path, self.pos)

    def key_loc(self, key: Any) -> Loc:
        return loc_at(self.path, self.key_pos.get(key, self.pos))

    def value_loc(self, key: Any) -> Loc:
        return loc_at(self.path, self.value_pos.get(key, self.pos))


class YList(list[Any]):
    """A sequence that knows where it and each item stand in the file."""

    __slots__ = ("path", "pos", "item_pos")

    def __init__(self, path: str, pos: int) -> None:
        super().__init__()
        self.path = path
        self.pos = pos
        self.item_pos: list[int] = []

    @property
    def loc(self) -> Loc:
        return loc_at(self.path, self.pos)

    def item_loc(self, index: int) -> Loc:
        return loc_at(self.path, self.item_pos[index] if index < len(self.item_pos) else self.pos)


def load_file(path: Path, display: str) -> Any:
    """Read and parse one registry file; `display` is the path shown in messages."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise YamlError(Loc(display), f"file is {size:,} bytes; registry files are limited to {MAX_BYTES:,}")
    return load_text(decode_utf8(path.read_bytes(), display), display)


def load_text(text: str, display: str, first_line: int = 1) -> Any:
    """Parse YAML text; `first_line` shifts line numbers (front matter inside Markdown)."""
    try:
        return _Builder(display, first_line).build(yaml.parse(text, Loader=_Loader))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        loc = Loc(display, mark.line + first_line, mark.column + 1) if mark else Loc(display, first_line)
        problem = e.problem or e.context or "syntax error"
        if e.context and e.problem and e.context_mark and e.context_mark is not mark:
            problem += f" ({e.context} started at line {e.context_mark.line + first_line})"
        raise YamlError(loc, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as e:
        raise YamlError(Loc(display, first_line), f"invalid YAML: {e}") from None


def decode_utf8(data: bytes, display: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise YamlError(Loc(display, line, col), "file is not valid UTF-8") from None
    return text.removeprefix("\ufeff")


_NO_KEY = object()


class _Builder:
    def __init__(self, display: str, first_line: int) -> None:
        self.path = display
        self.first_line = first_line

    def fail(self, event: Any, message: str) -> YamlError:
        mark = event.start_mark
        return YamlError(Loc(self.path, mark.line + self.first_line, mark.column + 1), message)

    def build(self, events: Any) -> Any:
        path, first_line = self.path, self.first_line
        stack: list[Any] = []  # open containers
        keys: list[Any] = []  # per open mapping: the key waiting for its value
        key_pos: list[int] = []
        root: Any = None
        documents = 0
        for event in events:
            kind = type(event)
            if kind is ScalarEvent or kind is MappingStartEvent or kind is SequenceStartEvent:
                if event.anchor is not None:
                    raise self.fail(event, "YAML anchors (&name) are not allowed in the registry")
                mark = event.start_mark
                pos = (mark.line + first_line) << _COL_BITS | (mark.column + 1)
                if kind is ScalarEvent:
                    value: Any = event.value
                    # Most scalars are plain text: skip type resolution for them.
                    if event.tag is not None or (
                        event.implicit[0] and (not value or value[0] in _MAYBE_TYPED)
                    ):
                        value = self.scalar(event)
                elif event.tag is not None:
                    raise self.fail(event, f"YAML tag {event.tag} is not allowed")
                elif kind is MappingStartEvent:
                    value = YMap(path, pos)
                else:
                    value = YList(path, pos)
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                stack.pop()
                keys.pop()
                key_pos.pop()
                continue
            elif kind is AliasEvent:
                raise self.fail(event, "YAML aliases (*name) are not allowed in the registry")
            elif kind is DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise self.fail(event, "a registry file holds one YAML document")
                continue
            else:
                continue

            if not stack:
                root = value
            else:
                top = stack[-1]
                if type(top) is YList:
                    top.append(value)
                    top.item_pos.append(pos)
                elif keys[-1] is _NO_KEY:
                    if kind is not ScalarEvent:
                        raise self.fail(event, "mapping keys must be plain scalars")
                    if value in top:
                        first = top.key_loc(value).line
                        raise self.fail(event, f"duplicate key '{value}' (first defined at line {first})")
                    keys[-1] = value
                    key_pos[-1] = pos
                else:
                    key = keys[-1]
                    top[key] = value
                    top.key_pos[key] = key_pos[-1]
                    top.value_pos[key] = pos
                    keys[-1] = _NO_KEY
            if kind is not ScalarEvent:
                if len(stack) >= MAX_DEPTH:
                    raise self.fail(event, f"nesting deeper than {MAX_DEPTH} levels")
                stack.append(value)
                keys.append(_NO_KEY)
                key_pos.append(0)
        return root

    def scalar(self, event: ScalarEvent) -> Any:
        value = event.value
        if event.tag is not None:
            if event.tag in ("!", _STR):
                return value
            raise self.fail(event, f"YAML tag {event.tag} is not allowed")
        if not event.implicit[0]:  # quoted or block scalar: always a string
            return value
        if not value:
            return None
        if value[0] not in _MAYBE_TYPED:
            return value
        # Fast paths for what registries are full of: small decimals and ISO dates.
        if value.isascii() and value.isdigit() and (value[0] != "0" or value == "0"):
            return int(value)
        if len(value) == 10 and _ISO_DAY.fullmatch(value):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                return InvalidDate(value)
        tag = _resolver.resolve(ScalarNode, value, (True, False))
        if tag == _STR:
            return value
        if tag == "tag:yaml.org,2002:merge":
            raise self.fail(event, "YAML merge keys (<<) are not allowed in the registry")
        construct = _CONSTRUCT.get(tag)
        if construct is None:
            raise self.fail(event, f"YAML value {value!r} ({tag}) is not allowed")
        try:
            result = construct(ScalarNode(tag, value))
        except (ValueError, OverflowError, yaml.YAMLError) as e:
            raise self.fail(event, f"cannot read value {value!r}: {e}") from None
        # keep the spelling (0012, 1.50) of a plain int or float (not a bool)
        if (type(result) is int or type(result) is float) and str(result) != value:
            result = SourceInt(result) if type(result) is int else SourceFloat(result)
            result.source = value
        return result
