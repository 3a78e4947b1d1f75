"""The README's measured gate tables are what ``python -m benchmarks.readme_tables`` renders from
the reports it keeps: a hand-edited or stale table fails here."""

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("readme_tables", REPO / "benchmarks" / "readme_tables.py")
readme_tables = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readme_tables)

README = (REPO / "README.md").read_text(encoding="utf-8")
BLOCKS = [m.group("name") for m in readme_tables.BLOCK.finditer(README)]


def test_every_session_has_its_block_in_the_readme():
    assert sorted(BLOCKS) == sorted(readme_tables.SESSIONS)


def test_the_readme_tables_are_the_kept_reports_rendered():
    assert readme_tables.rendered_readme(README) == README, (
        "README's measured tables differ from benchmarks/results/readme/: "
        "run python -m benchmarks.readme_tables --render (or measure again)")


@pytest.mark.parametrize("name", sorted(readme_tables.SESSIONS))
def test_each_table_states_what_it_was_measured_with(name):
    doc = json.loads((readme_tables.KEPT / f"{name}.json").read_text())
    block = readme_tables.RENDER[name](doc)
    versions = doc["versions"]
    for fact in (f"torch {versions['torch']}", f"transformers {versions['transformers']}",
                 f"Python {versions['python']}", doc["measured_with"]["machine"]["git_commit"][:7],
                 doc["measured_with"]["command"]):
        assert fact in block.splitlines()[0]


def test_an_edited_table_is_caught():
    name = BLOCKS[0]
    start = README.index(f"<!-- measured:{name} -->")
    edited = README[:start] + README[start:].replace("|", "| 9.999 ", 1)
    assert readme_tables.rendered_readme(edited) != edited
