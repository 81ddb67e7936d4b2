"""The signed trust list under attack: a real `xcert serve` fetches over loopback HTTP from a
server the attacker controls (a compromised host, CDN or man in the middle), and every
trick that made the unsigned list lie is refused.

The attacker can change any byte it serves and replay anything ever published; it holds
no root or reviewer key. A legitimate publisher (conftest.SignedRepo: root 1-of-1,
reviewers 2-of-2, one online key) publishes into the same directory.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import SignedRepo, fixture_key
from test_verify_api import ROOT, Server, _run, rules_trust, token

from verify_api.trust_store import TrustStore
from xcert import tufrepo
from xcert.keys import generate, read_private_key
from xcert.token import to_digits
from xcert.trust import TrustListError
from xcert.tufclient import check_url, redact

FORGED_KEY = 9  # the attacker's own key


class Attacker:
    """Serves a directory on a loopback port, and can answer with a redirect or 304 instead,
    or trickle its timestamp.json one byte every `trickle` seconds."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.redirect: str | None = None  # location for every request
        self.not_modified = False
        self.trickle: float | None = None
        outer = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(outer.directory), **kwargs)

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                if outer.redirect:
                    self.send_response(302)
                    self.send_header("Location", outer.redirect + self.path)
                    self.end_headers()
                elif outer.not_modified:
                    self.send_response(304)
                    self.end_headers()
                elif outer.trickle and self.path.endswith("/timestamp.json"):
                    body = (outer.directory / tufrepo.META_DIR / "timestamp.json").read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    for byte in body:
                        try:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                        except OSError:  # the client gave up
                            return
                        time.sleep(outer.trickle)
                else:
                    super().do_GET()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.url = self.origin + "/keys.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Attacker]:
    directory = tmp_path / "served"
    directory.mkdir()
    attacker = Attacker(directory)
    yield attacker
    attacker.close()


@pytest.fixture
def repo(tmp_path: Path) -> SignedRepo:
    return SignedRepo(tmp_path / "repo")


@pytest.fixture
def data(trust_json: dict[str, Any]) -> dict[str, Any]:
    return rules_trust(trust_json)


def status_of(server: Server, raw: bytes) -> dict[str, Any]:
    response = httpx.get(server.url + "/api/v1/verify", params={"token": to_digits(raw)}, timeout=10)
    return response.json()


def wait_for(check: Callable[[], bool], server: Server, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.1)


def start(repo: SignedRepo, served: Attacker, tmp_path: Path, name: str = "server") -> Server:
    return Server(served.url, tmp_path / f"{name}.log", root=repo.root, state=tmp_path / "state")


def serve_cli(repo: SignedRepo, url: str, tmp_path: Path) -> Any:
    args = ["--trust", url, "--root", str(repo.root), "--state", str(tmp_path / "state")]
    return _run([*PYTHON_XCERT, "serve", *args, "--port", "1"])


PYTHON_XCERT = [sys.executable, "-m", "xcert.cli"]


def forged_org(data: dict[str, Any]) -> dict[str, Any]:
    """The attacker's organization: its own key, owning a copy of care-org's certificates."""
    care = next(o for o in data["organizations"] if o["id"] == "care-org")
    evil = copy.deepcopy(care)
    evil["id"] = "evil-org"
    evil["keys"][0]["public_key"] = _b64(bytes(fixture_key(FORGED_KEY).verify_key))
    evil["keys"] = evil["keys"][:1]
    evil["keys"][0].update(status="active", sign_before=None, retired_at=None)
    return evil


def _b64(raw: bytes) -> str:
    from xcert.codes import encode_b64url

    return encode_b64url(raw)


def added_key(data: dict[str, Any]) -> None:
    data["organizations"].append(forged_org(data))


def dropped_revocation(data: dict[str, Any]) -> None:
    next(o for o in data["organizations"] if o["id"] == "care-org")["revocations"].clear()


REVOKED_SERIAL = "R2025000001"  # revoked in rules_trust


# ---------------------------------------------------------------- tampered content


