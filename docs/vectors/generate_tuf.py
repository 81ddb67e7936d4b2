"""Generate the signed-trust-list test vectors: ``python docs/vectors/generate_tuf.py``.

Writes ``docs/vectors/tuf/root.json`` (the root every case pins) and one directory per
case: ``case.json`` and the publications (``step-N/keys.json`` with ``step-N/tuf/``) a
verifier fetches in order into one state directory. Format: docs/trust-list-format.md.
Deterministic: fixed TEST keys and times (Ed25519 signs deterministically), so running it
again gives the same bytes (tests/test_vectors.py checks). Valid metadata expires in 2098.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

HERE = Path(__file__).resolve().parent
OUT = HERE / "tuf"
sys.path.insert(0, str(HERE.parent.parent))

from xcert import tufrepo  # noqa: E402
from xcert.keys import PrivateKey  # noqa: E402

ROOT_TIME = dt.datetime(2097, 12, 1, tzinfo=dt.UTC)  # roots and targets expire a year later
PUBLISHED = dt.datetime(2098, 6, 1, tzinfo=dt.UTC)  # snapshot and timestamp: 3 days later
EXPIRED = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def key(name: str) -> PrivateKey:
    """A TEST key with a published seed: never use it for anything real."""
    return PrivateKey(name, SigningKey(f"xcert-tuf-vector-{name}".encode().ljust(32, b".")))


ROOT_KEY, NEW_ROOT_KEY = key("root-1"), key("root-2")
REVIEWERS = [key("reviewer-1"), key("reviewer-2")]
OUTSIDER = key("outsider")
ONLINE = key("timestamp")


def root(
    version: int = 1, root_key: PrivateKey = ROOT_KEY, sign_with: list[PrivateKey] | None = None
) -> bytes:
    md = tufrepo.new_root(
        [root_key], 1, REVIEWERS, 2, ONLINE, version=version, now=ROOT_TIME, sign_with=sign_with or []
    )
    return md.to_bytes(tufrepo._SERIALIZER)


def publish(
    out: Path,
    *,
    content: bytes,
    roots: list[bytes],
    targets_version: int = 1,
    version: int = 1,
    reviewers: list[PrivateKey] | None = None,
    now: dt.datetime = PUBLISHED,
) -> None:
    expires = ROOT_TIME + dt.timedelta(days=365)
    targets = tufrepo.signed_targets(
        content, {}, targets_version, REVIEWERS if reviewers is None else reviewers, expires
    )
    tufrepo.publish_files(out, content, roots, targets, ONLINE, version, now)


def build() -> dict[str, Any]:
    """Every case: name → (description, steps [(publisher, expected, root_version)])."""
    content = (HERE / "trust.json").read_bytes()
    revoked = json.loads(content)
    revoked["organizations"][0]["revocations"].append(
        {"serial": "VEC-ROLLBACK-1", "date": "2098-05-01", "reason": "测试 test", "certificate": None}
    )
    content_v2 = json.dumps(revoked, ensure_ascii=False, sort_keys=True, indent=1).encode() + b"\n"
    r1 = root()
    r2 = root(2, NEW_ROOT_KEY, sign_with=[ROOT_KEY])

    def tampered(out: Path) -> None:
        publish(out, content=content, roots=[r1])
        (out / "keys.json").write_bytes(content.replace(b'"vec-org"', b'"vec-0rg"'))

    return {
        "valid-chain": ("Root 1, targets signed by both reviewers (2 of 2).", [
            (lambda out: publish(out, content=content, roots=[r1]), "accept", 1),
        ]),
        "tampered-keys-json": ("keys.json changed after signing: its hash no longer matches.", [
            (tampered, "refuse", None),
        ]),
        "rollback": ("Version 2 (with a revocation) is seen first; version 1, validly signed, comes back.", [
            (lambda out: publish(out, content=content_v2, roots=[r1], targets_version=2, version=2),
             "accept", 1),
            (lambda out: publish(out, content=content, roots=[r1]), "refuse", None),
        ]),
        "expired-timestamp": ("Everything signed properly, but the timestamp expired in 2020.", [
            (lambda out: publish(out, content=content, roots=[r1], now=EXPIRED), "refuse", None),
        ]),
        "below-threshold-targets": ("Targets signed by one reviewer and one outsider: 1 of 2 valid.", [
            (lambda out: publish(out, content=content, roots=[r1], reviewers=[REVIEWERS[0], OUTSIDER]),
             "refuse", None),
        ]),
        "root-rotation": ("Root 2 names a new root key, signed by the old and the new one; pinned root 1.", [
            (lambda out: publish(out, content=content, roots=[r1, r2]), "accept", 2),
        ]),
    }  # fmt: skip


def write(out: Path = OUT) -> list[str]:
    """Write every case under `out` (emptied first); return the case names."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    (out / "root.json").write_bytes(root())
    names = []
    for name, (description, steps) in build().items():
        case_steps = []
        for number, (publisher, expected, root_version) in enumerate(steps, start=1):
            publisher(out / name / f"step-{number}")
            case_steps.append({"dir": f"step-{number}", "expected": expected, "root_version": root_version})
        case = {"name": name, "description": description, "pinned_root": "../root.json", "steps": case_steps}
        (out / name / "case.json").write_text(json.dumps(case, indent=1) + "\n", encoding="utf-8")
        names.append(name)
    return names


if __name__ == "__main__":
    print(f"wrote {len(write())} cases to {OUT}")
