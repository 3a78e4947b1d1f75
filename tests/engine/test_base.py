"""The Engine interface: every engine the project has (HF, the recording stand-in, the test
fake) serves all of it with the same shapes, and a suite that needs a capability an engine
lacks is refused with the reason before any case runs."""

import math

import pytest
import torch
from fakes import FakeEngine

from pytest_compress.engine import (CAPABILITIES, HIDDEN_STATES, ChoiceRequest, ChoiceScore, Engine,
                                    GenerationRequest, HFEngine, check_serves)
from pytest_compress.engine.recording import RecordingEngine
from pytest_compress.engine.stats import position_stats
from pytest_compress.errors import CompressUsageError
from pytest_compress.suites import get_suite


@pytest.fixture(params=["hf", "recording", "fake"])
def engine(request, tiny_loaded):
    if request.param == "hf":
        return HFEngine(tiny_loaded.model, tiny_loaded.tokenizer)
    if request.param == "recording":
        return RecordingEngine(tiny_loaded.tokenizer)
    return FakeEngine(logprob=lambda context, choice: -float(len(choice)), answer=lambda r: r.prompt[::-1])


def test_every_engine_is_an_engine(engine):
    assert isinstance(engine, Engine)
    assert engine.capabilities <= CAPABILITIES
    assert isinstance(engine.name, str) and isinstance(engine.eos_token, str)
    assert isinstance(engine.cache_settings, dict)
    assert isinstance(engine.format("a question", system="be brief", shots=[("q", "a")]), str)


def test_choices_are_scored_one_per_choice(engine):
    requests = [ChoiceRequest("The sky is", (" blue", " green", " a colour")), ChoiceRequest("1 2", (" 3",))]
    scores = engine.score_choices(requests)
    assert [len(s) for s in scores] == [3, 1]
    assert all(isinstance(s, ChoiceScore) and s.n_tokens >= 1 and s.logprob <= 0 for row in scores for s in row)


def test_generations_are_one_string_per_request(engine):
    texts = engine.generate([GenerationRequest("Say yes.", 4), GenerationRequest("Count: 1 2", 3, ("\n",))])
    assert len(texts) == 2 and all(isinstance(t, str) and "\n" not in t for t in texts)


@pytest.mark.parametrize("erank", [None, "logits"])
def test_next_token_statistics_have_the_documented_shapes(engine, erank):
    texts = ["the quick brown fox", "jumps over the lazy dog again"]
    at = [torch.tensor([[0, 1]] * len(engine.encode(t))) for t in texts]
    stats = engine.next_token_logits(texts, k=3, at=at, erank=erank)
    for text, entry in zip(texts, stats):
        ids = engine.encode(text)
        assert entry["input_ids"].tolist() == ids
        assert entry["logsumexp"].shape == (len(ids),) and entry["target_values"].shape == (len(ids) - 1,)
        assert entry["topk_values"].shape == entry["topk_ids"].shape == (len(ids), 3)
        assert entry["at_values"].shape == (len(ids), 2)
        assert ("erank" in entry) == (erank is not None)


def test_position_stats_are_the_definitions():
    logits = torch.tensor([[0.0, 1.0, 2.0], [3.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    ids = [2, 0, 1]
    entry = position_stats(logits, ids, k=2, at=torch.tensor([[1], [1], [0]]), erank_of=logits)
    assert entry["logsumexp"].tolist() == pytest.approx([math.log(sum(math.exp(v) for v in row))
                                                         for row in logits.tolist()])
    assert entry["target_values"].tolist() == [logits[0, 0].item(), logits[1, 1].item()]  # the next token's logit
    assert entry["topk_ids"].tolist() == [[2, 1], [0, 1], [0, 1]]
    assert entry["at_values"].tolist() == [[1.0], [0.0], [0.5]]
    assert 1.0 <= entry["erank"] <= 3.0


def test_agreement_runs_on_any_engine_that_serves_logits():
    suite = get_suite("agreement.rank_correlation")(n=2, chars=40)
    cases = suite.cases()
    engine = FakeEngine()
    reference = suite.run(engine, cases)
    outputs = suite.run(engine, cases, reference)
    assert [suite.score(c, o, r)["tau"] for c, o, r in zip(cases, outputs, reference)] == [1.0, 1.0]


def test_a_suite_needing_what_the_engine_lacks_is_refused_with_the_reason():
    engine = FakeEngine()
    engine.capabilities = frozenset()
    hidden = get_suite("agreement.erank")(source="hidden")
    assert hidden.needs == {HIDDEN_STATES}
    with pytest.raises(CompressUsageError, match=r"agreement.erank.*needs hidden_states.*fake engine cannot serve"):
        check_serves(engine, hidden.needs, hidden.describe())
    check_serves(engine, get_suite("agreement.erank")(source="logits").needs, "agreement.erank")  # no need, no refusal
