"""`xcert serve` (verify_api/serve.py): several workers answer like one, no start without a
valid signed trust list, slow clients cannot hold connections.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import (
    REPO,
    RULES,
    Server,
    free_port,
    publish_signed,
    run_command,
    token,
)

from xcert.token import to_digits


def test_two_workers_answer_like_one(server: Server, rules_data: dict[str, Any], tmp_path: Path) -> None:
    publish_signed(tmp_path / "keys.json", rules_data)
    two = Server(tmp_path / "keys.json", tmp_path / "two.log", workers=2)
    tokens = [to_digits(token(**args)) for _, args, _, _ in RULES[:8]]

    def answers(url: str) -> list[tuple[str, list[str]]]:
        out = []
        with httpx.Client(base_url=url, timeout=10) as client:
            for digits in tokens * 3:
                data = client.get("/api/v1/verify", params={"token": digits}).json()
                out.append((data["status"], [c["code"] for c in data["checks"]]))
        return out

    try:
        assert answers(two.url) == answers(server.url)
    finally:
        two.stop()


@pytest.mark.parametrize(
    "damage",
    ["no metadata", "tampered keys.json", "unsigned"],
)
def test_refuses_to_start_without_valid_signed_trust_data(
    tmp_path: Path, rules_data: dict[str, Any], damage: str
) -> None:
    path = tmp_path / "keys.json"
    if damage == "no metadata":
        path.write_text(json.dumps(rules_data), encoding="utf-8")
    else:
        REPO.publish(rules_data, tmp_path, reviewers=[] if damage == "unsigned" else None)
        if damage == "tampered keys.json":
            path.write_bytes(path.read_bytes().replace(b'"care-org"', b'"evil-org"'))
    root, state = str(REPO.root), str(tmp_path / "state")
    cli = run_command(
        [sys.executable, "-m", "xcert.cli", "serve", "--trust", str(path), "--root", root, "--state", state]
    )
    assert cli.returncode == 1 and "trust update from" in cli.stderr and "refused" in cli.stderr, cli.stderr
    assert "Traceback" not in cli.stderr
    env = {"XCERT_TRUST": str(path), "XCERT_ROOT": root, "XCERT_STATE_DIR": state}
    plain = run_command(
        [sys.executable, "-m", "uvicorn", "verify_api.app:app", "--port", str(free_port())], env
    )
    assert plain.returncode != 0 and "verify_api: cannot start: " in plain.stderr, plain.stderr
    assert "Traceback" not in plain.stderr


def test_slow_clients_cannot_hold_connections(rules_data: dict[str, Any], tmp_path: Path) -> None:
    """20 connections sending partial headers, and a POST declaring 100 bytes and sending 1,
    held connections for 40 s and 20 s before; now the header and body timeouts end them."""
    publish_signed(tmp_path / "keys.json", rules_data)
    srv = Server(tmp_path / "keys.json", tmp_path / "server.log", header_timeout=1.0, body_timeout=1.0)
    try:
        loris = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(20)]
        for sock in loris:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        post = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        post.sendall(b"POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
        post.sendall(b"Content-Length: 100\r\n\r\n{")
        started = time.monotonic()
        assert b"408" in post.recv(4096).split(b"\r\n", 1)[0]
        for sock in loris:
            assert sock.recv(4096) == b""  # closed by the server, not answered
        assert time.monotonic() - started < 8
        for sock in [*loris, post]:
            sock.close()
        assert httpx.get(srv.url + "/healthz", timeout=5).status_code == 200  # still serving
    finally:
        srv.stop()
