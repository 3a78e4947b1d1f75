"""The block-by-block calibration loop on tiny random models of every supported layout."""

import pytest
import torch

from pytest_compress.compress import compress
from pytest_compress.errors import CompressError
from pytest_compress.compress.layers import block_linears, compressible_layers, decoder_blocks
from pytest_compress.compress.registry import CompressionContext, LayerReport
from pytest_compress.compress import sequential as seq
from pytest_compress.spec import parse_spec

from tiny_models import ARCHS, calib, tiny_model


class SumAccumulator:
    def __init__(self):
        self.total, self.calls, self.freed = 0.0, 0, False

    def add_batch(self, x):
        self.total += x.double().sum()
        self.calls += 1

    def free(self):
        self.freed = True


class Recorder:
    """No-op method: records what each group's accumulator saw, and optionally halves weights."""

    def __init__(self, halve=False):
        self.seen, self.halve, self.accs = {}, halve, []

    def new_accumulator(self, group, linears, tokens):
        acc = SumAccumulator()
        self.accs.append(acc)
        return acc

    def compress_block(self, block, prefix, groups, accs):
        reports = []
        for g in groups:
            for name in g.names:
                self.seen[prefix + name] = float(accs[g].total)
                if self.halve:
                    block.get_submodule(name).weight.data *= 0.5
                reports.append(LayerReport(prefix + name, 1, 1, 0.0))
        return reports


def direct_input_sums(model, ids):
    """Per-layer sums of the inputs seen in an ordinary full forward pass."""
    sums = {}

    def hook(name):
        def fn(module, inputs):
            sums[name] = sums.get(name, 0.0) + float(inputs[0].detach().double().sum())
        return fn

    with seq.hooked(pre={m: hook(n) for n, m in compressible_layers(model).items()}):
        model(ids, use_cache=False)
    return sums


@pytest.mark.parametrize("arch", ARCHS)
def test_layer_inputs_match_a_full_forward(arch):
    model, ids = tiny_model(arch), calib(10, 12)  # 10 samples: a ragged last batch of 2
    expected = direct_input_sums(model, ids)
    rec = Recorder()
    with torch.no_grad():
        reports = seq.run_sequential(model, CompressionContext(calibration=ids), rec)
    assert [r.name for r in reports] == list(compressible_layers(model))
    for name, value in expected.items():
        assert rec.seen[name] == pytest.approx(value, rel=1e-4, abs=1e-3), name
    assert all(acc.freed and acc.calls == 2 for acc in rec.accs)
    for m in model.modules():  # every hook was removed
        assert not m._forward_pre_hooks and not m._forward_hooks


@pytest.mark.parametrize("arch", ARCHS)
def test_no_forward_computes_what_nothing_reads(arch):
    # Calibration forwards stop at the last linear's input; the last block is not re-run.
    model, ids = tiny_model(arch), calib(10, 12)  # two calibration batches
    blocks = decoder_blocks(model)
    finished = {i: 0 for i in range(len(blocks))}

    def count(i):
        def fn(module, inputs, out):
            finished[i] += 1
        return fn

    with seq.hooked(post={b: count(i) for i, b in enumerate(blocks)}), torch.no_grad():
        seq.run_sequential(model, CompressionContext(calibration=ids), Recorder())
    # block 0 also runs the one probe forward its block structure needs
    assert finished == {0: 3, **{i: 2 for i in range(1, len(blocks) - 1)}, len(blocks) - 1: 0}


def test_next_block_sees_compressed_outputs():
    model, ids = tiny_model("llama"), calib(4, 8)
    rec = Recorder(halve=True)  # "compression" halves every weight of a block
    with torch.no_grad():
        seq.run_sequential(model, CompressionContext(calibration=ids), rec)
    # block 1 must have been calibrated on the outputs of the *compressed* block 0
    reference = tiny_model("llama")
    with torch.no_grad():
        for lin in block_linears(decoder_blocks(reference)[0]).values():
            lin.weight.data *= 0.5
    name = "model.layers.1.self_attn.q_proj"
    assert rec.seen[name] == pytest.approx(direct_input_sums(reference, ids)[name], rel=1e-4)
    assert rec.seen[name] != pytest.approx(direct_input_sums(tiny_model("llama"), ids)[name], rel=1e-3)


