"""The signed trust list, repository side: TUF roles over the registry (python-tuf).

Who vouches for what (docs/trust-list-format.md):

* **root** (``registry/trust/root.json``): k-of-n offline keys of the registry authority.
  It names the keys and thresholds of every role. Older versions stay in
  ``registry/trust/root-history/`` so a client can walk a rotation, each new root signed
  by the threshold of the old one and of itself.
* **targets** (``registry/trust/targets.json``): k-of-n security reviewers sign the exact
  ``keys.json`` bytes (its length and SHA-256), in the pull request that changes them.
  The target's ``custom.parts`` holds a digest per organization, so ``check`` can say
  which registry file changed since the reviewers signed.
* **snapshot** and **timestamp**: one online key of the publishing job. They are written
  only at publication (``build.py site``), with a short expiry, so a frozen mirror shows.

Key files use the same format as organizations' signing keys (xcert.keys): mode 0600,
never overwritten; their ``org`` line names the holder (``root-1``, ``reviewer-2``…).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from securesystemslib.signer import CryptoSigner, Key, SSlibKey
from tuf.api.exceptions import UnsignedMetadataError
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Role,
    Root,
    Signed,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from . import issuance
from . import keys as xkeys
from .model import Registry
from .problems import Loc, Problem
from .trust import build_trust_list, dumps

TRUST_DIR = "trust"  # under the registry
ROOT_HISTORY = "root-history"
TARGET = "keys.json"  # the one target file: the trust list
META_DIR = "tuf"  # on the site, beside keys.json
NAME_FIELD = "x-xcert-name"  # who holds a key, shown on verdicts ("signed by …")
TEST_FIELD = "x-xcert-test-only"  # set in the development root whose private keys are public
TARGETS_DAYS = 365  # reviewers re-sign at least yearly
ROOT_DAYS = 365
WARN_DAYS = 60  # check and `trust status` warn this long before root or targets expire
# Reviewers' clocks differ: a targets expiry this much past now + TARGETS_DAYS is still one
# the ceremony built (another reviewer's machine, minutes ahead); beyond it, a hand-made one.
CLOCK_SLACK = dt.timedelta(days=1)
ONLINE_DAYS = 3  # snapshot and timestamp: publish at least daily
# Issuance records (docs/issuance-records.md): targets delegates issuance/<org>/* to a role
# per organization, signed by any of its keys that is not compromised (threshold 1).
RECORDS_ROLE = "issuance-{org}"
# Freshness of a records role comes from the snapshot (which names its version) and the
# timestamp; its own expiry would make the records of an organization that can no longer
# sign (suspended, every key retired) vanish, which is what records exist to prevent.
RECORDS_DAYS = 365 * 50
# In the snapshot's signed part: record path → {"sha256": hex of the record file,
# "published": the timestamp version (Unix seconds) that first carried it}.
FIRST_PUBLISHED = "x-xcert-first-published"
SANDBOX = Path(__file__).resolve().parent.parent / "sandbox"
SANDBOX_TIMESTAMP_KEY = SANDBOX / "trust-timestamp-TEST-ONLY.key"
_SERIALIZER = JSONSerializer(compact=False)


class TrustRepoError(ValueError):
    """The registry's signed trust metadata is missing, unreadable or refused."""


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


# ---------------------------------------------------------------- keys


def signer(key: xkeys.PrivateKey) -> CryptoSigner:
    """A securesystemslib signer for one of our Ed25519 key files."""
    private = Ed25519PrivateKey.from_private_bytes(bytes(key.signing_key))
    return CryptoSigner(private, public_key(key.public_key, key.org))


def public_key(raw: bytes, name: str) -> SSlibKey:
    key = SSlibKey.from_crypto(Ed25519PublicKey.from_public_bytes(raw))
    key.unrecognized_fields[NAME_FIELD] = name
    return key


def key_name(key: Key) -> str:
    return str(key.unrecognized_fields.get(NAME_FIELD, key.keyid[:16]))


# ---------------------------------------------------------------- files


def trust_dir(registry_dir: Path) -> Path:
    return Path(registry_dir) / TRUST_DIR


