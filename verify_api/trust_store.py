"""The trust list the service verifies against: proven by TUF metadata, then polled.

Every load goes through xcert.tufclient (the one fetcher and update workflow, from the
pinned root). A request reads `store.snapshot` once and uses that object to the end, so a
reload (one attribute assignment) never drops or splits a request. A failed update keeps
the last good signed state and is reported as "last update failed at T" (the details,
which may name hosts, go to the log only). Once the timestamp metadata of the state in use
has expired, nothing verifies as VALID and /readyz answers 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from xcert.model import utc_z
from xcert.trust import TrustList, TrustListError
from xcert.tufclient import TrustClient, default_state_dir, is_url, read_pinned_root, redact
from xcert.verify import prepare

log = logging.getLogger("verify_api.trust")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One verified trust list and when it was loaded (monotonic and wall clock)."""

    trust: TrustList
    loaded_at: dt.datetime
    loaded_mono: float


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class TrustStore:
    """Holds the current signed trust list from a published keys.json (URL or path)."""

    def __init__(self, source: str, root: str | Path, state_dir: str | Path | None = None) -> None:
        assert source, "trust source must be a path or an https URL of keys.json"
        self.source = str(source)
        state = Path(state_dir) if state_dir else default_state_dir(self.source)
        self.client = TrustClient(self.source, read_pinned_root(root), state)
        self.snapshot: Snapshot | None = None
        self.checked_mono = 0.0  # last time the source was confirmed current
        self.last_error_at: dt.datetime | None = None
        self._status: tuple[tuple[object, ...], dict[str, object]] | None = None  # (key, status)

    # ------------------------------------------------------------- loading

    def load(self) -> Snapshot:
        """First load, synchronous: raises TrustListError with a clear message."""
        self._install(self.client.update())
        assert self.snapshot is not None
        return self.snapshot

    def _install(self, trust: TrustList) -> None:
        prepare(trust)  # the verification index, off the request path (kept when keys.json is unchanged)
        if self.snapshot is None or trust is not self.snapshot.trust:
            self.snapshot = Snapshot(trust, _utc_now(), time.monotonic())
        self.checked_mono = time.monotonic()
        self.last_error_at = None

    async def refresh(self) -> bool:
        """Run the TUF update; True when a new state was installed. Never raises."""
        current = self.snapshot.trust if self.snapshot else None
        try:
            trust = await asyncio.to_thread(self.client.update, current)
        except Exception as e:  # a poller must survive anything and keep the last good data
            self.last_error_at = _utc_now()
            log.warning("trust update failed, keeping version %s: %s", self.version, e)
            return False
        changed = current is None or trust.version != current.version
        self._install(trust)
        if changed:
            log.info("trust list updated: version %s from %s", trust.version, redact(self.source))
        return changed

    async def poll(self, seconds: float) -> None:
        """Run forever (cancelled at shutdown), refreshing every `seconds`."""
        while True:
            await asyncio.sleep(seconds)
            await self.refresh()

    @contextlib.asynccontextmanager
    async def polling(self, seconds: float) -> AsyncIterator[TrustStore]:
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
        """Seconds since the source was last confirmed: grows while updates fail."""
        return int(time.monotonic() - self.checked_mono)

    def expired(self, now: dt.datetime | None = None) -> bool:
        signed = self.snapshot.trust.signed if self.snapshot else None
        return signed is not None and (now or dt.datetime.now(dt.UTC)) >= signed.expires

    def status(self) -> dict[str, object]:
        """What every result reports about the data: a fresh dict, built again only when the
        snapshot, its age in whole seconds, the error or the expiry state changed."""
        snap = self.snapshot
        age = self.age_seconds() if snap else None
        key = (snap, snap.trust.signed if snap else None, age, self.last_error_at, self.expired())
        if self._status is None or self._status[0] != key:
            self._status = (key, self._build_status(snap, age))
        return dict(self._status[1])

    def _build_status(self, snap: Snapshot | None, age: int | None) -> dict[str, object]:
        signed = snap.trust.signed if snap else None
        expired = self.expired()
        error = None
        if self.last_error_at:
            error = (
                f"last update failed at {utc_z(self.last_error_at)}; "
                "the last good signed trust list is in use"
            )
        if expired:
            error = "the trust list's signed timestamp has expired: no certificate can be confirmed VALID"
        return {
            "loaded": snap is not None,
            "source": "url" if is_url(self.source) else "file",
            "version": snap.trust.version if snap else None,
            **(signed.to_dict() if signed else {}),
            "loaded_at": utc_z(snap.loaded_at) if snap else None,
            "age_seconds": age,
            "stale": expired or self.last_error_at is not None,
            "expired": expired,
            "last_error": error,
            "last_error_at": utc_z(self.last_error_at) if self.last_error_at else None,
            "records": len(snap.trust.records) if snap else 0,
            "record_problems": list(snap.trust.record_problems) if snap else [],
        }


def load_store(source: str, root: str | Path, state_dir: str | Path | None = None) -> TrustStore:
    """A loaded store, or TrustListError."""
    store = TrustStore(source, root, state_dir)
    store.load()
    return store


__all__ = ["Snapshot", "TrustListError", "TrustStore", "load_store"]
