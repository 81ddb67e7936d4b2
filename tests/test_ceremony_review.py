"""The trust ceremony under review: a reviewer signs only what the rules build, a rollback is
never published, and the root's history chain and expiry are checked before a verifier
would refuse them. Each test runs a real ceremony (xcert.tufrepo.init_ceremony) over a copy
of the small test registry."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import FIXTURE_REGISTRY, registry_at

from xcert import cli, tufrepo
from xcert.cli_registry import check
from xcert.keys import PrivateKey, read_private_key
from xcert.model import Registry

DOCS = Path(__file__).resolve().parent.parent / "docs" / "trust-list-format.md"


@dataclass
class Setup:
    registry: Path
    keys: dict[str, PrivateKey]  # "root-1", "reviewer-2", "timestamp"…
    ceremony: Path

    @property
    def reg(self) -> Registry:
        return registry_at(self.registry)

    @property
    def targets(self) -> Path:
        return tufrepo.trust_dir(self.registry) / "targets.json"

    def sign(self, *names: str, now: dt.datetime | None = None) -> tufrepo.SignStatus:
        status = None
        for name in names or ("reviewer-1", "reviewer-2"):
            status = tufrepo.sign_targets(self.registry, self.reg, self.keys[name], now)
        assert status is not None
        return status

    def edit_targets(self, **fields: Any) -> None:
        data = json.loads(self.targets.read_text("utf-8"))
        data["signed"].update(fields)
        self.targets.write_text(json.dumps(data), "utf-8")

    def publish(self, site: Path, previous: Path | None = None) -> dict[str, Any]:
        return tufrepo.publish(site, self.registry, self.reg, self.keys["timestamp"], previous=previous)

    def status_cli(self) -> Any:
        return CliRunner().invoke(cli.main, ["trust", "status", "--registry", str(self.registry)])


def make(tmp_path: Path, *, made: dt.datetime | None = None, root_keys: int = 1) -> Setup:
    """The test registry with a fresh root (made at `made`: its expiry is a year later),
    root threshold 1 (2 of 3 with root_keys=3), reviewers 2-of-2."""
    registry = tmp_path / "registry"
    shutil.copytree(FIXTURE_REGISTRY, registry)
    ceremony = tmp_path / "ceremony"
    done = tufrepo.init_ceremony(
        ceremony,
        root_keys=root_keys,
        root_threshold=min(root_keys, 2),
        reviewers=2,
        threshold=2,
        now=made,
    )
    (registry / "trust").mkdir()
    shutil.copyfile(done.root_path, registry / "trust" / "root.json")
    keys = {p.name.removeprefix("trust-").removesuffix(".key"): read_private_key(p) for p in done.key_paths}
    return Setup(registry, keys, ceremony)


def days_ago(n: int) -> dt.datetime:
    return tufrepo.now_utc() - dt.timedelta(days=n)


# ---------------------------------------------------------------- defect 1: what reviewers sign


@pytest.mark.parametrize(
    "edit",
    [
        {"version": 1, "expires": "2099-01-01T00:00:00Z"},
        {"x-xcert-anything": True},
    ],
    ids=["rolled back, expiring 2099", "an unknown field"],
)
def test_a_hand_edited_targets_is_reported_and_rebuilt_by_sign(tmp_path: Path, edit: dict[str, Any]) -> None:
    s = make(tmp_path)
    s.sign()
    s.edit_targets(version=3)  # as if signed three times
    assert s.sign().ok
    s.edit_targets(**edit)  # the pull request's own signed part

    status = tufrepo.sign_status(s.registry, s.reg)
    assert status.current and status.irregular and not status.ok and status.needed == 2
    [problem] = tufrepo.check_signed(s.registry, s.reg)
    assert problem.loc.path == str(s.targets) and "not what the ceremony builds" in problem.message
    assert check(s.registry) == 1
    shown = s.status_cli()
    assert shown.exit_code == 1 and "not what the ceremony builds" in shown.output
    assert "unchanged since the reviewers signed it" not in shown.output
    with pytest.raises(tufrepo.TrustRepoError, match="not what the ceremony builds"):
        s.publish(tmp_path / "site")

    # the reviewer's signature never lands on the pull request's signed part: sign rebuilds
    version = json.loads(s.targets.read_text("utf-8"))["signed"]["version"]
    first = s.sign("reviewer-1")
    assert first.targets_version == version + 1 and not first.irregular and first.needed == 1
    assert "rebuilt as version" in " ".join(first.warnings)
    signed = tufrepo.read_metadata(s.targets, tufrepo.Targets).signed
    assert signed.expires <= tufrepo.now_utc() + dt.timedelta(days=tufrepo.TARGETS_DAYS)
    assert not signed.unrecognized_fields
    assert s.sign("reviewer-2").ok and tufrepo.check_signed(s.registry, s.reg) == []


def test_a_reviewers_clock_a_little_ahead_keeps_the_other_signature(tmp_path: Path) -> None:
    s = make(tmp_path)
    s.sign("reviewer-1", now=tufrepo.now_utc() + dt.timedelta(hours=2))
    assert s.sign("reviewer-2").ok


def test_publish_refuses_a_version_below_or_rewritten_from_the_previous_site(tmp_path: Path) -> None:
    s = make(tmp_path)
    s.sign()
    s.edit_targets(version=3)
    s.sign()
    published = tmp_path / "published"
    assert s.publish(published)["targets"] == 3

    s.edit_targets(version=1)  # validly signed, below what verifiers saw
    assert s.sign().ok
    with pytest.raises(tufrepo.TrustRepoError, match="targets version 1: .* has version 3"):
        s.publish(tmp_path / "site", previous=published)
    assert not (tmp_path / "site").exists()

    s.edit_targets(
        version=3, expires=(tufrepo.now_utc() + dt.timedelta(days=300)).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    assert s.sign().ok  # version 3 again, other bytes: clients holding 3 keep their copy
    with pytest.raises(tufrepo.TrustRepoError, match="published that version with other content"):
        s.publish(tmp_path / "site", previous=published)

    # the documented way back: the published targets.json
    shutil.copyfile(published / "tuf" / "targets.json", s.targets)
    assert s.publish(tmp_path / "site", previous=published)["targets"] == 3


def test_publish_refuses_a_root_below_the_previous_site(tmp_path: Path) -> None:
    s = make(tmp_path)
    s.sign()
    history = tufrepo.trust_dir(s.registry) / "root-history"
    renew_root(s, ["root-1"])
    published = tmp_path / "published"
    assert s.publish(published)["root"] == 2
    shutil.move(history / "1.root.json", tufrepo.trust_dir(s.registry) / "root.json")
    history.rmdir()
    assert tufrepo.check_signed(s.registry, s.reg) == []  # on its own, a good version 1
    with pytest.raises(tufrepo.TrustRepoError, match="root version 1: .* has version 2"):
        s.publish(tmp_path / "site", previous=published)


# ---------------------------------------------------------------- defect 2: the root


def renew_root(s: Setup, names: list[str], *, sign_with_old: bool = True) -> None:
    root = tufrepo.read_metadata(tufrepo.trust_dir(s.registry) / "root.json", tufrepo.Root)
    root.signed.version += 1
    root.signed.expires = tufrepo.now_utc() + dt.timedelta(days=tufrepo.ROOT_DAYS)
    root.signatures.clear()
    if not sign_with_old:
        for keyid in list(root.signed.roles["root"].keyids):
            root.signed.revoke_key(keyid, "root")
        root.signed.add_key(tufrepo.public_key(s.keys["reviewer-1"].public_key, "root-new"), "root")
    for name in names:
        root.sign(tufrepo.signer(s.keys[name]), append=True)
    tufrepo.rotate_root(s.registry, root)


def test_an_expired_root_is_refused_by_check_status_and_publish(tmp_path: Path) -> None:
    s = make(tmp_path, made=days_ago(tufrepo.ROOT_DAYS + 1))
    assert s.sign().current  # reviewers can still sign: the root is the authority's to renew
    problems = tufrepo.check_signed(s.registry, s.reg)
    root_json = str(tufrepo.trust_dir(s.registry) / "root.json")
    assert [(p.loc.path, p.severity) for p in problems] == [(root_json, "error")]
    assert "root version 1 expired" in problems[0].message and "Renewing the root" in problems[0].message
    assert check(s.registry) == 1
    shown = s.status_cli()
    assert shown.exit_code == 1 and "root version 1 expired" in shown.output
    with pytest.raises(tufrepo.TrustRepoError, match="root version 1 expired"):
        s.publish(tmp_path / "site")
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize("how", ["new key only", "skips a version"])
def test_a_root_v2_not_signed_by_v1s_threshold_is_refused(tmp_path: Path, how: str) -> None:
    s = make(tmp_path)
    s.sign()
    if how == "new key only":
        renew_root(s, ["reviewer-1"], sign_with_old=False)  # a key the old root never named
        message = "root version 2 is not signed by the threshold of root version 1"
    else:
        renew_root(s, ["root-1"])  # root-history/1.root.json, root.json version 2
        path = tufrepo.trust_dir(s.registry) / "root.json"
        root = tufrepo.read_metadata(path, tufrepo.Root)
        root.signed.version = 3  # what a client walking 1 → 2 never finds
        root.signatures.clear()
        root.sign(tufrepo.signer(s.keys["root-1"]))
        tufrepo.write_metadata(root, path)
        message = "root number 2 of the history has version 3"
    [problem] = tufrepo.check_signed(s.registry, s.reg)
    assert problem.severity == "error" and message in problem.message, problem.message
    assert check(s.registry) == 1
    with pytest.raises(tufrepo.TrustRepoError, match=re.escape(message)):
        s.publish(tmp_path / "site")


def test_a_root_expiring_in_30_days_gives_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = make(tmp_path, made=days_ago(tufrepo.ROOT_DAYS - 30))
    s.sign()
    [warning] = tufrepo.check_signed(s.registry, s.reg)
    assert warning.severity == "warning" and "root version 1 expires on" in warning.message
    assert "in 29 days" in warning.message or "in 30 days" in warning.message
    assert check(s.registry) == 0
    assert "warning: root version 1 expires on" in capsys.readouterr().out
    shown = s.status_cli()
    assert shown.exit_code == 0 and "warning: root version 1 expires on" in shown.output
    assert s.publish(tmp_path / "site")["root"] == 1  # a warning, not a refusal


def test_targets_expiring_in_30_days_warn_and_sign_starts_a_new_version(tmp_path: Path) -> None:
    s = make(tmp_path)
    assert s.sign(now=days_ago(tufrepo.TARGETS_DAYS - 30)).targets_version == 1
    [warning] = tufrepo.check_signed(s.registry, s.reg)
    assert warning.severity == "warning" and "targets expire on" in warning.message
    assert "warning: targets expire on" in s.status_cli().output
    renewed = s.sign()
    assert renewed.targets_version == 2 and renewed.warnings == () and renewed.ok


def test_the_documented_root_renewal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/trust-list-format.md, "Renewing the root", run as written on a root that expires
    in 30 days (2-of-3 root keys): version 2, chain intact, warning gone, both published."""
    s = make(tmp_path, made=days_ago(tufrepo.ROOT_DAYS - 30), root_keys=3)
    s.sign()
    [snippet] = re.findall(r"^```python renew-root\n(.*?)^```$", DOCS.read_text("utf-8"), re.M | re.S)
    for name in ("root-1", "root-2"):
        shutil.copyfile(s.ceremony / f"trust-{name}.key", tmp_path / f"trust-{name}.key")
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, str(DOCS), "exec"), {})
    assert tufrepo.check_signed(s.registry, s.reg) == []
    tufrepo.verify_root_chain(tufrepo.root_history(s.registry))
    assert s.publish(tmp_path / "site")["root"] == 2
    assert (tmp_path / "site" / "tuf" / "1.root.json").is_file()
