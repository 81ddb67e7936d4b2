"""Ed25519 signing keys: generation, the private key file, fingerprints.

The private key file is small labelled text so a person can tell what it is and whose
it is without tools, and so a corrupted file fails loudly (the public key and kid are
stored beside the seed and checked on read)::

    xcert-ed25519-private-key v1
    # free comment lines
    org: zhongfu-elderly
    kid: 1a2b3c4d5e6f7a8b
    public-key: <base64url of the raw 32-byte public key>
    seed: <base64url of the 32-byte Ed25519 seed>

It is written to a temporary file created with mode 0600 in the same directory, then
hard-linked into place (which fails if the file exists), so an existing key is never
overwritten, the secret never sits in a world-readable file, even briefly, and a full disk
never leaves a half-written key at the final path.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from nacl.signing import SigningKey, VerifyKey

from xcert import files
from xcert.codes import decode_b64url, encode_b64url
from xcert.token import kid_of

HEADER = "xcert-ed25519-private-key v1"
_ORG_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_FIELDS = ("org", "kid", "public-key", "seed")
_MAX_FILE = 16 * 1024


class KeyFileError(ValueError):
    """A private key file is unreadable, malformed or inconsistent."""


@dataclass(frozen=True)
class PrivateKey:
    """A signing key and the organization it belongs to."""

    org: str
    signing_key: SigningKey

    @property
    def public_key(self) -> bytes:
        return bytes(self.signing_key.verify_key)

    @property
    def verify_key(self) -> VerifyKey:
        return self.signing_key.verify_key

    @property
    def kid(self) -> bytes:
        return kid_of(self.public_key)


def generate(org: str) -> PrivateKey:
    """A fresh key for ``org`` from the OS random source."""
    _check_org(org)
    return PrivateKey(org=org, signing_key=SigningKey.generate())


def from_b64url(text: str, length: int = 32) -> bytes:
    """Decode unpadded base64url of exactly ``length`` bytes (codes.decode_b64url's rules)."""
    raw = decode_b64url(text)
    if raw is None or len(raw) != length:
        raise ValueError(f"expected unpadded base64url of {length} bytes, got {text!r}")
    return raw


def public_key_b64url(key: PrivateKey | VerifyKey | bytes) -> str:
    """The registry spelling of a public key: base64url, no padding, of the raw 32 bytes."""
    if isinstance(key, PrivateKey):
        key = key.public_key
    return encode_b64url(bytes(key))


def fingerprint(public_key: bytes) -> str:
    """The one way a key's fingerprint is shown to people (keygen, key-info, the organization
    page, the registry diff): the full SHA-256 of the raw public key as hex in groups of four,
    for reading aloud. The open data carries the same hash as plain hex (model.Key.sha256)."""
    digest = hashlib.sha256(bytes(public_key)).hexdigest()
    return ":".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def _check_org(org: str) -> None:
    if not isinstance(org, str) or not _ORG_RE.fullmatch(org):
        raise ValueError(f"org: expected an organization id [a-z0-9-], got {org!r}")


def dumps(key: PrivateKey, comment: str = "") -> str:
    """The key file text; ``comment`` lines are written as ``#`` lines after the header."""
    _check_org(key.org)
    lines = [HEADER]
    lines += [f"# {line}".rstrip() for line in comment.splitlines()]
    lines += [
        f"org: {key.org}",
        f"kid: {key.kid.hex()}",
        f"public-key: {encode_b64url(key.public_key)}",
        f"seed: {encode_b64url(bytes(key.signing_key))}",
    ]
    return "\n".join(lines) + "\n"


def write_private_key(path: str | os.PathLike[str], key: PrivateKey, comment: str = "") -> None:
    """Create ``path`` with mode 0600; refuses to overwrite an existing file.

    The key is written and fsynced in a temporary file (created 0600 in the same directory),
    then hard-linked into place, which fails if ``path`` exists: ``path`` never exists
    half-written, so a full disk leaves nothing behind and the rerun succeeds. Raises
    FileExistsError if ``path`` exists, KeyFileError (with the path and the reason) if the
    file cannot be written.
    """
    target = Path(path)
    if target.exists():
        raise FileExistsError(f"{path}: refusing to overwrite an existing file")
    try:
        files.create(target, dumps(key, comment).encode("utf-8"), 0o600)
    except FileExistsError as e:
        raise FileExistsError(f"{path}: refusing to overwrite an existing file") from e
    except OSError as e:
        raise KeyFileError(f"{path}: cannot write: {e.strerror or e}") from e


def loads(text: str, source: str = "<key>") -> PrivateKey:
    """Parse key file text; every error names ``source`` and the line.

    No error ever quotes the file's content, not even a field's name or the value of a
    known field: a seed pasted onto the wrong line (``seed=...``, ``org: <seed>``) would
    otherwise land in a terminal or a CI log. Messages say what was expected instead.
    """
    lines = text.splitlines()
    if not lines or lines[0].strip() != HEADER:
        raise KeyFileError(f"{source}:1: not an xcert private key (expected {HEADER!r})")
    expected = f"expected 'NAME: VALUE' with NAME one of {', '.join(_FIELDS)}, or a # comment"
    fields: dict[str, tuple[int, str]] = {}
    for number, line in enumerate(lines[1:], start=2):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if not sep:
            raise KeyFileError(f"{source}:{number}: no ':' on the line; {expected} (content not shown)")
        if name not in _FIELDS:
            raise KeyFileError(f"{source}:{number}: unknown field; {expected} (content not shown)")
        if name in fields:  # name is one of _FIELDS here, not the file's text
            raise KeyFileError(f"{source}:{number}: duplicate {name!r} (first on line {fields[name][0]})")
        fields[name] = (number, value)
    for name in ("org", "seed"):
        if name not in fields:
            raise KeyFileError(f"{source}: missing {name!r}")
    number, org = fields["org"]
    if not _ORG_RE.fullmatch(org):
        raise KeyFileError(
            f"{source}:{number}: org: expected an organization id of 1-64 characters [a-z0-9-] "
            "(value not shown)"
        )
    number, seed = fields["seed"]
    try:
        key = PrivateKey(org=org, signing_key=SigningKey(from_b64url(seed)))
    except ValueError:
        # no chaining: the underlying message would echo the secret seed
        raise KeyFileError(f"{source}:{number}: seed: expected unpadded base64url of 32 bytes") from None
    if "public-key" in fields:
        number, value = fields["public-key"]
        if value != encode_b64url(key.public_key):
            raise KeyFileError(f"{source}:{number}: public-key does not match the seed")
    if "kid" in fields:
        number, value = fields["kid"]
        if value != key.kid.hex():
            raise KeyFileError(f"{source}:{number}: kid does not match the seed")
    return key


def read_private_key(path: str | os.PathLike[str]) -> PrivateKey:
    """Read a key file written by :func:`write_private_key`.

    Its permissions are not checked here; see :func:`exposed_mode` (the CLI warns)."""
    p = Path(path)
    try:
        if p.stat().st_size > _MAX_FILE:
            raise KeyFileError(f"{p}: too large for a key file")
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        # no chaining: the decoder's message quotes a byte of the file
        raise KeyFileError(f"{p}: not UTF-8 text") from None
    except OSError as e:
        raise KeyFileError(f"{p}: cannot read: {e.strerror or e}") from e
    return loads(text, str(p))


def exposed_mode(path: str | os.PathLike[str]) -> int | None:
    """The permission bits of the key file at ``path`` when its group or others have any
    access to it (``mode & 0o077``), else None; None too where POSIX modes mean nothing
    (Windows) or the file cannot be examined (reading it reports that).

    A key readable by others is still used (a git checkout makes the published sandbox key
    0644): the CLI warns, like ssh's "UNPROTECTED PRIVATE KEY FILE", without refusing.
    """
    if os.name != "posix":
        return None
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None
    return mode if mode & 0o077 else None
