"""``dataset="fmt:path"``: which prefixes are formats, which suite reads which, what a file was read as."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_compress.errors import DatasetError
from pytest_compress.registry import Registry
from pytest_compress.suites.formats import FORMAT_MODULES, describe, reader_for, split_format

DATA = Path(__file__).resolve().parents[2] / "pytest_compress" / "data"


@pytest.mark.parametrize("dataset, expected", [
    ("bfcl:dir/BFCL_v4_simple_python.json", ("bfcl", "dir/BFCL_v4_simple_python.json")),
    ("decodingtrust:x.jsonl", ("decodingtrust", "x.jsonl")),
    ("cases.jsonl", (None, "cases.jsonl")),
    ("C:\\data\\cases.jsonl", (None, "C:\\data\\cases.jsonl")),  # a drive letter is no format
    ("./a:b.jsonl", (None, "./a:b.jsonl")),
])
def test_split_format(dataset, expected):
    assert split_format(dataset) == expected


def test_an_unknown_format_names_the_known_ones():
    with pytest.raises(DatasetError, match="unknown format 'bfc'. Did you mean 'bfcl'.*Known formats: bfcl, "):
        split_format("bfc:cases.json")


@given(st.sampled_from(sorted(FORMAT_MODULES)), st.text(min_size=1, max_size=20).filter(lambda t: "\x00" not in t))
def test_every_known_prefix_splits_off_exactly(fmt, path):
    assert split_format(f"{fmt}:{path}") == (fmt, path)


def test_a_suite_that_does_not_read_a_format_names_those_that_do():
    with pytest.raises(DatasetError, match=r"suite 'tool_use' does not read 'bfcl' files; the suites that do: "
                                           r"bfcl \(e.g. @compress_task\('bfcl', dataset='bfcl:PATH'\)\)"):
        reader_for("bfcl", "tool_use")


def test_describe_says_what_a_file_was_read_as():
    assert describe("cases.jsonl", "tool_use", []) is None
    bfcl = DATA / "bfcl" / "BFCL_v4_parallel.json"
    assert describe(f"bfcl:{bfcl}", "bfcl", [{}] * 3) == f"{bfcl}: read as bfcl, 3 cases used"
    stereotype = DATA / "decodingtrust" / "stereotype" / "dataset" / "stereotype_bias_data.jsonl"
    line = describe(f"decodingtrust:{stereotype}", "trust.stereotype", [])
    assert line.startswith(f"{stereotype}: DecodingTrust stereotype, ") and " cases (benign " in line


def test_a_registry_takes_a_reimported_class_but_refuses_a_clash():
    registry = Registry("suite", {})

    def make(module):
        return type("Thing", (), {"__module__": module})

    registry.register("thing")(make("pkg.things"))
    again = registry.register("thing")(make("pkg.things"))  # the module imported a second time
    assert registry.load("thing") is again
    with pytest.raises(ValueError, match="suite 'thing' is registered twice"):
        registry.register("thing")(make("pkg.other"))