@pytest.mark.parametrize(
    "tamper",
    [added_key, dropped_revocation, lambda d: d.update(version=d["version"] + " ")],
    ids=["an added key", "a dropped revocation", "changed keys.json bytes"],
)
def test_a_tampered_keys_json_is_refused(
    repo: SignedRepo, served: Attacker, data: dict[str, Any], tmp_path: Path, tamper: Callable[..., None]
) -> None:
    forged = token(FORGED_KEY, certificate="old-care", serial="FORGED-1")
    revoked = token(serial=REVOKED_SERIAL)
    evil = copy.deepcopy(data)
    tamper(evil)

    # At first contact: the service does not start on a list the reviewers did not sign.
    repo.publish(data, served.directory)
    (served.directory / "keys.json").write_text(json.dumps(evil), encoding="utf-8")
    refused = serve_cli(repo, served.url, tmp_path / "first")
    assert refused.returncode == 1 and "refused" in refused.stderr, refused.stderr

    # While running: the verified list stays in use when the next genuine publication (a
    # new revocation) has its keys.json swapped: the forged token never verifies, the old
    # revocation holds, and the update is refused as a whole.
    repo.publish(data, served.directory)
    server = start(repo, served, tmp_path)
    try:
        assert status_of(server, revoked)["status"] == "revoked"
        newer = copy.deepcopy(data)
        next(o for o in newer["organizations"] if o["id"] == "care-org")["revocations"].append(
            {"serial": "R-NEW", "date": "2026-01-01", "reason": "测试", "certificate": None}
        )
        repo.publish(newer, served.directory)
        (served.directory / "keys.json").write_text(json.dumps(evil), encoding="utf-8")  # swapped
        wait_for(lambda: status_of(server, revoked)["trust"]["stale"], server)
        assert status_of(server, forged)["status"] == "invalid"
        assert status_of(server, revoked)["status"] == "revoked"
        assert status_of(server, token(serial="R-NEW"))["status"] == "valid"  # the update did not land
    finally:
        server.stop()


def test_the_issuer_refuses_a_tampered_verify_url(
    repo: SignedRepo, served: Attacker, data: dict[str, Any], tmp_path: Path
) -> None:
    """`xcert issue --trust URL` must never print a QR code for an address the reviewers
    did not sign (it did: https://verify-1x.evil.example/c/… was printed)."""
    repo.publish(data, served.directory)
    evil = {**data, "registry": {**data["registry"], "verify_url": "https://verify-1x.evil.example"}}
    (served.directory / "keys.json").write_text(json.dumps(evil), encoding="utf-8")
    key = tmp_path / "care.key"
    key.write_text(
        "xcert-ed25519-private-key v1\norg: care-org\nseed: " + _b64(bytes(fixture_key(2))) + "\n",
        encoding="utf-8",
    )
    args = ["--certificate", "old-care", "--level", "1", "--serial", "S1", "--name", "王小明"]
    args += ["--id-number", "11010519491231002X", "--key", str(key)]
    args += ["--trust", served.url, "--root", str(repo.root), "--state", str(tmp_path / "state")]
    result = _run([*PYTHON_XCERT, "issue", *args])
    assert result.returncode == 1 and "refused" in result.stderr
    assert "evil.example" not in result.stdout


# ---------------------------------------------------------------- signatures


@pytest.mark.parametrize("who", ["a key that is not a reviewer's", "one of two reviewers"])
def test_targets_without_the_reviewers_threshold_are_refused(
    repo: SignedRepo, served: Attacker, data: dict[str, Any], tmp_path: Path, who: str
) -> None:
    signers = [generate("reviewer-1")] if who.startswith("a key") else repo.reviewers[:1]
    repo.publish(data, served.directory, reviewers=signers)
    result = serve_cli(repo, served.url, tmp_path)
    assert result.returncode == 1 and "refused" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------- rollback, restart, freeze


def test_rollback_is_refused_and_survives_a_restart(
    repo: SignedRepo, served: Attacker, data: dict[str, Any], tmp_path: Path
) -> None:
    """The attacker replays an older, validly signed publication from before a revocation."""
    unrevoked = copy.deepcopy(data)
    dropped_revocation(unrevoked)
    repo.publish(unrevoked, served.directory)
    old = tmp_path / "old"
    shutil.copytree(served.directory, old)
    repo.publish(data, served.directory)  # the revocation is published
    revoked = token(serial=REVOKED_SERIAL)

    server = start(repo, served, tmp_path)
    try:
        assert status_of(server, revoked)["status"] == "revoked"
        shutil.rmtree(served.directory)
        shutil.copytree(old, served.directory)  # replay
        wait_for(lambda: status_of(server, revoked)["trust"]["stale"], server)
        assert status_of(server, revoked)["status"] == "revoked"
    finally:
        server.stop()
    assert "trust update failed" in server.output()

    # A restart with the same state directory remembers what it saw: still refused.
    restarted = serve_cli(repo, served.url, tmp_path)
    assert restarted.returncode == 1 and "refused" in restarted.stderr, restarted.stderr


