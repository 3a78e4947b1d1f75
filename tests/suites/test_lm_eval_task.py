"""``lm_eval:<task>`` suites: lm-eval task configs over local JSONL data, run on the tiny model."""

import json
import string
import sys

import pytest
from fakes import FakeEngine

from pytest_compress.engine.requests import ChoiceRequest, GenerationRequest
from pytest_compress.errors import CompressUsageError
from pytest_compress.suites import get_suite, select_suites
from pytest_compress.suites.lm_eval_task import DEFAULT_TASKS_DIR, TASKS_ENV, include_paths, split_pair

SKIP = "pip install lm-eval"

MC_DOCS = [
    {"question": "What colour is the sky?", "choices": ["blue", "green", "bright red"], "label": 0},
    {"question": "How many legs has a cat?", "choices": ["two", "four", "six or seven"], "label": 1},
    {"question": "What is 2 + 2?", "choices": ["three", "five", "four"], "label": 2},
    {"question": "Which tool sets an alarm?", "choices": ["set_alarm", "send_email"], "label": 0},
    {"question": "Which is a fruit?", "choices": ["a stone", "an apple", "a chair"], "label": 1},
    {"question": "Where do fish live?", "choices": ["water", "in the desert sand"], "label": 0},
]
MC_YAML = """\
task: {task}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
output_type: multiple_choice
test_split: test
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: label
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
  - metric: acc_norm
    aggregation: mean
    higher_is_better: true
"""
GEN_YAML = """\
task: {task}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
output_type: generate_until
test_split: test
doc_to_text: "Request: {{{{q}}}}\\nAnswer:"
doc_to_target: "{{{{a}}}}"
generation_kwargs:
  until: ["\\n"]
  max_gen_toks: {max_gen_toks}
  do_sample: {do_sample}
metric_list:
  - metric: {metric}
    aggregation: {aggregation}
    higher_is_better: true
    ignore_case: true
    ignore_punctuation: true
"""
GEN_DOCS = [{"q": "Say yes.", "a": "yes"}, {"q": "Say no.", "a": "no"}, {"q": "Say maybe.", "a": "maybe"}]
TWO_FILTERS = """\
filter_list:
  - name: raw
    filter:
      - function: take_first
  - name: first_word
    filter:
      - function: regex
        regex_pattern: "(\\\\w+)"
      - function: take_first
"""
ROLLING_YAML = """\
task: pc_rolling
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
output_type: loglikelihood_rolling
test_split: test
doc_to_text: ""
doc_to_target: "{{{{q}}}}"
"""


def write_task(directory, name, yaml_text, docs, **fields):
    data = directory / f"{name}.jsonl"
    data.write_text("".join(json.dumps(d) + "\n" for d in docs))
    (directory / f"{name}.yaml").write_text(yaml_text.format(task=name, data=data, **fields))


def gen_fields(**overrides):
    return {"max_gen_toks": 8, "do_sample": "false", "metric": "exact_match", "aggregation": "mean", **overrides}


@pytest.fixture(scope="module")
def lm_eval():
    return pytest.importorskip("lm_eval", reason=SKIP)


@pytest.fixture(scope="module")
def tasks(lm_eval, tmp_path_factory):
    """A task directory: the multiple-choice and generation tasks, and some lm-eval would take and we refuse."""
    d = tmp_path_factory.mktemp("lm_eval_tasks")
    write_task(d, "pc_mc", MC_YAML, MC_DOCS)
    write_task(d, "pc_gen", GEN_YAML, GEN_DOCS, **gen_fields())
    write_task(d, "pc_gen_filters", GEN_YAML + TWO_FILTERS, GEN_DOCS, **gen_fields())
    write_task(d, "pc_sampling", GEN_YAML, GEN_DOCS, **gen_fields(do_sample="true"))
    write_task(d, "pc_bleu", GEN_YAML, GEN_DOCS, **gen_fields(metric="bleu", aggregation="bleu"))
    write_task(d, "pc_rolling", ROLLING_YAML, GEN_DOCS)
    return d


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def suite(tasks, task, **params):
    return get_suite(f"lm_eval:{task}")(include_path=str(tasks), **params)


class TaskEngine(FakeEngine):
    """Log-prob of a continuation from ``logprob(context, continuation)``; the generations of
    every call are the first of ``texts``."""

    def __init__(self, logprob=None, texts=()):
        super().__init__(logprob)
        self.texts = list(texts)

    def generate(self, requests):
        self.requests += requests
        return self.texts[: len(requests)]


