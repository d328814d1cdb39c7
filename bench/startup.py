"""Retriever start-up time, memory and query latency as the collection grows, with the persisted BM25 index.

Every process that answers questions (UI, CLI, evals) builds a ``HybridRetriever``
when it starts. This measures what that costs at the bundled size and at 10k,
100k and 1M chunks. It starts its own ``chroma run`` on loopback, in a fresh
directory, or in ``--keep DIR``, which a later run reuses and grows.

* **Bundled level**: the real collection, ingested with the real embedder.
* **Larger levels**: one collection grown from :mod:`bench.synth` chunks.
  Their vectors are synthetic, drawn around the bundled chunks' real
  embeddings as in :mod:`bench.scale`: embedding a million chunks would take
  about 20 h. They are written the way ingest writes them: Chroma upsert,
  then the BM25 index (:mod:`index.sparse`) in one transaction per batch.

At each level a fresh process times opening the store and building the
retriever. It reports:

* resident memory after start-up, and its peak after all questions;
* ``retrieve(k=10)`` p50/p95 over the development questions, hybrid mode,
  with their real e5 query vectors computed beforehand;
* the p50 of the BM25 half alone.

    nice -n 19 .venv/bin/python -m bench.startup [--sizes 10000 100000 1000000] [--keep DIR]

Writes bench/results/startup.json after every level: ``{"rows": [{"chunks": N,
"startup_s": x, "rss_mb": y, "query_p50_ms": z, ...}, ...]}``. ``rss_mb`` is
the peak.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from bench import synth
from bench.common import RESULTS, p50_p95, write_result
from bench.scale import Vectors, disk_mb, server_memory_mb, start_server, synthetic_chunks
from evals.questions import DEV_SET, load_questions
from index.embedders import load_embedder
from index.ingest import ingest
from index.settings import BUNDLED_CORPUS, IndexSettings
from index.sparse_sync import exclusive, repair, sparse_index
from index.store import open_store

BATCH = 2000
BUNDLED = "bundled"
SYNTHETIC = "synthetic"


class KnownQueries(BaseEmbedding):
    """Query vectors computed beforehand, so the measured process loads no model."""

    _vectors: dict[str, list[float]] = PrivateAttr(default_factory=dict)

    def __init__(self, vectors: dict[str, list[float]]):
        super().__init__(model_name="known-queries")
        self._vectors = vectors

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vectors[query]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vectors[query]

    def _get_text_embedding(self, text: str) -> list[float]:
        raise NotImplementedError("only the development questions have vectors here")


def vm_kb(field: str) -> float:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(status[field].split()[0])


def measure(queries: Path) -> None:
    """In a fresh process: build the retriever from the environment's settings, then time the questions."""
    from assistant.retrieval import HybridRetriever
    from index.tokens import tokenize

    known = json.loads(queries.read_text(encoding="utf-8"))
    rss_before = vm_kb("VmRSS") / 1024
    started = time.perf_counter()
    retriever = HybridRetriever(open_store(IndexSettings()), KnownQueries(known))
    startup = time.perf_counter() - started
    rss_started = vm_kb("VmRSS") / 1024
    timings, bm25 = [], []
    for question in known:
        started = time.perf_counter()
        retriever.retrieve(question, k=10)
        timings.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        retriever.sparse.search(tokenize(question), retriever.candidates)
        bm25.append((time.perf_counter() - started) * 1000)
    print(json.dumps({"chunks": retriever.sparse.count(), "startup_s": round(startup, 3),
                      "rss_mb": round(vm_kb("VmHWM") / 1024, 1), "rss_after_startup_mb": round(rss_started, 1),
                      "rss_before_startup_mb": round(rss_before, 1),
                      "query_p50_ms": p50_p95(timings)["p50"], "query_p95_ms": p50_p95(timings)["p95"],
                      "bm25_p50_ms": p50_p95(bm25)["p50"], "candidates": retriever.candidates}))


