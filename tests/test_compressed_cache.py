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
