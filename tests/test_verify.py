"""The one verification routine: each rule of the house plan, one named case each."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from conftest import at, fixture_key

from xcert.token import Claims, kid_of, sign, to_digits
from xcert.trust import TrustList, TrustListError, parse_trust_list
from xcert.verify import EXPIRED, INVALID, MALFORMED, REVOKED, VALID, verify

NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


def org(data: dict[str, Any], org_id: str) -> dict[str, Any]:
    return next(o for o in data["organizations"] if o["id"] == org_id)


def give_logi_org_key_2(data: dict[str, Any]) -> None:
    """Move care-org's active key to logi-org (suspended since 2021-03-01)."""
    care, logi = org(data, "care-org"), org(data, "logi-org")
    logi["keys"] = [k for k in care["keys"] if k["status"] == "active"]
    care["keys"] = [k for k in care["keys"] if k["status"] != "active"]


def compromise_key_1(data: dict[str, Any]) -> None:
    key = next(k for k in org(data, "care-org")["keys"] if k["status"] == "retired")
    key.update(status="compromised", compromised_at="2022-09-01T00:00:00+08:00", retired_at=None)


def withdraw_old_care(data: dict[str, Any]) -> None:
    cert = next(c for c in org(data, "care-org")["certificates"] if c["code"] == "old-care")
    cert["status"].append({"status": "withdrawn", "since": "2022-01-01T00:00:00+08:00"})


CASES: list[tuple[str, dict[str, Any], Any, str, str | None]] = [
    # name, token overrides, trust change, expected status, failing check
    ("valid", {}, None, VALID, None),
    (
        "retired key, dated before retirement, no issuance record",
        {"key": 1, "issued_at": at("2022-03-01")},
        None,
        INVALID,
        "key.retired",
    ),
    (
        "retired key, signed after retirement",
        {"key": 1, "issued_at": at("2022-07-01")},
        None,
        INVALID,
        "key.window",
    ),
    (
        "compromised key, even before the compromise",
        {"key": 1, "issued_at": at("2022-03-01")},
        compromise_key_1,
        INVALID,
        "key.not_compromised",
    ),
    ("key used before its window", {"issued_at": at("2022-05-01")}, None, INVALID, "key.window"),
    (
        "organization suspended on the issue date",
        {"certificate": "logistics", "level": 1},
        give_logi_org_key_2,
        INVALID,
        "organization.approved",
    ),
    (
        "certificate type withdrawn",
        {"issued_at": at("2022-07-01")},
        withdraw_old_care,
        INVALID,
        "certificate.active",
    ),
    (
        "organization is not the type's owner",
        {"certificate": "logistics", "level": 1},
        None,
        INVALID,
        "certificate.owner",
    ),
    (
        "level not offered",
        {"certificate": "old-care", "level": 3},
        lambda d: org(d, "care-org")["certificates"][0].update(levels=[1, 2]),
        INVALID,
        "certificate.level",
    ),
    (
        "revoked serial",
        {"serial": "Y2020000001", "issued_at": at("2022-07-01")},
        None,
        REVOKED,
        "revocation",
    ),
    (
        "expired by validity years",
        {"issued_at": at("2022-07-05")},
        lambda d: org(d, "care-org")["certificates"][0].update(validity_years=1),
        EXPIRED,
        "expiry",
    ),
    ("expired by the token's exp", {"expires_at": at("2024-01-01")}, None, EXPIRED, "expiry"),
    ("issued in the future", {"issued_at": int(NOW.timestamp()) + 3600}, None, INVALID, "issued.not_future"),
    ("within clock skew", {"issued_at": int(NOW.timestamp()) + 240}, None, VALID, None),
    ("unknown key", {}, lambda d: org(d, "care-org").update(keys=[]), INVALID, "key.known"),
]


@pytest.mark.parametrize(
    ("name", "overrides", "change", "status", "failing"), CASES, ids=[c[0] for c in CASES]
)
def test_rule(name, overrides, change, status, failing, signed, make_trust) -> None:
    result = verify(signed(**overrides), make_trust(change), NOW)
    assert result.status == status, [c for c in result.checks if not c.ok]
    assert [c.code for c in result.failures] == ([failing] if failing else [])


def test_valid_result_carries_what_the_employer_compares(signed, make_trust) -> None:
    result = verify(signed(), make_trust(), NOW)
    data = result.to_dict()
    assert data["claims"]["holder_name"] == "王小明" and data["claims"]["id_tail"] == "123X"
    assert data["issuer"]["id"] == "care-org" and data["certificate"]["name"]["zh"] == "老年照护"
    assert data["claims"]["expires_at"] == "2026-01-10T04:00:00Z"  # 3 validity years
    assert not result.test


def test_tampered_signature_is_invalid_and_shows_no_claims(signed, make_trust) -> None:
    token = bytearray(signed())
    token[-1] ^= 1
    result = verify(bytes(token), make_trust(), NOW)
    assert (result.status, [c.code for c in result.failures]) == (INVALID, ["signature"])
    assert result.claims is None


def test_kid_collision_tries_every_key(signed, make_trust) -> None:
    """Two different keys share care-org's kid (forced: an 8-byte collision cannot be found
    for a test), and the impostor is tried first: the token still verifies, with the key that
    signed it."""
    trust = make_trust()
    kid = kid_of(bytes(fixture_key(2).verify_key))
    logi = trust.organizations["logi-org"]
    impostor = dataclasses.replace(
        next(k for k in trust.organizations["care-org"].keys if k.kid == kid),
        public_key=bytes(fixture_key(9).verify_key),
        organization="logi-org",
    )
    orgs = {"logi-org": dataclasses.replace(logi, keys=(impostor,))}
    orgs |= {org_id: o for org_id, o in trust.organizations.items() if org_id != "logi-org"}
    collided = TrustList(trust.version, trust.site_url, trust.verify_url, orgs)
    assert [k.organization for k in collided.keys_for(kid)] == ["logi-org", "care-org"]
    result = verify(signed(), collided, NOW)
    assert (result.status, result.issuer and result.issuer.id) == (VALID, "care-org")


@pytest.mark.parametrize("text", ["", "https://v.example/c/", "https://v.example/c/12x", "0" * 5000, "zz"])
def test_malformed_text(text: str, make_trust) -> None:
    result = verify(text, make_trust(), NOW)
    assert result.status == MALFORMED and [c.code for c in result.checks] == ["token.format"]


def test_url_and_digits_forms_verify(signed, make_trust) -> None:
    token = signed()
    trust = make_trust()
    assert verify(f"https://verify.1x.example.cn/c/{to_digits(token)}", trust, NOW).valid
    assert verify(to_digits(token), trust, NOW).valid


def test_sandbox_is_flagged_test(make_trust) -> None:
    def sandbox(data: dict[str, Any]) -> None:
        org(data, "care-org")["sandbox"] = True

    result = verify(
        sign(Claims(1, "old-care", 1, "S1", "测试", "0000", at("2023-01-01")), fixture_key(2)),
        make_trust(sandbox),
        NOW,
    )
    assert result.status == "test" and not result.valid and result.test and result.to_dict()["test"] is True
    assert not result.failures  # every check passed: the signer alone makes it TEST


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "not a JSON object"),
        (b'{"format": "other"}', "expected"),
        (b'{"format": "xcert-trust-list/1"}', "expected 'xcert-trust-list/2'"),
        (b'{"format": "xcert-trust-list/2"}', "missing field 'registry'"),
    ],
)
def test_bad_trust_lists_are_refused_clearly(raw: bytes, message: str) -> None:
    with pytest.raises(TrustListError, match=message):
        parse_trust_list(raw)
