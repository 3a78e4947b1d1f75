"""The engine against its own reference paths, on the shipped tiny model."""

import pytest
import torch

from pytest_compress.errors import CompressWarning
from pytest_compress.engine import ChoiceRequest, GenerationRequest, HFEngine
from pytest_compress.suites.tool_use import ToolUse, retrieve_prompt


@pytest.fixture(scope="module")
def engine(tiny_loaded):
    return HFEngine(tiny_loaded.model, tiny_loaded.tokenizer)


@pytest.fixture(scope="module")
def requests(engine):
    suite = ToolUse(n=12, seed=3)
    return [ChoiceRequest(engine.format(retrieve_prompt(c)), tuple(t["description"] for t in c["tools"]))
            for c in suite.cases()] + [ChoiceRequest("a b", ("c", "c d e f g", "h"))]


@pytest.mark.parametrize("keeps_logits", [True, False], ids=["logits_to_keep", "full_logits"])
def test_shared_prefix_batched_scores_equal_unbatched_full_sequences(tiny_loaded, requests, keeps_logits):
    engine = HFEngine(tiny_loaded.model, tiny_loaded.tokenizer)
    engine._keeps_logits = keeps_logits  # models without ``logits_to_keep`` take the full-logits path
    batched = engine.score_choices(requests)
    reference = engine.score_choices_unshared(requests)
    for got, want in zip(batched, reference):
        assert [s.n_tokens for s in got] == [s.n_tokens for s in want]
        assert [s.greedy for s in got] == [s.greedy for s in want]
        assert torch.allclose(torch.tensor([s.logprob for s in got]), torch.tensor([s.logprob for s in want]), atol=1e-4)


def test_scores_do_not_depend_on_batch_composition(tiny_loaded, requests):
    big = HFEngine(tiny_loaded.model, tiny_loaded.tokenizer).score_choices(requests)
    one_by_one = HFEngine(tiny_loaded.model, tiny_loaded.tokenizer, token_budget=1).score_choices(requests)
    for a, b in zip(big, one_by_one):
        # padding changes float summation order only: equal to ~1e-5 relative
        assert torch.allclose(torch.tensor([s.logprob for s in a]), torch.tensor([s.logprob for s in b]), atol=1e-3)


def test_batched_generation_equals_one_at_a_time(tiny_loaded, engine):
    suite = ToolUse(n=6, seed=1)
    reqs = [GenerationRequest(engine.format(suite.instruct_prompt(c)), 24, ("\n",)) for c in suite.cases()]
    batched = engine.generate(reqs)
    single = HFEngine(tiny_loaded.model, tiny_loaded.tokenizer, token_budget=1).generate(reqs)
    assert batched == single
    assert all("\n" not in text for text in batched)


def test_generation_matches_transformers_greedy(tiny_loaded, engine):
    prompt = engine.format(ToolUse.instruct_prompt(ToolUse(n=1).cases()[0]))
    ours = engine.generate([GenerationRequest(prompt, 16)])[0]
    tok = tiny_loaded.tokenizer
    ids = tok(prompt, add_special_tokens=False, return_tensors="pt")
    out = tiny_loaded.model.generate(**ids, max_new_tokens=16, do_sample=False, pad_token_id=tok.pad_token_id)
    assert ours == tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)


def test_next_token_logits_match_a_full_forward(tiny_loaded, engine):
    texts = ["Tell me the forecast for Oslo in celsius.", "Delete the file notes.md."]
    stats = engine.next_token_logits(texts, k=5, at=[torch.zeros(len(engine.encode(t)), 2, dtype=torch.long) for t in texts])
    for text, s in zip(texts, stats):
        ids = torch.tensor([engine.encode(text)])
        logits = tiny_loaded.model(input_ids=ids).logits[0]
        assert torch.allclose(s["topk_values"], logits.topk(5).values, atol=1e-4)
        assert torch.allclose(s["logsumexp"], torch.logsumexp(logits, -1), atol=1e-4)
        assert torch.allclose(s["at_values"][:, 0], logits[:, 0], atol=1e-4)


def test_empty_choice_is_rejected(engine):
    with pytest.raises(ValueError, match="empty"):
        engine.score_choices([ChoiceRequest("context", ("",))])


class RowLimitedModel(torch.nn.Module):
    """The tiny model, running out of memory on any forward of more than ``rows`` rows."""

    def __init__(self, model, rows):
        super().__init__()
        self.inner, self.rows, self.refused = model, rows, 0

    def forward(self, input_ids, logits_to_keep=0, **kwargs):
        if input_ids.shape[0] > self.rows:
            self.refused += 1
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.inner(input_ids=input_ids, logits_to_keep=logits_to_keep, **kwargs)


def test_out_of_memory_halves_the_batch_and_gives_the_same_answers(tiny_loaded, requests):
    limited = RowLimitedModel(tiny_loaded.model, rows=4)  # one item's choices fit, two items' do not
    engine = HFEngine(limited, tiny_loaded.tokenizer)
    normal = HFEngine(tiny_loaded.model, tiny_loaded.tokenizer)
    with pytest.warns(CompressWarning, match="ran out of memory on cpu; batches that do are halved") as said:
        got = engine.score_choices(requests[:6])
    want = normal.score_choices(requests[:6])
    assert limited.refused > 1 and len([w for w in said if w.category is CompressWarning]) == 1  # said once
    for a, b in zip(got, want):
        torch.testing.assert_close(torch.tensor([s.logprob for s in a]), torch.tensor([s.logprob for s in b]),
                                   atol=1e-3, rtol=0)
    texts = ["Tell me the forecast for Oslo.", "Delete notes.md.", "Book a table for two.", "Convert 3 miles.",
             "List my files.", "Send the report to Ana."]
    for x, y in zip(engine.next_token_logits(texts, k=3), normal.next_token_logits(texts, k=3)):
        torch.testing.assert_close(x["topk_values"], y["topk_values"], atol=1e-4, rtol=0)


def test_other_errors_are_not_retried(tiny_loaded, requests):
    class Broken(RowLimitedModel):
        def forward(self, input_ids, **kwargs):
            raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        HFEngine(Broken(tiny_loaded.model, 1), tiny_loaded.tokenizer).score_choices(requests[:2])
