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
from .model import Certificate, Organization, Registry, Status, day_start, status_on

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
    return Stamp(digest.hexdigest()[:16], _git_commit(Path(registry_dir)), _ts(built))


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
    return instant.isoformat().replace("+00:00", "Z") if instant else None


def _day(day: dt.date | None, plus_days: int = 0) -> str | None:
    return _ts(day_start(day + dt.timedelta(days=plus_days))) if day else None


def _history(history: tuple[Status, ...]) -> list[dict[str, Any]]:
    return [{"status": s.status, "since": _day(s.since)} for s in history]


def _certificate(cert: Certificate) -> dict[str, Any]:
    return {
        "code": cert.code,
        "name": {"zh": cert.name.zh, "en": cert.name.en},
        "levels": list(cert.levels),
        "status": _history(cert.status),
        "validity_years": cert.validity_years,
    }


def _organization(reg: Registry, org: Organization) -> dict[str, Any]:
    revocations = reg.revocations.get(org.id)
    return {
        "id": org.id,
        "name": {"zh": org.name.zh, "en": org.name.en},
        "sandbox": org.sandbox,
        "example": org.example,
        "status": _history(org.status),
        "keys": [
            {
                "kid": k.kid.hex(),
                "alg": "EdDSA",
                "crv": "Ed25519",
                "public_key": codes.encode_b64url(k.public_key),
                "status": k.status,
                "sign_from": _day(k.not_before),
                "sign_before": _day(k.sign_until, plus_days=1),  # sign_until is inclusive
                "retired_at": _day(k.retired_on),
                "compromised_at": _day(k.compromised_on),
            }
            for k in sorted(org.keys, key=lambda k: k.kid)
        ],
        "certificates": [_certificate(c) for c in reg.certificates_of(org.id)],
        "revocations": sorted(
            (
                {
                    "serial": r.serial,
                    "date": r.date.isoformat(),
                    "reason": r.reason,
                    "certificate": r.certificate,
                }
                for r in (revocations.revoked if revocations else ())
            ),
            key=lambda r: r["serial"],
        ),
    }


def build_trust_list(reg: Registry) -> dict[str, Any]:
    """The JSON-ready trust list, sorted so that the same registry gives the same bytes."""
    content = {
        "format": FORMAT,
        "registry": {
            "name": {"zh": reg.settings.name.zh, "en": reg.settings.name.en},
            "site_url": reg.settings.site_url,
            "verify_url": reg.settings.verify_url,
            # only when set, so a registry without the policy keeps its signed bytes
            **(
                {"issuance_record_required_after_days": reg.settings.record_required_after_days}
                if reg.settings.record_required_after_days
                else {}
            ),
        },
        "organizations": [_organization(reg, o) for o in reg.organizations.values()],
    }
    return {**content, "version": content_version(content)}


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


@dataclass(frozen=True, slots=True)
class TrustedCertificate:
    code: str
    name: Mapping[str, str | None]
    levels: tuple[int, ...]
    status: tuple[Since, ...]
    validity_years: int | None

    def status_at(self, instant: dt.datetime) -> str | None:
        return status_on(self.status, instant)


@dataclass(frozen=True, slots=True)
class Revoked:
    serial: str
    date: str
    reason: str
    certificate: str | None


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

    def status_at(self, instant: dt.datetime) -> str | None:
        return status_on(self.status, instant)


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
            "expires": _ts(self.expires.astimezone(dt.UTC)),
        }


@dataclass(frozen=True)
class TrustList:
    version: str
    site_url: str
    verify_url: str
    organizations: Mapping[str, TrustedOrganization]
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
    def from_json(cls, data: Any) -> TrustList:
        try:
            return _parse(data)
        except KeyError as e:
            raise TrustListError(f"not a valid {FORMAT} trust list: missing field {e.args[0]!r}") from e
        except (TypeError, ValueError, AttributeError) as e:
            raise TrustListError(f"not a valid {FORMAT} trust list: {e}") from e


def _instant(value: Any) -> dt.datetime:
    instant = dt.datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise ValueError(f"time {value!r} has no UTC offset")
    return instant


def _maybe_instant(value: Any) -> dt.datetime | None:
    return None if value is None else _instant(value)


def _since(items: list[dict[str, Any]]) -> tuple[Since, ...]:
    return tuple(Since(str(s["status"]), _instant(s["since"])) for s in items)


def _parse(data: Any) -> TrustList:
    if data.get("format") != FORMAT:
        raise ValueError(f"format is {data.get('format')!r}, expected {FORMAT!r}")
    orgs: dict[str, TrustedOrganization] = {}
    for o in data["organizations"]:
        keys = []
        for k in o["keys"]:
            public_key = codes.decode_b64url(k["public_key"])
            if public_key is None or len(public_key) != 32 or k["alg"] != "EdDSA":
                raise ValueError(f"organization {o['id']}: key {k.get('kid')} is not a 32-byte EdDSA key")
            keys.append(
                TrustedKey(
                    kid=hashlib.sha256(public_key).digest()[:8],  # derived, never trusted from the file
                    public_key=public_key,
                    organization=o["id"],
                    status=k["status"],
                    sign_from=_instant(k["sign_from"]),
                    sign_before=_maybe_instant(k["sign_before"]),
                    retired_at=_maybe_instant(k["retired_at"]),
                    compromised_at=_maybe_instant(k["compromised_at"]),
                )
            )
        certs = {
            c["code"]: TrustedCertificate(
                c["code"], dict(c["name"]), tuple(c["levels"]), _since(c["status"]), c["validity_years"]
            )
            for c in o["certificates"]
        }
        revoked = {
            r["serial"]: Revoked(r["serial"], r["date"], r["reason"], r.get("certificate"))
            for r in o["revocations"]
        }
        orgs[o["id"]] = TrustedOrganization(
            id=o["id"],
            name=dict(o["name"]),
            sandbox=bool(o["sandbox"]),
            example=bool(o["example"]),
            status=_since(o["status"]),
            keys=tuple(keys),
            certificates=certs,
            revocations=revoked,
        )
    reg = data["registry"]
    return TrustList(
        version=str(data["version"]),
        site_url=str(reg["site_url"]),
        verify_url=str(reg["verify_url"]),
        organizations=orgs,
        record_required_after_days=_days(reg.get("issuance_record_required_after_days")),
    )


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
    return TrustList.from_json(data)


def is_url(source: str) -> bool:
    """Whether a trust list source names an http(s) URL rather than a local path."""
    return source.startswith(("https://", "http://"))


def read_trust_list(source: str | Path) -> TrustList:
    """Read a trust list from a local path or an http(s) URL."""
    text = str(source)
    if is_url(text):
        import httpx

        try:
            response = httpx.get(text, timeout=30, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as e:
            raise TrustListError(f"cannot fetch trust list {text}: {e}") from e
        return parse_trust_list(response.content)
    try:
        return parse_trust_list(Path(text).read_bytes())
    except OSError as e:
        raise TrustListError(f"cannot read trust list {text}: {e.strerror or e}") from e


def trust_list_from_registry(registry_dir: Path) -> TrustList:
    """The trust list a site build would publish, for `--registry` users (issuer, tests)."""
    from .load import load_registry

    result = load_registry(registry_dir)
    if not result.ok or result.registry is None:
        first = result.errors[0].format() if result.errors else "registry did not load"
        raise TrustListError(f"registry {registry_dir} has errors; first: {first}")
    return parse_trust_list(trust_content(result.registry))
