"""Token codec: round trips, hardened parsing, and interop with independent COSE code."""

from __future__ import annotations

import contextlib
import hashlib
import re
from dataclasses import replace

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from xcert import token as tk
from xcert.token import Claims, MalformedToken

KEY = SigningKey(bytes(range(32)))
OTHER = SigningKey(bytes(range(1, 33)))
IAT = 1751299200  # 2025-07-01 00:00 +08:00
CLAIMS = Claims(
    version=1,
    certificate="elderly-care",
    level=2,
    serial="2025070100000123",
    holder_name="王小明",
    id_tail="123X",
    issued_at=IAT,
    expires_at=IAT + 3 * 365 * 86400,
    college="4143010827",
)
TOKEN = tk.sign(CLAIMS, KEY)
PUB = bytes(KEY.verify_key)


def cose(protected: object, unprotected: object, payload: object, sig: object) -> bytes:
    """Build a (possibly bad) COSE_Sign1 by hand, signed by KEY over what it holds."""
    if isinstance(protected, dict):
        protected = cbor2.dumps(protected, canonical=True)
    if isinstance(payload, dict):
        payload = cbor2.dumps(payload, canonical=True)
    if sig is None:
        sig = KEY.sign(cbor2.dumps(["Signature1", protected, b"", payload])).signature
    return cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload, sig]), canonical=True)


GOOD_HDR = {1: -8, 4: tk.kid_of(PUB)}
GOOD_BODY = [1, "elderly-care", 2, 2025070100000123, "王小明", "123X"]


# --- round trips ------------------------------------------------------------------------


def test_round_trip_and_signature():
    d = tk.decode(TOKEN)
    assert d.claims == CLAIMS
    assert (d.alg, d.kid) == (-8, hashlib.sha256(PUB).digest()[:8])
    assert tk.verify_signature(d, KEY.verify_key)
    assert tk.verify_signature(d, PUB)
    assert not tk.verify_signature(d, OTHER.verify_key)


def test_layout_is_the_documented_one():
    outer = cbor2.loads(TOKEN)
    assert outer.tag == 18
    protected, unprotected, payload, sig = outer.value
    assert cbor2.loads(protected) == GOOD_HDR and unprotected == {} and len(sig) == 64
    assert cbor2.loads(payload) == {
        6: IAT,
        4: IAT + 3 * 365 * 86400,
        -65537: GOOD_BODY + [4143010827],
    }
    assert payload[:3] == bytes([0xA3, 0x04, 0x1A])  # keys in deterministic order 4, 6, -65537


def test_sign_is_deterministic():
    assert tk.sign(CLAIMS, KEY) == TOKEN


def test_optional_claims_absent_and_text_codes():
    c = replace(CLAIMS, expires_at=None, college="changsha-social-work", serial="Y2019000123")
    d = tk.decode(tk.sign(c, KEY))
    assert d.claims == c
    body = cbor2.loads(d.payload)[-65537]
    assert body[3] == "Y2019000123" and body[6] == "changsha-social-work"
    assert 4 not in cbor2.loads(d.payload)


def test_leading_zero_serial_stays_text():
    c = replace(CLAIMS, serial="0012", college=None)
    assert cbor2.loads(tk.decode(tk.sign(c, KEY)).payload)[-65537][3] == "0012"
    assert tk.decode(tk.sign(c, KEY)).claims == c


def test_typical_token_size():
    c = replace(CLAIMS, expires_at=None)
    assert len(tk.sign(c, KEY)) == 142
    assert len(TOKEN) == 148


def test_kid_of():
    assert tk.kid_of(PUB) == hashlib.sha256(PUB).digest()[:8]
    with pytest.raises(ValueError, match="expected 32 bytes"):
        tk.kid_of(b"x" * 31)


# --- digits and URL ---------------------------------------------------------------------


def test_digits_keep_leading_zero_bytes():
    for raw in (b"\x00", b"\x00\x00\x01", b"\xff" * 5):
        assert tk.from_digits(tk.to_digits(raw)) == raw
    assert tk.to_digits(b"\x00") == "256"


def test_url_and_text_forms():
    url = tk.url_for("https://verify.1x.example.cn/", TOKEN)
    digits = tk.to_digits(TOKEN)
    assert url == "https://verify.1x.example.cn/c/" + digits
    for text in (url, f"  {url}\n", url + "/", url + "?utm=x", url + "#top", digits, TOKEN.hex()):
        assert tk.token_from_text(text) == TOKEN


