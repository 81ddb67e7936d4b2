"""Every file under registry/ (issue 13, items 1 and 7): only regular files, no private key
material anywhere, and a git archive with links read safely by the diff."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from xcert.codes import encode_b64url
from xcert.diff import load_archive
from xcert.load import load_registry
from xcert.token import kid_of

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "registry"
SANDBOX_KEY = ROOT / "sandbox" / "sandbox-TEST-ONLY.key"


@pytest.fixture
def reg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "registry")
    monkeypatch.chdir(tmp_path)
    return Path("registry")


def problems(root: Path) -> list[str]:
    result = load_registry(root)
    return [p.format() for p in result.problems]


# ---------------------------------------------------------------- links and special files

LINKS: list[tuple[str, Callable[[Path], None], str]] = [
    (
        "README.md symlink to /etc/hostname (the review's repro: skipped by the loader)",
        lambda r: (r / "organizations" / "README.md").symlink_to("/etc/hostname"),
        "registry/organizations/README.md:1:1: error: symbolic link to '/etc/hostname': "
        "registry files must be regular files",
    ),
    (
        "a .yaml symlink the loader would otherwise follow",
        lambda r: (r / "organizations" / "evil.yaml").symlink_to("care-org.yaml"),
        "registry/organizations/evil.yaml:1:1: error: symbolic link to 'care-org.yaml': "
        "registry files must be regular files",
    ),
    (
        "a symlinked directory",
        lambda r: (r / "trust").symlink_to("/etc"),
        "registry/trust:1:1: error: symbolic link to '/etc': registry files must be regular files",
    ),
    (
        "a FIFO",
        lambda r: os.mkfifo(r / "notices" / "README.md"),
        "registry/notices/README.md:1:1: error: not a regular file: registry files must be regular files",
    ),
]


@pytest.mark.parametrize(("name", "make", "expect"), LINKS, ids=[c[0] for c in LINKS])
def test_check_refuses_links_and_special_files(
    reg: Path, name: str, make: Callable[[Path], None], expect: str
) -> None:
    make(reg)
    found = problems(reg)
    assert found == [expect]
    assert not load_registry(reg).ok


def test_a_symlinked_registry_yaml_is_refused_not_read(reg: Path) -> None:
    (reg / "registry.yaml").rename(reg.parent / "elsewhere.yaml")
    (reg / "registry.yaml").symlink_to("../elsewhere.yaml")
    result = load_registry(reg)
    assert result.registry is None
    assert [p.format() for p in result.problems] == [
        "registry/registry.yaml:1:1: error: symbolic link to '../elsewhere.yaml': "
        "registry files must be regular files"
    ]


# ---------------------------------------------------------------- private keys anywhere


def _listed_seed(reg: Path) -> bytes:
    """A fresh key whose public key the fixture's care-org lists from now on."""
    seed = bytes(range(1, 33))
    public = encode_b64url(bytes(SigningKey(seed).verify_key))
    path = reg / "organizations" / "care-org.yaml"
    text = path.read_text(encoding="utf-8")
    new = f"keys:\n  - public_key: {public}\n    not_before: 2024-01-01\n    status: active\n"
    path.write_text(text.replace("keys:\n", new, 1), encoding="utf-8")
    return seed


def test_a_key_file_copied_to_an_ignored_name_is_found(reg: Path) -> None:
    shutil.copy(SANDBOX_KEY, reg / "organizations" / "README.md")
    assert problems(reg) == [
        "registry/organizations/README.md:1:1: error: private key material must never be in the registry"
    ]


def test_a_key_file_in_an_unknown_directory_is_found(reg: Path) -> None:
    (reg / "trust").mkdir()
    text = "# notes\n" + SANDBOX_KEY.read_text(encoding="utf-8")
    (reg / "trust" / "backup.txt").write_text(text, encoding="utf-8")
    assert problems(reg) == [
        "registry/trust/backup.txt:2:1: error: private key material must never be in the registry"
    ]


