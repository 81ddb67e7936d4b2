"""`build.py import`: the official list shapes, read from real CSV and XLSX files in
tests/fixtures/import/ (made by make_fixtures.py in the shape of the attachments), imported
into a copy of the test registry."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURE_REGISTRY, registry_at
from hypothesis import given
from hypothesis import strategies as st

import build
from xcert import names, tables
from xcert.diff import Side, compare
from xcert.importer import ImportFailed, Outcome, run_import
from xcert.load import load_registry
from xcert.schema import SLUG

LISTS = Path(__file__).parent / "fixtures" / "import"
ROOT = Path(__file__).resolve().parent.parent
DAY = dt.date(2020, 12, 31)
SOURCE = "教职所〔2020〕000号（测试）"


def snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def batch4(reg: Path, name: str = "batch4.xlsx", **kw: Any) -> Outcome:
    return run_import(reg, LISTS / name, "certificates", source=SOURCE, date=DAY, batch=4, **kw)


def problems(excinfo: pytest.ExceptionInfo[ImportFailed]) -> list[str]:
    return excinfo.value.lines()


# ---------------------------------------------------------------- certificate batch lists


@pytest.mark.parametrize("name", ["batch4.xlsx", "batch4.csv"])
def test_a_batch_list_creates_organizations_and_certificates(reg: Path, name: str) -> None:
    outcome = batch4(reg, name)
    assert sorted(outcome.files) == [
        "certificates/disability-care.yaml",
        "certificates/home-care.yaml",
        "certificates/warehouse-management-wms.yaml",
        "organizations/beijing-ceshi-zhaohu-keji.yaml",
    ]
    assert (reg / "organizations/beijing-ceshi-zhaohu-keji.yaml").read_text(encoding="utf-8") == (
        "# yaml-language-server: $schema=../../schema/organization.schema.json\n"
        "id: beijing-ceshi-zhaohu-keji\n"
        "name: {zh: 北京测试照护科技有限公司}\n"
        "kind: 企业\n"
        'province: "11"\n'
        "status:\n"
        "  - {status: approved, since: 2020-12-31, batch: 4}\n"
        "sources:\n"
        "  - 教职所〔2020〕000号（测试）\n"
    )
    certs = registry_at(reg).certificates
    # merged organization cell (XLSX) / empty cell under it (CSV) → the same owner
    assert certs["disability-care"].organization == "beijing-ceshi-zhaohu-keji"
    assert certs["disability-care"].levels == (2, 3)  # 中级-高级 is a range
    assert certs["home-care"].levels == (1, 2, 3)
    # an existing organization matched by name; full-width letters stored as ASCII
    wms = certs["warehouse-management-wms"]
    assert (wms.organization, wms.name.zh, wms.field, wms.batch) == (
        "logi-org",
        "仓储管理（WMS）",
        "logistics",
        4,
    )
    for cert in ("disability-care", "home-care", "warehouse-management-wms"):
        assert certs[cert].sources == (SOURCE,)
    assert outcome.plan.skipped == [
        f"{LISTS.joinpath(name).name}{':名单' if name.endswith('xlsx') else ''}:R{r}" for r in (8, 9)
    ]


def test_importing_twice_changes_nothing(reg: Path) -> None:
    batch4(reg, "batch4.xlsx")
    before = snapshot(reg)
    again = batch4(reg, "batch4.csv")  # the same list, saved the other way
    assert (again.files, again.written) == ({}, False)
    assert snapshot(reg) == before
    assert "No change" in again.diff_markdown or "no change" in again.diff_markdown.lower()


def test_a_conflict_is_reported_with_both_places_and_nothing_is_written(reg: Path) -> None:
    before = snapshot(reg)
    with pytest.raises(ImportFailed) as excinfo:
        run_import(reg, LISTS / "conflict.csv", "certificates", source=SOURCE, date=DAY, batch=1)
    cert_file = str(reg / "certificates")
    lines = [line.replace(cert_file, "C") for line in problems(excinfo)]
    import os

    lines = [line.replace(os.path.relpath(cert_file), "C") for line in lines]
    assert lines == [
        "conflict.csv:R2C2: conflict: certificate '老年照护' (old-care)"
        " has organization 'care-org' in the registry "
        "(C/old-care.yaml:4:15), the list says 'logi-org'; the registry"
        " is left as it is: correct whichever is wrong",
        "conflict.csv:R3C2: conflict: certificate '物流管理' (logistics) has levels [1, 2] in the registry "
        "(C/logistics.yaml:6:9), the list says [1, 2, 3]; the registry"
        " is left as it is: correct whichever is wrong",
    ]
    assert snapshot(reg) == before


def test_limited_company_and_limited_liability_company_are_told_apart(reg: Path, tmp_path: Path) -> None:
    batch4(reg)  # creates 北京测试照护科技有限公司
    before = snapshot(reg)
    with pytest.raises(ImportFailed) as excinfo:
        batch4(reg, "near-miss.csv")
    [message] = problems(excinfo)
    assert message.startswith(
        "near-miss.csv:R2C3: '北京测试照护科技有限责任公司' is not in"
        " the registry, but '北京测试照护科技有限公司' "
        "(beijing-ceshi-zhaohu-keji) differs only in its legal form (有限责任公司 vs 有限公司)"
    )
    assert snapshot(reg) == before
    # a person decides: another company, with its own id
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "organizations:\n  北京测试照护科技有限责任公司: {id: ceshi-zhaohu-llc}\n", encoding="utf-8"
    )
    outcome = batch4(reg, "near-miss.csv", mapping_path=mapping)
    assert "organizations/ceshi-zhaohu-llc.yaml" in outcome.files
    # …or the same one: matched, nothing new for the organization
    reg2 = tmp_path / "second"
    shutil.copytree(FIXTURE_REGISTRY, reg2)
    batch4(reg2)
    mapping.write_text(
        "organizations:\n  北京测试照护科技有限责任公司: {id: beijing-ceshi-zhaohu-keji}\n", encoding="utf-8"
    )
    outcome = batch4(reg2, "near-miss.csv", mapping_path=mapping)
    assert sorted(outcome.files) == ["certificates/community-care.yaml"]


def test_the_mapping_file_overrides_ids_and_columns(reg: Path, tmp_path: Path) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "header_row: 4\n"
        "columns: {en: 英文名称}\n"
        "organizations:\n"
        '  北京测试照护科技有限公司: {id: test-care-co, en: "Beijing Test Care Co., Ltd."}\n'
        "certificates:\n"
        "  居家照护: {code: home-care-2020}\n"
        "  仓储管理(WMS): {code: wms}\n",  # matched by normalised name (brackets, width)
        encoding="utf-8",
    )
    outcome = batch4(reg, mapping_path=mapping)
    assert sorted(outcome.files) == [
        "certificates/disability-care.yaml",
        "certificates/home-care-2020.yaml",
        "certificates/wms.yaml",
        "organizations/test-care-co.yaml",
    ]
    assert (
        "name: {zh: 北京测试照护科技有限公司, en: Beijing Test Care Co., Ltd.}"
        not in outcome.files["organizations/test-care-co.yaml"]
    )  # a comma needs quotes in a flow mapping
    assert registry_at(reg).organizations["test-care-co"].name.en == "Beijing Test Care Co., Ltd."


def test_a_bad_mapping_file_is_located(reg: Path, tmp_path: Path) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text("organizations:\n  某公司: {kind: 公司}\ncolumn: {}\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as excinfo:
        batch4(reg, mapping_path=mapping)
    assert problems(excinfo) == [
        f"{mapping}:2:15: organizations.某公司.kind: '公司' is not"
        f" one of 企业, 行业协会, 研究机构, 事业单位, 民办非企业单位",
        f"{mapping}:3:1: column: unknown key; did you mean 'columns'?",
    ]


def test_a_new_organization_whose_name_tells_no_province_is_asked_for(reg: Path, tmp_path: Path) -> None:
    rows = (
        "证书名称,英文名称,培训评价组织名称,所属领域\n社区照护,Community Care,济南测试照护服务中心,养老服务\n"
    )
    (tmp_path / "list.csv").write_text(rows, encoding="utf-8")
    with pytest.raises(ImportFailed) as excinfo:
        run_import(reg, tmp_path / "list.csv", "certificates", source=SOURCE, date=DAY, batch=4)
    [message] = problems(excinfo)
    assert message.startswith(
        "list.csv:R2C3: new organization '济南测试照护服务中心': its name does not tell its kind and province"
    )


# ---------------------------------------------------------------- pilot and site lists


def test_a_pilot_list_in_gb18030_adds_pilots_and_keeps_the_file_as_written(reg: Path) -> None:
    colleges = reg / "colleges/43.yaml"
    original = colleges.read_text(encoding="utf-8").replace(
        "    pilots:\n", "    pilots:  # hand-written comment stays\n"
    )
    colleges.write_text(original, encoding="utf-8")
    outcome = run_import(reg, LISTS / "pilots.csv", "pilots", source=SOURCE, date=dt.date(2021, 9, 1))
    assert sorted(outcome.files) == ["colleges/43.yaml", "colleges/44.yaml"]
    text = colleges.read_text(encoding="utf-8")
    # only insertions: every original line is still there, in order
    it = iter(text.splitlines())
    assert all(line in it for line in original.splitlines())
    assert "      - {certificate: logistics, levels: [1], since: 2021-09-01}\n" in text
    assert f"    sources:\n      - {SOURCE}\n" in text
    reg_after = load_registry(reg).registry
    assert reg_after is not None
    new = {c.name.zh: c for c in reg_after.colleges.values() if c.province == "44"}
    assert new["示例测试职业技术学院"].code == "4144000001"
    assert new["测试第二职业学院"].code is None  # a missing school code stays missing
    assert new["测试第二职业学院"].pilots[0].levels == (1, 2)  # 初级至中级
    assert new["测试第二职业学院"].sources == (SOURCE,)
    again = run_import(reg, LISTS / "pilots.csv", "pilots", source=SOURCE, date=dt.date(2021, 9, 1))
    assert again.files == {}


def test_a_pilot_list_xlsx_with_merged_cells_and_level_columns(reg: Path) -> None:
    outcome = run_import(reg, LISTS / "pilots.xlsx", "pilots", source=SOURCE, date=dt.date(2021, 9, 1))
    assert outcome.plan.skipped == ["pilots.xlsx:Sheet1:R7"]
    college = registry_at(reg).colleges["test-care-college"]
    assert [(p.certificate, p.levels, p.since.isoformat()) for p in college.pilots][-1] == (
        "logistics",
        (1,),
        "2021-09-01",
    )
    new = registry_at(reg).colleges["shili-ceshi-zhiye-jishu-xueyuan"]
    assert (new.province, new.pilots[0].levels) == ("44", (1, 2))


def test_a_pilot_before_the_registry_starts_it_is_a_conflict(reg: Path) -> None:
    with pytest.raises(ImportFailed) as excinfo:
        run_import(reg, LISTS / "pilots.csv", "pilots", source=SOURCE, date=dt.date(2019, 6, 17))
    [message] = problems(excinfo)
    assert re.fullmatch(
        r"pilots.csv:R3C4: conflict: the pilot of logistics at test-care-college has since 2019-09-01 in the "
        r"registry \(.*colleges/43.yaml:10:9\), the list says 2019-06-17; .*",
        message,
    )


def test_a_site_list_adds_sites_at_colleges_and_sites_of_their_own(reg: Path) -> None:
    outcome = run_import(reg, LISTS / "sites.csv", "sites", source=SOURCE, date=dt.date(2020, 9, 1))
    assert sorted(outcome.files) == ["colleges/43.yaml"]
    registry = load_registry(reg).registry
    assert registry is not None
    host = registry.colleges["test-care-college"]
    assert [(s.certificate, s.levels, s.status) for s in host.sites] == [
        ("old-care", (1, 2), "active"),  # already there: matched
        ("logistics", (1,), "active"),
    ]
    site = registry.colleges["changsha-ceshi-yanglao-fuwu-zhongxin-kaohe-zhan"]
    assert (site.kind, site.code, site.pilots) == ("考核站点", None, ())
    assert [(s.certificate, s.levels) for s in site.sites] == [("old-care", (1, 2))]


def test_bad_rows_are_located_and_all_reported(reg: Path) -> None:
    before = snapshot(reg)
    with pytest.raises(ImportFailed) as excinfo:
        run_import(reg, LISTS / "bad-rows.csv", "pilots", source=SOURCE, date=DAY)
    lines = [re.sub(r" \(\S*colleges/43.yaml:\d+:\d+\)", "", line) for line in problems(excinfo)]
    assert lines == [
        "bad-rows.csv:R2C3: a school code (学校标识码) is 10 digits, got '12345'",
        "bad-rows.csv:R2C4: conflict: the pilot of old-care at test-care-college has levels [1, 2, 3] in the "
        "registry, the list says [1]; the registry is left as it is: correct whichever is wrong",
        "bad-rows.csv:R3C1: '火星省' is not a province name or code",
        "bad-rows.csv:R4C5: '特级' names no level (初级 / 中级 / 高级, or 1-3)",
        "bad-rows.csv:R5C4: certificate '老年照顾' is not in the registry; did you mean '老年照护'?",
        "bad-rows.csv:R6C3: school code 4144000002 does not carry province 43 in digits 3-4",
        "bad-rows.csv:R6C5: certificate logistics has no level 3 (it has [1, 2])",
    ]
    assert snapshot(reg) == before


def test_a_list_without_the_needed_columns_says_which(reg: Path) -> None:
    with pytest.raises(ImportFailed) as excinfo:
        batch4(reg, "bad-rows.csv")
    [message] = problems(excinfo)
    assert message.startswith("bad-rows.csv:R1: the header row here lacks organization; columns needed:")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04 not a zip", "broken.xlsx: is not a readable .xlsx workbook"),
        (b"", "broken.xlsx: is not a readable .xlsx workbook"),
    ],
)
def test_a_broken_workbook_is_a_clear_error(reg: Path, tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "broken.xlsx").write_bytes(content)
    with pytest.raises(ImportFailed) as excinfo:
        run_import(reg, tmp_path / "broken.xlsx", "pilots", source=SOURCE, date=DAY)
    assert problems(excinfo)[0].startswith(message)


def test_an_unknown_sheet_names_the_sheets(reg: Path, tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("sheet: 第二页\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as excinfo:
        batch4(reg, mapping_path=tmp_path / "m.yaml")
    assert problems(excinfo) == ["batch4.xlsx: has no sheet '第二页' (it has: 名单)"]


# ---------------------------------------------------------------- dry run and CLI


def test_dry_run_prints_the_diff_markdown_and_writes_nothing(reg: Path, tmp_path: Path) -> None:
    before_copy = tmp_path / "before"
    shutil.copytree(reg, before_copy)
    dry = batch4(reg, dry_run=True)
    assert not dry.written and snapshot(reg) == snapshot(before_copy)
    batch4(reg)
    # the same renderer as `build.py diff`, over the registry before and after the real import
    expected = compare(
        Side("registry", load_registry(before_copy)), Side("after importing batch4.xlsx", load_registry(reg))
    )
    assert dry.diff_markdown.replace(str(reg), "R") == expected.replace(str(reg), "R")
    assert "**Certificate added**: certificate `home-care` 居家照护" in dry.diff_markdown


def test_build_py_import(reg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["import", "certificates", str(LISTS / "batch4.csv"), "--registry", str(reg)]
    args += ["--source", SOURCE, "--date", "2020-12-31", "--batch", "4", "--dry-run"]
    assert build.main(args) == 0
    out, err = capsys.readouterr()
    assert out.startswith("<!-- xcert-registry-diff -->")
    assert err.endswith("import ok: nothing written (dry run)\n")
    # a batch the document does not give stays unknown; --date-bound says how exact the date is
    assert build.main([*args[:-3], "--dry-run", "--date-bound", "not-after"]) == 0
    out = capsys.readouterr().out
    assert (
        "approved (since no later than 2020-12-31)" in out
        and "batch" not in out.split("Organization added")[1]
    )
    assert (
        build.main(
            [
                "import",
                "pilots",
                str(LISTS / "bad-rows.csv"),
                "--registry",
                str(reg),
                "--source",
                "x",
                "--date",
                "2020-12-31",
            ]
        )
        == 1
    )
    assert capsys.readouterr().err.endswith("import FAILED: 7 problem(s); nothing was written\n")


# ---------------------------------------------------------------- names


def test_normalise_folds_width_brackets_and_spaces_only() -> None:
    assert names.normalise("建筑信息模型（ＢＩＭ）") == names.normalise("建筑信息模型(BIM)")
    assert (
        names.normalise("【测试】中心") == names.normalise("(测试)中心") == names.normalise("〔测试〕 中心")
    )
    assert names.normalise("Web 前端开发") == names.normalise("WEB前端开发")
    assert names.normalise("某某有限公司") != names.normalise("某某有限责任公司")
    assert names.legal_form("某某股份有限公司") == ("某某", "股份有限公司")
    assert names.legal_form("某某有限责任公司") == ("某某", "有限责任公司")


HALF = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20)
CJK = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF), min_size=1, max_size=10)


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if 0x21 <= ord(c) <= 0x7E else c for c in text)


@given(st.text(max_size=30))
def test_normalise_is_idempotent(text: str) -> None:
    assert names.normalise(names.normalise(text)) == names.normalise(text)


@given(CJK, HALF, CJK)
def test_full_width_and_half_width_forms_match(a: str, ascii_part: str, b: str) -> None:
    assert names.normalise(a + ascii_part + b) == names.normalise(a + full_width(ascii_part) + b)


@given(CJK, CJK, st.sampled_from(["（{}）", "({})", "【{}】", "〔{}〕", "[{}]"]))
def test_bracket_shapes_match(a: str, inner: str, shape: str) -> None:
    assert names.normalise(a + shape.format(inner)) == names.normalise(f"{a}({inner})")


@given(CJK)
def test_limited_and_limited_liability_never_match(stem: str) -> None:
    assert names.normalise(stem + "有限公司") != names.normalise(stem + "有限责任公司")
    assert names.legal_form(stem + "有限公司")[0] == names.legal_form(stem + "有限责任公司")[0]


@given(st.text(max_size=80))
def test_slugs_are_valid_ids(text: str) -> None:
    slug = names.slugify(text)
    assert slug == "" or (re.fullmatch(SLUG, slug) and len(slug) <= names.MAX_SLUG)


def test_slugs_are_readable_pinyin() -> None:
    assert names.organization_slug("北京中福长者文化科技有限公司") == "beijing-zhongfu-zhangzhe-wenhua-keji"
    assert names.slugify("长沙民政职业技术学院") == "changsha-minzheng-zhiye-jishu-xueyuan"
    assert names.slugify("Web Front-End Development") == "web-front-end-development"
    taken = {"a", "a-2"}
    assert names.unique_slug("a", taken) == "a-3" and "a-3" in taken


@pytest.mark.parametrize(
    ("text", "levels"),
    [("初级、中级、高级", [1, 2, 3]), ("初/中/高", [1, 2, 3]), ("1,2", [1, 2]), ("初级-高级", [1, 2, 3]),
     ("中级至高级", [2, 3]), ("高级", [3]), ("特级", None), ("初级 二级", None)],
)  # fmt: skip
def test_level_cells(text: str, levels: list[int] | None) -> None:
    assert tables.parse_levels(text) == levels


@pytest.mark.parametrize(
    ("text", "batch"),
    [
        ("4", 4),
        ("第四批", 4),
        ("第4批", 4),
        ("第十二批", 12),
        ("二十", 20),
        ("第一", 1),
        ("四月", None),
        ("", None),
    ],
)
def test_batch_cells(text: str, batch: int | None) -> None:
    assert tables.parse_batch(text) == batch


def test_province_cells() -> None:
    cells = ("湖南省", "湖南", "43", "广西壮族自治区", "广西", "Hunan", "火星")
    assert [names.province_code(t) for t in cells] == [
        "43", "43", "43", "45", "45", "43", None,
    ]  # fmt: skip
    assert names.province_in_name("中船舰客教育科技（北京）有限公司") == "11"
    assert names.province_in_name("济南阳光大姐服务有限责任公司") is None  # a city: ask


# ---------------------------------------------------------------- the CONTRIBUTING.md recipe

GUIDE = ROOT / "CONTRIBUTING.md"


def recipe() -> tuple[list[list[str]], dict[str, str]]:
    """The recipe's commands and mapping files, as CONTRIBUTING.md writes them."""
    section = (
        GUIDE.read_text(encoding="utf-8").split("## Import an announced list\n", 1)[1].split("\n## ", 1)[0]
    )
    commands = [
        shlex.split(line)
        for block in re.findall(r"^```sh import\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)
        for line in block.splitlines()
    ]
    files = dict(re.findall(r"^```yaml import-map=(\S+)\n(.*?)^```$", section, re.MULTILINE | re.DOTALL))
    return commands, files


def test_the_import_recipe_works_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    commands, files = recipe()
    assert [c[:3] for c in commands] == [["python", "build.py", "import"]] * 2 + [
        ["python", "build.py", "check"]
    ]
    shutil.copytree(ROOT / "registry", tmp_path / "registry")
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    registry = ["--registry", str(tmp_path / "registry")]

    def run(command: list[str]) -> int:
        args = [str(ROOT / a) if a.startswith("tests/") else a for a in command[2:]]
        return build.main([*args, *registry])

    assert run(commands[0]) == 0  # the dry run
    dry = capsys.readouterr()
    assert "**Organization added**: organization `example-logistics-center` 测试物流培训中心" in dry.out
    assert "**Certificate added**: certificate `example-home-care-2020` 居家照护" in dry.out
    assert not (tmp_path / "registry/organizations/example-logistics-center.yaml").exists()
    assert run(commands[1]) == 0
    assert capsys.readouterr().err.endswith("import ok: wrote 5 file(s)\n")
    result = load_registry(tmp_path / "registry")
    assert [p.format() for p in result.errors if "trust" not in p.message] == []
    code = run(commands[2])  # check: clean, but for signatures a security reviewer adds
    errors = [line for line in capsys.readouterr().out.splitlines() if ": error: " in line]
    assert code == 0 or all("sign" in line for line in errors), errors
    assert result.registry is not None
    assert result.registry.certificates["example-home-care-2020"].sources == (
        "第四批职业技能等级证书名单（示例）",
    )
    assert run(commands[1]) == 0  # again: nothing to do
    assert capsys.readouterr().err.endswith("import ok: nothing written\n")
    # without the mapping file, the list stops with located problems and writes nothing
    without = [a for a in commands[1] if a not in ("--map", "import-map.yaml")]
    shutil.rmtree(tmp_path / "registry")
    shutil.copytree(ROOT / "registry", tmp_path / "registry")
    assert run(without) == 1
    expected = "batch4.xlsx:名单:R7C4: new organization '测试物流培训中心': its name does not tell its kind"
    assert expected in capsys.readouterr().err
