"""The README's measured tables are what ``python -m benchmarks.readme_tables`` renders from
the result files it keeps: a hand-edited or stale table fails here, and so does a table that
does not state the versions and commit it was measured with."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("readme_tables", REPO / "benchmarks" / "readme_tables.py")
readme_tables = importlib.util.module_from_spec(spec)
sys.modules["readme_tables"] = readme_tables  # its dataclasses look their module up there
spec.loader.exec_module(readme_tables)

README = (REPO / "README.md").read_text(encoding="utf-8")
IN_README = [m.group("name") for m in readme_tables.BLOCK.finditer(README)]


def test_every_block_is_in_the_readme_once():
    assert sorted(IN_README) == sorted(readme_tables.BLOCKS)


def test_every_measurement_writes_a_block():
    assert {b.measurement for b in readme_tables.BLOCKS.values()} == set(readme_tables.MEASUREMENTS)


def test_the_readme_tables_are_the_kept_results_rendered():
    assert readme_tables.rendered_readme(README) == README, (
        "README's measured tables differ from the result files they render: "
        "run python -m benchmarks.readme_tables --render (or measure again)")


def _provenance(name: str, doc: dict) -> list[tuple[str, ...]]:
    """What each measurement behind a block was measured with, read from its result file."""
    if name in readme_tables.SESSIONS:
        v, m = doc["versions"], doc["measured_with"]
        return [(f"torch {v['torch']}", f"transformers {v['transformers']}", f"Python {v['python']}",
                 m["machine"]["git_commit"][:7], m["command"])]
    if name == "llmcompressor":
        ours, theirs = ({r["tool"]: r["versions"] for r in doc["runs"]}[t] for t in ("ours", "llmcompressor"))
        return [(f"torch {ours['torch']}", f"transformers {ours['transformers']}",
                 f"llm-compressor {theirs['llmcompressor']}", f"transformers {theirs['transformers']}",
                 doc["machine_at_end"]["git_commit"][:7])]
    if name in ("gate_error_rates", "coverage"):
        m, v = doc["measured_with"]["machine"], doc["measured_with"]["versions"]
        return [(f"Python {v['python']}", f"numpy {v['numpy']}", f"scipy {v['scipy']}", m["git_commit"][:7],
                 doc["measured_with"]["command"])]
    if name == "formats":
        ours, theirs = ({r["tool"]: r["versions"] for r in doc["runs"]}[t] for t in ("ours", "llmcompressor"))
        return [(f"torch {ours['torch']}", f"transformers {ours['transformers']}",
                 f"llm-compressor {theirs['llmcompressor']}", f"compressed-tensors {theirs['compressed_tensors']}",
                 doc["machine"]["git_commit"][:7], doc["command"])]
    runs = [r for r in doc["runs"] if name == "calibration_sources"
            or (r["calibration"]["name"], r["calibration"]["samples"]) == readme_tables.CALIBRATION_RUNS[0][:2]]
    return [(f"torch {r['measured_with']['versions']['torch']}",
             f"transformers {r['measured_with']['versions']['transformers']}",
             f"Python {r['measured_with']['versions']['python']}", r["measured_with"]["machine"]["git_commit"][:7],
             r["measured_with"]["command"]) for r in runs]


@pytest.mark.parametrize("name", sorted(readme_tables.BLOCKS))
def test_each_table_states_what_it_was_measured_with(name):
    block = readme_tables.BLOCKS[name]
    doc = json.loads(block.source.read_text())
    head = block.render(doc).split("\n\n")[0].splitlines()
    assert head and all(line.startswith("Measured 20") for line in head)
    for run in _provenance(name, doc):  # each measurement's facts, on one opening line
        assert any(all(fact in line for fact in run) for line in head), (run, head)


def test_bold_marks_the_best_of_each_family():
    assert readme_tables._family("gptq4") == readme_tables._family("rtn4g128") == "4g128"
    assert readme_tables._family("awq4g64") == "4g64"
    assert readme_tables._family("wanda2:4") == readme_tables._family("sparsegpt2:4") == "2:4"
    assert readme_tables._family("none") is None


def test_an_edited_table_is_caught():
    name = IN_README[0]
    start = README.index(f"<!-- measured:{name} -->")
    edited = README[:start] + README[start:].replace("|", "| 9.999 ", 1)
    assert readme_tables.rendered_readme(edited) != edited
