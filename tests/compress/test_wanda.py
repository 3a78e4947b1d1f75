"""Wanda: |W| * ||X_j|| scores, per-row comparison, exact sparsity."""

import pytest
import torch

from pytest_compress.compress import compress
from pytest_compress.compress.wanda import FeatureNormAccumulator, wanda_mask
from pytest_compress.compress.magnitude import prune_mask
from pytest_compress.spec import parse_spec

from tiny_models import calib, tiny_model


def inputs_with_outlier_channels(n=256, cols=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    scale = torch.ones(cols)
    scale[:6] = 20.0
    return torch.randn(n, cols, generator=g) * scale


def test_accumulator_norms():
    X = inputs_with_outlier_channels()
    acc = FeatureNormAccumulator(64)
    acc.add_batch(X[:100].view(4, 25, 64))
    acc.add_batch(X[100:])
    torch.testing.assert_close(acc.norms, torch.linalg.norm(X, dim=0))


def test_outlier_columns_survive_and_error_beats_magnitude():
    X = inputs_with_outlier_channels()
    W = torch.randn(32, 64, generator=torch.Generator().manual_seed(1))
    s = parse_spec("wanda50").steps[0]
    mask = wanda_mask(W, torch.linalg.norm(X, dim=0), s)
    assert mask[:, :6].float().mean() < 0.1  # high-norm input channels are mostly kept
    wanda_err = torch.linalg.norm(X @ W.masked_fill(mask, 0).t() - X @ W.t())
    mag_err = torch.linalg.norm(X @ W.masked_fill(prune_mask(W.abs(), s), 0).t() - X @ W.t())
    assert wanda_err < mag_err


@pytest.mark.parametrize("spec", ["wanda50", "wanda2:4", "wanda30"])
def test_exact_sparsity_on_model(spec):
    model = tiny_model("qwen2")
    compress(model, parse_spec(spec), calibration=calib())
    s = parse_spec(spec).steps[0]
    for block in model.model.layers:
        for lin in (block.self_attn.q_proj, block.mlp.down_proj):
            W = lin.weight
            if s.n_of_m:
                kept = (W != 0).view(W.shape[0], -1, 4).sum(dim=2)
                assert (kept <= 2).all()
                assert ((W == 0).sum() == W.numel() // 2)
            else:
                assert ((W == 0).sum(dim=1) == round(W.shape[1] * s.sparsity)).all()