@given(st.binary(min_size=1, max_size=tk.MAX_TOKEN_BYTES))
def test_digits_round_trip(raw):
    digits = tk.to_digits(raw)
    assert len(digits) <= tk.MAX_DIGITS
    assert tk.from_digits(digits) == raw


@settings(max_examples=300)
@given(st.binary(max_size=600))
def test_decode_arbitrary_bytes_only_raises_malformed(raw):
    with contextlib.suppress(MalformedToken):
        tk.decode(raw)


@settings(max_examples=200)
@given(st.text(max_size=300) | st.text("0123456789", min_size=1, max_size=400))
def test_text_arbitrary_only_raises_malformed(text):
    with contextlib.suppress(MalformedToken):
        tk.decode(tk.token_from_text(text))


@settings(max_examples=200)
@given(st.integers(0, len(TOKEN) - 1), st.integers(1, 255))
def test_bit_flips_never_escape(pos, xor):
    mutated = bytearray(TOKEN)
    mutated[pos] ^= xor
    try:
        d = tk.decode(bytes(mutated))
    except MalformedToken:
        return
    assert not tk.verify_signature(d, KEY.verify_key)


# --- bad inputs, one named case each ----------------------------------------------------

SIG0 = bytes(64)
BAD_TOKENS: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "truncated"),
    "wrong tag": (
        cbor2.dumps(cbor2.CBORTag(98, [b"", {}, b"", SIG0])),
        "expected CBOR tag 18 (COSE_Sign1), got tag 98",
    ),
    "untagged": (cbor2.dumps([b"", {}, b"", SIG0]), "expected CBOR tag 18 (COSE_Sign1), got list"),
    "truncated": (TOKEN[:-1], "truncated"),
    "trailing bytes": (TOKEN + b"\x00", "1 trailing bytes"),
    "three items": (cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b""])), "array of 4"),
    "wrong alg": (
        cose({1: -7, 4: GOOD_HDR[4]}, {}, {6: IAT, -65537: GOOD_BODY}, None),
        "unsupported alg -7",
    ),
    "alg as text": (
        cose({1: "EdDSA", 4: GOOD_HDR[4]}, {}, {6: IAT, -65537: GOOD_BODY}, None),
        "unsupported alg",
    ),
    "short kid": (
        cose({1: -8, 4: b"1234"}, {}, {6: IAT, -65537: GOOD_BODY}, None),
        "kid must be 8 bytes",
    ),
    "extra header": (
        cose({1: -8, 4: GOOD_HDR[4], 3: 0}, {}, {6: IAT, -65537: GOOD_BODY}, None),
        "exactly",
    ),
    "unprotected kid": (
        cose(GOOD_HDR, {4: GOOD_HDR[4]}, {6: IAT, -65537: GOOD_BODY}, None),
        "unprotected header must be an empty map",
    ),
    "short signature": (cose(GOOD_HDR, {}, {6: IAT, -65537: GOOD_BODY}, b"x"), "64 bytes"),
    "detached payload": (
        cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps(GOOD_HDR), {}, None, SIG0])),
        "payload must be byte strings",
    ),
    "float": (cbor2.dumps(cbor2.CBORTag(18, [b"", {}, 1.5, SIG0])), "not deterministic CBOR"),
    "shortest float": (
        cbor2.dumps(cbor2.CBORTag(18, [b"", {}, 1.5, SIG0]), canonical=True),
        "payload must be byte strings",
    ),
    "indefinite array": (
        bytes([0xD2, 0x9F, 0xFF]),
        "not deterministic CBOR (differs from its deterministic encoding at byte 1)",
    ),
    "deep nesting": (bytes([0xD2]) + bytes([0x81]) * 400 + b"\x00", "nesting depth"),
    "nesting cbor2 allows": (bytes([0xD2]) + bytes([0x81]) * 300 + b"\x00", "array of 4"),
    "huge array claim": (bytes([0xD2, 0x9B]) + b"\xff" * 8, "excessive array size"),
    "huge string": (bytes([0xD2, 0x5B]) + b"\xff" * 8, "excessive bytestring size"),
    "non-minimal int": (
        cose(
            GOOD_HDR,
            {},
            bytes([0xA2, 0x06, 0x1B]) + IAT.to_bytes(8, "big") + cbor2.dumps(-65537) + cbor2.dumps(GOOD_BODY),
            None,
        ),
        "claims: not deterministic CBOR",
    ),
    "duplicate claim key": (
        cose(GOOD_HDR, {}, bytes([0xA2, 0x06, 0x01, 0x06, 0x02]), None),
        "not deterministic",
    ),
    "unknown claim": (
        cose(GOOD_HDR, {}, {6: IAT, 99: 1, -65537: GOOD_BODY}, None),
        "unknown claim keys [99]",
    ),
    "missing iat": (cose(GOOD_HDR, {}, {-65537: GOOD_BODY}, None), "missing required claim iat"),
    "missing 1x claim": (cose(GOOD_HDR, {}, {6: IAT}, None), "missing required claim 1+X"),
    "version 2": (
        cose(GOOD_HDR, {}, {6: IAT, -65537: [2, *GOOD_BODY[1:]]}, None),
        "unsupported format version 2",
    ),
    "extra array element": (
        cose(GOOD_HDR, {}, {6: IAT, -65537: [*GOOD_BODY, "c", "x"]}, None),
        "6 or 7 elements",
    ),
    "level 4": (
        cose(GOOD_HDR, {}, {6: IAT, -65537: [1, "elderly-care", 4, *GOOD_BODY[3:]]}, None),
        "level: expected 1, 2 or 3",
    ),
    "iat as text": (
        cose(GOOD_HDR, {}, {6: "2025", -65537: GOOD_BODY}, None),
        "issued_at: expected an integer",
    ),
    "iat past year 9999 (China time)": (
        cose(GOOD_HDR, {}, {6: tk.MAX_TIME + 1, -65537: GOOD_BODY}, None),
        "issued_at",
    ),
    "exp past year 9999 (China time)": (
        cose(GOOD_HDR, {}, {4: tk.MAX_TIME + 1, 6: IAT, -65537: GOOD_BODY}, None),
        "expires_at",
    ),
    "exp before iat": (
        cose(GOOD_HDR, {}, {4: IAT - 1, 6: IAT, -65537: GOOD_BODY}, None),
        "expires_at",
    ),
    "serial digits as text": (
        cose(GOOD_HDR, {}, {6: IAT, -65537: [*GOOD_BODY[:3], "123", *GOOD_BODY[4:]]}, None),
        "must be a CBOR integer",
    ),
    "serial as bytes": (
        cose(GOOD_HDR, {}, {6: IAT, -65537: [*GOOD_BODY[:3], b"1", *GOOD_BODY[4:]]}, None),
        "expected text or integer",
    ),
    "bad id tail": (
        cose(GOOD_HDR, {}, {6: IAT, -65537: [*GOOD_BODY[:5], "12X4"]}, None),
        "id_tail",
    ),
    "claims not a map": (cose(GOOD_HDR, {}, cbor2.dumps([1]), None), "expected a CBOR map"),
    "nested tag in claims": (
        cose(GOOD_HDR, {}, cbor2.dumps({6: cbor2.CBORTag(1, IAT)}), None),
        "claims: not deterministic CBOR",
    ),
    "bad utf-8 name": (
        cose(GOOD_HDR, {}, bytes([0xA1, 0x06, 0x61, 0xFF]), None),
        "claims: not valid CBOR (error decoding unicode string)",
    ),
    "too long": (b"\x00" * (tk.MAX_TOKEN_BYTES + 1), "the limit is 496"),
}