SEED_FORMS: list[tuple[str, Callable[[bytes], str]]] = [
    ("base64url", lambda s: encode_b64url(s)),
    ("base64 with padding", lambda s: __import__("base64").b64encode(s).decode()),
    ("hex", lambda s: s.hex()),
    ("HEX", lambda s: s.hex().upper()),
    ("64-byte seed+public key, base64url", lambda s: encode_b64url(s + bytes(SigningKey(s).verify_key))),
    ("64-byte seed+public key, hex", lambda s: (s + bytes(SigningKey(s).verify_key)).hex()),
]


@pytest.mark.parametrize(("name", "spell"), SEED_FORMS, ids=[f[0] for f in SEED_FORMS])
def test_a_bare_seed_of_a_listed_key_in_a_note_is_found(
    reg: Path, name: str, spell: Callable[[bytes], str]
) -> None:
    seed = _listed_seed(reg)
    path = reg / "organizations" / "care-org.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("    status: active\n", f"    status: active\n    note: x {spell(seed)}\n", 1)
    )
    found = problems(reg)
    kid = kid_of(bytes(SigningKey(seed).verify_key)).hex()
    assert found == [
        f"registry/organizations/care-org.yaml:13:13: error: private key material: this is the secret "
        f"seed of organization 'care-org''s key (kid {kid}); remove it, and mark that key compromised: "
        "it is public now"
    ]
    assert spell(seed) not in found[0]  # the message never repeats the secret


def test_a_seed_in_a_readme_is_found_and_a_public_key_is_not(reg: Path) -> None:
    seed = _listed_seed(reg)
    public = encode_b64url(bytes(SigningKey(seed).verify_key))
    (reg / "colleges" / "README.md").write_text(f"public {public}\n\nsecret {seed.hex()}\n")
    found = problems(reg)
    assert len(found) == 1 and found[0].startswith(
        "registry/colleges/README.md:3:8: error: private key material: this is the secret seed of "
    )


def test_an_unrelated_seed_sized_string_is_not_an_error(reg: Path) -> None:
    _listed_seed(reg)
    other = SigningKey(b"\x07" * 32)
    (reg / "notices" / "README.md").write_text(f"{bytes(other).hex()}\n{'a' * 64}\n")
    assert problems(reg) == []


def test_the_real_registry_holds_no_secret() -> None:
    result = load_registry(ROOT / "registry")
    assert not [p for p in result.errors if "private key" in p.message]


# ---------------------------------------------------------------- git archives (the diff's input)


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _fixture_members(prefix: str = "registry") -> list[tuple[tarfile.TarInfo, bytes | None]]:
    out: list[tuple[tarfile.TarInfo, bytes | None]] = []
    for path in sorted(FIXTURE.rglob("*")):
        info = tarfile.TarInfo(f"{prefix}/{path.relative_to(FIXTURE).as_posix()}")
        if path.is_dir():
            info.type = tarfile.DIRTYPE
            out.append((info, None))
        else:
            data = path.read_bytes()
            info.size = len(data)
            out.append((info, data))
    return out


@pytest.mark.parametrize(
    ("kind", "linkname", "expect"),
    [
        (tarfile.SYMTYPE, "/etc/hostname", "symbolic link to '/etc/hostname'"),
        (tarfile.SYMTYPE, "../../../etc/passwd", "symbolic link to '../../../etc/passwd'"),
        (tarfile.LNKTYPE, "/etc/hostname", "hard link to '/etc/hostname'"),
        (tarfile.FIFOTYPE, "", "not a regular file"),
    ],
)
def test_load_archive_refuses_links_instead_of_crashing(kind: bytes, linkname: str, expect: str) -> None:
    """Before: tarfile.AbsoluteLinkError escaped and the gate's diff.md came out empty."""
    link = tarfile.TarInfo("registry/organizations/README.md")
    link.type, link.linkname = kind, linkname
    result = load_archive(_tar([*_fixture_members(), (link, None)]), "registry")
    assert result.registry is not None and not result.ok
    assert [p.format() for p in result.errors] == [
        f"registry/organizations/README.md:1:1: error: {expect}: registry files must be regular files"
    ]


def test_load_archive_refuses_a_path_outside_the_archive() -> None:
    escape = tarfile.TarInfo("registry/../../escape.yaml")
    escape.size = 2
    result = load_archive(_tar([*_fixture_members(), (escape, b"x\n")]), "registry")
    assert result.registry is None
    assert result.errors[0].message.startswith("unsafe archive member: ")
