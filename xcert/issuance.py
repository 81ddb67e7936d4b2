"""Issuance records: a signed, published list of the tokens an organization issued.

A record (``registry/issuance/<org>/<batch>.yaml``) names one issued batch: the key's kid,
how many tokens, the first and last ``iat``, and the RFC 9162 tree hash (xcert.merkle) over
the sorted SHA-256 of each token, whose list is the leaves file beside it
(``<batch>.leaves``: one lowercase hex hash per line, sorted, no duplicates). No personal
data: a token hash cannot be computed without the token itself, which holds the signature.

Records matter once a signed date stops proving anything: after a key is retired or
compromised, or its organization suspended, a certificate stays VALID only if a record
published before that date holds it (docs/issuance-records.md). The publication time is
the first signed trust-list version that carried the record, never a date in the file.

The verifier's membership index (:class:`RecordIndex`) keeps 5 million recorded tokens in
90 MB: one bytes object of fixed 18-byte entries (the hash's bytes 2–15, then a 4-byte
record number) in 65,536 buckets by the hash's first two bytes, each sorted and searched by
bisection. A Python set of 5 million 32-byte ``bytes`` would take about 550 MB. Measured
(bench/issuance_scale.py, 5 M tokens in 2,000 records): built in about 5.6 s, a lookup in
1.5 µs, the process 93 MB larger after the build and the verify service 189 MB.
Sixteen bytes of SHA-256 leave a forger 2**128 / 5e6 ≈ 2**105 tries per hit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import files, merkle
from .model import CST, day_start, utc_z
from .problems import Loc, Problems
from .token import MAX_TIME, MalformedToken, decode
from .yamlsrc import loc_at

DIRECTORY = "issuance"  # registry/issuance/<org>/, and /issuance/<org>/ on the site
LEAVES_SUFFIX = ".leaves"
BATCH = r"[0-9A-Za-z][0-9A-Za-z._-]{0,63}"
HEX64 = re.compile(rb"[0-9a-f]{64}")
SCHEMA_LINE = "# yaml-language-server: $schema=../../../schema/issuance.schema.json\n"


class RecordError(ValueError):
    """A record or leaves file that cannot be used; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.line = line


def token_hash(token: bytes) -> bytes:
    """The leaf data of a token: SHA-256 over its exact COSE bytes."""
    return hashlib.sha256(token).digest()


# ---------------------------------------------------------------- leaves files


def leaves_text(hashes: Iterable[bytes]) -> bytes:
    """The leaves file: sorted, one hex hash per line (anyone can check it with sha256sum)."""
    return b"".join(h.hex().encode() + b"\n" for h in sorted(set(hashes)))


