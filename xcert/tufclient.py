"""The signed trust list, client side: the one way a verifier gets a published trust list.

`--trust` names the published ``keys.json`` (an https URL, or a local path); its TUF
metadata sits at fixed names beside it (``tuf/timestamp.json`` …). Every update is
python-tuf's client workflow from a pinned root: root rotation (each new root signed by
the old threshold), then timestamp, snapshot and targets, each checked for signatures,
thresholds, versions that never go down and expiry, and finally keys.json against the
length and hash the security reviewers signed. The verified state lives in a state
directory, so rollback protection survives a restart.

Transport rules, whatever the metadata says: https only (plain http only to a loopback
address, for local runs and tests), redirects only within the same origin, bounded
sizes, and a wall-clock deadline per file (a trickling server fails the update, it does not
hold it). Errors name the source without its credentials or query string.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import hashlib
import ipaddress
import json
import os
import re
import ssl
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import httpcore
import httpx
import yaml
from tuf.api.exceptions import DownloadError, DownloadHTTPError, RepositoryError
from tuf.api.metadata import Metadata, Root, Snapshot, Targets, Timestamp
from tuf.ngclient import Updater
from tuf.ngclient.fetcher import FetcherInterface

from .issuance import PublishedRecord, Record, RecordError
from .model import china_time
from .trust import SignedBy, TrustList, TrustListError, parse_trust_list
from .tufrepo import FIRST_PUBLISHED, META_DIR, TARGET, is_test_root, valid_signers

SEEN_FILE = "issuance-seen.json"  # in the state directory: the records this verifier has seen

FETCH_TIMEOUT = 30.0  # per read: bounds a silent server, not a slow one
# A whole file (redirects, headers and body) must arrive within FILE_DEADLINE seconds, plus
# the time its allowed length takes at MIN_RATE bytes/s. Metadata is a few kB and arrives
# in well under a second on any working link; 60 s leaves room for a slow, congested link
# and a TLS handshake. Without it a man in the middle sending a byte every 29 s held an
# update (the state directory's lock, the service's poller, which reported nothing wrong)
# for hours per file; now an update fails within about a minute and is reported like any
# other failure. The length allowance keeps big files that are signed to be big (keys.json,
# a leaves file of millions of hashes) fetchable over a slow but honest link.
FILE_DEADLINE = 60.0
MIN_RATE = 100_000
MAX_REDIRECTS = 3


def redact(url: str) -> str:
    """scheme://host[:port]/path: no user, password, query or fragment (they carry secrets)."""
    if not is_url(url):
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def is_url(source: str) -> bool:
    """Whether a trust source is written as a URL (any scheme, any case): check_url then
    allows only https, so `HTTPS://…` works and `file://…` or `ftp://…` is refused, not
    taken for a local path."""
    return re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", source) is not None


