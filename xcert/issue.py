"""Issuing certificates: claims from what an organization types, a pre-flight check, batches.

Nothing here decides what may be signed. Every candidate token is signed in memory and run
through :func:`xcert.verify.verify` against the trust list before it leaves this module;
any failing check (certificate type not the organization's, level not offered, key outside
its window, revoked serial, …) refuses the certificate with that check's own words. So the
issuer can never produce a token the verifier would reject, and no rule is written twice.

Issue times are the start (00:00 China Standard Time) of the issue day, the way registry
dates work: a batch gives the same bytes whenever it is run, and a token says no more
about the holder than the day on the paper.

A batch writes into a temporary directory beside the output and renames it into place only
when every file is written, so a crash or a bad row leaves nothing half-issued.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, TypeVar

from nacl.signing import SigningKey

from . import lookalike, qr
from .keys import PrivateKey
from .model import CST, LEVEL_NAMES, day_start
from .problems import Loc, Problem
from .token import Claims, id_tail, sign, url_for
from .trust import TrustList
from .verify import TEST, VALID, Result, verify

REQUIRED_COLUMNS = ("certificate", "level", "serial", "name", "id_number")
OPTIONAL_COLUMNS = ("date", "college", "expires")
CHUNK = 250  # rows per worker task: big enough to amortise pickling, small for a smooth bar
MAX_CSV_BYTES = 64 * 1024 * 1024

_LEVELS = {str(n): n for n in LEVEL_NAMES} | {zh: n for n, (zh, _) in LEVEL_NAMES.items()}


class IssueError(ValueError):
    """The certificate cannot be issued; ``problems`` holds one plain reason each."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Request:
    """One certificate as the organization typed it (CLI options or one CSV row)."""

    certificate: str
    level: str
    serial: str
    name: str
    id_number: str
    date: str | None = None  # YYYY-MM-DD, issue day; default today (CST)
    college: str | None = None
    expires: str | None = None  # YYYY-MM-DD: an explicit CWT exp; normally the verifier derives it


@dataclass(frozen=True)
class Issued:
    claims: Claims
    token: bytes
    url: str
    result: Result  # the pre-flight verification, valid


def today() -> dt.date:
    return dt.datetime.now(CST).date()


def _seconds(instant: dt.datetime) -> int:
    """Unix seconds, as the token's claims carry them."""
    return int(instant.timestamp())


def parse_day(text: str, what: str) -> dt.date:
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{what}: expected a date YYYY-MM-DD, got {text!r}") from None


def make_claims(req: Request, default_day: dt.date | None = None) -> Claims:
    """Claims from a request; every problem with the input is collected, not just the first."""
    problems: list[str] = []
    level = _LEVELS.get(req.level.strip()) if isinstance(req.level, str) else req.level
    if level not in (1, 2, 3):
        problems.append(f"level: expected 1, 2 or 3 (初级, 中级, 高级), got {req.level!r}")
    if isinstance(req.name, str) and (problem := lookalike.name_problem(req.name.strip())):
        problems.append(f"name: {problem}")
    tail = None
    try:
        tail = id_tail(req.id_number)
    except ValueError as e:
        problems.append(str(e))
    day = default_day or today()
    if req.date:
        try:
            day = parse_day(req.date, "date")
        except ValueError as e:
            problems.append(str(e))
    expires = None
    if req.expires:
        try:
            expires = _seconds(day_start(parse_day(req.expires, "expires")))
        except ValueError as e:
            problems.append(str(e))
    problems += _id_leaks(req)
    if problems:
        raise IssueError(problems)
    assert level is not None and tail is not None  # either being None added a problem above
    try:
        return Claims(
            version=1,
            certificate=req.certificate.strip(),
            level=level,
            serial=req.serial.strip(),
            holder_name=unicodedata.normalize("NFC", req.name.strip()),
            id_tail=tail,
            issued_at=_seconds(day_start(day)),
            expires_at=expires,
            college=(req.college or "").strip() or None,
        )
    except ValueError as e:
        raise IssueError([_field_message(str(e))]) from None


def _is_national_id(text: str) -> bool:
    try:
        id_tail(text)
    except ValueError:
        return False
    return True


