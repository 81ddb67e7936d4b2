"""Load test of the verify service against a ceiling, measured with wrk; prints one JSON line.

    python bench/verify_load.py                    # 3 interleaved rounds of 8 s per kind
    python bench/verify_load.py --rounds 5 --seconds 10

On loopback it starts the service (`xcert serve`, 1 worker, access log on, written to a
file, over a signed trust list of the repository's own registry published with
xcert.tufrepo.ScratchRepo) and a ceiling: a bare ASGI app under the same uvicorn that
does only the unavoidable work (int(digits) -> bytes -> cbor2.loads -> one Ed25519 verify
-> a 2-byte answer). `wrk` (Debian's C load generator; installed with apt-get when missing,
as test.sh installs Chromium) drives each with 1 thread and 32 keep-alive connections,
and a Lua script cycling through distinct tokens signed with the public sandbox key
(sandbox/sandbox-TEST-ONLY.key; each verifies as "test", the sandbox's own status):

* ceiling  GET /c/{digits}
* json     GET /api/v1/verify?token={digits}   -> ratio_json = json req/s / ceiling req/s
* html     GET /c/{digits}                     -> ratio_html = html req/s / ceiling req/s

in interleaved rounds (the ratios are medians of per-round ratios), so a noisy neighbour
hurts all three alike; `ratio_*_cpu` are the same ratios by the servers' CPU per request
(from /proc), which neighbours move less. `p99_ms` is the worst per-round 99th percentile of json and html;
`errors` counts wrk's socket errors and non-2xx answers over every run.

Where the time goes (`stages_us`, µs per request): decode (xcert.token's strict decode),
signature (one Ed25519 verify), rules (the rest of xcert.verify.verify), rendering (route,
endpoint, page or JSON and Response: the router's in-process ASGI call minus verify),
middleware_logging (the whole app minus the router), and http (the server's CPU per
request under wrk, from /proc, minus the whole app's in-process time: uvicorn, the event
loop and the socket calls). The in-process figures are medians over the same tokens in a
separate process; on a shared machine they are the steadier half of the report.

With --floor, two more kinds run on a third server, a plain Starlette app doing the ceiling's
work and answering the service's own bytes and headers (see floor_app): `ratio_floor_json`
and `ratio_floor_html` (and their `_cpu`) are the most any Starlette service giving those
answers could reach, whatever it did with the rest of its time.

Bars (2 cores): ratio_json >= 0.6, ratio_html >= 0.5, p99_ms <= 25, errors == 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_KEY = ROOT / "sandbox" / "sandbox-TEST-ONLY.key"
BARS = {"ratio_json": 0.6, "ratio_html": 0.5, "p99_ms": 25.0, "errors": 0}
KINDS = {  # kind -> path prefix; "ceiling" runs on the ceiling's port, the others on the service's
    "ceiling": "/c/",
    "json": "/api/v1/verify?token=",
    "html": "/c/",
}
FLOOR_KINDS = {"floor_json": KINDS["json"], "floor_html": KINDS["html"]}  # --floor, on the floor's port

# ---------------------------------------------------------------- the ceiling


def ceiling_app(trust_path: str) -> Any:
    """A bare ASGI app: the minimal parse and one verify per request, nothing else."""
    import cbor2
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey

    from xcert.trust import read_trust_list

    trust = read_trust_list(trust_path)
    keys = {k.kid: VerifyKey(k.public_key) for o in trust.organizations.values() for k in o.keys}
    start_ok = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    start_bad = {"type": "http.response.start", "status": 400, "headers": [(b"content-length", b"2")]}

    def check(digits: str) -> bool:
        value = int(digits)
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")[1:]  # drop the 0x01 sentinel
        protected, _unprotected, payload, signature = cbor2.loads(raw).value
        key = keys[cbor2.loads(protected)[4]]
        key.verify(cbor2.dumps(["Signature1", protected, b"", payload]), signature)
        return True

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # lifespan
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
                await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        path: str = scope["path"]
        try:
            ok = path == "/healthz" or check(path[3:])
        except (ValueError, TypeError, KeyError, AttributeError, BadSignatureError, cbor2.CBORError):
            ok = False
        await send(start_ok if ok else start_bad)
        await send({"type": "http.response.body", "body": b"ok" if ok else b"no"})

    app.check = check  # type: ignore[attr-defined]  # for the in-process stage figures
    return app


def serve_ceiling(trust_path: str, port: int) -> None:
    import uvicorn

    uvicorn.run(ceiling_app(trust_path), host="127.0.0.1", port=port, access_log=False, log_level="warning")


# ---------------------------------------------------------------- the floor (--floor)


def floor_app(trust_path: str, root: str, state: str, digits: str) -> Any:
    """What any Starlette service giving the same answers costs: a plain Starlette app (its
    router, Request and Response; no middleware, no log) doing the ceiling's work, then
    answering the service's own bytes and headers for one token (taken from the service in
    process), so the answer's size and headers are the service's."""
    import asyncio

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from verify_api.app import create_app

    service = create_app(trust_path, root=root, state_dir=state, poll_seconds=0, log_requests=False)
    ceiling = ceiling_app(trust_path)

    def answer(path: str, query: str) -> Response:
        sent: list[Any] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": path, "query_string": query.encode()}
        scope |= {"headers": [], "root_path": "", "scheme": "http", "http_version": "1.1"}
        asyncio.run(service(scope, receive, send))
        start, body = sent[0], sent[1]["body"]
        assert start["status"] == 200, start
        headers = {k.decode(): v.decode() for k, v in start["headers"] if k != b"content-length"}
        return Response(body, 200, headers)

    json_answer = answer("/api/v1/verify", f"token={digits}")
    html_answer = answer(f"/c/{digits}", "")

    async def verify_json(request: Request) -> Response:
        ceiling.check(request.query_params["token"])
        return json_answer

    async def verify_html(request: Request) -> Response:
        ceiling.check(request.path_params["digits"])
        return html_answer

    async def healthz(_request: Request) -> Response:
        return Response(b"ok")

    return Starlette(
        routes=[
            Route("/c/{digits}", verify_html),
            Route("/api/v1/verify", verify_json),
            Route("/healthz", healthz),
        ]
    )


def serve_floor(trust_path: str, root: str, state: str, digits: str, port: int) -> None:
    import uvicorn

    app = floor_app(trust_path, root, state, digits)
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")


# ---------------------------------------------------------------- in-process stage costs

REPEATS = 7  # passes over the tokens; CPU time (process_time), so neighbours' load matters less


def _per_call_us(fn: Any, items: list[Any], repeats: int = REPEATS) -> float:
    """Median over `repeats` passes of the mean CPU µs per call of fn(item)."""
    passes = []
    for _ in range(repeats):
        started = time.process_time()
        for item in items:
            fn(item)
        passes.append((time.process_time() - started) / len(items) * 1e6)
    return round(_median(passes), 1)


def stages(trust_path: str, root: str, state: str, digits_file: str) -> None:
    """Child process: µs per request of each stage, in process, printed as JSON."""
    import asyncio

    from nacl.signing import VerifyKey

    from verify_api.app import create_app
    from xcert.token import decode, from_digits
    from xcert.verify import verify

    digits = Path(digits_file).read_text().split()
    app = create_app(trust_path, root=root, state_dir=state, poll_seconds=0)
    store = app.state.store
    trust = store.snapshot.trust
    ceiling = ceiling_app(trust_path)
    keys = {k.kid: VerifyKey(k.public_key) for o in trust.organizations.values() for k in o.keys}
    decoded = [decode(from_digits(d)) for d in digits]
    loop = asyncio.new_event_loop()

    def asgi_us(asgi: Any, prefix: str) -> float:
        sent: list[Any] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            sent.append(message)

        def scope(d: str) -> dict[str, Any]:
            path, _, query = (prefix + d).partition("?")
            return {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "GET",
                "scheme": "http",
                "path": path,
                "raw_path": path.encode(),
                "query_string": query.encode(),
                "root_path": "",
                "headers": [(b"host", b"127.0.0.1")],
                "client": ("127.0.0.1", 50000),
                "server": ("127.0.0.1", 8001),
            }

        scopes = [scope(d) for d in digits]

        async def run_all() -> None:
            for s in scopes:
                await asgi(dict(s), receive, send)

        passes = []
        for _ in range(REPEATS):
            sent.clear()
            started = time.process_time()
            loop.run_until_complete(run_all())
            passes.append((time.process_time() - started) / len(scopes) * 1e6)
        assert all(m.get("status", 200) == 200 for m in sent), "a request failed in process"
        return round(_median(passes), 1)

    out: dict[str, Any] = {
        "ceiling": {
            "parse_and_signature": _per_call_us(ceiling.check, digits),
            "app": asgi_us(ceiling, "/c/"),
        },
        "decode": _per_call_us(lambda d: decode(from_digits(d)), digits),
        "signature": _per_call_us(lambda t: keys[t.kid].verify(t.sig_structure, t.signature), decoded),
        "verify": _per_call_us(lambda d: verify(d, trust), digits),
    }
    for kind in ("json", "html"):
        asgi_us(app, KINDS[kind])  # builds the middleware stack, warms the caches
        out[kind] = {"router": asgi_us(app.router, KINDS[kind]), "app": asgi_us(app, KINDS[kind])}
    loop.close()
    print(json.dumps(out))


# ---------------------------------------------------------------- wrk

LUA = r"""
-- Cycle through the paths in $VERIFY_LOAD_PATHS (one a line) from $VERIFY_LOAD_OFFSET;
-- print the run's figures as one JSON line at the end.
local reqs = {}
for line in io.lines(os.getenv("VERIFY_LOAD_PATHS")) do
  reqs[#reqs + 1] = wrk.format("GET", line)
end
local i = tonumber(os.getenv("VERIFY_LOAD_OFFSET") or "0") % #reqs

request = function()
  i = i % #reqs + 1
  return reqs[i]
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def ensure_wrk() -> str:
    """wrk's path; installs Debian's package when it is missing (as test.sh installs Chromium)."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"], check=True, env=env
    )
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("verify_load: wrk is not installed and apt-get could not install it")
    return found


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # finished (waited-for) children only
    return usage.ru_utime + usage.ru_stime


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def run_wrk(
    wrk: str, script: Path, paths: Path, port: int, pid: int, seconds: float, connections: int, offset: int
) -> dict[str, Any]:
    env = {**os.environ, "VERIFY_LOAD_PATHS": str(paths), "VERIFY_LOAD_OFFSET": str(offset)}
    cpu, client = _cpu_seconds(pid), _children_cpu()
    out = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{seconds:g}s", "-s", str(script), f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    stats: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    n = max(stats["requests"], 1)
    stats["rps"] = round(stats["requests"] / stats["duration_us"] * 1e6, 1)
    stats["errors"] = sum(stats[k] for k in ("connect", "read", "write", "status", "timeout"))
    stats["cpu_us"] = (_cpu_seconds(pid) - cpu) / n * 1e6
    stats["client_cpu_us"] = (_children_cpu() - client) / n * 1e6
    return stats


# ---------------------------------------------------------------- setup


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


def make_tokens(directory: Path, registry: Path, count: int, seed: int) -> tuple[Path, Path, list[str]]:
    """The registry's trust list published signed (keys.json path, root.json path), and
    `count` distinct tokens signed with the public sandbox key (digits)."""
    from xcert import keys, trust
    from xcert.load import load_registry
    from xcert.token import Claims, sign, to_digits
    from xcert.tufrepo import ScratchRepo

    result = load_registry(registry)
    assert result.ok and result.registry is not None, f"{registry} does not load: run build.py check"
    # published signed, as in production: the service runs the TUF client workflow off the
    # request path (at start and every poll) and verifies against what it proved
    repo = ScratchRepo(directory / "repo")
    trust_path = repo.publish(trust.trust_content(result.registry), directory / "site")
    key = keys.read_private_key(SANDBOX_KEY)
    org = result.registry.organizations[key.org]
    certs = [c for c in result.registry.certificates.values() if c.organization == org.id]
    assert org.sandbox and certs, f"{key.org}: expected a sandbox organization with certificates"
    rng = random.Random(seed)
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    names = ["王小明", "李华", "张伟", "刘芳", "陈静", "杨洋", "赵磊", "黄敏"]
    tokens = []
    for i in range(count):
        cert = rng.choice(certs)
        issued = today - dt.timedelta(days=rng.randrange(1, 900), hours=8)
        claims = Claims(
            1,
            cert.code,
            rng.choice(cert.levels),
            f"{2024_0000_0000_0000 + i}",
            rng.choice(names),
            f"{rng.randrange(1000):03d}{rng.choice('0123456789X')}",
            int(issued.timestamp()),
            college=rng.choice(("9999000001", "test-college", None)),
        )
        tokens.append(to_digits(sign(claims, key.signing_key)))
    return trust_path, repo.root, tokens


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _server_stack() -> str:
    import importlib.util

    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"uvicorn {http} {loop}"


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--registry", type=Path, default=ROOT / "registry", help="[registry/]")
    parser.add_argument("--tokens", type=int, default=2000, help="distinct sandbox tokens [2,000]")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections, 1 thread [32]")
    parser.add_argument("--rounds", type=int, default=3, help="ceiling/json/html rounds, interleaved [3]")
    parser.add_argument("--seconds", type=float, default=8, help="seconds per run [8]")
    parser.add_argument("--warmup", type=float, default=2, help="warm-up seconds per kind [2]")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--floor", action="store_true", help="also run the floor (a plain Starlette app: see floor_app)"
    )
    args = parser.parse_args()
    kinds = {**KINDS, **(FLOOR_KINDS if args.floor else {})}

    t0 = time.perf_counter()
    # the children import this checkout's code, not whatever the environment installed
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    wrk = ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="verify-load-"))
    trust_path, root, tokens = make_tokens(work, args.registry, args.tokens, args.seed)
    script = work / "cycle.lua"
    script.write_text(LUA)
    paths = {}
    for kind, prefix in kinds.items():
        paths[kind] = work / f"{kind}.paths"
        paths[kind].write_text("".join(f"{prefix}{d}\n" for d in tokens))
    (work / "digits").write_text("\n".join(tokens) + "\n")
    print(f"{len(tokens)} sandbox tokens signed in {time.perf_counter() - t0:.1f}s", file=sys.stderr)

    with (work / "stages.log").open("wb") as stages_log:  # the access lines go to a file, as the service's
        in_process = subprocess.run(
            [sys.executable, __file__, "--stages", str(trust_path), str(root), str(work / "state-stages")]
            + [str(work / "digits")],
            stdout=subprocess.PIPE,
            stderr=stages_log,
            text=True,
            check=True,
            cwd=ROOT,
        )
    measured = json.loads(in_process.stdout.strip().splitlines()[-1])

    service_port, ceiling_port = _free_port(), _free_port()
    service_log = (work / "service.log").open("wb")  # a file, as a real deployment's journal
    service = subprocess.Popen(
        [sys.executable, "-m", "xcert.cli", "serve", "--trust", str(trust_path), "--port", str(service_port)]
        + ["--root", str(root), "--state", str(work / "state")],
        stdout=service_log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    ceiling = subprocess.Popen(
        [sys.executable, __file__, "--serve-ceiling", str(trust_path), str(ceiling_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    servers = {
        "ceiling": (ceiling_port, ceiling),
        "json": (service_port, service),
        "html": (service_port, service),
    }
    if args.floor:
        floor_port = _free_port()
        floor = subprocess.Popen(
            [sys.executable, __file__, "--serve-floor", str(trust_path), str(root), str(work / "state-floor")]
            + [tokens[0], str(floor_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )
        servers |= {"floor_json": (floor_port, floor), "floor_html": (floor_port, floor)}
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    try:
        for port, proc in set(servers.values()):
            _wait_ready(port, proc)
        for kind, (port, proc) in servers.items():
            run_wrk(wrk, script, paths[kind], port, proc.pid, args.warmup, args.connections, 0)
        rss_before = _rss_kb(service.pid)
        for r in range(args.rounds):
            offset = r * len(tokens) // args.rounds  # each round starts elsewhere in the tokens
            for kind, (port, proc) in servers.items():
                print(f"round {r + 1}/{args.rounds}: {kind}", file=sys.stderr)
                runs[kind].append(
                    run_wrk(wrk, script, paths[kind], port, proc.pid, args.seconds, args.connections, offset)
                )
        rss_after = _rss_kb(service.pid)
    finally:
        for _port, proc in set(servers.values()):
            proc.terminate()
            proc.wait(15)
        service_log.close()
        shutil.rmtree(work, ignore_errors=True)

    def ratio(kind: str) -> float:
        per_round = [a["rps"] / c["rps"] for a, c in zip(runs[kind], runs["ceiling"], strict=True)]
        return round(_median(per_round), 3)

    def cpu_ratio(kind: str) -> float:  # the ceiling's server CPU per request / this kind's
        per_round = [c["cpu_us"] / a["cpu_us"] for a, c in zip(runs[kind], runs["ceiling"], strict=True)]
        return round(_median(per_round), 3)

    def med(kind: str, field: str) -> float:
        return round(_median([r[field] for r in runs[kind]]), 1)

    cpu = {kind: med(kind, "cpu_us") for kind in kinds}
    stage: dict[str, Any] = {
        "ceiling": {
            "parse_and_signature": measured["ceiling"]["parse_and_signature"],
            "http": round(cpu["ceiling"] - measured["ceiling"]["app"], 1),
        },
    }
    for kind in ("json", "html"):
        stage[kind] = {
            "decode": measured["decode"],
            "signature": measured["signature"],
            "rules": round(measured["verify"] - measured["decode"] - measured["signature"], 1),
            "rendering": round(measured[kind]["router"] - measured["verify"], 1),
            "middleware_logging": round(measured[kind]["app"] - measured[kind]["router"], 1),
            "http": round(cpu[kind] - measured[kind]["app"], 1),
        }
    all_runs = [r for kind in KINDS for r in runs[kind]]  # the floor's own errors are not the service's
    report: dict[str, Any] = {
        "bench": "verify_load",
        "client": f"wrk -t1 -c{args.connections} -d{args.seconds:g}s, {len(tokens)} sandbox tokens",
        "server": _server_stack(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "rounds": args.rounds,
        "ceiling_rps": med("ceiling", "rps"),
        "json_rps": med("json", "rps"),
        "html_rps": med("html", "rps"),
        "ratio_json": ratio("json"),
        "ratio_html": ratio("html"),
        "p99_ms_by_kind": {kind: round(max(r["p99_us"] for r in runs[kind]) / 1000, 2) for kind in kinds},
        "p99_ms": round(max(r["p99_us"] for r in runs["json"] + runs["html"]) / 1000, 2),
        "errors": sum(r["errors"] for r in all_runs),
        "cpu_us_per_req": cpu,
        "ratio_json_cpu": cpu_ratio("json"),
        "ratio_html_cpu": cpu_ratio("html"),
        **{f"ratio_{kind}": ratio(kind) for kind in FLOOR_KINDS if kind in kinds},
        **{f"ratio_{kind}_cpu": cpu_ratio(kind) for kind in FLOOR_KINDS if kind in kinds},
        "client_cpu_us_per_req": {kind: med(kind, "client_cpu_us") for kind in kinds},
        "stages_us": stage,
        "in_process_us": measured,
        "rss_before_kb": rss_before,
        "rss_after_kb": rss_after,
        "requests": {kind: sum(r["requests"] for r in runs[kind]) for kind in kinds},
        "bars": BARS,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    report["pass"] = (
        report["ratio_json"] >= BARS["ratio_json"]
        and report["ratio_html"] >= BARS["ratio_html"]
        and report["p99_ms"] <= BARS["p99_ms"]
        and report["errors"] == BARS["errors"]
    )
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-ceiling":
        serve_ceiling(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--serve-floor":
        trust_path, root, state, digits, port = sys.argv[2:7]
        serve_floor(trust_path, root, state, digits, int(port))
    elif len(sys.argv) > 1 and sys.argv[1] == "--stages":
        stages(*sys.argv[2:6])
    else:
        main()
