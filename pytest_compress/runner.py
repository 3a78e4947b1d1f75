"""The library behind the plugin: load, compress, evaluate, pair, judge.

:class:`GateRunner` is what ``pytest --compress`` drives, and what a notebook
can use directly::

    runner = GateRunner(RunConfig(model="smollm2-135m", cache_dir=Path(".cache")))
    result = runner.evaluate(parse_spec("rtn4"), "tool_use", {"n": 200})
    print(result.passed, result.drop, result.interval)

``n`` is a cap: cases are drawn in growing batches until the gate is settled
(:meth:`GateRunner.measure`). Models are loaded lazily, the baseline once; one compressed model is kept at a
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
from .errors import CompressError
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
    decision: str = "lenient"
    seed: int = 0
    cases: int | None = None
    #: a .txt/.jsonl file, or a built-in source (``compress.calibration.SOURCES``); None: the default source
    calibration: str | None = None
    #: 32 x 512 tokens: a quarter of the papers' 128 samples, so that calibrating on a
    #: 2-core CPU takes minutes, not tens of minutes (benchmarks/README.md has the effect)
    calibration_samples: int = 32
    calibration_seq_len: int = 512
    trust_remote_code: bool = False
    #: fail (rather than warn about) a gain larger than max_drop: usually a broken evaluation
    fail_on_gain: bool = False
    #: write each compressed spec's model into ``export_dir/<spec>`` as a packed checkpoint
    export_dir: Path | None = None

    def __post_init__(self):
        for name in ("cache_dir", "export_dir"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, Path(getattr(self, name)))


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

    def baseline_identity(self) -> dict | None:
        """The loaded baseline's weights fingerprint, device kind and dtype (None before it loads):
        what shards of one gate must share."""
        if self._baseline is None:
            return None
        b = self._baseline
        return {"fingerprint": b.fingerprint, "device": str(b.device).split(":")[0], "dtype": str(b.dtype)}

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

    def _calibration(self, spec: CompressionSpec, tokenizer, model=None):
        """The spec's calibration (None when no step needs one): the user's file, else a built-in
        source; ``model`` (the fp32 baseline) is what the ``model`` and ``mixed`` sources sample."""
        from .compress.registry import get_method

        if not any(get_method(s.method)(s).needs_calibration for s in spec.steps):
            return None
        from .compress.calibration import DEFAULT_SOURCE, SOURCES, calibration_ids, load_calibration_file

        cfg = self.config
        if cfg.calibration and (cfg.calibration not in SOURCES or Path(cfg.calibration).is_file()):
            return load_calibration_file(cfg.calibration, tokenizer, cfg.calibration_samples, cfg.calibration_seq_len)
        return calibration_ids(tokenizer, model=model, samples=cfg.calibration_samples,
                               seq_len=cfg.calibration_seq_len, seed=cfg.seed, source=cfg.calibration or DEFAULT_SOURCE)

    def _make_compressed(self, spec: CompressionSpec):
        import dataclasses
        import json

        from .compress import compress
        from .compress.api import attach_runtime, measure
        from .compress.layers import compressible_layers, set_weight_matrix
        from .compress.quantizer import grids_from_tensors, grids_to_tensors
        from .compress.registry import LayerReport
        from .models import resolve_device, resolve_dtype
        from .models.fingerprint import weights_fingerprint

        start = time.perf_counter()
        loaded = self._load(keep_fp32=True)
        self._timed("load", start)
        start = time.perf_counter()
        calibration = self._calibration(spec, loaded.tokenizer, loaded.model)
        calib_digest = getattr(calibration, "digest", None)
        device = resolve_device(self.config.device)
        # Calibration forwards run in the evaluation dtype (autocast); the algorithms in float32.
        forward_dtype = resolve_dtype(self.config.dtype, device)
        # Compression kernels differ by device kind (not index) and library version; seeded methods by seed.
        key = make_key("compressed", 3, self.baseline.fingerprint, str(spec), calib_digest, _versions(),
                       device.split(":")[0], self.config.seed, str(forward_dtype))
        layers = compressible_layers(loaded.model)
        if self.config.export_dir is not None:  # before compressing: a spec the format cannot hold costs nothing
            from .compress.export import check_exportable

            check_exportable(loaded.model, spec)
        with self.cache.lock("compressed", key):
            found = self.cache.get_tensors("compressed", key)
            if found is not None:
                tensors, meta = found
                for name, module in layers.items():
                    set_weight_matrix(module, tensors[name].float())
                for name, param in _side_parameters(loaded.model, layers).items():
                    param.data.copy_(tensors[f"param:{name}"])
                attach_runtime(loaded.model, spec)  # quantized activations / KV cache are not in the weights
                saved = json.loads(meta["report"])
                saved["layers"] = tuple(LayerReport(**l) for l in saved["layers"])
                report = dataclasses.replace(measure(loaded.model, spec, 0.0), seconds=saved["seconds"],
                                             layers=saved["layers"], notes=tuple(saved.get("notes", ())), cached=True,
                                             grids=grids_from_tensors(tensors, json.loads(meta.get("grids", "{}"))))
            else:
                ids = getattr(calibration, "ids", None)
                report = compress(loaded.model, spec, ids, device=device, seed=self.config.seed,
                                  progress=staged(self.progress, f"compress {spec}"), forward_dtype=forward_dtype)
                from .compress.layers import weight_matrix

                side = {f"param:{n}": p.detach() for n, p in _side_parameters(loaded.model, layers).items()}
                grid_tensors, grid_meta = grids_to_tensors(report.grids)
                self.cache.put_tensors(
                    "compressed", key, {**{n: weight_matrix(m) for n, m in layers.items()}, **side, **grid_tensors},
                    {"report": json.dumps(report.to_dict()), "grids": json.dumps(grid_meta)},
                )
        self._timed("compress", start)
        from .models.loading import check_finite

        check_finite(loaded.model, f"compressed model [{spec}]", error=CompressError,
                     why="the compression produced them; this spec cannot be gated (try other settings)")
        if self.config.export_dir is not None:
            from .compress.export import export_checkpoint, export_name

            start = time.perf_counter()
            record = export_checkpoint(loaded.model, loaded.tokenizer, spec, report.grids,
                                       self.config.export_dir / export_name(spec))
            report = dataclasses.replace(report, export=record)
            self._timed("export", start)
        if calibration is not None:
            report = dataclasses.replace(report, calibration=(
                f"{calibration.source}, {calibration.ids.shape[0]}x{calibration.ids.shape[1]} tokens, "
                f"sha256 {calibration.digest[:12]}"))
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

        from .engine import check_serves

        engine = self.engine(loaded)
        check_serves(engine, suite.needs, suite.describe())
        # lineage: the computation without the environment (versions, device, dtype), so a stored
        # result from another environment is found, reported, and recomputed (not served).
        # The cap (n) is left out: the cases' digest names them, so a batch is reused under any cap.
        lineage = make_key(
            "outputs", loaded.fingerprint, tokenizer_fingerprint(loaded.tokenizer), suite.describe(omit=("n",)),
            suite.version, digest(cases), engine.cache_settings, reference_key,
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

    def _suite(self, suite_name: str, params: dict | None):
        from .suites import get_suite

        params = dict(params or {})
        if self.config.cases is not None and "n" not in params and "dataset" not in params:
            params["n"] = self.config.cases
        params.setdefault("seed", self.config.seed)
        return get_suite(suite_name)(**params)

    def _limits(self, suite, rules) -> dict:
        all_rules = [*default_rules(suite), *rules]
        return {m.name: resolve_limit(all_rules, suite.name, m.name) for m in suite.metrics}

    def check(self, suite_name: str, params: dict | None = None, rules: list[LimitRule] | tuple = ()) -> str | None:
        """Everything about a gate that can be wrong before a model loads: the suite, its
        parameters, its dataset (read and validated in full) and its limits. Returns what a
        foreign-format dataset was read as (None otherwise); raises the CompressError that
        names the fault."""
        from .suites.formats import describe

        suite = self._suite(suite_name, params)
        cases = suite.load_cases()
        self._limits(suite, rules)
        return describe(suite.dataset, suite.name, cases) if suite.dataset is not None else None

    def count_checks(self, spec: CompressionSpec, suite_name: str, params: dict | None = None,
                     rules: list[LimitRule] | tuple = ()) -> int:
        """The statistical checks this gate adds to its spec's family (no model is loaded):
        for the ``none`` control only those on a score measured on its own (the rest are exact)."""
        from .gate import checks_for

        suite = self._suite(suite_name, params)
        checks = [c for name, (limit, _) in self._limits(suite, rules).items() for c in checks_for(name, limit)]
        return sum(1 for c in checks if not (spec.is_none and (c.on_drop or suite.needs_reference)))

    def measure(self, spec: CompressionSpec, suite_name: str, params: dict | None = None,
                rules: list[LimitRule] | tuple = (), decision: str | None = None,
                family: int | None = None) -> PairedResult:
        """Run ``suite_name`` on the baseline and ``spec``'s compressed model, drawing cases in
        growing batches until every gated check is settled at the family's first Holm level,
        one is shown to fail, or the cap (the suite's ``n``) is reached. The result's checks
        are measured, not yet decided (:func:`pytest_compress.gate.decide` does that).

        ``family``: how many statistical checks the spec's family holds (default: this gate's)."""
        from .gate.measure import batch_ends, stop_reason

        suite = self._suite(suite_name, params)
        decision = decision or self.config.decision
        cases = suite.load_cases()
        cap = len(cases)
        compressed, _ = self.compressed(spec)
        identical = spec.is_none or compressed.fingerprint == self.baseline.fingerprint
        limits = self._limits(suite, rules)
        family = family or max(1, self.count_checks(spec, suite_name, params, rules))
        base_out, comp_out, base_scores, comp_scores = [], [], [], []
        base_cached = comp_cached = True
        stopped, metrics = "cap", {}
        for upto in batch_ends(cap):
            chunk = cases[len(base_out):upto]
            start = time.perf_counter()
            out, cached, base_key = self._outputs(suite, chunk, self.baseline)
            self._timed("baseline eval", start)
            base_cached &= cached
            start = time.perf_counter()
            if spec.is_none and not suite.needs_reference:
                comp = out
            else:
                ref = out if suite.needs_reference else None
                comp, cached, _ = self._outputs(suite, chunk, compressed, ref,
                                                base_key if suite.needs_reference else None)
                comp_cached &= cached
            self._timed("compressed eval", start)
            base_out += out
            comp_out += comp
            base_scores += [suite.score(c, o) for c, o in zip(chunk, out)]
            comp_scores += [suite.score(c, o, r if suite.needs_reference else None)
                            for c, o, r in zip(chunk, comp, out)]
            metrics = {
                m.name: pair_metric(suite, m, [s.get(m.name, float("nan")) for s in base_scores],
                                    [s.get(m.name, float("nan")) for s in comp_scores], *limits[m.name],
                                    self.config.seed, identical=identical, final=upto == cap, family=family)
                for m in suite.metrics
            }
            reason = None if upto == cap else stop_reason([c for m in metrics.values() for c in m.checks], family)
            if reason is not None:
                stopped = reason
                break
        outcomes = tuple(CaseOutcome(c["id"], b, s) for c, b, s in zip(cases, base_scores, comp_scores))
        return PairedResult(
            suite=suite.name, spec=str(spec), params=suite.params, metrics=metrics, primary=suite.primary,
            cases=outcomes, decision=decision, baseline_cached=base_cached, compressed_cached=comp_cached,
            planned_cases=cap, stopped=stopped,
        )

    def evaluate(self, spec: CompressionSpec, suite_name: str, params: dict | None = None,
                 rules: list[LimitRule] | tuple = (), decision: str | None = None) -> PairedResult:
        """:meth:`measure` one gate and decide it as a family of its own (``decision``
        overrides the configured mode)."""
        from .gate import decide

        result = self.measure(spec, suite_name, params, rules, decision)
        return decide([result], fail_on_gain=self.config.fail_on_gain)[0]


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