def parse_leaves(data: bytes) -> bytes:
    """The leaves file as one bytes object of 32-byte hashes, or RecordError at its line."""
    if len(data) % 65:
        raise RecordError(f"{len(data)} bytes is not a whole number of 65-byte lines", 1 + data.count(b"\n"))
    try:
        raw = bytes.fromhex(data.decode("ascii"))  # fromhex skips the newlines
    except (UnicodeDecodeError, ValueError):
        raw = b""
    if len(raw) * 65 != len(data) * 32 or data[64::65].strip(b"\n"):
        for i in range(0, len(data), 65):
            if not HEX64.fullmatch(data[i : i + 64]) or data[i + 64 : i + 65] != b"\n":
                raise RecordError("expected 64 lowercase hex digits and a newline", i // 65 + 1) from None
    if data != data.lower():
        raise RecordError("hex digits must be lowercase", 1)
    previous = b""
    for i in range(0, len(raw), 32):
        current = raw[i : i + 32]
        if current <= previous:
            what = "appears twice" if current == previous else "is out of order (the lines are sorted)"
            raise RecordError(f"hash {current.hex()} {what}", i // 32 + 1)
        previous = current
    return raw


def split_hashes(raw: bytes) -> list[bytes]:
    return [raw[i : i + 32] for i in range(0, len(raw), 32)]


# ---------------------------------------------------------------- records

CHINA = CST  # certificates are dated in China time (model.CST, the one zone)


@dataclass(frozen=True, slots=True, order=True)
class Tally:
    """How many of a record's tokens were issued in one year (China time) for one
    certificate and level. The organization's own claim, computed from the token claims
    when the record is made: the leaves prove only the record's total `count`, since a
    token hash reveals nothing of the token's claims."""

    year: int
    certificate: str
    level: int
    count: int


def year_of(iat: int) -> int:
    """The calendar year of an issue time in China time (as the certificates are dated)."""
    return dt.datetime.fromtimestamp(iat, CHINA).year


@dataclass(frozen=True, slots=True)
class Record:
    """One issuance record's facts (from a registry file, or verified by the TUF client)."""

    organization: str
    batch: str
    kid: bytes
    count: int
    first_iat: int
    last_iat: int
    tree_hash: bytes
    leaves: str  # file name beside the record
    leaves_sha256: bytes
    # None: a record written before the counts existed. Still read everywhere (a published
    # record never changes, and refusing it would take its proof from honest holders); the
    # site counts its tokens as year and level unknown.
    counts: tuple[Tally, ...] | None = None

    @property
    def path(self) -> str:
        """The record's target path: issuance/<org>/<batch>.yaml."""
        return f"{DIRECTORY}/{self.organization}/{self.batch}.yaml"

    @property
    def leaves_path(self) -> str:
        return f"{DIRECTORY}/{self.organization}/{self.leaves}"

    def to_yaml(self) -> str:
        return (
            SCHEMA_LINE
            + f"organization: '{self.organization}'\n"
            + f"batch: '{self.batch}'\n"
            + f"kid: '{self.kid.hex()}'\n"
            + f"count: {self.count}\n"
            + f"first_iat: {self.first_iat}  # {_cst(self.first_iat)}\n"
            + f"last_iat: {self.last_iat}  # {_cst(self.last_iat)}\n"
            + f"tree_hash: '{self.tree_hash.hex()}'\n"
            + f"leaves: '{self.leaves}'\n"
            + f"leaves_sha256: '{self.leaves_sha256.hex()}'\n"
            + _counts_yaml(self.counts)
        )

    @classmethod
    def from_mapping(cls, d: dict[str, object]) -> Record:
        """From a parsed record (already schema-checked, or checked here: RecordError)."""
        try:
            record = cls(
                organization=str(d["organization"]),
                batch=str(d["batch"]),
                kid=bytes.fromhex(str(d["kid"])),
                count=_int(d["count"]),
                first_iat=_int(d["first_iat"]),
                last_iat=_int(d["last_iat"]),
                tree_hash=bytes.fromhex(str(d["tree_hash"])),
                leaves=str(d["leaves"]),
                leaves_sha256=bytes.fromhex(str(d["leaves_sha256"])),
                counts=_counts(d["counts"]) if "counts" in d else None,
            )
        except KeyError as e:
            raise RecordError(f"missing field {e.args[0]!r}") from None
        except (TypeError, ValueError) as e:
            raise RecordError(f"bad field: {e}") from None
        first, last = record.first_iat, record.last_iat
        if not 0 <= first <= last <= MAX_TIME:
            raise RecordError(f"first_iat {first}, last_iat {last}: out of order or out of range")
        if len(record.kid) != 8 or len(record.tree_hash) != 32 or len(record.leaves_sha256) != 32:
            raise RecordError("kid is 8 bytes, tree_hash and leaves_sha256 32 bytes (hex)")
        if not re.fullmatch(BATCH, record.batch) or record.leaves != record.batch + LEAVES_SUFFIX:
            raise RecordError(f"batch {record.batch!r} with leaves {record.leaves!r}")
        return record

    def check_leaves(self, data: bytes) -> bytes:
        """The leaves file's hashes if it is this record's, else RecordError."""
        if hashlib.sha256(data).digest() != self.leaves_sha256:
            raise RecordError(f"{self.leaves}: SHA-256 differs from the record's leaves_sha256")
        raw = parse_leaves(data)
        if len(raw) // 32 != self.count:
            raise RecordError(f"{self.leaves}: {len(raw) // 32} hashes, the record says count {self.count}")
        if merkle.tree_hash(split_hashes(raw)) != self.tree_hash:
            raise RecordError(f"{self.leaves}: the leaves do not hash to the record's tree_hash")
        return raw


_COUNTS_NOTE = (
    "  # per year (China time), certificate and level: the organization's own tally;\n"
    "  # the leaves prove only the total count\n"
)


def _counts_yaml(counts: tuple[Tally, ...] | None) -> str:
    if counts is None:
        return ""
    rows = "".join(
        f"  - {{year: {t.year}, certificate: '{t.certificate}', level: {t.level}, count: {t.count}}}\n"
        for t in counts
    )
    return "counts:\n" + _COUNTS_NOTE + rows


def _counts(value: object) -> tuple[Tally, ...]:
    """A record's counts from parsed YAML (the TUF client's input is not schema-checked)."""
    if not isinstance(value, list):
        raise ValueError(f"counts: expected a list, got {value!r}")
    tallies = []
    for n, row in enumerate(value):
        if not isinstance(row, dict) or set(row) != {"year", "certificate", "level", "count"}:
            raise ValueError(f"counts[{n}]: expected year, certificate, level and count")
        if not isinstance(row["certificate"], str):
            raise ValueError(f"counts[{n}]: certificate: expected text, got {row['certificate']!r}")
        year, level, count = (int(_int(row[k])) for k in ("year", "level", "count"))
        tallies.append(Tally(year, str(row["certificate"]), level, count))
    return tuple(tallies)


def tally(claims: Iterable[Any]) -> tuple[Tally, ...]:
    """Counts per (year in China time, certificate, level) of token claims, sorted."""
    counts: dict[tuple[int, str, int], int] = {}
    for c in claims:
        k = (year_of(c.issued_at), c.certificate, c.level)
        counts[k] = counts.get(k, 0) + 1
    return tuple(Tally(*k, n) for k, n in sorted(counts.items()))


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


def _cst(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, CHINA).isoformat()


def make_record(organization: str, batch: str, kid: bytes, tokens: Sequence[bytes]) -> tuple[Record, bytes]:
    """The record and leaves file bytes for tokens issued together with one key; the iat
    range and the counts come from the tokens' own claims (decoded, not verified: the
    issuer just signed them)."""
    if not tokens:
        raise RecordError("a record needs at least one token")
    if not re.fullmatch(BATCH, batch):
        raise RecordError(
            f"batch id {batch!r}: use 1-64 of A-Z a-z 0-9 . _ - (starting with a letter or digit)"
        )
    hashes = sorted({token_hash(t) for t in tokens})
    if len(hashes) != len(tokens):
        raise RecordError("the same token appears twice")
    try:
        claims = [decode(t).claims for t in tokens]
    except MalformedToken as e:
        raise RecordError(f"not a token: {e}") from None
    iats = [c.issued_at for c in claims]
    data = leaves_text(hashes)
    record = Record(
        organization=organization,
        batch=batch,
        kid=kid,
        count=len(hashes),
        first_iat=min(iats),
        last_iat=max(iats),
        tree_hash=merkle.tree_hash(hashes),
        leaves=batch + LEAVES_SUFFIX,
        leaves_sha256=hashlib.sha256(data).digest(),
        counts=tally(claims),
    )
    return record, data


def write_record(registry_dir: Path, record: Record, leaves: bytes) -> Path:
    """registry/issuance/<org>/<batch>.yaml and its leaves; never overwrites a record.

    Each file is written and fsynced under a temporary name of its own in the same
    directory, then hard-linked to its final name, which fails if that name exists: two
    runs with the same batch id never mix their files, and exactly one of them wins. The
    leaves are linked first, the record last: a crash leaves no record without its leaves.
    """
    directory = Path(registry_dir) / DIRECTORY / record.organization
    path = directory / f"{record.batch}.yaml"
    leaves_path = directory / record.leaves

    def refuse(taken: Sequence[Path]) -> RecordError:
        return RecordError(f"refusing to overwrite {', '.join(map(str, taken))}: a record never changes")

    taken = [p for p in (path, leaves_path) if p.exists()]
    if taken:
        raise refuse(taken)
    directory.mkdir(parents=True, exist_ok=True)
    temps: list[Path] = []
    try:
        temps.append(files.stage(leaves_path, leaves, 0o644))
        temps.append(files.stage(path, record.to_yaml().encode("utf-8"), 0o644))
        try:
            os.link(temps[0], leaves_path)
        except FileExistsError:
            raise refuse([leaves_path]) from None
        try:
            os.link(temps[1], path)
        except OSError as e:
            # Take back the leaves this run linked, and only those (the same file, not
            # another run's): a record's leaves without the record would block a rerun.
            with contextlib.suppress(OSError):
                if os.path.samefile(temps[0], leaves_path):
                    leaves_path.unlink()
            if isinstance(e, FileExistsError):
                raise refuse([path]) from None
            raise
        files.fsync_dir(directory)
    finally:
        for tmp in temps:
            with contextlib.suppress(OSError):
                tmp.unlink()
    return path


# ---------------------------------------------------------------- what a verifier holds


@dataclass(frozen=True, slots=True)
class PublishedRecord:
    """A record a verifier proved through the TUF client, with its publication time: the
    first signed trust-list version (timestamp, Unix seconds) that carried it."""

    record: Record
    published: dt.datetime
    leaves_file: Path  # verified bytes in the client's state directory (read to build the index)
    # Its form in a verdict's JSON, made once here: every answer for a recorded token asks.
    json: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        form = {
            "organization": self.record.organization,
            "batch": self.record.batch,
            "published": utc_z(self.published),
            "tree_hash": self.record.tree_hash.hex(),
        }
        object.__setattr__(self, "json", form)  # a dict: a trust list is pickled to issuing workers


_ENTRY = 18  # 14 bytes of hash after the 2-byte bucket, then a 4-byte record number
_KEY = 14
_BUCKETS = 65536


def _buckets_of(raw: bytes) -> Iterator[int]:
    """The bucket of each 32-byte hash in `raw`: its first two bytes."""
    return (first << 8 | second for first, second in zip(raw[0::32], raw[1::32], strict=True))


class RecordIndex:
    """Recorded token hash → the records that hold it (earliest published first).

    One bytes object of 18-byte entries, grouped by bucket and sorted within each, and the
    index of each bucket's first entry. Built in three passes so that no per-token object
    outlives its bucket: count the entries of each bucket, write each entry in its
    bucket's place, sort each bucket. (Collecting the 5 M entries as objects first left
    the process ~150 MB larger than the entries themselves: the allocator keeps their
    memory.)"""

    __slots__ = ("entries", "records", "size", "starts")

    def __init__(self, records: Sequence[PublishedRecord], leaves: Iterable[bytes] | None = None) -> None:
        """`leaves`: each record's raw 32-byte hashes (default: read its verified leaves file)."""
        order = sorted(range(len(records)), key=lambda i: (records[i].published, records[i].record.path))
        self.records = tuple(records[i] for i in order)
        given = list(leaves) if leaves is not None else None

        def hashes(number: int) -> bytes:  # of the record at `number` in publication order
            if given is not None:
                return given[order[number]]
            return parse_leaves(self.records[number].leaves_file.read_bytes())

        counts: Counter[int] = Counter()
        for number in range(len(order)):
            counts.update(_buckets_of(hashes(number)))
        starts = array("Q", bytes(8 * (_BUCKETS + 1)))
        for bucket in range(_BUCKETS):
            starts[bucket + 1] = starts[bucket] + counts[bucket]
        buf = bytearray(starts[-1] * _ENTRY)
        at = [start * _ENTRY for start in starts[:-1]]
        for number in range(len(order)):
            raw, tail = hashes(number), number.to_bytes(4, "big")
            for j, bucket in zip(range(0, len(raw), 32), _buckets_of(raw), strict=True):
                k = at[bucket]
                buf[k : k + _ENTRY] = raw[j + 2 : j + 16] + tail
                at[bucket] = k + _ENTRY
        if at != [start * _ENTRY for start in starts[1:]] or len(buf) != starts[-1] * _ENTRY:
            raise RecordError("a leaves file changed while the record index was built")
        for bucket in range(_BUCKETS):
            lo, hi = starts[bucket] * _ENTRY, starts[bucket + 1] * _ENTRY
            if hi - lo > _ENTRY:
                chunk = bytes(buf[lo:hi])
                buf[lo:hi] = b"".join(sorted(chunk[k : k + _ENTRY] for k in range(0, len(chunk), _ENTRY)))
        self.entries = bytes(buf)
        self.starts = starts
        self.size = starts[-1]

    def lookup(self, digest: bytes) -> list[PublishedRecord]:
        """Every record holding the token with this SHA-256, earliest published first."""
        bucket = digest[0] << 8 | digest[1]
        lo, end = self.starts[bucket], self.starts[bucket + 1]
        entries, key, hi = self.entries, digest[2:16], end
        while lo < hi:
            mid = (lo + hi) >> 1
            at = mid * _ENTRY
            if entries[at : at + _KEY] < key:
                lo = mid + 1
            else:
                hi = mid
        found = []
        at = lo * _ENTRY
        while lo < end and entries[at : at + _KEY] == key:  # never into the next bucket
            found.append(self.records[int.from_bytes(entries[at + _KEY : at + _ENTRY], "big")])
            lo, at = lo + 1, at + _ENTRY
        return found


# ---------------------------------------------------------------- the registry's records


@dataclass(frozen=True, slots=True)
class RecordFile:
    """A record read from the registry, where it was written, and its leaves file."""

    record: Record
    src: Any  # xcert.model.Src
    leaves_file: Path


def check_records(
    reg: Any, out: Problems, display: Callable[[Path], str], unusable: frozenset[str] = frozenset()
) -> None:
    """`build.py check`'s rules for records (every problem located): the leaves hash to the
    tree hash, no token is in two records, the kid is the organization's and the iat range
    lies inside that key's signing window."""
    seen: dict[bytes, tuple[str, int]] = {}
    for rf in reg.records:
        record, src = rf.record, rf.src
        org = reg.organizations.get(record.organization)
        if org is None:
            if record.organization in unusable:
                continue  # its file failed to load, and said why
            out.error(src.at("organization"), f"organization: unknown organization '{record.organization}'")
            continue
        key = next((k for k in org.keys if k.kid == record.kid), None)
        if key is None:
            kids = ", ".join(k.kid.hex() for k in org.keys) or "none"
            out.error(
                src.at("kid"),
                f"kid: {record.organization} has no key {record.kid.hex()} (its keys: {kids})",
            )
        else:
            _check_window(record, key, src, out)
        _check_counts(record, reg, src, out)
        shown = display(rf.leaves_file)
        try:
            data = rf.leaves_file.read_bytes()
        except OSError:
            out.error(src.at("leaves"), f"leaves: {shown} not found (it is written with the record)")
            continue
        if hashlib.sha256(data).digest() != record.leaves_sha256:
            out.error(
                src.at("leaves_sha256"),
                f"leaves_sha256: {shown} has SHA-256 {hashlib.sha256(data).hexdigest()}, "
                "not this one; a record and its leaves never change once written",
            )
            continue
        try:
            raw = parse_leaves(data)
        except RecordError as e:
            out.error(Loc(shown, e.line), str(e))
            continue
        hashes = split_hashes(raw)
        if len(hashes) != record.count:
            out.error(src.at("count"), f"count: {shown} has {len(hashes)} hashes, not {record.count}")
        if (root := merkle.tree_hash(hashes)) != record.tree_hash:
            out.error(
                src.at("tree_hash"),
                f"tree_hash: the leaves in {shown} hash to {root.hex()}, not to this tree hash",
            )
        for line, digest in enumerate(hashes, start=1):
            if (first := seen.get(digest)) is not None:
                out.error(
                    Loc(shown, line),
                    f"token hash {digest.hex()} is already recorded at {first[0]}:{first[1]}; "
                    "a token belongs to one record",
                )
            else:
                seen[digest] = (shown, line)


def _check_counts(record: Record, reg: Any, src: Any, out: Problems) -> None:
    """The counts are the organization's claim (the leaves cannot prove them), so at least
    they must add up to `count`, fall in the iat range's years, and name certificates the
    organization holds at levels they have, each once."""
    if record.counts is None:
        return  # an older record: shown as year and level unknown
    if (total := sum(t.count for t in record.counts)) != record.count:
        out.error(src.at("counts"), f"counts: add up to {total}, not to the record's count {record.count}")
    years = range(year_of(record.first_iat), year_of(record.last_iat) + 1)
    seen: set[tuple[int, str, int]] = set()
    for n, t in enumerate(record.counts):
        where = f"counts[{n}] ({t.year}, {t.certificate}, level {t.level})"
        at = loc_at(src.path, src.field_pos.get(("counts", n), src.pos))
        cert = reg.certificates.get(t.certificate)
        if (t.year, t.certificate, t.level) in seen:
            out.error(at, f"{where}: appears twice; one line per year, certificate and level")
        seen.add((t.year, t.certificate, t.level))
        if t.year not in years:
            out.error(
                at, f"{where}: the year is outside first_iat..last_iat ({years[0]}-{years[-1]}, China time)"
            )
        if cert is None or cert.organization != record.organization:
            out.error(at, f"{where}: {record.organization} holds no certificate '{t.certificate}'")
        elif t.level not in cert.levels:
            levels = ", ".join(map(str, cert.levels))
            out.error(at, f"{where}: {t.certificate} has no level {t.level} (its levels: {levels})")


def _check_window(record: Record, key: Any, src: Any, out: Problems) -> None:
    start = int(day_start(key.not_before).timestamp())
    ends = [(key.sign_until + dt.timedelta(days=1), "its signing window ends")] if key.sign_until else []
    ends += [
        (d, f"it was {what} on {d}")
        for d, what in ((key.retired_on, "retired"), (key.compromised_on, "reported compromised"))
        if d
    ]
    if record.first_iat < start:
        out.error(
            src.at("first_iat"),
            f"first_iat: {_cst(record.first_iat)} is before key {record.kid.hex()} could sign "
            f"(not_before {key.not_before})",
        )
    for day, why in sorted(ends):
        if record.last_iat >= day_start(day).timestamp():
            out.error(
                src.at("last_iat"),
                f"last_iat: {_cst(record.last_iat)} is outside key {record.kid.hex()}'s "
                f"signing window ({why})",
            )
            break