def write_metadata(md: Metadata[Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(md.to_bytes(_SERIALIZER) + b"\n")


def read_metadata(path: Path, kind: type[Signed]) -> Metadata[Any]:
    try:
        md = Metadata.from_bytes(path.read_bytes())
    except OSError as e:
        raise TrustRepoError(f"{path}: cannot read: {e.strerror or e}") from e
    except Exception as e:  # python-tuf raises DeserializationError with the cause
        raise TrustRepoError(f"{path}: not valid TUF metadata: {e}") from e
    if not isinstance(md.signed, kind):
        raise TrustRepoError(f"{path}: expected {kind.type} metadata, got {md.signed.type}")
    return md


def root_history(registry_dir: Path) -> list[bytes]:
    """Every root version's bytes, oldest first: what clients walk through on rotation."""
    directory = trust_dir(registry_dir)
    older = sorted((directory / ROOT_HISTORY).glob("*.root.json"), key=lambda p: int(p.name.split(".")[0]))
    return [p.read_bytes() for p in older] + [(directory / "root.json").read_bytes()]


def is_test_root(root: Root) -> bool:
    return bool(root.unrecognized_fields.get(TEST_FIELD))


# ---------------------------------------------------------------- the key ceremony


@dataclass(frozen=True)
class Ceremony:
    root_path: Path
    key_paths: tuple[Path, ...]


def init_ceremony(
    out: Path,
    *,
    root_keys: int = 3,
    root_threshold: int = 2,
    reviewers: int = 3,
    threshold: int = 2,
    test_only: bool = False,
    now: dt.datetime | None = None,
) -> Ceremony:
    """Make every role's keys (0600, never overwritten) and the first root.json, signed."""
    if not 1 <= root_threshold <= root_keys or not 1 <= threshold <= reviewers:
        raise TrustRepoError("each threshold must be between 1 and its number of keys")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    suffix = "-TEST-ONLY" if test_only else ""
    names = [f"root-{i}" for i in range(1, root_keys + 1)]
    names += [f"reviewer-{i}" for i in range(1, reviewers + 1)] + ["timestamp"]
    paths = [out / f"trust-{name}{suffix}.key" for name in names]
    taken = [p for p in [*paths, out / "root.json"] if p.exists()]
    if taken:
        raise TrustRepoError(f"refusing to overwrite {', '.join(map(str, taken))}")
    comment = (
        "PUBLISHED TEST-ONLY trust key of the development root: anyone can sign with it.\n"
        "NEVER use it for a real deployment."
        if test_only
        else "Offline trust key: keep it off networked machines."
    )
    made = {name: xkeys.generate(name) for name in names}
    written: list[Path] = []
    try:
        for name, path in zip(names, paths, strict=True):
            xkeys.write_private_key(path, made[name], comment)
            written.append(path)
    except (xkeys.KeyFileError, FileExistsError) as e:
        for path in written:  # no half ceremony: the rerun starts from nothing
            path.unlink(missing_ok=True)
        raise TrustRepoError(f"{e}; no key of this ceremony was kept") from e
    root_md = new_root(
        [made[n] for n in names if n.startswith("root-")],
        root_threshold,
        [made[n] for n in names if n.startswith("reviewer-")],
        threshold,
        made["timestamp"],
        test_only=test_only,
        now=now,
    )
    try:
        write_metadata(root_md, out / "root.json")
    except OSError as e:
        (out / "root.json").unlink(missing_ok=True)  # checked absent above: a partial one of this run
        for path in written:
            path.unlink(missing_ok=True)
        raise TrustRepoError(
            f"{out / 'root.json'}: cannot write: {e.strerror or e}; no key of this ceremony was kept"
        ) from e
    return Ceremony(out / "root.json", tuple(paths))


def new_root(
    root_keys: list[xkeys.PrivateKey],
    root_threshold: int,
    reviewer_keys: list[xkeys.PrivateKey],
    threshold: int,
    online_key: xkeys.PrivateKey,
    *,
    version: int = 1,
    test_only: bool = False,
    now: dt.datetime | None = None,
    sign_with: Iterable[xkeys.PrivateKey] = (),
) -> Metadata[Root]:
    """A root naming these keys, signed by `root_keys` (and `sign_with`: for a rotation, the
    old root's keys, whose threshold the client also demands)."""
    root = Root(
        version=version,
        expires=(now or now_utc()) + dt.timedelta(days=ROOT_DAYS * (10 if test_only else 1)),
        consistent_snapshot=False,
    )
    if test_only:
        root.unrecognized_fields[TEST_FIELD] = True
    for role, members, k in (
        (Root.type, root_keys, root_threshold),
        (Targets.type, reviewer_keys, threshold),
        (Snapshot.type, [online_key], 1),
        (Timestamp.type, [online_key], 1),
    ):
        root.roles[role] = Role([], k)
        for member in members:
            root.add_key(public_key(member.public_key, member.org), role)
    md = Metadata(root)
    for key in [*root_keys, *sign_with]:
        md.sign(signer(key), append=True)
    return md


def rotate_root(registry_dir: Path, new: Metadata[Root]) -> None:
    """Install a new root version: the current one moves to root-history/."""
    directory = trust_dir(registry_dir)
    current = read_metadata(directory / "root.json", Root)
    if new.signed.version != current.signed.version + 1:
        raise TrustRepoError(f"new root must be version {current.signed.version + 1}")
    history = directory / ROOT_HISTORY
    history.mkdir(exist_ok=True)
    shutil.copyfile(directory / "root.json", history / f"{current.signed.version}.root.json")
    write_metadata(new, directory / "root.json")


# ---------------------------------------------------------------- what the reviewers sign


def content_parts(trust_list: dict[str, Any]) -> dict[str, str]:
    """A digest per registry file's share of the content: where a change was made."""

    def digest(value: Any) -> str:
        return hashlib.sha256(dumps(value).encode("utf-8")).hexdigest()[:16]

    parts = {
        "registry": digest({k: v for k, v in trust_list.items() if k not in ("organizations", "version")})
    }
    for org in trust_list["organizations"]:
        own = {k: v for k, v in org.items() if k not in ("certificates", "revocations")}
        parts[f"organization:{org['id']}"] = digest(own)
        parts |= {f"certificate:{c['code']}": digest(c) for c in org["certificates"]}
        if org["revocations"]:
            parts[f"revocations:{org['id']}"] = digest(org["revocations"])
    return parts


def _part_loc(registry_dir: Path, reg: Registry, part: str) -> tuple[Loc, str]:
    """The registry file (and a name for it) that holds one part of the trust content."""
    kind, _, name = part.partition(":")
    entry: Any = {
        "organization": reg.organizations.get(name),
        "certificate": reg.certificates.get(name),
        "revocations": reg.revocations.get(name),
    }.get(kind)
    if entry is not None:
        return entry.src.loc, f"{kind} {name}"
    if kind == "registry":
        return Loc(str(Path(registry_dir) / "registry.yaml")), "the registry settings"
    return Loc(str(trust_dir(registry_dir) / "targets.json")), f"{kind} {name} (removed)"


def records_role(org_id: str) -> str:
    return RECORDS_ROLE.format(org=org_id)


def delegations_for(organizations: Iterable[tuple[str, Iterable[tuple[bytes, str]]]]) -> Delegations | None:
    """One records role per organization: `issuance/<org>/*`, signed by any one of its keys
    that is not compromised. `organizations`: (id, [(raw public key, status)])."""
    keys: dict[str, Key] = {}
    roles: dict[str, DelegatedRole] = {}
    for org_id, org_keys in organizations:
        usable = [
            public_key(raw, f"{org_id} {hashlib.sha256(raw).hexdigest()[:16]}")
            for raw, status in org_keys
            if status != "compromised"
        ]
        if not usable:
            continue
        keys |= {k.keyid: k for k in usable}
        name = records_role(org_id)
        roles[name] = DelegatedRole(
            name, sorted(k.keyid for k in usable), 1, True, [f"{issuance.DIRECTORY}/{org_id}/*"]
        )
    return Delegations(keys, roles) if roles else None


def registry_delegations(reg: Registry) -> Delegations | None:
    return delegations_for(
        (o.id, [(k.public_key, k.status) for k in o.keys]) for o in reg.organizations.values()
    )


def _same_delegations(a: Delegations | None, b: Delegations | None) -> bool:
    return (a.to_dict() if a else None) == (b.to_dict() if b else None)


def target_for(content: bytes, parts: dict[str, str]) -> TargetFile:
    target = TargetFile.from_data(TARGET, content, ["sha256"])
    target.unrecognized_fields["custom"] = {"parts": parts}
    return target


@dataclass(frozen=True)
class SignStatus:
    """Where the registry's trust content stands against its signed targets."""

    content: bytes
    parts: dict[str, str]
    targets_version: int | None  # None: nothing signed yet
    current: bool  # the signed target is exactly this content
    changed: tuple[str, ...]  # parts that differ from what was signed ("organization:x", …)
    signed_by: tuple[str, ...]  # reviewers whose signatures verify over the current targets
    threshold: int
    expires: dt.datetime | None
    # errors and warnings, each located at root.json or targets.json
    findings: tuple[Problem, ...] = field(default=())
    # the signed part of targets.json is not what the ceremony builds (a hand-edited version,
    # expiry or extra field): no signature over it counts, `sign` rebuilds it
    irregular: bool = False
    renew: bool = False  # targets expired or expire within WARN_DAYS: `sign` starts a new version

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(p.message for p in self.findings if p.severity == "error")

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(p.message for p in self.findings if p.severity == "warning")

    @property
    def needed(self) -> int:
        if not self.current or self.irregular:
            return self.threshold
        return max(0, self.threshold - len(self.signed_by))

    @property
    def ok(self) -> bool:
        return self.current and not self.irregular and self.needed == 0 and not self.problems


def sign_status(registry_dir: Path, reg: Registry, now: dt.datetime | None = None) -> SignStatus:
    """Where the trust content stands: changed since signed, signatures, and every problem of
    the root (its history chain, its expiry) and of targets.json (expiry, not what the
    ceremony builds). Warnings: root or targets expire within WARN_DAYS."""
    now = now or now_utc()
    directory = trust_dir(registry_dir)
    root = read_metadata(directory / "root.json", Root).signed
    findings = root_findings(registry_dir, now)
    trust_list = build_trust_list(reg)
    content = dumps(trust_list).encode("utf-8")
    parts = content_parts(trust_list)
    role = root.get_delegated_role(Targets.type)
    path = directory / "targets.json"
    if not path.exists():
        return SignStatus(
            content, parts, None, False, tuple(sorted(parts)), (), role.threshold, None, tuple(findings)
        )
    md = read_metadata(path, Targets)
    signed: Targets = md.signed
    target = signed.targets.get(TARGET)
    current = target is not None and _matches(target, content)
    current = current and _same_delegations(signed.delegations, registry_delegations(reg))
    old_parts = (target.custom or {}).get("parts", {}) if target else {}
    changed = tuple(sorted(k for k in parts.keys() | old_parts.keys() if parts.get(k) != old_parts.get(k)))
    if not current and not changed:
        changed = ("registry",)  # same parts, different bytes (or delegations): the format changed
    signers = valid_signers(root, md)
    loc = Loc(str(path))
    how = f"a reviewer signs again: xcert trust sign --key FILE --registry {registry_dir}"
    irregular = _irregular(signed, target_for(content, parts), now) if current else []
    if irregular:
        findings.append(
            Problem(
                loc,
                "targets.json is not what the ceremony builds, so no signature on it counts: "
                f"{'; '.join(irregular)}; {how} (it starts version {signed.version + 1})",
            )
        )
    renew = signed.is_expired(now)
    if renew:
        findings.append(
            Problem(loc, f"targets expired at {signed.expires:%Y-%m-%d}: reviewers must sign again")
        )
    elif signed.expires <= now + dt.timedelta(days=WARN_DAYS):
        renew = True
        days = (signed.expires - now).days
        findings.append(
            Problem(
                loc,
                f"targets expire on {signed.expires:%Y-%m-%d} (in {days} days): {how} before then",
                "warning",
            )
        )
    return SignStatus(
        content,
        parts,
        signed.version,
        current,
        changed,
        signers,
        role.threshold,
        signed.expires,
        tuple(findings),
        irregular=bool(irregular),
        renew=renew,
    )


def _irregular(signed: Targets, expected: TargetFile, now: dt.datetime) -> list[str]:
    """How a targets signed part over the right content departs from what `sign_targets`
    builds: only keys.json's entry (its length, hash and parts), the delegations, a version
    and an expiry no later than TARGETS_DAYS from now. Anything else was written by hand
    (a pull request choosing a 2099 expiry or extra fields), and reviewers never sign it."""
    out = []
    latest = now + dt.timedelta(days=TARGETS_DAYS) + CLOCK_SLACK
    if signed.expires > latest:
        out.append(
            f"expires {signed.expires:%Y-%m-%d}, beyond the {TARGETS_DAYS}-day maximum ({latest:%Y-%m-%d})"
        )
    extra = sorted(set(signed.targets) - {TARGET})
    if extra:
        out.append(f"targets other than {TARGET}: {', '.join(extra)}")
    if TARGET in signed.targets and signed.targets[TARGET].to_dict() != expected.to_dict():
        out.append(f"the {TARGET} entry has fields or parts the ceremony does not write")
    if signed.unrecognized_fields:
        out.append(f"unknown fields: {', '.join(sorted(signed.unrecognized_fields))}")
    return out


def root_findings(registry_dir: Path, now: dt.datetime) -> list[Problem]:
    """The root history chain as a client walks it, and the newest root's expiry."""
    loc = Loc(str(trust_dir(registry_dir) / "root.json"))
    renew = 'the root key holders renew it (docs/trust-list-format.md, "Renewing the root")'
    try:
        roots = root_history(registry_dir)
        verify_root_chain(roots)
    except OSError as e:
        return [Problem(loc, f"root history unreadable: {e}")]
    except TrustRepoError as e:
        return [Problem(loc, f"root history refused, as every verifier would refuse it: {e}")]
    root = Metadata[Root].from_bytes(roots[-1]).signed
    if root.is_expired(now):
        return [
            Problem(
                loc,
                f"root version {root.version} expired at {root.expires:%Y-%m-%d}: every verifier "
                f"refuses the trust list; {renew}",
            )
        ]
    if root.expires <= now + dt.timedelta(days=WARN_DAYS):
        days = (root.expires - now).days
        return [
            Problem(
                loc,
                f"root version {root.version} expires on {root.expires:%Y-%m-%d} (in {days} days); "
                f"{renew} before then",
                "warning",
            )
        ]
    return []


def _matches(target: TargetFile, content: bytes) -> bool:
    return (
        target.length == len(content) and target.hashes.get("sha256") == hashlib.sha256(content).hexdigest()
    )


def valid_signers(root: Root, md: Metadata[Targets]) -> tuple[str, ...]:
    role = root.get_delegated_role(Targets.type)
    payload = md.signed_bytes
    names = []
    for keyid in role.keyids:
        signature = md.signatures.get(keyid)
        if signature is None:
            continue
        try:
            root.get_key(keyid).verify_signature(signature, payload)
        except Exception:  # securesystemslib raises its own UnverifiedSignatureError family
            continue
        names.append(key_name(root.get_key(keyid)))
    return tuple(sorted(names))


def sign_targets(
    registry_dir: Path, reg: Registry, key: xkeys.PrivateKey, now: dt.datetime | None = None
) -> SignStatus:
    """A reviewer signs the current trust content. A content change starts a new targets
    version with no signatures; the same content keeps the other reviewers' signatures."""
    directory = trust_dir(registry_dir)
    root = read_metadata(directory / "root.json", Root).signed
    role = root.get_delegated_role(Targets.type)
    reviewer = signer(key)
    if reviewer.public_key.keyid not in role.keyids:
        raise TrustRepoError(
            f"the key of {key.org!r} (kid {key.kid.hex()}) is not a reviewer key in root.json"
        )
    status = sign_status(registry_dir, reg, now)
    path = directory / "targets.json"
    if status.current and not status.irregular and not status.renew:
        md = read_metadata(path, Targets)
    else:
        version = (status.targets_version or 0) + 1
        expires = (now or now_utc()) + dt.timedelta(days=TARGETS_DAYS)
        targets = Targets(
            version=version,
            expires=expires,
            targets={TARGET: target_for(status.content, status.parts)},
            delegations=registry_delegations(reg),
        )
        md = Metadata(targets)
    md.sign(reviewer, append=True)
    write_metadata(md, path)
    after = sign_status(registry_dir, reg, now)
    if status.irregular:
        note = Problem(
            Loc(str(path)),
            f"targets.json version {status.targets_version} was not what the ceremony builds: "
            f"rebuilt as version {md.signed.version}; every reviewer signs it",
            "warning",
        )
        after = replace(after, findings=(note, *after.findings))
    return after


def check_signed(registry_dir: Path, reg: Registry, now: dt.datetime | None = None) -> list[Problem]:
    """`build.py check`'s view: every way the trust content is not signed enough, located at
    the registry file that changed since the reviewers signed."""
    directory = trust_dir(registry_dir)
    if not (directory / "root.json").exists():
        return []  # a registry without a trust root (test fixtures): its site has no TUF metadata
    try:
        status = sign_status(registry_dir, reg, now)
    except TrustRepoError as e:
        return [Problem(Loc(str(directory)), str(e))]
    targets_loc = Loc(str(directory / "targets.json"))
    problems = list(status.findings)
    how = f"a security reviewer signs it: xcert trust sign --key FILE --registry {registry_dir}"
    if not status.current:
        for part in status.changed:
            kind, _, name = part.partition(":")
            org = reg.organizations.get(name) if kind == "organization" else None
            loc = org.src.loc if org is not None else Loc(str(Path(registry_dir) / "registry.yaml"))
            what = (
                f"organization {name}" if org is not None or kind == "organization" else "registry settings"
            )
            problems.append(
                Problem(loc, f"trust content of {what} changed since the reviewers signed targets; {how}")
            )
    elif status.needed and not status.irregular:
        problems.append(
            Problem(
                targets_loc,
                f"trust content has {len(status.signed_by)} of {status.threshold} reviewer signatures"
                f" (signed by: {', '.join(status.signed_by) or 'nobody'}); {how}",
            )
        )
    return problems + check_records_signed(registry_dir, reg)


# ---------------------------------------------------------------- issuance records


def records_file(registry_dir: Path, org_id: str) -> Path:
    """The organization's signed records role: registry/trust/issuance-<org>.json."""
    return trust_dir(registry_dir) / f"{records_role(org_id)}.json"


def record_bytes(registry_dir: Path, reg: Registry, org_id: str | None = None) -> dict[str, bytes]:
    """Target path → bytes of every record file and leaves file (of one organization)."""
    files = {}
    for rf in reg.records:
        if org_id is None or rf.record.organization == org_id:
            for path in (rf.record.path, rf.record.leaves_path):
                files[path] = (Path(registry_dir) / path).read_bytes()
    return files


def _record_targets(files: dict[str, bytes]) -> dict[str, TargetFile]:
    return {path: TargetFile.from_data(path, data, ["sha256"]) for path, data in sorted(files.items())}


def sign_records(
    registry_dir: Path, reg: Registry, key: xkeys.PrivateKey, now: dt.datetime | None = None
) -> tuple[Path, int]:
    """An organization signs its records role (every record under issuance/<org>/) with one
    of its registry keys. Returns the file and how many records it lists."""
    org = reg.organizations.get(key.org)
    if org is None:
        raise TrustRepoError(f"the key file says organization {key.org!r}, which is not in the registry")
    listed = next((k for k in org.keys if k.kid == key.kid), None)
    if listed is None:
        raise TrustRepoError(f"kid {key.kid.hex()} is not a key of {org.id} in the registry")
    if listed.status == "compromised":
        raise TrustRepoError(f"kid {key.kid.hex()} is compromised: sign with another key of {org.id}")
    targets = _record_targets(record_bytes(registry_dir, reg, org.id))
    if not targets:
        raise TrustRepoError(f"{org.id} has no records in {Path(registry_dir) / issuance.DIRECTORY / org.id}")
    path = records_file(registry_dir, org.id)
    old = read_metadata(path, Targets) if path.exists() else None
    if old is not None:
        gone = sorted(set(old.signed.targets) - set(targets))
        if gone:
            raise TrustRepoError(f"records are never removed: {', '.join(gone)} was signed and is gone")
    if old is not None and _same_targets(old.signed.targets, targets):
        md = old
    else:
        version = old.signed.version + 1 if old else 1
        expires = (now or now_utc()) + dt.timedelta(days=RECORDS_DAYS)
        md = Metadata(Targets(version=version, expires=expires, targets=targets))
    md.sign(signer(key), append=True)
    write_metadata(md, path)
    return path, sum(p.endswith(".yaml") for p in targets)


def _same_targets(a: dict[str, TargetFile], b: dict[str, TargetFile]) -> bool:
    return {k: v.to_dict() for k, v in a.items()} == {k: v.to_dict() for k, v in b.items()}


def check_records_signed(registry_dir: Path, reg: Registry) -> list[Problem]:
    """Every record signed by its organization's records role, located at the record."""
    problems: list[Problem] = []
    delegations = registry_delegations(reg)
    orgs = sorted(
        {rf.record.organization for rf in reg.records if rf.record.organization in reg.organizations}
    )
    for org_id in orgs:
        how = f"the organization signs them: xcert issuance sign --key KEY --registry {registry_dir}"
        mine = [rf for rf in reg.records if rf.record.organization == org_id]
        path = records_file(registry_dir, org_id)
        if not path.exists():
            problems += [
                Problem(rf.src.loc, f"issuance record {rf.record.batch} is not signed by {org_id}; {how}")
                for rf in mine
            ]
            continue
        try:
            md = read_metadata(path, Targets)
        except TrustRepoError as e:
            problems.append(Problem(Loc(str(path)), str(e)))
            continue
        name = records_role(org_id)
        if delegations is None or name not in (delegations.roles or {}):
            problems.append(
                Problem(
                    Loc(str(path)),
                    f"{org_id} has no key that may sign records (none listed, or all compromised)",
                )
            )
            continue
        try:
            Targets(delegations=delegations).verify_delegate(name, md.signed_bytes, md.signatures)
        except UnsignedMetadataError:
            problems.append(
                Problem(Loc(str(path)), f"not signed by a key of {org_id} that may sign records; {how}")
            )
        expected = _record_targets(record_bytes(registry_dir, reg, org_id))
        signed = md.signed.targets
        for rf in mine:
            paths = (rf.record.path, rf.record.leaves_path)
            if any(p not in signed or signed[p].to_dict() != expected[p].to_dict() for p in paths):
                problems.append(
                    Problem(
                        rf.src.loc,
                        f"issuance record {rf.record.batch} changed or was added since {org_id} "
                        f"signed its records; {how}",
                    )
                )
        for gone in sorted(set(signed) - set(expected)):
            problems.append(
                Problem(
                    Loc(str(path)), f"{gone} was signed and is not in the registry: records are never removed"
                )
            )
    return problems


def first_published(site: Path | None) -> dict[str, dict[str, Any]]:
    """The record publication times a published site carries (its snapshot's signed part)."""
    path = Path(site or ".") / META_DIR / "snapshot.json"
    if site is None or not path.is_file():
        return {}
    try:
        return dict(read_metadata(path, Snapshot).signed.unrecognized_fields.get(FIRST_PUBLISHED, {}))
    except TrustRepoError:
        return {}


def _carry_forward(
    previous: dict[str, dict[str, Any]], records: dict[str, bytes], version: int
) -> dict[str, dict[str, Any]]:
    """Each record's first publication: kept from the previous site, or this version."""
    out = {}
    for path, data in sorted(records.items()):
        if not path.endswith(".yaml"):
            continue
        digest = hashlib.sha256(data).hexdigest()
        before = previous.get(path)
        if before is not None and before.get("sha256") != digest:
            raise TrustRepoError(
                f"refusing to publish: issuance record {path} changed after it was published "
                f"(version {before.get('published')}); a record never changes"
            )
        out[path] = {"sha256": digest, "published": before["published"] if before else version}
    gone = sorted(set(previous) - set(out))
    if gone:
        raise TrustRepoError(f"refusing to publish: issuance record {gone[0]} was published and is gone")
    return out


# ---------------------------------------------------------------- publication


def publish(
    site: Path,
    registry_dir: Path,
    reg: Registry,
    online_key: xkeys.PrivateKey,
    now: dt.datetime | None = None,
    previous: Path | None = None,
) -> dict[str, Any]:
    """Write keys.json and the TUF metadata beside it (tuf/), or refuse without writing.

    `previous` is the site this one replaces: its timestamp version is exceeded.
    """
    now = now or now_utc()
    status = sign_status(registry_dir, reg, now)
    if not status.ok:
        reasons = list(status.problems)
        if not status.current:
            reasons.append(f"trust content changed since signed ({', '.join(status.changed)})")
        elif status.needed:
            reasons.append(f"{len(status.signed_by)} of {status.threshold} reviewer signatures")
        raise TrustRepoError("refusing to publish an unsigned trust list: " + "; ".join(reasons))
    unsigned = check_records_signed(registry_dir, reg)
    if unsigned:
        raise TrustRepoError(f"refusing to publish unsigned issuance records: {unsigned[0].format()}")
    targets_bytes = (trust_dir(registry_dir) / "targets.json").read_bytes()
    roots = root_history(registry_dir)
    _refuse_rollback(previous, roots[-1], targets_bytes)
    version = max(int(now.timestamp()), published_version(previous) + 1)
    roles = {
        records_role(o): records_file(registry_dir, o).read_bytes()
        for o in sorted({rf.record.organization for rf in reg.records})
    }
    return publish_files(
        site,
        status.content,
        roots,
        targets_bytes,
        online_key,
        version,
        now,
        records=record_bytes(registry_dir, reg),
        roles=roles,
        previous=previous,
    )


def _refuse_rollback(previous: Path | None, root_bytes: bytes, targets_bytes: bytes) -> None:
    """Root and targets versions never go down from the site this one replaces, and a version
    it published never comes back with other content: a verifier that saw the higher version
    refuses every later update (BadVersionNumberError), and one holding a version keeps its
    copy of it, whatever the new bytes say."""
    for name, data, kind in (("root", root_bytes, Root), ("targets", targets_bytes, Targets)):
        path = Path(previous or ".") / META_DIR / f"{name}.json"
        if previous is None or not path.is_file():
            continue
        try:
            old = read_metadata(path, kind).signed
        except TrustRepoError:
            continue  # nothing a verifier could have accepted
        new = Metadata[Any].from_bytes(data).signed
        source = f"registry/{TRUST_DIR}/{name}.json"
        if new.version < old.version:
            raise TrustRepoError(
                f"refusing to publish {name} version {new.version}: the site it replaces ({path}) has "
                f"version {old.version}, and a verifier that saw it would refuse every later update; "
                f"{source} must be version {old.version} or above"
            )
        if new.version == old.version and new.to_dict() != old.to_dict():
            raise TrustRepoError(
                f"refusing to publish {name} version {new.version}: the site it replaces ({path}) "
                f"published that version with other content; {source} needs a new version"
            )


def published_version(site: Path | None) -> int:
    """The timestamp version a published site carries (0 when there is none)."""
    path = Path(site or ".") / META_DIR / "timestamp.json"
    if site is None or not path.is_file():
        return 0
    try:
        return int(read_metadata(path, Timestamp).signed.version)
    except TrustRepoError:
        return 0


def publish_files(
    site: Path,
    content: bytes,
    roots: list[bytes],
    targets_bytes: bytes,
    online_key: xkeys.PrivateKey,
    version: int,
    now: dt.datetime,
    *,
    records: dict[str, bytes] | None = None,
    roles: dict[str, bytes] | None = None,
    previous: Path | None = None,
) -> dict[str, Any]:
    """Sign snapshot and timestamp with the online key and write everything a client reads.

    Snapshot and timestamp versions count up with publication time (in seconds), so
    publishing jobs on different machines never need to share a counter. `records` (target
    path → bytes) and `roles` (records role → signed metadata) are the issuance records;
    each record's first publication is carried forward from the `previous` site's snapshot.
    """
    records, roles = records or {}, roles or {}
    published = _carry_forward(first_published(previous), records, version)
    root = Metadata[Root].from_bytes(roots[-1]).signed
    online = signer(online_key)
    for role in (Snapshot.type, Timestamp.type):
        if online.public_key.keyid not in root.get_delegated_role(role).keyids:
            raise TrustRepoError(f"the key of {online_key.org!r} is not the {role} key in root.json")
    targets_version = Metadata[Targets].from_bytes(targets_bytes).signed.version
    expires = now + dt.timedelta(days=ONLINE_DAYS)
    listed = {"targets.json": MetaFile(targets_version)}
    for role, data in sorted(roles.items()):
        listed[f"{role}.json"] = MetaFile(Metadata[Targets].from_bytes(data).signed.version)
    snapshot = Metadata(Snapshot(version=version, expires=expires, meta=listed))
    if published:
        snapshot.signed.unrecognized_fields[FIRST_PUBLISHED] = published
    snapshot.sign(online)
    snapshot_bytes = snapshot.to_bytes(_SERIALIZER)
    digest = {"sha256": hashlib.sha256(snapshot_bytes).hexdigest()}
    timestamp = Metadata(
        Timestamp(
            version=version, expires=expires, snapshot_meta=MetaFile(version, len(snapshot_bytes), digest)
        )
    )
    timestamp.sign(online)

    meta_dir = Path(site) / META_DIR
    meta_dir.mkdir(parents=True, exist_ok=True)
    for path, data in records.items():
        (Path(site) / path).parent.mkdir(parents=True, exist_ok=True)
        (Path(site) / path).write_bytes(data)
    for role, data in roles.items():
        (meta_dir / f"{role}.json").write_bytes(data)
    meta = meta_dir
    (Path(site) / TARGET).write_bytes(content)
    for number, data in enumerate(roots, start=1):
        (meta / f"{number}.root.json").write_bytes(data)
    (meta / "root.json").write_bytes(roots[-1])
    (meta / "targets.json").write_bytes(targets_bytes)
    (meta / "snapshot.json").write_bytes(snapshot_bytes)
    # timestamp last: a client polling during the write sees the old state or the new one
    (meta / "timestamp.json").write_bytes(timestamp.to_bytes(_SERIALIZER))
    return {
        "root": len(roots),
        "targets": targets_version,
        "snapshot": version,
        "expires": expires.isoformat(),
        "records": len(published),
    }


def signed_targets(
    content: bytes,
    parts: dict[str, str],
    version: int,
    reviewers: Iterable[xkeys.PrivateKey],
    expires: dt.datetime,
    delegations: Delegations | None = None,
) -> bytes:
    """targets.json over `content`, signed by `reviewers` (the ceremony's tests and tools)."""
    md = Metadata(
        Targets(
            version=version,
            expires=expires,
            targets={TARGET: target_for(content, parts)},
            delegations=delegations,
        )
    )
    for key in reviewers:
        md.sign(signer(key), append=True)
    return md.to_bytes(_SERIALIZER)


def verify_root_chain(roots: list[bytes]) -> None:
    """Each root is version 1, 2, 3… in turn, signed by its own threshold and the previous
    one's (as a client checks when it walks a rotation)."""
    previous: Metadata[Root] | None = None
    for number, data in enumerate(roots, start=1):
        try:
            md = Metadata[Root].from_bytes(data)
        except Exception as e:  # python-tuf's DeserializationError, with the cause
            raise TrustRepoError(f"root number {number} of the history: not valid root metadata: {e}") from e
        if not isinstance(md.signed, Root):
            raise TrustRepoError(f"root number {number} of the history is {md.signed.type} metadata")
        if md.signed.version != number:
            raise TrustRepoError(
                f"root number {number} of the history has version {md.signed.version}: a client "
                f"walking the rotation expects version {number}"
            )
        for signer_root in ([previous.signed] if previous else []) + [md.signed]:
            try:
                signer_root.verify_delegate(Root.type, md.signed_bytes, md.signatures)
            except UnsignedMetadataError as e:
                raise TrustRepoError(
                    f"root version {md.signed.version} is not signed by the threshold of "
                    f"root version {signer_root.version} ({e})"
                ) from e
        previous = md


class ScratchRepo:
    """A throwaway signed trust repository for tests and benchmarks: a fresh ceremony (root
    1-of-1, reviewers 2-of-2) that publishes any trust list data as keys.json with its TUF
    metadata."""

    def __init__(self, directory: Path) -> None:
        made = init_ceremony(directory / "ceremony", root_keys=1, root_threshold=1, reviewers=2, threshold=2)
        self.root = made.root_path
        keys = {p.name: xkeys.read_private_key(p) for p in made.key_paths}
        self.root_key = keys["trust-root-1.key"]
        self.reviewers = [keys["trust-reviewer-1.key"], keys["trust-reviewer-2.key"]]
        self.online = keys["trust-timestamp.key"]
        self.roots = [self.root.read_bytes()]
        self.targets_version = self.version = 0
        self.role_versions: dict[str, int] = {}

    def publish(
        self,
        data: dict[str, Any] | bytes,
        site: Path,
        *,
        now: dt.datetime | None = None,
        reviewers: list[Any] | None = None,
        targets_version: int | None = None,
        version: int | None = None,
        records: Path | None = None,
        record_keys: Iterable[xkeys.PrivateKey] = (),
        previous: Path | None = None,
    ) -> Path:
        """keys.json (+ tuf/) under `site`; each call counts the versions up unless told.

        `records`: a directory holding issuance/<org>/* files, published with their records
        roles signed by `record_keys` (one per organization) and the first publication
        times carried forward from what `previous` (default `site`) held before."""
        now = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
        content = data if isinstance(data, bytes) else dumps(data).encode("utf-8")
        self.targets_version = targets_version or self.targets_version + 1
        self.version = version or self.version + 1
        expires = now + dt.timedelta(days=365)
        delegations = None
        if not isinstance(data, bytes):
            delegations = delegations_for(
                (o["id"], [(_b64(k["public_key"]), k["status"]) for k in o["keys"]])
                for o in data["organizations"]
            )
        targets = signed_targets(
            content,
            {},
            self.targets_version,
            self.reviewers if reviewers is None else reviewers,
            expires,
            delegations,
        )
        files: dict[str, bytes] = {}
        roles: dict[str, bytes] = {}
        if records is not None:
            for key in record_keys:
                directory = records / issuance.DIRECTORY / key.org
                if not directory.is_dir():
                    continue
                mine = {
                    f"{issuance.DIRECTORY}/{key.org}/{p.name}": p.read_bytes()
                    for p in sorted(directory.iterdir())
                    if p.is_file()
                }
                files |= mine
                self.role_versions[key.org] = self.role_versions.get(key.org, 0) + 1
                md = Metadata(
                    Targets(
                        version=self.role_versions[key.org],
                        expires=now + dt.timedelta(days=RECORDS_DAYS),
                        targets=_record_targets(mine),
                    )
                )
                md.sign(signer(key))
                roles[records_role(key.org)] = md.to_bytes(_SERIALIZER)
        publish_files(
            site,
            content,
            self.roots,
            targets,
            self.online,
            self.version,
            now,
            records=files,
            roles=roles,
            previous=previous or site,
        )
        return site / "keys.json"


def _b64(text: str) -> bytes:
    from .codes import decode_b64url

    raw = decode_b64url(text)
    assert raw is not None, f"not base64url: {text!r}"
    return raw
