"""The one verification routine. The CLI, the verify service and the tests all call
`verify`; no other module decides whether a certificate is valid.

A token is valid only if every check passes. The result lists each check that ran with
a stable code, so a person (or a program) can see exactly why a certificate failed.

Rules (the house plan's table):

* the token parses (else MALFORMED), its kid names a published key and the signature
  verifies with that key (8-byte kids can collide: every key with the kid is tried);
* a signed issue date proves nothing by itself: whoever holds the key can write any date.
  So once a key is compromised, or retired, or its organization suspended or withdrawn
  after the issue date, the certificate stays valid only if an issuance record published
  before that date holds it (xcert.issuance; the publication time is the first signed
  trust-list version that carried the record, never a date the organization wrote);
* the issue time lies inside the key's signing window and before its retirement, and not
  in the future beyond the allowed clock skew;
* on the issue date the organization was approved, it owns the certificate type, the
  type was active, and the level is one the type offers;
* the serial is not revoked (REVOKED), and the certificate has not expired (EXPIRED):
  expiry is the token's own `exp`, or issue date + the type's validity years.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nacl.signing import VerifyKey

from .issuance import PublishedRecord, RecordIndex, token_hash
from .model import CST, LEVEL_NAMES, add_years, china_time, in_force, utc_z
from .token import Claims, MalformedToken, decode, token_from_text, verify_signature
from .trust import Since, TrustedCertificate, TrustedKey, TrustedOrganization, TrustList

VALID, INVALID, REVOKED, EXPIRED, MALFORMED = "valid", "invalid", "revoked", "expired", "malformed"
# Every check passed, but the signer is the public sandbox key: anyone can sign with it, so
# a program must never read this as valid.
TEST = "test"
CLOCK_SKEW = dt.timedelta(minutes=5)

# The stable check codes, in the order they run, with what a failure means in plain words.
CHECKS: dict[str, tuple[str, str]] = {
    "token.format": ("二维码内容不是有效的证书凭证", "The QR content is not a valid certificate token"),
    "key.known": ("签发密钥不在公开的信任列表中", "The signing key is not in the published trust list"),
    "signature": (
        "签名无效：证书内容被篡改或不是由该机构签发",
        "The signature does not match: altered or not issued by this organization",
    ),
    "trust.current": (
        "信任列表已过期（签名时间戳失效），目前无法确认证书有效",
        "The trust list is out of date (its signed timestamp expired): it cannot confirm anything now",
    ),
    "key.not_compromised": (
        "签发密钥已被报告泄露；只有在泄露日期之前公布的签发记录中的证书仍然有效，本证书不在其中",
        "The signing key was reported compromised; only certificates in an issuance record "
        "published before then stay valid, and this one is not in one",
    ),
    "key.retired": (
        "签发密钥在签发日期之后已停用，且没有在停用之前公布的签发记录证明该证书签发于停用之前",
        "The signing key was retired after the issue date, and no issuance record published "
        "before the retirement proves the certificate was issued before then",
    ),
    "key.window": ("签发时间不在该密钥的有效签发期内", "The issue time is outside the key's signing window"),
    "issued.not_future": ("签发时间在未来", "The issue time is in the future"),
    "organization.approved": (
        "签发当日该培训评价组织未处于批准状态",
        "The organization was not approved on the issue date",
    ),
    "organization.not_suspended_since": (
        "该培训评价组织在签发日期之后被暂停或撤销，且没有在此之前公布的签发记录证明该证书签发于此之前",
        "The organization was suspended or withdrawn after the issue date, and no issuance record "
        "published before then proves the certificate was issued before",
    ),
    "certificate.owner": ("该组织无权签发此证书类型", "The organization may not issue this certificate type"),
    "certificate.active": (
        "签发当日该证书类型未处于有效状态",
        "The certificate type was not active on the issue date",
    ),
    "certificate.level": ("该证书类型不提供此等级", "The certificate type does not offer this level"),
    "revocation": ("该证书已被撤销", "The certificate has been revoked"),
    "expiry": ("该证书已过有效期", "The certificate has expired"),
}


# Warnings never change a status: they say what a careful reader should know.
WARNINGS: dict[str, tuple[str, str]] = {
    "issuance.unrecorded": (
        "该证书签发已超过登记要求的期限，但不在任何已公布的签发记录中",
        "Issued longer ago than the registry's record policy allows, and not in any published "
        "issuance record",
    ),
}


@dataclass(frozen=True, slots=True)
class Check:
    code: str
    ok: bool
    detail: str

    @property
    def explanation(self) -> tuple[str, str]:
        """Plain words (zh, en) for a failed check."""
        return CHECKS[self.code]


@dataclass(frozen=True)
class Result:
    status: str
    checks: tuple[Check, ...]
    claims: Claims | None = None  # only once the signature verified: never show unsigned text
    issuer: TrustedOrganization | None = None
    certificate: TrustedCertificate | None = None
    key: TrustedKey | None = None
    expires_at: dt.datetime | None = None
    verified_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    record: PublishedRecord | None = None  # the earliest published issuance record holding it
    warnings: tuple[Check, ...] = ()  # codes of WARNINGS; never change the status
    # to_dict's issuer, certificate and key parts, made once per trust list by verify's index
    # (trusted_json); read them, never change them: the next result shares them
    trusted: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def valid(self) -> bool:
        return self.status == VALID

    @property
    def test(self) -> bool:
        """Signed by the public sandbox key: never a real certificate."""
        return self.issuer is not None and self.issuer.sandbox

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (a fresh dict; its issuer, certificate and key parts are shared)."""
        claims = self.claims
        trusted = self.trusted or trusted_json(self.issuer, self.certificate, self.key)
        return {
            "status": self.status,
            "test": self.test,
            "verified_at": utc_z(self.verified_at),
            "checks": [{"code": c.code, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "claims": None
            if claims is None
            else {
                "certificate": claims.certificate,
                "level": claims.level,
                "level_name": dict(_LEVEL_NAME[claims.level]),
                "serial": claims.serial,
                "holder_name": claims.holder_name,
                "id_tail": claims.id_tail,
                "college": claims.college,
                "issued_at": utc_z(_instant(claims.issued_at)),
                "expires_at": utc_z(self.expires_at) if self.expires_at else None,
            },
            **trusted,
            "record": None if self.record is None else dict(self.record.json),
            "warnings": [{"code": w.code, "detail": w.detail} for w in self.warnings],
        }


def trusted_json(
    issuer: TrustedOrganization | None, cert: TrustedCertificate | None, key: TrustedKey | None
) -> Mapping[str, Any]:
    """Result.to_dict's parts that depend only on the trust list."""
    return {
        "issuer": None
        if issuer is None
        else {"id": issuer.id, "name": dict(issuer.name), "sandbox": issuer.sandbox},
        "certificate": None if cert is None else {"code": cert.code, "name": dict(cert.name)},
        "key": None if key is None else _key_dict(key),
    }


def _key_dict(key: TrustedKey) -> dict[str, Any]:
    return {
        "kid": key.kid.hex(),
        "status": key.status,
        "retired_at": utc_z(key.retired_at) if key.retired_at else None,
        "compromised_at": utc_z(key.compromised_at) if key.compromised_at else None,
    }


def recorded_text(published: PublishedRecord) -> str:
    """ "recorded: batch X, published D" (D the China date of the first signed publication)."""
    return f"recorded: batch {published.record.batch}, published {_day(published.published)}"


def _day(instant: dt.datetime) -> str:
    return instant.astimezone(CST).date().isoformat()


def _instant(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


_LEVEL_NAME = {level: {"zh": zh, "en": en} for level, (zh, en) in LEVEL_NAMES.items()}
_NOT_FATAL = ("revocation", "expiry")  # a certificate failing only these was genuine: REVOKED, EXPIRED
_FORMAT_OK = Check("token.format", True, "COSE_Sign1 / EdDSA, format version 1")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)


def _us(instant: dt.datetime) -> int:
    """Microseconds since the epoch, exactly: instants compare as integers."""
    return (instant - _EPOCH) // _US


class _Key:
    """One trusted key with everything about it a check needs, made once per trust list."""

    __slots__ = (
        "key",
        "verify_key",
        "known",
        "signature",
        "not_compromised",
        "sign_from",
        "window_end",
        "window_text",
        "org",
        "trusted",
    )

    def __init__(self, key: TrustedKey, org: _Org) -> None:
        self.key, self.org = key, org
        self.verify_key = VerifyKey(key.public_key)
        self.known = Check("key.known", True, f"kid {key.kid.hex()}")
        self.signature = Check("signature", True, f"Ed25519 signature verifies with kid {key.kid.hex()}")
        if key.compromised_at is not None:
            detail = f"key reported compromised on {china_time(key.compromised_at)}"
            self.not_compromised = Check("key.not_compromised", False, detail)
        else:
            self.not_compromised = Check("key.not_compromised", True, f"key status {key.status}")
        end = min((t for t in (key.sign_before, key.retired_at) if t is not None), default=None)
        self.sign_from = _us(key.sign_from)
        self.window_end = None if end is None else _us(end)
        # Check details are sentences people read: China time (the JSON's fields stay UTC Z).
        until = f"before {china_time(end)}" if end else "open-ended"
        self.window_text = f"; window from {china_time(key.sign_from)}, {until}"
        # to_dict's trusted parts for each certificate code of the organization (None: not its own)
        self.trusted = {
            code: trusted_json(org.org, cert, key)
            for code, cert in [(None, None), *org.org.certificates.items()]
        }


class _Timeline:
    """A status history as integer instants, with the check each state gives."""

    __slots__ = ("entries", "checks")

    def __init__(self, history: tuple[Since, ...], code: str, good: str, name: str) -> None:
        self.entries = tuple((_us(s.since), s.status) for s in history)
        states = {s.status for s in history} | {None}
        self.checks = {
            state: Check(code, state == good, f"{name} was {state or 'not yet listed'}") for state in states
        }

    def check_at(self, instant_us: int) -> Check:
        return self.checks[in_force(self.entries, instant_us)]


class _Cert:
    __slots__ = ("cert", "owner", "active", "levels")

    def __init__(self, cert: TrustedCertificate, org_id: str) -> None:
        self.cert = cert
        self.owner = Check("certificate.owner", True, f"{cert.code} by {org_id}")
        self.active = _Timeline(cert.status, "certificate.active", "active", cert.code)
        self.levels = {
            level: Check("certificate.level", level in cert.levels, f"level {level} of {list(cert.levels)}")
            for level in (1, 2, 3)
        }


class _Org:
    __slots__ = ("org", "approved", "certs")

    def __init__(self, org: TrustedOrganization) -> None:
        self.org = org
        self.approved = _Timeline(org.status, "organization.approved", "approved", org.id)
        self.certs = {code: _Cert(cert, org.id) for code, cert in org.certificates.items()}


def prepare(trust: TrustList) -> None:
    """Build the trust list's verification index now (else the first verify builds it): a
    service calls this where it loads a new list, off the request path. That includes the
    issuance-record membership index (seconds for millions of recorded tokens)."""
    _index(trust)
    _record_index(trust)


def _record_index(trust: TrustList) -> RecordIndex | None:
    """Recorded token hash → records, per trust list, once (None: no records)."""
    if not trust.records:
        return None
    index = trust.derived.get(_record_index)
    if index is None:
        index = trust.derived[_record_index] = RecordIndex(trust.records)
    return index


def _index(trust: TrustList) -> dict[bytes, tuple[_Key, ...]]:
    """Per trust list, once: every kid's keys with their verify keys, instants and fixed checks."""
    index = trust.derived.get(_index)
    if index is None:
        orgs = {org_id: _Org(org) for org_id, org in trust.organizations.items()}
        index = {
            kid: tuple(_Key(k, orgs[k.organization]) for k in keys)
            for kid, keys in trust.keys_by_kid().items()
        }
        trust.derived[_index] = index
    return index


def verify(token: bytes | str, trust: TrustList, now: dt.datetime | None = None) -> Result:
    """Verify a token (bytes, or a verify URL / digits / hex as text) against a trust list."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        decoded = decode(token_from_text(token) if isinstance(token, str) else bytes(token))
    except MalformedToken as e:
        return Result(MALFORMED, (Check("token.format", False, str(e)),), verified_at=now)

    candidates = _index(trust).get(decoded.kid, ())
    # 8-byte kids can collide: every key with the kid is tried.
    key = next((k for k in candidates if verify_signature(decoded, k.verify_key)), None)
    if key is None:
        checks = [_FORMAT_OK, Check("key.known", bool(candidates), f"kid {decoded.kid.hex()}")]
        if candidates:
            checks.append(Check("signature", False, "Ed25519 signature does not verify"))
        return Result(INVALID, tuple(checks), verified_at=now)
    checks = [_FORMAT_OK, key.known, key.signature]
    if trust.signed is not None:
        expires = trust.signed.expires
        checks.append(Check("trust.current", now < expires, _trust_expiry_text(expires)))
    record = None
    index = _record_index(trust)
    if index is not None:  # the earliest published record of this key holding the token
        kid, org_id = key.key.kid, key.key.organization
        for found in index.lookup(token_hash(decoded.token)):
            if found.record.kid == kid and found.record.organization == org_id:
                record = found
                break
    return _claims_checks(decoded.claims, key, checks, now, record, trust.record_required_after_days)


@functools.lru_cache(maxsize=8)
def _trust_expiry_text(expires: dt.datetime) -> str:
    """Once per signed timestamp, not per request (a China-time sentence costs ~2.5 µs)."""
    return f"signed trust list expires {china_time(expires)}"


def _recorded_before(record: PublishedRecord | None, instant: dt.datetime, what: str) -> tuple[bool, str]:
    """Whether a record published before `instant` holds the token, in words."""
    if record is None:
        return False, f"{what}; no issuance record proves it was issued before then"
    if record.published < instant:
        return True, f"{what}; {recorded_text(record)}, before then"
    return False, f"{what}; {recorded_text(record)}, which is not before then"


def _claims_checks(
    claims: Claims,
    key: _Key,
    checks: list[Check],
    now: dt.datetime,
    record: PublishedRecord | None = None,
    record_days: int | None = None,
) -> Result:
    issued = _instant(claims.issued_at)
    issued_us = claims.issued_at * 1_000_000
    issued_text = china_time(issued)
    org = key.org
    add = checks.append
    trusted = key.key
    if trusted.compromised_at is not None:
        what = f"key reported compromised on {_day(trusted.compromised_at)}"
        add(Check("key.not_compromised", *_recorded_before(record, trusted.compromised_at, what)))
    else:
        add(key.not_compromised)
    in_window = key.sign_from <= issued_us and (key.window_end is None or issued_us < key.window_end)
    add(Check("key.window", in_window, f"issued {issued_text}{key.window_text}"))
    retired = trusted.retired_at
    if retired is not None and issued < retired <= now:
        what = f"issued with a key that was retired on {_day(retired)}"
        add(Check("key.retired", *_recorded_before(record, retired, what)))
    add(org.approved.check_at(issued_us))
    later = next((s for s in org.org.status if issued < s.since <= now and s.status != "approved"), None)
    if later is not None:
        what = f"the organization was {later.status} on {_day(later.since)}"
        add(Check("organization.not_suspended_since", *_recorded_before(record, later.since, what)))
    add(
        Check("issued.not_future", issued <= now + CLOCK_SKEW, f"issued {issued_text}, now {china_time(now)}")
    )

    known = org.certs.get(claims.certificate)
    cert = None
    expires = None
    if known is not None:
        cert = known.cert
        add(known.owner)
        add(known.active.check_at(issued_us))
        add(known.levels[claims.level])
        expires = _expiry(claims, cert)
    else:
        add(Check("certificate.owner", False, f"{claims.certificate} by {org.org.id}"))
        if claims.expires_at is not None:
            expires = _instant(claims.expires_at)

    revoked = org.org.revocations.get(claims.serial)
    if revoked is None:
        add(Check("revocation", True, f"serial {claims.serial} not revoked"))
    else:
        add(Check("revocation", False, f"revoked on {revoked.date}: {revoked.reason}"))
    add(
        Check(
            "expiry",
            expires is None or now < expires,
            f"expires {china_time(expires)}" if expires else "no expiry",
        )
    )

    failed = [c.code for c in checks if not c.ok]
    if not failed:
        status = TEST if org.org.sandbox else VALID
    elif any(code not in _NOT_FATAL for code in failed):
        status = INVALID
    elif "revocation" in failed:
        status = REVOKED
    else:
        status = EXPIRED
    warnings: tuple[Check, ...] = ()
    if record_days is not None and record is None and now - issued > dt.timedelta(days=record_days):
        detail = (
            f"issued {issued_text}, more than {record_days} days ago, and in no published issuance record"
        )
        warnings = (Check("issuance.unrecorded", False, detail),)
    parts = key.trusted[claims.certificate if known is not None else None]
    return Result(
        status, tuple(checks), claims, org.org, cert, key.key, expires, now, record, warnings, parts
    )


def _expiry(claims: Claims, cert: TrustedCertificate) -> dt.datetime | None:
    """The earlier of the token's own `exp` and issue date + the type's validity years."""
    ends = []
    if claims.expires_at is not None:
        ends.append(_instant(claims.expires_at))
    if cert.validity_years:  # years on the China calendar, not the UTC one
        ends.append(add_years(_instant(claims.issued_at), cert.validity_years))
    return min(ends, default=None)
