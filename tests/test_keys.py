"""Private key files, fingerprints and the published sandbox key."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from xcert import keys
from xcert.token import kid_of

SANDBOX = Path(__file__).resolve().parent.parent / "sandbox" / "sandbox-TEST-ONLY.key"


def test_write_read_round_trip(tmp_path):
    key = keys.generate("zhongfu-elderly")
    path = tmp_path / "org.key"
    keys.write_private_key(path, key, comment="line one\nline two")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert text.startswith(keys.HEADER + "\n# line one\n# line two\norg: zhongfu-elderly\n")
    back = keys.read_private_key(path)
    assert back.org == "zhongfu-elderly"
    assert back.public_key == key.public_key and bytes(back.signing_key) == bytes(key.signing_key)


def test_refuses_to_overwrite(tmp_path):
    path = tmp_path / "org.key"
    path.write_text("precious")
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        keys.write_private_key(path, keys.generate("x"))
    assert path.read_text() == "precious"


def test_fingerprint_kid_and_b64url():
    key = SigningKey(bytes(32))
    pub = bytes(key.verify_key)
    fp = keys.fingerprint(pub)
    assert fp.replace(":", "") == hashlib.sha256(pub).hexdigest()
    assert len(fp.split(":")) == 16
    assert kid_of(pub).hex() == hashlib.sha256(pub).hexdigest()[:16]
    b = keys.public_key_b64url(key.verify_key)
    assert len(b) == 43 and "=" not in b
    assert keys.from_b64url(b) == pub


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("QUJD", "of 32 bytes"),
        ("A" * 43 + "=", "of 32 bytes"),  # padding is not the registry spelling
        ("!" * 43, "base64url"),
    ],
)
def test_from_b64url_rejects(text, message):
    with pytest.raises(ValueError, match=message):
        keys.from_b64url(text)


GOOD = keys.dumps(keys.PrivateKey("acme", SigningKey(bytes(range(32)))))
OTHER_PUB = keys.public_key_b64url(bytes(SigningKey(bytes(32)).verify_key))

EXPECTED = "expected 'NAME: VALUE' with NAME one of org, kid, public-key, seed, or a # comment"
NOT_A_KEY = f"k.key:1: not an xcert private key (expected {keys.HEADER!r})"
BAD_FILES = {
    "empty": ("", NOT_A_KEY),
    "wrong header": ("-----BEGIN PRIVATE KEY-----\n", NOT_A_KEY),
    "unknown field": (
        GOOD + "colour: blue\n",
        f"k.key:6: unknown field; {EXPECTED} (content not shown)",
    ),
    "no colon": (GOOD + "colour blue\n", f"k.key:6: no ':' on the line; {EXPECTED} (content not shown)"),
    "duplicate": (GOOD + "org: acme\n", "k.key:6: duplicate 'org' (first on line 2)"),
    "missing seed": (GOOD.replace("seed:", "# seed:"), "k.key: missing 'seed'"),
    "bad org": (
        GOOD.replace("org: acme", "org: ACME"),
        "k.key:2: org: expected an organization id of 1-64 characters [a-z0-9-] (value not shown)",
    ),
    "short seed": (
        "\n".join(line if not line.startswith("seed") else "seed: QUJD" for line in GOOD.split("\n")),
        "k.key:5: seed: expected unpadded base64url of 32 bytes",
    ),
    "public key mismatch": (
        "\n".join(
            f"public-key: {OTHER_PUB}" if line.startswith("public-key") else line for line in GOOD.split("\n")
        ),
        "k.key:4: public-key does not match the seed",
    ),
    "kid mismatch": (
        "\n".join("kid: 0000000000000000" if line.startswith("kid") else line for line in GOOD.split("\n")),
        "k.key:3: kid does not match the seed",
    ),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_key_files(name):
    text, message = BAD_FILES[name]
    with pytest.raises(keys.KeyFileError) as info:
        keys.loads(text, "k.key")
    assert str(info.value) == message
    assert info.value.__cause__ is None or "seed" not in message


def test_seed_never_in_error_message():
    seed_line = next(line for line in GOOD.split("\n") if line.startswith("seed"))
    secret = seed_line.split(": ")[1][:-1]  # 42 characters: undecodable
    with pytest.raises(keys.KeyFileError) as info:
        keys.loads(GOOD.replace(seed_line, f"seed: {secret}"), "k.key")
    assert secret not in str(info.value) and info.value.__cause__ is None


def test_read_errors_name_the_file(tmp_path):
    with pytest.raises(keys.KeyFileError, match="missing.key: cannot read"):
        keys.read_private_key(tmp_path / "missing.key")
    bad = tmp_path / "bin.key"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(keys.KeyFileError, match="bin.key: not UTF-8"):
        keys.read_private_key(bad)


def test_sandbox_key_is_the_published_test_key():
    key = keys.read_private_key(SANDBOX)
    assert key.org == "sandbox"
    header = SANDBOX.read_text().split("\n")[:4]
    assert "PUBLISHED TEST KEY" in header[1] and "NEVER use it for real" in header[3]
