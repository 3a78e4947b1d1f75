"""Fixtures: ``model_pair``, ``baseline_model``, ``compressed_model``, ``task_result``.

Each needs ``--compress``; without it the tests that use them are skipped at
collection. Tests are parametrised once per spec through ``compress_spec``.
"""

from __future__ import annotations

import pytest

from .errors import CompressError, ModelLoadError
from .markers import marker_request


def _session(request):
    session = request.config.pluginmanager.get_plugin("_compress_session")
    if session is None:
        pytest.skip("pytest-compress is off: pass --compress=SPEC to run")
    return session


@pytest.fixture(scope="session")
def compress_spec(request):
    """The CompressionSpec this test runs under (parametrised from --compress)."""
    param = getattr(request, "param", None)
    if param is None:
        _session(request)
        pytest.fail("compress_spec was not parametrised; is the test collected by pytest-compress?", pytrace=False)
    return param


def fail_for(exc: CompressError):
    """Fail the running test with ``exc``'s message. A model that cannot be loaded and a
    mismatched model pair (found only once both tokenizers are loaded) stop the session as
    the usage errors they are (exit code 4), said once instead of once per test."""
    from .models.checkpoint import ModelFamilyError

    if isinstance(exc, (ModelFamilyError, ModelLoadError)):
        pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)
    pytest.fail(str(exc), pytrace=False)


def _guard(fn, *args):
    try:
        return fn(*args)
    except CompressError as exc:
        fail_for(exc)


@pytest.fixture
def model_pair(request, compress_spec):
    """Baseline and compressed models side by side (``.baseline``, ``.compressed``, ``.spec``,
    ``.report``, ``.generate(prompts)``)."""
    return _guard(_session(request).runner.pair, compress_spec)


@pytest.fixture
def baseline_model(request):
    """The loaded baseline (``.model``, ``.tokenizer``, ``.device``)."""
    runner = _session(request).runner
    return _guard(lambda: runner.baseline)


@pytest.fixture
def compressed_model(request, compress_spec):
    """The loaded compressed model for this test's spec."""
    return _guard(_session(request).runner.compressed, compress_spec)[0]


@pytest.fixture
def task_result(request, compress_spec):
    """The PairedResult of the suite named by the test's marker; the gate is applied
    after the test body (a failing gate fails the test)."""
    session = _session(request)
    suite, params, rules, decision = _guard(marker_request, request.node)
    return session.evaluate(request.node, compress_spec, suite, params, rules, decision)