def _id_leaks(req: Request) -> list[str]:
    """The serial and the college are signed in full and shown on the verify page: neither may
    be the holder's ID number or anything shaped like one (GB 11643, check character right)."""
    problems = []
    holder = req.id_number.strip().upper() if isinstance(req.id_number, str) else ""
    for field_name, value in (("serial", req.serial), ("college", req.college)):
        text = value.strip().upper() if isinstance(value, str) else ""
        if text and (text == holder or _is_national_id(text)):
            problems.append(
                f"{field_name}: looks like a national ID number; the verify page shows the {field_name} "
                "in full, so it must never hold one"
            )
    return problems


def redact(message: str, req: Request) -> str:
    """A batch row's message without the row's cell contents (every row holds an ID number):
    each cell that appears in the message becomes `[<column> cell]`."""
    holder = req.id_number.strip().upper() if isinstance(req.id_number, str) else ""
    cells = [(getattr(req, c), c) for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS] + [(holder, "id_number")]
    for value, column in sorted(cells, key=lambda vc: -len(str(vc[0] or ""))):
        text = value.strip() if isinstance(value, str) else ""
        personal = column in ("name", "id_number") or _is_national_id(text)
        if column == "serial" and not personal and text.upper() != holder:
            continue  # a serial is public (it is printed and signed): kept so rows can be matched
        if text and (len(text) >= 4 or (personal and len(text) >= 2)):
            message = message.replace(text, f"[{column} cell]")
    return message


def _field_message(message: str) -> str:
    # Claims speaks in token field names; the user typed --name / the `name` column.
    return message.replace("holder_name:", "name:").replace("expires_at:", "expires:")


def failure_reasons(result: Result) -> list[str]:
    """One plain line per failing check: its stable code, what it means, the detail."""
    return [f"{c.code}: {c.explanation[1]} ({c.detail})" for c in result.failures]


def sign_checked(
    claims: Claims, key: PrivateKey | SigningKey, trust: TrustList, now: dt.datetime | None = None
) -> tuple[bytes, Result]:
    """Sign in memory and verify against ``trust``; :class:`IssueError` unless valid."""
    signing_key = key.signing_key if isinstance(key, PrivateKey) else key
    try:
        token = sign(claims, signing_key)
    except ValueError as e:
        raise IssueError([str(e)]) from None
    result = verify(token, trust, now)
    problems = failure_reasons(result)
    if isinstance(key, PrivateKey) and result.key is not None and result.key.organization != key.org:
        problems.append(
            f"key file: says organization {key.org!r}, "
            f"but the trust list lists this key under {result.key.organization!r}"
        )
    if problems or result.status not in (VALID, TEST):
        raise IssueError(problems or [f"verification status {result.status}"])
    return token, result


def issue(req: Request, key: PrivateKey, trust: TrustList, now: dt.datetime | None = None) -> Issued:
    """One certificate: claims, signature, pre-flight verification, URL."""
    claims = make_claims(req)
    token, result = sign_checked(claims, key, trust, now)
    return Issued(claims, token, url_for(trust.verify_url, token), result)


# --- batches ----------------------------------------------------------------------------


def _line(source: str, line: int, message: str) -> Problem:
    """A problem with a whole CSV line (the header is line 1): no column."""
    return Problem(Loc(source, line, 0), message)


class BatchError(ValueError):
    """The batch was refused; nothing was issued. ``problems`` lists every bad row."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = sorted(problems)
        n = len({p.loc.line for p in self.problems})
        super().__init__(f"{source}: {n} bad line{'s' if n != 1 else ''}; nothing was issued")


@dataclass(frozen=True)
class BatchReport:
    out_dir: Path
    rows: int
    organization: str
    test: bool  # signed with the sandbox key: TEST certificates
    files: int = 0
    tokens: tuple[bytes, ...] = ()  # in row order: what an issuance record lists


def file_stem(serial: str) -> str:
    """A serial's file name: '/' (allowed in serials) becomes '_', which serials never hold."""
    return serial.replace("/", "_")


