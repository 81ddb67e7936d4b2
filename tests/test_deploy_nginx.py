"""The deployment in deploy/nginx/, for real: Debian's nginx on a loopback port in front of two
`xcert serve` replicas, serving a site built from a copy of registry/ whose addresses point at
that port (signed with the TEST-ONLY reviewer key, as a real deployment's reviewers would).

nginx runs with the shipped files unchanged: deploy/nginx/xcert-http.conf as conf.d/xcert.conf
in a copy of Debian's own /etc/nginx/nginx.conf (only its pid, log and temp paths moved to
the test's directory), xcert-site.conf as snippets/xcert-site.conf, and the upstream block of
registry.example.conf with the replicas' ports. The replicas fetch the signed trust list
through nginx, as verifiers on other machines would.

Timings are printed (run with -s to see them), not asserted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import CST
from test_verify_api import free_port

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy" / "nginx"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DEBIAN_CONF = Path("/etc/nginx/nginx.conf")
SANDBOX_KEY = ROOT / "sandbox" / "sandbox-TEST-ONLY.key"
REVIEWER_KEY = ROOT / "sandbox" / "trust-reviewer-1-TEST-ONLY.key"
SERIAL = "2026120100000042"
ID_NUMBER = "11010519491231002X"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx not installed (bash test.sh installs it)"),
]


# ---------------------------------------------------------------- building and publishing


def xcert(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "xcert.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def build_site(registry: Path, out: Path) -> Path:
    """Sign the registry's trust content with the TEST reviewer key, then build it."""
    xcert("trust", "sign", "--key", str(REVIEWER_KEY), "--registry", str(registry))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, "build.py", "site", "--registry", str(registry), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def publish(link: Path, site: Path) -> None:
    """Swap the served site in one step: a new symlink renamed over the old one."""
    new = link.with_name(link.name + ".new")
    new.unlink(missing_ok=True)
    new.symlink_to(site)
    os.replace(new, link)


def revoke(registry: Path, serial: str) -> None:
    today = dt.datetime.now(CST).date().isoformat()
    (registry / "revocations").mkdir(exist_ok=True)
    (registry / "revocations" / "sandbox.yaml").write_text(
        "organization: sandbox\nrevoked:\n"
        f'  - {{serial: "{serial}", date: {today}, reason: TEST 撤销（部署测试）}}\n',
        encoding="utf-8",
    )


# ---------------------------------------------------------------- nginx


