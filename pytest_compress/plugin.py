"""pytest glue: options, ini keys, markers, parametrisation, the gate, the summary.

Inert until asked: without ``--compress`` (or the ini ``compress``) nothing is
loaded, no torch import happens, and tests that need a compressed model are
skipped with a one-line reason. With it, a :class:`CompressSession` is
registered that owns a :class:`~pytest_compress.runner.GateRunner`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path

import pytest

from .errors import CompressError, CompressUsageError
from .fixtures import (baseline_model, compress_spec, compressed_model, fail_for, model_pair,  # noqa: F401
                       task_result)
from .limits import parse_limit
from .markers import MARKERS, marker_args, marker_request
from .distributed import WorkerOutput, merge_outputs, worker_device
from .report.terminal import COLLECTION_ERROR
from .settings import SETTINGS, parse_value

COMPRESS_OPTION = SETTINGS["compress"].option
MODEL_OPTION = SETTINGS["model"].option
DEVICE_OPTION = SETTINGS["device"].option
DTYPE_OPTION = SETTINGS["dtype"].option
CASES_OPTION = SETTINGS["cases"].option
SUITES_OPTION = SETTINGS["suites"].option
LIMIT_OPTION = SETTINGS["limits"].option
DECISION_OPTION = SETTINGS["decision"].option
SEED_OPTION = SETTINGS["seed"].option
CACHE_DIR_OPTION = SETTINGS["cache_dir"].option
NO_CACHE_OPTION = SETTINGS["no_cache"].option
REFRESH_OPTION = SETTINGS["refresh"].option
LIST_OPTION = SETTINGS["list"].option
CALIBRATION_OPTION = SETTINGS["calibration"].option
ON_GAIN_OPTION = SETTINGS["on_gain"].option
REPORT_OPTION = SETTINGS["report"].option
COMPRESSED_MODEL_OPTION = SETTINGS["compressed_model"].option
SHARD_OPTION = SETTINGS["shard"].option
MERGE_OPTION = SETTINGS["merge"].option

MODEL_FIXTURES = frozenset({"model_pair", "task_result", "baseline_model", "compressed_model", "compress_spec"})
SKIP_REASON = "pytest-compress is off: pass --compress=SPEC (e.g. --compress=rtn4) to run"
SESSION_PLUGIN = "_compress_session"
_result_key = pytest.StashKey()
WORKER_OUTPUT_KEY = "pytest_compress"  # this plugin's entry in an xdist worker's workeroutput


def _converter(setting):
    """``setting``'s parser as argparse wants it: an ArgumentTypeError names the fault."""
    def convert(text):
        try:
            return parse_value(setting, text)
        except CompressUsageError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def pytest_addoption(parser):
    group = parser.getgroup("compress", "compression regression testing (pytest-compress)")
    for setting in SETTINGS.values():
        if setting.flag:
            group.addoption(setting.option, action="store_true", default=False, help=setting.help_text())
        elif setting.repeat and setting.ini is None:  # a list of paths
            group.addoption(setting.option, nargs="+", default=None, metavar=setting.metavar,
                            help=setting.help_text())
        else:
            group.addoption(setting.option, type=None if setting.late else _converter(setting), metavar=setting.metavar,
                            action="append" if setting.repeat else "store", default=[] if setting.repeat else None,
                            help=setting.help_text())
        if setting.ini is not None:
            parser.addini(setting.ini, f"{setting.help} (like {setting.option})",
                          type="linelist" if setting.repeat else None, default=[] if setting.repeat else None)


def pytest_configure(config):
    for name in MARKERS:
        config.addinivalue_line(
            "markers", f"{name}(name, **params): evaluate suite `name` on baseline and compressed models "
            "(pytest-compress); the result is the task_result fixture"
        )
    settings = Settings.from_config(config)
    if settings is not None:
        if settings.values["cache_dir"] is not None and not config.getoption(NO_CACHE_OPTION):
            from .cache import check_writable

            try:
                check_writable(Path(settings.values["cache_dir"]))
            except CompressError as exc:
                raise pytest.UsageError(str(exc)) from None
        config.pluginmanager.register(CompressSession(config, settings), SESSION_PLUGIN)


