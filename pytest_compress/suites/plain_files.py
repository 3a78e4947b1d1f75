"""Long-context and RAG cases from a team's own plain files: ``haystack:DIR`` and ``docs:DIR``.

``dataset="haystack:DIR"`` (suite ``needle``):

* ``DIR/*.txt``, ``DIR/*.md``: the haystack. Every file, in name order, is read as
  one corpus of paragraphs (blank lines between them) and sentences.
* ``DIR/needles.jsonl``: one needle per line, ``{"fact", "question", "answer",
  "answer_prefix" (optional), "id" (optional)}``. The answer's words must be in the fact.

There is one case per needle x context length x depth (the suite's
``context_lengths`` and ``depths``). A case's haystack is a seeded, contiguous
run of whole sentences from the corpus, cut to the context length in
approximate tokens (:func:`.long_context.take_sentences`). The window is drawn
once per needle and length, so only the depth varies across that needle's
cases. The fact is planted at the depth by :func:`.long_context.plant`, the
code the generated cases use, and with ``distractors=k`` the facts of k other
needles go elsewhere in the text. A case's id is
``<file>/<needle id>/<length>/<depth>``, where the file is the one the window
starts in.

``dataset="docs:DIR"`` (suite ``rag``):

* ``DIR/*.txt``, ``DIR/*.md``: one document per file; its id is the file's stem.
* ``DIR/documents.jsonl`` (optional): more documents, ``{"id", "text"}`` per line.
* ``DIR/questions.jsonl``: ``{"question", "choices", "answer", "gold_id",
  "answer_prefix" (optional), "gold_depth" (optional), "id" (optional)}``.

Each question becomes one case in the ``rag`` schema. ``gold_document`` is the
text of ``gold_id``. ``documents`` holds all the other documents in id order,
and the suite's retriever picks the k-1 of them that are shown. A document's
whitespace is collapsed to single spaces, because the prompt lists one document
per line.

Both readers only read files; neither imports pytest or torch.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from ..errors import DatasetError, did_you_mean
from ..casefile import CaseField, load_cases
from .long_context import CHARS_PER_TOKEN, plant, take_sentences, words

TEXT_SUFFIXES = (".txt", ".md")
HAYSTACK_LAYOUT = ("Expected dataset='haystack:DIR', a directory holding the haystack as .txt/.md files and "
                   "needles.jsonl (one JSON object per line: fact, question, answer, optional answer_prefix, id)")
DOCS_LAYOUT = ("Expected dataset='docs:DIR', a directory holding the documents (.txt/.md files, id = file stem, "
               "and/or documents.jsonl lines {id, text}) and questions.jsonl (one JSON object per line: "
               "question, choices, answer, gold_id, optional answer_prefix, gold_depth, id)")

NEEDLE_FIELDS = (
    CaseField("fact", str, "the sentence planted in the haystack"),
    CaseField("question", str, "what is asked about the fact"),
    CaseField("answer", str, "the gold answer; its words must appear in the fact"),
    CaseField("answer_prefix", str, "text the model's answer continues", required=False),
)
DOCUMENT_FIELDS = (
    CaseField("id", str, "the document's id, which questions name in gold_id"),
    CaseField("text", str, "the document's text"),
)
QUESTION_FIELDS = (
    CaseField("question", str, "what is asked"),
    CaseField("choices", list, "answer options, scored by log-likelihood", items=str),
    CaseField("answer", str, "the right option (one of choices)"),
    CaseField("gold_id", str, "the id of the document that answers the question"),
    CaseField("answer_prefix", str, "text the options continue", required=False),
    CaseField("gold_depth", float, "where the gold document goes: 0 = first, 1 = last", required=False),
)

_PARAGRAPH = re.compile(r"\n\s*\n")
_SENTENCE = re.compile(r"\S.*?(?:[.!?]+[\"')\]]*(?=\s|$)|$)")


# -- shared file handling --------------------------------------------------------
def _folder(path: Path, where: str, layout: str) -> Path:
    if not path.is_dir():
        raise DatasetError(f"{where}: no such directory. {layout}")
    return path


def _text_files(folder: Path, where: str) -> list[tuple[Path, str]]:
    """The folder's .txt/.md files in name order with their text; an empty or non-UTF-8 file is an error."""
    found = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{where}, file {path.name!r}: not UTF-8 text ({exc.reason} at byte {exc.start})"
                               ) from None
        if not text.strip():
            raise DatasetError(f"{where}, file {path.name!r}: the file is empty; remove it or give it text")
        found.append((path, text))
    return found


def _jsonl(path: Path, fields, owner: str, where: str, layout: str) -> list[tuple[int, dict]]:
    """``(line number, record)`` pairs of a JSONL file checked by :func:`pytest_compress.casefile.load_cases`."""
    if not path.is_file():
        raise DatasetError(f"{where}: no {path.name} in the directory. {layout}")
    records = load_cases(path, fields, owner)
    lines = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if line.strip()]
    return list(zip(lines, records))


# -- haystack: for needle --------------------------------------------------------
def sentences(text: str) -> list[str]:
    """The text's sentences, whitespace collapsed. A paragraph's last sentence ends in a blank line."""
    out = []
    for paragraph in _PARAGRAPH.split(text):
        found = _SENTENCE.findall(" ".join(paragraph.split()))
        if found:
            found[-1] += "\n\n"
            out += found
    return out


def join_sentences(units: list[str]) -> str:
    return "".join(u if u.endswith("\n") else u + " " for u in units).strip()


