"""The agreement.* suites: identity values for the baseline against itself, and the
coarse-grained KL against the full-vocabulary one."""

import pytest
import torch

from pytest_compress.errors import CompressUsageError
from pytest_compress.metrics.agreement import kl_divergence
from pytest_compress.runner import GateRunner, RunConfig
from pytest_compress.spec import parse_spec
from pytest_compress.suites.agreement import EffectiveRank, coarse_kl

SUITES = ["agreement.rank_correlation", "agreement.erank", "agreement.energy", "agreement.kl",
          "agreement.top1_agreement", "agreement.perplexity"]
IDENTITY = {"tau": 1.0, "tau_k3": 1.0, "tau_k20": 1.0, "spearman": 1.0, "jaccard": 1.0, "gap": 0.0, "gap_centered": 0.0, "kl": 0.0,
            "agreement": 1.0}


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    return GateRunner(RunConfig(model="tiny", cache_dir=tmp_path_factory.mktemp("agreement")))


@pytest.mark.parametrize("suite", SUITES)
def test_none_gives_identity_values_and_rtn2_moves_them(runner, suite):
    same = runner.evaluate(parse_spec("none"), suite, {"n": 4})
    for name, metric in same.metrics.items():
        assert metric.compressed.score == pytest.approx(metric.baseline.score, abs=1e-6)
        if name in IDENTITY:
            assert metric.compressed.score == pytest.approx(IDENTITY[name], abs=1e-6)
    assert same.passed
    broken = runner.evaluate(parse_spec("rtn2"), suite, {"n": 4})
    assert abs(broken.primary_metric.drop) > 0.05


def test_coarse_kl_is_a_lower_bound_equal_when_the_tail_is_empty():
    torch.manual_seed(0)
    base, comp = torch.randn(50, 300) * 3, torch.randn(50, 300) * 3
    full = kl_divergence(base, comp)
    lp_b, lp_c = base.log_softmax(-1), comp.log_softmax(-1)
    top = lp_b.topk(40, dim=-1).indices
    coarse = coarse_kl(lp_b.gather(-1, top), lp_c.gather(-1, top))
    assert torch.all(coarse <= full + 1e-5)
    assert torch.all(coarse > 0)
    everything = torch.arange(300).expand(50, 300)
    assert torch.allclose(coarse_kl(lp_b.gather(-1, everything), lp_c.gather(-1, everything)), full, atol=1e-4)
    assert torch.allclose(coarse_kl(lp_b[:, :40], lp_b[:, :40]), torch.zeros(50))


def test_erank_source_is_checked():
    with pytest.raises(CompressUsageError, match="source must be one of 'logits', 'hidden'"):
        EffectiveRank(source="weights")
    assert EffectiveRank(source="hidden").params["source"] == "hidden"


def test_erank_of_hidden_states_runs_on_a_model(runner):
    result = runner.evaluate(parse_spec("rtn4"), "agreement.erank", {"n": 2, "source": "hidden"})
    assert 1.0 < result.metrics["erank"].baseline.score