def pytest_cmdline_main(config):
    if config.getoption(MERGE_OPTION):
        return _merge(config)
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
        try:
            for setting in (s for s in SETTINGS.values() if s.resolved):
                cli, ini = config.getoption(setting.option), config.getini(setting.ini)
                if cli is not None:
                    values[setting.key] = parse_value(setting, cli) if setting.late else cli
                    origins[setting.key] = "cli"
                elif ini not in (None, ""):  # the ini's text, parsed as the command line's is
                    values[setting.key], origins[setting.key] = parse_value(setting, ini), "ini"
                else:
                    values[setting.key], origins[setting.key] = setting.default, "default"
            specs = values["compress"]
            rules = [parse_limit(line, "ini") for line in config.getini(SETTINGS["limits"].ini)]
            rules += config.getoption(LIMIT_OPTION)
            if values["shard"] is not None:
                if not values["report"]:
                    raise CompressUsageError("compress_shard needs a report directory to write its measurements "
                                             "for the merge: add --compress-report=DIR (the same DIR, or one "
                                             "artifact per shard)")
            if specs is not None or values["compressed_model"]:
                from .suites.registry import select_suites

                values["suites"] = select_suites(str(values["suites"]))
                from .models import resolve_model

                resolve_model(str(values["model"]))
            if values["compressed_model"]:  # the loaded checkpoint is one more spec, gated like the others
                from .models.checkpoint import checkpoint_spec

                specs = (*(specs or ()), checkpoint_spec(str(values["compressed_model"]), str(values["model"])))
        except CompressError as exc:
            raise pytest.UsageError(str(exc)) from None
        except ValueError as exc:
            raise pytest.UsageError(f"pytest-compress configuration: {exc}") from None
        if specs is None and values["shard"] is not None and require_specs:
            raise pytest.UsageError("compress_shard splits a gate, and none is configured: add --compress=SPEC "
                                    "(or --compressed-model)")
        if specs is None and require_specs:
            return None
        return cls(values, origins, specs or (), rules)

    def run_config(self, config):
        from .runner import RunConfig

        cache_dir = self.values["cache_dir"]
        if cache_dir is None:
            cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider: then no cache
            cache_dir = Path(str(cache.mkdir("compress"))) if cache is not None else None
        return RunConfig(
            model=str(self.values["model"]), dtype=self.values["dtype"],
            device=worker_device(str(self.values["device"]), _worker_id(config)),
            cache_dir=Path(cache_dir) if cache_dir else None,
            use_cache=not config.getoption(NO_CACHE_OPTION), refresh=config.getoption(REFRESH_OPTION),
            decision=self.values["decision"], seed=self.values["seed"], cases=self.values["cases"],
            calibration=self.values["calibration"], fail_on_gain=self.values["on_gain"] == "fail",
            export_dir=Path(self.values["export"]) if self.values["export"] else None,
        )