def debian_main_conf(run_dir: Path) -> str:
    """Debian's /etc/nginx/nginx.conf, with its pid, logs, temp files and includes moved to
    `run_dir` (everything else, gzip on and mime.types included, as the package ships it)."""
    text = DEBIAN_CONF.read_text(encoding="utf-8")
    user = "user root;" if os.geteuid() == 0 else ""  # root: workers must read the test's 0700 dirs
    replacements = [
        (r"(?m)^user .*;$", user),
        (r"(?m)^pid .*;$", f"pid {run_dir}/nginx.pid;"),
        (r"(?m)^error_log .*;$", f"error_log {run_dir}/error.log warn;"),
        (r"(?m)^(\s*)access_log .*;$", rf"\1access_log {run_dir}/access.log;"),
        (r"/etc/nginx/conf\.d/\*\.conf", "conf.d/*.conf"),
        (r"/etc/nginx/sites-enabled/\*", "sites-enabled/*"),
    ]
    for pattern, value in replacements:
        text, count = re.subn(pattern, value, text)
        assert count == 1, f"Debian's nginx.conf changed shape: {pattern!r} matched {count} times"
    temp = "".join(
        f"\t{kind}_temp_path {run_dir}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return text.replace("http {\n", "http {\n" + temp, 1)


def upstream_block(ports: list[int]) -> str:
    """registry.example.conf's upstream block, with the replicas' ports in its server lines."""
    text = (DEPLOY / "registry.example.conf").read_text(encoding="utf-8")
    match = re.search(r"(?ms)^upstream xcert_verify \{.*?^\}", text)
    assert match, "registry.example.conf has no upstream xcert_verify block"
    block = match.group(0)
    servers = re.findall(r"(?m)^\s*server 127\.0\.0\.1:\d+(.*);", block)
    assert len(servers) == 2, block
    block = re.sub(r"(?m)^\s*server 127\.0\.0\.1:\d+.*;\n", "", block)
    lines = "".join(f"    server 127.0.0.1:{p}{servers[0]};\n" for p in ports)
    return block.replace("{\n", "{\n" + lines, 1)


def conf_dir(base: Path, sites_enabled: str) -> Path:
    """An /etc/nginx lookalike under `base` holding the shipped files unchanged."""
    conf = base / "etc-nginx"
    run = base / "run"
    for d in (conf / "conf.d", conf / "snippets", conf / "sites-enabled", run):
        d.mkdir(parents=True, exist_ok=True)
    (conf / "nginx.conf").write_text(debian_main_conf(run), encoding="utf-8")
    shutil.copy(DEPLOY / "xcert-http.conf", conf / "conf.d" / "xcert.conf")
    shutil.copy(DEPLOY / "xcert-site.conf", conf / "snippets" / "xcert-site.conf")
    (conf / "sites-enabled" / "xcert").write_text(sites_enabled, encoding="utf-8")
    return conf


def nginx_paths(conf: Path) -> list[str]:
    """Configuration, prefix and startup error log under the test's directory (as a non-root
    user nginx cannot open Debian's /var/log/nginx)."""
    run = conf.parent / "run"
    return ["-c", str(conf / "nginx.conf"), "-p", str(run), "-e", str(run / "error.log")]


def nginx_test(conf: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NGINX, "-t", "-q", *nginx_paths(conf)],
        capture_output=True,
        text=True,
        timeout=30,
    )


class Nginx:
    def __init__(self, base: Path, port: int, site_link: Path, replica_ports: list[int]) -> None:
        server = f"server {{\n    listen 127.0.0.1:{port};\n    server_name _;\n"
        server += f"    access_log {base}/run/xcert.access.log xcert_privacy;\n"
        server += f"    root {site_link};\n    include snippets/xcert-site.conf;\n}}\n"
        self.conf = conf_dir(base, upstream_block(replica_ports) + "\n" + server)
        checked = nginx_test(self.conf)
        assert checked.returncode == 0, checked.stderr
        self.url = f"http://127.0.0.1:{port}"
        self.error_log = base / "run" / "error.log"
        self.proc = subprocess.Popen(
            [NGINX, *nginx_paths(self.conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while True:
            assert self.proc.poll() is None, (
                f"nginx exited: {self.proc.stderr.read().decode() if self.proc.stderr else ''}"
            )
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


# ---------------------------------------------------------------- the stack


@dataclass
class Stack:
    nginx: Nginx
    replicas: list[Replica]
    registry: Path
    site_link: Path
    site_a: Path
    digits: str
    base: Path

    @property
    def url(self) -> str:
        return self.nginx.url


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("deploy")
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    registry = base / "registry"
    shutil.copytree(ROOT / "registry", registry)
    config = yaml.safe_load((registry / "registry.yaml").read_text(encoding="utf-8"))
    text = (registry / "registry.yaml").read_text(encoding="utf-8")
    text = text.replace(f"site_url: {config['site_url']}", f"site_url: {origin}")
    text = text.replace(f"verify_url: {config['verify_url']}", f"verify_url: {origin}")
    (registry / "registry.yaml").write_text(text, encoding="utf-8")
    started = time.monotonic()
    site_a = build_site(registry, base / "site-a")
    print(f"\nsite built in {time.monotonic() - started:.1f} s")
    link = base / "current"
    publish(link, site_a)

    ports = [free_port(), free_port()]
    nginx = Nginx(base, port, link, ports)
    replicas: list[Replica] = []
    try:
        for i, p in enumerate(ports):
            replicas.append(
                Replica(p, f"{origin}/keys.json", base / f"state-{i}", base / f"replica-{i}.log", poll=0.5)
            )
        url = xcert(
            "issue", "--key", str(SANDBOX_KEY), "--certificate", "sandbox-demo", "--level", "2",
            "--serial", SERIAL, "--name", "王小明", "--id-number", "-", "--registry", str(registry),
            stdin=ID_NUMBER,
        ).strip()  # fmt: skip
        assert url.startswith(origin + "/c/"), url
        yield Stack(nginx, replicas, registry, link, site_a, url.rsplit("/", 1)[1], base)
    finally:
        for r in replicas:
            r.stop()
        nginx.stop()


class Replica:
    """One verify replica: `xcert serve` in a subprocess on a port chosen beforehand (nginx's
    upstream names it, and the replica fetches its trust list through nginx)."""

    def __init__(self, port: int, trust: str, state: Path, log: Path, poll: float) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        root = ROOT / "registry" / "trust" / "root.json"
        cmd = [sys.executable, "-m", "xcert.cli", "serve", "--trust", trust, "--root", str(root)]
        cmd += ["--state", str(state), "--port", str(port)]
        env = {**os.environ, "XCERT_POLL_SECONDS": str(poll), "PYTHONUNBUFFERED": "1"}
        self._out = log.open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        deadline = time.monotonic() + 30
        while True:
            assert self.proc.poll() is None, f"replica exited: {self.output()}"
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"replica did not start: {self.output()}"
            time.sleep(0.1)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._out.close()


def client(address: str = "127.0.0.1", **kwargs: Any) -> httpx.Client:
    """An HTTP client whose connections come from `address` (any 127.x.y.z is this machine):
    nginx counts its per-IP limits by it."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10, **kwargs)


def verdict(response: httpx.Response) -> tuple[int, str | None, str | None]:
    data = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    return response.status_code, data.get("status"), (data.get("trust") or {}).get("version")


# ---------------------------------------------------------------- headers, with curl-level checks


def one(response: httpx.Response, name: str) -> str:
    values = response.headers.get_list(name)
    assert len(values) == 1, f"{response.url}: {name} {values}"
    return values[0]


def security_headers(response: httpx.Response) -> None:
    assert one(response, "strict-transport-security") == "max-age=31536000"
    assert one(response, "x-content-type-options") == "nosniff"
    assert one(response, "referrer-policy") == "no-referrer"
    assert "frame-ancestors 'none'" in one(response, "content-security-policy")
    assert "server" not in response.headers or "nginx/" not in response.headers["server"]


def test_static_site_headers_compression_and_caching(stack: Stack) -> None:
    with client() as c:
        home = c.get(stack.url + "/", headers={"accept-encoding": "gzip"})
        assert home.status_code == 200 and "text/html" in home.headers["content-type"]
        security_headers(home)
        assert one(home, "cache-control") == "no-cache"
        assert home.headers["content-encoding"] == "gzip" and home.headers["vary"] == "Accept-Encoding"
        # gzip_static: the build's own .gz file, byte for byte (on-the-fly gzip would be chunked)
        on_disk = (stack.site_a / "index.html.gz").read_bytes()
        assert int(home.headers["content-length"]) == len(on_disk)
        assert gzip.decompress(on_disk) == home.content
        csp = one(home, "content-security-policy")
        assert "script-src" not in csp, "the page's own meta CSP holds the script hashes"
        assert "Content-Security-Policy" in home.text  # ... and the page still carries it

        plain = c.get(stack.url + "/", headers={"accept-encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == home.content

        asset = next((stack.site_a / "assets" / "stylesheets").glob("main.*.min.css"))
        hashed = c.get(f"{stack.url}/assets/stylesheets/{asset.name}", headers={"accept-encoding": "gzip"})
        assert hashed.status_code == 200 and hashed.headers["content-encoding"] == "gzip"
        assert one(hashed, "cache-control") == "public, max-age=31536000, immutable"
        assert one(hashed, "content-security-policy").startswith("default-src 'none'")
        security_headers(hashed)
        unhashed = c.get(stack.url + "/assets/xcert.css")
        assert one(unhashed, "cache-control") == "public, max-age=300, must-revalidate"
        fragment = next((stack.site_a / "pagefind" / "fragment").iterdir()).name
        assert "immutable" in one(c.get(f"{stack.url}/pagefind/fragment/{fragment}"), "cache-control")

        keys = c.get(stack.url + "/keys.json", headers={"accept-encoding": "gzip"})
        assert keys.status_code == 200 and keys.headers["content-type"].startswith("application/json")
        assert keys.headers["content-encoding"] == "gzip"
        assert one(keys, "cache-control") == "public, max-age=60, must-revalidate"
        assert keys.content == (stack.site_a / "keys.json").read_bytes()
        etag = one(keys, "etag")
        assert c.get(stack.url + "/keys.json", headers={"if-none-match": etag}).status_code == 304
        assert one(c.get(stack.url + "/tuf/timestamp.json"), "cache-control") == "no-cache"
        for name in ("snapshot.json", "targets.json", "1.root.json"):
            assert (
                one(c.get(f"{stack.url}/tuf/{name}"), "cache-control")
                == "public, max-age=60, must-revalidate"
            )

        missing = c.get(stack.url + "/no/such/page/")
        assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
        assert missing.content == (stack.site_a / "404.html").read_bytes()
        security_headers(missing)
        assert one(missing, "cache-control") == "no-store"
        assert c.get(stack.url + "/tuf/2.root.json").status_code == 404  # a TUF client's "no newer root"
        assert c.get(stack.url + "/.git/config").status_code == 404


def test_verify_service_headers_limits_and_rate_limit(stack: Stack) -> None:
    with client() as c:
        page = c.get(f"{stack.url}/c/{stack.digits}", headers={"accept-encoding": "gzip"})
        assert page.status_code == 200 and "TEST" in page.text
        security_headers(page)  # the service's own CSP, nosniff and referrer policy: once each
        assert one(page, "content-security-policy").startswith("default-src 'none'; style-src")
        assert one(page, "cache-control") == "no-store"
        assert page.headers["content-encoding"] == "gzip"  # compressed by nginx on the fly

        api = c.get(stack.url + "/api/v1/verify", params={"token": stack.digits})
        assert api.status_code == 200 and api.json()["status"] == "test"
        security_headers(api)
        assert one(api, "cache-control") == "no-store" and one(api, "access-control-allow-origin") == "*"
        posted = c.post(stack.url + "/api/v1/verify", json={"token": stack.digits})
        assert posted.status_code == 200 and posted.json()["status"] == "test"
        assert c.get(stack.url + "/openapi.json").json()["openapi"].startswith("3.")
        # a regex location (.md, .csv, dot files) never takes a /c/ path from the service:
        # this one gets the service's malformed page
        odd = c.get(f"{stack.url}/c/{stack.digits}.md")
        assert odd.status_code == 400 and one(odd, "cache-control") == "no-store"

        # sizes: nginx refuses before the service sees anything
        big = c.post(stack.url + "/api/v1/verify", content=b"{" + b" " * 20_000 + b"}")
        assert big.status_code == 413
        security_headers(big)
        assert one(big, "cache-control") == "no-store"
        assert c.get(stack.url + "/c/" + "1" * 9000).status_code == 414
        assert c.get(f"{stack.url}/c/{stack.digits}", headers={"x-long": "a" * 9000}).status_code == 400

    # per-IP rate limit on /api/ (from an address of its own): a burst of 40, then 429 + JSON.
    # 8 connections at once, so the rate stays far above 20/s however busy the machine is.
    with client("127.0.0.77") as c:
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(
                    lambda _: c.get(stack.url + "/api/v1/verify", params={"token": stack.digits}), range(160)
                )
            )
        seconds = time.monotonic() - started
        page = c.get(f"{stack.url}/c/{stack.digits}")
    statuses = Counter(r.status_code for r in answers)
    allowed = 41 + 20 * seconds  # the burst, plus 20 a second (and the first request)
    assert statuses[429] > 0 and 40 <= statuses[200] <= allowed + 2, (statuses, seconds)
    limited = next(r for r in answers if r.status_code == 429)
    assert limited.json()["error"]["code"] == "rate_limited" and one(limited, "retry-after") == "5"
    assert one(limited, "cache-control") == "no-store"
    security_headers(limited)
    assert page.status_code == 200, "a person scanning a QR code (/c/) is not rate limited"
    print(f"\nrate limit, 160 requests from one address in {seconds:.2f} s: {dict(statuses)}")


def test_the_access_log_holds_no_token(stack: Stack) -> None:
    """A request's token (a signed name and ID tail) never reaches nginx's access log."""
    with client() as c:
        assert c.get(f"{stack.url}/c/{stack.digits}").status_code == 200
        assert c.get(stack.url + "/api/v1/verify", params={"token": stack.digits}).status_code == 200
    log = stack.base / "run" / "xcert.access.log"
    deadline = time.monotonic() + 5
    while log.read_text().count("/api/v1/verify") == 0:  # written as each request ends
        assert time.monotonic() < deadline
        time.sleep(0.05)
    text = log.read_text()
    assert '"GET /c/{digits}" 200' in text and '"GET /api/v1/verify" 200' in text
    assert stack.digits[:12] not in text and "token=" not in text


def log_lines(log: Path, pattern: str, at_least: int) -> list[str]:
    """The lines of `log` matching `pattern`, once there are `at_least` (nginx writes an access
    log line as its request ends)."""
    deadline = time.monotonic() + 5
    while True:
        found = re.findall(f"(?m)^{pattern}$", log.read_text())
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_refusals_by_the_per_ip_limits_name_no_token_in_either_log(stack: Stack) -> None:
    """A job fair behind one carrier NAT: many phones on one address trip limit_conn on /c/ and
    /api/ and limit_req on /api/. nginx's line for a refusal holds the request line, token and
    all: it must stay out of the error log (limit_*_log_level below its level, and no error log
    in those locations), while the access log still shows each refusal, without the token."""
    port = int(stack.url.rsplit(":", 1)[1])
    crowd = "127.0.0.66"
    # limit_conn: 64 requests in progress from one address, each waiting for a body it was
    # promised, hold every slot the address has (the zone counts /c/ and /api/ together)
    held = []
    for _ in range(64):
        s = socket.create_connection(("127.0.0.1", port), source_address=(crowd, 0))
        s.sendall(f"POST /c/{stack.digits} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n".encode())
        held.append(s)
    try:
        with client(crowd) as c:
            deadline = time.monotonic() + 5
            while (page := c.get(f"{stack.url}/c/{stack.digits}")).status_code != 503:
                assert page.status_code == 200 and time.monotonic() < deadline, page.status_code
                time.sleep(0.05)  # until nginx has read all 64 request heads
            api = c.get(stack.url + "/api/v1/verify", params={"token": stack.digits})
    finally:
        for s in held:
            s.close()
    assert "请几秒后刷新" in page.text and one(page, "retry-after") == "5"
    assert api.status_code == 429 and api.json()["error"]["code"] == "rate_limited"

    # limit_req: a burst far past 40 from another address
    with client("127.0.0.67") as c, ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda _: c.get(stack.url + "/api/v1/verify", params={"token": stack.digits}), range(120)
            )
        )
    statuses = Counter(r.status_code for r in answers)
    assert statuses[429] > 0 and statuses[200] >= 40, statuses

    access = stack.base / "run" / "xcert.access.log"
    tail = r'\d+ \S+ "-" - "-"'  # bytes, time, and no upstream: nginx refused it itself
    assert log_lines(access, rf'127\.0\.0\.66 \[\S+\] "GET /c/\{{digits\}}" 503 {tail}', 1)
    assert log_lines(access, rf'127\.0\.0\.66 \[\S+\] "GET /api/v1/verify" 429 {tail}', 1)
    refused = log_lines(access, rf'127\.0\.0\.67 \[\S+\] "GET /api/v1/verify" 429 {tail}', statuses[429])
    assert len(refused) == statuses[429]
    for log in (access, stack.nginx.error_log):
        text = log.read_text()
        assert stack.digits not in text and stack.digits[:12] not in text and "token=" not in text, log
    assert "limiting" not in stack.nginx.error_log.read_text(), "refusals are not error-log news"
    print(f"\nlimits: limit_conn answered /c/ 503 and /api/ 429; limit_req {dict(statuses)}")


def test_a_sandbox_certificate_verifies_the_same_through_nginx_and_on_both_replicas(stack: Stack) -> None:
    def stable(data: dict[str, Any]) -> dict[str, Any]:
        # everything but the moment of asking (verified_at, the data's age, a check's "now")
        trust = {k: v for k, v in data["trust"].items() if k not in ("age_seconds", "loaded_at")}
        checks = [(c["code"], c["ok"]) for c in data["checks"]]
        return {**data, "trust": trust, "checks": checks, "verified_at": None}

    answers = []
    for base in [stack.url, *(r.url for r in stack.replicas)]:
        r = httpx.get(base + "/api/v1/verify", params={"token": stack.digits}, timeout=10)
        assert r.status_code == 200
        answers.append(stable(r.json()))
        page = httpx.get(f"{base}/c/{stack.digits}", timeout=10)
        assert page.status_code == 200 and "王小明" in page.text and "TEST" in page.text
    assert answers[0]["status"] == "test", "a sandbox token has a status of its own, never valid"
    assert answers[0]["trust"]["test_root"] is True
    assert answers[0] == answers[1] == answers[2]


# ---------------------------------------------------------------- Chromium


@pytest.mark.browser
def test_the_site_loads_in_chromium_through_nginx(stack: Stack, chromium: Any) -> None:
    page = chromium.new_page()
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
    )
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
    page.on("response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None)
    try:
        started = time.monotonic()
        page.goto(stack.url + "/", wait_until="networkidle")
        print(f"\nhome page through nginx in Chromium: {time.monotonic() - started:.2f} s")
        assert page.title()
        assert page.evaluate("getComputedStyle(document.querySelector('.md-header')).position") != "static"
        assert page.evaluate("window.top === window")
        page.goto(stack.url + "/certificates/", wait_until="networkidle")
        page.goto(stack.url + "/search/?q=" + "养老", wait_until="networkidle")  # Pagefind: worker + wasm
        page.wait_for_selector(".xc-result-link", timeout=30_000)
        page.goto(f"{stack.url}/c/{stack.digits}", wait_until="networkidle")
        assert "TEST" in page.inner_text("body")
    finally:
        page.close()
    assert problems == []

    # framing is refused by the header (a meta tag's frame-ancestors is ignored)
    framer = chromium.new_page()
    refused: list[str] = []
    framer.on("console", lambda m: refused.append(m.text))
    try:
        framer.set_content(f'<iframe src="{stack.url}/"></iframe>')
        framer.wait_for_timeout(1000)
        assert any("frame-ancestors" in m and "'none'" in m for m in refused), refused
        assert framer.frames[1].query_selector(".md-header") is None
    finally:
        framer.close()


# ---------------------------------------------------------------- slow clients


def upstream_connections(ports: list[int]) -> int:
    """Established TCP connections to the replicas' ports (from /proc/net/tcp)."""
    wanted = {f"{p:04X}" for p in ports}
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "01" and fields[2].rsplit(":", 1)[1] in wanted:
            count += 1
    return count


def test_slow_loris_clients_do_not_hold_the_verify_service(stack: Stack) -> None:
    port = int(stack.url.rsplit(":", 1)[1])
    ports = [r.port for r in stack.replicas]
    before = upstream_connections(ports)
    slow_headers: list[socket.socket] = []
    slow_bodies: list[socket.socket] = []
    n = 30
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), source_address=(f"127.0.1.{i + 1}", 0))
        s.sendall(f"GET /c/{stack.digits} HTTP/1.1\r\nHost: x\r\n".encode())
        slow_headers.append(s)
        b = socket.create_connection(("127.0.0.1", port), source_address=(f"127.0.2.{i + 1}", 0))
        b.sendall(b"POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
        b.sendall(b'Content-Length: 2000\r\n\r\n{"token": "')
        slow_bodies.append(b)
    closed: dict[int, float] = {}
    started = time.monotonic()
    peak = 0
    latencies: list[float] = []
    sel = selectors.DefaultSelector()
    for s in slow_headers:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    with client("127.0.0.88") as c:
        while time.monotonic() - started < 14 and len(closed) < n:
            for s in slow_headers:
                if s.fileno() not in closed:
                    with contextlib.suppress(OSError):
                        s.send(b"X")  # one byte of an endless header line, every half second
            for b in slow_bodies:
                b.send(b"1")  # one byte of the body: never idle long enough for a body timeout
            for key, _ in sel.select(timeout=0):
                conn = key.fileobj
                assert isinstance(conn, socket.socket)
                try:
                    data = conn.recv(4096)
                except OSError:
                    data = b""
                if not data or data.startswith(b"HTTP/1.1 408"):
                    closed[conn.fileno()] = time.monotonic() - started
                    sel.unregister(conn)
            t = time.monotonic()
            r = c.get(stack.url + "/api/v1/verify", params={"token": stack.digits})
            latencies.append(time.monotonic() - t)
            assert r.status_code == 200, "a normal request waits behind no slow client"
            peak = max(peak, upstream_connections(ports))
            time.sleep(0.5)
    for s in slow_headers + slow_bodies:
        s.close()
    sel.close()
    print(
        f"\nslow loris: {n} trickled headers + {n} trickled bodies; upstream connections {before} before, "
        f"{peak} at most during; headers cut after {min(closed.values(), default=-1):.1f}-"
        f"{max(closed.values(), default=-1):.1f} s; normal request max {max(latencies) * 1000:.0f} ms"
    )
    assert len(closed) == n, "nginx cuts a request whose headers never end (client_header_timeout)"
    assert peak <= max(before, 4) + 4 < n, "trickling clients wait on nginx, not on a replica"


# ---------------------------------------------------------------- under load


@dataclass
class Load:
    """Client threads, each from its own loopback address, each at most `rate` requests a second
    (under the per-IP limit), recording every answer."""

    send: Callable[[httpx.Client, int], httpx.Response]
    threads: int = 8
    rate: float = 15.0
    results: list[tuple[float, int, str | None, str | None]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.workers = [
            threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(self.threads)
        ]

    def run(self, i: int) -> None:
        with client(f"127.0.3.{i + 1}") as c:
            n = 0
            while not self.stop_event.is_set():
                t = time.monotonic()
                try:
                    r = self.send(c, n)
                    v = verdict(r)
                    with self.lock:
                        self.results.append((t, *v))
                        if r.status_code != 200:
                            self.errors.append(f"{r.status_code} {r.text[:200]}")
                except httpx.HTTPError as e:
                    with self.lock:
                        self.errors.append(f"{type(e).__name__}: {e}")
                n += 1
                time.sleep(max(0.0, 1 / self.rate - (time.monotonic() - t)))

    def __enter__(self) -> Load:
        for w in self.workers:
            w.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        for w in self.workers:
            w.join(15)


def test_a_trust_list_update_reaches_both_replicas_without_a_failed_or_mixed_answer(stack: Stack) -> None:
    old = httpx.get(stack.url + "/keys.json", timeout=10).json()["version"]
    revoke(stack.registry, SERIAL)
    started = time.monotonic()
    site_b = build_site(stack.registry, stack.base / "site-b")
    print(f"\nrevocation signed and built in {time.monotonic() - started:.1f} s")
    new = json.loads((site_b / "keys.json").read_text(encoding="utf-8"))["version"]
    assert new != old

    def ask(c: httpx.Client, n: int) -> httpx.Response:
        if n % 2:
            return c.post(stack.url + "/api/v1/verify", json={"token": stack.digits})
        return c.get(stack.url + "/api/v1/verify", params={"token": stack.digits})

    seen: list[list[str]] = [[], []]

    def watch(i: int, stop: threading.Event) -> None:
        while not stop.is_set():
            r = httpx.get(
                stack.replicas[i].url + "/api/v1/verify", params={"token": stack.digits}, timeout=10
            )
            seen[i].append(r.json()["trust"]["version"])
            time.sleep(0.05)

    stop = threading.Event()
    watchers = [threading.Thread(target=watch, args=(i, stop), daemon=True) for i in range(2)]
    with Load(ask) as load:
        for w in watchers:
            w.start()
        time.sleep(1.5)
        published = time.monotonic()
        publish(stack.site_link, site_b)
        deadline = published + 20
        while not all(s and s[-1] == new for s in seen):
            assert time.monotonic() < deadline, "an update did not reach both replicas in 20 s"
            time.sleep(0.05)
        reached = time.monotonic() - published
        time.sleep(1.5)
    stop.set()
    for w in watchers:
        w.join(10)

    answers = Counter((status, code, version) for _, status, code, version in load.results)
    print(
        f"update under load: {len(load.results)} answers {dict(answers)}; "
        f"both replicas on the new list {reached:.1f} s after publishing"
    )
    assert load.errors == []
    assert set(answers) == {(200, "test", old), (200, "revoked", new)}, "each verdict is wholly old or new"
    for versions in seen:  # each replica switches once and never goes back
        assert versions[0] == old and versions[-1] == new
        assert versions == sorted(versions, key=lambda v: v == new)
    last_old = max(t for t, _, _, v in load.results if v == old)
    assert last_old < published + reached + 0.5


def test_killing_a_replica_mid_load_costs_no_request(stack: Stack) -> None:
    def ask(c: httpx.Client, n: int) -> httpx.Response:
        if n % 3 == 0:
            return c.get(f"{stack.url}/c/{stack.digits}")
        if n % 3 == 1:
            return c.post(stack.url + "/api/v1/verify", json={"token": stack.digits})
        return c.get(stack.url + "/api/v1/verify", params={"token": stack.digits})

    victim = stack.replicas[1]
    with Load(ask) as load:
        time.sleep(2)
        killed_at = time.monotonic()
        victim.proc.kill()  # SIGKILL: no graceful shutdown, open connections reset
        victim.proc.wait(10)
        time.sleep(3)
    before = sum(1 for t, *_ in load.results if t < killed_at)
    after = len(load.results) - before
    print(f"\nkill one replica: {before} answers before, {after} after, errors {len(load.errors)}")
    assert after > 50 and before > 50
    assert load.errors == [], load.errors[:5]
    assert {code for _, code, _, _ in load.results} == {200}


def test_with_every_replica_down_nginx_answers_503_with_its_own_headers(stack: Stack) -> None:
    """The last test of the module: it stops what is left of the verify service."""
    for replica in stack.replicas:
        replica.stop()
    with client() as c:
        page = c.get(f"{stack.url}/c/{stack.digits}")
        api = c.post(stack.url + "/api/v1/verify", json={"token": stack.digits})
        home = c.get(stack.url + "/")
    assert page.status_code == 503 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert "请几秒后刷新" in page.text and one(page, "retry-after") == "5"
    assert api.status_code == 503 and api.json()["error"]["code"] == "unavailable"
    for response in (page, api):
        security_headers(response)
        assert one(response, "cache-control") == "no-store"
    assert home.status_code == 200, "the static site does not depend on the verify service"

    # nginx logged no token all along: not for these failures, nor for the replica killed
    # mid-load (connection refused, retried), nor the rate limits, nor the 413/414/400 above.
    # What it would have said is in the access log, as $upstream_status.
    access = stack.base / "run" / "xcert.access.log"
    assert log_lines(
        access, r'\S+ \[\S+\] "GET /c/\{digits\}" 503 \d+ \S+ "[^"]+" [\d., ]+ "502(?:, 502)*"', 1
    )
    assert re.search(r'(?m)" 200 \d+ \S+ "[^"]+, [^"]+" \S+, \S+ "502, 200"$', access.read_text()), (
        "a request that the killed replica refused and the other answered"
    )
    for log in (access, stack.nginx.error_log):
        text = log.read_text()
        assert stack.digits not in text and stack.digits[:12] not in text and "token=" not in text, log
