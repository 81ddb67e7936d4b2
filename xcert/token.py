"""Certificate token codec: COSE_Sign1 over a CWT claims map, and its digits/URL form.

Layout (spec: docs/token-format.md)::

    18([ bstr .cbor {1: -8, 4: kid8},       ; protected: alg EdDSA, kid
         {},                                ; unprotected: always empty
         bstr .cbor {6: iat, ?4: exp,       ; CWT claims
                     -65537: [version, certificate, level, serial,
                              holder_name, id_tail, ?college]},
         bstr(64) ])                        ; Ed25519 signature

Why one private claim holding an array: CWT keys outside the IANA registry must be
private-use ints below -65536, and each costs 5 bytes; seven separate private claims would
add 29 bytes over one key plus a positional array (~70 digits: a whole QR version).
The array's first element is the format version, so the shape can change later; a
version-1 array has exactly 6 or 7 elements and anything else is rejected.

Serial and college that are canonical decimals (``[1-9][0-9]{0,18}``) are carried as CBOR
unsigned integers (9 bytes instead of 17 for a 16-digit serial) and everything else as
text; the decoder rejects the other spelling, so each claims value has one encoding.

Parsing is one plain cbor2 decode of each CBOR item (the token, its protected header, its
claims), after which the bytes must equal their deterministic re-encoding (RFC 8949 4.2.1):
that one comparison refuses indefinite lengths, non-shortest integers and lengths, unsorted
or duplicate map keys and trailing bytes. cbor2 itself refuses truncation, lengths beyond
the input and nesting deeper than 400; whatever else it decodes that the format never uses
(tags other than the outer 18, floats, simple values, non-integer map keys) fails the type
checks that follow. Every low-level error leaves as one :class:`MalformedToken`.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cbor2
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

FORMAT_VERSION = 1
COSE_SIGN1_TAG = 18
ALG_EDDSA = -8
HDR_ALG, HDR_KID = 1, 4
CLAIM_EXP, CLAIM_IAT = 4, 6
CLAIM_1X = -65537  # first private-use CWT claim key (RFC 8392 section 9.1)
KID_LEN = 8
SIG_LEN = 64
MAX_TOKEN_BYTES = 496  # sign() refuses more; 0x01 + 496 bytes is at most 1,195 digits
MAX_DIGITS = 1200
MAX_TEXT = 4096  # token_from_text input cap (URL, digits or hex)

_CERT_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_SERIAL_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._/-]{0,39}")
_COLLEGE_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,63}")
_TAIL_RE = re.compile(r"[0-9]{3}[0-9X]")
_DECIMAL_RE = re.compile(r"[1-9][0-9]{0,18}")  # fits in a CBOR uint (< 2**64)
_DIGITS_RE = re.compile(r"[0-9]+")
_HEX_RE = re.compile(r"(?:[0-9a-fA-F]{2})+")
_CLAIM_KEYS = frozenset((CLAIM_IAT, CLAIM_EXP, CLAIM_1X))
_MAX_NAME = 64
# The last second China time can write (9999-12-31 23:59:59+08:00): every time a token or
# a record carries must read as a date on a page, and Python's dates end at year 9999.
MAX_TIME = 253_402_271_999


class MalformedToken(ValueError):
    """The token (or its URL/digits form) cannot be parsed as a version-1 certificate token."""


@dataclass(frozen=True)
class Claims:
    """What an organization signs about one certificate (never the full ID number)."""

    version: int
    certificate: str  # certificate type code, registry slug
    level: int  # 1 初级, 2 中级, 3 高级
    serial: str  # unique within the organization
    holder_name: str  # NFC, as printed on the certificate
    id_tail: str  # last 4 characters of the national ID
    issued_at: int  # seconds since the epoch (CWT iat)
    expires_at: int | None = None  # CWT exp
    college: str | None = None  # college / assessment-site code

    def __post_init__(self) -> None:
        def bad(field: str, expected: str, got: object) -> ValueError:
            return ValueError(f"{field}: expected {expected}, got {got!r}")

        if type(self.version) is not int or self.version != FORMAT_VERSION:
            raise bad("version", f"format version {FORMAT_VERSION}", self.version)
        if type(self.certificate) is not str or not _CERT_RE.fullmatch(self.certificate):
            raise bad("certificate", "a slug [a-z0-9-] of 1-64 characters", self.certificate)
        if type(self.level) is not int or self.level not in (1, 2, 3):
            raise bad("level", "1, 2 or 3", self.level)
        if type(self.serial) is not str or not _SERIAL_RE.fullmatch(self.serial):
            raise bad("serial", "1-40 characters [0-9A-Za-z._/-]", self.serial)
        name = self.holder_name
        if (
            type(name) is not str
            or not 0 < len(name) <= _MAX_NAME
            or name != name.strip()
            or not name.isprintable()
            or unicodedata.normalize("NFC", name) != name
        ):
            raise bad("holder_name", "1-64 printable NFC characters, no outer spaces", name)
        if type(self.id_tail) is not str or not _TAIL_RE.fullmatch(self.id_tail):
            raise bad("id_tail", "4 characters: 3 digits then a digit or X", self.id_tail)
        if type(self.issued_at) is not int or not 0 <= self.issued_at <= MAX_TIME:
            raise bad("issued_at", "an integer time in seconds, 0 to 9999-12-31", self.issued_at)
        if self.expires_at is not None and (
            type(self.expires_at) is not int or not self.issued_at < self.expires_at <= MAX_TIME
        ):
            raise bad("expires_at", "None or an integer time after issued_at, to 9999-12-31", self.expires_at)
        if self.college is not None and (
            type(self.college) is not str or not _COLLEGE_RE.fullmatch(self.college)
        ):
            raise bad("college", "None or 1-64 characters [0-9A-Za-z._-]", self.college)


@dataclass(frozen=True)
class DecodedToken:
    """A parsed token. Nothing here is trusted until :func:`verify_signature` says so."""

    token: bytes
    protected: bytes  # the protected header as signed
    alg: int
    kid: bytes
    payload: bytes  # the claims CBOR as signed
    claims: Claims
    signature: bytes
    sig_structure: bytes  # the exact bytes the signature covers (RFC 9052 Sig_structure)


def kid_of(public_key: bytes) -> bytes:
    """Key id: the first 8 bytes of SHA-256 over the raw 32-byte Ed25519 public key."""
    if len(public_key) != 32:
        raise ValueError(f"public key: expected 32 bytes, got {len(public_key)}")
    return hashlib.sha256(bytes(public_key)).digest()[:KID_LEN]


def id_tail(id_number: str) -> str:
    """The last 4 characters of an 18-character national ID after checking it (GB 11643)."""
    s = id_number.strip().upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", s):
        raise ValueError(f"ID number: expected 17 digits and a digit or X, got {len(s)} chars")
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(c) * w for c, w in zip(s, weights, strict=False)) % 11]
    if s[17] != check:
        raise ValueError(f"ID number: check character is {s[17]}, expected {check}")
    return s[14:]


# --- encoding ---------------------------------------------------------------------------


def _pack_code(value: str) -> int | str:
    return int(value) if _DECIMAL_RE.fullmatch(value) else value


def encode_claims(claims: Claims) -> bytes:
    """The deterministic CBOR claims map (the COSE payload)."""
    body: list[object] = [
        claims.version,
        claims.certificate,
        claims.level,
        _pack_code(claims.serial),
        claims.holder_name,
        claims.id_tail,
    ]
    if claims.college is not None:
        body.append(_pack_code(claims.college))
    cwt: dict[int, object] = {CLAIM_IAT: claims.issued_at, CLAIM_1X: body}
    if claims.expires_at is not None:
        cwt[CLAIM_EXP] = claims.expires_at
    return cbor2.dumps(cwt, canonical=True)


_local = threading.local()


def _dumps(value: object) -> bytes:
    """``cbor2.dumps(value, canonical=True)`` through one encoder per thread (the library's
    own `encode_to_bytes`): building a CBOREncoder is most of a small item's cost, about 3 of
    4 µs, and a decode encodes four items (decode 31 -> 21 µs in process; issue 16 §5: the
    verify service's JSON answer costs about 240 µs of CPU where its bar allows about 130)."""
    encoder = getattr(_local, "encoder", None)
    if encoder is None:
        encoder = _local.encoder = cbor2.CBOREncoder(io.BytesIO(), canonical=True)
    return encoder.encode_to_bytes(value)


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return _dumps(["Signature1", protected, b"", payload])  # a list of strings: canonical as is


def sign(claims: Claims, signing_key: SigningKey) -> bytes:
    """Sign ``claims`` into a COSE_Sign1 token (deterministic: same input, same bytes)."""
    kid = kid_of(bytes(signing_key.verify_key))
    protected = cbor2.dumps({HDR_ALG: ALG_EDDSA, HDR_KID: kid}, canonical=True)
    payload = encode_claims(claims)
    signature = signing_key.sign(_sig_structure(protected, payload)).signature
    token = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]), canonical=True)
    if len(token) > MAX_TOKEN_BYTES:
        raise ValueError(f"token: {len(token)} bytes, the limit is {MAX_TOKEN_BYTES}")
    return token