def _uses_compress(item) -> bool:
    return bool(MODEL_FIXTURES & set(getattr(item, "fixturenames", ()))) or any(
        item.get_closest_marker(m) for m in MARKERS
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    session = config.pluginmanager.get_plugin(SESSION_PLUGIN)
    if session is not None:
        if session.shard is not None:  # after every other selection, so all shards cut the same list
            session.keep_shard(config, items)
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
        if not result.passed and session.shard is None:
            pytest.fail(result.failure_message(), pytrace=False)

    def reportinfo(self):
        return self.path, None, self.nodeid


class MarkerErrorReport(pytest.CollectReport):
    """A collection error on one test function (pytest's own names only the file)."""

    @property
    def location(self):
        return self.fspath, None, self.nodeid


_REPORT_TYPE = "$report_type"  # the key pytest's report serialization names the class under


def pytest_report_to_serializable(config, report):
    """xdist ships reports by class name: teach it this one (a worker's collection error)."""
    if isinstance(report, MarkerErrorReport):
        return {**report._to_json(), _REPORT_TYPE: MarkerErrorReport.__name__}
    return None


def pytest_report_from_serializable(config, data):
    if data.get(_REPORT_TYPE) == MarkerErrorReport.__name__:
        return MarkerErrorReport._from_json(data)
    return None


class CompressSession:
    """Per-session state when pytest-compress is on: runner, results, summary."""

    def __init__(self, config, settings: Settings):
        self.config = config
        self.settings = settings
        self.results = []
        self._runner = None
        self.tests: list[tuple[str, str]] = []  # (nodeid, gate key), parallel to results
        self.errors: list[tuple[str, str]] = []  # (nodeid, message) of gates whose evaluation failed
        self._family: dict | None = None  # gate key -> decided PairedResult, or the CompressError it raised
        self._worker_outputs: list[WorkerOutput] = []  # on the xdist controller: what each worker sent
        #: --compress-shard: this session measures one slice and judges nothing (the merge does)
        self.shard = settings.values.get("shard")
        self._units: tuple[str, ...] = ()  # every unit of the unsharded session, in shard order
        self._family_sizes: dict | None = None  # spec -> statistical checks of the unsharded session
        self._shard_lines: list[str] = []

    @property
    def runner(self):
        if self._runner is None:
            from .runner import GateRunner

            self._runner = GateRunner(self.settings.run_config(self.config), progress=_progress_reporter(self.config))
        return self._runner

    def evaluate(self, item, spec, suite, params, rules, decision):
        from .report.junit import properties

        key = _gate_key(spec, suite, params, rules, decision)
        error = None
        try:
            result = self._family_results(item.session).get(key)
            if isinstance(result, CompressError):  # its evaluation failed in the family pass
                raise result
            if result is None:  # not planned at collection: a family of its own
                result = self.runner.evaluate(spec, suite, params, [*self.settings.rules, *rules], decision)
        except CompressError as exc:
            self.errors.append((item.nodeid, str(exc)))
            error = exc
        if error is not None:  # failed outside the except block, so the message is not chained twice
            fail_for(error)
        self.results.append(result)
        self.tests.append((item.nodeid, _unit_text(key)))
        item.stash[_result_key] = result
        item.user_properties.extend(properties(result))
        return result

    def check_marked(self, config, items) -> None:
        """Check every marked test's gate (suite, keywords, limits, decision, dataset) before
        any model loads. A bad one is a collection error on the test that carries the marker,
        reported once per test function; its items are removed, and pytest stops the session
        before anything runs, as for any collection error."""
        verdicts: dict[tuple, str | None] = {}  # gate key (no spec) -> error message (None: sound)
        failed: dict[str, str] = {}  # test function nodeid -> message
        read_as: dict[str, None] = {}  # what each foreign-format dataset was read as, once each
        keep = []
        for item in items:
            marker = next((m for m in item.iter_markers() if m.name in MARKERS), None)
            if marker is None:
                keep.append(item)
                continue
            try:
                suite, params, rules, decision = marker_request(item)
                key = _gate_key(None, suite, params, rules, decision)  # a check holds for every spec
                if key not in verdicts:
                    verdicts[key] = None
                    try:
                        if (line := self.runner.check(suite, params, rules)) is not None:
                            read_as[f"dataset {line}"] = None
                    except CompressError as exc:
                        verdicts[key] = str(exc)
                message = verdicts[key]
            except CompressError as exc:
                message = str(exc)
            if message is None:
                keep.append(item)
                continue
            function = item.nodeid.split("[", 1)[0]
            if function not in failed:
                failed[function] = f"@{marker.name}{marker_args(marker)}: {message}"
                self.errors.append((function, COLLECTION_ERROR + failed[function]))
        tr = config.pluginmanager.get_plugin("terminalreporter")
        if read_as and tr is not None and config.option.verbose >= 0 and _worker_id(config) is None:
            tr.ensure_newline()
            for line in read_as:
                tr.write_line(line)
        for nodeid, message in failed.items():
            config.hook.pytest_collectreport(report=MarkerErrorReport(nodeid, "failed", message, []))
        if failed:
            items[:] = keep

    def keep_shard(self, config, items) -> None:
        """Deselect every unit outside this shard's slice; tests that use no compressed model
        run in shard 1 only. Family sizes are taken first, from the whole session."""
        from .shards import shard_slices

        self._family_sizes = self._sizes(_plans(items))
        order = {str(s): i for i, s in enumerate(self.settings.specs)}
        unit_of = [(it, _unit(it, order)) for it in items]
        units = {u[1]: u[0] for _, u in unit_of if u is not None}
        self._units = tuple(sorted(units, key=lambda u: (units[u], u)))
        mine = set(shard_slices(self._units, self.shard.count)[self.shard.index - 1])
        keep, drop = [], []
        for it, unit in unit_of:
            (keep if (unit[1] in mine if unit is not None else self.shard.index == 1) else drop).append(it)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    def _sizes(self, plans) -> dict[str, int]:
        """Statistical checks per spec over ``plans`` (the Holm family each gate is measured against)."""
        sizes: dict[str, int] = {}
        for spec, suite, params, rules, _ in plans.values():
            try:
                sizes[str(spec)] = sizes.get(str(spec), 0) + self.runner.count_checks(
                    spec, suite, params, [*self.settings.rules, *rules])
            except CompressError:
                continue
        return sizes

    def _family_results(self, session) -> dict:
        """Every gate of the session, measured at the first gated test and decided together:
        each spec's checks are one family (Holm), so each test reports its share of one
        family-wise decision. Gates whose evaluation fails are left out; their tests raise."""
        if self._family is not None:
            return self._family
        from .gate import decide

        plans = _plans(session.items)
        sizes = self._family_sizes if self._family_sizes is not None else self._sizes(plans)
        keys, results, errors = [], [], {}
        for key, (spec, suite, params, rules, decision) in plans.items():
            try:
                results.append(self.runner.measure(spec, suite, params, [*self.settings.rules, *rules], decision,
                                                   family=max(1, sizes.get(str(spec), 1))))
            except CompressError as exc:
                errors[key] = exc  # raised by the test itself when it runs
                continue
            keys.append(key)
        decided = decide(results, fail_on_gain=self.settings.values["on_gain"] == "fail")
        self._family = {**errors, **dict(zip(keys, decided))}
        return self._family

    def pytest_generate_tests(self, metafunc):
        if MODEL_FIXTURES & set(metafunc.fixturenames) or any(metafunc.definition.iter_markers(m) for m in MARKERS):
            if "compress_spec" in metafunc.fixturenames:
                metafunc.parametrize("compress_spec", self.settings.specs, ids=str, scope="session")

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session, config, items):
        self.check_marked(config, items)
        if self.settings.values["suites"]:
            collector = SuiteCollector.from_parent(session, name="compress", nodeid="compress")
            built_in = list(collector.collect())
            items.extend(built_in)
            # reported like collected items, so "collected N items" counts the built-in gates too
            config.hook.pytest_collectreport(report=pytest.CollectReport(collector.nodeid, "passed", None, built_in))
        # Group items by spec (stable) so each compressed model is made once and kept alone in memory.
        order = {str(s): i for i, s in enumerate(self.settings.specs)}
        slots = [i for i, it in enumerate(items) if _spec_of(it) is not None]
        ranked = sorted((items[i] for i in slots), key=lambda it: order.get(str(_spec_of(it)), 0))
        for i, it in zip(slots, ranked):
            items[i] = it

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        result = item.stash.get(_result_key, None)
        if call.when == "call" and report.passed and result is not None:
            # plain attributes: they travel with xdist's reports
            if self.shard is not None:
                report.compress_measured = True
            elif result.inconclusive:
                report.compress_inconclusive = True

    def pytest_report_teststatus(self, report, config):
        if report.when == "call" and report.passed and getattr(report, "compress_measured", False):
            return "measured", "m", ("MEASURED", {"cyan": True})
        if report.when == "call" and report.passed and getattr(report, "compress_inconclusive", False):
            return "inconclusive", "?", ("INCONCLUSIVE", {"yellow": True})
        return None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        __tracebackhide__ = True
        outcome = yield
        result = item.stash.get(_result_key, None)
        if (outcome.excinfo is None and result is not None and not isinstance(item, SuiteItem) and not result.passed
                and self.shard is None):
            outcome.force_exception(pytest.fail.Exception(result.failure_message(), pytrace=False))

    def _own_output(self) -> WorkerOutput:
        runner = self._runner
        if runner is None:
            return WorkerOutput(results=tuple(self.results), tests=tuple(self.tests), errors=tuple(self.errors))
        return WorkerOutput(
            results=tuple(self.results), reports=tuple(r for r in runner.reports.values() if r.spec != "none"),
            timings=dict(runner.timings), cache_events=tuple(runner.cache.events), tests=tuple(self.tests),
            errors=tuple(self.errors),
        )

    def _merged(self) -> WorkerOutput:
        return merge_outputs([self._own_output(), *self._worker_outputs], [str(s) for s in self.settings.specs])

    def pytest_sessionfinish(self, session, exitstatus):
        if hasattr(self.config, "workeroutput"):  # an xdist worker: the controller reports for everyone
            self.config.workeroutput[WORKER_OUTPUT_KEY] = self._own_output().to_wire()
        elif self.shard is not None:
            if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
                session.exitstatus = pytest.ExitCode.OK  # more shards than units: an empty shard is no failure
            self._shard_lines = self._write_shard(int(session.exitstatus))

    def _write_shard(self, exitstatus: int) -> list[str]:
        """Write this shard's measurements for the merge; the summary lines saying what and where."""
        from .report.document import versions
        from .report.terminal import cache_lines, error_lines
        import json

        from .shards import ShardFile, file_digest

        merged = self._merged()
        report_config = _report_config(self.settings)
        configuration = {**report_config, "limits": [repr(r) for r in self.settings.rules], "versions": versions(),
                         "calibration_digest": file_digest(self.settings.values["calibration"])}
        runner = self._runner
        shard = ShardFile(self.shard, configuration, report_config, self._units, merged,
                          runner.baseline_identity() if runner is not None else None, exitstatus)
        gates = {key for _, key in merged.tests}
        total = sum(json.loads(u)[0] == "gate" for u in self._units)
        lines = [f"shard {self.shard}: {len(gates)} of the session's {total} gates measured here "
                 f"({len(merged.results)} tests), {len(merged.errors)} errored; verdicts are the merge's"]
        lines += error_lines(merged.errors)
        if merged.timings:
            lines.append("time: " + ", ".join(f"{k} {v:.1f}s" for k, v in merged.timings.items()))
        lines += cache_lines(merged.results, merged.reports) + list(merged.cache_events)
        directory = self.settings.values["report"]
        try:
            path = shard.write(directory)
        except OSError as exc:
            return [*lines, f"shard file: could not be written into {directory} ({exc}); fix --compress-report"]
        return [*lines, f"shard file: {path}; judge all shards together with: pytest --compress-merge {directory}"]

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        data = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY)
        if data is not None:
            self._worker_outputs.append(WorkerOutput.from_wire(data))

    def pytest_terminal_summary(self, terminalreporter, exitstatus):
        from .report.terminal import render

        tr = terminalreporter
        if hasattr(self.config, "workerinput"):
            return
        if self._shard_lines:
            tr.write_sep("=", f"pytest-compress shard {self.shard}")
            for line in self._shard_lines:
                tr.write_line(line)
            return
        if not self.results and self._runner is None and not self._worker_outputs and not self.errors:
            return
        if exitstatus == pytest.ExitCode.USAGE_ERROR and not self.results:
            return  # stopped by a usage error found once models loaded (a mismatched pair): no gate to show
        merged = self._merged()
        tr.write_sep("=", "pytest-compress")
        lines = render(
            list(merged.results), decision=self.settings.values["decision"], timings=merged.timings,
            cache_events=merged.cache_events, reports=merged.reports, errors=merged.errors,
            failed_tests=sum(len(tr.stats.get(kind, ())) for kind in ("failed", "error")),
        )
        for line in lines:
            tr.write_line(line)
        for line in _write_reports(self.settings.values.get("report"), _report_config(self.settings), merged):
            tr.write_line(line)


