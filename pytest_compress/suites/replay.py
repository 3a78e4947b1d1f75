"""The requests a suite really makes, recorded without a model (:class:`RecordingEngine`):
the scoring benchmark and the bf16-against-fp32 check replay them on real engines."""

from __future__ import annotations

from ..engine.recording import RecordingEngine
from .registry import get_suite


def suite_choice_requests(tokenizer, selection: str) -> tuple[list, dict[str, int]]:
    """The choice requests of each ``suite[:n]`` in the comma list ``selection``
    (e.g. ``"tool_use:4,rag:2"``), and how many came from each suite."""
    requests, counts = [], {}
    for item in selection.split(","):
        name, _, n = item.partition(":")
        suite = get_suite(name)(**({"n": int(n)} if n else {}))
        recorder = RecordingEngine(tokenizer)
        suite.run(recorder, suite.load_cases(), None)
        requests += recorder.requests
        counts[name] = len(recorder.requests)
    return requests, counts
