"""Every file under registry/, whether the loader reads it or not.

The loader reads only the files it knows (`registry.yaml`, `<directory>/*.yaml`,
`notices/*.md`) and skips `README.md` and `.gitkeep`. That left two holes (issue 13): a
symbolic link such as `organizations/README.md -> /etc/hostname` passed `check` and then
crashed the security gate's diff, and a private key file copied to `README.md` was never
read. So this walk refuses, anywhere under the registry:

* anything but a regular file or a plain directory: symbolic links (to files or
  directories), FIFOs, sockets, devices. Nothing behind a link is ever read;
* private key material: the key file header or a PEM block in a file the loader does not
  read (the loader refuses them in the files it reads), and in every file any base64,
  base64url or hex string that is the Ed25519 seed (or the 64-byte seed+public key form) of
  a public key the registry lists. The message names the key, never the secret.

Deriving a public key costs about 20 µs; only strings of exactly a seed's length are tried,
so a national-scale registry (~1,500 files, 13 MB) is scanned in well under a second.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from nacl.signing import SigningKey

from .problems import Loc, Problems
from .token import kid_of

MARKERS = re.compile(rb"PRIVATE KEY-----|xcert-ed25519-private-key", re.IGNORECASE)
# Maximal runs of base64 / base64url / hex characters; the lengths below are a 32-byte seed
# or a 64-byte seed+public key, with or without padding.
_RUN = re.compile(rb"[A-Za-z0-9+/_-]+={0,2}")
_SEED_LENGTHS = {43, 44, 64, 86, 88, 128}
_HEX = re.compile(rb"[0-9a-fA-F]+")


def not_regular(mode: int, target: str | None = None) -> str | None:
    """Why an entry with this `lstat` mode may not be in the registry, or None."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISLNK(mode):
        to = f" to '{target}'" if target is not None else ""
        return f"symbolic link{to}: registry files must be regular files"
    return "not a regular file: registry files must be regular files"


def walk(root: Path, out: Problems, display: Callable[[Path], str]) -> list[Path]:
    """Every regular file under `root` (links not followed); each other entry is an error."""
    files: list[Path] = []
    for directory, dirs, names in os.walk(root, followlinks=False):
        base = Path(directory)
        for name in sorted(dirs + names):
            path = base / name
            mode = os.lstat(path).st_mode
            target = os.readlink(path) if stat.S_ISLNK(mode) else None
            if (why := not_regular(mode, target)) is not None:
                out.error(Loc(display(path)), why)
                if name in dirs:
                    dirs.remove(name)  # os.walk does not enter links anyway; be explicit
            elif stat.S_ISREG(mode):
                files.append(path)
        dirs.sort()
    return sorted(files)


def seed_candidates(data: bytes) -> Iterable[tuple[int, bytes]]:
    """(offset, 32-byte seed) for every string that decodes to a seed's length."""
    for m in _RUN.finditer(data):
        text = m.group()
        if len(text) not in _SEED_LENGTHS:
            continue
        raw: bytes | None = None
        if len(text) in (64, 128) and _HEX.fullmatch(text):
            raw = bytes.fromhex(text.decode("ascii"))
        else:
            body = text.rstrip(b"=")
            try:
                raw = base64.b64decode(body.replace(b"-", b"+").replace(b"_", b"/") + b"=" * (-len(body) % 4))
            except (binascii.Error, ValueError):
                raw = None
        if raw is not None and len(raw) in (32, 64):
            yield m.start(), raw[:32]


def scan_file(
    path: Path,
    shown: str,
    public_keys: dict[bytes, str],
    out: Problems,
    markers: bool,
    max_bytes: int,
) -> None:
    """Report private key material in one file. `public_keys`: raw key → who lists it."""
    size = path.stat().st_size
    if size > max_bytes:
        if markers:  # the loader reports the size of the files it reads
            out.error(Loc(shown), f"file is {size:,} bytes; registry files are limited to {max_bytes:,}")
        return
    data = path.read_bytes()
    if markers and (m := MARKERS.search(data)):
        out.error(_loc(shown, data, m.start()), "private key material must never be in the registry")
    if not public_keys:
        return
    for offset, seed in seed_candidates(data):
        if seed in public_keys:
            continue  # a public key itself
        derived = bytes(SigningKey(seed).verify_key)
        if (who := public_keys.get(derived)) is not None:
            out.error(
                _loc(shown, data, offset),
                f"private key material: this is the secret seed of {who} (kid {kid_of(derived).hex()}); "
                "remove it, and mark that key compromised: it is public now",
            )


def _loc(shown: str, data: bytes, offset: int) -> Loc:
    line_start = data.rfind(b"\n", 0, offset) + 1
    col = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return Loc(shown, data.count(b"\n", 0, offset) + 1, col)