def _worker_id(config) -> str | None:
    return getattr(config, "workerinput", {}).get("workerid")


@contextlib.contextmanager
def _uncaptured(config):
    """Write to the real terminal while a test runs (its output is being captured)."""
    capman = config.pluginmanager.get_plugin("capturemanager")
    with capman.global_and_fixture_disabled() if capman is not None else contextlib.nullcontext():
        yield


def _progress_reporter(config):
    """Progress lines on the controller's terminal: none under -q or on an xdist worker
    (nobody sees a worker's terminal); redrawn in place on a TTY, plain lines in CI logs."""
    tr = config.pluginmanager.get_plugin("terminalreporter")
    if tr is None or config.option.verbose < 0 or _worker_id(config) is not None:
        return None
    from .report.progress import ProgressReporter

    def line(text: str) -> None:
        with _uncaptured(config):
            tr.write_line(text)

    def rewrite(text: str, final: bool) -> None:
        with _uncaptured(config):
            tr.ensure_newline()
            tr.rewrite(text, erase=True)
            if final:
                tr.write("\n")

    return ProgressReporter(line, rewrite if tr.isatty else None)


def _report_config(settings) -> dict:
    """The effective settings a report shows (and shards of one gate must share)."""
    config = {k: v for k, v in settings.values.items() if k not in ("compress", "report", "shard")}
    return {**config, "specs": [str(s) for s in settings.specs]}


