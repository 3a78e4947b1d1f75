"""pytest glue: options, ini keys, markers, parametrisation, the gate, the summary.

Inert until asked: without ``--compress`` (or the ini ``compress``) nothing is
loaded, no torch import happens, and tests that need a compressed model are
skipped with a one-line reason. With it, a :class:`CompressSession` is
registered that owns a :class:`~pytest_compress.runner.GateRunner`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from .errors import CompressError, CompressUsageError
from .fixtures import baseline_model, compress_spec, compressed_model, model_pair, task_result  # noqa: F401
from .limits import LimitRule, limit_value, parse_limit
from .markers import MARKERS, suite_of
from .spec import parse_spec_list

COMPRESS_OPTION = "--compress"
MODEL_OPTION = "--compress-model"
DEVICE_OPTION = "--compress-device"
DTYPE_OPTION = "--compress-dtype"
CASES_OPTION = "--compress-cases"
SUITES_OPTION = "--compress-suites"
LIMIT_OPTION = "--compress-limit"
DECISION_OPTION = "--compress-decision"
SEED_OPTION = "--compress-seed"
CACHE_DIR_OPTION = "--compress-cache-dir"
NO_CACHE_OPTION = "--compress-no-cache"
REFRESH_OPTION = "--compress-refresh"
LIST_OPTION = "--compress-list"
CALIBRATION_OPTION = "--compress-calibration"

MODEL_FIXTURES = frozenset({"model_pair", "task_result", "baseline_model", "compressed_model", "compress_spec"})
SKIP_REASON = "pytest-compress is off: pass --compress=SPEC (e.g. --compress=rtn4) to run"
SESSION_PLUGIN = "_compress_session"
DEFAULTS = {
    "model": "smollm2-135m", "device": "auto", "dtype": "auto", "suites": "all", "decision": "point", "seed": "0",
}
_result_key = pytest.StashKey()


def _spec_list(text: str):
    try:
        return parse_spec_list(text)
    except CompressUsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _choice(name, choices):
    def check(text):
        if text.lower() not in choices:
            raise argparse.ArgumentTypeError(f"{name} must be one of {', '.join(choices)}, got {text!r}")
        return text.lower()

    return check


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _limit(text):
    try:
        return parse_limit(text, "cli")
    except CompressUsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def pytest_addoption(parser):
    group = parser.getgroup("compress", "compression regression testing (pytest-compress)")
    group.addoption(COMPRESS_OPTION, type=_spec_list, default=None, metavar="SPEC[,SPEC...]",
                    help="compress and gate with these specs, e.g. awq4,gptq3,wanda50 (default: off; ini: compress)")
    group.addoption(MODEL_OPTION, default=None, metavar="MODEL",
                    help="baseline model: HF id, local dir, .gguf file, 'smollm2-135m' or 'tiny' "
                         "(default: smollm2-135m; ini: compress_model)")
    group.addoption(DEVICE_OPTION, default=None, metavar="auto|cpu|cuda|cuda:N", help="device (default: auto)")
    group.addoption(DTYPE_OPTION, default=None, type=_choice("dtype", ("auto", "float32", "bfloat16", "float16")),
                    help="evaluation dtype (default: auto = bf16 where the hardware runs it fast, else fp32)")
    group.addoption(CASES_OPTION, default=None, type=_positive_int, metavar="N",
                    help="cases per suite, for quick checks (default: each suite's own n; ini: compress_cases)")
    group.addoption(SUITES_OPTION, default=None, metavar="all|none|NAMES",
                    help="built-in suites to add as tests: all, none, or names/families like tool_use,trust.* "
                         "(default: all; ini: compress_suites)")
    group.addoption(LIMIT_OPTION, action="append", default=[], type=_limit, metavar="'PATTERN: key=value'",
                    help="a gate limit, repeatable, e.g. 'tool_use: max_drop=0.03' (overrides ini compress_limits)")
    group.addoption(DECISION_OPTION, default=None, type=_choice("decision", ("point", "strict", "lenient")),
                    help="gate decision: point, strict (non-inferiority shown) or lenient (regression shown) "
                         "(default: point; ini: compress_decision)")
    group.addoption(SEED_OPTION, default=None, type=int, help="seed for cases, sampling and bootstrap (default: 0)")
    group.addoption(CACHE_DIR_OPTION, default=None, metavar="DIR",
                    help="cache directory (default: pytest's cache dir /compress)")
    group.addoption(NO_CACHE_OPTION, action="store_true", default=False, help="neither read nor write the cache")
    group.addoption(REFRESH_OPTION, action="store_true", default=False, help="recompute and overwrite cache entries")
    group.addoption(CALIBRATION_OPTION, default=None, metavar="PATH",
                    help="calibration text (.txt or .jsonl with a 'text' field) (default: built-in generated text)")
    group.addoption(LIST_OPTION, action="store_true", default=False,
                    help="list methods, suites with their metrics and defaults, and the effective configuration")
    for name, help_text in [
        ("compress", "compression specs to gate with (like --compress)"),
        ("compress_model", "baseline model (like --compress-model)"),
        ("compress_device", "device (like --compress-device)"),
        ("compress_dtype", "dtype (like --compress-dtype)"),
        ("compress_cases", "cases per suite (like --compress-cases)"),
        ("compress_suites", "built-in suites to run (like --compress-suites)"),
        ("compress_decision", "point | strict | lenient"),
        ("compress_seed", "seed (like --compress-seed)"),
        ("compress_cache_dir", "cache directory"),
        ("compress_calibration", "calibration text file"),
    ]:
        parser.addini(name, help_text, default=None)
    parser.addini("compress_limits", "gate limits, one 'PATTERN: key=value' per line", type="linelist", default=[])


def pytest_configure(config):
    for name in MARKERS:
        config.addinivalue_line(
            "markers", f"{name}(name, **params): evaluate suite `name` on baseline and compressed models "
            "(pytest-compress); the result is the task_result fixture"
        )
    settings = Settings.from_config(config)
    if settings is not None:
        config.pluginmanager.register(CompressSession(config, settings), SESSION_PLUGIN)


def pytest_cmdline_main(config):
    if config.getoption(LIST_OPTION):
        from .listing import listing

        settings = Settings.from_config(config, require_specs=False)
        for line in listing(settings):
            print(line)
        return 0
    return None


class Settings:
    """The effective configuration: CLI > ini > built-in default, with where each value came from."""

    def __init__(self, values: dict, origins: dict, specs, rules):
        self.values, self.origins, self.specs, self.rules = values, origins, specs, rules

    @classmethod
    def from_config(cls, config, require_specs: bool = True):
        values, origins = {}, {}
        for key in ("compress", "model", "device", "dtype", "cases", "suites", "decision", "seed", "cache_dir",
                    "calibration"):
            cli = config.getoption(COMPRESS_OPTION if key == "compress" else f"--compress-{key.replace('_', '-')}")
            ini = config.getini("compress" if key == "compress" else f"compress_{key}")
            if cli is not None:
                values[key], origins[key] = cli, "cli"
            elif ini not in (None, ""):
                values[key], origins[key] = ini, "ini"
            else:
                values[key], origins[key] = DEFAULTS.get(key), "default"
        try:
            specs = values["compress"]
            if isinstance(specs, str):
                specs = parse_spec_list(specs)
            rules = [parse_limit(line, "ini") for line in config.getini("compress_limits")]
            rules += config.getoption(LIMIT_OPTION)
            for key, choices in (("decision", ("point", "strict", "lenient")), ("dtype", ("auto", "float32", "bfloat16", "float16"))):
                if str(values[key]).lower() not in choices:
                    raise CompressUsageError(f"compress_{key} must be one of {', '.join(choices)}, got {values[key]!r}")
                values[key] = str(values[key]).lower()
            for key in ("cases", "seed"):
                if values[key] is not None:
                    values[key] = int(values[key])
            if specs is not None:
                from .suites.registry import select_suites

                values["suites"] = select_suites(str(values["suites"]))
                from .models import resolve_model

                resolve_model(str(values["model"]))
        except CompressError as exc:
            raise pytest.UsageError(str(exc)) from None
        except ValueError as exc:
            raise pytest.UsageError(f"pytest-compress configuration: {exc}") from None
        if specs is None and require_specs:
            return None
        return cls(values, origins, specs or (), rules)

    def run_config(self, config):
        from .runner import RunConfig

        cache_dir = self.values["cache_dir"]
        if cache_dir is None:
            cache_dir = Path(str(config.cache.mkdir("compress"))) if config.cache is not None else None
        return RunConfig(
            model=str(self.values["model"]), device=str(self.values["device"]), dtype=self.values["dtype"],
            cache_dir=Path(cache_dir) if cache_dir else None,
            use_cache=not config.getoption(NO_CACHE_OPTION), refresh=config.getoption(REFRESH_OPTION),
            decision=self.values["decision"], seed=self.values["seed"], cases=self.values["cases"],
            calibration=self.values["calibration"],
        )


def _uses_compress(item) -> bool:
    return bool(MODEL_FIXTURES & set(getattr(item, "fixturenames", ()))) or any(
        item.get_closest_marker(m) for m in MARKERS
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    if config.pluginmanager.get_plugin(SESSION_PLUGIN) is not None:
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if _uses_compress(item):
            item.add_marker(skip)


class SuiteCollector(pytest.Collector):
    """The built-in suites as test items: ``compress::tool_use[rtn4]``."""

    def collect(self):
        session = self.config.pluginmanager.get_plugin(SESSION_PLUGIN)
        for spec in session.settings.specs:
            for suite in session.settings.values["suites"]:
                yield SuiteItem.from_parent(self, name=f"{suite}[{spec}]", suite=suite, spec=spec)


class SuiteItem(pytest.Item):
    def __init__(self, *, suite, spec, **kwargs):
        super().__init__(**kwargs)
        self.suite, self.spec = suite, spec
        self.add_marker(pytest.mark.compress_task(suite))

    def runtest(self):
        session = self.config.pluginmanager.get_plugin(SESSION_PLUGIN)
        result = session.evaluate(self, self.spec, self.suite, {}, [], None)
        if not result.passed:
            pytest.fail(result.failure_message(), pytrace=False)

    def reportinfo(self):
        return self.path, None, self.nodeid


class CompressSession:
    """Per-session state when pytest-compress is on: runner, results, summary."""

    def __init__(self, config, settings: Settings):
        self.config = config
        self.settings = settings
        self.results = []
        self._runner = None

    @property
    def runner(self):
        if self._runner is None:
            from .runner import GateRunner

            self._runner = GateRunner(self.settings.run_config(self.config))
        return self._runner

    def evaluate(self, item, spec, suite, params, rules, decision):
        try:
            result = self.runner.evaluate(spec, suite, params, [*self.settings.rules, *rules], decision)
        except CompressError as exc:
            pytest.fail(str(exc), pytrace=False)
        self.results.append(result)
        item.stash[_result_key] = result
        for m in result.metrics.values():
            prefix = f"compress.{result.spec}.{m.full_name}"
            item.user_properties.extend([
                (f"{prefix}.baseline", round(m.baseline.score, 6)), (f"{prefix}.compressed", round(m.compressed.score, 6)),
                (f"{prefix}.drop", round(m.drop, 6)), (f"{prefix}.verdict", m.verdict.status),
            ])
        return result

    def pytest_generate_tests(self, metafunc):
        if MODEL_FIXTURES & set(metafunc.fixturenames) or any(metafunc.definition.iter_markers(m) for m in MARKERS):
            if "compress_spec" in metafunc.fixturenames:
                metafunc.parametrize("compress_spec", self.settings.specs, ids=str, scope="session")

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session, config, items):
        if self.settings.values["suites"]:
            collector = SuiteCollector.from_parent(session, name="compress", nodeid="compress")
            items.extend(collector.collect())
        # Group items by spec (stable) so each compressed model is made once and kept alone in memory.
        order = {str(s): i for i, s in enumerate(self.settings.specs)}
        slots = [i for i, it in enumerate(items) if _spec_of(it) is not None]
        ranked = sorted((items[i] for i in slots), key=lambda it: order.get(str(_spec_of(it)), 0))
        for i, it in zip(slots, ranked):
            items[i] = it

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        __tracebackhide__ = True
        outcome = yield
        result = item.stash.get(_result_key, None)
        if outcome.excinfo is None and result is not None and not isinstance(item, SuiteItem) and not result.passed:
            outcome.force_exception(pytest.fail.Exception(result.failure_message(), pytrace=False))

    def pytest_terminal_summary(self, terminalreporter):
        from .report.terminal import render

        tr = terminalreporter
        runner = self._runner
        if not self.results and runner is None:
            return
        tr.write_sep("=", "pytest-compress")
        reports = list(runner.reports.values()) if runner else []
        lines = render(
            self.results, decision=self.settings.values["decision"], timings=dict(runner.timings) if runner else {},
            cache_events=runner.cache.events if runner else (), reports=[r for r in reports if r.spec != "none"],
        )
        for line in lines:
            tr.write_line(line)


def _spec_of(item):
    if isinstance(item, SuiteItem):
        return item.spec
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("compress_spec") if callspec else None


def marker_request(item):
    """``(suite, params, rules, decision)`` from the test's compress marker (closest wins)."""
    from .limits import LIMIT_KEYS

    marker = next((m for m in item.iter_markers() if m.name in MARKERS), None)
    if marker is None:
        raise CompressUsageError(
            f"{item.nodeid} uses task_result but has no @agentic_task/@trust_task/@compress_task marker "
            "naming its suite"
        )
    suite = suite_of(marker)
    kwargs = dict(marker.kwargs)
    decision = kwargs.pop("decision", None)
    values = tuple(limit_value(k, kwargs.pop(k), f"@{marker.name}({suite!r})") for k in LIMIT_KEYS if k in kwargs)
    rules = [LimitRule(suite, values, "marker")] if values else []
    return suite, kwargs, rules, decision
