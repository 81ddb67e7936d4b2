"""Positioned, bounded YAML loading."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcert.yamlsrc import MAX_BYTES, YamlError, YList, YMap, load_file, load_text


def test_values_keep_their_positions() -> None:
    doc = load_text("a: 1\nb:\n  - x\n  - {c: 2019-04-10}\n", "f.yaml")
    assert isinstance(doc, YMap) and isinstance(doc["b"], YList)
    assert (doc.key_loc("b").line, doc.value_loc("a").col) == (2, 4)
    assert doc["b"].item_loc(1).line == 4
    assert str(doc["b"][1].value_loc("c")) == "f.yaml:4:9"


def test_front_matter_lines_are_shifted() -> None:
    doc = load_text("x: 1\n", "n.md", first_line=2)
    assert doc.key_loc("x").line == 2


def test_billion_laughs_is_refused_fast() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    start = time.perf_counter()
    with pytest.raises(YamlError, match="anchors"):
        load_text("\n".join(lines), "bomb.yaml")
    assert time.perf_counter() - start < 1.0


def test_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(100 * 1024 * 1024)  # sparse: 100 MB without writing it
    start = time.perf_counter()
    with pytest.raises(YamlError, match="limited to"):
        load_file(big, "big.yaml")
    assert time.perf_counter() - start < 1.0
    assert big.stat().st_size > MAX_BYTES


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(YamlError, match="nesting"):
        load_text("[" * 5000 + "]" * 5000, "deep.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("!!python/object/apply:os.system ['true']", "tag"),
        ("a: 1\na: 2\n", "duplicate key 'a'"),
        ("<<: {a: 1}\n", "merge keys"),
        ("? [a]\n: 1\n", "plain scalars"),
        ("a: [1, 2\n", "invalid YAML"),
        ("a: !custom 1\n", "tag"),
    ],
)
def test_refused_constructs(text: str, message: str) -> None:
    with pytest.raises(YamlError, match=message):
        load_text(text, "x.yaml")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_gives_a_value_or_a_located_error(text: str) -> None:
    try:
        load_text(text, "fuzz.yaml")
    except YamlError as e:
        assert e.loc.path == "fuzz.yaml" and e.loc.line >= 1
