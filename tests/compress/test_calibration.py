"""Built-in calibration text, model sampling and user calibration files."""

import json

import pytest
import torch

from pytest_compress.compress.calibration import (
    Calibration, calibration_ids, generated_text, load_calibration_file,
)
from pytest_compress.errors import DatasetError

from tiny_models import VOCAB, tiny_model


class CharTokenizer:
    """A dependency-free stand-in: one id per character (mod the tiny vocabulary)."""

    bos_token_id, eos_token_id = 1, 2

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [3 + ord(ch) % (VOCAB - 3) for ch in text]}


def test_generated_text_is_deterministic_and_varied():
    a, b = generated_text(5000, seed=0), generated_text(5000, seed=1)
    assert a == generated_text(5000, seed=0) and a != b
    sentences = set(a.replace("?", ".").split(". "))
    assert len(sentences) > 30
    assert "\n\n" in a


def test_calibration_ids_shape_and_digest():
    tok = CharTokenizer()
    cal = calibration_ids(tok, samples=6, seq_len=40, seed=0)
    assert isinstance(cal, Calibration)
    assert cal.ids.shape == (6, 40) and cal.ids.dtype == torch.long
    assert cal.digest == calibration_ids(tok, samples=6, seq_len=40, seed=0).digest
    assert cal.digest != calibration_ids(tok, samples=6, seq_len=40, seed=1).digest
    assert len(cal.digest) == 64 and "standard-library docstrings" in cal.source  # the default source
    generated = calibration_ids(tok, samples=6, seq_len=40, seed=0, source="generated")
    assert "generated" in generated.source and generated.digest != cal.digest


def _distinct_words(text: str, words: int = 10_000) -> int:
    import re

    return len(set(re.findall(r"[a-z]+", text.lower())[:words]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_default_source_is_diverse_real_text(seed):
    """The default calibration speaks a real language: over 1,000 distinct words in its first
    10,000 (measured 1,404-1,536 on Python 3.11); the template text, under 300 (measured 194)."""
    from pytest_compress.compress import stdlib_corpus

    text = "\n\n".join(stdlib_corpus.documents("calibration", seed, enough_chars=200_000))
    assert _distinct_words(text) > 1000
    assert _distinct_words(generated_text(200_000, seed)) < 300


def test_stdlib_parts_are_disjoint_and_stable():
    from pytest_compress.compress import stdlib_corpus

    calibration = {m for m, _ in stdlib_corpus.module_files("calibration")}
    held_out = {m for m, _ in stdlib_corpus.module_files("held_out")}
    assert calibration and held_out and not calibration & held_out
    assert 0.1 < len(held_out) / (len(calibration) + len(held_out)) < 0.3
    assert stdlib_corpus.part_of("json.decoder") == stdlib_corpus.part_of("json.decoder")
    assert not any(m.startswith(("test.", "idlelib")) or ".test_" in m for m in calibration | held_out)
    assert stdlib_corpus.documents("held_out", 0, enough_chars=1000)  # real text to measure quality on


def test_a_module_that_does_not_parse_gives_no_document(tmp_path):
    from pytest_compress.compress.stdlib_corpus import module_document

    bad = tmp_path / "bad.py"
    bad.write_text("def broken(:\n")
    assert module_document(bad) == ""
    good = tmp_path / "good.py"
    good.write_text('"""' + "A module that explains itself at some length. " * 6 + '"""\n')
    assert module_document(good).startswith("A module that explains itself")


def test_sources_that_are_unknown_or_need_a_model_say_so():
    with pytest.raises(DatasetError, match=r"unknown calibration source 'wiki'.*stdlib, model, mixed, generated"):
        calibration_ids(CharTokenizer(), samples=2, seq_len=8, source="wiki")
    with pytest.raises(DatasetError, match=r"'mixed' samples the baseline model; none was given"):
        calibration_ids(CharTokenizer(), samples=2, seq_len=8, source="mixed")


def test_mixed_is_half_stdlib_half_model_samples():
    model, tok = tiny_model("llama"), CharTokenizer()
    mixed = calibration_ids(tok, model=model, samples=4, seq_len=8, seed=0, source="mixed")
    stdlib = calibration_ids(tok, samples=2, seq_len=8, seed=0, source="stdlib")
    sampled = calibration_ids(tok, model=model, samples=2, seq_len=8, seed=0, source="model")
    assert torch.equal(mixed.ids, torch.cat([stdlib.ids, sampled.ids])) and mixed.source.startswith("mixed")


def test_model_sampled_calibration_is_seeded():
    model = tiny_model("llama")
    tok = CharTokenizer()
    state = torch.random.get_rng_state()
    a = calibration_ids(tok, model=model, samples=2, seq_len=6, seed=3)
    assert torch.equal(state, torch.random.get_rng_state())  # global RNG untouched
    b = calibration_ids(tok, model=model, samples=2, seq_len=6, seed=3)
    assert a.ids.shape == (2, 6) and torch.equal(a.ids, b.ids) and a.digest == b.digest
    assert (a.ids[:, 0] == tok.bos_token_id).all()


def test_txt_documents_split_on_blank_lines(tmp_path):
    path = tmp_path / "docs.txt"
    path.write_text("first document here\n\nsecond one\n\n\nthird")
    cal = load_calibration_file(path, CharTokenizer(), samples=10, seq_len=8)
    n_tokens = len("first document here") + len("second one") + len("third") + 3  # + EOS each
    assert cal.ids.shape == (n_tokens // 8, 8)
    assert (cal.ids == CharTokenizer.eos_token_id).sum() >= 2
    assert cal.source == "file:docs.txt"


def test_jsonl_reads_text_field(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps({"text": "x" * 20, "id": i}) for i in range(3)) + "\n")
    cal = load_calibration_file(path, CharTokenizer(), samples=2, seq_len=10)
    assert cal.ids.shape == (2, 10)


@pytest.mark.parametrize("bad,expect", [
    ('{"txt": "oops"}', "line 3: missing field 'text'"),
    ('{"text": 5}', "line 3, field 'text': expected string, got 5"),
    ("not json", "line 3: not valid JSON"),
])
def test_malformed_jsonl_names_line_and_field(tmp_path, bad, expect):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"text": "hello world"}) + "\n\n" + bad + "\n")
    with pytest.raises(DatasetError) as info:
        load_calibration_file(path, CharTokenizer(), samples=1, seq_len=4)
    assert expect in str(info.value)
    assert "d.jsonl" in str(info.value)


def test_too_little_text_and_bad_suffix(tmp_path):
    short = tmp_path / "s.txt"
    short.write_text("tiny")
    with pytest.raises(DatasetError, match="fewer than one sequence"):
        load_calibration_file(short, CharTokenizer(), samples=1, seq_len=64)
    other = tmp_path / "x.csv"
    other.write_text("a,b")
    with pytest.raises(DatasetError, match=".txt or .jsonl"):
        load_calibration_file(other, CharTokenizer())
