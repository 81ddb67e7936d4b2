"""QR size of a typical certificate URL: one JSON line on stdout.

Typical: 3-character Chinese name, 16-digit serial, ID tail, 10-digit college code, no
expiry, with the registry's real ``verify_url``. ``version_m_with_exp`` /
``version_q_with_exp`` show the same certificate with a CWT expiry claim.
Bar (issue 4): version_m <= 9, version_q <= 11.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from nacl.signing import SigningKey

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from xcert import qr  # noqa: E402
from xcert.token import Claims, sign, url_for  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VERIFY_URL = "https://verify.1x.example.cn"
CST = timezone(timedelta(hours=8))


def verify_url() -> str:
    path = ROOT / "registry" / "registry.yaml"
    if path.exists():
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if isinstance(data, dict) and isinstance(data.get("verify_url"), str):
            return data["verify_url"]
    return DEFAULT_VERIFY_URL


def main() -> None:
    base = verify_url()
    key = SigningKey(bytes(range(32)))  # the key does not change the size
    issued = int(datetime(2025, 7, 1, tzinfo=CST).timestamp())
    claims = Claims(
        version=1,
        certificate="elderly-care",
        level=2,
        serial="2025070100000123",
        holder_name="王小明",
        id_tail="123X",
        issued_at=issued,
        college="9999000001",
    )
    token = sign(claims, key)
    url = url_for(base, token)
    with_exp = url_for(base, sign(replace(claims, expires_at=issued + 3 * 365 * 86400), key))
    print(
        json.dumps(
            {
                "version_m": qr.encode(url, "M").version,
                "version_q": qr.encode(url, "Q").version,
                "token_bytes": len(token),
                "digits": len(url) - len(base) - 3,
                "verify_url": base,
                "version_m_with_exp": qr.encode(with_exp, "M").version,
                "version_q_with_exp": qr.encode(with_exp, "Q").version,
            }
        )
    )


if __name__ == "__main__":
    main()
