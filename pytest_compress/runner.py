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
from .limits import LimitRule, resolve_limit
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
    calibration_samples: int = 128
    calibration_seq_len: int = 512
    trust_remote_code: bool = False


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

    def _load(self, *, keep_fp32: bool = False):
        import torch

        from .models import load_model, resolve_device, resolve_dtype

        device = resolve_device(self.config.device)
        dtype = torch.float32 if keep_fp32 else resolve_dtype(self.config.dtype, device)
        root = self.config.cache_dir if self.config.use_cache else None
        return load_model(
            self.source, device="cpu" if keep_fp32 else device, dtype=dtype, cache_root=root,
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
            result = self._make_compressed(spec)
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
        key = make_key("compressed", self.baseline.fingerprint, str(spec), calib_digest, _versions())
        device = resolve_device(self.config.device)
        layers = compressible_layers(loaded.model)
        with self.cache.lock("compressed", key):
            found = self.cache.get_tensors("compressed", key)
            if found is not None:
                tensors, meta = found
                for name, module in layers.items():
                    set_weight_matrix(module, tensors[name].float())
                saved = json.loads(meta["report"])
                saved["layers"] = tuple(LayerReport(**l) for l in saved["layers"])
                report = dataclasses.replace(measure(loaded.model, spec, 0.0), **{
                    k: saved[k] for k in ("seconds", "layers")}, cached=True)
            else:
                ids = getattr(calibration, "ids", None)
                report = compress(loaded.model, spec, ids, device=device, seed=self.config.seed, progress=self.progress)
                from .compress.layers import weight_matrix

                self.cache.put_tensors(
                    "compressed", key, {n: weight_matrix(m) for n, m in layers.items()},
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

    def engine(self, loaded):
        from .engine import HFEngine

        if loaded.engine is None:
            loaded.engine = HFEngine(loaded.model, loaded.tokenizer, progress=self.progress)
        return loaded.engine

    def pair(self, spec: CompressionSpec) -> ModelPair:
        compressed, report = self.compressed(spec)
        engines = (self.engine(self.baseline), self.engine(compressed))
        return ModelPair(self.baseline, compressed, spec, report, engines)

    # -- evaluation -------------------------------------------------------------
    def _outputs(self, suite, cases, loaded, reference=None, reference_key=None):
        from .models.fingerprint import tokenizer_fingerprint
        from .suites.base import digest

        engine = self.engine(loaded)
        settings = {
            "dtype": str(loaded.dtype), "device": str(loaded.device).split(":")[0],
            "token_budget": engine.token_budget, "chat_template": engine.format.has_chat_template,
        }
        key = make_key(
            "outputs", loaded.fingerprint, tokenizer_fingerprint(loaded.tokenizer), suite.describe(),
            suite.version, digest(cases), settings, _versions(), reference_key,
        )
        out, cached = self.cache.json_or_compute("outputs", key, lambda: suite.run(engine, cases, reference))
        return out, cached, key

    def evaluate(self, spec: CompressionSpec, suite_name: str, params: dict | None = None,
                 rules: list[LimitRule] | tuple = (), decision: str | None = None) -> PairedResult:
        """Run ``suite_name`` on baseline and ``spec``'s compressed model and judge it
        (``decision`` overrides the configured mode)."""
        from .suites import get_suite

        params = dict(params or {})
        if self.config.cases is not None and "n" not in params:
            params["n"] = self.config.cases
        params.setdefault("seed", self.config.seed)
        decision = decision or self.config.decision
        suite = get_suite(suite_name)(**params)
        cases = suite.cases()
        compressed, _ = self.compressed(spec)
        start = time.perf_counter()
        base_out, base_cached, base_key = self._outputs(suite, cases, self.baseline)
        self._timed("baseline eval", start)
        start = time.perf_counter()
        if spec.is_none and not suite.needs_reference:
            comp_out, comp_cached = base_out, base_cached
        else:
            ref = base_out if suite.needs_reference else None
            comp_out, comp_cached, _ = self._outputs(
                suite, cases, compressed, ref, base_key if suite.needs_reference else None
            )
        self._timed("compressed eval", start)
        base_scores = [suite.score(c, o) for c, o in zip(cases, base_out)]
        comp_scores = [
            suite.score(c, o, r if suite.needs_reference else None) for c, o, r in zip(cases, comp_out, base_out)
        ]
        all_rules = [*default_rules(suite), *rules]
        metrics = {}
        for metric in suite.metrics:
            limit, sources = resolve_limit(all_rules, suite.name, metric.name)
            metrics[metric.name] = pair_metric(
                suite, metric,
                [s.get(metric.name, float("nan")) for s in base_scores],
                [s.get(metric.name, float("nan")) for s in comp_scores],
                limit, sources, decision, self.config.seed,
            )
        outcomes = tuple(CaseOutcome(c["id"], b, s) for c, b, s in zip(cases, base_scores, comp_scores))
        return PairedResult(
            suite=suite.name, spec=str(spec), params=suite.params, metrics=metrics, primary=suite.primary,
            cases=outcomes, decision=decision, baseline_cached=base_cached, compressed_cached=comp_cached,
        )


def default_rules(suite) -> list[LimitRule]:
    """The suite's built-in limits as lowest-precedence rules."""
    rules = []
    for m in suite.metrics:
        values = tuple((k, getattr(m, k)) for k in ("max_drop", "min", "max") if getattr(m, k) is not None)
        if values:
            rules.append(LimitRule(f"{suite.name}.{m.name}", values, "default"))
    return rules
