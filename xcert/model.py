"""The registry as immutable typed objects, with the queries the site and verifier need.

Objects are built only from files that passed the schema, so fields hold the declared
types. Each object keeps `src` (where it was defined, and where each field's value is)
out of equality, so two registries compare by content alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from .keys import fingerprint
from .problems import Loc
from .token import kid_of
from .yamlsrc import loc_at, pack

if TYPE_CHECKING:
    from .issuance import RecordFile

LEVEL_NAMES = {1: ("初级", "Primary"), 2: ("中级", "Intermediate"), 3: ("高级", "Advanced")}
# College.kind of an assessment site (考核站点) that is not a college: it hosts sites only.
SITE_KIND = "考核站点"
# Status.bound and Pilot.bound: what `since` is when the exact day is not public (zh, en).
BOUND_NAMES = {"not-after": ("不晚于", "no later than"), "not-before": ("不早于", "no earlier than")}

# Registry dates are calendar days in China Standard Time.
CST = dt.timezone(dt.timedelta(hours=8), "CST")


def day_start(day: dt.date) -> dt.datetime:
    """The instant a registry date begins (00:00 China Standard Time)."""
    return dt.datetime.combine(day, dt.time(), CST)


def add_years(instant: dt.datetime, years: int) -> dt.datetime:
    """`instant` moved `years` years on in the China calendar (CST), the same time of day.

    Validity years count on the calendar of the paper certificate: issued 2021-03-01 (China
    time) with 3 years, it expires at 2024-03-01 00:00 China time, not on the UTC date
    (2024-02-29 16:00Z read as 2024-02-29 in China, a day early). 29 February moves to
    1 March in a year without it, so the last valid day is the end of February.
    """
    local = instant.astimezone(CST)
    return dt.datetime.combine(years_on(local.date(), years), local.timetz())


def years_on(day: dt.date, years: int) -> dt.date:
    """`day` `years` years on; 29 February becomes 1 March in a year without it. Past the
    calendar's end (year 9999, a date a hostile token can ask for) it stays at its last day."""
    if day.year + years > dt.MAXYEAR:
        return dt.date.max
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, month=3, day=1)


def last_valid_day(expires_at: dt.datetime) -> dt.date:
    """The last calendar day (China time) with some valid moment: what "有效期至 Valid until"
    shows. A certificate expiring at 2024-03-01 00:00 China time is valid until 2024-02-29."""
    return (expires_at - dt.timedelta(microseconds=1)).astimezone(CST).date()


def iso_z(instant: dt.datetime) -> str:
    """An instant as machines read it: ISO 8601 with its own offset, UTC written `Z` (the
    trust list keeps a registry day's +08:00, byte for byte as signed). People read
    `china_time` instead."""
    return instant.isoformat().replace("+00:00", "Z")


def utc_z(instant: dt.datetime) -> str:
    """An instant in UTC as `iso_z` writes it (the JSON API's fields)."""
    if instant.tzinfo is not dt.UTC:  # the verifier's own instants are UTC already
        instant = instant.astimezone(dt.UTC)
    return iso_z(instant)


def china_time(instant: dt.datetime | int) -> str:
    """An instant (or Unix seconds) as people read it, in China time: the bare date when it
    is the start of a day (registry dates become such instants: `compromised_on: 2026-11-20`
    reads 2026-11-20, never 2026-11-19T16:00:00Z), else the time with its +08:00 offset."""
    if isinstance(instant, int):
        instant = dt.datetime.fromtimestamp(instant, CST)
    local = instant.astimezone(CST).replace(microsecond=0)
    if local.time() == dt.time():
        return local.date().isoformat()
    return local.isoformat(sep=" ")


class Src(NamedTuple):
    """Where an object and each of its field values were written (packed positions)."""

    path: str
    pos: int = 0
    field_pos: Mapping[Any, int] = MappingProxyType({})

    @property
    def loc(self) -> Loc:
        return loc_at(self.path, self.pos)

    def at(self, name: str) -> Loc:
        return loc_at(self.path, self.field_pos.get(name, self.pos))


