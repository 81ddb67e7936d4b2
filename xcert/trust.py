"""The trust list (/keys.json): everything a verifier needs, and nothing else.

The site build writes it from the registry model; the verifier (CLI, service, tests,
anyone's own verifier) reads only this file, never the YAML. Registry dates become exact
instants here (00:00 China Standard Time) so that no reader has to guess a time zone.

The bytes are a pure function of the registry's security content (no build time, no
commit): security reviewers sign them through TUF metadata (xcert.tufrepo), and their
signatures stay good until something that can change a verdict changes. `version` is a
digest of that content.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from . import codes
from .model import Certificate, Organization, Registry, Status, day_start, iso_z, utc_z
from .token import kid_of

if TYPE_CHECKING:
    from .issuance import PublishedRecord

FORMAT = "xcert-trust-list/2"
MAX_TRUST_BYTES = 256 * 1024 * 1024


class TrustListError(ValueError):
    """The trust list is missing, unreadable or not in the expected format."""


# ---------------------------------------------------------------- writing


@dataclass(frozen=True, slots=True)
class Stamp:
    """The data version printed on every published file."""

    version: str  # content hash of the registry files: same data, same version
    commit: str | None  # git commit of the registry, "+dirty" if it has local changes
    built_at: str  # RFC 3339, UTC


def stamp_for(registry_dir: Path, now: dt.datetime | None = None) -> Stamp:
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(registry_dir).rglob("*") if p.is_file()):
        digest.update(path.relative_to(registry_dir).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    built = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    return Stamp(digest.hexdigest()[:16], _git_commit(Path(registry_dir)), iso_z(built))


def _git_commit(directory: Path) -> str | None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(directory), *args], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def _ts(instant: dt.datetime | None) -> str | None:
    return iso_z(instant) if instant else None


def _at(day: dt.date | None, plus_days: int = 0) -> dt.datetime | None:
    """A registry day as the instant it begins in China (plus_days: an inclusive end's next day)."""
    return day_start(day + dt.timedelta(days=plus_days)) if day else None


def _history(history: tuple[Status, ...]) -> tuple[Since, ...]:
    return tuple(Since(s.status, day_start(s.since)) for s in history)


def _certificate(cert: Certificate) -> TrustedCertificate:
    name = {"zh": cert.name.zh, "en": cert.name.en}
    return TrustedCertificate(cert.code, name, tuple(cert.levels), _history(cert.status), cert.validity_years)


def _organization(reg: Registry, org: Organization) -> TrustedOrganization:
    revocations = reg.revocations.get(org.id)
    keys = tuple(
        TrustedKey(
            kid=k.kid,
            public_key=k.public_key,
            organization=org.id,
            status=k.status,
            sign_from=day_start(k.not_before),
            sign_before=_at(k.sign_until, plus_days=1),  # sign_until is inclusive
            retired_at=_at(k.retired_on),
            compromised_at=_at(k.compromised_on),
        )
        for k in sorted(org.keys, key=lambda k: k.kid)
    )
    revoked = sorted(revocations.revoked if revocations else (), key=lambda r: r.serial)
    return TrustedOrganization(
        id=org.id,
        name={"zh": org.name.zh, "en": org.name.en},
        sandbox=org.sandbox,
        example=org.example,
        status=_history(org.status),
        keys=keys,
        certificates={c.code: _certificate(c) for c in reg.certificates_of(org.id)},
        revocations={
            r.serial: Revoked(r.serial, r.date.isoformat(), r.reason, r.certificate) for r in revoked
        },
    )


def from_registry(reg: Registry) -> TrustList:
    """The trust list a registry publishes: its security content, nothing else."""
    trust = TrustList(
        version="",
        site_url=reg.settings.site_url,
        verify_url=reg.settings.verify_url,
        organizations={o.id: _organization(reg, o) for o in reg.organizations.values()},
        name={"zh": reg.settings.name.zh, "en": reg.settings.name.en},
        record_required_after_days=reg.settings.record_required_after_days,
    )
    return dataclasses.replace(trust, version=content_version(trust.to_dict()))


def build_trust_list(reg: Registry) -> dict[str, Any]:
    """The JSON-ready trust list, sorted so that the same registry gives the same bytes."""
    return from_registry(reg).to_dict()


def content_version(content: Mapping[str, Any]) -> str:
    """A digest of the content (without its own `version`): same content, same version."""
    body = {k: v for k, v in content.items() if k != "version"}
    return hashlib.sha256(dumps(body).encode("utf-8")).hexdigest()[:16]


def dumps(trust_list: Mapping[str, Any]) -> str:
    return json.dumps(trust_list, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


def trust_content(reg: Registry) -> bytes:
    """The exact /keys.json bytes for a registry: what the reviewers sign."""
    return dumps(build_trust_list(reg)).encode("utf-8")


# ---------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class Since:
    status: str
    since: dt.datetime

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Since:
        return cls(str(data["status"]), _instant(data["since"]))

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "since": _ts(self.since)}


@dataclass(frozen=True, slots=True)
class TrustedKey:
    kid: bytes
    public_key: bytes
    organization: str
    status: str
    sign_from: dt.datetime
    sign_before: dt.datetime | None
    retired_at: dt.datetime | None
    compromised_at: dt.datetime | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], organization: str) -> TrustedKey:
        public_key = codes.decode_b64url(data["public_key"])
        if public_key is None or len(public_key) != 32 or data["alg"] != "EdDSA":
            raise ValueError(f"organization {organization}: key {data.get('kid')} is not a 32-byte EdDSA key")
        return cls(
            kid=kid_of(public_key),  # derived, never trusted from the file
            public_key=public_key,
            organization=organization,
            status=data["status"],
            sign_from=_instant(data["sign_from"]),
            sign_before=_maybe_instant(data["sign_before"]),
            retired_at=_maybe_instant(data["retired_at"]),
            compromised_at=_maybe_instant(data["compromised_at"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kid": self.kid.hex(),
            "alg": "EdDSA",
            "crv": "Ed25519",
            "public_key": codes.encode_b64url(self.public_key),
            "status": self.status,
            "sign_from": _ts(self.sign_from),
            "sign_before": _ts(self.sign_before),
            "retired_at": _ts(self.retired_at),
            "compromised_at": _ts(self.compromised_at),
        }


@dataclass(frozen=True, slots=True)
class TrustedCertificate:
    code: str
    name: Mapping[str, str | None]
    levels: tuple[int, ...]
    status: tuple[Since, ...]
    validity_years: int | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrustedCertificate:
        status = tuple(Since.from_dict(s) for s in data["status"])
        return cls(data["code"], dict(data["name"]), tuple(data["levels"]), status, data["validity_years"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": dict(self.name),
            "levels": list(self.levels),
            "status": [s.to_dict() for s in self.status],
            "validity_years": self.validity_years,
        }


@dataclass(frozen=True, slots=True)
class Revoked:
    serial: str
    date: str
    reason: str
    certificate: str | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Revoked:
        return cls(data["serial"], data["date"], data["reason"], data.get("certificate"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "date": self.date,
            "reason": self.reason,
            "certificate": self.certificate,
        }


@dataclass(frozen=True, slots=True)
class TrustedOrganization:
    id: str
    name: Mapping[str, str | None]
    sandbox: bool
    example: bool
    status: tuple[Since, ...]
    keys: tuple[TrustedKey, ...]
    certificates: Mapping[str, TrustedCertificate]
    revocations: Mapping[str, Revoked]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrustedOrganization:
        org_id = data["id"]
        certificates = (TrustedCertificate.from_dict(c) for c in data["certificates"])
        revoked = (Revoked.from_dict(r) for r in data["revocations"])
        return cls(
            id=org_id,
            name=dict(data["name"]),
            sandbox=bool(data["sandbox"]),
            example=bool(data["example"]),
            status=tuple(Since.from_dict(s) for s in data["status"]),
            keys=tuple(TrustedKey.from_dict(k, org_id) for k in data["keys"]),
            certificates={c.code: c for c in certificates},
            revocations={r.serial: r for r in revoked},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": dict(self.name),
            "sandbox": self.sandbox,
            "example": self.example,
            "status": [s.to_dict() for s in self.status],
            "keys": [k.to_dict() for k in self.keys],
            "certificates": [c.to_dict() for c in self.certificates.values()],
            "revocations": [r.to_dict() for r in self.revocations.values()],
        }


@dataclass(frozen=True, slots=True)
class SignedBy:
    """What the TUF metadata said about the trust list a verifier holds (xcert.tufclient)."""

    root_version: int
    test_root: bool  # the published development root of sandbox/: never a real deployment
    targets_version: int
    signed_by: tuple[str, ...]  # the reviewers whose signatures verified
    threshold: int
    snapshot_version: int
    timestamp_version: int
    expires: dt.datetime  # the timestamp's expiry: after it, nothing verifies as VALID

    def to_dict(self) -> dict[str, Any]:
        return {
            "root_version": self.root_version,
            "test_root": self.test_root,
            "targets_version": self.targets_version,
            "signed_by": list(self.signed_by),
            "threshold": self.threshold,
            "snapshot_version": self.snapshot_version,
            "timestamp_version": self.timestamp_version,
            "expires": utc_z(self.expires),
        }


@dataclass(frozen=True)
class TrustList:
    version: str
    site_url: str
    verify_url: str
    organizations: Mapping[str, TrustedOrganization]
    name: Mapping[str, str | None] = field(default_factory=dict)  # the registry's, shown by verifiers
    # None when read directly (a local registry or file, trusted by whoever chose it);
    # set when the list came through the TUF client workflow.
    signed: SignedBy | None = field(default=None, compare=False)
    # Policy: unrecorded tokens older than this many days get a warning (None: no policy).
    record_required_after_days: int | None = None
    # Issuance records proven by the TUF client (xcert.issuance), with publication times,
    # and the records it refused (changed, retroactive, unsigned), in plain words.
    records: tuple[PublishedRecord, ...] = field(default=(), compare=False)
    record_problems: tuple[str, ...] = field(default=(), compare=False)
    _by_kid: dict[bytes, tuple[TrustedKey, ...]] = field(default_factory=dict, repr=False, compare=False)
    # Values computed from this list by its readers (xcert.verify's index), kept with it: the
    # list never changes, so they never go stale, and a new list starts with none.
    derived: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_kid: dict[bytes, list[TrustedKey]] = {}
        for org in self.organizations.values():
            for key in org.keys:
                by_kid.setdefault(key.kid, []).append(key)
        self._by_kid.update({kid: tuple(keys) for kid, keys in by_kid.items()})

    def keys_for(self, kid: bytes) -> tuple[TrustedKey, ...]:
        """Every key with this kid: 8 bytes can collide, so a verifier tries each one."""
        return self._by_kid.get(kid, ())

    def keys_by_kid(self) -> Mapping[bytes, tuple[TrustedKey, ...]]:
        """Every kid with its keys (see keys_for)."""
        return MappingProxyType(self._by_kid)

    @classmethod
    def from_dict(cls, data: Any) -> TrustList:
        """The trust list in `data` (keys.json's JSON), or TrustListError naming what is wrong."""
        try:
            return cls._from_dict(data)
        except KeyError as e:
            raise TrustListError(f"not a valid {FORMAT} trust list: missing field {e.args[0]!r}") from e
        except (TypeError, ValueError, AttributeError) as e:
            raise TrustListError(f"not a valid {FORMAT} trust list: {e}") from e

    @classmethod
    def _from_dict(cls, data: Any) -> TrustList:
        if data.get("format") != FORMAT:
            raise ValueError(f"format is {data.get('format')!r}, expected {FORMAT!r}")
        reg = data["registry"]
        organizations = (TrustedOrganization.from_dict(o) for o in data["organizations"])
        return cls(
            version=str(data["version"]),
            site_url=str(reg["site_url"]),
            verify_url=str(reg["verify_url"]),
            organizations={o.id: o for o in organizations},
            name=dict(reg.get("name") or {}),
            record_required_after_days=_days(reg.get("issuance_record_required_after_days")),
        )

    def to_dict(self) -> dict[str, Any]:
        """keys.json's JSON: `from_dict(to_dict())` gives an equal list."""
        registry: dict[str, Any] = {
            "name": dict(self.name),
            "site_url": self.site_url,
            "verify_url": self.verify_url,
        }
        if self.record_required_after_days:  # only when set: a registry without it keeps its signed bytes
            registry["issuance_record_required_after_days"] = self.record_required_after_days
        return {
            "format": FORMAT,
            "registry": registry,
            "organizations": [o.to_dict() for o in self.organizations.values()],
            "version": self.version,
        }


def _instant(value: Any) -> dt.datetime:
    instant = dt.datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise ValueError(f"time {value!r} has no UTC offset")
    return instant


def _maybe_instant(value: Any) -> dt.datetime | None:
    return None if value is None else _instant(value)


def _days(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"issuance_record_required_after_days is {value!r}, expected a whole number of days")
    return value


def parse_trust_list(raw: bytes) -> TrustList:
    if len(raw) > MAX_TRUST_BYTES:
        raise TrustListError(f"trust list is {len(raw):,} bytes; the limit is {MAX_TRUST_BYTES:,}")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TrustListError(f"trust list is not valid JSON: {e}") from e
    except RecursionError as e:
        raise TrustListError("trust list is not valid JSON: nested too deeply") from e
    if not isinstance(data, dict):
        raise TrustListError("trust list is not a JSON object")
    return TrustList.from_dict(data)


def read_trust_list(path: str | Path) -> TrustList:
    """Read a local trust list file as it is, trusted by whoever chose it (test vectors, a
    verifier's own copy). A published list is fetched and proven by xcert.tufclient instead."""
    try:
        return parse_trust_list(Path(path).read_bytes())
    except OSError as e:
        raise TrustListError(f"cannot read trust list {path}: {e.strerror or e}") from e


def trust_list_from_registry(registry_dir: Path) -> TrustList:
    """The trust list a site build would publish, for `--registry` users (issuer, tests)."""
    from .load import load_registry

    result = load_registry(registry_dir)
    if not result.ok or result.registry is None:
        first = result.errors[0].format() if result.errors else "registry did not load"
        raise TrustListError(f"registry {registry_dir} has errors; first: {first}")
    return parse_trust_list(trust_content(result.registry))
