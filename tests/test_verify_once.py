"""What xcert.verify makes once per trust list (issue 16 §5) says the same as what it would
make per result: the JSON's issuer, certificate and key parts, and the trust list's expiry
sentence, which must follow a new signed timestamp on the same list."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from conftest import at, fixture_key

from xcert.token import Claims, sign
from xcert.trust import SignedBy
from xcert.verify import verify

NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "overrides",
    [
        {},  # valid
        {"certificate": "no-such-cert"},  # the organization's key, not its certificate
        {"certificate": "old-care", "level": 3},  # a level the type does not offer
        {"issued_at": at("2016-01-01")},  # before the key's window
    ],
)
def test_trusted_parts_equal_those_made_from_the_result(overrides, signed, make_trust) -> None:
    result = verify(signed(**overrides), make_trust(), NOW)
    assert result.trusted is not None and result.issuer is not None
    assert result.to_dict() == dataclasses.replace(result, trusted=None).to_dict()
    assert result.key is not None and result.to_dict()["key"]["kid"] == result.key.kid.hex()


def test_trusted_parts_of_an_unknown_certificate_are_none(signed, make_trust) -> None:
    result = verify(signed(certificate="no-such-cert"), make_trust(), NOW)
    assert result.certificate is None and result.to_dict()["certificate"] is None
    assert result.to_dict()["issuer"]["id"] == "care-org"


def test_changing_one_answer_leaves_the_next_alone(signed, make_trust) -> None:
    """The service adds top-level fields to to_dict's dict: a fresh dict each time."""
    trust = make_trust()
    first = verify(signed(), trust, NOW).to_dict()
    first["trust"] = {"x": 1}
    first["issuer"] = None
    again = verify(signed(), trust, NOW).to_dict()
    assert "trust" not in again and again["issuer"]["id"] == "care-org"


def _signed_by(expires: dt.datetime) -> SignedBy:
    return SignedBy(1, True, 1, ("reviewer",), 1, 1, 1, expires)


def test_expiry_sentence_follows_a_new_timestamp_on_the_same_list(make_trust) -> None:
    """The TUF client keeps a list (and its derived index) when only the timestamp changed."""
    token = sign(Claims(1, "old-care", 2, "S1", "王小明", "123X", at("2023-01-01")), fixture_key(2))
    trust = dataclasses.replace(make_trust(), signed=_signed_by(dt.datetime(2024, 6, 2, tzinfo=dt.UTC)))
    later = dataclasses.replace(
        trust, signed=_signed_by(dt.datetime(2024, 5, 31, 16, tzinfo=dt.UTC)), derived=trust.derived
    )
    details: dict[dt.datetime, set[tuple[bool, str]]] = {}
    for t in (trust, later, trust):
        check = next(c for c in verify(token, t, NOW).checks if c.code == "trust.current")
        details.setdefault(t.signed.expires, set()).add((check.ok, check.detail))
    assert details == {
        dt.datetime(2024, 6, 2, tzinfo=dt.UTC): {
            (True, "signed trust list expires 2024-06-02 08:00:00+08:00")
        },
        dt.datetime(2024, 5, 31, 16, tzinfo=dt.UTC): {(False, "signed trust list expires 2024-06-01")},
    }
