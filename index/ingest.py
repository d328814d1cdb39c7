"""Incremental, idempotent ingestion: corpus files in, only changed chunks embedded.

Each chunk has a deterministic id (``<versioned id>#<n>``) and a content hash.
A run compares what the files say with what the store holds and embeds only
chunks that are new or whose text changed, then deletes the paper's chunks
that no longer exist. Work is written one batch of papers at a time, so an
ingest killed half-way leaves whole, correct chunks behind and the next run
finishes the rest without duplicates.

Papers already stored but absent from the given files are left alone:
ingesting a second file adds to the collection. ``rebuild`` starts over.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding

from index.chunking import Chunk, chunk_paper
from index.corpus import Paper, Problem, read_corpus
from index.errors import UserError
from index.store import PaperStore

PAPERS_PER_BATCH = 8


@dataclass
class IngestReport:
    """What one ingest run did."""

    papers: int = 0
    """Distinct papers (base IDs) in the given files."""
    versions: int = 0
    """Versioned rows accepted from the given files."""
    chunks: int = 0
    """Chunks of those versions now in the store."""
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    removed_chunks: int = 0
    embedded_chunks: int = 0
    duplicates: int = 0
    rejected: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    total_in_store: int = 0

    def summary(self) -> str:
        return (f"{self.versions} versions of {self.papers} papers, {self.chunks} chunks: "
                f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged; "
                f"{self.embedded_chunks} chunks embedded, {self.removed_chunks} stale chunks removed; "
                f"{len(self.rejected)} rows rejected ({self.seconds:.1f} s, {self.total_in_store} chunks in the index)")


def ingest(
    paths: list[Path],
    store: PaperStore,
    embedder: Callable[[], BaseEmbedding],
    *,
    rebuild: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Bring the store in line with the papers in ``paths``.

    Args:
        paths: corpus files (markdown table or JSONL).
        store: the target collection.
        embedder: returns the embedding model; called only if something must be embedded,
            so an unchanged re-ingest never loads a model.
        rebuild: drop the collection first.
        progress: called with (chunks done, chunks to embed) after each batch.

    Returns:
        The report; ``report.rejected`` lists every row that was not ingested.
    """
    started = time.perf_counter()
    corpus = read_corpus(paths)
    report = IngestReport(rejected=corpus.problems, duplicates=corpus.duplicates,
                          versions=len(corpus.papers), papers=len({p.base_id for p in corpus.papers}))
    if not corpus.papers:
        report.seconds = time.perf_counter() - started
        return report
    if rebuild:
        store.drop()
    stored = store.hashes()

    work: list[tuple[Paper, list[Chunk], list[Chunk], list[str]]] = []
    for paper in corpus.papers:
        chunks = chunk_paper(paper)
        report.chunks += len(chunks)
        have = stored.get(paper.arxiv_id, {})
        wanted = {c.id: c.content_hash for c in chunks}
        if have == wanted:
            report.unchanged += 1
            continue
        if have:
            report.updated += 1
        else:
            report.new += 1
        to_embed = [c for c in chunks if have.get(c.id) != c.content_hash]
        stale = sorted(set(have) - set(wanted))
        work.append((paper, chunks, to_embed, stale))

    total = sum(len(item[2]) for item in work)
    model = embedder() if total else None
    done = 0
    for start in range(0, len(work), PAPERS_PER_BATCH):
        batch = work[start:start + PAPERS_PER_BATCH]
        to_embed = [c for item in batch for c in item[2]]
        if to_embed:
            vectors = model.get_text_embedding_batch([c.embed_text for c in to_embed])
            store.upsert(to_embed, vectors)
        stale = [i for item in batch for i in item[3]]
        store.delete(stale)
        report.removed_chunks += len(stale)
        done += len(to_embed)
        report.embedded_chunks = done
        if progress:
            progress(done, total)
    report.total_in_store = store.count()
    report.seconds = time.perf_counter() - started
    return report


def require_index(store: PaperStore) -> None:
    """Raise a user error telling how to build the index when there is none."""
    if not store.exists() or store.count() == 0:
        raise UserError(f"no index yet in collection '{store.name}': run `paperchat ingest` first")
