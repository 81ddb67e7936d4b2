#!/usr/bin/env python3
"""Validate the registry and build the public site: `python build.py …` is `xcert …`.

The same click group (xcert/cli.py; the registry commands are in xcert/cli_registry.py), with
one difference kept from the old script: without a command, build.py builds the site.

python build.py [site] [--registry DIR] [--out DIR] [--site-url URL] [--verify-url URL]
                      [--timestamp-key FILE]           build the site (default) with the signed
                                                       trust list (keys.json + tuf/)
python build.py check [--registry DIR] [--format text|github]
python build.py diff BASE [HEAD]                       semantic change summary
python build.py schema [--check]                       write (or check) schema/*.schema.json
python build.py import certificates|pilots|sites FILE --source S --date D [--batch N] [--map M] [--dry-run]
                       [--date-bound not-after|not-before]

The default registry is ./registry, relative to the current directory (run from the checkout).
"""

from __future__ import annotations

import sys

from xcert.cli import main as xcert


def main(argv: list[str] | None = None) -> int:
    """Run the `xcert` group as build.py; return its exit code (usage errors: 2)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or (args[0].startswith("-") and args[0] not in ("-h", "--help")):
        args = ["site", *args]  # building the site is the default command
    try:
        xcert.main(args, prog_name="build.py")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else int(e.code is not None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