def _write_reports(report_dir, config: dict, merged) -> list[str]:
    """Write ``--compress-report`` files and the GitHub job summary; the lines saying where."""
    from .report import STEP_SUMMARY_ENV, append_step_summary, write_reports
    from .report.document import build_document

    if not report_dir and not os.environ.get(STEP_SUMMARY_ENV):
        return []
    document = build_document(list(merged.results), config=config, compression=merged.reports,
                              timings=merged.timings, cache_events=merged.cache_events, errors=merged.errors)
    lines = []
    try:
        if report_dir:
            paths = write_reports(report_dir, document)
            lines.append("report: " + ", ".join(str(p) for p in paths))
        summary = append_step_summary(document)
        if summary is not None:
            lines.append(f"report: Markdown appended to ${STEP_SUMMARY_ENV} ({summary})")
    except OSError as exc:
        lines.append(f"report: could not be written ({exc}); check --compress-report / ${STEP_SUMMARY_ENV}")
    return lines


def _merge(config) -> int:
    """``--compress-merge DIR...``: judge the shards' measurements as one gate (no tests run)."""
    from _pytest.config import create_terminal_writer

    from .report.junit import write_junit
    from .report.terminal import render
    from .shards import ShardFile, find_shard_files, merge_shards

    tw = create_terminal_writer(config)
    if config.getoption(COMPRESS_OPTION) or config.getoption(SHARD_OPTION):
        tw.line(f"ERROR: {MERGE_OPTION} judges the shards' results and runs nothing: drop {COMPRESS_OPTION} "
                f"and {SHARD_OPTION} (the shards' configuration is used)", red=True)
        return pytest.ExitCode.USAGE_ERROR
    try:
        shards = sorted((ShardFile.read(p) for p in find_shard_files(config.getoption(MERGE_OPTION))),
                        key=lambda s: s.shard)
        merged = merge_shards(shards)
    except CompressError as exc:
        tw.line(f"ERROR: pytest-compress merge: {exc}", red=True)
        return pytest.ExitCode.USAGE_ERROR
    report_config = shards[0].report_config
    tw.sep("=", f"pytest-compress (merged from {len(shards)} shards)")
    for line in render(list(merged.results), decision=str(report_config.get("decision")), timings=merged.timings,
                       cache_events=merged.cache_events, reports=merged.reports, errors=merged.errors,
                       collected_here=False):
        tw.line(line)
    for s in shards:
        refused = bool(s.output.errors) and all(m.startswith(COLLECTION_ERROR) for _, m in s.output.errors)
        explained = (s.exitstatus == pytest.ExitCode.OK
                     or (s.exitstatus == pytest.ExitCode.TESTS_FAILED and s.output.errors)
                     or (s.exitstatus == pytest.ExitCode.INTERRUPTED and refused))  # its gates' collection errors
        if not explained:
            tw.line(f"note: shard {s.shard} exited {s.exitstatus} for reasons outside the gate; see its job")
    for line in _write_reports(config.getoption(REPORT_OPTION) or config.getini("compress_report"), report_config,
                               merged):
        tw.line(line)
    if getattr(config.option, "xmlpath", None):
        try:
            tw.line(f"junit: {write_junit(config.option.xmlpath, merged.results, merged.tests, merged.errors)}")
        except OSError as exc:
            tw.line(f"junit: could not be written ({exc}); check --junitxml", red=True)
    gated = [m for r in merged.results for m in r.metrics.values() if m.verdict.status != "ungated"]
    if merged.errors or any(not m.passed for m in gated):
        return pytest.ExitCode.TESTS_FAILED
    return pytest.ExitCode.OK if gated else pytest.ExitCode.NO_TESTS_COLLECTED