def _needles(folder: Path, where: str) -> list[tuple[int, dict]]:
    path = folder / "needles.jsonl"
    needles = _jsonl(path, NEEDLE_FIELDS, "suite 'needle'", where, HAYSTACK_LAYOUT)
    for line, needle in needles:
        at = f"suite 'needle', dataset {str(path)!r}, line {line}, field"
        fact, answer = words(needle["fact"]), words(needle["answer"])
        if not answer:
            raise DatasetError(f"{at} 'answer': {needle['answer']!r} has no words to match")
        missing = sorted(set(answer) - set(fact))
        if missing:
            raise DatasetError(f"{at} 'answer': {', '.join(map(repr, missing))} not in field 'fact' "
                               f"({needle['fact']!r}); the answer's words must be in the planted fact")
    return needles


def read_haystack(path: Path, suite) -> list[dict]:
    """``needle`` cases from a haystack directory (see the module docstring)."""
    where = f"suite 'needle', dataset 'haystack:{path}'"
    folder = _folder(path, where, HAYSTACK_LAYOUT)
    units, sources = [], []
    for file, text in _text_files(folder, where):
        found = sentences(text)
        units += found
        sources += [file.name] * len(found)
    if not units:
        raise DatasetError(f"{where}: no .txt or .md haystack files. {HAYSTACK_LAYOUT}")
    needles = [n for _, n in _needles(folder, where)]
    grid, distractors = suite.grid()
    if distractors > len(needles) - 1:
        raise DatasetError(f"{where}: distractors={distractors} needs {distractors + 1} needles in needles.jsonl, "
                           f"which has {len(needles)}")
    # before[s]: characters (as take_sentences counts them) ahead of sentence s.
    before = [0]
    for unit in units:
        before.append(before[-1] + len(unit) + 1)
    cases = []
    for needle in needles:
        others = [n["fact"] for n in needles if n is not needle]
        for length in dict.fromkeys(length for length, _ in grid):
            key = f"haystack/{suite.params['seed']}/{needle['id']}/{length}"
            rng = random.Random(key)
            planted = rng.sample(others, distractors)
            reserved = sum(len(f) + 1 for f in (needle["fact"], *planted))
            starts = sum(1 for s in range(len(units)) if reserved + before[-1] - before[s] >= length * CHARS_PER_TOKEN)
            if not starts:
                raise DatasetError(
                    f"{where}: the haystack ({', '.join(dict.fromkeys(sources))}) holds about "
                    f"{before[-1] / CHARS_PER_TOKEN:.0f} tokens, too few for context length {length} with needle "
                    f"{needle['id']!r}; add text or pass a shorter context_lengths=")
            start = rng.randrange(starts)
            window = take_sentences(iter(units[start:]).__next__, length, reserved)
            for depth in (d for at, d in grid if at == length):
                context = plant(random.Random(f"{key}/{depth}"), list(window), needle["fact"], depth, planted)
                case = {"id": f"{sources[start]}/{needle['id']}/{length}/{depth}",
                        "context": join_sentences(context), "question": needle["question"],
                        "answer": needle["answer"], "context_length": length, "depth": depth}
                if "answer_prefix" in needle:
                    case["answer_prefix"] = needle["answer_prefix"]
                cases.append(case)
    return cases


# -- docs: for rag -----------------------------------------------------------------
def _documents(folder: Path, where: str) -> dict[str, str]:
    """Document id -> text, from the text files and documents.jsonl; an id given twice is an error."""
    texts: dict[str, str] = {}
    origin: dict[str, str] = {}

    def add(doc_id: str, text: str, source: str) -> None:
        if doc_id in texts:
            raise DatasetError(f"{where}: document id {doc_id!r} is given twice, by {origin[doc_id]} and by "
                               f"{source}; ids must be unique (a file's id is its stem)")
        texts[doc_id], origin[doc_id] = " ".join(text.split()), source

    for file, text in _text_files(folder, where):
        add(file.stem, text, f"file {file.name!r}")
    listing = folder / "documents.jsonl"
    if listing.is_file():
        for line, doc in _jsonl(listing, DOCUMENT_FIELDS, "suite 'rag'", where, DOCS_LAYOUT):
            if not doc["text"].strip():
                raise DatasetError(f"suite 'rag', dataset {str(listing)!r}, line {line}, field 'text': "
                                   f"document {doc['id']!r} is empty; give it text or remove the line")
            add(doc["id"], doc["text"], f"{listing.name} line {line}")
    if not texts:
        raise DatasetError(f"{where}: no documents. {DOCS_LAYOUT}")
    return texts


def read_docs(path: Path, suite) -> list[dict]:
    """``rag`` cases from a documents directory (see the module docstring)."""
    where = f"suite 'rag', dataset 'docs:{path}'"
    folder = _folder(path, where, DOCS_LAYOUT)
    texts = _documents(folder, where)
    questions_path = folder / "questions.jsonl"
    cases = []
    for line, q in _jsonl(questions_path, QUESTION_FIELDS, "suite 'rag'", where, DOCS_LAYOUT):
        gold = q["gold_id"]
        if gold not in texts:
            ids = sorted(texts)
            raise DatasetError(
                f"suite 'rag', dataset {str(questions_path)!r}, line {line}, field 'gold_id': no document "
                f"{gold!r}.{did_you_mean(gold, ids)} Document ids: {', '.join(ids[:12])}"
                f"{f', ... ({len(ids)} in all)' if len(ids) > 12 else ''}")
        case = {"id": q["id"], "question": q["question"], "choices": q["choices"], "answer": q["answer"],
                "gold_document": texts[gold], "documents": [texts[i] for i in sorted(texts) if i != gold]}
        case.update({k: q[k] for k in ("answer_prefix", "gold_depth") if k in q})
        cases.append(case)
    return cases


HAYSTACK_READERS = {"needle": read_haystack}
DOCS_READERS = {"rag": read_docs}
