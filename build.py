#!/usr/bin/env python3
"""Validate the registry and build the public site: a thin command line over `xcert`.

python build.py [site] [--registry DIR] [--out DIR] [--site-url URL] [--verify-url URL]
                      [--timestamp-key FILE]           build the site (default) with the signed
                                                       trust list (keys.json + tuf/)
python build.py check [--registry DIR] [--format text|github]
python build.py diff BASE [HEAD]                       semantic change summary
python build.py schema [--check]                       write (or check) schema/*.schema.json
python build.py import certificates|pilots|sites FILE --source S --date D [--batch N] [--map M] [--dry-run]
                       [--date-bound not-after|not-before]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import re
import sys
from pathlib import Path
from typing import Any

from xcert.load import load_registry
from xcert.problems import Loc, Problem
from xcert.schema import URL

DEFAULT_REGISTRY = Path(__file__).resolve().parent / "registry"


def check(registry: Path, style: str = "text") -> int:
    result = load_registry(registry)
    problems = list(result.problems)
    if result.registry is not None:
        from xcert.tufrepo import check_signed

        problems += check_signed(registry, result.registry)
    problems += codeowners_problems(registry)
    for problem in problems:
        print(problem.format(style))  # type: ignore[arg-type]
    n_err = sum(p.severity == "error" for p in problems)
    if style == "text":
        verdict = "ok" if n_err == 0 else "FAILED"
        print(
            f"check {verdict}: {n_err} error(s), {len(problems) - n_err} warning(s) in {registry}",
            file=sys.stderr,
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


def site(
    registry: Path, out: Path, site_url: str | None, verify_url: str | None, timestamp_key: Path | None
) -> int:
    from xcert.site import build_site

    urls = {k: v for k, v in (("site_url", site_url), ("verify_url", verify_url)) if v}
    return build_site(registry, out, urls, timestamp_key)


def http_url(value: str) -> str:
    """An absolute http(s) URL without a trailing slash, as registry.yaml's URLs are written."""
    if not re.fullmatch(URL.pattern or "", value):
        raise argparse.ArgumentTypeError(f"'{value}' is not {URL.shape}")
    return value.rstrip("/")


def diff(base: str, head: str | None) -> int:
    from xcert.diff import main as diff_main

    return diff_main(base, head)


def schema(check_only: bool) -> int:
    from xcert.schema_gen import main as schema_main

    return schema_main(check_only)


def add_import_parser(sub: Any) -> None:
    p = sub.add_parser("import", help="add an official list (CSV or XLSX) to the registry")
    p.add_argument("kind", choices=("certificates", "pilots", "sites"), help="the list's shape")
    p.add_argument("list", type=Path, help="the list file (.csv or .xlsx)")
    p.add_argument("--source", required=True, help="document title and number, written to sources:")
    p.add_argument("--date", required=True, type=iso_day, help="announcement day YYYY-MM-DD (status/since)")
    p.add_argument("--batch", type=int, help="batch number, when the document gives it")
    p.add_argument(
        "--date-bound",
        choices=("not-after", "not-before"),
        help="--date is only the latest (not-after) or earliest (not-before) the day can be",
    )
    p.add_argument("--map", type=Path, help="mapping file: header, columns, ids and facts the list lacks")
    p.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY, help="registry directory")
    p.add_argument("--dry-run", action="store_true", help="print the semantic diff (Markdown), write nothing")


def iso_day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date YYYY-MM-DD") from None


def import_list(args: argparse.Namespace) -> int:
    from xcert.importer import main as import_main

    options = {k: getattr(args, k) for k in ("source", "date", "batch", "dry_run")}
    options["bound"] = args.date_bound
    return import_main(args.registry, args.list, args.kind, mapping_path=args.map, **options)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="build.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    p_check = sub.add_parser("check", help="validate the registry; list every problem")
    p_site = sub.add_parser("site", help="check, then build the static site (default)")
    for p in (p_check, p_site):
        p.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY, help="registry directory")
    p_check.add_argument("--format", choices=("text", "github"), default="text", help="output style")
    p_site.add_argument("--out", type=Path, default=Path("site"), help="output directory")
    for name in ("site-url", "verify-url"):
        env = "XCERT_" + name.replace("-", "_").upper()
        p_site.add_argument(
            f"--{name}",
            type=http_url,
            default=os.environ.get(env) or None,
            help=f"public {name.replace('-', ' ')} (default: ${env}, else registry.yaml's)",
        )
    p_site.add_argument(
        "--timestamp-key",
        type=Path,
        default=os.environ.get("XCERT_TIMESTAMP_KEY") or None,
        help="the publishing job's snapshot/timestamp key (default: $XCERT_TIMESTAMP_KEY; with the "
        "TEST-ONLY development root, sandbox/'s published key)",
    )
    p_diff = sub.add_parser("diff", help="summarise what a change does to the registry (Markdown)")
    p_diff.add_argument("base", help="git ref or registry directory")
    p_diff.add_argument("head", nargs="?", help="git ref or directory (default: work tree)")
    add_import_parser(sub)
    p_schema = sub.add_parser("schema", help="write the JSON Schema files in schema/ from the model")
    p_schema.add_argument("--check", action="store_true", help="only report stale files (exit 1)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["site", *argv]  # building the site is the default command
    args = parser.parse_args(argv)
    if args.command == "check":
        return check(args.registry, args.format)
    if args.command == "diff":
        return diff(args.base, args.head)
    if args.command == "schema":
        return schema(args.check)
    if args.command == "import":
        return import_list(args)
    return site(args.registry, args.out, args.site_url, args.verify_url, args.timestamp_key)


if __name__ == "__main__":
    sys.exit(main())