@pytest.mark.parametrize("name", list(BAD_TOKENS))
def test_bad_tokens(name):
    raw, message = BAD_TOKENS[name]
    with pytest.raises(MalformedToken, match=re.escape(message)):
        tk.decode(raw)


BAD_TEXTS: dict[str, tuple[str, str]] = {
    "empty": ("", "expected a verify URL"),
    "letters in digits": ("https://v/c/12a4", "only the characters 0-9"),
    "arabic-indic digits": ("١٢٣", "expected a verify URL"),
    "unicode digits in url": ("https://v/c/١٢٣", "only the characters 0-9"),
    "leading zero": ("0" + tk.to_digits(TOKEN), "leading zero"),
    "no sentinel": (str(int.from_bytes(b"\x02" + TOKEN, "big")), "sentinel"),
    "too many digits": ("9" * 1201, "1201 digits, the limit is 1200"),
    "huge text": ("1" * 5000, "the limit is 4096"),
    "odd hex": ("d28", "expected a verify URL"),
    "empty path": ("https://verify.1x.example.cn/c/", "only the characters"),
}


@pytest.mark.parametrize("name", list(BAD_TEXTS))
def test_bad_texts(name):
    text, message = BAD_TEXTS[name]
    with pytest.raises(MalformedToken, match=re.escape(message)):
        tk.token_from_text(text)