def read_csv(path: Path) -> tuple[list[tuple[int, Request]], list[Problem]]:
    """Rows with their line numbers, and every structural problem (columns, encoding)."""
    source = str(path)
    try:
        if path.stat().st_size > MAX_CSV_BYTES:
            return [], [_line(source, 1, f"file is larger than {MAX_CSV_BYTES // 2**20} MiB")]
        text = path.read_bytes().decode("utf-8-sig")  # Excel writes a BOM
    except UnicodeDecodeError as e:
        return [], [_line(source, 1, f"not UTF-8 text (byte {e.start}); save the sheet as CSV UTF-8")]
    except OSError as e:
        raise IssueError([f"{path}: cannot read: {e.strerror or e}"]) from None
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    problems: list[Problem] = []
    try:
        header = [h.strip() for h in next(reader, [])]
    except csv.Error as e:
        return [], [_line(source, 1, f"CSV: {e}")]
    if not any(header):
        return [], [_line(source, 1, "empty file: expected a header line " + ",".join(REQUIRED_COLUMNS))]
    known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    extra = [c for c in header if c not in known]
    dupes = sorted({c for c in header if header.count(c) > 1})
    if missing:
        problems.append(_line(source, 1, f"missing column{'s' * (len(missing) > 1)}: {', '.join(missing)}"))
    if extra:
        problems.append(
            _line(
                source,
                1,
                f"unknown column{'s' * (len(extra) > 1)}: {', '.join(extra)} (expected {', '.join(known)})",
            )
        )
    if dupes:
        problems.append(_line(source, 1, f"duplicate column: {', '.join(dupes)}"))
    if problems:
        return [], problems
    rows: list[tuple[int, Request]] = []
    line = reader.line_num + 1
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                line = reader.line_num + 1
                continue  # blank line
            if len(record) != len(header):
                problems.append(_line(source, line, f"expected {len(header)} fields, got {len(record)}"))
            else:
                cells = dict(zip(header, record, strict=True))
                rows.append(
                    (
                        line,
                        Request(
                            cells["certificate"],
                            cells["level"],
                            cells["serial"],
                            cells["name"],
                            cells["id_number"],
                            date=cells.get("date") or None,
                            college=cells.get("college") or None,
                            expires=cells.get("expires") or None,
                        ),
                    )
                )
            line = reader.line_num + 1
    except csv.Error as e:
        problems.append(_line(source, reader.line_num, f"CSV: {e}"))
    if not rows and not problems:
        problems.append(_line(source, 1, "no rows after the header"))
    return rows, problems


@dataclass(frozen=True)
class _Job:
    """What every row of a batch shares, sent once to each worker process (see _init)."""

    seed: bytes  # the signing key's: each process makes its own SigningKey from it
    org: str
    trust: TrustList
    now: dt.datetime
    day: dt.date
    out: str  # the temporary directory the files go into
    ecc: str


class _Worker(NamedTuple):
    job: _Job
    key: PrivateKey


# This process's batch (one at most), set once per process by _init so tasks carry only their rows.
_W: list[_Worker] = []

T = TypeVar("T")
R = TypeVar("R")


def _init(job: _Job) -> None:
    _W[:] = [_Worker(job, PrivateKey(job.org, SigningKey(job.seed)))]


def _check_chunk(rows: list[tuple[int, Request]]) -> list[tuple[int, bytes | None, list[str]]]:
    job, key = _W[0]
    done: list[tuple[int, bytes | None, list[str]]] = []
    for line, req in rows:
        try:
            token, _ = sign_checked(make_claims(req, job.day), key, job.trust, job.now)
            done.append((line, token, []))
        except IssueError as e:
            done.append((line, None, [redact(p, req) for p in e.problems]))
    return done


def _render_chunk(items: list[tuple[str, str]]) -> int:
    out, ecc = Path(_W[0].job.out), _W[0].job.ecc
    for serial, url in items:
        code = qr.encode(url, ecc)
        stem = file_stem(serial)
        _write_private(out / f"{stem}.svg", qr.to_svg(code).encode("ascii"))
        _write_private(out / f"{stem}.png", qr.to_png(code))
    return len(items)


