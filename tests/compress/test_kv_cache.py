"""KV-cache steps: weights untouched, keys and values quantized exactly as a direct computation says."""

import math

import pytest
import torch
from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

from pytest_compress.compress import compress
from pytest_compress.compress.runtime import CONFIG_KEY, KV_ATTENTION
from pytest_compress.compress.spec import parse_spec
from pytest_compress.models.fingerprint import weights_fingerprint

from tiny_models import ARCHS, calib, tiny_model


def _per_token_head(t, bits, symmetric):
    """Reference: each (batch, head, token) vector of ``t`` on its own integer grid, written out."""
    out = torch.empty_like(t)
    for b in range(t.shape[0]):
        for h in range(t.shape[1]):
            for i in range(t.shape[2]):
                v = t[b, h, i]
                if symmetric:
                    scale = float(v.abs().max()) / ((2**bits - 1) / 2)
                    out[b, h, i] = torch.clamp(torch.round(v / scale), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1) * scale
                else:
                    lo, hi = min(float(v.min()), 0.0), max(float(v.max()), 0.0)
                    scale = (hi - lo) / (2**bits - 1)
                    zero = round(-lo / scale)
                    out[b, h, i] = (torch.clamp(torch.round(v / scale) + zero, 0, 2**bits - 1) - zero) * scale
    return out


@pytest.mark.parametrize("spec", ["kv8", "kvi8", "kvi4"])
def test_a_kv_step_leaves_every_weight_bit_identical_and_changes_the_fingerprint(tiny_llama, spec):
    before = {k: v.clone() for k, v in tiny_llama.state_dict().items()}
    fingerprint = weights_fingerprint(tiny_llama)
    report = compress(tiny_llama, parse_spec(spec))
    assert all(torch.equal(before[k], v) for k, v in tiny_llama.state_dict().items())
    assert report.bits_per_weight == 16.0 and report.sparsity == 0.0
    head_dim = 32 // 4
    assert report.runtime_bits == {"kv": {"kv8": 8 + 16 / head_dim, "kvi8": 8 + 16 / head_dim,
                                          "kvi4": 4 + 32 / head_dim}[spec]}
    assert weights_fingerprint(tiny_llama) != fingerprint  # the cache must not serve the baseline's answers


