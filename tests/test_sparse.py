"""The persisted BM25 index: same scores as bm25s, kept by ingest, shared between processes, repaired once."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path

import bm25s
import numpy as np
import pytest
from llama_index.core.embeddings import MockEmbedding

from assistant.retrieval import HybridRetriever
from conftest import invoke_cli, run_cli, write_jsonl
from index.chunking import chunk_paper
from index.corpus import read_corpus
from index.errors import UserError
from index.ingest import ingest
from index.settings import BUNDLED_CORPUS, IndexSettings
from index.sparse import EMPTY, MAX_PARTS, SparseIndex
from index.tokens import tokenize
from index.sparse_sync import exclusive, open_sparse, sparse_index
from index.store import StoredChunk, open_store

BUNDLED = read_corpus([BUNDLED_CORPUS]).papers
QUESTIONS = [json.loads(line)["question"] for line in
             (Path(__file__).resolve().parent.parent / "evals" / "datasets" / "dev.jsonl").open(encoding="utf-8")]
CHILDREN = "儿童朗读错误检测"  # 2506.11079's subject
SOME = BUNDLED[:10] + [p for p in BUNDLED if p.base_id == "2506.11079"]


def bm25s_scores(chunks, questions) -> list[list[float]]:
    """The reference: bm25s built in memory over ``chunks``, as the retriever did before; positive scores, best first."""
    index = bm25s.BM25()
    index.index([tokenize(f"{c.metadata['title']} {c.text}") or [EMPTY] for c in chunks], show_progress=False)
    out = []
    for question in questions:
        tokens = tokenize(question)
        scores = index.get_scores(tokens) if tokens else np.zeros(1)
        out.append(sorted((float(s) for s in scores if s > 0), reverse=True))
    return out


def assert_same_scores(index: SparseIndex, chunks, questions) -> None:
    expected = bm25s_scores(chunks, questions)
    for question, want in zip(questions, expected):
        got = [c.score for c in index.search(tokenize(question), len(chunks))]
        assert len(got) == len(want), question
        assert np.allclose(got, want, rtol=1e-5, atol=1e-5), question


def catalogue(index: SparseIndex) -> dict[str, str]:
    return {c.id: c.metadata["content_hash"] for c in index.all_chunks()}


def expected_catalogue(papers) -> dict[str, str]:
    return {c.id: c.content_hash for p in papers for c in chunk_paper(p)}


def test_scores_are_those_of_bm25s_over_the_same_chunks(bundled_index):
    store = open_store(bundled_index)
    assert_same_scores(sparse_index(store), store.all_chunks(), QUESTIONS)


def test_many_small_writes_and_removals_keep_bm25s_scores_and_few_parts(tmp_path):
    chunks = [StoredChunk(c.id, c.text, c.metadata) for p in BUNDLED[:30] for c in chunk_paper(p)]
    index = SparseIndex(tmp_path / "sparse.sqlite3")
    for start in range(0, len(chunks), 7):
        index.write(chunks[start:start + 7])
    removed = {c.id for c in chunks[::5]}
    for chunk_id in sorted(removed):
        index.write([], remove=[chunk_id])
    live = [c for c in chunks if c.id not in removed]
    assert index.count() == len(live)
    assert_same_scores(index, live, QUESTIONS[:60])
    conn = index._connection()  # the layout itself: merges kept every term to a few parts
    assert conn.execute("SELECT max(n) FROM (SELECT count(*) AS n FROM postings GROUP BY term_id)").fetchone()[0] <= MAX_PARTS


@pytest.mark.slow
def test_the_index_survives_a_restart_without_a_rebuild(tmp_path, e5):
    env = {**os.environ, "PAPERCHAT_DATA_DIR": str(tmp_path / "data")}
    ingest([write_jsonl(tmp_path / "a.jsonl", SOME)], open_store(IndexSettings(data_dir=tmp_path / "data")),
           lambda: e5)
    index = sparse_index(open_store(IndexSettings(data_dir=tmp_path / "data")))
    before = index.meta()
    result = run_cli("search", "--mode", "bm25", "--json", CHILDREN, env=env)
    assert result.returncode == 0, result.stderr
    assert "BM25 index" not in result.stderr
    assert json.loads(result.stdout)["results"][0]["base_id"] == "2506.11079"
    assert index.meta() == before  # opened, not rewritten


def test_incremental_ingest_adds_changes_and_removes_and_a_running_retriever_sees_it(tmp_path, e5):
    settings = IndexSettings(data_dir=tmp_path / "data")
    store = open_store(settings)
    first = BUNDLED[:6]
    ingest([write_jsonl(tmp_path / "a.jsonl", first)], store, lambda: e5)
    retriever = HybridRetriever(open_store(settings), e5, mode="bm25")
    assert "2506.11079" not in {p.base_id for p in retriever.retrieve(CHILDREN, k=10).papers}

    # One paper loses its last point (a changed chunk and a removed one), one paper is new.
    target = first[2]
    lines = target.summary.splitlines()
    points = [i for i, line in enumerate(lines) if line[:2].rstrip(".").isdigit()]
    changed = type(target)(**{**target.__dict__, "summary": "\n".join(lines[:points[-1]])})
    newcomer = next(p for p in BUNDLED if p.base_id == "2506.11079")
    now = [changed if p is target else p for p in first] + [newcomer]
    report = ingest([write_jsonl(tmp_path / "b.jsonl", now)], store, lambda: e5)
    assert (report.new, report.updated, report.unchanged) == (1, 1, 5)

    index = sparse_index(store)
    assert catalogue(index) == expected_catalogue(now)
    assert_same_scores(index, store.all_chunks(), QUESTIONS[:60])
    # The retriever built before the second ingest finds the new paper and no longer the removed chunk.
    assert retriever.retrieve(CHILDREN, k=10).papers[0].base_id == "2506.11079"
    gone = set(expected_catalogue([target])) - set(expected_catalogue([changed]))
    assert gone and not gone & {c.id for p in retriever.retrieve(target.title, k=10).papers for c in p.chunks}


def test_rebuild_rebuilds_the_index_and_leaves_no_files_behind(tmp_path, e5):
    settings = IndexSettings(data_dir=tmp_path / "data")
    store = open_store(settings)
    ingest([write_jsonl(tmp_path / "a.jsonl", BUNDLED[:4])], store, lambda: e5)
    old = sparse_index(store).meta()
    ingest([write_jsonl(tmp_path / "b.jsonl", BUNDLED[4:7])], store, lambda: e5, rebuild=True)

    index = sparse_index(open_store(settings))
    assert catalogue(index) == expected_catalogue(BUNDLED[4:7])
    meta = index.meta()
    assert meta["epoch"] != old["epoch"] and meta["collection"] == str(open_store(settings).collection.id)
    assert sorted(p.name for p in settings.sparse_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == \
        ["papers.sqlite3", "papers.sqlite3.lock"]
    assert_same_scores(index, open_store(settings).all_chunks(), QUESTIONS[:40])


def _papers_jsonl(tmp_path: Path, name: str, bases: set[str]) -> Path:
    return write_jsonl(tmp_path / name, [p for p in BUNDLED if p.base_id in bases])


@pytest.mark.slow
@pytest.mark.server
def test_processes_on_one_chroma_server_share_the_index(chroma_server, tmp_path):
    shared = tmp_path / "bm25"
    base = {**os.environ, "PAPERCHAT_CHROMA_URL": chroma_server, "PAPERCHAT_COLLECTION": "shared_bm25",
            "PAPERCHAT_SPARSE_DIR": str(shared)}
    writer = {**base, "PAPERCHAT_DATA_DIR": str(tmp_path / "writer")}
    reader = {**base, "PAPERCHAT_DATA_DIR": str(tmp_path / "reader")}
    done = run_cli("ingest", str(_papers_jsonl(tmp_path, "a.jsonl", {"2506.11091", "2506.00267"})), env=writer)
    assert done.returncode == 0, done.stderr

    # Another process, with another data folder, opens the same index: found, and nothing rebuilt.
    found = run_cli("search", "--mode", "bm25", "--json", "CASPER 多语种语音数据集", env=reader)
    assert found.returncode == 0 and "BM25 index" not in found.stderr, found.stderr
    assert json.loads(found.stdout)["results"][0]["base_id"] == "2506.00267"

    # A retriever that stays up (this process) sees what another process ingests next.
    settings = IndexSettings(chroma_url=chroma_server, collection="shared_bm25", sparse_dir=shared,
                             data_dir=tmp_path / "reader")
    retriever = HybridRetriever(open_store(settings), MockEmbedding(embed_dim=384), mode="bm25")
    assert "2506.11079" not in {p.base_id for p in retriever.retrieve(CHILDREN).papers}
    done = run_cli("ingest", str(_papers_jsonl(tmp_path, "b.jsonl", {"2506.11079"})), env=writer)
    assert done.returncode == 0, done.stderr
    assert retriever.retrieve(CHILDREN).papers[0].base_id == "2506.11079"
    assert not list((tmp_path / "reader").rglob("*.sqlite3")), "the reader must use the shared folder"


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["missing", "garbage", "truncated"])
def test_a_missing_or_broken_index_is_rebuilt_once_with_one_line(tmp_path, e5, damage):
    settings = IndexSettings(data_dir=tmp_path / "data")
    ingest([write_jsonl(tmp_path / "a.jsonl", SOME)], open_store(settings), lambda: e5)
    path = sparse_index(open_store(settings)).path
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    if damage == "missing":
        path.unlink()
    elif damage == "garbage":
        path.write_bytes(b"not a database at all " * 100)
    else:
        path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    env = {**os.environ, "PAPERCHAT_DATA_DIR": str(tmp_path / "data")}

    result = invoke_cli("search", "--mode", "bm25", "--json", CHILDREN, env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"note: the BM25 index {path} ") and "rebuilding" in lines[0]
    assert "Traceback" not in result.stderr
    assert json.loads(result.stdout)["results"][0]["base_id"] == "2506.11079"
    again = invoke_cli("search", "--mode", "bm25", "--json", CHILDREN, env=env)
    assert again.returncode == 0 and again.stderr == ""
    assert catalogue(sparse_index(open_store(settings))) == expected_catalogue(SOME)


def test_an_index_behind_its_collection_is_rebuilt_unless_an_ingest_holds_it(tmp_path, e5):
    settings = IndexSettings(data_dir=tmp_path / "data")
    store = open_store(settings)
    ingest([write_jsonl(tmp_path / "a.jsonl", BUNDLED[:6])], store, lambda: e5)
    # A writer that ignores the index (an older paperchat) adds chunks to the collection only.
    extra = [c for c in chunk_paper(BUNDLED[6])]
    store.upsert(extra, e5.get_text_embedding_batch([c.embed_text for c in extra]))
    notes: list[str] = []

    with exclusive(sparse_index(store)):  # an ingest is running: the index is used as it is
        assert open_sparse(store, notes.append).count() == store.count() - len(extra)
    assert notes == []
    assert open_sparse(store, notes.append).count() == store.count()
    assert len(notes) == 1 and f"holds {store.count() - len(extra)} chunks and the collection {store.count()}" in notes[0]


def test_readers_never_see_half_a_batch(tmp_path):
    corpus = write_jsonl(tmp_path / "a.jsonl", BUNDLED)
    settings = IndexSettings(data_dir=tmp_path / "data")
    writing = threading.Thread(target=ingest, args=([corpus], open_store(settings), lambda: MockEmbedding(embed_dim=8)))
    writing.start()
    reader = SparseIndex(settings.sparse_path / "papers.sqlite3")
    wanted = {p.arxiv_id: {c.id for c in chunk_paper(p)} for p in BUNDLED}
    seen = set()
    while writing.is_alive() or not seen:
        if not reader.path.exists():
            continue
        chunks = reader.all_chunks()  # one read transaction
        have: dict[str, set[str]] = {}
        for chunk in chunks:
            have.setdefault(chunk.metadata["arxiv_id"], set()).add(chunk.id)
        assert all(ids == wanted[v] for v, ids in have.items()), "a version was seen in part"
        seen.add(len(chunks))
    writing.join()
    assert reader.count() == sum(map(len, wanted.values()))


def test_an_index_folder_that_cannot_be_made_is_one_clear_error(tmp_path, e5):
    settings = IndexSettings(data_dir=tmp_path / "data")
    ingest([write_jsonl(tmp_path / "a.jsonl", BUNDLED[:2])], open_store(settings), lambda: e5)
    (tmp_path / "a-file").write_text("not a folder")
    blocked = IndexSettings(data_dir=tmp_path / "data", sparse_dir=tmp_path / "a-file" / "bm25")
    with pytest.raises(UserError, match=r"^cannot create the BM25 index folder .*a-file/bm25 .*PAPERCHAT_SPARSE_DIR"):
        HybridRetriever(open_store(blocked), e5)


def test_many_first_opens_of_one_new_file_all_succeed(tmp_path):
    """The chat and an ingest may open a new index at the same moment; switching the file to WAL takes a lock
    SQLite does not wait for, so without retries some of these opens fail with "database is locked"."""
    errors = []
    for attempt in range(40):
        path = tmp_path / f"{attempt}.sqlite3"
        start = threading.Barrier(6)

        def open_and_count():
            start.wait()
            try:
                SparseIndex(path).count()
            except sqlite3.OperationalError as error:
                errors.append(str(error))

        openers = [threading.Thread(target=open_and_count) for _ in range(6)]
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join()
    assert errors == []


def test_search_limited_to_some_versions_keeps_their_scores_and_nothing_else(bundled_index):
    index = sparse_index(open_store(bundled_index))
    tokens = tokenize("语音识别 speech recognition 数据集")
    everything = index.search(tokens, 1000)
    chosen = {everything[3].metadata["arxiv_id"], everything[7].metadata["arxiv_id"]} - {
        everything[0].metadata["arxiv_id"]}
    limited = index.search(tokens, 1000, arxiv_ids=sorted(chosen))
    assert [(c.id, c.score) for c in limited] == [(c.id, c.score) for c in everything
                                                 if c.metadata["arxiv_id"] in chosen]
    assert index.search(tokens, 2, arxiv_ids=sorted(chosen)) == limited[:2]
    assert index.search(tokens, 10, arxiv_ids=[]) == []
