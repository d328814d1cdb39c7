"""Keeping a collection's BM25 index (:mod:`index.sparse`) in step with the collection.

Where the file lives, the writer lock that ingest holds, how a reader tells a
missing or stale index, and the one-time rebuild from the collection with one
line of notice.
"""

from __future__ import annotations

import fcntl
import re
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from index.errors import UserError
from index.sparse import SparseIndex
from index.tokens import TOKENIZER
from index.store import PaperStore


@contextmanager
def exclusive(index: SparseIndex, wait: bool = True) -> Iterator[bool]:
    """Hold the index's writer lock (a file beside it); yields False when ``wait`` is off and it is taken.

    Ingest holds it for a whole run and a repair takes it before rebuilding, so a reader never rebuilds
    an index that an ingest is halfway through, and two rebuilds never run at once. It is a POSIX lock:
    every process must use the index from one host.
    """
    index.path.parent.mkdir(parents=True, exist_ok=True)
    with open(index.path.with_name(index.path.name + ".lock"), "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def file_for(sparse_dir: Path, collection: str) -> Path:
    return sparse_dir / f"{collection}.sqlite3"


def leftovers(sparse_dir: Path, collection: str) -> list[Path]:
    """Index files that a killed ``--rebuild`` left behind."""
    if not sparse_dir.is_dir():
        return []
    pattern = re.compile(rf"{re.escape(collection)}-(rebuild|old)-[0-9a-f]+\.sqlite3(-wal|-shm|\.lock)?")
    return sorted(p for p in sparse_dir.iterdir() if pattern.fullmatch(p.name))


def sparse_index(store: PaperStore) -> SparseIndex:
    """The BM25 index that belongs to ``store``'s collection (the file may not exist yet)."""
    return SparseIndex(file_for(store.sparse_dir, store.name))


def stale_reason(index: SparseIndex, store: PaperStore, counts: bool = True) -> str | None:
    """Why ``index`` does not mirror ``store``'s collection, or None when it does.

    Compared: the collection's id (a ``--rebuild`` or a dropped and re-created collection changes it), the
    chunk count, and the tokenizer. A chunk changed in place by a writer that ignored this index (an older
    paperchat) keeps the count and is not caught; `paperchat ingest` of the same files repairs it.
    """
    if not index.path.exists():
        return "is missing"
    index.check_readable()
    meta = index.meta()
    if meta["tokenizer"] != TOKENIZER:
        return f"was built by tokenizer {meta['tokenizer']}, not {TOKENIZER}"
    chunks = store.count()
    if meta["collection"] != str(store.collection.id) and (meta["collection"] or chunks or meta["chunks"]):
        return "belongs to another collection of that name"
    if counts and int(meta["chunks"]) != chunks:
        return f"holds {meta['chunks']} chunks and the collection {chunks}"
    return None


def repair(index: SparseIndex, store: PaperStore, notify: Callable[[str], None], counts: bool = True) -> None:
    """Rebuild ``index`` from ``store`` if it is missing, unreadable or stale; the caller holds the writer lock.

    One line goes to ``notify`` when there is something to rebuild; an empty collection just gets an empty
    index silently (the first ingest). ``counts=False`` tolerates a different chunk count: an ingest
    starting after a killed one, whose batches compare hashes anyway.
    """
    try:
        reason = stale_reason(index, store, counts)
    except (sqlite3.OperationalError, OSError) as exc:  # cannot open or lock it: not a reason to delete it
        raise UserError(f"cannot open the BM25 index {index.path} ({exc}); set PAPERCHAT_SPARSE_DIR to a folder "
                        "this user can write") from None
    except sqlite3.DatabaseError as exc:
        reason = f"is unreadable ({exc})"
        index.delete_files()
    if reason is None:
        if index.meta()["collection"] is None:  # created empty, by a reader or before the collection had chunks
            index.set_collection(str(store.collection.id))
        return
    chunks = store.count()
    if chunks:
        notify(f"the BM25 index {index.path} {reason}; rebuilding it from the {chunks} chunks of "
               f"collection '{store.name}' (once)")
    index.rebuild(store.iter_chunks(), str(store.collection.id))


def open_sparse(store: PaperStore, notify: Callable[[str], None] | None = None) -> SparseIndex:
    """The collection's BM25 index, rebuilt first if it is missing, unreadable or stale.

    While an ingest holds the writer lock the index is opened as it is: the ingest brings it in line
    batch by batch, and readers notice each batch by the generation.
    """
    index = sparse_index(store)
    try:
        index.path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the BM25 index folder {index.path.parent} ({exc.strerror}); "
                        "set PAPERCHAT_SPARSE_DIR to a folder this user can write") from None
    with exclusive(index, wait=False) as mine:
        if mine:
            repair(index, store, notify or to_stderr)
    return index


def to_stderr(line: str) -> None:
    print(f"note: {line}", file=sys.stderr, flush=True)
