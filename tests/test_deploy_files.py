"""deploy/ beyond the running nginx test: the container recipe, its entrypoint (run for real,
outside a container), the Kubernetes manifests, and the example nginx site under `nginx -t`.

Building the image is tested only where podman can build it: on the project's 2-core CI
machine podman and buildah install, but no base image can be pulled (no route to a container
registry) and `podman run` is refused by the sandbox (crun cannot set RLIMIT_NOFILE), so that
test skips with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import SignedRepo
from test_verify_api import free_port

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
MANIFESTS = DEPLOY / "k8s" / "verify.yaml"
CONTAINERFILE = DEPLOY / "Containerfile"
ENTRYPOINT = DEPLOY / "entrypoint.sh"
BASE_IMAGE = "docker.io/library/python:3.11-slim-bookworm"
ENV_VARS = ("XCERT_TRUST", "XCERT_ROOT", "XCERT_STATE_DIR")


# ---------------------------------------------------------------- Kubernetes


def documents() -> dict[str, dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(MANIFESTS.read_text(encoding="utf-8")) if d]
    by_kind = {d["kind"]: d for d in docs}
    assert len(by_kind) == len(docs), "one document per kind"
    return by_kind


def test_manifests_hold_a_deployment_service_autoscaler_and_disruption_budget() -> None:
    docs = documents()
    assert set(docs) == {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    assert {d["apiVersion"] for d in docs.values()} == {"apps/v1", "v1", "autoscaling/v2", "policy/v1"}
    deployment = docs["Deployment"]
    name = deployment["metadata"]["name"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    pod = deployment["spec"]["template"]
    assert selector.items() <= pod["metadata"]["labels"].items(), "the Deployment selects its own pods"
    assert docs["Service"]["spec"]["selector"] == selector
    assert docs["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == selector
    target = docs["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert target == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    hpa = docs["HorizontalPodAutoscaler"]["spec"]
    assert 2 <= hpa["minReplicas"] <= deployment["spec"]["replicas"] <= hpa["maxReplicas"]
    assert docs["PodDisruptionBudget"]["spec"]["maxUnavailable"] < hpa["minReplicas"]
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_verify_pods_are_stateless_non_root_and_probed() -> None:
    deployment = documents()["Deployment"]
    spec = deployment["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] != 0
    assert spec["automountServiceAccountToken"] is False
    (container,) = spec["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert set(ENV_VARS) <= set(env)
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
    assert env["XCERT_PORT"] == str(port) and env["XCERT_WORKERS"] == "1"
    assert int(env["XCERT_MAX_STALE_SECONDS"]) < 3 * 86400, "unready before the 3-day timestamp expires"
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert "cpu" in container["resources"]["requests"], "the autoscaler measures CPU against the request"
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    root_mount = mounts[str(Path(env["XCERT_ROOT"]).parent)]
    assert root_mount["readOnly"] is True and "configMap" in volumes[root_mount["name"]]
    assert "emptyDir" in volumes[mounts[env["XCERT_STATE_DIR"]]["name"]], "no state survives a pod"
    assert documents()["Service"]["spec"]["ports"][0]["targetPort"] == "http"


# ---------------------------------------------------------------- the container recipe


def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_the_image_runs_the_entrypoint_as_a_non_root_user() -> None:
    final = instructions()
    final = final[max(i for i, (op, _) in enumerate(final) if op == "FROM") :]  # the runtime stage
    ops = dict(final)
    assert ops["USER"].split(":")[0] not in ("0", "root") and ops["USER"].split(":")[0].isdigit()
    assert ops["ENTRYPOINT"] == '["/usr/local/bin/xcert-entrypoint"]'
    assert "COPY deploy/entrypoint.sh /usr/local/bin/xcert-entrypoint" in [f"{o} {a}" for o, a in final]
    assert "/readyz" in ops["HEALTHCHECK"]
    assert "uv sync --frozen --no-dev" in CONTAINERFILE.read_text(encoding="utf-8"), "exactly uv.lock"
    copied = [a.split()[0] for o, a in instructions() if o == "COPY" and not a.startswith("--from")]
    for path in copied:
        assert (ROOT / path).exists(), path
    assert not any(p.startswith(("registry", "sandbox", "site")) for p in copied), (
        "no data or keys in the image"
    )


def entrypoint(env: dict[str, str], **kwargs: Any) -> subprocess.Popen[bytes]:
    path = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("XCERT_")}
    return subprocess.Popen(
        ["sh", str(ENTRYPOINT)], env={**clean, "PATH": path, **env}, cwd=kwargs.pop("cwd", "/"), **kwargs
    )


@pytest.mark.parametrize("missing", ENV_VARS)
def test_the_entrypoint_refuses_to_start_without_its_configuration(missing: str, tmp_path: Path) -> None:
    env = {"XCERT_TRUST": "https://registry.example.cn/keys.json", "XCERT_ROOT": "/etc/xcert/root.json"}
    env["XCERT_STATE_DIR"] = str(tmp_path)
    del env[missing]
    proc = entrypoint(env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert f"{missing}: set {missing} to" in err.decode()


def test_the_entrypoint_serves_a_signed_trust_list_from_the_environment(
    tmp_path: Path, trust_json: dict[str, Any]
) -> None:
    """The container's command, outside a container: from / (nothing of the checkout found
    by accident), configured only by environment variables, probes answering."""
    repo = SignedRepo(tmp_path / "repo")
    keys = repo.publish(trust_json, tmp_path / "site")
    port = free_port()
    state = tmp_path / "state"
    env = {"XCERT_TRUST": str(keys), "XCERT_ROOT": str(repo.root), "XCERT_STATE_DIR": str(state)}
    env |= {"XCERT_HOST": "127.0.0.1", "XCERT_PORT": str(port), "XCERT_POLL_SECONDS": "0.5"}
    log = (tmp_path / "entrypoint.log").open("wb")
    proc = entrypoint(env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "entrypoint.log").read_text()
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, (tmp_path / "entrypoint.log").read_text()
                time.sleep(0.1)
        assert ready.status_code == 200 and ready.json()["ready"] is True
        assert ready.json()["trust"]["loaded"] is True and ready.json()["trust"]["expired"] is False
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json() == {"status": "ok"}
        assert any(state.iterdir()), "verified metadata kept in XCERT_STATE_DIR"
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


# ---------------------------------------------------------------- the example nginx site


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx not installed (bash test.sh installs it)")
def test_the_example_https_site_passes_nginx_t(tmp_path: Path) -> None:
    """registry.example.conf as shipped (TLS, http/2, the redirect), inside Debian's nginx.conf,
    with only the certificate paths pointed at a throwaway self-signed pair."""
    from test_deploy_nginx import conf_dir, nginx_test

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ed25519", "-nodes", "-days", "1",
         "-subj", "/CN=registry.test", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    text = (DEPLOY / "nginx" / "registry.example.conf").read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^(\s*ssl_certificate) \S+;", rf"\1 {cert};", text)
    text, m = re.subn(r"(?m)^(\s*ssl_certificate_key) \S+;", rf"\1 {key};", text)
    assert n == m == 1
    logs = re.findall(r"(?m)^\s*access_log (.*);", text)
    assert logs and all(line.endswith(" xcert_privacy") for line in logs), "the default format logs tokens"
    checked = nginx_test(conf_dir(tmp_path, text))
    assert checked.returncode == 0, checked.stderr


# ---------------------------------------------------------------- image build (where possible)


def test_the_image_builds_with_podman(tmp_path: Path) -> None:
    podman = shutil.which("podman")
    if podman is None:
        pytest.skip("podman not installed")
    have_base = subprocess.run([podman, "image", "exists", BASE_IMAGE], capture_output=True, timeout=60)
    if have_base.returncode != 0:
        pytest.skip(f"{BASE_IMAGE} is not available locally and this machine cannot pull it")
    built = subprocess.run(
        [
            podman,
            "build",
            "--format",
            "docker",
            "-f",
            str(CONTAINERFILE),
            "-t",
            "xcert-verify-test",
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    user = subprocess.run(
        [podman, "image", "inspect", "--format", "{{.Config.User}}", "xcert-verify-test"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert user.stdout.strip() == "10001:10001"
