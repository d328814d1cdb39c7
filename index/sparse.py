"""The BM25 half of hybrid search, kept on disk next to the collection and updated with it.

Chroma's own sparse (BM25) index is Chroma Cloud only: a local or ``chroma run``
collection refuses it ("Sparse vector indexing is not enabled in local"). So
the sparse index is ours. Every process used to rebuild it in memory from every
chunk when it started, which grew with the collection. Ingest now keeps it in
one SQLite file per collection, and a process that starts only opens that file.

The file holds:

* ``chunks``: each chunk's id, content hash, text and metadata. This is the
  retriever's catalogue, so no process holds the collection in memory. It
  also keeps the chunk's token count and the ids of its distinct terms, so a
  removal can lower their document frequencies.
* ``terms``: each term's document frequency among the live chunks.
* ``postings``: per term, a few parts. A part is one blob of (chunk number,
  term frequency, chunk length) records. A write adds one part per term it
  touches. When a term has more than ``MAX_PARTS`` parts, its smaller half is
  merged into one. So a query reads a handful of blobs per term, and a posting
  is rewritten about log(collection) times, not once per write.
* ``removed``: the numbers of removed chunks. Removing a chunk does not rewrite
  postings (a common term's postings span most of the collection). Readers
  mask removed chunks out, and merges drop them.
* ``meta``: live chunks, total length, the next chunk number, a generation
  bumped by every write, an epoch renewed by every rebuild, the tokenizer's
  version and the id of the Chroma collection it mirrors.

Why SQLite:

* Each write is one transaction: one ingest batch, or a whole rebuild. In WAL
  mode, readers in other processes see the index before or after a write,
  never half of it.
* Readers notice a change by the generation, at the cost of one row per query.

Chunk numbers are not reused within an epoch, and a reader rebuilds its mask of
removed chunks from the same snapshot it scores, whenever the generation or the
epoch differs from the mask's.

Scores are bm25s's "lucene" BM25: k1 1.5, b 0.75, idf
log(1 + (N - df + 0.5) / (df + 0.5)), with no (k1 + 1) factor. They are
computed at query time from the stored frequencies and lengths, so they equal
what the in-memory bm25s index gave for the same chunks. Fusion and the
``bm25_top`` confidence threshold are unchanged.
"""

from __future__ import annotations

import json
import math
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Protocol

import numpy as np

from index.store import StoredChunk
from index.tokens import TOKENIZER, tokenize

