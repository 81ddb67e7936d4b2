"""Registry entries shown in the documentation are either marked `example: true` or real
(issue 18): a snippet copied as it is must never publish an invented entry as real data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "CONTRIBUTING.md", ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _snippets() -> list[tuple[str, dict[str, object]]]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for n, block in enumerate(re.findall(r"^```yaml[^\n]*\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)):
            try:
                data = yaml.safe_load(block)
            except yaml.YAMLError:
                continue  # a fragment with placeholders: no entry
            if isinstance(data, dict):
                found.append((f"{doc.name} block {n + 1}", data))
    return found


def _entries(data: dict[str, object]) -> list[tuple[str, dict[str, object]]]:
    """(registry folder, entry) for each entry a snippet defines: an organization,
    certificate, standard or notice file, or the colleges of a province's file."""
    colleges = data.get("colleges")
    if isinstance(colleges, list):
        return [("colleges", c) for c in colleges if isinstance(c, dict) and "id" in c]
    if "code" in data and "levels" in data:
        return [("certificates", data)]
    if "id" in data and "certificate" in data and "published" in data:
        return [("standards", data)]
    if "id" in data and "status" in data and "kind" in data:
        return [("organizations", data)]
    return []


def _real(folder: str, entry: dict[str, object]) -> bool:
    registry = ROOT / "registry"
    if folder == "colleges":
        return any(
            f"id: {entry['id']}\n" in p.read_text(encoding="utf-8") for p in registry.glob("colleges/*.yaml")
        )
    ident = entry.get("code") or entry.get("id")
    return (registry / folder / f"{ident}.yaml").exists()


SNIPPETS = _snippets()


def test_the_docs_show_registry_entries() -> None:
    """The check below looks at something: the guide's recipes and the format reference."""
    kinds = {folder for _, data in SNIPPETS for folder, _ in _entries(data)}
    assert kinds >= {"organizations", "certificates", "standards", "colleges"}, kinds


@pytest.mark.parametrize(("where", "data"), SNIPPETS, ids=[w for w, _ in SNIPPETS])
def test_each_entry_is_an_example_or_real(where: str, data: dict[str, object]) -> None:
    for folder, entry in _entries(data):
        ident = entry.get("code") or entry.get("id")
        assert entry.get("example") is True or _real(folder, entry), (
            f"{where}: {folder} entry '{ident}' is not in registry/ and has no `example: true`"
        )


TEST_ID = "11010519491231002X"


def test_the_documented_test_id_number_passes_and_issues_with_the_sandbox_key() -> None:
    """README's `xcert issue` example, run as written (its ID number read from stdin), with
    the documented TEST ID number: it passes the GB 11643 check and yields a TEST certificate."""
    from click.testing import CliRunner

    from xcert import cli
    from xcert.token import id_tail
    from xcert.verify import TEST, verify

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^```sh test-issue\n(.*?)^```$", readme, re.MULTILINE | re.DOTALL)
    assert block
    command = block[1].replace("\\\n", " ")
    assert "**TEST ID number**" in readme and f"`{TEST_ID}`" in readme
    assert f"`{TEST_ID}` is a **TEST ID number**" in readme
    assert TEST_ID in (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    stdin, _, args = command.partition(" | xcert ")
    assert stdin == f"echo {TEST_ID}"
    assert id_tail(TEST_ID) == "002X"
    argv = [a.replace("sandbox/", str(ROOT / "sandbox") + "/") for a in args.split()]
    argv += ["--registry", str(ROOT / "registry")]
    result = CliRunner().invoke(cli.main, argv, input=TEST_ID + "\n", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    url = result.stdout.strip().splitlines()[-1]
    from xcert.trust import trust_list_from_registry

    assert verify(url, trust_list_from_registry(ROOT / "registry")).status == TEST
