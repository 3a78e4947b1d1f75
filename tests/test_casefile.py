import json

import pytest

from pytest_compress.errors import CompressUsageError, DatasetError
from pytest_compress.suites.base import Metric, Suite
from pytest_compress.casefile import CaseField, load_cases, schema_lines

FIELDS = (
    CaseField("question", str, "what is asked"),
    CaseField("answer", str, "the gold answer"),
    CaseField("weight", float, "case weight", required=False),
    CaseField("tags", list, "labels", required=False, items=str),
)


def write(tmp_path, *lines):
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def test_valid_file_loads_in_order_with_default_ids(tmp_path):
    path = write(tmp_path, {"question": "q1", "answer": "a"}, "", {"id": "x", "question": "q2", "answer": "b",
                                                                  "weight": 2, "tags": ["t"]})
    cases = load_cases(path, FIELDS, "suite 'demo'")
    assert [c["id"] for c in cases] == ["cases-1", "x"]
    assert cases[1]["weight"] == 2


@pytest.mark.parametrize("line, message", [
    ("{not json", "line 2: not valid JSON"),
    ("[1, 2]", "line 2: expected a JSON object, got list"),
    (json.dumps({"question": "q"}), "line 2: missing field 'answer'"),
    (json.dumps({"question": "q", "answer": 3}), "line 2, field 'answer': expected string, got 3"),
    (json.dumps({"question": "q", "answr": "a", "answer": "a"}), "unknown field 'answr'. Did you mean 'answer'?"),
    (json.dumps({"question": "q", "answer": "a", "weight": True}), "field 'weight': expected number"),
    (json.dumps({"question": "q", "answer": "a", "tags": ["a", 1]}), "field 'tags': expected array of strings"),
    (json.dumps({"id": "cases-1", "question": "q", "answer": "a"}), "id 'cases-1' already used on line 1"),
])
def test_malformed_lines_name_line_and_field(tmp_path, line, message):
    path = write(tmp_path, {"question": "q", "answer": "a"}, line)
    with pytest.raises(DatasetError, match=None) as info:
        load_cases(path, FIELDS, "suite 'demo'")
    assert message in str(info.value)
    assert "cases.jsonl" in str(info.value)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        load_cases(tmp_path / "nope.jsonl", FIELDS, "suite 'demo'")
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(DatasetError, match="holds no cases"):
        load_cases(tmp_path / "empty.jsonl", FIELDS, "suite 'demo'")


def test_schema_lines_describe_every_field():
    lines = schema_lines(FIELDS)
    assert lines[0].startswith("id: string (optional)")
    assert "tags: array of strings (optional)  labels" in lines


class Echo(Suite):
    name = "echo"
    metrics = (Metric("exact"),)
    primary = "exact"
    case_fields = FIELDS[:2]

    def cases(self):
        return [{"id": f"gen-{i}", "question": "q", "answer": "a"} for i in range(self.params["n"])]

    def run(self, engine, cases, reference=None):
        return [{} for _ in cases]

    def score(self, case, output, reference=None):
        return {"exact": 1.0}


def test_suite_uses_the_dataset_and_n_cuts_only_when_given(tmp_path):
    path = write(tmp_path, *({"question": f"q{i}", "answer": "a"} for i in range(5)))
    assert len(Echo(n=3).load_cases()) == 3
    assert len(Echo(dataset=str(path)).load_cases()) == 5
    assert [c["question"] for c in Echo(dataset=str(path), n=2).load_cases()] == ["q0", "q1"]
    assert Echo(dataset=str(path)).describe() != Echo().describe()


def test_suite_without_schema_refuses_a_dataset(tmp_path):
    class NoUserCases(Echo):
        case_fields = ()

    with pytest.raises(CompressUsageError, match="does not take user cases"):
        NoUserCases(dataset="x.jsonl")