# --- decoding ---------------------------------------------------------------------------


def _is_array(value: object) -> bool:
    """A CBOR array, whatever container the decoder chose (cbor2 6 gives tuples inside tags)."""
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)


def _load(data: bytes, what: str) -> object:
    """One CBOR item, decoded, whose bytes are exactly its deterministic encoding."""
    try:
        value = cbor2.loads(data)
    except cbor2.CBORDecodeEOF as e:
        raise MalformedToken(f"{what}: truncated CBOR ({e})") from e
    except cbor2.CBORDecodeError as e:
        raise MalformedToken(f"{what}: not valid CBOR ({e})") from e
    except Exception as e:  # hostile bytes reach cbor2's tag decoders (decimal, fractions, MIME,
        # regex…), which raise their own errors (decimal.Overflow, OverflowError): all malformed
        raise MalformedToken(f"{what}: CBOR the token format does not use ({type(e).__name__})") from e
    try:
        canonical = _dumps(value)
    except Exception as e:  # decoded to what no encoder writes back, such as a stray break byte
        raise MalformedToken(f"{what}: CBOR the token format does not use") from e
    if canonical != data:
        raise MalformedToken(f"{what}: {_difference(data, canonical)}")
    return value


def _difference(data: bytes, canonical: bytes) -> str:
    """Where the bytes part from their deterministic encoding, in words."""
    if data.startswith(canonical):
        return f"{len(data) - len(canonical)} trailing bytes after the CBOR item"
    at = next((i for i, (a, b) in enumerate(zip(data, canonical, strict=False)) if a != b), len(canonical))
    return f"not deterministic CBOR (differs from its deterministic encoding at byte {at})"


