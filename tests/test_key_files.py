"""What a private key file may never do: leak its seed into an error message, or be used
silently while its group or others can read it."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import FIXTURE_REGISTRY, fixture_key
from nacl.signing import SigningKey

from xcert import cli, keys

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_KEY = ROOT / "sandbox" / "sandbox-TEST-ONLY.key"
ID = "11010519491231002X"

KEY = keys.PrivateKey("acme", SigningKey(hashlib.sha256(b"xcert test seed").digest()))
SEED = keys.encode_b64url(bytes(KEY.signing_key))
GOOD = keys.dumps(KEY)  # header, org (2), kid (3), public-key (4), seed (5)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)


def without_seed(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not line.startswith("seed:"))


def replace_line(text: str, prefix: str, new: str) -> str:
    return "\n".join(new if line.startswith(prefix) else line for line in text.split("\n"))


def leaks(message: str) -> list[str]:
    """Every 8-character piece of the seed that shows in ``message``."""
    return [SEED[i : i + 8] for i in range(len(SEED) - 7) if SEED[i : i + 8] in message]


# (key file text, the line the error must name); None: a whole-file error with no line
MISPLACED = {
    "seed= instead of seed:": (without_seed(GOOD) + f"seed={SEED}\n", 5),
    "the bare seed on a line": (without_seed(GOOD) + f"{SEED}\n", 5),
    "seed with a space": (without_seed(GOOD) + f"seed {SEED}\n", 5),
    "the seed as a field name": (without_seed(GOOD) + f"{SEED}: x\n", 5),
    "capitalised Seed": (without_seed(GOOD) + f"Seed: {SEED}\n", 5),
    "private-key field": (without_seed(GOOD) + f"private-key: {SEED}\n", 5),
    "seed in the org line": (replace_line(GOOD, "org:", f"org: {SEED}"), 2),
    "seed in the kid line": (replace_line(GOOD, "kid:", f"kid: {SEED}"), 3),
    "seed in the public-key line": (replace_line(GOOD, "public-key:", f"public-key: {SEED}"), 4),
    "padded seed": (replace_line(GOOD, "seed:", f"seed: {SEED}="), 5),
    "quoted seed": (replace_line(GOOD, "seed:", f'seed: "{SEED}"'), 5),
    "seed with a trailing note": (replace_line(GOOD, "seed:", f"seed: {SEED} (backup)"), 5),
    "a second seed line": (GOOD + f"seed: {SEED[::-1]}\n", 6),
    "seed on the header line": (f"seed: {SEED}\n" + GOOD.split("\n", 1)[1], 1),
    "header then seed glued": (GOOD.replace(keys.HEADER + "\n", keys.HEADER + f" {SEED}\n"), 1),
    "seed on the line after seed:": (replace_line(GOOD, "seed:", f"seed:\n{SEED}"), 6),
    "no org, only the seed": (f"{keys.HEADER}\nseed: {SEED}\n", None),
}


@pytest.mark.parametrize("case", list(MISPLACED))
def test_no_error_message_quotes_the_seed(case: str) -> None:
    text, line = MISPLACED[case]
    with pytest.raises(keys.KeyFileError) as info:
        keys.loads(text, "c.key")
    message = str(info.value)
    assert leaks(message) == [], message
    assert leaks(repr(info.value.__cause__)) == []
    assert message.startswith(f"c.key:{line}: " if line else "c.key: "), message


def test_no_error_message_quotes_a_misplaced_line_at_all() -> None:
    """Not only the seed: whatever was on the line stays out of the message."""
    for line in ("colour=blue-sky-42", "colour: blue-sky-42", "org: Blue-Sky-42"):
        with pytest.raises(keys.KeyFileError) as info:
            keys.loads(replace_line(GOOD, "org:", line), "c.key")
        assert "blue-sky-42" not in str(info.value).lower() and str(info.value).startswith("c.key:2: ")


def test_key_info_never_prints_a_misplaced_seed(tmp_path: Path) -> None:
    path = tmp_path / "c.key"
    path.write_text(without_seed(GOOD) + f"seed={SEED}\n", encoding="utf-8")
    path.chmod(0o600)
    result = run("key-info", str(path))
    assert result.exit_code == 1
    assert f"{path}:5: no ':' on the line" in result.stderr
    assert leaks(result.output) == [], result.output


def test_not_utf8_does_not_quote_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.key"
    path.write_bytes(GOOD.encode() + b"\xff" + SEED.encode())
    with pytest.raises(keys.KeyFileError, match="not UTF-8") as info:
        keys.read_private_key(path)
    assert info.value.__cause__ is None and leaks(str(info.value)) == []


# --- permissions ------------------------------------------------------------------------


@pytest.fixture
def care_key(tmp_path: Path) -> Path:
    path = tmp_path / "care.key"
    keys.write_private_key(path, keys.PrivateKey("care-org", fixture_key(2)))
    return path


def issue_args(key: Path) -> list[str]:
    return ["issue", "--key", str(key), "--certificate", "old-care", "--level", "2",
            "--serial", "2026000000000001", "--name", "王小明", "--id-number", ID,
            "--registry", str(FIXTURE_REGISTRY)]  # fmt: skip


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_key_info_and_issue_warn_about_a_key_others_can_read(care_key: Path, mode: int) -> None:
    care_key.chmod(mode)
    warning = f"WARNING: {care_key} is readable by others (mode {mode:04o}): run chmod 600 {care_key}"
    info = run("key-info", str(care_key))
    assert info.exit_code == 0 and warning in info.stderr, info.stderr
    assert info.stdout.startswith("org:         care-org\n")  # stdout stays clean for pasting
    issued = run(*issue_args(care_key))
    assert issued.exit_code == 0 and warning in issued.stderr, issued.stderr
    assert issued.stdout.startswith("https://")


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_private_key_file_gets_no_warning(care_key: Path, mode: int) -> None:
    care_key.chmod(mode)
    assert run("key-info", str(care_key)).stderr == ""
    issued = run(*issue_args(care_key))
    assert issued.exit_code == 0 and "readable" not in issued.stderr, issued.stderr


def test_the_published_sandbox_key_checked_out_0644_still_works(tmp_path: Path) -> None:
    """git records the sandbox key as 100644, so a checkout makes it 0644 under the usual
    umask: it is public anyway, and the README's first command must keep working."""
    key = tmp_path / "sandbox-TEST-ONLY.key"
    shutil.copy(SANDBOX_KEY, key)
    key.chmod(0o644)
    info = run("key-info", str(key))
    assert info.exit_code == 0 and "org:         sandbox" in info.stdout
    assert "note: " in info.stderr and "fine for a published TEST key" in info.stderr
    assert "WARNING" not in info.stderr
    issued = run("issue", "--key", str(key), "--certificate", "sandbox-demo", "--level", "1",
                 "--serial", "W1", "--name", "测试", "--id-number", ID,
                 "--registry", str(ROOT / "registry"))  # fmt: skip
    assert issued.exit_code == 0, issued.output


def test_exposed_mode_is_pure(care_key: Path) -> None:
    before = os.stat(care_key).st_mode
    assert keys.exposed_mode(care_key) is None
    care_key.chmod(0o644)
    assert keys.exposed_mode(care_key) == 0o644
    assert keys.exposed_mode(care_key.parent / "missing.key") is None
    assert before & 0o777 == 0o600


def test_a_published_trust_test_key_gets_a_note_not_a_warning(tmp_path: Path) -> None:
    key = tmp_path / "trust-reviewer-1-TEST-ONLY.key"
    shutil.copy(ROOT / "sandbox" / key.name, key)
    key.chmod(0o644)
    info = run("key-info", str(key))
    assert info.exit_code == 0 and "fine for a published TEST key" in info.stderr
    assert "WARNING" not in info.stderr
