"""The service's trust list (verify_api/trust_store.py): reloads keep serving, a failed update
keeps the last good signed list and says so.
"""

from __future__ import annotations

import asyncio
import copy
import os
import time
from pathlib import Path
from typing import Any

import httpx
from conftest import (
    RECENT,
    REPO,
    Server,
    publish_signed,
    token,
)

from verify_api.trust_store import TrustStore
from xcert.token import to_digits
from xcert.verify import REVOKED


def test_reload_keeps_serving_and_keeps_the_last_good_list(
    rules_data: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "keys.json"
    publish_signed(path, rules_data)
    srv = Server(path, tmp_path / "server.log", workers=2, poll=0.2)
    digits = to_digits(token())

    def versions(client: httpx.Client, n: int = 12) -> set[str]:
        return {
            client.get("/api/v1/verify", params={"token": digits}).json()["trust"]["version"]
            for _ in range(n)
        }

    def wait_for(check: Any) -> None:
        deadline = time.monotonic() + 10
        while not check():
            assert time.monotonic() < deadline, srv.output()
            time.sleep(0.1)

    try:
        with httpx.Client(base_url=srv.url, timeout=10) as client:
            assert versions(client) == {"test"}
            # A new list: every worker picks it up; revoking the serial changes the verdict.
            changed = copy.deepcopy(rules_data)
            changed["version"] = "v2"
            care = next(o for o in changed["organizations"] if o["id"] == "care-org")
            care["revocations"].append(
                {"serial": "2023000000000001", "date": RECENT, "reason": "测试", "certificate": None}
            )
            publish_signed(path, changed)
            wait_for(lambda: versions(client) == {"v2"})
            assert client.get("/api/v1/verify", params={"token": digits}).json()["status"] == REVOKED

            # A garbled publication: the last good list stays, and /readyz and every result
            # say so, without details that could carry secrets. (A garbled keys.json alone is
            # never even fetched again: the verified copy is kept until the metadata changes.)
            (path.parent / "tuf" / "timestamp.json").write_bytes(b"{not json")
            wait_for(lambda: all(client.get("/readyz").json()["trust"]["stale"] for _ in range(6)))
            ready = client.get("/readyz").json()
            assert ready["ready"] is True and "last update failed at" in ready["trust"]["last_error"]
            result = client.get("/api/v1/verify", params={"token": digits}).json()
            assert result["status"] == REVOKED and result["trust"]["version"] == "v2"
            assert result["trust"]["stale"] is True and result["trust"]["age_seconds"] >= 0
            time.sleep(1.2)
            assert client.get("/readyz").json()["trust"]["age_seconds"] >= 1  # grows while failing
            assert "信任列表更新失败" in client.get(f"/c/{digits}").text

            # The original list again: fresh data, no error.
            publish_signed(path, rules_data)
            wait_for(lambda: versions(client) == {"test"})
            assert not client.get("/readyz").json()["trust"]["stale"]
    finally:
        srv.stop()
    assert "trust update failed" in srv.output()


def test_trust_store_keeps_the_last_good_state_and_recovers(
    rules_data: dict[str, Any], tmp_path: Path
) -> None:
    """Metadata gone (a broken deploy): the last good list stays in use and the failure is
    reported without details; the same metadata back makes it current again."""
    path = tmp_path / "site" / "keys.json"
    path.parent.mkdir()
    publish_signed(path, rules_data)
    store = TrustStore(str(path), REPO.root, tmp_path / "state")
    store.load()
    assert store.status()["stale"] is False and store.status()["signed_by"] == ["reviewer-1", "reviewer-2"]
    os.replace(path.parent / "tuf", tmp_path / "away")
    assert asyncio.run(store.refresh()) is False
    status = store.status()
    assert status["stale"] is True and status["version"] == "test"
    assert "last update failed at" in str(status["last_error"]) and str(tmp_path) not in str(
        status["last_error"]
    )
    os.replace(tmp_path / "away", path.parent / "tuf")
    assert asyncio.run(store.refresh()) is False  # same content: nothing new installed
    assert store.status()["stale"] is False and store.status()["last_error"] is None
