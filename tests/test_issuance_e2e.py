"""Issuance records end to end: a real `xcert serve` (and `xcert verify`) over a signed trust
list whose publications carry records, each dated by the first signed version that held it.

The story, in publication order (each publication's timestamp version is its date):
  2020-07-01  logi-org records L1 (logi-org is suspended from 2021-03-01)
  2022-04-01  care-org records R1, signed by key 1 (key 1 is retired on 2022-06-30)
  2022-08-01  care-org records R3, also key 1, dated before the retirement: published after it
  2023-02-01  care-org records H, signed by key 2 (the honest holder)
  2023-07-01  a thief who stole key 2 records F, a token dated 2023-01-10
  2023-08-01  key 2 is reported compromised as of 2023-06-01; care-org signs its records
              with a new key 8
"""

from __future__ import annotations

import copy
import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import SignedRepo, at, claims, fixture_key
from test_verify_api import Server, rules_trust

from xcert import issuance
from xcert.keys import PrivateKey
from xcert.token import kid_of, sign, to_digits
from xcert.tufrepo import FIRST_PUBLISHED

CARE_ASSIST = "care-assist"  # care-org's type without validity years: old tokens do not expire


def version(day: str) -> int:
    return int(dt.datetime.fromisoformat(day + "T00:00:00+00:00").timestamp())


def tok(key: int, serial: str, day: str, certificate: str = CARE_ASSIST, level: int = 2) -> bytes:
    return sign(
        claims(certificate=certificate, level=level, serial=serial, issued_at=at(day)), fixture_key(key)
    )


def kid(n: int) -> bytes:
    return kid_of(bytes(fixture_key(n).verify_key))


def record(records: Path, org: str, batch: str, key: int, tokens: list[bytes], day: str) -> None:
    rec, leaves = issuance.make_record(org, batch, kid(key), tokens)
    issuance.write_record(records, rec, leaves)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, trust_json: dict[str, Any]) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("issuance-e2e")
    repo = SignedRepo(tmp / "repo")
    site, records = tmp / "site", tmp / "records"
    site.mkdir()
    data = rules_trust(trust_json)
    care = next(o for o in data["organizations"] if o["id"] == "care-org")
    signers = {"logi": PrivateKey("logi-org", fixture_key(3)), "care": PrivateKey("care-org", fixture_key(2))}
    t: dict[str, bytes] = {
        "L1": tok(3, "L1", "2020-06-01", "logistics", 1),
        "L2": tok(3, "L2", "2020-06-01", "logistics", 1),
        "R1": tok(1, "R1", "2022-03-01"),
        "R2": tok(1, "R2", "2022-03-01"),
        "R3": tok(1, "R3", "2022-03-02"),
        "H": tok(2, "H", "2023-01-10"),
        "F": tok(2, "F", "2023-01-10"),
        "G": tok(2, "G", "2023-01-09"),
        "NEW": tok(2, "NEW", "2023-01-11"),
    }

    def publish(day: str) -> None:
        repo.publish(data, site, records=records, record_keys=signers.values(), version=version(day))

    record(records, "logi-org", "2020-06", 3, [t["L1"]], "2020-06-01")
    publish("2020-07-01")
    record(records, "care-org", "2022-03", 1, [t["R1"]], "2022-03-01")
    publish("2022-04-01")
    record(records, "care-org", "2022-03-late", 1, [t["R3"]], "2022-03-02")
    publish("2022-08-01")
    record(records, "care-org", "2023-01", 2, [t["H"]], "2023-01-10")
    publish("2023-02-01")
    record(records, "care-org", "thief", 2, [t["F"]], "2023-01-10")  # signed with the stolen key 2
    publish("2023-07-01")
    # the compromise is reported: key 2 compromised as of 2023-06-01, key 8 takes over
    key2 = next(k for k in care["keys"] if k["public_key"] == _key_b64(2))
    key2.update(status="compromised", compromised_at="2023-06-01T00:00:00+08:00")
    new = copy.deepcopy(key2)
    new.update(public_key=_key_b64(8), kid=kid(8).hex(), status="active", compromised_at=None)
    care["keys"].append(new)
    signers["care"] = PrivateKey("care-org", fixture_key(8))
    publish("2023-08-01")
    return {"repo": repo, "site": site, "tokens": t, "tmp": tmp}


def _key_b64(n: int) -> str:
    from xcert.codes import encode_b64url

    return encode_b64url(bytes(fixture_key(n).verify_key))