def test_malformed_wraps_once():
    with pytest.raises(MalformedToken) as info:
        tk.decode(cose(GOOD_HDR, {}, bytes([0xA1, 0x06, 0x61, 0xFF]), None))
    assert not isinstance(info.value.__cause__, MalformedToken)
    assert isinstance(info.value, ValueError)


# --- one encoding per token: what the deterministic re-encoding refuses -----------------
# Each case is signed by KEY over exactly its bytes (the signature would verify) and each
# altered item still decodes with plain cbor2: only the codec's own checks refuse it.

HDR = cbor2.dumps(GOOD_HDR, canonical=True)
BODY = cbor2.dumps(GOOD_BODY)
IAT_CBOR = cbor2.dumps(IAT)
KEY_1X = cbor2.dumps(-65537)
KID = tk.kid_of(PUB)


def claims_map(*pairs: bytes) -> bytes:
    """A claims map from already-encoded key and value bytes, in the order given."""
    return bytes([0xA0 + len(pairs) // 2]) + b"".join(pairs)


def indefinite(encoded: bytes) -> bytes:
    """The same array, map or text with an indefinite length (a 1-byte definite head)."""
    return bytes([encoded[0] | 0x1F]) + encoded[1:] + b"\xff"


NAME = cbor2.dumps("王小明")  # 9 bytes of UTF-8: head 0x69
NON_CANONICAL: dict[str, tuple[bytes, bytes | None, str]] = {  # name: (protected, payload, message)
    "indefinite claims map": (
        HDR,
        indefinite(claims_map(b"\x06", IAT_CBOR, KEY_1X, BODY)),
        "claims: not deterministic CBOR (differs from its deterministic encoding at byte 0)",
    ),
    "indefinite 1+X array": (
        HDR,
        claims_map(b"\x06", IAT_CBOR, KEY_1X, indefinite(BODY)),
        "claims: not deterministic CBOR (differs from its deterministic encoding at byte 12)",
    ),
    "indefinite text": (
        HDR,
        claims_map(b"\x06", IAT_CBOR, KEY_1X, BODY.replace(NAME, b"\x7f" + NAME + b"\xff")),
        "claims: not deterministic CBOR",
    ),
    "indefinite header map": (indefinite(HDR), None, "protected header: not deterministic CBOR"),
    "non-shortest integer": (
        HDR,
        claims_map(b"\x06", b"\x1b" + IAT.to_bytes(8, "big"), KEY_1X, BODY),
        "claims: not deterministic CBOR (differs from its deterministic encoding at byte 2)",
    ),
    "non-shortest text length": (
        HDR,
        claims_map(b"\x06", IAT_CBOR, KEY_1X, BODY.replace(NAME, b"\x78\x09" + NAME[1:])),
        "claims: not deterministic CBOR",
    ),
    "non-shortest kid length": (
        b"\xa2\x01\x27\x04\x58\x08" + KID,
        None,
        "protected header: not deterministic CBOR (differs from its deterministic encoding at byte 4)",
    ),
    "unsorted claim keys": (
        HDR,
        claims_map(KEY_1X, BODY, b"\x06", IAT_CBOR),
        "claims: not deterministic CBOR (differs from its deterministic encoding at byte 1)",
    ),
    "unsorted header keys": (
        b"\xa2\x04\x48" + KID + b"\x01\x27",
        None,
        "protected header: not deterministic CBOR (differs from its deterministic encoding at byte 1)",
    ),
    "duplicate header key": (
        b"\xa3\x01\x27\x01\x27\x04\x48" + KID,
        None,
        "protected header: not deterministic CBOR",
    ),
    "trailing bytes in claims": (
        HDR,
        claims_map(b"\x06", IAT_CBOR, KEY_1X, BODY) + b"\x00",
        "claims: 1 trailing bytes after the CBOR item",
    ),
    "trailing bytes in header": (HDR + b"\xf6\xf6", None, "protected header: 2 trailing bytes"),
    "float header key equal to 1": (
        cbor2.dumps({1.0: -8, 4: KID}, canonical=True),
        None,
        "protected header: expected exactly {1: alg, 4: kid}",
    ),
    "boolean header key equal to 1": (
        b"\xa2\x04\x48" + KID + b"\xf5\x27",
        None,
        "protected header: expected exactly {1: alg, 4: kid}",
    ),
    "float claim key equal to 6": (
        HDR,
        cbor2.dumps({6.0: IAT, -65537: GOOD_BODY}, canonical=True),
        "claims: unknown claim keys [6.0]",
    ),
}


@pytest.mark.parametrize("name", list(NON_CANONICAL))
def test_non_canonical_encodings_are_refused(name):
    protected, payload, message = NON_CANONICAL[name]
    payload = claims_map(b"\x06", IAT_CBOR, KEY_1X, BODY) if payload is None else payload
    cbor2.loads(protected)  # plain cbor2 takes both parts: the codec's own checks refuse them
    cbor2.loads(payload)
    raw = cose(protected, {}, payload, None)
    with pytest.raises(MalformedToken, match=re.escape(message)):
        tk.decode(raw)


def test_the_untouched_parts_of_those_cases_are_canonical():
    """The cases above alter one thing: the same parts, canonical, decode and verify."""
    d = tk.decode(cose(HDR, {}, claims_map(b"\x06", IAT_CBOR, KEY_1X, BODY), None))
    assert tk.verify_signature(d, KEY.verify_key)


def test_indefinite_outer_array_is_refused():
    canonical = cose(GOOD_HDR, {}, {6: IAT, -65537: GOOD_BODY}, None)
    assert canonical[1] == 0x84  # tag 18, then the 4-item array head
    raw = canonical[:1] + b"\x9f" + canonical[2:] + b"\xff"
    with pytest.raises(MalformedToken, match=re.escape("token: not deterministic CBOR")):
        tk.decode(raw)


@pytest.mark.parametrize(
    "value",
    [
        cbor2.CBORTag(5, [10**300, 3]),  # bigfloat: decimal.Overflow inside cbor2
        cbor2.CBORTag(4, [10**300, 3]),  # decimal fraction: OverflowError
        cbor2.CBORTag(30, [1, 0]),  # rational with a zero denominator
        cbor2.CBORTag(36, "MIME-Version: 1.0\n\nx"),  # decodes to an email message
        cbor2.CBORTag(258, [1, 2]),  # a set: round-trips, and is no claim value
    ],
)
def test_semantic_tags_leave_as_malformed(value):
    with pytest.raises(MalformedToken, match="^claims: "):
        tk.decode(cose(GOOD_HDR, {}, cbor2.dumps({6: value, -65537: GOOD_BODY}, canonical=True), None))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xff", "token: CBOR the token format does not use"),  # a stray break byte
        (bytes.fromhex("c5821b7fffffffffffffff01"), "token: CBOR the token format does not use (Overflow)"),
        (b"\x1c", "token: not valid CBOR ("),  # a reserved additional-information value
    ],
)
def test_cbor_the_format_does_not_use_is_said_plainly(raw: bytes, message: str) -> None:
    """Not cbor2's internals ("cannot serialize type <class 'break_marker_type'>")."""
    with pytest.raises(MalformedToken) as caught:
        tk.decode(raw)
    assert str(caught.value).startswith(message), caught.value


