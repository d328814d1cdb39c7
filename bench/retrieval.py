"""Benchmark the answer engine's retrieval: dense alone, BM25 alone and hybrid, side by side.

Uses the index in PAPERCHAT_DATA_DIR (build it with `paperchat ingest`) and
every standalone answerable question of the development set.

    .venv/bin/python bench/retrieval.py [--dataset FILE] [--out bench/results/retrieval.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from assistant.retrieval import HybridRetriever
from assistant.settings import Settings
from evals.questions import DEV_SET, load_questions, standalone_answerable
from evals.metrics import base_of, hit_at_k, recall_at_k, reciprocal_rank
from index.embedders import load_embedder
from index.ingest import require_index
from index.store import open_store

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEV_SET)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "retrieval.json")
    args = parser.parse_args()
    questions = standalone_answerable(load_questions(args.dataset))

    settings = Settings()
    store = open_store(settings)
    require_index(store)
    model = load_embedder(settings)
    modes = {}
    for mode in ("dense", "bm25", "hybrid"):
        retriever = HybridRetriever(store, model, mode)
        retriever.retrieve("warm-up")
        hit1, hit5, rr, recall10, latency = [], [], [], [], []
        for q in questions:
            expected = {base_of(i) for i in q["expected_ids"]}
            started = time.perf_counter()
            ranked = [p.base_id for p in retriever.retrieve(q["question"], k=10).papers]
            latency.append((time.perf_counter() - started) * 1000)
            hit1.append(hit_at_k(ranked, expected, 1))
            hit5.append(hit_at_k(ranked, expected, 5))
            rr.append(reciprocal_rank(ranked, expected))
            if q.get("kind") == "multi":
                recall10.append(recall_at_k(ranked, expected, 10))
        modes[mode] = {"hit@1": round(statistics.mean(hit1), 3), "hit@5": round(statistics.mean(hit5), 3),
                       "mrr": round(statistics.mean(rr), 3), "recall@10_multi": round(statistics.mean(recall10), 3),
                       "p50_ms": round(statistics.median(latency), 1)}
    result = {"benchmark": "retrieval", "date": time.strftime("%Y-%m-%d"), "questions": len(questions),
              "machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "modes": modes}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(modes, indent=2))


if __name__ == "__main__":
    main()
