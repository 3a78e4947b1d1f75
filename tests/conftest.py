"""Shared fixtures: tiny models built in memory (no download) and the shipped tiny test model."""

import os

import pytest
import torch


@pytest.fixture
def tiny_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=128, max_position_embeddings=64)
    return LlamaForCausalLM(config).eval()


@pytest.fixture(scope="session")
def tiny_loaded():
    """The project's trained tiny model, loaded in float32 on CPU."""
    from pytest_compress.models import load_model, resolve_model

    return load_model(resolve_model("tiny"))


@pytest.fixture(scope="session")
def warm_imports():
    """Import everything a gate run imports, once, in this process.

    pytester's in-process runs drop the modules a run imported when it ends; torch
    cannot re-import some of them (its operator registry is process-global), so the
    plugin tests make sure they are already imported here.
    """
    from pytest_compress.runner import GateRunner, RunConfig
    from pytest_compress.spec import parse_spec

    runner = GateRunner(RunConfig(model="tiny", use_cache=False))
    for suite in ("tool_use", "agreement.rank_correlation"):
        runner.evaluate(parse_spec("rtn8"), suite, {"n": 2})


@pytest.fixture(scope="session")
def smollm2_cache(tmp_path_factory):
    """One cache directory for every SmolLM2 test of the session: the GGUF is
    dequantized once and each suite's baseline evaluated once
    (``PYTEST_COMPRESS_TEST_CACHE`` points it at a persistent directory)."""
    return os.environ.get("PYTEST_COMPRESS_TEST_CACHE") or str(tmp_path_factory.mktemp("smollm2-cache"))


@pytest.fixture(scope="session")
def smollm2_runner(smollm2_cache):
    """A library-level gate runner on SmolLM2 sharing the session cache (slow tests). Its suites'
    tests check that a suite tells rtn8 from rtn2 on a few cases, not that the gate can decide
    at the family's error rates on so few, so an inconclusive check follows its point estimate."""
    from pytest_compress.runner import GateRunner, RunConfig

    return GateRunner(RunConfig(model="smollm2-135m", cache_dir=smollm2_cache, decision="point"))