# -- loading, cases and metrics ---------------------------------------------------------
def test_cases_are_the_docs_with_the_tasks_own_prompts(tasks):
    s = suite(tasks, "pc_mc", n=4)
    cases = s.cases()
    assert [c["id"] for c in cases] == ["0", "1", "2", "3"]
    assert [c["doc"] for c in cases] == MC_DOCS[:4]
    assert cases[0]["requests"] == [["Question: What colour is the sky?\nAnswer:", f" {c}"]
                                    for c in MC_DOCS[0]["choices"]]
    assert json.loads(json.dumps(cases)) == cases
    assert len(suite(tasks, "pc_mc").cases()) == len(MC_DOCS)  # n is a cap
    assert s.params["include_path"] == [str(tasks.resolve())] and "include_path" in s.describe()
    assert s.chance_of(next(m for m in s.metrics if m.name == "acc")) == pytest.approx(sum(1 / len(d["choices"]) for d in MC_DOCS[:4]) / 4)


def test_metrics_come_from_the_tasks_metric_list(tasks):
    s = suite(tasks, "pc_mc")
    assert [m.name for m in s.metrics] == ["acc", "acc_norm"] and s.primary == "acc"
    assert all(m.binary and m.higher_is_better and (m.low, m.high) == (0, 1) for m in s.metrics)
    assert [m.max_drop for m in s.metrics] == [0.05, None]  # the score alone is gated by default
    two = suite(tasks, "pc_gen_filters")
    assert [m.name for m in two.metrics] == ["exact_match@raw", "exact_match@first_word"]


def test_acc_sums_log_probs_and_acc_norm_divides_by_length(tasks):
    """lm-eval's process_results on (logprob, is_greedy): a short choice wins the sum, a long one per character."""
    s = suite(tasks, "pc_mc", n=2)
    cases = s.cases()
    # doc 0, gold "blue"; doc 1, gold "four" (acc_norm divides by the choice's characters, as lm-eval does)
    table = {" blue": -1.0, " green": -3.0, " bright red": -2.0, " two": -1.0, " four": -1.2, " six or seven": -6.0}
    lp = lambda ctx, cont: table[cont]
    engine = TaskEngine(lp)
    outputs = s.run(engine, cases)
    assert [r.choices for r in engine.requests] == [tuple(f" {c}" for c in d["choices"]) for d in MC_DOCS[:2]]
    assert [s.score(c, o) for c, o in zip(cases, outputs)] == [
        {"acc": 1.0, "acc_norm": 0.0},  # "blue" wins the sum; "bright red" per character (-0.2 > -0.25)
        {"acc": 0.0, "acc_norm": 1.0},  # "two" wins the sum; "four" per character (-0.3 > -1/3)
    ]


def test_context_whitespace_moves_to_the_continuation_as_in_lm_eval():
    assert split_pair("Q: x\nA: ", "yes", "</s>") == ("Q: x\nA:", " yes")
    assert split_pair("", " yes", "</s>") == ("</s>", " yes")


def test_generate_until_uses_the_tasks_stop_and_metric(tasks):
    s = suite(tasks, "pc_gen")
    cases = s.cases()
    assert cases[0]["prompt"] == "Request: Say yes.\nAnswer:" and cases[0]["until"] == ["\n"]
    engine = TaskEngine(texts=[" YES", " yes!", " maybe"])
    outputs = s.run(engine, cases)
    assert engine.requests[0] == GenerationRequest("Request: Say yes.\nAnswer:", 8, ("\n",))
    # exact_match with the task's ignore_case and ignore_punctuation; a leading space is not ignored
    assert [s.score(c, o)["exact_match"] for c, o in zip(cases, outputs)] == [0.0, 0.0, 0.0]
    outputs = s.run(TaskEngine(texts=["YES", "No.", "perhaps"]), cases)
    assert [s.score(c, o)["exact_match"] for c, o in zip(cases, outputs)] == [1.0, 1.0, 0.0]


def test_each_filter_of_the_task_scores_its_own_metric(tasks):
    s = suite(tasks, "pc_gen_filters")
    cases = s.cases()
    outputs = s.run(TaskEngine(texts=["yes, sure", "no", "never"]), cases)
    assert [s.score(c, o) for c, o in zip(cases, outputs)] == [
        {"exact_match@raw": 0.0, "exact_match@first_word": 1.0},
        {"exact_match@raw": 1.0, "exact_match@first_word": 1.0},
        {"exact_match@raw": 0.0, "exact_match@first_word": 0.0},
    ]


