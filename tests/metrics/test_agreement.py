"""Tests for pytest_compress.metrics.agreement."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

from pytest_compress.metrics import agreement as A

# small integer-valued rows make ties (and fully constant rows) common
_vals = st.integers(-3, 3).map(float)
_rows = st.tuples(st.integers(1, 6), st.integers(1, 12)).flatmap(
    lambda shape: st.tuples(hnp.arrays(np.float32, shape, elements=_vals),
                            hnp.arrays(np.float32, shape, elements=_vals)))


def _expected(fn, x, y):
    out = []
    for a, b in zip(x, y):
        ca, cb = np.all(a == a[0]), np.all(b == b[0])
        if ca or cb:
            out.append(1.0 if (ca and cb) else 0.0)
        else:
            out.append(fn(a, b))
    return np.array(out)


@settings(max_examples=150, deadline=None)
@given(_rows)
def test_kendall_matches_scipy_tau_b(pair):
    x, y = pair
    got = A.kendall_tau_at_topk(torch.from_numpy(x), torch.from_numpy(y)).numpy()
    want = _expected(lambda a, b: stats.kendalltau(a, b, variant="b").statistic, x, y)
    np.testing.assert_allclose(got, want, atol=1e-6)


@settings(max_examples=150, deadline=None)
@given(_rows)
def test_spearman_matches_scipy(pair):
    x, y = pair
    got = A.spearman_at_topk(torch.from_numpy(x), torch.from_numpy(y)).numpy()
    want = _expected(lambda a, b: stats.spearmanr(a, b).statistic, x, y)
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_rank_correlations_continuous_rows_and_chunking(monkeypatch):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 20, generator=g)
    y = x + 0.7 * torch.randn(300, 20, generator=g)
    monkeypatch.setattr(A, "_ROW_CHUNK", 64)  # exercise the chunk loop
    tau, rho = A.kendall_tau_at_topk(x, y), A.spearman_at_topk(x, y)
    assert tau.dtype == rho.dtype == torch.float32 and tau.shape == (300,)
    for i in range(0, 300, 37):
        assert tau[i].item() == pytest.approx(stats.kendalltau(x[i], y[i]).statistic, abs=1e-6)
        assert rho[i].item() == pytest.approx(stats.spearmanr(x[i], y[i]).statistic, abs=1e-6)


def test_rank_correlation_signs_and_shapes():
    x = torch.tensor([[3.0, 2.0, 1.0]])
    assert A.kendall_tau_at_topk(x, -x).item() == pytest.approx(-1.0)
    assert A.spearman_at_topk(x, 2 * x + 1).item() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        A.kendall_tau_at_topk(x, torch.zeros(1, 4))


def test_topk_jaccard():
    a = torch.tensor([[1, 2, 3], [1, 2, 3], [4, 5, 6]])
    b = torch.tensor([[3, 2, 1], [3, 4, 5], [7, 8, 9]])
    np.testing.assert_allclose(A.topk_jaccard(a, b).numpy(), [1.0, 1 / 5, 0.0])
    # different widths and duplicates count once
    assert A.topk_jaccard(torch.tensor([[1, 1, 2]]), torch.tensor([[2, 5]])).item() == pytest.approx(1 / 3)


def test_identical_models_agree_fully():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 7, 50, generator=g)
    agree = A.topk_agreement(logits, logits.clone(), k=10)
    assert torch.all(agree["kendall_tau"] == 1) and torch.all(agree["spearman"] == 1)
    assert torch.all(agree["jaccard"] == 1)
    assert torch.all(A.kl_divergence(logits, logits.clone()) == 0)
    assert not A.top1_flips(logits, logits.clone()).any()


def test_kl_matches_direct_formula_and_flips():
    g = torch.Generator().manual_seed(2)
    b, c = torch.randn(5, 30, generator=g), torch.randn(5, 30, generator=g)
    pb, pc = torch.softmax(b.double(), -1), torch.softmax(c.double(), -1)
    want = (pb * (pb.log() - pc.log())).sum(-1)
    got = A.kl_divergence(b, c)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-6)
    # a token the baseline forbids contributes nothing
    b2 = b.clone()
    b2[:, 0] = -math.inf
    assert torch.isfinite(A.kl_divergence(b2, c)).all()
    np.testing.assert_array_equal(A.top1_flips(b, c).numpy(), (b.argmax(-1) != c.argmax(-1)).numpy())


def test_energy_is_permutation_invariant_and_masked():
    g = torch.Generator().manual_seed(3)
    logits = 5 * torch.randn(2, 6, 40, generator=g)
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[1, 4:] = False
    e = A.energy(logits, mask)
    e_perm = A.energy(logits[..., torch.randperm(40, generator=g)], mask)
    torch.testing.assert_close(e, e_perm)
    assert torch.all(e[1, 4:] == 0)
    torch.testing.assert_close(e[0], -torch.logsumexp(logits[0], -1))
    # a uniform shift of all logits shifts the energy by the same amount
    torch.testing.assert_close(A.energy(logits + 2.0, mask)[mask], e[mask] - 2.0)
    assert A.mean_abs_energy_gap(e, e_perm, mask) == pytest.approx(0.0, abs=1e-6)
    assert A.mean_abs_energy_gap(e, e + 0.5 * mask, mask) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        A.mean_abs_energy_gap(e, e, torch.zeros_like(mask))
    # a constant shift of every energy moves the plain gap, not the centered one
    assert A.centered_energy_gap(e, e - 3.0 * mask, mask) == pytest.approx(0.0, abs=1e-6)  # float32 inputs
    noise = torch.randn(e.shape, generator=g)
    assert A.centered_energy_gap(e, e + noise + 3.0, mask) == pytest.approx(A.centered_energy_gap(e, e + noise, mask))
    assert A.centered_energy_gap(e, e + noise, mask) <= A.mean_abs_energy_gap(e, e + noise, mask) + 1e-9


def test_token_nll_and_perplexity():
    g = torch.Generator().manual_seed(4)
    logits = torch.randn(2, 5, 11, generator=g)
    ids = torch.randint(0, 11, (2, 5), generator=g)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    nll = A.token_nll(logits, ids, mask)
    assert nll.shape == (2, 4)
    lp = torch.log_softmax(logits, -1)
    assert nll[0, 2].item() == pytest.approx(-lp[0, 2, ids[0, 3]].item(), rel=1e-6)
    assert torch.all(nll[1, 2:] == 0)  # padded targets
    n_tok = int((mask[:, 1:].bool() & mask[:, :-1].bool()).sum())
    assert n_tok == 6
    ppl = A.corpus_perplexity(nll.sum(), n_tok)
    assert ppl == pytest.approx(math.exp(nll.sum().item() / 6))
    # uniform logits -> perplexity equals the vocabulary size
    flat = A.token_nll(torch.zeros(1, 9, 11), torch.randint(0, 11, (1, 9), generator=g))
    assert A.corpus_perplexity(flat.sum(), flat.numel()) == pytest.approx(11.0, rel=1e-5)
    with pytest.raises(ValueError):
        A.corpus_perplexity(1.0, 0)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 12), st.integers(2, 30), st.integers(0, 2**31 - 1))
def test_erank_gram_equals_svd_form(n, d, seed):
    g = torch.Generator().manual_seed(seed)
    m = torch.randn(n, d, generator=g) * torch.rand(1, d, generator=g) + torch.randn(1, d, generator=g)
    gram_form = A.effective_rank(m, chunk=7)  # several column chunks
    svd_form = A.effective_rank_cov(m)
    assert gram_form == pytest.approx(svd_form, rel=1e-9, abs=1e-9)
    # bounds: >= 1, and centring leaves rank <= min(n - 1, d)
    assert 1.0 - 1e-9 <= gram_form <= min(n - 1, d) + 1e-9


@pytest.mark.parametrize("r", [2, 5, 12])
def test_erank_of_low_rank_matrix_is_about_r(r):
    # rows are random combinations of r directions; centring and row scaling
    # keep the rank <= r, so ERank <= r, and Gaussian mixing spreads the
    # spectrum evenly enough that ERank >= r / 2 (here it is ~0.9 r).
    g = torch.Generator().manual_seed(r)
    n, d = 200, 1000
    u, v = torch.randn(n, r, generator=g), torch.randn(r, d, generator=g)
    exact = u @ v
    e = A.effective_rank(exact)
    assert 0.5 * r <= e <= r + 1e-6
    noisy = exact + 1e-3 * torch.randn(n, d, generator=g)
    assert 0.5 * r <= A.effective_rank(noisy) <= 1.01 * r
    assert A.effective_rank(noisy) == pytest.approx(A.effective_rank_cov(noisy), rel=1e-6)


def test_erank_degenerate_inputs():
    same = torch.ones(4, 6) * torch.arange(6.0)
    assert A.effective_rank(same) == 0.0 == A.effective_rank_cov(same)
    # two distinct rows -> after centring they are opposite: rank 1
    assert A.effective_rank(torch.tensor([[1.0, 2.0, 3.0], [0.0, 5.0, 1.0]])) == pytest.approx(1.0)


def test_erank_large_vocab_is_cheap():
    # D = 49k columns; only a 64 x 64 Gram matrix is formed
    g = torch.Generator().manual_seed(5)
    m = torch.randn(64, 49_152, generator=g)
    e = A.effective_rank(m)
    assert 55 < e <= 63 + 1e-6
