"""RFC 9162 Merkle tree hashes: hand-computed trees, and properties over any leaves."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcert import merkle


def h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def L(d: bytes) -> bytes:  # noqa: N802 - the RFC's names
    return h(b"\x00" + d)


def N(a: bytes, b: bytes) -> bytes:  # noqa: N802
    return h(b"\x01" + a + b)


D = [bytes([i]) * 32 for i in range(7)]


def test_hand_computed_trees() -> None:
    assert merkle.tree_hash([]) == h(b"")
    assert merkle.tree_hash(D[:1]) == L(D[0])
    assert merkle.tree_hash(D[:2]) == N(L(D[0]), L(D[1]))
    # n = 3 splits at k = 2: ((0 1) 2), never (0 (1 2))
    assert merkle.tree_hash(D[:3]) == N(N(L(D[0]), L(D[1])), L(D[2]))
    # n = 7 splits at 4, then the right 3 at 2
    left = N(N(L(D[0]), L(D[1])), N(L(D[2]), L(D[3])))
    right = N(N(L(D[4]), L(D[5])), L(D[6]))
    assert merkle.tree_hash(D) == N(left, right)


def test_known_value() -> None:
    """A fixed value, so a change to the hashing (prefix, order) cannot pass unnoticed."""
    assert merkle.tree_hash(D).hex() == "7318881c41fce3c1de3640df8e8c110c93f43f686b74204a9d1ad5b8c71c2047"
    assert merkle.tree_hash([b"a", b"b", b"c"]).hex() == (
        "36642e73c2540ab121e3a6bf9545b0a24982cd830eb13d3cd19de3ce6c021ec1"
    )


def _recursive(d: list[bytes]) -> bytes:
    """The RFC's definition, word for word."""
    if not d:
        return h(b"")
    if len(d) == 1:
        return L(d[0])
    k = 1
    while k * 2 < len(d):
        k *= 2
    return N(_recursive(d[:k]), _recursive(d[k:]))


leaves = st.lists(st.binary(min_size=0, max_size=40), min_size=0, max_size=70)


@settings(max_examples=150, deadline=None)
@given(leaves)
def test_iterative_equals_the_definition(d: list[bytes]) -> None:
    assert merkle.tree_hash(d) == _recursive(d)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=8), min_size=1, max_size=40), st.data())
def test_every_inclusion_proof_verifies_and_only_for_its_leaf(d: list[bytes], data: st.DataObject) -> None:
    root = merkle.tree_hash(d)
    i = data.draw(st.integers(0, len(d) - 1))
    proof = merkle.inclusion_proof(i, d)
    assert merkle.verify_inclusion(i, len(d), d[i], proof, root)
    assert not merkle.verify_inclusion(i, len(d), d[i] + b"x", proof, root)
    if len(d) > 1:
        j = (i + 1) % len(d)
        assert not merkle.verify_inclusion(j, len(d), d[i], proof, root) or d[i] == d[j]
        assert not merkle.verify_inclusion(i, len(d), d[i], proof[:-1], root)


def test_bad_indexes() -> None:
    with pytest.raises(IndexError):
        merkle.inclusion_proof(3, D[:3])
    assert not merkle.verify_inclusion(5, 3, D[0], [], merkle.tree_hash(D[:3]))