def is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def check_url(url: str) -> None:
    """Refuse what a verifier must never fetch trust from."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return
    raise TrustListError(f"trust source {redact(url)}: only https (plain http only to a loopback address)")


class _Deadline:
    """The wall-clock end of the current file's download, shared by the fetcher and every
    connection it opens: each network wait is cut to what is left, and none starts after."""

    def __init__(self) -> None:
        self.end = float("inf")
        self.limit = 0.0  # seconds, for the message

    def cap(self, timeout: float | None) -> float | None:
        left = self.end - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout(f"download deadline of {self.limit:g} s passed")
        if left == float("inf"):
            return timeout
        return left if timeout is None else min(timeout, left)

    def passed(self) -> bool:
        return time.monotonic() >= self.end


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream, self._deadline = stream, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.cap(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.cap(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, self._deadline.cap(timeout))
        return _DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend, deadline: _Deadline) -> None:
        self._backend, self._deadline = backend, deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, self._deadline.cap(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class TrustFetcher(FetcherInterface):
    """python-tuf's fetcher for our rules: https/loopback-http or file://, same-origin
    redirects only, a not-found that python-tuf recognises (it ends a root walk), and a
    wall-clock deadline per file (FILE_DEADLINE), not just per read."""

    def __init__(
        self, timeout: float = FETCH_TIMEOUT, file_deadline: float = FILE_DEADLINE, min_rate: int = MIN_RATE
    ) -> None:
        self.file_deadline, self.min_rate = file_deadline, min_rate
        self._deadline = _Deadline()
        self._max_length = 0
        # httpx has no overall timeout: every socket wait of its connection pool goes
        # through _DeadlineBackend, so a trickle of headers is cut off as well as of a body.
        transport = httpx.HTTPTransport(trust_env=False)
        pool = getattr(transport, "_pool", None)
        if not isinstance(pool, httpcore.ConnectionPool) or not hasattr(pool, "_network_backend"):
            raise RuntimeError("httpx/httpcore changed: TrustFetcher cannot bound its downloads")
        pool._network_backend = _DeadlineBackend(pool._network_backend, self._deadline)
        self._client = httpx.Client(
            timeout=timeout, follow_redirects=False, trust_env=False, transport=transport
        )

    def close(self) -> None:
        self._client.close()

    @contextlib.contextmanager
    def download_file(self, url: str, max_length: int) -> Iterator[IO[bytes]]:
        self._max_length = max_length  # python-tuf's bound (for a target, its signed length)
        try:
            with super().download_file(url, max_length) as file:
                yield file
        finally:
            self._max_length = 0

    def _expired(self, url: str) -> DownloadError:
        return DownloadError(
            f"{redact(url)}: not received within the {self._deadline.limit:g} s allowed for it "
            "(a stalled or deliberately slow server)"
        )

    def _fetch(self, url: str) -> Iterator[bytes]:
        if url.startswith("file://"):
            return self._fetch_file(url)
        check_url(url)
        self._deadline.limit = round(self.file_deadline + self._max_length / self.min_rate, 1)
        self._deadline.end = time.monotonic() + self._deadline.limit
        origin = urlsplit(url)[:2]
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = self._client.send(self._client.build_request("GET", url), stream=True)
            except httpx.HTTPError as e:  # its message may hold the URL, credentials included
                if self._deadline.passed():
                    raise self._expired(url) from None
                raise DownloadError(f"{redact(url)}: {type(e).__name__}") from None
            if response.is_redirect:
                response.close()
                target = urljoin(url, response.headers.get("location", ""))
                if urlsplit(target)[:2] != origin:
                    raise DownloadError(
                        f"{redact(url)}: redirect to another origin refused ({redact(target)})"
                    )
                url = target
                continue
            if response.status_code != 200:
                response.close()
                raise DownloadHTTPError(f"{redact(url)}: HTTP {response.status_code}", response.status_code)
            return self._chunks(response, url)
        raise DownloadError(f"{redact(url)}: more than {MAX_REDIRECTS} redirects")

    def _chunks(self, response: httpx.Response, url: str) -> Iterator[bytes]:
        try:
            for chunk in response.iter_bytes():
                if self._deadline.passed():
                    raise self._expired(url)
                yield chunk
        except httpx.HTTPError as e:  # mid-body: a DownloadError too, so it is reported as one
            if self._deadline.passed():
                raise self._expired(url) from None
            raise DownloadError(f"{redact(url)}: {type(e).__name__}") from None
        finally:
            response.close()

    @staticmethod
    def _fetch_file(url: str) -> Iterator[bytes]:
        path = Path(url2pathname(urlsplit(url).path))  # as_uri() percent-encoded it
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise DownloadHTTPError(f"{path}: not found", 404) from None
        except OSError as e:
            raise DownloadError(f"{path}: {e.strerror or e}") from e
        return iter([data])


def base_urls(source: str) -> tuple[str, str]:
    """(metadata base, target base) for a published keys.json URL or path."""
    if is_url(source):
        check_url(source)
        parts = urlsplit(source)
        base = f"{parts.scheme}://{parts.netloc}{parts.path.rsplit('/', 1)[0]}/"
    else:
        # not resolve(): a path through the release symlink (current/keys.json) must follow it
        base = Path(os.path.abspath(source)).parent.as_uri() + "/"
    if (urlsplit(source).path if is_url(source) else source).rsplit("/", 1)[-1] != TARGET:
        raise TrustListError(f"trust source {redact(source)}: expected the published {TARGET}")
    return base + META_DIR + "/", base


def default_state_dir(source: str) -> Path:
    """Per source, so two registries never share rollback state."""
    home = os.environ.get("XCERT_STATE_DIR") or os.environ.get("XDG_STATE_HOME") or "~/.local/state"
    name = source if is_url(source) else os.path.abspath(source)
    return Path(home).expanduser() / "xcert" / hashlib.sha256(redact(name).encode()).hexdigest()[:16]


@dataclass
class TrustClient:
    """Fetches and verifies the signed trust list; `update()` is safe to call repeatedly."""

    source: str
    root: bytes  # the pinned root (any version this verifier trusts as its anchor)
    state_dir: Path
    file_deadline: float = FILE_DEADLINE  # seconds per file (see FILE_DEADLINE); tests lower it

    def __post_init__(self) -> None:
        self.metadata_url, self.target_url = base_urls(self.source)
        try:
            Metadata[Root].from_bytes(self.root)
        except Exception as e:
            raise TrustListError(f"pinned root is not valid TUF root metadata: {e}") from e

    def update(self, current: TrustList | None = None) -> TrustList:
        """The newest trust list the metadata proves, or TrustListError (state kept as it was).

        When keys.json did not change, `current` is returned with the new signature facts
        (and its verification index kept)."""
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fetcher = TrustFetcher(file_deadline=self.file_deadline)
        try:
            with self._locked():
                updater = Updater(
                    str(self.state_dir),
                    self.metadata_url,
                    str(self.state_dir / "targets"),
                    self.target_url,
                    fetcher,
                    bootstrap=self.root,
                )
                updater.refresh()
                info = updater.get_targetinfo(TARGET)
                if info is None:
                    raise TrustListError(f"{redact(self.source)}: the signed targets list no {TARGET}")
                path = updater.find_cached_target(info) or updater.download_target(info)
                signed = self._signed_by()
                digest = info.hashes.get("sha256")
                records, record_problems = self._records(updater, signed.timestamp_version)
                seen = (tuple((r.record.path, r.published) for r in records), record_problems)
                if (
                    current is not None
                    and current.derived.get(TARGET) == digest
                    and current.derived.get(SEEN_FILE) == seen
                ):
                    return dataclasses.replace(current, signed=signed, derived=current.derived)
                trust = parse_trust_list(Path(path).read_bytes())
                trust = dataclasses.replace(trust, records=records, record_problems=record_problems)
        except (RepositoryError, DownloadError, OSError, ValueError) as e:
            if isinstance(e, TrustListError):
                raise
            raise TrustListError(
                f"trust update from {redact(self.source)} refused: {type(e).__name__}: {e}"
            ) from e
        finally:
            fetcher.close()
        trust.derived[TARGET] = digest  # the signed hash: an unchanged list is not parsed again
        trust.derived[SEEN_FILE] = seen
        return dataclasses.replace(trust, signed=signed, derived=trust.derived)

    # ------------------------------------------------------------- issuance records

    def _records(self, updater: Updater, version: int) -> tuple[tuple[PublishedRecord, ...], tuple[str, ...]]:
        """The records the publisher lists in the snapshot, each proven through the
        delegation walk (signed by its organization's records role), with the first
        publication time the snapshot gives. A record that changed, or appeared with a
        publication time this verifier has already seen pass without it, is refused and
        reported; the rest stay usable."""
        snapshot = Metadata[Snapshot].from_bytes((self.state_dir / "snapshot.json").read_bytes()).signed
        listed = snapshot.unrecognized_fields.get(FIRST_PUBLISHED, {})
        seen_path = self.state_dir / SEEN_FILE
        try:
            seen = json.loads(seen_path.read_text(encoding="utf-8")) if seen_path.exists() else {}
            last, before = seen.get("version"), dict(seen.get("records", {}))
        except (OSError, ValueError, AttributeError):
            last, before = None, {}  # a damaged memory: start again rather than stop verifying
        accepted: list[PublishedRecord] = []
        problems: list[str] = []
        remembered = dict(before)
        if not isinstance(listed, dict):
            listed = {}
            problems.append("the snapshot's record list is not a mapping: no record used")
        for path, entry in sorted(listed.items()):
            try:
                sha, published = str(entry["sha256"]), int(entry["published"])
                record, leaves = self._record(updater, path, sha)
            except (
                RepositoryError,
                DownloadError,
                RecordError,
                OSError,
                LookupError,
                TypeError,
                ValueError,
            ) as e:
                problems.append(f"{path}: refused: {e}")
                continue
            first = before.get(path)
            when = _iso(published)
            if first is not None and (first.get("sha256"), first.get("published")) != (sha, published):
                problems.append(
                    f"{path}: refused: it changed since this verifier first saw it "
                    f"(published {_iso(first.get('published'))}); a record never changes"
                )
                continue
            if first is None and last is not None and published <= last:
                problems.append(
                    f"{path}: refused: it appeared retroactively (says first published {when}, but the "
                    f"version of {_iso(last)} seen here did not hold it)"
                )
                continue
            if published > version:
                problems.append(
                    f"{path}: refused: first published {when}, after this version ({_iso(version)})"
                )
                continue
            remembered[path] = {"sha256": sha, "published": published}
            moment = dt.datetime.fromtimestamp(published, dt.UTC)
            accepted.append(PublishedRecord(record, moment, leaves))
        problems += [
            f"{p}: a record this verifier saw is no longer published"
            for p in sorted(set(before) - set(listed))
        ]
        tmp = seen_path.with_name(SEEN_FILE + ".tmp")
        tmp.write_text(
            json.dumps({"version": version, "records": remembered}, sort_keys=True), encoding="utf-8"
        )
        tmp.replace(seen_path)
        return tuple(accepted), tuple(problems)

    @staticmethod
    def _record(updater: Updater, path: str, sha256: str) -> tuple[Record, Path]:
        info = updater.get_targetinfo(path)
        if info is None:
            raise RecordError("not signed by its organization's records role")
        if info.hashes.get("sha256") != sha256:
            raise RecordError("the publisher's hash differs from the one its organization signed")
        data = Path(updater.find_cached_target(info) or updater.download_target(info)).read_bytes()
        try:
            parsed = yaml.safe_load(data)
        except yaml.YAMLError as e:
            raise RecordError(f"not YAML: {e}") from None
        if not isinstance(parsed, dict):
            raise RecordError("not a record")
        record = Record.from_mapping(parsed)
        if record.path != path:
            raise RecordError(f"it names {record.path}")
        leaves_info = updater.get_targetinfo(record.leaves_path)
        if leaves_info is None:
            raise RecordError(f"its leaves {record.leaves_path} are not signed by its organization")
        if leaves_info.hashes.get("sha256") != record.leaves_sha256.hex():
            raise RecordError("its leaves file is not the one the record names")
        cached = updater.find_cached_target(leaves_info)
        leaves = Path(cached or updater.download_target(leaves_info))
        if cached is None:  # first time: the whole check, tree hash included (seconds at 5 M)
            record.check_leaves(leaves.read_bytes())
        return record, leaves

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        # Several workers may share one state directory: one update at a time.
        with open(self.state_dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _signed_by(self) -> SignedBy:
        """What the just-verified metadata in the state directory says."""

        def load(name: str) -> Metadata:
            return Metadata.from_bytes((self.state_dir / f"{name}.json").read_bytes())

        root: Root = load("root").signed
        targets_md = load("targets")
        snapshot: Snapshot = load("snapshot").signed
        timestamp: Timestamp = load("timestamp").signed
        targets: Targets = targets_md.signed
        return SignedBy(
            root_version=root.version,
            test_root=is_test_root(root),
            targets_version=targets.version,
            signed_by=valid_signers(root, targets_md),
            threshold=root.get_delegated_role(Targets.type).threshold,
            snapshot_version=snapshot.version,
            timestamp_version=timestamp.version,
            expires=min(timestamp.expires, snapshot.expires, targets.expires, root.expires),
        )


def _iso(seconds: object) -> str:
    """A publication time as people read it (China time); anything else as it came."""
    return china_time(seconds) if isinstance(seconds, int) else str(seconds)


def read_pinned_root(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise TrustListError(f"cannot read the pinned root {path}: {e.strerror or e}") from e


def fetch_signed(source: str, root: str | Path, state_dir: Path | None = None) -> TrustList:
    """One verified fetch, for the CLI: the trust list at `source`, proven from `root`."""
    client = TrustClient(source, read_pinned_root(root), state_dir or default_state_dir(source))
    return client.update()


def expired(trust: TrustList, now: dt.datetime) -> bool:
    return trust.signed is not None and now >= trust.signed.expires
