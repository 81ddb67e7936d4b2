"""Shared fixtures: the small test registry, its trust list and its TEST signing keys; the verify
service over a signed trust list with a case per rule, as a real server or in process."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cbor2
import httpx
import pytest
from nacl.signing import SigningKey

from verify_api.app import create_app
from xcert import codes, tufrepo
from xcert import trust as trustmod
from xcert.load import load_registry
from xcert.model import CST, Registry
from xcert.token import Claims, kid_of, sign
from xcert.verify import EXPIRED, INVALID, REVOKED, VALID

FIXTURE_REGISTRY = Path(__file__).parent / "fixtures" / "registry"


def fixture_key(n: int) -> SigningKey:
    """care-org's published TEST keys (see tests/fixtures/registry/README.md)."""
    return SigningKey(f"fixture-org-key-{n}".encode().ljust(32, b"."))


def at(day: str, hour: int = 12) -> int:
    """Unix seconds for noon China Standard Time on an ISO day."""
    return int(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), CST).timestamp())


def claims(**overrides: Any) -> Claims:
    values: dict[str, Any] = {
        "version": 1,
        "certificate": "old-care",
        "level": 2,
        "serial": "2023000000000001",
        "holder_name": "王小明",
        "id_tail": "123X",
        "issued_at": at("2023-01-10"),
        "college": "test-care-college",
    }
    values.update(overrides)
    return Claims(**values)


def registry_at(path: Path) -> Registry:
    """The registry at `path`, which must load without errors."""
    result = load_registry(path)
    assert result.ok and result.registry is not None, [p.format() for p in result.errors]
    return result.registry


@pytest.fixture(scope="session")
def registry() -> Registry:
    return registry_at(FIXTURE_REGISTRY)


@pytest.fixture(scope="session")
def trust_json(registry) -> dict[str, Any]:
    return {**json.loads(trustmod.dumps(trustmod.build_trust_list(registry))), "version": "test"}


SignedRepo = tufrepo.ScratchRepo


@pytest.fixture(scope="session")
def signed_repo(tmp_path_factory: pytest.TempPathFactory) -> SignedRepo:
    return SignedRepo(tmp_path_factory.mktemp("signed-repo"))


@pytest.fixture
def make_trust(trust_json) -> Callable[..., trustmod.TrustList]:
    """A trust list, optionally changed by a function of its JSON (one rule per test)."""

    def make(change: Callable[[dict[str, Any]], None] | None = None) -> trustmod.TrustList:
        data = json.loads(json.dumps(trust_json))
        if change is not None:
            change(data)
        return trustmod.TrustList.from_dict(data)

    return make


@pytest.fixture
def reg(tmp_path: Path) -> Path:
    """A writable copy of the fixture registry."""
    target = tmp_path / "registry"
    shutil.copytree(FIXTURE_REGISTRY, target)
    return target


@pytest.fixture
def signed() -> Callable[..., bytes]:
    def make(key: int = 2, **overrides: Any) -> bytes:
        return sign(claims(**overrides), fixture_key(key))

    return make


SITES_OVERLAY = Path(__file__).parent / "fixtures" / "sites-overlay"


def registry_with_sites(dest: Path) -> Path:
    """A copy of the real registry with test assessment sites (fixtures/sites-overlay): a
    counted site that is not a college (active, closed and suspended certificates), a college
    hosting a site, and an example site. The real registry has no such site yet."""
    root = Path(__file__).resolve().parent.parent
    shutil.copytree(root / "registry", dest)
    shutil.copytree(SITES_OVERLAY, dest, dirs_exist_ok=True)
    return dest


# ---------------------------------------------------------------- browser tests

CHROMIUM = "/usr/bin/chromium"  # Debian's, installed by test.sh
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Headless Chromium driven by Playwright, one per test module."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (bash test.sh installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# ---------------------------------------------------------------- national-scale site