def _unpack_code(value: object, field: str) -> str:
    if type(value) is int:
        if not 0 < value < 10**19:
            raise MalformedToken(f"claims: {field}: integer {value} out of range")
        return str(value)
    if type(value) is str:
        if _DECIMAL_RE.fullmatch(value):
            raise MalformedToken(f"claims: {field}: decimal {value!r} must be a CBOR integer")
        return value
    raise MalformedToken(f"claims: {field}: expected text or integer, got {type(value).__name__}")


def _claims(payload: bytes) -> Claims:
    cwt = _load(payload, "claims")
    if not isinstance(cwt, Mapping):
        raise MalformedToken(f"claims: expected a CBOR map, got {type(cwt).__name__}")
    # a float or boolean key equals an int one in Python (6.0 == 6, True == 1): refused by type
    unknown = sorted((k for k in cwt if type(k) is not int or k not in _CLAIM_KEYS), key=repr)
    if unknown:
        raise MalformedToken(f"claims: unknown claim keys {unknown}")
    for key, name in ((CLAIM_IAT, "iat (6)"), (CLAIM_1X, f"1+X ({CLAIM_1X})")):
        if key not in cwt:
            raise MalformedToken(f"claims: missing required claim {name}")
    body = cwt[CLAIM_1X]
    if not _is_array(body) or not body:
        raise MalformedToken("claims: the 1+X claim must be a non-empty array")
    if body[0] != FORMAT_VERSION or type(body[0]) is not int:
        raise MalformedToken(f"claims: unsupported format version {body[0]!r}")
    if len(body) not in (6, 7):
        raise MalformedToken(f"claims: version 1 array has 6 or 7 elements, got {len(body)}")
    version, certificate, level, serial, name, tail = body[:6]
    try:
        return Claims(
            version=version,
            certificate=certificate,
            level=level,
            serial=_unpack_code(serial, "serial"),
            holder_name=name,
            id_tail=tail,
            issued_at=cwt[CLAIM_IAT],
            expires_at=cwt.get(CLAIM_EXP),
            college=_unpack_code(body[6], "college") if len(body) == 7 else None,
        )
    except ValueError as e:
        if isinstance(e, MalformedToken):
            raise
        raise MalformedToken(f"claims: {e}") from e