def _spec_of(item):
    if isinstance(item, SuiteItem):
        return item.spec
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("compress_spec") if callspec else None


def _gate_key(spec, suite, params, rules, decision) -> tuple:
    import json

    return (str(spec), suite, json.dumps(params, sort_keys=True, default=str), repr(rules), decision)


def _unit_text(key: tuple) -> str:
    """A gate key as the text shards order, split and match by."""
    import json

    return json.dumps(["gate", *key])


def _unit(item, spec_order: dict):
    """``(spec position, unit text)`` of an item the plugin owns; None for a plain test."""
    import json

    spec = _spec_of(item)
    position = spec_order.get(str(spec), len(spec_order))
    plan = _gate_plan(item)
    if plan is not None:
        return position, _unit_text(_gate_key(*plan))
    if spec is not None or _uses_compress(item):
        return position, json.dumps(["test", str(spec), item.nodeid])
    return None


def _plans(items) -> dict:
    """gate key -> ``(spec, suite, params, rules, decision)`` of every gate among ``items``."""
    plans = {}
    for it in items:
        plan = _gate_plan(it)
        if plan is not None:
            plans.setdefault(_gate_key(*plan), plan)
    return plans


def _gate_plan(item):
    """``(spec, suite, params, rules, decision)`` of the gate ``item`` will run, or None."""
    if isinstance(item, SuiteItem):
        return item.spec, item.suite, {}, [], None
    spec = _spec_of(item)
    if spec is None or "task_result" not in getattr(item, "fixturenames", ()):
        return None
    try:
        return (spec, *marker_request(item))
    except CompressError:
        return None