@pytest.mark.parametrize("spec, bits, symmetric", [("kvi8", 8, True), ("kvi4", 4, False)])
def test_attention_equals_a_direct_computation_over_quantized_keys_and_values(tiny_llama, spec, bits, symmetric):
    compress(tiny_llama, parse_spec(spec))
    attn = tiny_llama.model.layers[0].self_attn
    seen = {}
    attn.register_forward_hook(lambda m, args, kwargs, out: seen.update(kwargs=kwargs, out=out[0]), with_kwargs=True)
    ids = calib(2, 10)
    with torch.no_grad():
        tiny_llama(ids)
        hidden = seen["kwargs"]["hidden_states"]
        cos, sin = seen["kwargs"]["position_embeddings"]
        shape = (*hidden.shape[:-1], -1, attn.head_dim)
        q = attn.q_proj(hidden).view(shape).transpose(1, 2)
        k = attn.k_proj(hidden).view(shape).transpose(1, 2)
        v = attn.v_proj(hidden).view(shape).transpose(1, 2)
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        k, v = _per_token_head(k, bits, symmetric), _per_token_head(v, bits, symmetric)
        groups = q.shape[1] // k.shape[1]
        k, v = k.repeat_interleave(groups, 1), v.repeat_interleave(groups, 1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(attn.head_dim)
        causal = torch.ones(10, 10, dtype=torch.bool).tril()
        probs = scores.masked_fill(~causal, float("-inf")).softmax(-1)
        expected = attn.o_proj((probs @ v).transpose(1, 2).reshape(*hidden.shape[:-1], -1))
    assert torch.allclose(seen["out"], expected, atol=1e-5)


@pytest.mark.parametrize("arch", ARCHS)
def test_decoding_with_the_cache_equals_recomputing_everything(arch):
    # every token is quantized alone, so a cache that holds originals and is quantized at every step
    # gives what a cache written in the format once gives
    model = tiny_model(arch)
    compress(model, parse_spec("kvi4"))
    ids = calib(1, 12)
    with torch.no_grad():
        full = model(ids).logits[0, -1]
        past = model(ids[:, :8], use_cache=True).past_key_values
        for i in range(8, 12):
            out = model(ids[:, i:i + 1], cache=past, use_cache=True)
            past = out.past_key_values
    assert torch.allclose(out.logits[0, -1], full, atol=1e-5)
    assert model.config._attn_implementation == f"{KV_ATTENTION}_sdpa"


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_padding_is_masked_under_a_quantized_kv_cache(arch):
    # transformers builds no mask for an attention implementation it has no mask function for:
    # a left-padded row must still score as it does alone
    model = tiny_model(arch)
    compress(model, parse_spec("kv8"))
    ids = calib(2, 10)
    mask = torch.ones_like(ids)
    mask[1, :4] = 0
    with torch.no_grad():
        batched = model(ids, attention_mask=mask, position_ids=(mask.cumsum(1) - 1).clamp(min=0)).logits[1, 4:]
        alone = model(ids[1:, 4:]).logits[0]
    assert torch.allclose(batched, alone, atol=1e-4)


def test_the_engine_scores_choices_over_a_cached_context_as_it_does_unshared(tiny_loaded):
    from pytest_compress.engine import HFEngine
    from pytest_compress.engine.requests import ChoiceRequest

    compress(tiny_loaded.model, parse_spec("kvi8"))
    engine = HFEngine(tiny_loaded.model, tiny_loaded.tokenizer)
    requests = [ChoiceRequest("The key of room four is", (" blue and small", " red", " a green one")),
                ChoiceRequest("Say yes:", (" yes indeed it is", " no"))]
    with torch.no_grad():
        shared, unshared = engine.score_choices(requests), engine.score_choices_unshared(requests)
    for a, b in zip(shared, unshared):
        assert [s.logprob for s in a] == pytest.approx([s.logprob for s in b], abs=1e-3)


def test_kv_quantization_moves_the_logits_by_more_at_fewer_bits():
    ids = calib(4, 16)
    with torch.no_grad():
        base = tiny_model("llama")(ids).logits
        moved = {}
        for spec in ("kvi8", "kv8", "kvi4"):
            model = tiny_model("llama")
            compress(model, parse_spec(spec))
            moved[spec] = float((model(ids).logits - base).abs().mean())
    assert 0 < moved["kvi8"] < moved["kv8"] < moved["kvi4"]


def test_a_kv_step_stacks_after_a_weight_method_and_attaching_twice_changes_nothing(tiny_llama):
    report = compress(tiny_llama, parse_spec("rtn4g16+kv8"))
    assert report.spec == "rtn4g16+kv8" and report.bits_per_weight == 4 + (16 + 4) / 16 and "kv" in report.runtime_bits
    ids = calib(2, 8)
    with torch.no_grad():
        once = tiny_llama(ids).logits
        from pytest_compress.compress.api import attach_runtime

        attach_runtime(tiny_llama, parse_spec("rtn4g16+kv8"))
        assert torch.equal(tiny_llama(ids).logits, once)
    assert getattr(tiny_llama.config, CONFIG_KEY) == {"kv_cache": "fp8", "attention": "sdpa"}


@pytest.mark.parametrize("spec, message", [
    ("kv8+kvi4", "a spec quantizes the KV cache in one format only: fp8 is attached and int4 was asked for too"),
    ("fp8+w8a8", "a spec quantizes activations in one format only: fp8 is attached and int8 was asked for too"),
])
def test_two_runtime_formats_of_one_kind_are_refused_not_one_silently_kept(tiny_llama, spec, message):
    # the parser refuses such a spec (tests/test_spec.py); a spec built in code meets the same refusal here
    from pytest_compress.errors import CompressError
    from pytest_compress.spec import CompressionSpec

    steps = tuple(parse_spec(part).steps[0] for part in spec.split("+"))
    with pytest.raises(CompressError, match=message):
        compress(tiny_llama, CompressionSpec(steps))