def test_a_frozen_list_stops_giving_valid_when_its_timestamp_expires(
    repo: SignedRepo, served: Attacker, data: dict[str, Any], tmp_path: Path
) -> None:
    """The attacker keeps serving the last publication (or answers 304 forever)."""
    ttl = 20  # long enough for the service to start on a loaded machine before it expires
    published = dt.datetime.now(dt.UTC).replace(microsecond=0)
    repo.publish(data, served.directory, now=published - dt.timedelta(days=tufrepo.ONLINE_DAYS, seconds=-ttl))
    good = token()
    server = start(repo, served, tmp_path)
    try:
        first = status_of(server, good)
        assert first["status"] == "valid" and first["trust"]["expired"] is False
        served.not_modified = True  # "nothing changed", forever
        wait_for(lambda: status_of(server, good)["trust"]["expired"], server, seconds=ttl + 20)
        late = status_of(server, good)
        assert late["status"] == "invalid"
        assert [c["code"] for c in late["checks"] if not c["ok"]] == ["trust.current"]
        ready = httpx.get(server.url + "/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["trust"]["expired"] is True
        page = httpx.get(f"{server.url}/c/{to_digits(good)}", timeout=10).text
        assert "信任列表已过期" in page and "out of date" in page
    finally:
        server.stop()


# ---------------------------------------------------------------- transport


def test_a_cross_origin_redirect_is_refused(
    repo: SignedRepo, served: Attacker, data: dict[str, Any], tmp_path: Path
) -> None:
    elsewhere_dir = tmp_path / "elsewhere"
    elsewhere_dir.mkdir()
    elsewhere = Attacker(elsewhere_dir)
    try:
        repo.publish(data, elsewhere_dir)  # even genuine metadata: the origin is what counts
        served.redirect = elsewhere.origin
        result = serve_cli(repo, served.url, tmp_path)
        assert result.returncode == 1 and "redirect to another origin refused" in result.stderr, result.stderr
    finally:
        elsewhere.close()


def test_a_trickled_download_fails_at_its_deadline_and_is_reported(
    repo: SignedRepo, served: Attacker, data: dict[str, Any], tmp_path: Path
) -> None:
    """A man in the middle sends a byte every 0.2 s (each read well inside the 30 s read
    timeout): the file's wall-clock deadline ends the update, the state stays the last good
    one, the service reports the failure, and a normal server updates again."""
    repo.publish(data, served.directory)
    store = TrustStore(served.url, repo.root, tmp_path / "state")
    store.load()
    store.client.file_deadline = 1.0  # plus 16384 B (timestamp's max) at 100 kB/s: 1.2 s
    state = tmp_path / "state" / "timestamp.json"
    before = state.read_bytes()
    repo.publish({**data, "version": data["version"] + "-next"}, served.directory)
    served.trickle = 0.2  # 558 bytes: about 2 minutes, without the deadline hours at 29 s

    started = time.monotonic()
    with pytest.raises(TrustListError, match=r"tuf/timestamp\.json: not received within the 1\.2 s"):
        store.client.update(store.snapshot.trust if store.snapshot else None)
    assert time.monotonic() - started < 4
    assert state.read_bytes() == before

    assert asyncio.run(store.refresh()) is False  # the poller's path: kept, and reported
    status = store.status()
    assert status["stale"] is True and status["last_error"] and status["version"] == data["version"]
    assert state.read_bytes() == before

    served.trickle = None
    assert asyncio.run(store.refresh()) is True
    status = store.status()
    assert status["stale"] is False and status["version"] == data["version"] + "-next"
    assert state.read_bytes() != before


def test_only_https_or_loopback_http() -> None:
    for url in ("http://registry.example.cn/keys.json", "ftp://x/keys.json", "http://10.0.0.1/keys.json"):
        with pytest.raises(TrustListError, match="only https"):
            check_url(url)
    for url in (
        "https://registry.example.cn/keys.json",
        "http://127.0.0.1:8000/keys.json",
        "http://[::1]/keys.json",
    ):
        check_url(url)


def test_a_local_trust_list_under_any_directory_name(tmp_path: Path, trust_json: dict[str, Any]) -> None:
    """A space or Chinese characters in the path were percent-encoded by as_uri() and never
    decoded: 'not found' (review of stop 21). Any URL scheme is a URL, never a local path:
    HTTPS:// in capitals is https, file:// and ftp:// are refused by name."""
    from conftest import REPO, publish_signed

    from xcert.tufclient import base_urls, fetch_signed

    site = tmp_path / "我的 站点"
    publish_signed(site / "keys.json", trust_json)
    trust = fetch_signed(str(site / "keys.json"), REPO.root, tmp_path / "state")
    assert trust.signed is not None and trust.organizations
    assert base_urls("HTTPS://registry.example.cn/keys.json")[1] == "https://registry.example.cn/"
    for source in (f"file://{site}/keys.json", "ftp://registry.example.cn/keys.json"):
        with pytest.raises(TrustListError, match="only https"):
            base_urls(source)


def test_a_path_through_the_release_symlink_follows_each_publish(
    tmp_path: Path, trust_json: dict[str, Any]
) -> None:
    """`xcert serve --trust /srv/xcert/current/keys.json` resolved the symlink once and kept
    polling the first release until its timestamp expired (review of stop 21)."""
    from conftest import REPO, publish_signed

    publish_signed(tmp_path / "r1" / "keys.json", trust_json)
    (tmp_path / "current").symlink_to("r1")
    store = TrustStore(str(tmp_path / "current" / "keys.json"), REPO.root, tmp_path / "state")
    org = trust_json["organizations"][0]
    assert store.load().trust.organizations[org["id"]].name["en"] == org["name"]["en"]
    changed = copy.deepcopy(trust_json)
    changed["organizations"][0]["name"]["en"] += " (renamed)"
    time.sleep(1.1)  # versions count in seconds
    publish_signed(tmp_path / "r2" / "keys.json", changed)
    (tmp_path / "current.new").symlink_to("r2")
    (tmp_path / "current.new").replace(tmp_path / "current")
    asyncio.run(store.refresh())
    assert store.snapshot is not None and store.last_error_at is None
    assert store.snapshot.trust.organizations[org["id"]].name["en"] == org["name"]["en"] + " (renamed)"


def test_source_urls_are_redacted() -> None:
    secret = "https://svc:S3cretPass@host.example/keys.json?X-Amz-Signature=abc#frag"
    assert redact(secret) == "https://host.example/keys.json"


# ---------------------------------------------------------------- root rotation


def rotated(repo: SignedRepo, tmp_path: Path, *, signed_by_old: bool) -> tuple[Any, bytes]:
    """Root version 2 with a new root key; properly, signed by the old root key as well."""
    new_root_key = generate("root-2")
    md = tufrepo.new_root(
        [new_root_key],
        1,
        repo.reviewers,
        2,
        repo.online,
        version=2,
        sign_with=[repo.root_key] if signed_by_old else [],
    )
    return new_root_key, md.to_bytes()


@pytest.mark.parametrize("proper", [True, False], ids=["signed by the old root too", "new key only"])
def test_root_rotation(
    repo: SignedRepo, served: Attacker, data: dict[str, Any], tmp_path: Path, proper: bool
) -> None:
    _, root_v2 = rotated(repo, tmp_path, signed_by_old=proper)
    repo.roots.append(root_v2)
    repo.publish(data, served.directory)
    if proper:
        server = start(repo, served, tmp_path)  # pinned to version 1: walks to version 2
        try:
            result = status_of(server, token())
            assert result["status"] == "valid" and result["trust"]["root_version"] == 2
        finally:
            server.stop()
    else:
        result = serve_cli(repo, served.url, tmp_path)
        assert result.returncode == 1 and "refused" in result.stderr, result.stderr


# ---------------------------------------------------------------- the registry side


def test_check_and_publish_refuse_unsigned_content(tmp_path: Path) -> None:
    """A key added in a pull request: check names the organization file, the build refuses
    to publish, and a reviewer's signature makes both pass."""
    from xcert.cli_registry import check
    from xcert.load import load_registry

    registry = tmp_path / "registry"
    shutil.copytree(ROOT / "registry", registry)
    org = registry / "organizations" / "sandbox.yaml"
    text = org.read_text(encoding="utf-8")
    new_key = _b64(bytes(fixture_key(FORGED_KEY).verify_key))
    org.write_text(
        text.replace(
            "keys:\n",
            f"keys:\n  - public_key: {new_key}\n    not_before: 2026-01-01\n    status: active\n",
            1,
        ),
        "utf-8",
    )
    reg = load_registry(registry).registry
    assert reg is not None
    problems = tufrepo.check_signed(registry, reg)
    assert [p.loc.path for p in problems] == [str(org)] and "organization sandbox changed" in problems[
        0
    ].message
    assert check(registry) == 1
    with pytest.raises(tufrepo.TrustRepoError, match="refusing to publish an unsigned trust list"):
        tufrepo.publish(tmp_path / "site", registry, reg, read_private_key(tufrepo.SANDBOX_TIMESTAMP_KEY))
    assert not (tmp_path / "site").exists()
    tufrepo.sign_targets(registry, reg, read_private_key(ROOT / "sandbox" / "trust-reviewer-2-TEST-ONLY.key"))
    assert tufrepo.check_signed(registry, reg) == [] and check(registry) == 0
    published = tufrepo.publish(
        tmp_path / "site", registry, reg, read_private_key(tufrepo.SANDBOX_TIMESTAMP_KEY)
    )
    before = tufrepo.read_metadata(
        ROOT / "registry" / "trust" / "targets.json", tufrepo.Targets
    ).signed.version
    assert published["targets"] == before + 1 and (tmp_path / "site" / "tuf" / "timestamp.json").is_file()


def test_sign_refuses_a_key_that_is_not_a_reviewers(tmp_path: Path) -> None:
    from xcert.load import load_registry

    reg = load_registry(ROOT / "registry").registry
    assert reg is not None
    with pytest.raises(tufrepo.TrustRepoError, match="not a reviewer key"):
        tufrepo.sign_targets(ROOT / "registry", reg, read_private_key(tufrepo.SANDBOX_TIMESTAMP_KEY))


def test_the_ceremony_writes_private_keys_0600_and_never_overwrites(tmp_path: Path) -> None:
    made = tufrepo.init_ceremony(tmp_path, root_keys=3, root_threshold=2, reviewers=3, threshold=2)
    assert len(made.key_paths) == 7
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in made.key_paths)
    root = tufrepo.read_metadata(made.root_path, tufrepo.Root).signed
    assert root.roles["root"].threshold == 2 and root.roles["targets"].threshold == 2
    assert not tufrepo.is_test_root(root)
    tufrepo.verify_root_chain([made.root_path.read_bytes()])
    with pytest.raises(tufrepo.TrustRepoError, match="refusing to overwrite"):
        tufrepo.init_ceremony(tmp_path)


def test_secrets_in_the_trust_url_never_leave_the_service(
    repo: SignedRepo, served: Attacker, data: dict[str, Any], tmp_path: Path
) -> None:
    """Credentials and a signed query in XCERT_TRUST appeared in every result (served with
    CORS *), in /readyz and in the logs once updates failed."""
    repo.publish(data, served.directory)
    port = served.origin.rsplit(":", 1)[1]
    secret_url = f"http://svc:S3cretPass@127.0.0.1:{port}/keys.json?X-Amz-Signature=abcdef0123"
    server = Server(secret_url, tmp_path / "server.log", root=repo.root, state=tmp_path / "state")
    try:
        served.close()  # every update fails from now on
        wait_for(lambda: status_of(server, token())["trust"]["stale"], server)
        answers = [
            httpx.get(server.url + "/readyz", timeout=10).text,
            httpx.get(server.url + "/api/v1/verify", params={"token": to_digits(token())}, timeout=10).text,
            httpx.get(f"{server.url}/c/{to_digits(token())}", timeout=10).text,
        ]
    finally:
        server.stop()
    log = server.output()
    assert "trust update failed" in log
    for text in [*answers, log]:
        assert "S3cretPass" not in text and "X-Amz" not in text and "svc:" not in text
