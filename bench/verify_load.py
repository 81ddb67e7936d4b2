"""Load test of the verify service against a ceiling app; prints one JSON line.

    python bench/verify_load.py                      # 10,000 valid tokens (+3% invalid), 32 connections
    python bench/verify_load.py --requests 100000    # the long run: 200,000 to the service; is RSS flat?

Starts, on loopback, the service (`xcert serve`, 1 worker, its privacy-safe access log
on) and a ceiling app: a bare Starlette endpoint doing only the unavoidable work (digits
to bytes, COSE decode, one PyNaCl verify, a one-field JSON answer) under the same uvicorn.
A separate load-generator process (pure asyncio, raw HTTP/1.1 keep-alive, so the client
costs the server as little as possible) drives each with the same tokens:

* ceiling  GET /c/{digits}
* json     GET /api/v1/verify?token={digits}  -> ratio_json = json / ceiling
* html     GET /c/{digits}                   -> ratio_html = html / ceiling

in interleaved rounds (median of the per-round ratios), so a noisy neighbour hurts all three
alike. The servers' CPU time per request is reported too (`cpu_us_per_req`, `ratio_*_cpu`,
also medians of per-round ratios). On a shared machine that is the headline: with one
worker saturated, req/s is 1 / CPU per request plus whatever the neighbours take, and the
req/s ratios move with their load; `client_cpu_us_per_req` shows the load generator is not
the limit (it runs on uvloop when installed, which changes nothing on the servers' side).

Both servers run under uvicorn with its defaults, so they use the same HTTP parser and
event loop: httptools and uvloop when installed (they are project dependencies), else h11
and asyncio; `server` in the output says which.

Bars (2 cores): ratio_json >= 0.8, ratio_html >= 0.6, p99_ms <= 25, RSS flat within 10%
over 200,000 requests, errors == 0. An error is a connection failure, a 5xx, or a status
other than the expected one for the token (200 for signed tokens, 4xx for garbage).
Nothing needs installing beyond the project's own dependencies.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_REGISTRY = ROOT / "tests" / "fixtures" / "registry"
FIXTURE_SEED = b"fixture-org-key-2".ljust(32, b".")  # care-org's published TEST key (fixture registry)


# ---------------------------------------------------------------- the ceiling app


def ceiling_app(trust_path: str) -> Any:
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from xcert.token import MalformedToken, decode, from_digits
    from xcert.trust import read_trust_list

    trust = read_trust_list(trust_path)
    keys = {k.kid: VerifyKey(k.public_key) for o in trust.organizations.values() for k in o.keys}

    async def check(request: Request) -> JSONResponse:
        try:
            decoded = decode(from_digits(request.path_params["digits"]))
        except MalformedToken:
            return JSONResponse({"ok": False}, 400)
        key = keys.get(decoded.kid)
        try:
            ok = key is not None and bool(key.verify(decoded.sig_structure, decoded.signature))
        except BadSignatureError:
            ok = False
        return JSONResponse({"ok": ok})

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/c/{digits}", check), Route("/healthz", healthz)])


def serve_ceiling(trust_path: str, port: int) -> None:
    import uvicorn

    uvicorn.run(ceiling_app(trust_path), host="127.0.0.1", port=port, access_log=False, log_level="warning")


# ---------------------------------------------------------------- the load generator


async def _drive(
    port: int, requests: list[tuple[bytes, tuple[int, ...]]], connections: int
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    next_index = 0
    error_samples: list[str] = []

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)

    async def worker() -> None:
        nonlocal next_index, errors
        reader, writer = await connect()
        while next_index < len(requests):
            raw, expected = requests[next_index]
            next_index += 1
            started = time.perf_counter()
            try:
                writer.write(raw)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                if b"connection: close" in head.lower():
                    writer.close()
                    reader, writer = await connect()
            except (OSError, asyncio.IncompleteReadError, ValueError, asyncio.LimitOverrunError) as e:
                errors += 1
                if len(error_samples) < 5:
                    error_samples.append(f"{type(e).__name__}: {e}")
                writer.close()
                reader, writer = await connect()
                continue
            latencies.append(time.perf_counter() - started)
            if status >= 500 or status not in expected:
                errors += 1
                if len(error_samples) < 5:
                    error_samples.append(f"status {status}, expected {expected}")
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return (
            round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2) if latencies else -1
        )

    return {
        "requests": len(requests),
        "seconds": round(elapsed, 3),
        "rps": round(len(requests) / elapsed, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "errors": errors,
        "error_samples": error_samples,
    }


def load_gen(port: int, plan_file: str, connections: int) -> None:
    """Child process: read the plan (path, expected statuses per line) and print stats as JSON."""
    requests = []
    for line in Path(plan_file).read_text().splitlines():
        path, expected = line.split(" ", 1)
        raw = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: verify-load\r\n\r\n".encode()
        requests.append((raw, tuple(int(s) for s in expected.split(","))))
    try:  # the client's own cost only: a cheaper loop lets one client process saturate the server
        import uvloop

        stats = uvloop.run(_drive(port, requests, connections))
    except ImportError:
        stats = asyncio.run(_drive(port, requests, connections))
    print(json.dumps(stats))


# ---------------------------------------------------------------- orchestration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server on port {port} exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start")


def _make_tokens(n_valid: int, invalid_share: float, seed: int) -> tuple[Path, list[tuple[str, bool]]]:
    """A trust list from the fixture registry and n_valid distinct signed tokens (+ invalid ones)."""
    import datetime as dt

    from nacl.signing import SigningKey

    from xcert import trust as trustmod
    from xcert.load import load_registry
    from xcert.token import Claims, sign, to_digits
    from xcert.tufrepo import ScratchRepo

    result = load_registry(FIXTURE_REGISTRY)
    assert result.ok and result.registry is not None, "the fixture registry does not load"
    directory = Path(tempfile.mkdtemp(prefix="verify-load-"))
    # published signed, as in production: the service runs the TUF client workflow off the
    # request path (at start and every poll), and verifies against what it proved
    repo = ScratchRepo(directory / "repo")
    trust_path = repo.publish(trustmod.trust_content(result.registry), directory / "site")
    (directory / "root.json").write_bytes(repo.root.read_bytes())

    key = SigningKey(FIXTURE_SEED)
    rng = random.Random(seed)
    cst = dt.timezone(dt.timedelta(hours=8))
    today = dt.datetime.now(cst).replace(hour=0, minute=0, second=0, microsecond=0)
    names = ["王小明", "李华", "张伟", "刘芳", "陈静", "杨洋", "赵磊", "黄敏"]
    tokens: list[tuple[str, bool]] = []
    for i in range(n_valid):
        issued = today - dt.timedelta(days=rng.randrange(1, 900))
        claims = Claims(
            1,
            "old-care",
            rng.choice((1, 2, 3)),
            f"{2024_0000_0000_0000 + i}",
            rng.choice(names),
            f"{rng.randrange(1000):03d}{rng.choice('0123456789X')}",
            int(issued.timestamp()),
            college=rng.choice(("4143010832", "test-care-college", None)),
        )
        tokens.append((to_digits(sign(claims, key)), True))
    n_invalid = int(n_valid * invalid_share)
    for i in range(n_invalid):
        if i % 3 == 0:
            digits = (
                "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 400))).lstrip("0") or "7"
            )
            tokens.append((digits, False))  # garbage: malformed
        else:
            value = int(tokens[i][0])
            raw = bytearray(value.to_bytes((value.bit_length() + 7) // 8, "big"))
            raw[-1 - rng.randrange(64)] ^= 1 << rng.randrange(8)  # inside the signature: invalid
            tokens.append((str(int.from_bytes(raw, "big")), True))
    rng.shuffle(tokens)
    return trust_path, tokens


def _plan(path: Path, tokens: list[tuple[str, bool]], prefix: str, bad_status: str, total: int) -> Path:
    lines = []
    for i in range(total):
        digits, signed = tokens[i % len(tokens)]
        lines.append(f"{prefix}{digits} {'200' if signed else bad_status}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # finished (waited-for) children only
    return usage.ru_utime + usage.ru_stime


def _run_load(port: int, plan: Path, connections: int) -> dict[str, Any]:
    before = _children_cpu()
    out = subprocess.run(
        [sys.executable, __file__, "--load-gen", str(port), str(plan), str(connections)],
        capture_output=True,
        text=True,
        check=True,
    )
    stats: dict[str, Any] = json.loads(out.stdout)
    stats["client_cpu_seconds"] = _children_cpu() - before  # includes the client's start-up
    return stats


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _server_stack() -> str:
    """What uvicorn's "auto" picks, for the service and the ceiling alike."""
    import importlib.util

    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"uvicorn {http} {loop}"


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--requests", type=int, default=0, help="requests per kind [default: all tokens once]"
    )
    parser.add_argument("--tokens", type=int, default=10_000, help="distinct valid tokens [10,000]")
    parser.add_argument("--invalid-share", type=float, default=0.03, help="extra invalid tokens [0.03]")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections [32]")
    parser.add_argument("--rounds", type=int, default=5, help="ceiling/json/html rounds, interleaved [5]")
    parser.add_argument("--warmup", type=int, default=2000, help="warm-up requests per kind [2,000]")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    t0 = time.perf_counter()
    trust_path, tokens = _make_tokens(args.tokens, args.invalid_share, args.seed)
    total = args.requests or len(tokens)
    work = trust_path.parent
    print(f"{len(tokens)} tokens signed in {time.perf_counter() - t0:.1f}s", file=sys.stderr)

    service_port, ceiling_port = _free_port(), _free_port()
    service = subprocess.Popen(
        [
            *[
                sys.executable,
                "-m",
                "xcert.cli",
                "serve",
                "--trust",
                str(trust_path),
                "--port",
                str(service_port),
            ],
            *[
                "--root",
                str(trust_path.parent.parent / "root.json"),
                "--state",
                str(trust_path.parent / "state"),
            ],
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    ceiling = subprocess.Popen(
        [sys.executable, __file__, "--serve-ceiling", str(trust_path), str(ceiling_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    # kind -> (port, server process, path prefix, status expected for garbage)
    kinds = {
        "ceiling": (ceiling_port, ceiling, "/c/", "400"),
        "json": (service_port, service, "/api/v1/verify?token=", "422"),
        "html": (service_port, service, "/c/", "400"),
    }
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    try:
        _wait_ready(service_port, service)
        _wait_ready(ceiling_port, ceiling)
        for port, _proc, prefix, bad in kinds.values():
            _run_load(port, _plan(work / "warm.plan", tokens, prefix, bad, args.warmup), args.connections)
        rss_before = _rss_kb(service.pid)
        # Interleaved rounds, each over its own slice of the tokens, so that a noisy neighbour
        # hits all three kinds alike; every kind sees every token once per `total`.
        per_round = -(-total // args.rounds)
        for r in range(args.rounds):
            count = min(per_round, total - r * per_round)
            rotated = tokens[(r * per_round) % len(tokens) :] + tokens[: (r * per_round) % len(tokens)]
            for kind, (port, proc, prefix, bad) in kinds.items():
                print(f"round {r + 1}/{args.rounds}: {kind} × {count}", file=sys.stderr)
                plan = _plan(work / f"{kind}.plan", rotated, prefix, bad, count)
                cpu = _cpu_seconds(proc.pid)
                run = _run_load(port, plan, args.connections)
                run["cpu_seconds"] = _cpu_seconds(proc.pid) - cpu
                runs[kind].append(run)
        rss_after = _rss_kb(service.pid)
    finally:
        for proc in (service, ceiling):
            proc.terminate()
            proc.wait(15)

    def overall(kind: str) -> dict[str, float]:
        rs = runs[kind]
        n = sum(r["requests"] for r in rs)
        return {
            "rps": round(n / sum(r["seconds"] for r in rs), 1),
            "cpu_us": round(sum(r["cpu_seconds"] for r in rs) / n * 1e6, 1),
            "p50_ms": _median([r["p50_ms"] for r in rs]),
            "p99_ms": max(r["p99_ms"] for r in rs),
        }

    agg = {kind: overall(kind) for kind in kinds}
    agg_n = {kind: sum(r["requests"] for r in runs[kind]) for kind in kinds}

    def ratio(kind: str) -> float:
        return round(
            _median([a["rps"] / c["rps"] for a, c in zip(runs[kind], runs["ceiling"], strict=True)]), 3
        )

    def cpu_ratio(kind: str) -> float:
        # ceiling's CPU per request / this kind's, per round (same tokens, back to back): median
        return round(
            _median(
                [
                    (c["cpu_seconds"] / c["requests"]) / (a["cpu_seconds"] / a["requests"])
                    for a, c in zip(runs[kind], runs["ceiling"], strict=True)
                ]
            ),
            3,
        )

    all_runs = [r for rs in runs.values() for r in rs]
    report = {
        "bench": "verify_load",
        "server": _server_stack(),
        "headline": "ratio_json_cpu, ratio_html_cpu",
        "cpus": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
        "tokens": len(tokens),
        "requests_per_kind": total,
        "rounds": args.rounds,
        "connections": args.connections,
        "ceiling_rps": agg["ceiling"]["rps"],
        "json_rps": agg["json"]["rps"],
        "html_rps": agg["html"]["rps"],
        "ratio_json": ratio("json"),
        "ratio_html": ratio("html"),
        "cpu_us_per_req": {kind: agg[kind]["cpu_us"] for kind in kinds},
        "ratio_json_cpu": cpu_ratio("json"),
        "ratio_html_cpu": cpu_ratio("html"),
        "client_cpu_us_per_req": {
            kind: round(sum(r["client_cpu_seconds"] for r in runs[kind]) / agg_n[kind] * 1e6, 1)
            for kind in kinds
        },
        "p50_ms": {kind: agg[kind]["p50_ms"] for kind in kinds},
        "p99_ms_by_kind": {kind: agg[kind]["p99_ms"] for kind in kinds},
        "p99_ms": max(agg["json"]["p99_ms"], agg["html"]["p99_ms"]),
        "rss_before_kb": rss_before,
        "rss_after_kb": rss_after,
        "rss_growth": round(rss_after / rss_before - 1, 3) if rss_before > 0 else None,
        "errors": sum(r["errors"] for r in all_runs),
        "error_samples": [s for r in all_runs for s in r["error_samples"]][:5],
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-ceiling":
        serve_ceiling(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--load-gen":
        load_gen(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    else:
        main()
