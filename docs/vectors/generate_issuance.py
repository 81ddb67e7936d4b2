"""Generate the issuance-record test vectors: ``python docs/vectors/generate_issuance.py``.

Writes ``docs/vectors/issuance/``: the root every step pins (the TUF vectors' root), one
publication history of the vector registry's trust list (``step-N/`` with ``keys.json``,
``tuf/`` and ``issuance/``, each carrying records of vec-org signed by its key 2), and
``case.json``: after which step each token is checked, and the verdict a conforming
verifier reaches at the fixed ``now``. Format: docs/issuance-records.md. Deterministic:
fixed TEST keys, versions and times.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "issuance"
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

import generate as tokens  # noqa: E402
import generate_tuf as tuf  # noqa: E402

from xcert import issuance, tufrepo  # noqa: E402
from xcert.keys import PrivateKey  # noqa: E402
from xcert.token import kid_of, sign, to_digits  # noqa: E402

NOW = "2024-06-01T00:00:00Z"  # as the token vectors
ORG = "vec-org"
RECORD_KEY = PrivateKey(ORG, tokens.key(2))  # vec-org's active key signs its records role


def version(day: str) -> int:
    return int(dt.datetime.fromisoformat(day + "T00:00:00+00:00").timestamp())


def _token(signer: int, serial: str, day: str) -> bytes:
    return sign(tokens.claims(serial=serial, issued_at=tokens.at(day), level=1), tokens.key(signer))


TOKENS = {  # key 1 retired 2022-06-30; key 3 compromised 2023-06-01 (docs/vectors/registry)
    "recorded": _token(3, "K3-2023-0001", "2023-01-10"),
    "recorded-after-compromise": _token(3, "K3-2023-0002", "2023-01-10"),
    "unrecorded-retired-key": _token(1, "K1-2022-0001", "2022-03-01"),
    "added-by-tampering": _token(3, "K3-2023-0003", "2023-01-10"),
}


def _record(directory: Path, batch: str, names: list[str], signer: int = 3) -> None:
    toks = [TOKENS[n] for n in names]
    kid = kid_of(bytes(tokens.key(signer).verify_key))
    rec, leaves = issuance.make_record(ORG, batch, kid, toks)
    target = directory / issuance.DIRECTORY / ORG
    for path in (target / f"{batch}.yaml", target / rec.leaves):
        path.unlink(missing_ok=True)
    issuance.write_record(directory, rec, leaves)


def _publish(
    step: Path, content: bytes, records: Path, role_version: int, day: str, previous: Path | None
) -> None:
    data = json.loads(content)
    delegations = tufrepo.delegations_for(
        (o["id"], [(tufrepo._b64(k["public_key"]), k["status"]) for k in o["keys"]])
        for o in data["organizations"]
    )
    expires = tuf.ROOT_TIME + dt.timedelta(days=365)
    targets = tufrepo.signed_targets(content, {}, 1, tuf.REVIEWERS, expires, delegations)
    files = {
        f"{issuance.DIRECTORY}/{ORG}/{p.name}": p.read_bytes()
        for p in sorted((records / issuance.DIRECTORY / ORG).iterdir())
    }
    role = tufrepo.Metadata(
        tufrepo.Targets(version=role_version, expires=expires, targets=tufrepo._record_targets(files))
    )
    role.sign(tufrepo.signer(RECORD_KEY))
    tufrepo.publish_files(
        step,
        content,
        [tuf.root()],
        targets,
        tuf.ONLINE,
        version(day),
        tuf.PUBLISHED,
        records=files,
        roles={tufrepo.records_role(ORG): role.to_bytes(tufrepo._SERIALIZER)},
        previous=previous,
    )


def write(out: Path = OUT) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    (out / "root.json").write_bytes(tuf.root())
    content = (HERE / "trust.json").read_bytes()
    records = out / ".records"
    _record(records, "2023-01-early", ["recorded"])
    _publish(out / "step-1", content, records, 1, "2023-02-01", None)
    _record(records, "2023-01-late", ["recorded-after-compromise"])
    _publish(out / "step-2", content, records, 2, "2023-07-01", out / "step-1")
    # step 3: whoever holds the online key and vec-org's key rewrites the early record,
    # keeping its publication date (a forged memory of what was published)
    _record(records, "2023-01-early", ["recorded", "added-by-tampering"])
    forged = out / ".forged"
    listed = tufrepo.first_published(out / "step-2")
    early = f"{issuance.DIRECTORY}/{ORG}/2023-01-early.yaml"
    listed[early] = {**listed[early], "sha256": hashlib.sha256((records / early).read_bytes()).hexdigest()}
    snapshot = tufrepo.Metadata(tufrepo.Snapshot(version=1, expires=tuf.PUBLISHED))
    snapshot.signed.unrecognized_fields[tufrepo.FIRST_PUBLISHED] = listed
    tufrepo.write_metadata(snapshot, forged / tufrepo.META_DIR / "snapshot.json")
    _publish(out / "step-3", content, records, 3, "2023-08-01", forged)
    shutil.rmtree(records)
    shutil.rmtree(forged)

    def check(name: str, after: int, status: str, failing: list[str], record: str | None) -> dict[str, Any]:
        raw = TOKENS[name]
        return {
            "name": name,
            "after_step": after,
            "token_hex": raw.hex(),
            "token_sha256": hashlib.sha256(raw).hexdigest(),
            "url_digits": to_digits(raw),
            "expected": {"status": status, "failing_checks": failing, "record": record},
        }

    case = {
        "description": "vec-org's key 1 was retired on 2022-06-30 and its key 3 reported compromised as of "
        "2023-06-01. Step 1 (published 2023-02-01) records a key-3 token; step 2 (2023-07-01) records "
        "another, after the compromise; step 3 (2023-08-01) rewrites the first record.",
        "pinned_root": "root.json",
        "now": NOW,
        "steps": ["step-1", "step-2", "step-3"],
        "checks": [
            check("recorded", 2, "valid", [], "2023-01-early"),
            check("unrecorded-retired-key", 2, "invalid", ["key.retired"], None),
            check("recorded-after-compromise", 2, "invalid", ["key.not_compromised"], "2023-01-late"),
            check("recorded", 3, "invalid", ["key.not_compromised"], None),  # the tampered record
        ],
        "record_problems_after_step_3": [
            "issuance/vec-org/2023-01-early.yaml: refused: it changed since this verifier first saw it "
            "(published 2023-02-01 08:00:00+08:00); a record never changes"
        ],
    }
    (out / "case.json").write_text(json.dumps(case, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return case


if __name__ == "__main__":
    write()
    print(f"wrote {OUT}")