def _decode(token: bytes) -> DecodedToken:
    if not isinstance(token, bytes | bytearray | memoryview):
        raise MalformedToken(f"token: expected bytes, got {type(token).__name__}")
    token = bytes(token)
    if len(token) > MAX_TOKEN_BYTES:
        raise MalformedToken(f"token: {len(token)} bytes, the limit is {MAX_TOKEN_BYTES}")
    outer = _load(token, "token")
    if not isinstance(outer, cbor2.CBORTag) or outer.tag != COSE_SIGN1_TAG:
        got = f"tag {outer.tag}" if isinstance(outer, cbor2.CBORTag) else type(outer).__name__
        raise MalformedToken(f"token: expected CBOR tag {COSE_SIGN1_TAG} (COSE_Sign1), got {got}")
    parts = outer.value
    if not _is_array(parts) or len(parts) != 4:
        raise MalformedToken("token: COSE_Sign1 must be an array of 4 items")
    protected, unprotected, payload, signature = parts
    if type(protected) is not bytes or type(payload) is not bytes:
        raise MalformedToken("token: protected header and payload must be byte strings")
    if not isinstance(unprotected, Mapping) or unprotected:
        raise MalformedToken("token: the unprotected header must be an empty map")
    if type(signature) is not bytes or len(signature) != SIG_LEN:
        raise MalformedToken(f"token: signature must be {SIG_LEN} bytes")
    header = _load(protected, "protected header")
    if (
        not isinstance(header, Mapping)
        or set(header) != {HDR_ALG, HDR_KID}
        or any(type(k) is not int for k in header)  # 1.0 and True equal 1 in Python
    ):
        raise MalformedToken("protected header: expected exactly {1: alg, 4: kid}")
    alg, kid = header[HDR_ALG], header[HDR_KID]
    if type(alg) is not int or alg != ALG_EDDSA:
        raise MalformedToken(f"protected header: unsupported alg {alg!r}, expected EdDSA (-8)")
    if type(kid) is not bytes or len(kid) != KID_LEN:
        raise MalformedToken(f"protected header: kid must be {KID_LEN} bytes")
    return DecodedToken(
        token=token,
        protected=protected,
        alg=alg,
        kid=kid,
        payload=payload,
        claims=_claims(payload),
        signature=signature,
        sig_structure=_sig_structure(protected, payload),
    )


def decode(token: bytes) -> DecodedToken:
    """Parse a token WITHOUT verifying it; raises :class:`MalformedToken` on any defect."""
    try:
        return _decode(token)
    except MalformedToken:
        raise
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError) as e:
        raise MalformedToken(f"token: {e}") from e


def verify_signature(decoded: DecodedToken, verify_key: VerifyKey | bytes) -> bool:
    """True iff the Ed25519 signature over the Sig_structure verifies with this key."""
    key = verify_key if isinstance(verify_key, VerifyKey) else VerifyKey(bytes(verify_key))
    try:
        key.verify(decoded.sig_structure, decoded.signature)
    except BadSignatureError:
        return False
    return True


# --- digits and URL form ----------------------------------------------------------------


def to_digits(token: bytes) -> str:
    """Decimal of 0x01 || token: the sentinel keeps leading zero bytes; QR numeric mode."""
    return str(int.from_bytes(b"\x01" + bytes(token), "big"))


def from_digits(digits: str) -> bytes:
    """Inverse of :func:`to_digits`; the length is capped before any big-int work."""
    if not isinstance(digits, str):
        raise MalformedToken(f"digits: expected text, got {type(digits).__name__}")
    if len(digits) > MAX_DIGITS:
        raise MalformedToken(f"digits: {len(digits)} digits, the limit is {MAX_DIGITS}")
    if not _DIGITS_RE.fullmatch(digits):
        raise MalformedToken("digits: expected only the characters 0-9")
    if digits[0] == "0":
        raise MalformedToken("digits: leading zero")
    value = int(digits)
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    if raw[0] != 0x01 or len(raw) < 2:
        raise MalformedToken("digits: missing the 0x01 sentinel byte")
    return raw[1:]


def url_for(verify_url: str, token: bytes) -> str:
    """The QR text: ``{verify_url}/c/{digits}``."""
    return f"{verify_url.rstrip('/')}/c/{to_digits(token)}"


def token_from_text(text: str) -> bytes:
    """Token bytes from a verify URL, a digit string or hex (as support staff paste them)."""
    if not isinstance(text, str):
        raise MalformedToken(f"text: expected a string, got {type(text).__name__}")
    if len(text) > MAX_TEXT:
        raise MalformedToken(f"text: {len(text)} characters, the limit is {MAX_TEXT}")
    s = text.strip()
    if "/c/" in s:
        s = re.split(r"[?#]", s.rsplit("/c/", 1)[1], maxsplit=1)[0].rstrip("/")
        return from_digits(s)
    if _DIGITS_RE.fullmatch(s):
        return from_digits(s)
    if _HEX_RE.fullmatch(s):
        return bytes.fromhex(s)
    raise MalformedToken("text: expected a verify URL (…/c/<digits>), a digit string or hex")
