"""Compressed weights served from the cache are the very model compression made."""

from pytest_compress.runner import GateRunner, RunConfig
from pytest_compress.spec import parse_spec


def test_cached_awq_model_equals_the_freshly_compressed_one(tmp_path):
    # AWQ folds its scales into norm weights, which are not layer weight matrices:
    # a cache that kept only the matrices would serve a different model.
    config = RunConfig(model="tiny", cache_dir=tmp_path, calibration_samples=4, calibration_seq_len=32)
    fresh, _ = GateRunner(config).compressed(parse_spec("awq4"))
    cached, report = GateRunner(config).compressed(parse_spec("awq4"))
    assert report.cached
    assert cached.fingerprint == fresh.fingerprint


def test_the_calibration_used_is_named_in_the_report_fresh_or_cached(tmp_path):
    config = RunConfig(model="tiny", cache_dir=tmp_path, calibration_samples=4, calibration_seq_len=32)
    _, fresh = GateRunner(config).compressed(parse_spec("gptq4"))
    _, cached = GateRunner(config).compressed(parse_spec("gptq4"))
    assert cached.cached and fresh.calibration == cached.calibration
    assert fresh.calibration.startswith("python ") and "standard-library docstrings(seed=0), 4x32 tokens" in \
        fresh.calibration
    named = RunConfig(model="tiny", use_cache=False, calibration="generated", calibration_samples=4,
                      calibration_seq_len=32)
    _, generated = GateRunner(named).compressed(parse_spec("gptq4"))
    assert generated.calibration.startswith("generated-text(seed=0), 4x32 tokens, sha256 ")
    _, uncalibrated = GateRunner(config).compressed(parse_spec("rtn4"))
    assert uncalibrated.calibration == ""


def test_runtime_quantization_is_attached_again_to_weights_read_from_the_cache(tmp_path):
    # kv8's weights are the baseline's and w8a8's activation hooks are not weights: a cache that
    # restored only tensors would serve (and fingerprint) a model without them
    import torch

    config = RunConfig(model="tiny", cache_dir=tmp_path)
    ids = torch.arange(1, 17).unsqueeze(0)
    runner = GateRunner(config)
    for spec in ("kv8", "w8a8"):
        fresh, _ = GateRunner(config).compressed(parse_spec(spec))
        cached, report = GateRunner(config).compressed(parse_spec(spec))
        assert report.cached and report.runtime_bits
        assert cached.fingerprint == fresh.fingerprint != runner.baseline.fingerprint
        with torch.no_grad():
            assert torch.equal(cached.model(ids).logits, fresh.model(ids).logits)
            assert not torch.equal(cached.model(ids).logits, runner.baseline.model(ids).logits)
