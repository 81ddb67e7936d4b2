"""Safe, bounded YAML loading that remembers where every value came from.

Registry files are edited by hand in pull requests, so every complaint must point at a
line. PyYAML's composer (libyaml's when available: the national-scale registry is tens of
megabytes) gives us nodes with marks; we turn them into plain Python values ourselves,
keeping the marks in `YMap` / `YList`, and refuse what a data file has no business
using: aliases (the "billion laughs" bomb), duplicate keys, custom tags, deep nesting,
huge files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .problems import Loc

MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 24

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_STR = "tag:yaml.org,2002:str"
_SCALAR_TAGS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp",
}


class YamlError(Exception):
    """A file that cannot be read as registry YAML at all."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(f"{loc}: {message}")
        self.loc = loc
        self.message = message


class YMap(dict[Any, Any]):
    """A mapping that knows where it, each key and each value stand in the file."""

    __slots__ = ("loc", "key_locs", "value_locs")

    def __init__(self, loc: Loc) -> None:
        super().__init__()
        self.loc = loc
        self.key_locs: dict[Any, Loc] = {}
        self.value_locs: dict[Any, Loc] = {}

    def key_loc(self, key: Any) -> Loc:
        return self.key_locs.get(key, self.loc)

    def value_loc(self, key: Any) -> Loc:
        return self.value_locs.get(key, self.loc)


class YList(list[Any]):
    """A sequence that knows where it and each item stand in the file."""

    __slots__ = ("loc", "item_locs")

    def __init__(self, loc: Loc) -> None:
        super().__init__()
        self.loc = loc
        self.item_locs: list[Loc] = []

    def item_loc(self, index: int) -> Loc:
        return self.item_locs[index] if index < len(self.item_locs) else self.loc


def load_file(path: Path, display: str) -> Any:
    """Read and parse one registry file; `display` is the path shown in messages."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise YamlError(Loc(display), f"file is {size:,} bytes; registry files are limited to {MAX_BYTES:,}")
    return load_text(_decode(path.read_bytes(), display), display)


def load_text(text: str, display: str, first_line: int = 1) -> Any:
    """Parse YAML text; `first_line` shifts line numbers (front matter inside Markdown)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        loc = _loc(display, mark, first_line) if mark else Loc(display, first_line)
        problem = e.problem or e.context or "syntax error"
        if e.context and e.problem and e.context_mark and e.context_mark is not mark:
            problem += f" ({e.context} started at line {e.context_mark.line + first_line})"
        raise YamlError(loc, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as e:
        raise YamlError(Loc(display, first_line), f"invalid YAML: {e}") from None
    except RecursionError:
        raise YamlError(Loc(display, first_line), "invalid YAML: nesting is too deep") from None
    if node is None:
        return None
    try:
        return _Converter(loader, display, first_line).value(node, 0)
    finally:
        loader.dispose()


def _decode(data: bytes, display: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise YamlError(Loc(display, line, col), "file is not valid UTF-8") from None
    return text.removeprefix("\ufeff")


def _loc(display: str, mark: Any, first_line: int) -> Loc:
    return Loc(display, mark.line + first_line, mark.column + 1)


class _Converter:
    def __init__(self, loader: Any, display: str, first_line: int) -> None:
        self.loader = loader
        self.display = display
        self.first_line = first_line
        self.seen: set[int] = set()

    def loc(self, node: yaml.Node) -> Loc:
        return _loc(self.display, node.start_mark, self.first_line)

    def fail(self, node: yaml.Node, message: str) -> YamlError:
        return YamlError(self.loc(node), message)

    def value(self, node: yaml.Node, depth: int) -> Any:
        if id(node) in self.seen:
            # libyaml hands back the anchored node again for every alias.
            raise self.fail(node, "YAML anchors and aliases (&name, *name) are not allowed in the registry")
        self.seen.add(id(node))
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH} levels")
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, depth)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                raise self.fail(node, f"YAML tag {node.tag} is not allowed")
            out = YList(self.loc(node))
            for item in node.value:
                out.item_locs.append(self.loc(item))
                out.append(self.value(item, depth + 1))
            return out
        return self.scalar(node)

    def mapping(self, node: yaml.MappingNode, depth: int) -> YMap:
        if node.tag != _MAP:
            raise self.fail(node, f"YAML tag {node.tag} is not allowed")
        out = YMap(self.loc(node))
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, "mapping keys must be plain scalars")
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self.fail(key_node, "YAML merge keys (<<) are not allowed in the registry")
            key = self.scalar(key_node)
            if key in out:
                first = out.key_locs[key]
                raise self.fail(key_node, f"duplicate key '{key}' (first defined at line {first.line})")
            out.key_locs[key] = self.loc(key_node)
            out.value_locs[key] = self.loc(value_node)
            out[key] = self.value(value_node, depth + 1)
        return out

    def scalar(self, node: yaml.Node) -> Any:
        if node.tag == _STR:
            return node.value
        if node.tag not in _SCALAR_TAGS:
            raise self.fail(node, f"YAML tag {node.tag} is not allowed")
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as e:
            raise self.fail(node, f"cannot read value {node.value!r}: {e}") from None