def measure_in_fresh_process(port: int, collection: str, data_dir: Path, queries: Path) -> dict:
    env = {**os.environ, "PAPERCHAT_CHROMA_URL": f"http://127.0.0.1:{port}", "PAPERCHAT_COLLECTION": collection,
           "PAPERCHAT_DATA_DIR": str(data_dir)}
    got = subprocess.run([sys.executable, "-m", "bench.startup", "--measure", str(queries)], env=env,
                         capture_output=True, text=True)
    if got.returncode:
        raise SystemExit(f"measuring {collection} failed:\n{got.stderr[-3000:]}")
    if got.stderr.strip():
        print(got.stderr.strip(), file=sys.stderr)
    return json.loads(got.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (a later run grows it)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "startup.json")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        return measure(args.measure)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stopped early: still stop the server
    temporary = None if args.keep else tempfile.TemporaryDirectory(prefix="paperchat-startup-")
    work = args.keep or Path(temporary.name)
    work.mkdir(parents=True, exist_ok=True)
    server, port = start_server(work / "db")
    try:
        rows = run(work, port, server.pid, sorted(args.sizes), args.seed, args.out)
    finally:
        server.terminate()
        server.wait()
        if temporary:
            temporary.cleanup()
    print(json.dumps(rows, indent=1))


def run(work: Path, port: int, server_pid: int, sizes: list[int], seed: int, out: Path) -> list[dict]:
    base = IndexSettings(chroma_url=f"http://127.0.0.1:{port}", data_dir=work / "data")
    model = load_embedder(base)
    questions = [q["question"] for q in load_questions(DEV_SET)]
    queries = work / "queries.json"
    if not queries.exists():
        queries.write_text(json.dumps({q: model.get_query_embedding(q) for q in questions}),
                           encoding="utf-8")

    rows: list[dict] = []

    def record(row: dict) -> None:
        rows.append(row)
        print(json.dumps(row), flush=True)
        write_result(out, "startup", {"rows": rows, "batch": BATCH, "seed": seed})

    bundled = open_store(base.model_copy(update={"collection": BUNDLED}))
    ingest([BUNDLED_CORPUS], bundled, lambda: model)
    record({**measure_in_fresh_process(port, BUNDLED, base.data_dir, queries), "level": BUNDLED})

    centres = np.array(bundled.collection.get(include=["embeddings"])["embeddings"])
    store = open_store(base.model_copy(update={"collection": SYNTHETIC}))
    index = sparse_index(store)
    corpus = work / "synth.jsonl"
    if sizes and not corpus.exists():
        # About 7.8 chunks per synthetic paper; a margin so the largest size is reached.
        synth.write(corpus, papers=min(synth.MAX_PAPERS, sizes[-1] // 7 + 100), seed=seed)
    chunks = synthetic_chunks(corpus)
    for _ in range(store.count()):  # a kept folder: skip what is stored already
        next(chunks)
    vectors = Vectors(centres, seed + store.count())
    for size in sizes:
        vector_s = sparse_s = 0.0
        with exclusive(index):
            repair(index, store, print, counts=False)  # ties a new index to the collection, as ingest does
            while (have := store.count()) < size:
                batch = [c for _, c in zip(range(min(BATCH, size - have)), chunks)]
                started = time.perf_counter()
                store.upsert(batch, vectors.take(len(batch)))
                vector_s += time.perf_counter() - started
                started = time.perf_counter()
                index.write(batch)
                sparse_s += time.perf_counter() - started
            index.close()
        row = measure_in_fresh_process(port, SYNTHETIC, base.data_dir, queries)
        record({**row, "level": SYNTHETIC, "build_vectors_s": round(vector_s, 1), "build_bm25_s": round(sparse_s, 1),
                "bm25_file_mb": round(index.path.stat().st_size / 2**20, 1), "chroma_disk_mb": disk_mb(work / "db"),
                "server_memory": server_memory_mb(server_pid)})
    return rows


if __name__ == "__main__":
    main()
