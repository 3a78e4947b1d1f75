"""The library behind the plugin: load, compress, evaluate, pair, judge.

:class:`GateRunner` is what ``pytest --compress`` drives, and what a notebook
can use directly::

    runner = GateRunner(RunConfig(model="smollm2-135m", cache_dir=Path(".cache")))
    result = runner.evaluate(parse_spec("rtn4"), "tool_use", {"n": 50})
    print(result.passed, result.drop, result.interval)

Models are loaded lazily, the baseline once; one compressed model is kept at a
time (the plugin orders tests so each spec's tests run together). Raw model
outputs and compressed weights go through the content-addressed :class:`Cache`,
so baseline results are reused across methods and runs.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .cache import Cache, make_key
from .limits import DEFAULT_LIMIT_KEYS, LimitRule, resolve_limit
from .report.progress import staged
from .results import CaseOutcome, PairedResult, pair_metric
from .spec import CompressionSpec


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides what a gate run computes (the plugin fills it from options)."""

    model: str = "smollm2-135m"
    device: str = "auto"
    dtype: str = "auto"
    cache_dir: Path | None = None
    use_cache: bool = True
    refresh: bool = False
    decision: str = "point"
    seed: int = 0
    cases: int | None = None
    calibration: str | None = None
    #: 32 x 512 tokens: a quarter of the papers' 128 samples, so that calibrating on a
    #: 2-core CPU takes minutes, not tens of minutes (benchmarks/README.md has the effect)
    calibration_samples: int = 32
    calibration_seq_len: int = 512
    trust_remote_code: bool = False
    #: group-sequential looks in strict/lenient modes (0 = off: all cases, Holm across the session)
    sequential_looks: int = 0
    #: fail (rather than warn about) a gain larger than max_drop: usually a broken evaluation
    fail_on_gain: bool = False

    def __post_init__(self):
        if self.cache_dir is not None:
            object.__setattr__(self, "cache_dir", Path(self.cache_dir))


@dataclass
class ModelPair:
    """Baseline and compressed side by side (``model_pair`` fixture).

    ``baseline`` / ``compressed`` are :class:`~pytest_compress.models.LoadedModel`
    (``.model``, ``.tokenizer``, ``.device``); ``spec`` the CompressionSpec;
    ``report`` the CompressionReport.
    """

    baseline: object
    compressed: object
    spec: CompressionSpec
    report: object
    engines: tuple = field(repr=False, default=())

    def generate(self, prompts, max_new_tokens: int = 32, stop=(), chat: bool = False):
        """Greedy continuations of ``prompts`` from both models: ``(baseline, compressed)``."""
        from .engine import GenerationRequest

        out = []
        for engine in self.engines:
            texts = [engine.format(p) if chat else p for p in prompts]
            out.append(engine.generate([GenerationRequest(t, max_new_tokens, tuple(stop)) for t in texts]))
        return out[0], out[1]


def _versions() -> dict:
    import torch
    import transformers

    return {"pytest_compress": __version__, "torch": torch.__version__, "transformers": transformers.__version__}


