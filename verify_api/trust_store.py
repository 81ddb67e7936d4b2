"""The trust list the service verifies against: loaded once, then polled for changes.

A request reads `store.snapshot` once and uses that object to the end, so a reload (one
attribute assignment) never drops or splits a request. A failed reload keeps the last
good snapshot and records the error; `/readyz` and every result report how old the data
is, so a stale verifier is visible instead of silent.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from xcert.trust import TrustList, TrustListError, is_url, parse_trust_list
from xcert.verify import prepare

log = logging.getLogger("verify_api.trust")

FETCH_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One loaded trust list and when it was loaded (monotonic and wall clock)."""

    trust: TrustList
    loaded_at: dt.datetime
    loaded_mono: float


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class TrustStore:
    """Holds the current trust list from a local path or an http(s) URL."""

    def __init__(self, source: str) -> None:
        assert source, "trust source must be a path or an http(s) URL"
        self.source = str(source)
        self.snapshot: Snapshot | None = None
        self.checked_mono = 0.0  # last time the source was confirmed (loaded or unchanged)
        self.last_error: str | None = None
        self.last_error_at: dt.datetime | None = None
        self._seen: object = None  # file signature or (etag, last-modified) of the snapshot
        self._failed: object = None  # signature of the last source that failed to parse
        self._status: tuple[Snapshot | None, int | None, dt.datetime | None, dict[str, object]] | None = None

    # ------------------------------------------------------------- loading

    def load(self) -> Snapshot:
        """First load, synchronous: raises TrustListError with a clear message."""
        if is_url(self.source):
            try:
                response = httpx.get(self.source, timeout=FETCH_TIMEOUT, follow_redirects=True)
                response.raise_for_status()
            except httpx.HTTPError as e:
                raise TrustListError(f"cannot fetch trust list {self.source}: {e}") from e
            self._install(parse_trust_list(response.content), _http_signature(response))
        else:
            signature, raw = self._read_file()
            self._install(parse_trust_list(raw), signature)
        assert self.snapshot is not None
        return self.snapshot

    def _read_file(self) -> tuple[object, bytes]:
        path = Path(self.source)
        try:
            st = path.stat()
            raw = path.read_bytes()
        except OSError as e:
            raise TrustListError(f"cannot read trust list {self.source}: {e.strerror or e}") from e
        return _file_signature(st), raw

    def _install(self, trust: TrustList, signature: object) -> None:
        prepare(trust)  # normally done already, in the loading thread; cheap when it was
        self.snapshot = Snapshot(trust, _utc_now(), time.monotonic())
        self.checked_mono = time.monotonic()
        self._seen, self._failed = signature, None
        self.last_error = self.last_error_at = None

    def _fail(self, message: str, signature: object = None) -> None:
        self._failed = signature
        self.last_error, self.last_error_at = message, _utc_now()
        log.warning("trust list reload failed, keeping version %s: %s", self.version, message)

    # ------------------------------------------------------------- polling

    async def refresh(self) -> bool:
        """Reload if the source changed; True when new data was installed. Never raises."""
        try:
            if is_url(self.source):
                return await self._refresh_url()
            return await self._refresh_file()
        except Exception as e:  # a poller must survive anything and keep the last good data
            self._fail(f"{type(e).__name__}: {e}")
            return False

    async def _refresh_file(self) -> bool:
        try:
            signature = _file_signature(os.stat(self.source))
        except OSError as e:
            self._fail(f"cannot read trust list {self.source}: {e.strerror or e}")
            return False
        if signature == self._seen:
            # Unchanged (or the good file is back after a broken or missing one): current again.
            self.checked_mono = time.monotonic()
            self._failed = self.last_error = self.last_error_at = None
            return False
        if signature == self._failed:
            return False  # same broken file as last time: the error stays reported
        try:
            # Parsing a large list takes a while: keep it off the event loop.
            signature, raw = await asyncio.to_thread(self._read_file)
            trust = await asyncio.to_thread(_parse_and_prepare, raw)
        except TrustListError as e:
            self._fail(str(e), signature)
            return False
        self._install(trust, signature)
        log.info("trust list reloaded: version %s", trust.version)
        return True

    async def _refresh_url(self) -> bool:
        headers = {}
        if isinstance(self._seen, tuple):
            etag, modified = self._seen
            if etag:
                headers["If-None-Match"] = etag
            if modified:
                headers["If-Modified-Since"] = modified
        async with httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=True) as client:
            try:
                response = await client.get(self.source, headers=headers)
            except httpx.HTTPError as e:
                self._fail(f"cannot fetch trust list {self.source}: {e}")
                return False
        if response.status_code == 304:
            self.checked_mono = time.monotonic()
            self._failed = self.last_error = self.last_error_at = None
            return False
        if response.status_code != 200:
            self._fail(f"cannot fetch trust list {self.source}: HTTP {response.status_code}")
            return False
        try:
            trust = await asyncio.to_thread(_parse_and_prepare, response.content)
        except TrustListError as e:
            self._fail(str(e))
            return False
        if self.snapshot is not None and trust.version == self.snapshot.trust.version:
            self._seen = _http_signature(response)  # same data, new validators: no swap needed
            self.checked_mono = time.monotonic()
            self._failed = self.last_error = self.last_error_at = None
            return False
        self._install(trust, _http_signature(response))
        log.info("trust list reloaded: version %s", trust.version)
        return True

    async def poll(self, seconds: float) -> None:
        """Run forever (cancelled at shutdown), refreshing every `seconds`."""
        while True:
            await asyncio.sleep(seconds)
            await self.refresh()

    @contextlib.asynccontextmanager
    async def polling(self, seconds: float):  # type: ignore[no-untyped-def]
        """Poll in the background for the life of the app (used by the lifespan)."""
        task = asyncio.create_task(self.poll(seconds)) if seconds > 0 else None
        try:
            yield self
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # ------------------------------------------------------------- reporting

    @property
    def version(self) -> str | None:
        return self.snapshot.trust.version if self.snapshot else None

    def age_seconds(self) -> int:
        """Seconds since the source was last confirmed: grows while reloads fail."""
        return int(time.monotonic() - self.checked_mono)

    def status(self) -> dict[str, object]:
        """What every result reports about the data: a fresh dict, built again only when the
        snapshot, its age in whole seconds or the error state changed (at most once a second)."""
        snap = self.snapshot
        age = self.age_seconds() if snap else None
        cached = self._status
        if cached is None or cached[0] is not snap or cached[1] != age or cached[2] is not self.last_error_at:
            cached = self._status = (snap, age, self.last_error_at, self._build_status(snap, age))
        return dict(cached[3])

    def _build_status(self, snap: Snapshot | None, age: int | None) -> dict[str, object]:
        return {
            "loaded": snap is not None,
            "source": "url" if is_url(self.source) else "file",
            "version": snap.trust.version if snap else None,
            "generated_at": snap.trust.generated_at if snap else None,
            "loaded_at": _iso(snap.loaded_at) if snap else None,
            "age_seconds": age,
            "stale": self.last_error is not None,
            "last_error": self.last_error,
            "last_error_at": _iso(self.last_error_at) if self.last_error_at else None,
        }


def _parse_and_prepare(raw: bytes) -> TrustList:
    trust = parse_trust_list(raw)
    prepare(trust)
    return trust


def _iso(instant: dt.datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def _file_signature(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _http_signature(response: httpx.Response) -> tuple[str | None, str | None]:
    return (response.headers.get("etag"), response.headers.get("last-modified"))
