"""One way to say a time (issue 18): people read China dates, machines read ISO with Z.

The CLI's sentences (verify's check details and summary, decode) give a registry date as
the date and any other instant in China time with +08:00; the JSON API keeps its
documented UTC `Z` fields. One China time zone, one day_start, one Z formatter.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

from click.testing import CliRunner
from conftest import FIXTURE_REGISTRY, fixture_key

from xcert import cli, issue, model, trust, verify
from xcert.keys import PrivateKey, write_private_key

# An instant written the machine way: 2026-11-19T16:00:00Z, 2026-11-19T16:00Z.
Z_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?Z")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_china_time_says_a_registry_day_as_the_day() -> None:
    assert model.china_time(model.day_start(dt.date(2026, 11, 20))) == "2026-11-20"
    assert model.china_time(dt.datetime(2026, 11, 19, 16, tzinfo=dt.UTC)) == "2026-11-20"
    assert model.china_time(dt.datetime(2026, 11, 19, 4, 30, 5, 999, tzinfo=dt.UTC)) == (
        "2026-11-19 12:30:05+08:00"
    )
    assert model.china_time(1_764_518_400) == "2025-12-01"  # Unix seconds: 2025-12-01 00:00 China
    assert model.utc_z(model.day_start(dt.date(2026, 11, 20))) == "2026-11-19T16:00:00Z"
    assert model.iso_z(model.day_start(dt.date(2026, 11, 20))) == "2026-11-20T00:00:00+08:00"


def test_one_home_for_the_time_rules() -> None:
    """The China time zone, the start of a registry day and the Z formatter are model's;
    the issuer and the trust list use those, not copies."""
    assert issue.CST is model.CST and issue.day_start is model.day_start
    assert trust.day_start is model.day_start and verify.utc_z is model.utc_z
    root = Path(__file__).resolve().parent.parent
    copies = [
        str(path.relative_to(root))
        for folder in ("xcert", "verify_api")
        for path in sorted((root / folder).rglob("*.py"))
        if path.name != "model.py"
        and re.search(r"timedelta\(hours=8\)|replace\(\"\+00:00\", \"Z\"\)", path.read_text(encoding="utf-8"))
    ]
    # issuance.py's and tufclient.py's copies are known (another change is editing them)
    assert set(copies) <= {"xcert/issuance.py", "xcert/tufclient.py"}, copies


def test_cli_says_china_dates_for_a_compromised_key(tmp_path: Path) -> None:
    """A token of care-org's key 2 issued 2024-03-10; the key is then reported compromised
    on 2024-03-20 (00:00 China, 2024-03-19T16:00:00Z). Every sentence `xcert verify` prints
    says China dates; its JSON keeps the API's UTC fields."""
    registry = tmp_path / "registry"
    shutil.copytree(FIXTURE_REGISTRY, registry)
    key = tmp_path / "care.key"
    write_private_key(key, PrivateKey("care-org", fixture_key(2)))
    code, url = run(
        "issue", "--key", str(key), "--certificate", "old-care", "--level", "2",
        "--serial", "2024000000000009", "--name", "王小明", "--id-number", "11010519491231002X",
        "--date", "2024-03-10", "--registry", str(registry),
    )  # fmt: skip
    assert code == 0, url
    url = url.strip().splitlines()[-1]
    org = registry / "organizations" / "care-org.yaml"
    text = org.read_text(encoding="utf-8")
    org.write_text(
        text.replace(
            "    not_before: 2022-06-01\n    status: active\n",
            "    not_before: 2022-06-01\n    status: compromised\n    compromised_on: 2024-03-20\n",
        ),
        encoding="utf-8",
    )
    code, out = run("verify", url, "--registry", str(registry))
    assert code == 1 and out.startswith("INVALID"), out
    assert "key reported compromised on 2024-03-20; no issuance record proves it" in out
    assert "issued 2024-03-10; window from 2022-06-01, open-ended" in out
    assert "issued       2024-03-10   expires 2027-03-10" in out
    assert not Z_INSTANT.search(out), out
    code, out = run("decode", url)
    assert "  issued       2024-03-10 (1710000000)" in out  # 2024-03-10 00:00 China time
    assert not Z_INSTANT.search(out), out
    code, out = run("verify", url, "--registry", str(registry), "--json")
    data = json.loads(out)
    assert data["key"]["compromised_at"] == "2024-03-19T16:00:00Z"  # the API's field, unchanged
    assert data["claims"]["issued_at"] == "2024-03-09T16:00:00Z"
