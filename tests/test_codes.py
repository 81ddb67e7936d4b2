"""Official code formats."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from xcert import codes

USCC_BODY = st.text(alphabet=codes.USCC_CHARSET, min_size=17, max_size=17)


@given(USCC_BODY)
def test_a_code_with_its_check_character_is_accepted(body: str) -> None:
    assert codes.uscc_problem(body + codes.uscc_check_char(body)) is None


@given(USCC_BODY, st.integers(0, 16), st.sampled_from(codes.USCC_CHARSET))
def test_any_single_character_change_is_caught(body: str, pos: int, char: str) -> None:
    good = body + codes.uscc_check_char(body)
    bad = good[:pos] + char + good[pos + 1 :]
    if bad != good:
        assert codes.uscc_problem(bad) is not None


def test_published_example_code() -> None:
    # The example in GB 32100-2015 annex: 91350100M000100Y43.
    assert codes.uscc_problem("91350100M000100Y43") is None
    assert "expected '3'" in (codes.uscc_problem("91350100M000100Y42") or "")
    assert codes.uscc_problem("91110000600037341L") is None  # another widely quoted code


def test_public_keys() -> None:
    assert codes.public_key_problem(codes.encode_b64url(bytes(32))) is None
    assert "private key" in (codes.public_key_problem(codes.encode_b64url(bytes(64))) or "")
    assert "base64url" in (codes.public_key_problem("abc+/=") or "")


def test_every_province_has_two_digits_and_two_names() -> None:
    assert len(codes.PROVINCES) >= 31
    assert all(len(k) == 2 and zh and en for k, (zh, en) in codes.PROVINCES.items())


@given(st.binary(max_size=70))
def test_base64url_round_trip(raw: bytes) -> None:
    text = codes.encode_b64url(raw)
    assert "=" not in text and codes.decode_b64url(text) == raw


KEY = codes.encode_b64url(bytes(range(32)))  # 43 characters, the last carrying 2 unused bits


def test_base64url_one_spelling_only() -> None:
    assert codes.decode_b64url(KEY) == bytes(range(32))
    refused = {
        "padded": KEY + "=",
        "standard alphabet +": "+" + KEY[1:],
        "standard alphabet /": "/" + KEY[1:],
        "space inside": KEY[:20] + " " + KEY[20:],
        "newline at the end": KEY + "\n",
        "non-ASCII digit": KEY[:-2] + "٣" + KEY[-1],
        "unused bits set": KEY[:-1] + chr(ord(KEY[-1]) + 1),  # decodes to the same bytes
        "4n+1 characters": KEY + "A" * 2,
        "not text": b"AAAA",
    }
    assert {why: codes.decode_b64url(text) for why, text in refused.items()} == dict.fromkeys(refused)  # type: ignore[arg-type]  # bytes on purpose
    assert "base64url" in (codes.public_key_problem(KEY[:-1] + chr(ord(KEY[-1]) + 1)) or "")
