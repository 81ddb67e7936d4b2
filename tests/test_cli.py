"""The `xcert` command, on real files: keys, issuing, batches, decode, verify, serve.

The end-to-end test runs the installed command in a subprocess with the published sandbox
key against registry/, scans the PNG with zxing-cpp and verifies the URL with `xcert
verify` and with pycose.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import click
import pytest
import zxingcpp
from click.testing import CliRunner
from conftest import FIXTURE_REGISTRY, fixture_key
from PIL import Image
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.messages import CoseMessage, Sign1Message

from xcert import cli
from xcert.keys import PrivateKey, write_private_key
from xcert.load import load_registry
from xcert.token import decode, token_from_text
from xcert.trust import trust_list_from_registry

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_KEY = ROOT / "sandbox" / "sandbox-TEST-ONLY.key"
ID = "11010519491231002X"
FIXTURE = str(FIXTURE_REGISTRY)


def run(*args: str) -> click.testing.Result:
    return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)


@pytest.fixture
def care_key(tmp_path: Path) -> str:
    path = tmp_path / "care.key"
    write_private_key(path, PrivateKey("care-org", fixture_key(2)))
    return str(path)


def issue_args(key: str, *more: str) -> list[str]:
    base = [
        "issue",
        "--key",
        key,
        "--certificate",
        "old-care",
        "--level",
        "2",
        "--serial",
        "2026000000000001",
    ]
    return [*base, "--name", "王小明", "--id-number", ID, "--registry", FIXTURE, *more]


# --- documentation ----------------------------------------------------------------------


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = {name for name in cli.main.commands if f"xcert {name}" not in readme}
    assert not missing, f"README.md does not mention: {sorted(missing)}"


def test_every_command_and_option_has_help() -> None:
    for name, command in cli.main.commands.items():
        assert command.help and command.get_short_help_str(), name
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"xcert {name} {param.opts[0]} has no help text"
        assert run(name, "--help").exit_code == 0


# --- keys -------------------------------------------------------------------------------


def test_keygen_writes_0600_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "org.key"
    first = run("keygen", "--org", "care-org", "--out", str(out))
    assert first.exit_code == 0 and os.stat(out).st_mode & 0o777 == 0o600
    assert "public_key:" in first.stdout and "status: active" in first.stdout
    before = out.read_bytes()
    again = run("keygen", "--org", "care-org", "--out", str(out))
    assert (
        again.exit_code == 1 and "refusing to overwrite" in again.stderr and "Traceback" not in again.output
    )
    assert out.read_bytes() == before
    bad = run("keygen", "--org", "Care Org", "--out", str(tmp_path / "x.key"))
    assert bad.exit_code == 1 and "org: expected an organization id" in bad.stderr


def test_keygen_snippet_goes_into_the_registry_and_the_new_key_issues(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    shutil.copytree(FIXTURE_REGISTRY, registry)
    key = tmp_path / "new.key"
    snippet = run("keygen", "--org", "care-org", "--out", str(key)).stdout
    items = snippet.split("keys:\n", 1)[1]
    org_file = registry / "organizations" / "care-org.yaml"
    org_file.write_text(
        org_file.read_text(encoding="utf-8").replace("keys:\n", "keys:\n" + items), encoding="utf-8"
    )
    assert load_registry(registry).ok

    info = run("key-info", str(key)).stdout
    kid = info.split("kid:", 1)[1].split()[0]
    assert "org:         care-org" in info and f"# kid {kid}" in snippet
    issued = run(*issue_args(str(key))[:-2], "--registry", str(registry))
    assert issued.exit_code == 0, issued.output
    assert decode(token_from_text(issued.stdout.strip())).kid.hex() == kid
    assert run("verify", issued.stdout.strip(), "--registry", str(registry)).exit_code == 0


def test_key_info_on_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.key"
    path.write_text("not a key\n")
    result = run("key-info", str(path))
    assert result.exit_code == 1 and "not an xcert private key" in result.stderr


# --- issue ------------------------------------------------------------------------------


def test_issue_prints_the_url_and_writes_qr(tmp_path: Path, care_key: str) -> None:
    result = run(*issue_args(care_key, "--qr", str(tmp_path / "c.svg"), "--ecc", "Q"))
    assert result.exit_code == 0, result.output
    url = result.stdout.strip()
    assert url.startswith("https://verify.1x.example.cn/c/") and "\n" not in url
    assert (tmp_path / "c.svg").read_text().startswith("<svg") and "ECC Q" in result.stderr
    assert decode(token_from_text(url)).claims.expires_at is None


def test_issue_refusal_names_each_failing_check(care_key: str) -> None:
    args = issue_args(care_key, "--date", "2022-05-01")
    args[args.index("old-care")] = "logistics"
    result = run(*args)
    assert result.exit_code == 1 and result.stdout == ""
    assert "refused to issue:" in result.stderr
    assert "key.window: The issue time is outside the key's signing window" in result.stderr
    assert "certificate.owner: The organization may not issue this certificate type" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--qr", "c.jpg"], "expected a file name ending in .svg or .png"),
        (["--date", "10/01/2023"], "expected YYYY-MM-DD"),
        (["--ecc", "H"], "'H' is not one of 'M', 'Q'"),
        (["--trust", "keys.json"], "give either --registry or --trust"),
    ],
)
def test_issue_usage_errors(care_key: str, extra: list[str], message: str) -> None:
    result = run(*issue_args(care_key, *extra))
    assert result.exit_code == 2 and message in result.stderr


def test_issue_without_a_registry(care_key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(*issue_args(care_key)[:-2])
    assert result.exit_code == 2 and "no registry at registry/" in result.stderr


# --- issue-batch ------------------------------------------------------------------------


def test_issue_batch_reports_bad_rows_with_line_numbers(tmp_path: Path, care_key: str) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        "certificate,level,serial,name,id_number,date\n"
        f"old-care,2,S1,王小明,{ID},2025-01-10\n"
        f"old-care,5,S2,李娜,{ID},2025-01-10\n"
        f"old-care,1,S1,张伟,{ID},2025-01-10\n",
        encoding="utf-8",
    )
    result = run("issue-batch", "--key", care_key, "--csv", str(src), "--out", str(tmp_path / "out"),
                 "--registry", FIXTURE, "--workers", "1", "-q")  # fmt: skip
    assert result.exit_code == 1
    assert f"{src}:3: error: level: expected 1, 2 or 3" in result.stderr
    assert f"{src}:4: error: duplicate serial 'S1' (first on line 2)" in result.stderr
    assert "2 bad lines; nothing was issued" in result.stderr
    assert not (tmp_path / "out").exists()


def test_issue_batch_writes_everything(tmp_path: Path, care_key: str) -> None:
    src = tmp_path / "in.csv"
    with open(src, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["certificate", "level", "serial", "name", "id_number", "college"])
        w.writerows(["old-care", 1 + i % 3, f"S{i}", "王小明", ID, "c1"] for i in range(4))
    out = tmp_path / "out"
    result = run("issue-batch", "--key", care_key, "--csv", str(src), "--out", str(out),
                 "--registry", FIXTURE, "--date", "2026-01-05")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "issued 4 certificates for care-org" in result.stdout
    assert sorted(p.name for p in out.iterdir())[:3] == ["S0.png", "S0.svg", "S1.png"]
    urls = [row[1] for row in csv.reader((out / "tokens.csv").open(encoding="utf-8"))][1:]
    assert all(run("verify", url, "--registry", FIXTURE).exit_code == 0 for url in urls)


# --- decode, verify, serve --------------------------------------------------------------


def test_decode_shows_the_structure(care_key: str) -> None:
    url = run(*issue_args(care_key, "--college", "4143010827")).stdout.strip()
    text = run("decode", url).stdout
    for part in ("138 bytes COSE_Sign1", "alg -8 (EdDSA)", "kid ", "certificate  old-care",
                 "level        2 (中级 Intermediate)", "ID tail      002X", "college      4143010827",
                 "version 9 at M", "NOT VERIFIED"):  # fmt: skip
        assert part in text, part
    data = json.loads(run("decode", "--json", url).stdout)
    assert data["claims"]["serial"] == "2026000000000001" and data["signature_checked"] is False
    assert data["digits"] == len(url.rsplit("/c/", 1)[1])


@pytest.mark.parametrize("text", ["https://v.example/c/123", "zz", "d2"])
def test_decode_malformed(text: str) -> None:
    result = run("decode", text)
    assert result.exit_code == 1 and "malformed:" in result.stderr and "Traceback" not in result.output


def test_verify_exit_status_and_json(care_key: str, tmp_path: Path, signed_repo: Any) -> None:
    url = run(*issue_args(care_key)).stdout.strip()
    ok = run("verify", url, "--registry", FIXTURE)
    assert ok.exit_code == 0 and ok.stdout.startswith("VALID")
    assert "ok    signature" in ok.stdout and "holder       王小明" in ok.stdout

    tampered = url[:-1] + str((int(url[-1]) + 1) % 10)
    bad = run("verify", tampered, "--registry", FIXTURE, "--json")
    data = json.loads(bad.stdout)
    assert bad.exit_code == 1 and data["status"] == "invalid"
    assert [c["code"] for c in data["checks"] if not c["ok"]] == ["signature"] and data["claims"] is None

    from xcert import trust as trustmod

    reg = load_registry(FIXTURE_REGISTRY).registry
    assert reg is not None
    site = tmp_path / "site"
    trust = signed_repo.publish(json.loads(trustmod.trust_content(reg)), site)
    state = ["--root", str(signed_repo.root), "--state", str(tmp_path / "state")]
    assert run("verify", url, "--trust", str(trust), *state).exit_code == 0
    unsigned = tmp_path / "unsigned" / "keys.json"
    unsigned.parent.mkdir()
    unsigned.write_bytes(trustmod.trust_content(reg))
    refused = run("verify", url, "--trust", str(unsigned), *state)
    assert refused.exit_code == 1 and "refused" in refused.stderr and "Traceback" not in refused.stderr

    malformed = run("verify", "12", "--registry", FIXTURE)
    assert malformed.exit_code == 1 and malformed.stdout.startswith("MALFORMED")
    assert "FAIL  token.format" in malformed.stdout


def test_serve_is_a_thin_wrapper(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    fake = types.ModuleType("verify_api.serve")
    vars(fake).update(serve=lambda *args, **kwargs: calls.append((*args, kwargs)))
    monkeypatch.setitem(sys.modules, "verify_api.serve", fake)
    url = "https://1x.example.cn/keys.json"
    result = run("serve", "--trust", url, "--root", "r.json", "--port", "9000", "--workers", "4")
    limits = {"limit_concurrency": 1000, "keep_alive": 5, "header_timeout": 10.0, "body_timeout": 10.0}
    polling = {"poll_seconds": 30.0, "max_stale_seconds": 86400.0}
    assert result.exit_code == 0 and calls == [
        (url, "r.json", "127.0.0.1", 9000, 4, {"state_dir": None, **polling, **limits})
    ]
    # a deployment's environment is read here, at the edge, and passed on as arguments
    env = {"XCERT_POLL_SECONDS": "0", "XCERT_MAX_STALE_SECONDS": "60"}
    result = CliRunner(env=env).invoke(cli.main, ["serve", "--trust", url], catch_exceptions=False)
    assert result.exit_code == 0 and calls[-1][-1]["poll_seconds"] == 0.0
    assert calls[-1][-1]["max_stale_seconds"] == 60.0
    bad = CliRunner(env={"XCERT_MAX_STALE_SECONDS": "0"}).invoke(cli.main, ["serve", "--trust", url])
    assert bad.exit_code == 2 and "--max-stale-seconds" in bad.stderr


def test_serve_without_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "verify_api.serve", None)  # import fails
    result = run("serve")
    assert result.exit_code == 1 and "the verify service is not available" in result.stderr


# --- end to end -------------------------------------------------------------------------


def xcert(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("xcert")
    command = [exe] if exe else [sys.executable, "-m", "xcert.cli"]
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_end_to_end_issue_scan_verify(tmp_path: Path) -> None:
    key = tmp_path / "sandbox.key"
    shutil.copy(SANDBOX_KEY, key)
    png = tmp_path / "certificate.png"
    issued = xcert("issue", "--key", str(key), "--certificate", "sandbox-demo", "--level", "2",
                   "--serial", "2025070100000123", "--name", "王小明", "--id-number", ID,
                   "--college", "4143010827", "--qr", str(png), "--registry", str(ROOT / "registry"),
                   cwd=tmp_path)  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    url = issued.stdout.strip()
    assert "TEST" in issued.stderr

    qr_only = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    scanned = zxingcpp.read_barcodes(Image.open(png), formats=qr_only)
    assert [b.text for b in scanned] == [url]
    extra = scanned[0].extra
    assert isinstance(extra, dict) and int(extra["Version"]) <= 9

    checked = xcert("verify", scanned[0].text, "--registry", str(ROOT / "registry"), cwd=tmp_path)
    assert checked.returncode == 3, checked.stdout + checked.stderr  # TEST: never exit 0
    assert checked.stdout.startswith("TEST  sandbox TEST certificate: not a real one")

    # an independent COSE implementation, with only the published public key
    trust = trust_list_from_registry(ROOT / "registry")
    token = token_from_text(scanned[0].text)
    (public,) = trust.keys_for(decode(token).kid)
    message = CoseMessage.decode(token)
    assert isinstance(message, Sign1Message)
    message.key = OKPKey(crv=Ed25519, x=public.public_key)
    assert message.verify_signature() and public.organization == "sandbox"


def test_issuing_for_an_address_no_phone_can_open_warns_loudly(care_key: str) -> None:
    """`--registry ./registry` printed http://127.0.0.1:8001/c/… into the QR without a word."""
    fine = run(*issue_args(care_key))  # the fixture registry's verify_url is https
    assert fine.exit_code == 0 and "WARNING" not in fine.stderr
    sandbox = ["issue", "--key", str(SANDBOX_KEY), "--certificate", "sandbox-demo", "--level", "1"]
    sandbox += ["--serial", "W1", "--name", "测试", "--id-number", ID, "--registry", str(ROOT / "registry")]
    local = run(*sandbox)
    assert local.exit_code == 0, local.output
    assert "WARNING: the QR codes point at http://127.0.0.1:8001, a loopback address" in local.stderr
    assert "--trust https://" in local.stderr


def test_both_entry_points_read_the_registry_in_the_current_directory(tmp_path: Path) -> None:
    """`xcert check` and `python build.py check` mean the same default registry, ./registry,
    wherever the checkout is; without one they both say where they looked."""
    entry_points = {
        "xcert": [sys.executable, "-m", "xcert.cli", "check"],
        "build.py": [sys.executable, str(ROOT / "build.py"), "check"],
    }
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name, cmd in entry_points.items():
        missing = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=env)
        assert missing.returncode == 1, (name, missing.stderr)
        assert missing.stdout.startswith("registry/registry.yaml:1:1: error: registry.yaml not found"), name
    shutil.copytree(FIXTURE_REGISTRY, tmp_path / "registry")
    for name, cmd in entry_points.items():
        ok = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=env)
        assert ok.returncode == 0 and ok.stderr == "check ok: 0 error(s), 0 warning(s) in registry\n", name