def test_probe_finds_input_groups_producers_and_last_linear_llama():
    model, ids = tiny_model("llama"), calib(2, 8)
    batch = seq.capture_block0_inputs(model, ids)[0]
    layout = seq.probe_block(decoder_blocks(model)[0], *batch)
    assert layout.last_linear == "mlp.down_proj"
    assert [(g.names, g.producer_name) for g in layout.groups] == [
        (("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"), "input_layernorm"),
        (("self_attn.o_proj",), None),
        (("mlp.gate_proj", "mlp.up_proj"), "post_attention_layernorm"),
        (("mlp.down_proj",), None),
    ]


def test_probe_names_no_last_linear_when_a_linear_was_not_called():
    class Routed(torch.nn.Module):  # data-dependent routing, as in mixture-of-experts blocks
        def __init__(self):
            super().__init__()
            self.left, self.right = torch.nn.Linear(4, 4), torch.nn.Linear(4, 4)

        def forward(self, x):
            return self.left(x) if float(x.sum()) > 0 else self.right(x)

    layout = seq.probe_block(Routed(), torch.ones(2, 4), (), {})
    assert [g.names for g in layout.groups] == [("left",)]
    assert layout.last_linear is None  # so no calibration forward stops early


def test_probe_of_a_block_that_calls_no_linear_is_a_clear_error():
    class Bypass(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.unused = torch.nn.Linear(4, 4)

        def forward(self, x):
            return x * 2

    with pytest.raises(CompressError, match="called none of its linear layers.*rtn, magnitude"):
        seq.probe_block(Bypass(), torch.ones(2, 4), (), {})


def test_sentinel_is_private_and_not_a_value_error():
    assert not issubclass(seq._StopForward, ValueError)
    model = tiny_model("gpt2")
    batches = seq.capture_block0_inputs(model, calib(3, 8), batch_size=2)
    assert [b[0].shape[0] for b in batches] == [2, 1]


def test_accepts_calibration_object():
    class Cal:
        ids = calib(4, 8)

    model = tiny_model("opt")
    report = compress(model, parse_spec("wanda50"), calibration=Cal())
    assert report.sparsity == pytest.approx(0.5)


class _RecordingHessians:
    """A stand-in method that keeps the dtype and Gram matrix each accumulator saw."""

    def __init__(self):
        self.grams = []

    def new_accumulator(self, group, linears, tokens):
        outer = self

        class Acc:
            def add_batch(self, x):
                outer.grams.append((x.dtype, (x.reshape(-1, x.shape[-1]).float().T @ x.reshape(-1, x.shape[-1]).float())))

            def free(self):
                pass

        return Acc()

    def compress_block(self, block, prefix, groups, accs):
        assert not torch.is_autocast_enabled("cpu")  # the algorithm itself runs in float32
        return []


def test_bf16_forward_dtype_runs_forwards_under_autocast_only():
    model = tiny_model("llama")
    ids = calib()
    exact, fast = _RecordingHessians(), _RecordingHessians()
    seq.run_sequential(model, CompressionContext(calibration=ids), exact)
    seq.run_sequential(model, CompressionContext(calibration=ids, forward_dtype=torch.bfloat16), fast)
    assert {d for d, _ in exact.grams} == {torch.float32}
    assert torch.bfloat16 in {d for d, _ in fast.grams}  # inputs produced by bf16 matmuls
    for (_, a), (_, b) in zip(exact.grams, fast.grams):
        assert torch.allclose(a, b, rtol=0.1, atol=0.1 * float(a.abs().max()))


def test_gptq_with_bf16_forwards_stays_on_the_grid():
    model = tiny_model("llama")
    compress(model, parse_spec("gptq4g16"), calibration=calib(), forward_dtype=torch.bfloat16)
    for name, layer in compressible_layers(model).items():
        W = layer.weight.detach()
        for g in range(0, W.shape[1], 16):
            for row in W[:, g:g + 16]:
                assert row.unique().numel() <= 16, name
