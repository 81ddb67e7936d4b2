"""The committed JSON Schema files: generated from the model, named by every registry file,
and accepting exactly what the registry holds (checked with an independent validator)."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from xcert import schema_gen
from xcert.load import DIRECTORIES, FRONT_MATTER, SCHEMA_COMMENT

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = ROOT / "registry"
FIXTURE = Path(__file__).parent / "fixtures" / "registry"
SCHEMAS = ROOT / "schema"


def registry_files(root: Path) -> list[tuple[Path, str]]:
    files = [(root / "registry.yaml", "registry")]
    for directory, (kind, _) in DIRECTORIES.items():
        files += [(p, kind) for p in sorted((root / directory).glob("*.yaml"))]
    return files


class _EditorLoader(yaml.SafeLoader):
    """YAML as an editor's language server sees it: dates stay strings."""


_EditorLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def as_json(value: Any) -> Any:
    """JSON has string keys only (certificate credits are keyed by level number)."""
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    assert not isinstance(value, dt.date), "dates must stay strings"
    return value


@functools.cache
def validator(kind: str) -> jsonschema.Draft202012Validator:
    schema = yaml.safe_load((SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def editor_view(text: str) -> Any:
    return as_json(yaml.load(text, Loader=_EditorLoader))  # noqa: S506 - a SafeLoader subclass


def test_committed_schema_files_are_generated_from_the_model() -> None:
    assert schema_gen.stale(SCHEMAS) == [], "run `python build.py schema` and commit schema/"


def test_stale_files_are_found_and_rewritten(tmp_path: Path) -> None:
    schema_gen.write(tmp_path)
    assert schema_gen.stale(tmp_path) == []
    (tmp_path / "colleges.schema.json").write_text("{}", encoding="utf-8")
    (tmp_path / "gone.schema.json").write_text("{}", encoding="utf-8")
    (tmp_path / "notice.schema.json").unlink()
    assert schema_gen.stale(tmp_path) == ["colleges.schema.json", "gone.schema.json", "notice.schema.json"]
    assert schema_gen.main(check_only=True, out=tmp_path) == 1
    schema_gen.write(tmp_path)
    assert schema_gen.stale(tmp_path) == []


@pytest.mark.parametrize("root", [REGISTRY, FIXTURE], ids=["registry", "fixture"])
def test_every_registry_yaml_file_names_its_schema_on_the_first_line(root: Path) -> None:
    wrong = []
    for path, kind in registry_files(root):
        first = path.read_text(encoding="utf-8").split("\n", 1)[0]
        m = SCHEMA_COMMENT.fullmatch(first)
        target = (path.parent / m.group(1)).resolve() if m else None
        if target != SCHEMAS / f"{kind}.schema.json":
            wrong.append(f"{path.relative_to(root)}: {first!r}")
    assert wrong == []


def test_every_registry_file_validates_against_its_committed_schema() -> None:
    checked = 0
    for root in (REGISTRY, FIXTURE):
        for path, kind in registry_files(root):
            errors = [e.message for e in validator(kind).iter_errors(editor_view(path.read_text("utf-8")))]
            assert errors == [], path
            checked += 1
        for path in sorted((root / "notices").glob("*.md")):
            front = FRONT_MATTER.match(path.read_text(encoding="utf-8"))
            assert front, path
            assert list(validator("notice").iter_errors(editor_view(front.group(1)))) == [], path
            checked += 1
    assert checked > 40


ORG = (FIXTURE / "organizations" / "care-org.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "expect"),
    [
        ("kind: ", "kinds: ", "Additional properties are not allowed ('kinds' was unexpected)"),
        ('province: "11"', "province: 11", "11 is not of type 'string'"),
        ('province: "11"', 'province: "99"', "'99' is not one of"),
        ("id: care-org", "id: Care_Org", "'Care_Org' does not match"),
        ("not_before: 2019-04-10", "not_before: 2019-04-31", "'2019-04-31' is not a 'date'"),
        ("status: active", "status: lost", "'lost' is not one of ['active', 'retired', 'compromised']"),
    ],
)
def test_broken_files_fail_the_committed_schema(old: str, new: str, expect: str) -> None:
    assert old in ORG
    errors = [e.message for e in validator("organization").iter_errors(editor_view(ORG.replace(old, new, 1)))]
    assert any(expect in e for e in errors), errors
