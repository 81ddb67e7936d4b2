"""Where the site build finds what is not the registry: the one place that knows.

The site's sources are the MkDocs project (site_src/: mkdocs.yml, templates, hand-written
pages, assets), the specifications published as pages (docs/*.md) and the test vectors
published with them. Today they live in the repository checkout beside the package (an
editable install); `SiteSources.at(directory)` finds them under any directory laid out like
the checkout, so moving them (into the package, for a wheel) changes only `CHECKOUT` or the
relative paths below.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent  # the repository root of an editable install


@dataclass(frozen=True)
class SiteSources:
    """The site build's inputs besides the registry."""

    project: Path  # the MkDocs project: mkdocs.yml, templates/, docs/, assets/, overrides/
    specs: dict[str, Path]  # page path → the specification published as that page
    vectors: Path  # the published test vectors (*.json, README.md); absent: no vectors page

    @property
    def templates(self) -> Path:
        return self.project / "templates"

    @classmethod
    def at(cls, root: Path = CHECKOUT) -> SiteSources:
        """The sources laid out as in the checkout under `root`."""
        docs = root / "docs"
        return cls(
            project=root / "site_src",
            specs={
                "token-format/": docs / "token-format.md",
                "trust-list-format/": docs / "trust-list-format.md",
                "issuance-records/": docs / "issuance-records.md",
            },
            vectors=docs / "vectors",
        )
