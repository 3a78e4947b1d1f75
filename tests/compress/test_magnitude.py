"""Magnitude pruning and the shared per-row prune mask."""

import pytest
import torch

from pytest_compress.compress import compress
from pytest_compress.compress.magnitude import prune_mask
from pytest_compress.spec import parse_spec

from tiny_models import tiny_model


def step(spec):
    return parse_spec(spec).steps[0]


@pytest.mark.parametrize("pct,cols", [(50, 64), (30, 50), (90, 7)])
def test_exact_count_per_row(pct, cols):
    scores = torch.rand(9, cols, generator=torch.Generator().manual_seed(0))
    mask = prune_mask(scores, step(f"magnitude{pct}"))
    assert (mask.sum(dim=1) == round(cols * pct / 100)).all()
    # the pruned ones are the lowest of their row
    for row, m in zip(scores, mask):
        assert row[m].max() <= row[~m].min()


@pytest.mark.parametrize("n,m,cols", [(2, 4, 64), (1, 4, 32), (2, 8, 20)])
def test_n_of_m_per_block(n, m, cols):
    scores = torch.rand(5, cols, generator=torch.Generator().manual_seed(1))
    mask = prune_mask(scores, step(f"magnitude{n}:{m}"))
    for start in range(0, cols, m):
        width = min(m, cols - start)
        kept = (~mask[:, start : start + width]).sum(dim=1)
        assert (kept == min(n, width)).all()


def test_magnitude_on_model_keeps_largest():
    model = tiny_model("llama")
    W0 = model.model.layers[0].mlp.down_proj.weight.detach().clone()
    report = compress(model, parse_spec("magnitude50"))
    W = model.model.layers[0].mlp.down_proj.weight
    assert report.sparsity == pytest.approx(0.5)
    assert ((W == 0).sum(dim=1) == W.shape[1] // 2).all()
    for w0, w in zip(W0.abs(), W):
        assert w0[w == 0].max() <= w0[w != 0].min()