NO_SRC = Src("<memory>", pack(1, 1))


def _src() -> Src:
    return field(default=NO_SRC, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Text:
    zh: str
    en: str | None = None


@dataclass(frozen=True, slots=True)
class Status:
    status: str
    since: dt.date
    reason: str | None = None
    batch: int | None = None
    src: Src = _src()
    bound: str | None = None  # 'not-after' | 'not-before': `since` is a bound, not the exact day


# When a state starts: a registry day, an instant, or an instant in microseconds (verify).
When = TypeVar("When", dt.date, int)


def in_force(history: Iterable[tuple[When, str]], at: When) -> str | None:
    """The state in force at `at`: the last (since, state) entry, in date order, not after
    it; None before the history starts. The one place this rule is written."""
    current = None
    for since, state in history:
        if since > at:
            break
        current = state
    return current


def status_on(history: Iterable[Status], day: dt.date) -> str | None:
    """The state in force on `day`, or None before the history starts."""
    return in_force(((entry.since, entry.status) for entry in history), day)


@dataclass(frozen=True, slots=True)
class Key:
    public_key: bytes
    not_before: dt.date
    status: str
    sign_until: dt.date | None = None
    retired_on: dt.date | None = None
    compromised_on: dt.date | None = None
    note: str | None = None
    src: Src = _src()

    @property
    def kid(self) -> bytes:
        return kid_of(self.public_key)

    @property
    def fingerprint(self) -> str:
        """The one displayed form (keygen, key-info, the organization page, the diff)."""
        return fingerprint(self.public_key)

    @property
    def sha256(self) -> str:
        """The full SHA-256 as plain hex: the open data's `fingerprint` field (machine form)."""
        return hashlib.sha256(self.public_key).hexdigest()


@dataclass(frozen=True, slots=True)
class Organization:
    id: str
    name: Text
    kind: str
    province: str
    status: tuple[Status, ...]
    keys: tuple[Key, ...] = ()
    uscc: str | None = None
    website: str | None = None
    parent: Text | None = None
    sandbox: bool = False
    example: bool = False
    sources: tuple[str, ...] = ()
    src: Src = _src()


@dataclass(frozen=True, slots=True)
class Certificate:
    code: str
    name: Text
    organization: str
    field: str
    levels: tuple[int, ...]
    status: tuple[Status, ...]
    batch: int | None = None
    standard: str | None = None
    validity_years: int | None = None
    credits: Mapping[int, int] = dataclasses.field(default_factory=dict)  # `field` is a column here
    majors: tuple[str, ...] = ()
    example: bool = False
    sources: tuple[str, ...] = ()
    src: Src = _src()


@dataclass(frozen=True, slots=True)
class StandardLevel:
    level: int
    summary: str
    work_areas: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Standard:
    id: str
    title: Text
    version: str
    organization: str
    certificate: str
    published: dt.date
    levels: tuple[StandardLevel, ...] = ()
    url: str | None = None
    sha256: str | None = None
    example: bool = False
    sources: tuple[str, ...] = ()
    src: Src = _src()


@dataclass(frozen=True, slots=True)
class Pilot:
    certificate: str
    levels: tuple[int, ...]
    since: dt.date
    ended: dt.date | None = None
    src: Src = _src()
    bound: str | None = None  # as Status.bound


@dataclass(frozen=True, slots=True)
class Site:
    certificate: str
    levels: tuple[int, ...]
    since: dt.date
    status: str
    ended: dt.date | None = None
    src: Src = _src()


@dataclass(frozen=True, slots=True)
class College:
    id: str
    province: str
    name: Text
    kind: str
    code: str | None = None
    city: str | None = None
    pilots: tuple[Pilot, ...] = ()
    sites: tuple[Site, ...] = ()
    example: bool = False
    sources: tuple[str, ...] = ()
    src: Src = _src()

    @property
    def is_site(self) -> bool:
        """An assessment site that is not a college (kind 考核站点)."""
        return self.kind == SITE_KIND


@dataclass(frozen=True, slots=True)
class Revocation:
    organization: str
    serial: str
    date: dt.date
    reason: str
    certificate: str | None = None
    src: Src = _src()


@dataclass(frozen=True, slots=True)
class RevocationList:
    """One organization's revoked serials (registry/revocations/<organization>.yaml)."""

    organization: str
    revoked: tuple[Revocation, ...]
    src: Src = _src()


@dataclass(frozen=True, slots=True)
class Notice:
    slug: str
    date: dt.date
    title: Text
    kind: str
    body: str
    related: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    example: bool = False
    sources: tuple[str, ...] = ()
    src: Src = _src()


@dataclass(frozen=True, slots=True)
class Field:
    id: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class Settings:
    name: Text
    site_url: str
    verify_url: str
    fields: tuple[Field, ...]
    record_required_after_days: int | None = None  # issuance_record_required_after_days


def _index(items: Iterable[object], key: str) -> Mapping[str, object]:
    return MappingProxyType({getattr(i, key): i for i in items})


@dataclass(frozen=True)
class Registry:
    """The whole registry, sorted by id, with read-only indexes for the common queries."""

    settings: Settings
    organizations: Mapping[str, Organization]
    certificates: Mapping[str, Certificate]
    standards: Mapping[str, Standard]
    colleges: Mapping[str, College]
    revocations: Mapping[str, RevocationList]
    notices: tuple[Notice, ...] = ()
    records: tuple[RecordFile, ...] = ()  # registry/issuance/<org>/*.yaml, by path
    _by_org: Mapping[str, tuple[Certificate, ...]] = field(init=False, repr=False, compare=False)
    _pilots: Mapping[str, tuple[tuple[College, Pilot], ...]] = field(init=False, repr=False, compare=False)
    _sites: Mapping[str, tuple[tuple[College, Site], ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_org: dict[str, list[Certificate]] = defaultdict(list)
        for cert in self.certificates.values():
            by_org[cert.organization].append(cert)
        pilots: dict[str, list[tuple[College, Pilot]]] = defaultdict(list)
        sites: dict[str, list[tuple[College, Site]]] = defaultdict(list)
        for college in self.colleges.values():
            for pilot in college.pilots:
                pilots[pilot.certificate].append((college, pilot))
            for site in college.sites:
                sites[site.certificate].append((college, site))
        freeze = object.__setattr__
        freeze(self, "_by_org", {k: tuple(v) for k, v in by_org.items()})
        freeze(self, "_pilots", {k: tuple(v) for k, v in pilots.items()})
        freeze(self, "_sites", {k: tuple(v) for k, v in sites.items()})

    def certificates_of(self, org_id: str) -> tuple[Certificate, ...]:
        return self._by_org.get(org_id, ())

    def pilots_of(self, code: str) -> tuple[tuple[College, Pilot], ...]:
        return self._pilots.get(code, ())

    def sites_of(self, code: str) -> tuple[tuple[College, Site], ...]:
        return self._sites.get(code, ())

    def label(self, entity: Any) -> str | None:
        """ "test" for the sandbox organization and what it owns, "example" for an entry
        marked `example: true`, else None (real data). The one rule for what the site's
        counts leave out: every count takes only entities without a label, and every page
        shows the label where such an entity is listed."""
        org_id = entity.id if isinstance(entity, Organization) else getattr(entity, "organization", None)
        org = self.organizations.get(org_id) if isinstance(org_id, str) else None
        if org is not None and org.sandbox:
            return "test"
        return "example" if getattr(entity, "example", False) else None

    def counted(self, entity: Any) -> bool:
        """Whether the site's counts include `entity` (see `label`)."""
        return self.label(entity) is None

    def field_by_id(self, field_id: str) -> Field | None:
        return next((f for f in self.settings.fields if f.id == field_id), None)