@pytest.fixture(scope="session")
def national_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The national synthetic registry and its built site (registry dir, site dir), built once.

    example=False: the synthetic entries count, so statistics and charts are drawn at
    national size. Building it takes 30 s to 2 min on two cores: every slow test that needs
    it shares this one.
    """
    import build
    from xcert import synth

    root = tmp_path_factory.mktemp("national")
    synth.generate(root / "registry", "national", example=False)
    assert build.main(["site", "--registry", str(root / "registry"), "--out", str(root / "site")]) == 0
    return root / "registry", root / "site"


# ---------------------------------------------------------------- the verify service
# A trust list with one organization or certificate per rule (RULES), published signed by a
# throwaway repository, served by a real `xcert serve` or called in process.

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.datetime.now(CST).date()
RECENT = (TODAY - dt.timedelta(days=200)).isoformat()
YESTERDAY = (TODAY - dt.timedelta(days=1)).isoformat()
SINCE_2019 = "2019-04-10T00:00:00+08:00"


def _key(n: int, status: str = "active", **times: str | None) -> dict[str, Any]:
    public = bytes(fixture_key(n).verify_key)
    return {
        "kid": kid_of(public).hex(),
        "alg": "EdDSA",
        "crv": "Ed25519",
        "public_key": codes.encode_b64url(public),
        "status": status,
        "sign_from": times.get("sign_from", SINCE_2019),
        "sign_before": times.get("sign_before"),
        "retired_at": times.get("retired_at"),
        "compromised_at": times.get("compromised_at"),
    }


def _cert(code: str, levels: list[int], status: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "name": {"zh": f"{code} 证书", "en": f"{code} certificate"},
        "levels": levels,
        "status": status or [{"status": "active", "since": SINCE_2019}],
        "validity_years": None,
    }


def _org(
    org_id: str, keys: list[dict[str, Any]], certs: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    return {
        "id": org_id,
        "name": {"zh": f"{org_id} 组织", "en": f"{org_id} organization"},
        "sandbox": extra.get("sandbox", False),
        "example": True,
        "status": extra.get("status", [{"status": "approved", "since": SINCE_2019}]),
        "keys": keys,
        "certificates": certs,
        "revocations": [],
    }


def rules_trust(base: dict[str, Any]) -> dict[str, Any]:
    """The fixture trust list plus what the rule cases need (see RULES)."""
    data = copy.deepcopy(base)
    orgs = {o["id"]: o for o in data["organizations"]}
    care, logi = orgs["care-org"], orgs["logi-org"]
    care["certificates"] += [
        _cert("care-assist", [1, 2, 3]),  # no validity years: old tokens do not expire
        _cert(
            "withdrawn-care",
            [1, 2, 3],
            [
                {"status": "active", "since": SINCE_2019},
                {"status": "withdrawn", "since": "2022-01-01T00:00:00+08:00"},
            ],
        ),
    ]
    care["revocations"].append(
        {"serial": "R2025000001", "date": RECENT, "reason": "考核舞弊", "certificate": "old-care"}
    )
    logi["keys"] = [_key(3)]  # logi-org: approved 2019-04-10, suspended from 2021-03-01
    data["organizations"] += [
        _org(
            "comp-org",
            [_key(4, "compromised", compromised_at="2022-09-01T00:00:00+08:00")],
            [_cert("comp-cert", [1, 2, 3])],
        ),
        _org(
            "gone-org",
            [_key(5)],
            [_cert("gone-cert", [1, 2, 3])],
            status=[
                {"status": "approved", "since": SINCE_2019},
                {"status": "withdrawn", "since": "2021-01-01T00:00:00+08:00"},
            ],
        ),
        _org("sandbox-org", [_key(6)], [_cert("sandbox-cert", [1, 2, 3])], sandbox=True),
    ]
    return data


def token(key: int = 2, **overrides: Any) -> bytes:
    overrides.setdefault("issued_at", at(RECENT))
    return sign(claims(**overrides), fixture_key(key))


def now_plus(seconds: int) -> int:
    return int(time.time()) + seconds


RULES: list[tuple[str, dict[str, Any], str, list[str]]] = [
    ("valid", {}, VALID, []),
    (
        # a signed date proves nothing once the key is retired: only a record would
        "retired key, dated before retirement, no issuance record",
        {"key": 1, "certificate": "care-assist", "issued_at": at("2022-03-01")},
        INVALID,
        ["key.retired"],
    ),
    (
        "retired key, signed after retirement",
        {"key": 1, "certificate": "care-assist", "issued_at": at("2022-07-01")},
        INVALID,
        ["key.window"],
    ),
    (
        "compromised key, signed before the compromise",
        {"key": 4, "certificate": "comp-cert", "issued_at": at("2022-03-01")},
        INVALID,
        ["key.not_compromised"],
    ),
    (
        "key used before its window",
        {"certificate": "care-assist", "issued_at": at("2022-05-01")},
        INVALID,
        ["key.window"],
    ),
    (
        "organization suspended on the issue date",
        {"key": 3, "certificate": "logistics", "level": 1, "issued_at": at("2022-01-10")},
        INVALID,
        ["organization.approved"],
    ),
    (
        "organization withdrawn on the issue date",
        {"key": 5, "certificate": "gone-cert", "issued_at": at("2021-06-01")},
        INVALID,
        ["organization.approved"],
    ),
    ("certificate type withdrawn", {"certificate": "withdrawn-care"}, INVALID, ["certificate.active"]),
    (
        "organization is not the type's owner",
        {"certificate": "logistics", "level": 1},
        INVALID,
        ["certificate.owner"],
    ),
    (
        "level not offered",
        {"key": 3, "certificate": "logistics", "level": 3, "issued_at": at("2020-06-01")},
        INVALID,
        ["organization.not_suspended_since", "certificate.level"],  # logi-org: suspended 2021-03-01
    ),
    ("revoked serial", {"serial": "R2025000001"}, REVOKED, ["revocation"]),
    ("expired by validity years", {"issued_at": at("2022-07-05")}, EXPIRED, ["expiry"]),
    ("expired by the token's exp", {"expires_at": at(YESTERDAY)}, EXPIRED, ["expiry"]),
    ("issued an hour in the future", {"issued_at": now_plus(3600)}, INVALID, ["issued.not_future"]),
    ("issued within the clock skew", {"issued_at": now_plus(120)}, VALID, []),
    ("unknown key", {"key": 7}, INVALID, ["key.known"]),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`xcert serve` in a subprocess on a free loopback port; its output goes to a log file."""

    def __init__(
        self,
        trust: Path | str,
        log: Path,
        workers: int = 1,
        poll: float = 0.2,
        root: Path | None = None,
        state: Path | None = None,
        header_timeout: float | None = None,
        body_timeout: float | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {**os.environ, "XCERT_POLL_SECONDS": str(poll), "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "xcert.cli", "serve", "--trust", str(trust), "--port", str(self.port)]
        cmd += ["--workers", str(workers), "--root", str(root or REPO.root)]
        cmd += ["--state", str(state or log.parent / "state")]
        if header_timeout:
            cmd += [
                "--header-timeout",
                str(header_timeout),
                "--body-timeout",
                str(body_timeout or header_timeout),
            ]
        self._out = log.open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}: {self.output()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"server did not start: {self.output()}"
            time.sleep(0.1)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._out.close()


class InProcess:
    """The app called in this process through httpx's ASGI transport, on one event loop."""

    def __init__(self, app: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://verify.test")

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.request(method, path, **kwargs))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


REPO = SignedRepo(Path(tempfile.mkdtemp(prefix="xcert-test-repo-")))


def publish_signed(path: Path, data: Any) -> None:
    """Publish `data` as a signed keys.json (+ tuf/) at `path` (a keys.json path)."""
    REPO.publish(data, path.parent)


def app_for(path: Path, **kwargs: Any) -> Any:
    """The app over a published keys.json, verified from REPO's root with its own state."""
    return create_app(str(path), root=REPO.root, state_dir=path.parent / "state", **kwargs)


@pytest.fixture(scope="module")
def rules_data(trust_json: dict[str, Any]) -> dict[str, Any]:
    return rules_trust(trust_json)


@pytest.fixture(scope="module")
def server(rules_data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("verify-server")
    publish_signed(directory / "keys.json", rules_data)
    srv = Server(directory / "keys.json", directory / "server.log")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def raw_digits(raw: bytes) -> str:
    return str(int.from_bytes(b"\x01" + raw, "big"))


def cose(protected: dict[int, Any], payload: bytes = b"\xa0", tag: int = 18) -> bytes:
    return cbor2.dumps(
        cbor2.CBORTag(tag, [cbor2.dumps(protected, canonical=True), {}, payload, b"\0" * 64]), canonical=True
    )


KID = kid_of(bytes(fixture_key(2).verify_key))  # care-org's active key


def raw_status(port: int, request: bytes) -> bytes:
    """Send bytes no well-behaved client would, and return the status line."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        return sock.recv(65536).split(b"\r\n", 1)[0]


def run_command(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=60, cwd=ROOT, env={**os.environ, **(env or {})}
    )
