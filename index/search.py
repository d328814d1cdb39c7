"""Dense search over the index, one result per paper.

Chunks are ranked by cosine similarity to the query; the results are then
grouped by base arXiv ID so a paper with three versions (and several matching
contribution points) takes one line, showing its best chunk and all its
versions in the collection.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llama_index.core.base.embeddings.base import BaseEmbedding

from index.store import PaperStore, StoredChunk

# Chunks fetched per requested paper: papers have ~5 chunks and up to 3 versions.
CHUNKS_PER_PAPER = 12


@dataclass
class PaperHit:
    """One paper in a ranked result list."""

    base_id: str
    arxiv_id: str
    """The version whose chunk matched best."""
    title: str
    url: str
    score: float
    best_chunk: StoredChunk
    versions: list[str] = field(default_factory=list)
    """All versions of the paper in the collection, oldest first."""


def group_by_paper(chunks: list[StoredChunk]) -> list[PaperHit]:
    """Best chunk per base ID, in order of score."""
    best: dict[str, StoredChunk] = {}
    for chunk in chunks:
        base = chunk.metadata["base_id"]
        if base not in best or chunk.score > best[base].score:
            best[base] = chunk
    hits = [
        PaperHit(base_id=base, arxiv_id=c.metadata["arxiv_id"], title=c.metadata["title"],
                 url=c.metadata["url"], score=c.score, best_chunk=c)
        for base, c in best.items()
    ]
    return sorted(hits, key=lambda h: h.score, reverse=True)


def attach_versions(store: PaperStore, hits: list[PaperHit]) -> None:
    if not hits:
        return
    versions: dict[str, set[tuple[int, str]]] = {}
    for meta in store.metadatas(where={"base_id": {"$in": [h.base_id for h in hits]}}):
        versions.setdefault(meta["base_id"], set()).add((meta["version"], meta["arxiv_id"]))
    for hit in hits:
        hit.versions = [arxiv_id for _, arxiv_id in sorted(versions.get(hit.base_id, ()))]


def search(store: PaperStore, embed_model: BaseEmbedding, query: str, k: int = 5) -> list[PaperHit]:
    """The ``k`` papers whose chunks are nearest to ``query``."""
    vector = embed_model.get_query_embedding(query)
    hits = group_by_paper(store.query(vector, n=k * CHUNKS_PER_PAPER))[:k]
    attach_versions(store, hits)
    return hits
