"""Official code formats: province codes, Unified Social Credit Codes, school codes, keys.

Each checker returns None for a good value or a message saying what is wrong, so the
schema can attach the message to the value's location.
"""

from __future__ import annotations

import base64
import binascii
import re

# GB/T 2260 provincial-level divisions (the first two digits of the code).
PROVINCES: dict[str, tuple[str, str]] = {
    "11": ("北京市", "Beijing"),
    "12": ("天津市", "Tianjin"),
    "13": ("河北省", "Hebei"),
    "14": ("山西省", "Shanxi"),
    "15": ("内蒙古自治区", "Inner Mongolia"),
    "21": ("辽宁省", "Liaoning"),
    "22": ("吉林省", "Jilin"),
    "23": ("黑龙江省", "Heilongjiang"),
    "31": ("上海市", "Shanghai"),
    "32": ("江苏省", "Jiangsu"),
    "33": ("浙江省", "Zhejiang"),
    "34": ("安徽省", "Anhui"),
    "35": ("福建省", "Fujian"),
    "36": ("江西省", "Jiangxi"),
    "37": ("山东省", "Shandong"),
    "41": ("河南省", "Henan"),
    "42": ("湖北省", "Hubei"),
    "43": ("湖南省", "Hunan"),
    "44": ("广东省", "Guangdong"),
    "45": ("广西壮族自治区", "Guangxi"),
    "46": ("海南省", "Hainan"),
    "50": ("重庆市", "Chongqing"),
    "51": ("四川省", "Sichuan"),
    "52": ("贵州省", "Guizhou"),
    "53": ("云南省", "Yunnan"),
    "54": ("西藏自治区", "Tibet"),
    "61": ("陕西省", "Shaanxi"),
    "62": ("甘肃省", "Gansu"),
    "63": ("青海省", "Qinghai"),
    "64": ("宁夏回族自治区", "Ningxia"),
    "65": ("新疆维吾尔自治区", "Xinjiang"),
    "66": ("新疆生产建设兵团", "Xinjiang Production and Construction Corps"),
}

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_SHAPE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def uscc_check_char(first17: str) -> str:
    """GB 32100-2015: weights 3^i mod 31, check = (31 - sum mod 31) mod 31."""
    total = sum(USCC_CHARSET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return USCC_CHARSET[(31 - total % 31) % 31]


def uscc_problem(value: str) -> str | None:
    if len(value) != 18:
        return f"a Unified Social Credit Code has 18 characters, got {len(value)}"
    if not _USCC_SHAPE.fullmatch(value):
        bad = next(c for c in value if c not in USCC_CHARSET)
        return f"character {bad!r} is not allowed in a Unified Social Credit Code"
    if (want := uscc_check_char(value[:17])) != value[17]:
        return f"check character of USCC {value} is {value[17]!r}, expected {want!r}"
    return None


def school_code_problem(value: str) -> str | None:
    if not re.fullmatch(r"[0-9]{10}", value):
        return f"a school code (学校标识码) is 10 digits, got {value!r}"
    return None


def public_key_problem(value: str) -> str | None:
    raw = decode_b64url(value)
    if raw is None:
        return "public_key is not base64url as `xcert keygen` writes it (A-Z a-z 0-9 - _, no padding)"
    if len(raw) != 32:
        hint = " (that looks like private key material!)" if len(raw) == 64 else ""
        return f"an Ed25519 public key is 32 bytes, this one is {len(raw)}{hint}"
    return None


def decode_b64url(value: str) -> bytes | None:
    """The bytes of unpadded base64url text in its one canonical spelling, else None.

    Strict so that each key has one spelling: no padding, no characters outside the
    alphabet (the standard decoder silently drops them), and no non-zero unused bits
    in the last character (``AB`` and ``AA`` would otherwise both decode to ``00``).
    """
    if not isinstance(value, str) or not _B64URL.fullmatch(value):
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):  # a length of 4n + 1 characters
        return None
    return raw if encode_b64url(raw) == value else None


def encode_b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
