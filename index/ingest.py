"""Incremental, idempotent ingestion: corpus files in, only changed chunks embedded.

Each chunk has a deterministic id (``<versioned id>#<n>``) and a content hash.
A run compares what the files say with what the store holds and embeds only
chunks that are new or whose text changed, then deletes the paper's chunks
that no longer exist. The files are read as a stream and work is done one
batch of papers at a time (stored hashes fetched for that batch only), so
memory stays flat however large the files are, and an ingest killed
half-way leaves whole, correct chunks behind; the next run skips them and
finishes the rest without duplicates.

Papers already stored but absent from the given files are left alone:
ingesting a second file adds to the collection. ``rebuild`` starts over in a
collection built aside, which replaces the old one only when every file was
read and at least one row was good; otherwise the old index stays as it was.

The BM25 index (:mod:`index.sparse`) follows the vectors batch by batch,
compared by the same content hashes but against its own: a chunk whose vector
was written by a run killed before its BM25 write is indexed by the next run
without being embedded again. A run holds the index's writer lock throughout,
so readers never mistake a half-done ingest for a stale index.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding

from index.chunking import Chunk, chunk_paper
from index.corpus import CorpusLimits, CorpusStream, Paper, Problem
from index.errors import UserError
from index.sparse_sync import exclusive, leftovers, repair, sparse_index, to_stderr
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
    indexed_chunks: int = 0
    """Chunks written to the BM25 index (all embedded ones, and any it lacked)."""
    duplicates: int = 0
    rejected: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    total_in_store: int = 0
    rebuild_refused: str | None = None
    """Why a rebuild did not replace the index (which then stays as it was); None when it did or none was asked."""

    def summary(self) -> str:
        return (f"{self.versions} versions of {self.papers} papers, {self.chunks} chunks: "
                f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged; "
                f"{self.embedded_chunks} chunks embedded, {self.removed_chunks} stale chunks removed; "
                f"{len(self.rejected)} rows rejected ({self.seconds:.1f} s, {self.total_in_store} chunks in the index)")


@dataclass(frozen=True)
class IngestProgress:
    """How far an ingest run is, after each batch: the bytes of the files read so far give the ETA."""

    bytes_read: int
    bytes_total: int
    versions: int
    embedded_chunks: int


def ingest(
    paths: list[Path],
    store: PaperStore,
    embedder: Callable[[], BaseEmbedding],
    *,
    rebuild: bool = False,
    progress: Callable[[IngestProgress], None] | None = None,
    limits: CorpusLimits = CorpusLimits(),
    notify: Callable[[str], None] = to_stderr,
) -> IngestReport:
    """Bring the store in line with the papers in ``paths``, reading them as a stream.

    Rows are read, compared with the store, embedded and written
    ``PAPERS_PER_BATCH`` papers at a time, so memory does not grow with the
    size of the files and a killed run loses at most one batch.

    Args:
        paths: corpus files (markdown table or JSONL).
        store: the target collection.
        embedder: returns the embedding model; called only if something must be embedded,
            so an unchanged re-ingest never loads a model.
        rebuild: build a new collection aside and let it replace the old one once complete.
        progress: called after each batch.
        limits: how large a row and its parts may be (``IndexSettings.limits``).
        notify: told in one line when the BM25 index must first be rebuilt from the collection.

    Returns:
        The report; ``report.rejected`` lists every row that was not ingested.
    """
    with exclusive(sparse_index(store)):
        return _ingest(paths, store, embedder, rebuild, progress, limits, notify)


def _ingest(paths: list[Path], store: PaperStore, embedder: Callable[[], BaseEmbedding], rebuild: bool,
            progress: Callable[[IngestProgress], None] | None, limits: CorpusLimits,
            notify: Callable[[str], None]) -> IngestReport:
    started = time.perf_counter()
    stream = CorpusStream(paths, limits)
    report = IngestReport(rejected=stream.problems)
    store.remove_leftovers()
    for path in leftovers(store.sparse_dir, store.name):
        path.unlink(missing_ok=True)
    target = store.aside() if rebuild else store
    sparse = sparse_index(target)
    if not rebuild:
        repair(sparse, store, notify, counts=False)
    model: BaseEmbedding | None = None
    batch: list[Paper] = []

    def write_batch() -> None:
        nonlocal model
        ids = [p.arxiv_id for p in batch]
        stored, indexed = target.hashes(ids), sparse.hashes(ids)
        to_embed: list[Chunk] = []
        stale: list[str] = []
        to_index: list[Chunk] = []
        unindexed: list[str] = []
        for paper in batch:
            chunks = chunk_paper(paper)
            report.chunks += len(chunks)
            have = stored.get(paper.arxiv_id, {})
            known = indexed.get(paper.arxiv_id, {})
            wanted = {c.id: c.content_hash for c in chunks}
            to_index += [c for c in chunks if known.get(c.id) != c.content_hash]
            unindexed += sorted(set(known) - set(wanted))
            if have == wanted:
                report.unchanged += 1
                continue
            if have:
                report.updated += 1
            else:
                report.new += 1
            to_embed += [c for c in chunks if have.get(c.id) != c.content_hash]
            stale += sorted(set(have) - set(wanted))
        if to_embed:
            if model is None:
                model = embedder()
            target.upsert(to_embed, model.get_text_embedding_batch([c.embed_text for c in to_embed]))
        target.delete(stale)
        # After the vectors: a reader that finds a vector without its catalogue entry skips it, as it skips
        # chunks it has not heard of.
        sparse.write(to_index, remove=unindexed)
        report.removed_chunks += len(stale)
        report.embedded_chunks += len(to_embed)
        report.indexed_chunks += len(to_index)
        report.versions += len(batch)
        batch.clear()
        if progress:
            progress(IngestProgress(stream.bytes_read, stream.bytes_total, report.versions, report.embedded_chunks))

    try:
        for paper in stream:
            batch.append(paper)
            if len(batch) == PAPERS_PER_BATCH:
                write_batch()
        if batch:
            write_batch()
        if rebuild:
            if stream.unreadable:
                report.rebuild_refused = (f"{len(stream.unreadable)} file{'s' if len(stream.unreadable) != 1 else ''} "
                                          "could not be read")
            elif not report.versions:
                report.rebuild_refused = "the files held no good row"
            else:
                store.replace_with(target)
                main = sparse_index(store)
                main.adopt(sparse, str(store.collection.id))
                main.close()
        elif store.exists():
            repair(sparse, store, notify)  # chunks of papers not in these files that the index still lacks
    finally:
        if target is not store and target.name != store.name:
            # A refused or failed rebuild. When the server went away, or the run is killed, the next run removes it.
            with contextlib.suppress(UserError):
                target.drop()
        # Closed here, not left to the garbage collector: the last connection to close checkpoints the WAL.
        sparse.close()
        if rebuild:
            sparse.delete_files()
    report.papers = len(stream.base_ids)
    report.duplicates = stream.duplicates
    if (report.versions or rebuild) and store.exists():
        report.total_in_store = store.count()
    report.seconds = time.perf_counter() - started
    return report


def require_index(store: PaperStore) -> None:
    """Raise a user error telling how to build the index when there is none."""
    if not store.exists() or store.count() == 0:
        raise UserError(f"no index yet in collection '{store.name}': run `paperchat ingest` first")
