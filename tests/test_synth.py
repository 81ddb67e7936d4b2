"""The synthetic registry generator: deterministic, counted right, safe with its output
directory, and its output passes `check` (small here; quarter scale is marked slow)."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from pathlib import Path

import pytest
import yaml

from xcert import synth

PROVINCES = "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65"
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]  # 3^i mod 31, written out


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("synth") / "small"
    return out, synth.generate(out, "small", seed=7)


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def load(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        text = text.split("---\n")[1]
    return yaml.load(text, Loader=yaml.CSafeLoader)


def test_same_seed_same_bytes(small: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    root, counts = small
    again = synth.generate(tmp_path / "again", "small", seed=7)
    assert again == counts
    assert files(tmp_path / "again") == files(root)
    synth.generate(tmp_path / "other", "small", seed=8)
    assert files(tmp_path / "other") != files(root)


def test_counts_match_files(small: tuple[Path, dict[str, int]]) -> None:
    root, counts = small
    colleges = [c for p in sorted((root / "colleges").glob("*.yaml")) for c in load(p)["colleges"]]
    orgs = [load(p) for p in sorted((root / "organizations").glob("*.yaml"))]
    revoked = [r for p in sorted((root / "revocations").glob("*.yaml")) for r in load(p)["revoked"]]
    assert counts["organizations"] == len(orgs)
    assert counts["keys"] == sum(len(o["keys"]) for o in orgs)
    assert counts["certificates"] == len(list((root / "certificates").glob("*.yaml")))
    assert counts["standards"] == len(list((root / "standards").glob("*.yaml")))
    assert counts["notices"] == len(list((root / "notices").glob("*.md")))
    assert sorted(p.stem for p in (root / "colleges").glob("*.yaml")) == PROVINCES.split()
    assert counts["colleges"] == len(colleges)
    assert counts["pilots"] == sum(len(c["pilots"]) for c in colleges)
    assert counts["sites"] == sum(len(c["sites"]) for c in colleges)
    assert counts["revocations"] == len(revoked)
    assert counts["files"] == len(files(root))
    assert counts["bytes"] == sum(len(b) for b in files(root).values())


def test_output_is_consistent(small: tuple[Path, dict[str, int]]) -> None:
    """The invariants `check` relies on, verified independently of the loader."""
    root, _ = small
    settings = load(root / "registry.yaml")
    assert settings["verify_url"] == "http://127.0.0.1:8001"
    fields = {f["id"] for f in settings["fields"]}
    for path in sorted(root.rglob("*.*")):
        first = path.read_text(encoding="utf-8").splitlines()[1 if path.suffix == ".md" else 0]
        assert first.startswith("# yaml-language-server: $schema="), path

    orgs = {p.stem: load(p) for p in (root / "organizations").glob("*.yaml")}
    for oid, org in orgs.items():
        assert org["id"] == oid and org["example"] is True
        if "uscc" in org:
            u = org["uscc"]
            total = sum(USCC_CHARSET.index(c) * w for c, w in zip(u[:17], USCC_WEIGHTS, strict=True))
            assert u[17] == USCC_CHARSET[(31 - total % 31) % 31], u
        since = [s["since"] for s in org["status"]]
        assert since == sorted(set(since))
        for key in org["keys"]:
            assert key["not_before"] <= key.get("sign_until", dt.date.max)
            if key["status"] == "retired":
                assert key["not_before"] <= key["retired_on"] <= key.get("sign_until", dt.date.max)
            assert ("retired_on" in key) == (key["status"] == "retired")
            assert ("compromised_on" in key) == (key["status"] == "compromised")

    certs = {p.stem: load(p) for p in (root / "certificates").glob("*.yaml")}
    for code, cert in certs.items():
        assert cert["code"] == code and cert["organization"] in orgs and cert["field"] in fields
        assert (root / "standards" / f"{cert['standard']}.yaml").is_file()
        since = [s["since"] for s in cert["status"]]
        assert since == sorted(set(since))

    ids, codes = set(), set()
    for path in (root / "colleges").glob("*.yaml"):
        doc = load(path)
        assert doc["province"] == path.stem
        for college in doc["colleges"]:
            assert college["id"] not in ids
            ids.add(college["id"])
            for text in college["name"].values():
                assert text == unicodedata.normalize("NFC", text).strip()
            if "code" in college:
                assert len(college["code"]) == 10 and college["code"][2:4] == doc["province"]
                assert college["code"] not in codes
                codes.add(college["code"])
            for record in college["pilots"] + college["sites"]:
                cert = certs[record["certificate"]]
                assert set(record["levels"]) <= set(cert["levels"])
                assert record["since"] > cert["status"][0]["since"]
                if "ended" in record:
                    assert record["ended"] > record["since"]

    serials = set()
    for path in (root / "revocations").glob("*.yaml"):
        doc = load(path)
        assert doc["organization"] == path.stem in orgs
        for row in doc["revoked"]:
            assert row["serial"] not in serials
            serials.add(row["serial"])
            if "certificate" in row:
                assert certs[row["certificate"]]["organization"] == path.stem


def test_small_registry_passes_check(small: tuple[Path, dict[str, int]]) -> None:
    load_registry = pytest.importorskip("xcert.load").load_registry
    result = load_registry(small[0])
    assert [p.format() for p in result.problems] == []
    assert result.ok


@pytest.mark.slow
def test_no_example_leaves_only_the_flag_off(small: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    from xcert.load import load_registry
    from xcert.site.pages import View

    root, counts = small
    argv = ["--scale", "small", "--seed", "7", "--no-example", "--out", str(tmp_path / "real")]
    assert synth.main(argv) == 0
    plain, flagged = files(tmp_path / "real"), files(root)
    assert plain.keys() == flagged.keys()
    assert all(b"example: true" not in data for data in plain.values())
    assert {k: synth.EXAMPLE_LINE.sub("", v.decode()) for k, v in flagged.items()} == {
        k: v.decode() for k, v in plain.items()
    }
    result = load_registry(tmp_path / "real")
    assert result.ok and result.registry is not None
    shown = View(result.registry).counts()  # the site counts them now (statistics, charts)
    assert shown["certificates"] == counts["certificates"] and shown["hidden"] == 0
    assert shown["colleges"] > 0 and shown["sites"] > 0


def test_quarter_registry_passes_check(tmp_path: Path) -> None:
    load_registry = pytest.importorskip("xcert.load").load_registry
    counts = synth.generate(tmp_path / "quarter", "quarter", seed=synth.DEFAULT_SEED)
    assert counts["certificates"] == 112 and counts["colleges"] == 2500
    result = load_registry(tmp_path / "quarter")
    assert [p.format() for p in result.problems] == []
    assert result.ok


def test_refuses_non_empty_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(FileExistsError, match="not empty"):
        synth.generate(out, "small", seed=1)
    with pytest.raises(SystemExit) as exc:
        synth.main(["--scale", "small", "--out", str(out)])
    assert exc.value.code == 2
    assert "directory is not empty" in capsys.readouterr().err
    # --force only replaces a registry, never an arbitrary directory.
    with pytest.raises(FileExistsError, match="no registry.yaml"):
        synth.generate(out, "small", seed=1, force=True)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary left over


def test_force_replaces_a_registry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reg"
    assert synth.main(["--scale", "small", "--out", str(out), "--seed", "3"]) == 0
    first = json.loads(capsys.readouterr().out)
    (out / "stale.yaml").write_text("x: 1\n", encoding="utf-8")
    assert synth.main(["--scale", "small", "--out", str(out), "--seed", "3", "--force"]) == 0
    assert {k: v for k, v in json.loads(capsys.readouterr().out).items() if k != "seconds"} == {
        k: v for k, v in first.items() if k != "seconds"
    }
    assert not (out / "stale.yaml").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reg"]


def test_empty_directory_is_fine(tmp_path: Path) -> None:
    assert synth.generate(tmp_path, "small", seed=1)["organizations"] == synth.SCALES["small"].organizations


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "中文名称",
        "（初级）能够完成，包括：A",
        "Co., Ltd.",
        "a: b",
        "x #y",
        "yes",
        "No",
        "null",
        "1.0",
        "007",
        "2019-04-10",
        "-dash",
        "'quoted'",
        'say "hi"',
        " lead",
        "trail ",
        "[x]",
        "{y}",
        "a\nb",
        "tab\there",
        "Xi'an",
        "http://127.0.0.1:8001",
        "",
        "~",
        "@at",
        "`tick`",
        "%pct",
        "!bang",
        "*star",
        "&amp",
        "|pipe",
        ">gt",
        "?q",
        "\u00e9",
        "\u3000全角空格",
    ],
)
def test_dump_yaml_round_trips(value: str) -> None:
    doc = {
        "s": value,
        "flow": {"zh": value, "n": 1, "d": dt.date(2020, 1, 2), "list": [value, 2, True, None]},
        "rows": [{"k": value, "levels": [1, 2]}, {"long": value * 40, "nested": {"x": [value]}}],
        "deep": {"a": {"b": value}},
        "empty": [],
    }
    assert yaml.safe_load(synth.dump_yaml(doc)) == doc
