"""Files that must never exist half-written, nor replace one that exists: each is written and
fsynced under a temporary name beside its place, then hard-linked there, which fails if
the place is taken (two writers never mix their files; a crash or a full disk leaves
nothing at the final name)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def stage(target: Path, data: bytes, mode: int) -> Path:
    """`data` written and fsynced in a new file beside `target` with `mode`; link it into
    place with os.link (FileExistsError if taken), then remove it."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(name)
        raise
    os.close(fd)
    return Path(name)


def create(target: Path, data: bytes, mode: int) -> None:
    """Create `target` holding `data`: FileExistsError if it exists, OSError if it cannot be
    written (and then nothing is left behind)."""
    tmp = stage(target, data, mode)
    try:
        os.link(tmp, target)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    fsync_dir(target.parent)


def fsync_dir(directory: Path) -> None:
    """Make the names just linked in `directory` survive a crash."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
