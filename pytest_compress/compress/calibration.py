"""Built-in calibration data, with nothing downloaded.

* :func:`calibration_ids` tokenizes a built-in source: the running Python's
  standard-library docstrings (the default: real text, nothing downloaded),
  text sampled from the baseline model with a fixed seed, a mix of the two, or
  :func:`generated_text` (template sentences from this module's word lists: a
  narrow language that misleads GPTQ and SparseGPT, kept for tests).
* :func:`load_calibration_file` reads a user's ``.txt`` (documents separated
  by blank lines) or ``.jsonl`` (one ``{"text": ...}`` object per line).

Each returns a :class:`Calibration`: the ``[samples, seq_len]`` ids, a sha256
digest of them for cache keys, and a short description of the source.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import DatasetError
from ..casefile import CaseField, load_cases

SUBJECTS = ["the engineer", "a young farmer", "my neighbour", "the old captain", "our teacher", "a quiet student",
            "the committee", "the doctor", "her brother", "the small company", "a travelling musician", "the city council",
            "the baker", "a tired nurse", "the research team", "his grandmother", "the new manager", "a curious child"]
VERBS = ["repaired", "painted", "discovered", "described", "carried", "ignored", "measured", "borrowed", "cleaned",
         "designed", "questioned", "planted", "moved", "studied", "sold", "recommended", "reviewed", "built"]
OBJECTS = ["the wooden bridge", "a broken clock", "the annual report", "an empty warehouse", "the garden fence",
           "a detailed map", "the kitchen table", "an unusual theory", "the river path", "a set of old letters",
           "the school roof", "a bright red bicycle", "the budget proposal", "a pile of stones", "the harbour lights"]
ADVERBS = ["carefully", "quickly", "without a word", "for the second time", "after a long delay", "with great patience",
           "almost by accident", "in secret", "before sunrise", "with some help", "reluctantly", "at last"]
PLACES = ["near the station", "in the northern valley", "behind the library", "on the edge of town", "at the market",
          "by the lake", "in a crowded hall", "across the border", "under the old bridge", "in the back office"]
TIMES = ["Last winter", "On Monday", "Every spring", "Early in the morning", "During the storm", "Years ago",
         "After the meeting", "Later that evening", "In the summer of that year", "Before the holidays"]
ADJECTIVES = ["careful", "expensive", "simple", "strange", "useful", "difficult", "pleasant", "noisy", "ancient", "fragile"]
NOUNS = ["plan", "journey", "decision", "experiment", "problem", "story", "question", "machine", "recipe", "agreement"]
CONNECTORS = ["because", "although", "while", "even though", "so that", "until"]
NUMBERS = ["two", "three", "seven", "twelve", "forty", "a hundred", "several", "a few"]


def _sentence(rng: random.Random) -> str:
    c = rng.choice
    forms = [
        lambda: f"{c(TIMES)}, {c(SUBJECTS)} {c(VERBS)} {c(OBJECTS)} {c(PLACES)}.",
        lambda: f"{c(SUBJECTS).capitalize()} {c(VERBS)} {c(OBJECTS)} {c(ADVERBS)}.",
        lambda: f"{c(SUBJECTS).capitalize()} {c(VERBS)} {c(OBJECTS)} {c(CONNECTORS)} {c(SUBJECTS)} {c(VERBS)} {c(OBJECTS)}.",
        lambda: f"The {c(NOUNS)} was {c(ADJECTIVES)}, and {c(SUBJECTS)} said so {c(ADVERBS)}.",
        lambda: f"Why had {c(SUBJECTS)} {c(VERBS)} {c(OBJECTS)} {c(PLACES)}?",
        lambda: f"It took {c(NUMBERS)} days before {c(SUBJECTS)} understood the {c(ADJECTIVES)} {c(NOUNS)}.",
        lambda: f"\"This {c(NOUNS)} is {c(ADJECTIVES)},\" said {c(SUBJECTS)}, who had {c(VERBS)} {c(OBJECTS)}.",
        lambda: f"{c(PLACES).capitalize()}, {c(NUMBERS)} people waited while {c(SUBJECTS)} {c(VERBS)} {c(OBJECTS)}.",
    ]
    return c(forms)()


def generated_text(n_chars: int, seed: int = 0) -> str:
    """At least ``n_chars`` characters of paragraphs of generated English sentences."""
    rng = random.Random(seed)
    paragraphs, size = [], 0
    while size < n_chars:
        para = " ".join(_sentence(rng) for _ in range(rng.randint(3, 8)))
        paragraphs.append(para)
        size += len(para) + 2
    return "\n\n".join(paragraphs)


@dataclass(frozen=True, eq=False)
class Calibration:
    """Calibration token ids ``[samples, seq_len]`` with their sha256 ``digest`` and ``source``."""

    ids: torch.Tensor
    digest: str
    source: str


def _make(ids: torch.Tensor, source: str) -> Calibration:
    ids = ids.long().contiguous()
    h = hashlib.sha256(str(tuple(ids.shape)).encode())
    h.update(ids.cpu().numpy().tobytes())
    return Calibration(ids, h.hexdigest(), source)


def _windows(token_ids: list[int], samples: int, seq_len: int) -> torch.Tensor:
    n = min(samples, len(token_ids) // seq_len)
    return torch.tensor(token_ids[: n * seq_len], dtype=torch.long).view(n, seq_len)


def _encode(tokenizer, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


#: built-in calibration sources; "stdlib" is the default (chosen by benchmarks/compress_quality.py,
#: see the README's quality table), "generated" is this module's template text (kept for tests)
SOURCES = ("stdlib", "model", "mixed", "generated")
DEFAULT_SOURCE = "stdlib"


def _joined(tokenizer, docs) -> list[int]:
    """Documents tokenized and joined by EOS (so a window may span a document boundary, as in use)."""
    sep = [] if tokenizer.eos_token_id is None else [tokenizer.eos_token_id]
    ids: list[int] = []
    for doc in docs:
        ids += _encode(tokenizer, doc) + sep
    return ids


def stdlib_ids(tokenizer, samples: int, seq_len: int, seed: int, part: str = "calibration") -> torch.Tensor:
    """``[samples, seq_len]`` ids of standard-library docstrings from ``part`` (``held_out``: text
    calibration never reads, for measuring quality)."""
    from . import stdlib_corpus

    chars = samples * seq_len * 5
    while True:
        docs = stdlib_corpus.documents(part, seed, enough_chars=chars)
        ids = _joined(tokenizer, docs)
        if len(ids) >= samples * seq_len or len(docs) == len(stdlib_corpus.documents(part, seed)):
            break
        chars *= 2
    if len(ids) < seq_len:
        raise DatasetError(f"the standard library at {stdlib_corpus.stdlib_root()} holds {len(ids)} tokens of "
                           "docstrings, fewer than one calibration sequence; pass --compress-calibration=FILE")
    return _windows(ids, samples, seq_len)


def _model_ids(model, tokenizer, samples: int, seq_len: int, seed: int) -> torch.Tensor:
    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    device = next(model.parameters()).device
    with torch.random.fork_rng(devices=[] if device.type == "cpu" else [device]), torch.no_grad():
        torch.manual_seed(seed)
        prompt = torch.full((samples, 1), start, dtype=torch.long, device=device)
        out = model.generate(
            prompt, attention_mask=torch.ones_like(prompt), do_sample=True, temperature=1.0, top_k=0,
            top_p=1.0, max_new_tokens=seq_len - 1, min_new_tokens=seq_len - 1,
            pad_token_id=start,
        )
    return out[:, :seq_len].cpu()


def calibration_ids(tokenizer, model=None, samples: int = 128, seq_len: int = 512, seed: int = 0,
                    source: str | None = None) -> Calibration:
    """``samples`` sequences of ``seq_len`` tokens from a built-in ``source`` (see :data:`SOURCES`):

    * ``stdlib``: docstrings of the running Python's standard library (its calibration part,
      :mod:`.stdlib_corpus`), documents in a seeded order joined by EOS;
    * ``model``: text ``model`` samples from its BOS (or EOS) token, temperature 1, full
      vocabulary, under ``torch`` seed ``seed`` (the global RNG state is restored afterwards);
    * ``mixed``: half ``stdlib``, half ``model``;
    * ``generated``: this module's template sentences (a narrow language: for tests only).

    Without ``source``: ``model`` when a model is given, else :data:`DEFAULT_SOURCE`.
    """
    source = source or ("model" if model is not None else DEFAULT_SOURCE)
    if source not in SOURCES:
        raise DatasetError(f"unknown calibration source {source!r}; use one of {', '.join(SOURCES)} or a file")
    if source in ("model", "mixed") and model is None:
        raise DatasetError(f"calibration source {source!r} samples the baseline model; none was given")
    if source == "generated":
        chars = samples * seq_len * 6
        while True:
            ids = _encode(tokenizer, generated_text(chars, seed))
            if len(ids) >= samples * seq_len:
                return _make(_windows(ids, samples, seq_len), f"generated-text(seed={seed})")
            chars *= 2
    if source == "stdlib":
        from .stdlib_corpus import describe

        return _make(stdlib_ids(tokenizer, samples, seq_len, seed), f"{describe()}(seed={seed})")
    if source == "model":
        return _make(_model_ids(model, tokenizer, samples, seq_len, seed), f"model-samples(seed={seed})")
    from .stdlib_corpus import describe

    half = samples // 2
    ids = torch.cat([stdlib_ids(tokenizer, half, seq_len, seed),
                     _model_ids(model, tokenizer, samples - half, seq_len, seed)])
    return _make(ids, f"mixed: {describe()} + model-samples(seed={seed})")


CALIBRATION_FIELDS = (CaseField("text", str, "one calibration document"),)


def _read_documents(path: Path) -> list[str]:
    if path.suffix == ".jsonl":
        return [case["text"] for case in load_cases(path, CALIBRATION_FIELDS, "calibration", strict=False)]
    if path.suffix == ".txt":
        text = path.read_text(encoding="utf-8")
        return [d for d in (p.strip() for p in text.split("\n\n")) if d] or [text]
    raise DatasetError(f"{path}: calibration files must be .txt or .jsonl")


def load_calibration_file(path, tokenizer, samples: int = 128, seq_len: int = 512) -> Calibration:
    """Tokenize a user's documents, joined by EOS, into up to ``samples`` windows of ``seq_len``.

    Returns fewer sequences when the file holds fewer tokens; raises
    :class:`~pytest_compress.errors.DatasetError` when it holds less than one window.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"calibration file {path} does not exist; give a .txt/.jsonl file or a built-in "
                           f"source ({', '.join(SOURCES)})")
    ids = _joined(tokenizer, _read_documents(path))
    if len(ids) < seq_len:
        raise DatasetError(f"{path}: {len(ids)} tokens, fewer than one sequence of {seq_len}")
    return _make(_windows(ids, samples, seq_len), f"file:{path.name}")
