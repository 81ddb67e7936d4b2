"""Located problems: every complaint about the registry says file, line and column."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True, order=True)
class Loc:
    """A place in a file; line and column count from 1, and column 0 means the whole line
    (a CSV row has no meaningful column)."""

    path: str
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" + (f":{self.col}" if self.col else "")


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    loc: Loc
    message: str
    severity: Severity = "error"

    def format(self, style: Literal["text", "github"] = "text") -> str:
        if style == "github":
            where = f"file={_gh_property(self.loc.path)},line={self.loc.line}"
            where += f",col={self.loc.col}" if self.loc.col else ""
            return f"::{self.severity} {where}::{_gh_data(self.message)}"
        return f"{self.loc}: {self.severity}: {self.message}"


def _gh_data(text: str) -> str:
    """Escape a GitHub workflow command's message (as @actions/core's escapeData does)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    """Escape a workflow command property value (escapeProperty): also ':' and ','."""
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


@dataclass(slots=True)
class Problems:
    """Collects problems instead of stopping at the first one (mkdocs' way)."""

    items: list[Problem] = field(default_factory=list)

    def error(self, loc: Loc, message: str) -> None:
        self.items.append(Problem(loc, message, "error"))

    def warning(self, loc: Loc, message: str) -> None:
        self.items.append(Problem(loc, message, "warning"))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "error"]

    def sorted(self) -> list[Problem]:
        return sorted(self.items)
