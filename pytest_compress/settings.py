"""Every setting of the plugin, once: its option, its ini key, its type, choices, default and help.

:mod:`.plugin` builds ``addoption`` and ``addini`` from :data:`SETTINGS`, resolves the
effective values from it (command line > ini > default, with where each came from), and
``--compress-list`` prints them in this order. A setting is added here and nowhere else.

Values are parsed by :func:`parse_value` from the command line and from the ini file
alike, so both refuse the same things with the same message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .errors import CompressUsageError
from .gate import DECISIONS
from .models.loading import DTYPES

ON_GAIN = ("warn", "fail")


@dataclass(frozen=True)
class Setting:
    """One setting.

    ``key``: its name in the resolved values; ``option``/``ini``: its command-line option and
    ini key (``ini=None``: command line only); ``default``: the built-in value (None: unset, and
    ``unset`` says what that means); ``choices``: the allowed values (case-insensitive);
    ``parse``: text -> value (raises CompressUsageError); ``flag``: a switch with no value;
    ``repeat``: the option may be given many times (its values are a list); ``late``: the command
    line's text is parsed when the configuration is resolved, after conftest files load, not by
    argparse before them (a spec may name a method that a conftest registers)."""

    key: str
    option: str
    ini: str | None
    help: str
    default: Any = None
    unset: str = "(unset)"
    choices: tuple[str, ...] | None = None
    parse: Callable[[str], Any] | None = None
    metavar: str | None = None
    flag: bool = False
    repeat: bool = False
    late: bool = False

    @property
    def resolved(self) -> bool:
        """Whether the value has a place in the effective configuration (CLI > ini > default)."""
        return self.ini is not None and not self.repeat

    def help_text(self) -> str:
        shown = self.default if self.default is not None else self.unset.strip("()")
        tail = f"default: {shown}" + (f"; ini: {self.ini}" if self.ini else "")
        return f"{self.help} ({tail})" if not self.flag else self.help


def parse_value(setting: Setting, text: Any) -> Any:
    """``text`` (from the command line or the ini file) as ``setting``'s value."""
    if not isinstance(text, str):
        return text  # already parsed (the command line's converter ran)
    if setting.choices is not None:
        if text.lower() not in setting.choices:
            raise CompressUsageError(f"{setting.ini or setting.option} must be one of {', '.join(setting.choices)}, "
                                     f"got {text!r}")
        return text.lower()
    return setting.parse(text) if setting.parse is not None else text


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CompressUsageError(f"expected an integer, got {text!r}") from None


def _positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise CompressUsageError(f"expected a positive integer, got {text!r}")
    return value


def _specs(text: str):
    from .spec import parse_spec_list

    return parse_spec_list(text)


def _shard(text: str):
    from .shards import parse_shard

    return parse_shard(text)


def _limit(text: str):
    from .limits import parse_limit

    return parse_limit(text, "cli")


_TABLE = (
    Setting("compress", "--compress", "compress", "compress and gate with these specs, e.g. awq4,gptq3,wanda50",
            unset="(off: pass --compress=SPEC)", parse=_specs, metavar="SPEC[,SPEC...]", late=True),
    Setting("model", "--compress-model", "compress_model",
            "baseline model: HF id, local dir, .gguf file, 'smollm2-135m' or 'tiny'", default="smollm2-135m",
            metavar="MODEL"),
    Setting("device", "--compress-device", "compress_device", "device", default="auto",
            metavar="auto|cpu|cuda|cuda:N"),
    Setting("dtype", "--compress-dtype", "compress_dtype",
            "evaluation dtype: auto = bf16 where the hardware runs it fast, else fp32", default="auto",
            choices=DTYPES),
    Setting("cases", "--compress-cases", "compress_cases",
            "the most cases a gate may draw; it stops earlier once decided", unset="(each suite's own n)",
            parse=_positive_int, metavar="N"),
    Setting("suites", "--compress-suites", "compress_suites",
            "built-in suites to add as tests: all, none, or names/families like tool_use,trust.*", default="all",
            metavar="all|none|NAMES"),
    Setting("decision", "--compress-decision", "compress_decision",
            "what an inconclusive check does to its test: lenient (passes), strict (fails) or point (follows "
            "the point estimate); decided checks are the same in every mode", default="lenient", choices=DECISIONS),
    Setting("seed", "--compress-seed", "compress_seed", "seed for cases, sampling and bootstrap", default=0,
            parse=_int),
    Setting("cache_dir", "--compress-cache-dir", "compress_cache_dir", "cache directory",
            unset="(pytest's cache dir /compress)", metavar="DIR"),
    Setting("calibration", "--compress-calibration", "compress_calibration",
            "calibration text (.txt or .jsonl with a 'text' field), or a built-in source: stdlib (the running "
            "Python's standard-library docstrings), model (text the baseline samples), mixed, generated",
            unset="stdlib (the standard library's docstrings)", metavar="PATH"),
    Setting("on_gain", "--compress-on-gain", "compress_on_gain",
            "a gain larger than max_drop (compressed beats baseline by more than the limit, usually a broken "
            "evaluation): warn or fail", default="warn", choices=ON_GAIN),
    Setting("report", "--compress-report", "compress_report",
            "write report.json, report.md and report.html (with plots) into DIR",
            unset="(off: pass --compress-report=DIR)", metavar="DIR"),
    Setting("export", "--compress-export", "compress_export",
            "write each gated spec's compressed model into DIR/<spec> as a packed compressed-tensors checkpoint "
            "(what transformers and vLLM load); a spec the format cannot hold is an error that says why",
            unset="(off: pass --compress-export=DIR)", metavar="DIR"),
    Setting("compressed_model", "--compressed-model", "compressed_model",
            "gate this already-compressed checkpoint (HF dir or hub id with a GPTQ/AWQ/compressed-tensors config, "
            "or a .gguf file) against --compress-model; alone it is the one pair gated, with --compress it is "
            "gated beside those specs", unset="(off: pass --compressed-model=PATH)", metavar="PATH_OR_ID"),
    Setting("shard", "--compress-shard", "compress_shard",
            "measure only the I-th of N slices of the gate (one CI machine of N) and write shard-I-of-N.json into "
            "--compress-report DIR; judged by --compress-merge", unset="(off)", parse=_shard, metavar="I/N"),
    Setting("limits", "--compress-limit", "compress_limits",
            "a gate limit, repeatable, e.g. 'tool_use: max_drop=0.03' (ini: one per line; the command line's "
            "override the ini's)", parse=_limit, metavar="'PATTERN: key=value'", repeat=True),
    Setting("no_cache", "--compress-no-cache", None, "neither read nor write the cache", flag=True),
    Setting("refresh", "--compress-refresh", None, "recompute and overwrite cache entries", flag=True),
    Setting("merge", "--compress-merge", None,
            "judge the shards in DIR... (their shard-I-of-N.json files) as one gate: print the summary, write the "
            "reports (--compress-report, --junitxml) and exit with the verdict; runs no tests", metavar="DIR",
            repeat=True),
    Setting("list", "--compress-list", None,
            "list methods, suites with their metrics and defaults, and the effective configuration", flag=True),
)

#: key -> Setting, in the order options are registered and listed
SETTINGS: dict[str, Setting] = {s.key: s for s in _TABLE}