CBOR_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.binary(max_size=12)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.integers(-3, 8) | st.text(max_size=2), inner, max_size=3)
        | st.builds(
            cbor2.CBORTag,
            st.sampled_from([0, 1, 2, 3, 4, 5, 18, 25, 28, 29, 30, 35, 36, 37, 256, 258, 260, 261, 55799]),
            inner,
        )
    ),
    max_leaves=8,
)


@settings(max_examples=300)
@given(CBOR_VALUES, st.booleans())
def test_any_cbor_in_header_or_claims_only_raises_malformed(value, in_header):
    """Whatever cbor2's tag decoders make of a well-formed item, only MalformedToken leaves."""
    try:
        encoded = cbor2.dumps(value, canonical=True)
    except (cbor2.CBOREncodeError, ValueError):
        return  # not encodable as given (e.g. an invalid tag content for cbor2's encoder)
    protected, payload = (encoded, {6: IAT, -65537: GOOD_BODY}) if in_header else (GOOD_HDR, encoded)
    with contextlib.suppress(MalformedToken):
        tk.decode(cose(protected, {}, payload, None))


# --- claims validation and ID numbers ---------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("version", 2, "version: expected format version 1"),
        ("certificate", "Elderly Care", "certificate: expected a slug"),
        ("level", True, "level: expected 1, 2 or 3"),
        ("serial", "", "serial"),
        ("holder_name", " 王小明", "holder_name"),
        ("holder_name", "e\u0301", "holder_name"),  # not NFC
        ("id_tail", "123x", "id_tail"),
        ("issued_at", 1.5, "issued_at"),
        ("expires_at", IAT, "expires_at"),
        ("college", "", "college"),
    ],
)
def test_claims_validation(field, value, message):
    with pytest.raises(ValueError, match=message):
        replace(CLAIMS, **{field: value})


