"""Open data from one declaration (xcert.site.schemas): each entity's JSON and schema, and each
CSV's header, rows and schema, agree for every kind; a field added to a declaration reaches
all of them with no other edit."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import FIXTURE_REGISTRY

from xcert.load import load_registry
from xcert.model import Registry
from xcert.site import opendata, schemas
from xcert.trust import build_trust_list, stamp_for

HOSTILE = Path(__file__).parent / "fixtures" / "hostile-registry"


def _registry(path: Path) -> Registry:
    result = load_registry(path)
    assert result.registry is not None
    return result.registry


def _write(reg: Registry, out: Path) -> Path:
    opendata.write_open_data(reg, stamp_for(FIXTURE_REGISTRY), out, build_trust_list(reg))
    return out / "data"


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _schema(data: Path, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((data / "schema" / name).read_text(encoding="utf-8"))
    return schema


@pytest.mark.parametrize("registry", [FIXTURE_REGISTRY, HOSTILE], ids=["fixture", "hostile"])
def test_header_rows_and_schema_agree_for_every_kind(registry: Path, tmp_path: Path) -> None:
    data = _write(_registry(registry), tmp_path)
    for kind in schemas.CSV:
        header = schemas.csv_header(kind)
        rows = _csv(data / f"{kind}.csv")
        assert (data / f"{kind}.csv").read_bytes().decode("utf-8-sig").split("\r\n", 1)[0] == ",".join(header)
        schema = _schema(data, f"{kind}.csv.schema.json")
        assert sorted(schema["properties"]) == sorted(header) and schema["required"] == sorted(header)
        for row in rows:
            assert None not in row and list(row) == header  # every row has every column, no more
            jsonschema.validate(row, schema)
    for kind, fields in schemas.ENTITY_FIELDS.items():
        schema = _schema(data, f"{kind}.schema.json")
        assert sorted(schema["properties"][kind]["properties"]) == sorted(f.name for f in fields)
        files = sorted((data / f"{kind}s").glob("*.json"))
        assert files, kind
        for path in files:
            jsonschema.validate(json.loads(path.read_text(encoding="utf-8")), schema)
    jsonschema.validate(
        json.loads((data / "registry.json").read_text(encoding="utf-8")),
        _schema(data, "registry.schema.json"),
    )


def test_a_field_added_to_the_declaration_is_published_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One edit (the declaration) puts a new field into the entity files, registry.json, the
    CSV header and every row, and all the schemas."""
    fields = [*schemas.CERTIFICATE_FIELDS, schemas.Field("shout", schemas.STR, lambda c: c.code.upper())]
    columns = [*schemas.CSV["certificates"], ("shout", lambda c: c.code.upper())]
    monkeypatch.setitem(schemas.ENTITY_FIELDS, "certificate", fields)
    monkeypatch.setitem(schemas.CSV, "certificates", columns)
    reg = _registry(FIXTURE_REGISTRY)
    data = _write(reg, tmp_path)

    rows = _csv(data / "certificates.csv")
    assert [r["shout"] for r in rows] == [code.upper() for code in sorted(reg.certificates)]
    assert "shout" in _schema(data, "certificates.csv.schema.json")["required"]
    one = _schema(data, "certificate.schema.json")
    assert one["properties"]["certificate"]["properties"]["shout"] == schemas.STR
    for code in reg.certificates:
        item = json.loads((data / "certificates" / f"{code}.json").read_text(encoding="utf-8"))
        assert item["certificate"]["shout"] == code.upper()
        jsonschema.validate(item, one)
    whole = json.loads((data / "registry.json").read_text(encoding="utf-8"))
    assert {c["shout"] for c in whole["certificates"]} == {c.upper() for c in reg.certificates}
    jsonschema.validate(whole, _schema(data, "registry.schema.json"))


def test_the_schema_refuses_what_the_declaration_does_not_publish(tmp_path: Path) -> None:
    """The derived schemas are closed: an undeclared field, or a missing one, fails (so the
    agreement tests above can fail)."""
    data = _write(_registry(FIXTURE_REGISTRY), tmp_path)
    schema = _schema(data, "certificate.schema.json")
    path = next((data / "certificates").glob("*.json"))
    item = json.loads(path.read_text(encoding="utf-8"))
    item["certificate"]["undeclared"] = 1
    with pytest.raises(jsonschema.ValidationError, match="undeclared"):
        jsonschema.validate(item, schema)
    del item["certificate"]["undeclared"], item["certificate"]["field"]
    with pytest.raises(jsonschema.ValidationError, match="'field' is a required property"):
        jsonschema.validate(item, schema)
    row = _csv(data / "certificates.csv")[0]
    del row["levels"]
    with pytest.raises(jsonschema.ValidationError, match="'levels' is a required property"):
        jsonschema.validate(row, _schema(data, "certificates.csv.schema.json"))


def test_no_import_cycle_between_opendata_and_schemas() -> None:
    source = Path(schemas.__file__).read_text(encoding="utf-8")
    assert "opendata" not in source.split('"""', 2)[2]  # schemas.py imports nothing of opendata