class GateRunner:
    """Loads models, compresses, evaluates suites and judges them; see the module docstring."""

    def __init__(self, config: RunConfig, *, progress=None):
        self.config = config
        self.progress = progress
        self.cache = Cache(config.cache_dir, enabled=config.use_cache, refresh=config.refresh)
        self.timings: dict[str, float] = defaultdict(float)
        self._baseline = None
        self._baseline_outputs: dict[str, list] = {}
        self._compressed: dict[str, tuple] = {}
        self.reports: dict[str, object] = {}
        self._source = None

    # -- models ----------------------------------------------------------------
    def _timed(self, phase: str, start: float) -> None:
        self.timings[phase] += time.perf_counter() - start

    @property
    def source(self):
        if self._source is None:
            from .models import resolve_model

            self._source = resolve_model(self.config.model)
        return self._source

    def _load(self, *, keep_fp32: bool = False, source=None):
        import torch

        from .models import load_model, resolve_device, resolve_dtype

        device = resolve_device(self.config.device)
        dtype = torch.float32 if keep_fp32 else resolve_dtype(self.config.dtype, device)
        root = self.config.cache_dir if self.config.use_cache else None
        return load_model(
            source or self.source, device=device, dtype=dtype, cache_root=root,
            trust_remote_code=self.config.trust_remote_code,
        )

    @property
    def baseline(self):
        if self._baseline is None:
            start = time.perf_counter()
            self._baseline = self._load()
            self._timed("load", start)
        return self._baseline

    def compressed(self, spec: CompressionSpec):
        """``(LoadedModel, CompressionReport)`` for ``spec``; ``none`` is the baseline itself."""
        from .compress.api import measure

        key = str(spec)
        if key in self._compressed:
            return self._compressed[key]
        if spec.is_none:
            result = (self.baseline, measure(self.baseline.model, spec, 0.0))
        else:
            self._compressed.clear()  # keep one compressed model in memory at a time
            result = self._load_checkpoint(spec) if _is_checkpoint(spec) else self._make_compressed(spec)
        self._compressed[key] = result
        self.reports[key] = result[1]
        return result

    def _calibration(self, spec: CompressionSpec, tokenizer):
        from .compress.registry import get_method

        if not any(get_method(s.method).needs_calibration for s in spec.steps):
            return None
        from .compress.calibration import calibration_ids, load_calibration_file

        cfg = self.config
        if cfg.calibration:
            return load_calibration_file(cfg.calibration, tokenizer, cfg.calibration_samples, cfg.calibration_seq_len)
        return calibration_ids(tokenizer, samples=cfg.calibration_samples, seq_len=cfg.calibration_seq_len, seed=cfg.seed)

    def _make_compressed(self, spec: CompressionSpec):
        import dataclasses
        import json

        from .compress import compress
        from .compress.api import measure
        from .compress.layers import compressible_layers, set_weight_matrix
        from .compress.registry import LayerReport
        from .models import resolve_device, resolve_dtype
        from .models.fingerprint import weights_fingerprint

        start = time.perf_counter()
        loaded = self._load(keep_fp32=True)
        self._timed("load", start)
        start = time.perf_counter()
        calibration = self._calibration(spec, loaded.tokenizer)
        calib_digest = getattr(calibration, "digest", None)
        device = resolve_device(self.config.device)
        # Calibration forwards run in the evaluation dtype (autocast); the algorithms in float32.
        forward_dtype = resolve_dtype(self.config.dtype, device)
        # Compression kernels differ by device kind (not index) and library version; seeded methods by seed.
        key = make_key("compressed", 2, self.baseline.fingerprint, str(spec), calib_digest, _versions(),
                       device.split(":")[0], self.config.seed, str(forward_dtype))
        layers = compressible_layers(loaded.model)
        with self.cache.lock("compressed", key):
            found = self.cache.get_tensors("compressed", key)
            if found is not None:
                tensors, meta = found
                for name, module in layers.items():
                    set_weight_matrix(module, tensors[name].float())
                for name, param in _side_parameters(loaded.model, layers).items():
                    param.data.copy_(tensors[f"param:{name}"])
                saved = json.loads(meta["report"])
                saved["layers"] = tuple(LayerReport(**l) for l in saved["layers"])
                report = dataclasses.replace(measure(loaded.model, spec, 0.0), **{
                    k: saved[k] for k in ("seconds", "layers")}, cached=True)
            else:
                ids = getattr(calibration, "ids", None)
                report = compress(loaded.model, spec, ids, device=device, seed=self.config.seed,
                                  progress=staged(self.progress, f"compress {spec}"), forward_dtype=forward_dtype)
                from .compress.layers import weight_matrix

                side = {f"param:{n}": p.detach() for n, p in _side_parameters(loaded.model, layers).items()}
                self.cache.put_tensors(
                    "compressed", key, {**{n: weight_matrix(m) for n, m in layers.items()}, **side},
                    {"report": json.dumps(report.to_dict())},
                )
        self._timed("compress", start)
        from .models.loading import check_finite

        check_finite(loaded.model, f"compressed model [{spec}]")
        loaded.fingerprint = weights_fingerprint(loaded.model)
        loaded.dtype = resolve_dtype(self.config.dtype, device)
        loaded.device = device
        loaded.model.to(device=device, dtype=loaded.dtype)
        return loaded, report

    def _load_checkpoint(self, spec):
        """``(LoadedModel, CompressionReport)`` of a checkpoint another tool compressed
        (``--compressed-model``), refused unless it is the baseline's model family."""
        from .models import resolve_dtype, resolve_model
        from .models.checkpoint import check_same_family, checkpoint_report, keeps_own_dtype, loaded_facts

        start = time.perf_counter()
        loaded = self._load(keep_fp32=True, source=resolve_model(spec.model))
        seconds = time.perf_counter() - start
        self._timed("load", start)
        check_same_family(loaded_facts(self.baseline), loaded_facts(loaded), str(self.source), str(loaded.source))
        report = checkpoint_report(loaded, spec, seconds)  # in float32: the eval dtype may blur fine grids
        if not keeps_own_dtype(loaded.model):
            loaded.dtype = resolve_dtype(self.config.dtype, loaded.device)
            loaded.model.to(dtype=loaded.dtype)
        return loaded, report

    def engine(self, loaded):
        from .engine import HFEngine

        if loaded.engine is None:
            stage = f"evaluate {'baseline' if loaded is self._baseline else 'compressed'}"
            loaded.engine = HFEngine(loaded.model, loaded.tokenizer, progress=staged(self.progress, stage))
        return loaded.engine

    def pair(self, spec: CompressionSpec) -> ModelPair:
        compressed, report = self.compressed(spec)
        engines = (self.engine(self.baseline), self.engine(compressed))
        return ModelPair(self.baseline, compressed, spec, report, engines)

    # -- evaluation -------------------------------------------------------------
    def _outputs(self, suite, cases, loaded, reference=None, reference_key=None):
        from .models.fingerprint import environment_fingerprint, tokenizer_fingerprint
        from .suites.base import digest

        engine = self.engine(loaded)
        settings = {"token_budget": engine.token_budget, "chat_template": engine.format.has_chat_template}
        # lineage: the computation without the environment (versions, device, dtype), so a stored
        # result from another environment is found, reported, and recomputed (not served).
        lineage = make_key(
            "outputs", loaded.fingerprint, tokenizer_fingerprint(loaded.tokenizer), suite.describe(),
            suite.version, digest(cases), settings, reference_key,
        )
        environment = environment_fingerprint(loaded.device, loaded.dtype)
        key = make_key(lineage, environment)
        if loaded is self._baseline and key in self._baseline_outputs:
            return self._baseline_outputs[key], True, key  # reused across specs, cache or not
        label = f"{suite.describe()} on the {'baseline' if loaded is self._baseline else 'compressed model'}"
        out, cached = self.cache.json_or_compute(
            "outputs", key, lambda: suite.run(engine, cases, reference),
            environment=environment, lineage=lineage, label=label,
        )
        if loaded is self._baseline:
            self._baseline_outputs[key] = out
        return out, cached, key

    def evaluate(self, spec: CompressionSpec, suite_name: str, params: dict | None = None,
                 rules: list[LimitRule] | tuple = (), decision: str | None = None) -> PairedResult:
        """Run ``suite_name`` on baseline and ``spec``'s compressed model and judge it
        (``decision`` overrides the configured mode)."""
        from .suites import get_suite

        params = dict(params or {})
        if self.config.cases is not None and "n" not in params and "dataset" not in params:
            params["n"] = self.config.cases
        params.setdefault("seed", self.config.seed)
        decision = decision or self.config.decision
        suite = get_suite(suite_name)(**params)
        cases = suite.load_cases()
        compressed, _ = self.compressed(spec)
        all_rules = [*default_rules(suite), *rules]
        limits = {m.name: resolve_limit(all_rules, suite.name, m.name) for m in suite.metrics}
        plan = self.sequential_plan(suite, limits, decision, len(cases))
        base_out, comp_out, base_cached, comp_cached = [], [], True, True
        decided: dict[str, str] = {}
        for look, upto in enumerate(plan.looks if plan else (len(cases),)):
            chunk = cases[len(base_out):upto]
            start = time.perf_counter()
            out, cached, base_key = self._outputs(suite, chunk, self.baseline)
            base_out += out
            base_cached &= cached
            self._timed("baseline eval", start)
            start = time.perf_counter()
            if spec.is_none and not suite.needs_reference:
                comp_out += out
            else:
                ref = out if suite.needs_reference else None
                out, cached, _ = self._outputs(suite, chunk, compressed, ref,
                                               base_key if suite.needs_reference else None)
                comp_out += out
                comp_cached &= cached
            self._timed("compressed eval", start)
            if plan is not None:
                decided = self._sequential_look(suite, limits, plan, look, decision, cases[:upto], base_out, comp_out)
                # Stop once every gated metric is decided, or once one has failed (the gate has).
                if all(v != "continue" for v in decided.values()) or "fail" in decided.values():
                    break
        cases = cases[: len(base_out)]
        base_scores = [suite.score(c, o) for c, o in zip(cases, base_out)]
        comp_scores = [
            suite.score(c, o, r if suite.needs_reference else None) for c, o, r in zip(cases, comp_out, base_out)
        ]
        metrics = {}
        for metric in suite.metrics:
            limit, sources = limits[metric.name]
            metrics[metric.name] = pair_metric(
                suite, metric,
                [s.get(metric.name, float("nan")) for s in base_scores],
                [s.get(metric.name, float("nan")) for s in comp_scores],
                limit, sources, decision, self.config.seed, fail_on_gain=self.config.fail_on_gain,
            )
            if metric.name in decided:
                metrics[metric.name] = metrics[metric.name].with_sequential(decided[metric.name], len(cases), plan)
        outcomes = tuple(CaseOutcome(c["id"], b, s) for c, b, s in zip(cases, base_scores, comp_scores))
        return PairedResult(
            suite=suite.name, spec=str(spec), params=suite.params, metrics=metrics, primary=suite.primary,
            cases=outcomes, decision=decision, baseline_cached=base_cached, compressed_cached=comp_cached,
            planned_cases=len(suite.load_cases()) if plan else len(cases),
        )

    def sequential_plan(self, suite, limits: dict, decision: str, n_cases: int):
        """The group-sequential plan for this gate, or None when it runs all cases at once:
        point mode, sequential off, or a gated metric with a limit other than ``max_drop``
        or ``max_change`` (only changes have a sequential test here)."""
        from .metrics.paired import sequential_plan

        looks = self.config.sequential_looks
        if decision == "point" or looks < 2 or n_cases < 2 * looks:
            return None
        gated = [lim for lim, _ in limits.values() if not lim.is_empty]
        if not gated or any(lim.max_rel_drop is not None or lim.min is not None or lim.max is not None
                            for lim in gated):
            return None
        # One-sided alpha of the 95% two-sided interval, split over the one-sided checks (Bonferroni).
        checks = sum(len(lim.drop_checks(True)) for lim in gated)
        return sequential_plan(n_cases, looks, alpha=0.025 / checks)

    def _sequential_look(self, suite, limits, plan, look, decision, cases, base_out, comp_out) -> dict[str, str]:
        import numpy as np

        from .metrics.paired import sequential_decision

        base = [suite.score(c, o) for c, o in zip(cases, base_out)]
        comp = [suite.score(c, o, r if suite.needs_reference else None) for c, o, r in zip(cases, comp_out, base_out)]
        decided = {}
        for metric in suite.metrics:
            limit, _ = limits[metric.name]
            if limit.is_empty:
                continue
            b = np.array([s.get(metric.name, np.nan) for s in base], dtype=float)
            c = np.array([s.get(metric.name, np.nan) for s in comp], dtype=float)
            verdicts = [sequential_decision(plan, look, b, c, bound, mode=decision, higher_is_better=hib,
                                            binary=metric.binary)
                        for _, bound, hib in limit.drop_checks(metric.higher_is_better)]
            # a metric fails with any of its checks and passes with all of them
            decided[metric.name] = ("fail" if "fail" in verdicts else
                                    "pass" if all(v == "pass" for v in verdicts) else "continue")
        return decided


def _is_checkpoint(spec) -> bool:
    from .models.checkpoint import CheckpointSpec

    return isinstance(spec, CheckpointSpec)


def _side_parameters(model, layers: dict) -> dict:
    """Parameters a method may change besides the layers' weight matrices: norm weights and
    biases (AWQ folds its scales into them). Embeddings and the output head are never changed."""
    import torch

    skip = {id(m.weight) for m in layers.values()}
    skip |= {id(p) for m in model.modules() if isinstance(m, torch.nn.Embedding) for p in m.parameters()}
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is not None:
        skip |= {id(p) for p in head.parameters()}
    return {n: p for n, p in model.named_parameters() if id(p) not in skip}


def default_rules(suite) -> list[LimitRule]:
    """The suite's built-in limits as lowest-precedence rules."""
    rules = []
    for m in suite.metrics:
        values = tuple((k, getattr(m, k)) for k in DEFAULT_LIMIT_KEYS if getattr(m, k) is not None)
        if values:
            rules.append(LimitRule(f"{suite.name}.{m.name}", values, "default"))
    return rules