def test_sign_refuses_oversized_token():
    big = replace(CLAIMS, holder_name="名" * 64, certificate="a" * 64, college="c" * 64)
    token = tk.sign(replace(big, serial="s" * 40), KEY)  # still under the limit
    assert len(token) <= tk.MAX_TOKEN_BYTES
    assert tk.decode(token).claims.holder_name == "名" * 64


def test_id_tail():
    assert tk.id_tail("11010519491231002X") == "002X"
    assert tk.id_tail(" 11010519491231002x ") == "002X"
    with pytest.raises(ValueError, match="check character is 1, expected X"):
        tk.id_tail("110105194912310021")
    with pytest.raises(ValueError, match="expected 17 digits"):
        tk.id_tail("1101051949123100")


# --- interop with independent COSE implementations --------------------------------------


def test_pycose_verifies_our_token():
    from pycose.keys import OKPKey
    from pycose.keys.curves import Ed25519
    from pycose.messages import Sign1Message

    msg = Sign1Message.decode(TOKEN)
    msg.key = OKPKey(crv=Ed25519, x=PUB)
    assert msg.verify_signature()
    assert cbor2.loads(msg.payload)[-65537][1] == "elderly-care"


def test_cwt_verifies_our_token():
    import cwt
    from cwt import COSEKey

    # COSE_Key: kty OKP, crv Ed25519, x, alg EdDSA, kid
    key = COSEKey.new({1: 1, -1: 6, -2: PUB, 3: -8, 2: tk.kid_of(PUB)})
    no_exp = tk.sign(replace(CLAIMS, expires_at=None), KEY)  # cwt checks exp against now
    claims = cwt.decode(no_exp, key)
    assert claims[6] == IAT and claims[-65537][4] == "王小明"


def test_we_verify_a_pycose_token():
    from pycose.headers import KID, Algorithm
    from pycose.keys import OKPKey
    from pycose.keys.curves import Ed25519
    from pycose.messages import Sign1Message

    msg = Sign1Message(phdr={Algorithm: -8, KID: tk.kid_of(PUB)}, payload=tk.encode_claims(CLAIMS))
    msg.key = OKPKey(crv=Ed25519, d=bytes(KEY), x=PUB)
    foreign = msg.encode(tag=True)
    d = tk.decode(foreign)
    assert d.claims == CLAIMS
    assert tk.verify_signature(d, PUB)


# --- the spec page's worked example -----------------------------------------------------


def test_spec_example_matches_the_code():
    from pathlib import Path

    from xcert import keys

    root = Path(__file__).resolve().parent.parent
    doc = (root / "docs" / "token-format.md").read_text(encoding="utf-8")

    def block(kind: str) -> str:
        found = re.search(rf"```{kind}\n(.*?)\n```", doc, re.S)
        assert found is not None, kind
        return found.group(1).strip()

    sandbox = keys.read_private_key(root / "sandbox" / "sandbox-TEST-ONLY.key")
    assert keys.public_key_b64url(sandbox) in doc and sandbox.kid.hex() in doc
    claims = replace(CLAIMS, expires_at=None)
    token = tk.sign(claims, sandbox.signing_key)
    assert block("cose-token") == token.hex()
    assert block("cbor-payload") == tk.encode_claims(claims).hex()
    assert block("verify-url") == tk.url_for("https://verify.1x.example.cn", token)
    assert tk.verify_signature(tk.decode(tk.token_from_text(block("verify-url"))), sandbox.public_key)


def test_decoding_in_threads_gives_each_thread_its_own_encoder():
    """The per-thread encoder (token._dumps) never mixes two threads' bytes."""
    from concurrent.futures import ThreadPoolExecutor

    tokens = [
        tk.sign(replace(CLAIMS, serial=f"S{i}", holder_name="王" * (1 + i % 30)), KEY) for i in range(400)
    ]
    expected = [tk.decode(t) for t in tokens]
    with ThreadPoolExecutor(8) as pool:
        for _ in range(5):
            assert list(pool.map(tk.decode, tokens)) == expected