@pytest.fixture(scope="module")
def server(world: dict[str, Any]) -> Any:
    running = Server(world["site"] / "keys.json", world["tmp"] / "server.log", root=world["repo"].root)
    yield running
    running.stop()


def check(server: Server, token: bytes) -> dict[str, Any]:
    response = httpx.get(server.url + "/api/v1/verify", params={"token": to_digits(token)}, timeout=10)
    return response.json()


def failing(result: dict[str, Any]) -> list[str]:
    return [c["code"] for c in result["checks"] if not c["ok"]]


def test_the_publisher_dated_every_record(world: dict[str, Any]) -> None:
    import json

    snapshot = json.loads((world["site"] / "tuf" / "snapshot.json").read_text(encoding="utf-8"))
    dates = {p: dt.datetime.fromtimestamp(e["published"], dt.UTC).date().isoformat()
             for p, e in snapshot["signed"][FIRST_PUBLISHED].items()}  # fmt: skip
    assert dates == {
        "issuance/logi-org/2020-06.yaml": "2020-07-01",
        "issuance/care-org/2022-03.yaml": "2022-04-01",
        "issuance/care-org/2022-03-late.yaml": "2022-08-01",
        "issuance/care-org/2023-01.yaml": "2023-02-01",
        "issuance/care-org/thief.yaml": "2023-07-01",
    }


def test_an_honest_holder_stays_valid_after_the_key_is_compromised(
    server: Server, world: dict[str, Any]
) -> None:
    result = check(server, world["tokens"]["H"])
    assert (result["status"], failing(result)) == ("valid", [])
    assert result["record"]["batch"] == "2023-01" and result["record"]["published"] == "2023-02-01T00:00:00Z"
    assert result["key"]["status"] == "compromised"
    detail = next(c["detail"] for c in result["checks"] if c["code"] == "key.not_compromised")
    assert detail == (
        "key reported compromised on 2023-06-01; recorded: batch 2023-01, published 2023-02-01, before then"
    )
    page = httpx.get(server.url + "/c/" + to_digits(world["tokens"]["H"]), timeout=10).text
    assert "recorded: batch 2023-01, published 2023-02-01" in page
    assert "已泄露 compromised 2023-06-01" in page  # the key's status in the main card


def test_a_thief_s_backdated_token_is_not_valid(server: Server, world: dict[str, Any]) -> None:
    for name in ("F", "G"):  # recorded after the compromise, or not at all
        result = check(server, world["tokens"][name])
        assert (result["status"], failing(result)) == ("invalid", ["key.not_compromised"]), name
    thief = check(server, world["tokens"]["F"])
    detail = next(c["detail"] for c in thief["checks"] if c["code"] == "key.not_compromised")
    assert detail.endswith("recorded: batch thief, published 2023-07-01, which is not before then")


def test_a_retired_key_and_a_suspended_organization_need_a_record_from_before(
    server: Server, world: dict[str, Any]
) -> None:
    t = world["tokens"]
    assert (check(server, t["R1"])["status"], check(server, t["L1"])["status"]) == ("valid", "valid")
    r2, r3, l2 = check(server, t["R2"]), check(server, t["R3"]), check(server, t["L2"])
    assert failing(r2) == failing(r3) == ["key.retired"]
    assert next(c["detail"] for c in r2["checks"] if c["code"] == "key.retired") == (
        "issued with a key that was retired on 2022-06-30; "
        "no issuance record proves it was issued before then"
    )
    assert (l2["status"], failing(l2)) == ("invalid", ["organization.not_suspended_since"])
    zh, en = next(
        (r["zh"], r["en"]) for r in l2["reasons"] if r["code"] == "organization.not_suspended_since"
    )
    assert "暂停或撤销" in zh and "suspended or withdrawn after the issue date" in en


def test_xcert_verify_reads_the_records_too(world: dict[str, Any], tmp_path: Path) -> None:
    args = ["--trust", str(world["site"] / "keys.json"), "--root", str(world["repo"].root)]
    args += ["--state", str(tmp_path / "state"), "--json"]
    run = [sys.executable, "-m", "xcert.cli", "verify"]
    honest = subprocess.run([*run, to_digits(world["tokens"]["H"]), *args], capture_output=True, text=True)
    thief = subprocess.run([*run, to_digits(world["tokens"]["F"]), *args], capture_output=True, text=True)
    assert honest.returncode == 0, honest.stderr
    assert '"batch": "2023-01"' in honest.stdout
    assert thief.returncode != 0 and '"status": "invalid"' in thief.stdout