K1 = 1.5
B = 0.75
MAX_PARTS = 8
EMPTY = "<empty>"
"""The one token of a chunk that has none of its own (bm25s needs every document to have one)."""
POSTING = np.dtype([("doc", "<i4"), ("tf", "<u2"), ("len", "<u2")])
_SQL_VARIABLES = 900

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);
CREATE TABLE IF NOT EXISTS chunks (
    doc INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE, arxiv_id TEXT NOT NULL, base_id TEXT NOT NULL,
    version INTEGER NOT NULL, chunk_index INTEGER NOT NULL, content_hash TEXT NOT NULL, length INTEGER NOT NULL,
    terms BLOB NOT NULL, text TEXT NOT NULL, metadata TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_version ON chunks (arxiv_id, chunk_index);
CREATE INDEX IF NOT EXISTS chunks_by_paper ON chunks (base_id);
CREATE TABLE IF NOT EXISTS terms (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE, df INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS postings (part INTEGER PRIMARY KEY, term_id INTEGER NOT NULL, size INTEGER NOT NULL,
    records BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS postings_by_term ON postings (term_id, size);
CREATE TABLE IF NOT EXISTS removed (doc INTEGER PRIMARY KEY);
"""
_FRESH = {"chunks": 0, "total_length": 0, "next_doc": 0, "generation": 0, "epoch": "", "tokenizer": TOKENIZER,
          "collection": None}
_LLAMA_INDEX_KEYS = {"document_id", "doc_id", "ref_doc_id"}


class Indexable(Protocol):
    """A chunk as ingest has it (:class:`index.chunking.Chunk`) or as the store returns it."""

    id: str
    text: str
    metadata: dict


@dataclass(frozen=True)
class _Doc:
    """A chunk ready to be written: its catalogue row and its tokens."""

    chunk_id: str
    text: str
    metadata: dict
    tokens: list[str]

    @classmethod
    def of(cls, chunk: Indexable) -> _Doc:
        meta = {k: v for k, v in chunk.metadata.items() if not k.startswith("_") and k not in _LLAMA_INDEX_KEYS}
        return cls(chunk.id, chunk.text, meta, tokenize(f"{meta['title']} {chunk.text}") or [EMPTY])


@dataclass(frozen=True)
class _Mask:
    """Which chunk numbers are removed, as of one (epoch, generation) of the file."""

    epoch: str
    generation: int
    removed: np.ndarray


def _use_wal(conn: sqlite3.Connection, patience: float = 60.0) -> None:
    """Switch a file to WAL once; it stays WAL. The switch needs a lock SQLite does not wait for (its busy
    handler is skipped there), so a reader opening the file while an ingest creates it retries until the
    writer's switch is visible instead of failing with "database is locked"."""
    deadline = time.monotonic() + patience
    delay = 0.005
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(delay)  # back off: another connection holds the lock for a moment
            delay = min(delay * 2, 0.2)


class SparseIndex:
    """One collection's BM25 index and chunk catalogue in a SQLite file; safe to share between threads."""

    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()
        self._mask: _Mask | None = None

    # -- connections and transactions --------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=60)
            _use_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            if conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'removed'").fetchone()[0] == 0:
                conn.executescript(SCHEMA)  # only when new: a reader must not wait for a long rebuild's write lock
            self._local.conn = conn
        return conn

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees one committed state of the file."""
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @staticmethod
    def _meta(conn: sqlite3.Connection) -> dict:
        return {**_FRESH, **dict(conn.execute("SELECT key, value FROM meta"))}

    @staticmethod
    def _set_meta(conn: sqlite3.Connection, **values) -> None:
        conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", values.items())

    # -- what the file says about itself ---------------------------------------------------------------

    def meta(self) -> dict:
        """Chunks, total length, generation, epoch, tokenizer and collection id recorded in the file."""
        with self._reading() as conn:
            return self._meta(conn)

    def check_readable(self) -> None:
        """Raise ``sqlite3.DatabaseError`` for a file that is not a database or was cut short."""
        with self._reading() as conn:
            conn.execute("SELECT count(*) FROM meta").fetchone()
            pages, size = conn.execute("PRAGMA page_count").fetchone()[0], conn.execute("PRAGMA page_size").fetchone()[0]
        wal = self.path.with_name(self.path.name + "-wal")
        if (not wal.exists() or wal.stat().st_size == 0) and self.path.stat().st_size < pages * size:
            raise sqlite3.DatabaseError(f"the file has {self.path.stat().st_size} bytes of {pages * size}")

    def count(self) -> int:
        with self._reading() as conn:
            return int(self._meta(conn)["chunks"])

    # -- writing -------------------------------------------------------------------------------------

    def hashes(self, arxiv_ids: list[str]) -> dict[str, dict[str, str]]:
        """``{arxiv_id: {chunk_id: content_hash}}`` of the indexed chunks of these versions."""
        out: dict[str, dict[str, str]] = {}
        with self._reading() as conn:
            for part in _batched(arxiv_ids, _SQL_VARIABLES):
                for arxiv_id, chunk_id, content_hash in conn.execute(
                        f"SELECT arxiv_id, chunk_id, content_hash FROM chunks WHERE arxiv_id IN ({_marks(part)})", part):
                    out.setdefault(arxiv_id, {})[chunk_id] = content_hash
        return out

    def write(self, chunks: Sequence[Indexable], remove: Iterable[str] = ()) -> None:
        """Add or replace ``chunks`` and remove the chunks named in ``remove``, in one transaction."""
        docs = [_Doc.of(c) for c in chunks]  # jieba runs before the write lock is taken
        remove = list(remove)
        if not docs and not remove:
            return
        with self._writing() as conn:
            self._apply(conn, docs, remove + [d.chunk_id for d in docs])

    def rebuild(self, chunks: Iterable[Indexable], collection: str, batch: int = 2000) -> None:
        """Replace everything with ``chunks``, in one transaction, then merge each term's parts into one."""
        with self._writing() as conn:
            for table in ("chunks", "terms", "postings", "removed", "meta"):
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 (fixed names)
            self._set_meta(conn, **{**_FRESH, "epoch": secrets.token_hex(8), "collection": collection})
            for part in _batched(chunks, batch):
                self._apply(conn, [_Doc.of(c) for c in part], [])
            self._compact(conn)

    def adopt(self, other: SparseIndex, collection: str) -> None:
        """Take ``other``'s contents (a rebuild made aside) in one transaction: readers see old or new."""
        other.close()
        conn = self._connection()
        conn.execute("ATTACH DATABASE ? AS other", (str(other.path),))
        try:
            with self._writing():
                for table in ("chunks", "terms", "postings", "removed", "meta"):
                    conn.execute(f"DELETE FROM main.{table}")  # noqa: S608 (fixed names)
                    conn.execute(f"INSERT INTO main.{table} SELECT * FROM other.{table}")  # noqa: S608
                self._set_meta(conn, epoch=secrets.token_hex(8), collection=collection)
        finally:
            conn.execute("DETACH DATABASE other")

    def set_collection(self, collection: str) -> None:
        with self._writing() as conn:
            self._set_meta(conn, collection=collection)

    def delete_files(self) -> None:
        self.close()
        for suffix in ("", "-wal", "-shm"):
            self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)

    def _apply(self, conn: sqlite3.Connection, docs: list[_Doc], drop: list[str]) -> None:
        meta = self._meta(conn)
        chunks, total, next_doc = int(meta["chunks"]), int(meta["total_length"]), int(meta["next_doc"])
        df: Counter[int] = Counter()
        for part in _batched(drop, _SQL_VARIABLES):
            rows = conn.execute(f"SELECT doc, length, terms FROM chunks WHERE chunk_id IN ({_marks(part)})",
                                part).fetchall()
            for doc, length, terms in rows:
                chunks, total = chunks - 1, total - length
                df.subtract(np.frombuffer(terms, "<i4").tolist())
            conn.executemany("DELETE FROM chunks WHERE doc = ?", [(r[0],) for r in rows])
            conn.executemany("INSERT OR IGNORE INTO removed (doc) VALUES (?)", [(r[0],) for r in rows])
        vocabulary = sorted({t for d in docs for t in d.tokens})
        conn.executemany("INSERT OR IGNORE INTO terms (term, df) VALUES (?, 0)", [(t,) for t in vocabulary])
        term_id: dict[str, int] = {}
        for part in _batched(vocabulary, _SQL_VARIABLES):
            term_id.update(conn.execute(f"SELECT term, id FROM terms WHERE term IN ({_marks(part)})", part))
        postings: dict[int, list[tuple[int, int, int]]] = {}
        rows = []
        for d in docs:
            counts = Counter(d.tokens)
            length = min(len(d.tokens), 65535)
            ids = [term_id[t] for t in counts]
            for tid, tf in zip(ids, counts.values()):
                postings.setdefault(tid, []).append((next_doc, min(tf, 65535), length))
            df.update(ids)
            m = d.metadata
            rows.append((next_doc, d.chunk_id, m["arxiv_id"], m["base_id"], m["version"], m["chunk_index"],
                         m["content_hash"], len(d.tokens), np.array(ids, "<i4").tobytes(), d.text,
                         json.dumps(m, ensure_ascii=False)))
            chunks, total, next_doc = chunks + 1, total + len(d.tokens), next_doc + 1
        conn.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany("UPDATE terms SET df = df + ? WHERE id = ?", [(n, t) for t, n in df.items() if n])
        conn.executemany("INSERT INTO postings (term_id, size, records) VALUES (?, ?, ?)",
                         [(tid, len(p), np.array(p, POSTING).tobytes()) for tid, p in postings.items()])
        crowded = []
        for part in _batched(list(postings), _SQL_VARIABLES):
            crowded += [t for t, in conn.execute(f"SELECT term_id FROM postings WHERE term_id IN ({_marks(part)}) "
                                                 f"GROUP BY term_id HAVING count(*) > {MAX_PARTS}", part)]
        if crowded:
            removed = self._removed(conn)
            for tid in crowded:
                self._merge(conn, tid, removed, whole=False)
        self._set_meta(conn, chunks=chunks, total_length=total, next_doc=next_doc,
                       generation=int(meta["generation"]) + 1)

    @staticmethod
    def _removed(conn: sqlite3.Connection) -> np.ndarray:
        return np.fromiter((d for d, in conn.execute("SELECT doc FROM removed")), "<i4")

    @staticmethod
    def _merge(conn: sqlite3.Connection, tid: int, removed: np.ndarray, whole: bool) -> None:
        """Merge the term's smaller half of parts (or all of them) into one, dropping removed chunks."""
        parts = conn.execute("SELECT part, records FROM postings WHERE term_id = ? ORDER BY size", (tid,)).fetchall()
        if not whole:
            parts = parts[:len(parts) // 2 + 1]
        records = np.frombuffer(b"".join(r for _, r in parts), POSTING)
        if len(removed):
            records = records[~np.isin(records["doc"], removed)]
        conn.executemany("DELETE FROM postings WHERE part = ?", [(p,) for p, _ in parts])
        if len(records):
            conn.execute("INSERT INTO postings (term_id, size, records) VALUES (?, ?, ?)",
                         (tid, len(records), records.tobytes()))

    def _compact(self, conn: sqlite3.Connection) -> None:
        removed = self._removed(conn)
        for tid, in conn.execute("SELECT term_id FROM postings GROUP BY term_id HAVING count(*) > 1").fetchall():
            self._merge(conn, tid, removed, whole=True)

    # -- reading ---------------------------------------------------------------------------------------

    def _removed_mask(self, conn: sqlite3.Connection, meta: dict) -> np.ndarray:
        """Removed chunk numbers as a boolean mask, for the state ``conn`` reads; reloaded when it changed."""
        mask = self._mask
        if mask is None or mask.epoch != meta["epoch"] or mask.generation != meta["generation"]:
            removed = np.zeros(int(meta["next_doc"]), bool)
            removed[self._removed(conn)] = True
            mask = self._mask = _Mask(meta["epoch"], int(meta["generation"]), removed)
        return mask.removed

    def search(self, tokens: list[str], n: int, arxiv_ids: Sequence[str] | None = None) -> list[StoredChunk]:
        """The ``n`` chunks with the highest BM25 score for the question's ``tokens`` (score > 0), best first.

        A token given twice counts twice, as in bm25s. Ties go to the chunk written last. ``arxiv_ids``
        limits the result to chunks of those versions (a question's scope); scores, IDF included, are
        still those of the whole collection, so a chunk scores the same in a scope as outside it.
        """
        wanted = Counter(tokens)
        if not wanted:
            return []
        with self._reading() as conn:
            meta = self._meta(conn)
            live = int(meta["chunks"])
            if not live:
                return []
            removed = self._removed_mask(conn, meta)
            average = int(meta["total_length"]) / live
            terms = list(wanted)
            stats = {i: (t, df) for i, t, df in conn.execute(
                f"SELECT id, term, df FROM terms WHERE term IN ({_marks(terms)}) AND df > 0", terms)}
            parts: dict[int, list[bytes]] = {}
            for tid, records in conn.execute(
                    f"SELECT term_id, records FROM postings WHERE term_id IN ({_marks(stats)})", list(stats)):
                parts.setdefault(tid, []).append(records)
            scores = np.zeros(len(removed), np.float32)
            for tid, blobs in parts.items():
                term, df = stats[tid]
                records = np.frombuffer(b"".join(blobs), POSTING)
                records = records[~removed[records["doc"]]]
                idf = np.float32(math.log(1 + (live - df + 0.5) / (df + 0.5)))
                tf = records["tf"].astype(np.float32)
                norm = K1 * ((1 - B) + B * records["len"].astype(np.float32) / np.float32(average))
                scores[records["doc"]] += wanted[term] * (idf * (tf / (norm + tf)))
            if arxiv_ids is not None:
                allowed = np.zeros(len(scores), bool)
                for part in _batched(list(arxiv_ids), _SQL_VARIABLES):
                    docs = [d for d, in conn.execute(f"SELECT doc FROM chunks WHERE arxiv_id IN ({_marks(part)})",
                                                     part)]
                    allowed[[d for d in docs if d < len(allowed)]] = True
                scores[~allowed] = 0
            best = np.flatnonzero(scores > 0)
            if len(best) > n:
                kth = np.partition(scores[best], len(best) - n)[len(best) - n]
                best = best[scores[best] >= kth]
            best = best[np.lexsort((-best, -scores[best]))][:n]
            found = self._rows(conn, "doc", best.tolist())
        return [StoredChunk(c.id, c.text, c.metadata, float(scores[doc])) for doc, c in zip(best.tolist(), found)]

    @staticmethod
    def _rows(conn: sqlite3.Connection, column: str, keys: list) -> list[StoredChunk]:
        """Catalogue rows whose ``column`` is one of ``keys``, in the order of ``keys`` (missing ones left out)."""
        found: dict = {}
        for part in _batched(keys, _SQL_VARIABLES):
            for key, chunk_id, text, meta in conn.execute(
                    f"SELECT {column}, chunk_id, text, metadata FROM chunks WHERE {column} IN ({_marks(part)})", part):
                found[key] = StoredChunk(chunk_id, text, json.loads(meta))
        return [found[k] for k in keys if k in found]

    def chunks_by_id(self, chunk_ids: list[str]) -> dict[str, StoredChunk]:
        with self._reading() as conn:
            return {c.id: c for c in self._rows(conn, "chunk_id", chunk_ids)}

    def chunks_of(self, arxiv_id: str) -> list[StoredChunk]:
        """One version's chunks in reading order."""
        with self._reading() as conn:
            return [StoredChunk(i, t, json.loads(m)) for i, t, m in conn.execute(
                "SELECT chunk_id, text, metadata FROM chunks WHERE arxiv_id = ? ORDER BY chunk_index", (arxiv_id,))]

    def versions_of(self, base_id: str) -> list[str]:
        """The paper's versioned IDs, oldest first."""
        with self._reading() as conn:
            return [a for a, _ in conn.execute("SELECT DISTINCT arxiv_id, version FROM chunks WHERE base_id = ? "
                                               "ORDER BY version, arxiv_id", (base_id,))]

    def has_version(self, arxiv_id: str) -> bool:
        with self._reading() as conn:
            return conn.execute("SELECT 1 FROM chunks WHERE arxiv_id = ? LIMIT 1", (arxiv_id,)).fetchone() is not None

    def paper_ids(self) -> list[str]:
        """Base IDs of every paper, sorted."""
        with self._reading() as conn:
            return [b for b, in conn.execute("SELECT DISTINCT base_id FROM chunks ORDER BY base_id")]

    def bases_containing(self, text: str) -> set[str]:
        """Base IDs of the papers with a chunk that contains ``text``, ignoring ASCII case (SQL ``LIKE``)."""
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._reading() as conn:
            return {b for b, in conn.execute("SELECT DISTINCT base_id FROM chunks WHERE text LIKE ? ESCAPE '\\'",
                                             (pattern,))}

    def document_frequencies(self, terms: list[str]) -> tuple[int, dict[str, int]]:
        """Live chunks, and the chunks holding each of ``terms`` (terms in none are left out)."""
        terms = list(dict.fromkeys(terms))
        with self._reading() as conn:
            live = int(self._meta(conn)["chunks"])
            if not terms:
                return live, {}
            return live, dict(conn.execute(f"SELECT term, df FROM terms WHERE term IN ({_marks(terms)}) AND df > 0",
                                           terms))

    def all_chunks(self) -> list[StoredChunk]:
        with self._reading() as conn:
            return [StoredChunk(i, t, json.loads(m))
                    for i, t, m in conn.execute("SELECT chunk_id, text, metadata FROM chunks ORDER BY doc")]


def _marks(values) -> str:
    return ", ".join("?" * len(values))


def _batched(values: Iterable, size: int) -> Iterator[list]:
    it = iter(values)
    while part := list(islice(it, size)):
        yield part
