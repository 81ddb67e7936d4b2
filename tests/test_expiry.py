"""Expiry by validity years on the China calendar (issue 13, item 8)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from conftest import at, fixture_key

from xcert.codes import encode_b64url
from xcert.model import CST, add_years, last_valid_day, years_on
from xcert.verify import EXPIRED, VALID, verify


def china(day: str, hour: int = 0) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), CST)


def _key_1_not_retired(data: dict[str, Any]) -> None:
    """Key 1 still signing (as it was in 2021): a retired key's old token would also need an
    issuance record (docs/issuance-records.md), which is not what this test is about."""
    care = next(o for o in data["organizations"] if o["id"] == "care-org")
    key = next(k for k in care["keys"] if k["public_key"] == encode_b64url(bytes(fixture_key(1).verify_key)))
    key.update(status="active", retired_at=None)


def test_the_reviewers_repro_is_valid_on_the_last_day(signed: Any, make_trust: Any) -> None:
    """Issued 2021-03-01 (China time), 3 validity years: it was EXPIRED at 2024-02-29 12:00
    China time, because the years were added to the UTC instant (2021-02-28 16:00Z)."""
    token = signed(key=1, issued_at=at("2021-03-01", hour=0))  # old-care: validity_years 3
    trust = make_trust(_key_1_not_retired)
    last_day = verify(token, trust, china("2024-02-29", 12))
    assert last_day.status == VALID, [c for c in last_day.checks if not c.ok]
    assert last_day.expires_at == china("2024-03-01")
    assert last_valid_day(last_day.expires_at) == dt.date(2024, 2, 29)  # "有效期至 Valid until"
    assert verify(token, trust, china("2024-02-29", 23) + dt.timedelta(minutes=59)).status == VALID
    assert verify(token, trust, china("2024-03-01")).status == EXPIRED


@pytest.mark.parametrize(
    ("issued", "years", "expires"),
    [
        (china("2021-03-01"), 3, china("2024-03-01")),  # 2021-02-28 16:00Z in UTC
        (china("2021-03-01", 7), 3, china("2024-03-01", 7)),
        (china("2023-01-10", 12), 3, china("2026-01-10", 12)),
        (china("2020-02-29"), 1, china("2021-03-01")),  # no 29 February: valid all of February
        (china("2020-02-29"), 4, china("2024-02-29")),
        (dt.datetime(2021, 2, 28, 16, tzinfo=dt.UTC), 3, china("2024-03-01")),  # any zone in
    ],
)
def test_add_years_counts_on_the_china_calendar(
    issued: dt.datetime, years: int, expires: dt.datetime
) -> None:
    assert add_years(issued, years) == expires


def test_years_on_moves_29_february_to_1_march() -> None:
    # the one rule for validity years and for keygen's suggested sign_until
    assert years_on(dt.date(2024, 2, 29), 2) == dt.date(2026, 3, 1)
    assert years_on(dt.date(2024, 2, 29), 4) == dt.date(2028, 2, 29)
    assert years_on(dt.date(2023, 2, 28), 1) == dt.date(2024, 2, 28)


@pytest.mark.parametrize(
    ("expires", "last"),
    [
        (china("2024-03-01"), dt.date(2024, 3 - 1, 29)),  # midnight: the day before is the last
        (china("2026-01-10", 12), dt.date(2026, 1, 10)),  # noon: valid that morning
        (dt.datetime(2024, 2, 29, 16, tzinfo=dt.UTC), dt.date(2024, 2, 29)),  # = 03-01 00:00 China
    ],
)
def test_valid_until_is_the_last_valid_day(expires: dt.datetime, last: dt.date) -> None:
    assert last_valid_day(expires) == last
