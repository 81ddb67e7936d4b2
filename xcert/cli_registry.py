"""The registry maintainers' commands of `xcert` (and of `python build.py`, the same group):
check, site, diff, schema and import.

The pipeline: `check` loads and validates registry/ (xcert.load), then the trust list's
signatures (xcert.tufrepo) and CODEOWNERS; `site` checks again and builds the public site
(xcert.site); `diff` summarises a change (xcert.diff); `schema` writes the editors' JSON
Schemas (xcert.schema_gen); `import` adds an official list (xcert.importer).

The default registry is ./registry, relative to the current directory, for every command
and both entry points (as git and mkdocs find their files): an installed `xcert` has no
checkout to be relative to.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import click

from .problems import Loc, Problem
from .schema import URL

DEFAULT_REGISTRY = "registry"

# The registry a command works on (maintainers' commands: check, site, import, trust, issuance).
registry_option = click.option(
    "--registry",
    default=DEFAULT_REGISTRY,
    show_default=True,
    metavar="DIR",
    help="Registry directory (relative to the current directory).",
)


def _exit(code: int) -> None:
    """End a command with the library's exit code (click's own exit is always 0)."""
    sys.exit(code)


# --- check ------------------------------------------------------------------------------


@click.command("check")
@registry_option
@click.option(
    "--format",
    "style",
    type=click.Choice(["text", "github"]),
    default="text",
    show_default=True,
    help="Output style: file:line:col lines, or GitHub annotations.",
)
def check_cmd(registry: str, style: str) -> None:
    """Validate the registry; list every problem (exit 1 on any error)."""
    _exit(check(Path(registry), style))


def check(registry: Path, style: str = "text") -> int:
    """Print every problem of `registry` (loading, trust signatures, CODEOWNERS); the exit code."""
    from .load import load_registry

    result = load_registry(registry)
    problems = list(result.problems)
    if result.registry is not None:
        from .tufrepo import check_signed

        problems += check_signed(registry, result.registry)
    problems += codeowners_problems(registry)
    for problem in problems:
        click.echo(problem.format(style))  # type: ignore[arg-type]  # style is click.Choice-checked
    n_err = sum(p.severity == "error" for p in problems)
    if style == "text":
        verdict = "ok" if n_err == 0 else "FAILED"
        click.echo(
            f"check {verdict}: {n_err} error(s), {len(problems) - n_err} warning(s) in {registry}", err=True
        )
    return 0 if n_err == 0 else 1


def codeowners_problems(registry: Path) -> list[Problem]:
    """A stale .github/CODEOWNERS beside the registry: a new registry file without its owners'
    line merges with the wrong reviewers (found only by the tests before)."""
    root = registry.resolve().parent
    script, out = root / ".github" / "scripts" / "codeowners.py", root / ".github" / "CODEOWNERS"
    if not script.is_file():
        return []  # a registry outside a repository checkout (fixtures, mirrors)
    spec = importlib.util.spec_from_file_location("codeowners", script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if out.is_file() and out.read_text(encoding="utf-8") == module.render(registry.resolve()):
        return []
    fix = "run python .github/scripts/codeowners.py and commit .github/CODEOWNERS"
    return [Problem(Loc(str(out)), f"CODEOWNERS does not match the registry's files: {fix}")]


# --- site -------------------------------------------------------------------------------


def _http_url(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An absolute http(s) URL without a trailing slash, as registry.yaml's URLs are written."""
    if value is None:
        return None
    if not re.fullmatch(URL.pattern or "", value):
        raise click.BadParameter(f"'{value}' is not {URL.shape}", param=param)
    return value.rstrip("/")


def _url_option(name: str) -> Any:
    env = "XCERT_" + name.replace("-", "_").upper()
    return click.option(
        f"--{name}",
        callback=_http_url,
        envvar=env,
        metavar="URL",
        help=f"Public {name.replace('-', ' ')} [default: ${env}, else registry.yaml's].",
    )


@click.command("site")
@registry_option
@click.option(
    "--out",
    default="site",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Output directory (replaced only when the build succeeds).",
)
@_url_option("site-url")
@_url_option("verify-url")
@click.option(
    "--timestamp-key",
    envvar="XCERT_TIMESTAMP_KEY",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The publishing job's snapshot/timestamp key [default: $XCERT_TIMESTAMP_KEY; with the "
    "TEST-ONLY development root, sandbox/'s published key].",
)
@click.option(
    "--previous",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    metavar="DIR",
    help="The published site this build replaces, when --out is a new release directory: its "
    "signed snapshot dates the issuance records [default: --out].",
)
def site_cmd(
    registry: str,
    out: Path,
    site_url: str | None,
    verify_url: str | None,
    timestamp_key: Path | None,
    previous: Path | None,
) -> None:
    """Check, then build the static site with the signed trust list (keys.json + tuf/)."""
    from .site import build_site

    _exit(
        build_site(
            Path(registry),
            out,
            site_url=site_url,
            verify_url=verify_url,
            timestamp_key=timestamp_key,
            previous=previous,
        )
    )


# --- diff, schema -----------------------------------------------------------------------


@click.command("diff")
@click.argument("base")
@click.argument("head", required=False)
def diff_cmd(base: str, head: str | None) -> None:
    """Summarise what a change does to the registry (Markdown).

    BASE and HEAD are git refs or registry directories; HEAD defaults to the work tree.
    Exit 1 if HEAD has errors, 2 if a side cannot be read.
    """
    from .diff import main as diff_main

    _exit(diff_main(base, head))


@click.command("schema")
@click.option("--check", "check_only", is_flag=True, help="Only report stale files (exit 1).")
@click.option(
    "--out",
    default="schema",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="The schema folder (relative to the current directory).",
)
def schema_cmd(check_only: bool, out: Path) -> None:
    """Write the JSON Schema files in schema/ from the model (for editors)."""
    from .schema_gen import main as schema_main

    _exit(schema_main(check_only, out))


# --- import -----------------------------------------------------------------------------


def _iso_day(_ctx: click.Context, param: click.Parameter, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date YYYY-MM-DD", param=param) from None


@click.command("import")
@click.argument("kind", type=click.Choice(["certificates", "pilots", "sites"]))
@click.argument("list_path", metavar="LIST", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", required=True, help="Document title and number, written to sources:.")
@click.option(
    "--date", required=True, callback=_iso_day, metavar="YYYY-MM-DD", help="Announcement day (status/since)."
)
@click.option("--batch", type=int, metavar="N", help="Batch number, when the document gives it.")
@click.option(
    "--date-bound",
    type=click.Choice(["not-after", "not-before"]),
    help="--date is only the latest (not-after) or earliest (not-before) the day can be.",
)
@click.option(
    "--map",
    "mapping",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Mapping file: header, columns, ids and facts the list lacks.",
)
@registry_option
@click.option("--dry-run", is_flag=True, help="Print the semantic diff (Markdown), write nothing.")
def import_cmd(
    kind: str,
    list_path: Path,
    source: str,
    date: dt.date,
    batch: int | None,
    date_bound: str | None,
    mapping: Path | None,
    registry: str,
    dry_run: bool,
) -> None:
    """Add an official list (CSV or XLSX) of KIND (its shape) to the registry."""
    from .importer import main as import_main

    _exit(
        import_main(
            Path(registry),
            list_path,
            kind,
            source=source,
            date=date,
            batch=batch,
            mapping_path=mapping,
            dry_run=dry_run,
            bound=date_bound,
        )
    )


COMMANDS = [check_cmd, site_cmd, diff_cmd, schema_cmd, import_cmd]