# A batch's files: new (never through an existing name or link), and 0600 whatever the umask.
_PRIVATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def _write_private(path: Path, data: bytes) -> None:
    with open(os.open(path, _PRIVATE_FLAGS, 0o600), "wb") as f:
        f.write(data)


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def _duplicates(source: str, rows: Iterable[tuple[int, Request]]) -> list[Problem]:
    first: dict[str, tuple[int, str]] = {}
    problems = []
    for line, req in rows:
        serial = req.serial.strip()
        folded = file_stem(serial).casefold()  # A1 and a1 would share a file on some disks
        if folded in first:
            seen_line, seen = first[folded]
            what = "duplicate serial" if seen == serial else f"serial differs only in case from {seen!r}"
            problems.append(
                _line(source, line, redact(f"{what} {serial!r} (first on line {seen_line})", req))
            )
        else:
            first[folded] = (line, serial)
    return problems


def issue_batch(
    key: PrivateKey,
    csv_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    trust: TrustList,
    *,
    workers: int | None = None,
    ecc: str = "M",
    date: dt.date | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> BatchReport:
    """Check every row, then write tokens.csv and <serial>.svg/.png into a new ``out_dir``.

    The directory is private to the user (0700, its files 0600, whatever the umask): they
    carry the holders' names and ID number tails. It appears complete or not at all.

    ``progress(phase, total)`` returns an ``update(n)`` callback (the CLI passes tqdm).
    """
    source, out = str(csv_path), Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise IssueError([f"{out}: exists and is not an empty directory; refusing to write into it"])
    if ecc not in qr.EC_LEVELS:
        raise IssueError([f"ecc: expected one of {', '.join(qr.EC_LEVELS)}, got {ecc!r}"])
    rows, problems = read_csv(Path(csv_path))
    problems += _duplicates(source, rows)
    now = now or dt.datetime.now(dt.UTC)
    day = date or now.astimezone(CST).date()
    workers = max(1, workers or os.cpu_count() or 1)
    nothing = lambda _n: None  # noqa: E731

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        job = _Job(bytes(key.signing_key), key.org, trust, now, day, str(tmp), ecc)
        with _pool(workers, job) as pool:
            tokens: dict[int, bytes] = {}
            update = progress("checking", len(rows)) if progress else nothing
            for chunk in pool.map(_check_chunk, _chunks(rows)):
                for line, token, reasons in chunk:
                    problems += [_line(source, line, r) for r in reasons]
                    if token is not None:
                        tokens[line] = token
                update(len(chunk))
            if problems:
                raise BatchError(source, problems)
            items = [(req.serial.strip(), url_for(trust.verify_url, tokens[line])) for line, req in rows]
            with open(
                os.open(tmp / "tokens.csv", _PRIVATE_FLAGS, 0o600), "w", encoding="utf-8", newline=""
            ) as f:
                writer = csv.writer(f, lineterminator="\n")
                writer.writerow(("serial", "url"))
                writer.writerows(items)
            update = progress("writing", len(items)) if progress else nothing
            for n in pool.map(_render_chunk, _chunks(items)):
                update(n)
        # tmp stays 0700 as mkdtemp made it, whatever the umask: tokens.csv and the QR codes
        # carry the holders' names and ID number tails. Share it deliberately, not by default.
        os.rename(tmp, out)  # replaces an empty directory atomically on POSIX
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    org = trust.organizations.get(key.org)
    issued = tuple(tokens[line] for line, _ in rows)
    return BatchReport(
        out,
        len(rows),
        key.org,
        bool(org and org.sandbox),
        files=2 * len(rows) + 1,
        tokens=issued,
    )


class _pool:
    """``map(fn, chunks)`` in order: in this process for one worker, else a process pool."""

    def __init__(self, workers: int, job: _Job) -> None:
        self.workers, self.job = workers, job
        self.executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> _pool:
        if self.workers == 1:
            _init(self.job)
        else:
            self.executor = ProcessPoolExecutor(self.workers, initializer=_init, initargs=(self.job,))
        return self

    def map(self, fn: Callable[[T], R], chunks: Iterable[T]) -> Iterator[R]:
        return map(fn, chunks) if self.executor is None else self.executor.map(fn, chunks)

    def __exit__(self, *exc: object) -> None:
        if self.executor is not None:
            self.executor.shutdown(cancel_futures=True)
        _W.clear()