@pytest.mark.parametrize("task, message", [
    ("pc_rolling", "output_type 'loglikelihood_rolling' is not supported; supported: multiple_choice, "
                   "loglikelihood, generate_until"),
    ("pc_sampling", "do_sample: true; the engine decodes greedily"),
    ("pc_bleu", "none of the task's metrics (bleu) is a mean over docs"),
])
def test_tasks_the_engine_cannot_serve_are_refused(tasks, task, message):
    with pytest.raises(CompressUsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        suite(tasks, task)


def test_unknown_task_names_where_it_looked_and_a_close_name(tasks):
    with pytest.raises(CompressUsageError, match=r"knows no task 'pc_mcc'\. Did you mean 'pc_mc'\?.*looked up in"):
        suite(tasks, "pc_mcc")


def test_a_dataset_it_cannot_read_locally_is_a_usage_error(tasks, tmp_path):
    write_task(tmp_path, "pc_missing", MC_YAML, MC_DOCS)
    (tmp_path / "pc_missing.jsonl").unlink()
    with pytest.raises(CompressUsageError, match="could not load task 'pc_missing' offline.*never downloads"):
        suite(tmp_path, "pc_missing")


def test_task_configs_are_found_by_parameter_env_or_default_dir(lm_eval, tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(TASKS_ENV, raising=False)
    assert include_paths(None, "s") == []
    (tmp_path / DEFAULT_TASKS_DIR).mkdir()
    assert include_paths(None, "s") == [str(tmp_path / DEFAULT_TASKS_DIR)]
    monkeypatch.setenv(TASKS_ENV, f"{a}:{b}")
    assert include_paths(None, "s") == [str(a), str(b)]
    assert include_paths("a", "s") == [str(a)]  # the parameter wins
    with pytest.raises(CompressUsageError, match="include_path 'nowhere' does not exist"):
        include_paths("nowhere", "s")


# -- the registry -----------------------------------------------------------------------
def test_registry_makes_one_class_per_task_and_selects_lm_eval_items(lm_eval):
    assert get_suite("lm_eval:pc_mc") is get_suite("lm_eval:pc_mc")
    assert get_suite("lm_eval:pc_mc") is not get_suite("lm_eval:pc_gen")
    assert select_suites("tool_use, lm_eval:pc_mc,lm_eval:pc_mc") == ["tool_use", "lm_eval:pc_mc"]
    assert "lm_eval:pc_mc" not in select_suites("all")
    with pytest.raises(CompressUsageError, match="expected lm_eval:<task>"):
        select_suites("lm_eval:")


def test_without_lm_eval_it_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "lm_eval", None)  # what an absent package looks like to find_spec
    with pytest.raises(CompressUsageError, match="lm-eval is not installed: pip install lm-eval"):
        get_suite("lm_eval:never_loaded")
    with pytest.raises(CompressUsageError, match="pip install lm-eval"):
        select_suites("lm_eval:never_loaded")


# -- on the tiny model: the gate's paired numbers against a direct computation ------------
@pytest.fixture(scope="module")
def runner(lm_eval):
    from pytest_compress.runner import GateRunner, RunConfig

    return GateRunner(RunConfig(model="tiny", use_cache=False))


def own_verdicts(runner, spec, name, params, base, comp):
    """The gate decided on per-case values computed here, not by the suite."""
    from pytest_compress.gate import decide
    from pytest_compress.limits import resolve_limit
    from pytest_compress.results import PairedResult, pair_metric
    from pytest_compress.runner import default_rules

    s = get_suite(name)(**params)
    family = runner.count_checks(spec, name, params)
    metrics = {m.name: pair_metric(s, m, base[m.name], comp[m.name],
                                   *resolve_limit(default_rules(s), s.name, m.name), 0, final=True, family=family)
               for m in s.metrics}
    return decide([PairedResult(name, str(spec), s.params, metrics, s.primary, decision="lenient")])[0]


def assert_matches(result, mine, base, comp):
    for name, m in result.metrics.items():
        assert m.baseline.per_case == tuple(base[name]) and m.compressed.per_case == tuple(comp[name])
        assert m.baseline.score == pytest.approx(sum(base[name]) / len(base[name]))
        assert m.drop == pytest.approx(m.baseline.score - m.compressed.score)  # higher is better
        assert (m.drop, m.interval) == (mine.metrics[name].drop, mine.metrics[name].interval)
        assert m.verdict.status == mine.metrics[name].verdict.status
    assert result.passed == mine.passed


def test_multiple_choice_gate_matches_acc_from_raw_log_probs(runner, tasks):
    from pytest_compress.spec import parse_spec

    spec, params = parse_spec("rtn2"), {"include_path": str(tasks)}
    result = runner.evaluate(spec, "lm_eval:pc_mc", params)
    assert [c.id for c in result.cases] == [str(i) for i in range(len(MC_DOCS))]
    engines = (runner.engine(runner.baseline), runner.engine(runner.compressed(spec)[0]))
    per_model = []
    for engine in engines:
        scores = engine.score_choices([ChoiceRequest(f"Question: {d['question']}\nAnswer:",
                                                     tuple(f" {c}" for c in d["choices"])) for d in MC_DOCS])
        values = {"acc": [], "acc_norm": []}
        for doc, item in zip(MC_DOCS, scores):
            lps = [s.logprob for s in item]
            norm = [lp / len(c) for lp, c in zip(lps, doc["choices"])]  # lm-eval: characters of the choice
            values["acc"].append(float(lps.index(max(lps)) == doc["label"]))
            values["acc_norm"].append(float(norm.index(max(norm)) == doc["label"]))
        per_model.append(values)
    base, comp = per_model
    assert base != comp  # rtn2 changes the tiny model's answers
    assert_matches(result, own_verdicts(runner, spec, "lm_eval:pc_mc", params, base, comp), base, comp)


def test_generate_until_gate_matches_exact_match_of_the_generations(runner, tmp_path):
    from pytest_compress.spec import parse_spec

    spec = parse_spec("rtn2")
    engines = (runner.engine(runner.baseline), runner.engine(runner.compressed(spec)[0]))
    requests = ["Set an alarm for 07:15.", "Send an email to Bob.", "Convert 15 CHF to CAD.", "Find a pizza place."]
    prompts = [GenerationRequest(f"Request: {q}\nAnswer:", 12, ("\n",)) for q in requests]
    said = [engine.generate(prompts) for engine in engines]
    # the baseline's own first two answers are the targets of the first two docs: exact_match 1 there
    docs = [{"q": q, "a": said[0][i] if i < 2 else "no such answer"} for i, q in enumerate(requests)]
    write_task(tmp_path, "pc_gen_tiny", GEN_YAML, docs, **gen_fields(max_gen_toks=12))
    params = {"include_path": str(tmp_path)}
    result = runner.evaluate(spec, "lm_eval:pc_gen_tiny", params)
    norm = lambda text: text.lower().translate(str.maketrans("", "", string.punctuation))  # the task's options
    base, comp = ({"exact_match": [float(norm(t) == norm(d["a"])) for t, d in zip(texts, docs)]} for texts in said)
    assert base["exact_match"][:2] == [1.0, 1.0]
    assert_matches(result, own_verdicts(runner, spec, "lm_eval:pc_gen_tiny", params, base, comp), base, comp)


# -- end to end: --compress-suites and the marker ---------------------------------------
@pytest.mark.usefixtures("warm_imports")
def test_compress_suites_runs_an_lm_eval_task_end_to_end(pytester, tasks):
    from pytest_compress.plugin import COMPRESS_OPTION, MODEL_OPTION, SUITES_OPTION

    suite(tasks, "pc_mc").cases()  # lm-eval and datasets imported here: pytester's run must not re-import them
    found = pytester.mkdir(DEFAULT_TASKS_DIR)  # the default place, in the run's working directory
    write_task(found, "pc_mc", MC_YAML, MC_DOCS)
    pytester.makepyfile(f"""
        from pytest_compress import compress_task

        @compress_task("lm_eval:pc_gen", include_path={str(tasks)!r}, max_drop=1.0)
        def test_generation(task_result):
            assert task_result.suite == "lm_eval:pc_gen" and task_result.n == 3
            assert set(task_result.metrics) == {{"exact_match"}}
    """)
    # six docs decide nothing at max_drop=0.05; a limit of 1 is decided (a limit pattern takes no ':', so a glob)
    result = pytester.runpytest(f"{COMPRESS_OPTION}=rtn8", f"{MODEL_OPTION}=tiny", f"{SUITES_OPTION}=lm_eval:pc_mc",
                                "--compress-limit=lm_eval*: max_drop=1", "-v", "-p", "no:randomly")
    result.stdout.fnmatch_lines(["*compress::lm_eval:pc_mc[[]rtn8[]] PASSED*", "rtn8  lm_eval:pc_mc.acc  *PASS*"])
    result.assert_outcomes(passed=2)
