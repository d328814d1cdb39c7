"""Benchmark `paperchat search`: retrieval quality, ingest time, warm latency, peak memory.

Builds a fresh index of the bundled collection in a temporary data directory
(so nothing of the user's is touched), then asks every answerable question
of the development set that stands alone (follow-ups need the chat history
and are left to the answer engine's benchmark).

    .venv/bin/python bench/search.py [--dataset FILE] [--out bench/results/search.json]

Writes a JSON file with the machine description and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

from evals.questions import DEV_SET, load_questions, standalone_answerable
from evals.metrics import base_of, hit_at_k, recall_at_k, reciprocal_rank
from index.embedders import load_embedder
from index.ingest import ingest
from index.search import search
from index.settings import BUNDLED_CORPUS, IndexSettings
from index.store import open_store

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEV_SET)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "search.json")
    args = parser.parse_args()

    questions = standalone_answerable(load_questions(args.dataset))

    with tempfile.TemporaryDirectory() as tmp:
        settings = IndexSettings(data_dir=Path(tmp), corpus=[BUNDLED_CORPUS])
        store = open_store(settings)
        model = load_embedder(settings)
        first = ingest([BUNDLED_CORPUS], store, lambda: model)
        again = ingest([BUNDLED_CORPUS], store, lambda: model)

        search(store, model, "warm-up query")
        latencies, hit1, hit5, rr, recall10 = [], [], [], [], []
        per_kind: dict[str, list[float]] = {}
        misses = []
        for q in questions:
            expected = {base_of(i) for i in q["expected_ids"]}
            started = time.perf_counter()
            hits = search(store, model, q["question"], k=10)
            latencies.append((time.perf_counter() - started) * 1000)
            ranked = [h.base_id for h in hits]
            hit1.append(hit_at_k(ranked, expected, 1))
            hit5.append(hit_at_k(ranked, expected, 5))
            rr.append(reciprocal_rank(ranked, expected))
            if q.get("kind") == "multi":
                recall10.append(recall_at_k(ranked, expected, 10))
            per_kind.setdefault(f"{q.get('kind', 'single')}/{q.get('lang', '?')}", []).append(rr[-1])
            if hit1[-1] == 0:
                misses.append({"id": q["id"], "expected": sorted(expected), "got": ranked[:3]})

    result = {
        "benchmark": "search",
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "embedder": store.embedder,
        "questions": len(questions),
        "hit@1": round(statistics.mean(hit1), 3),
        "hit@5": round(statistics.mean(hit5), 3),
        "mrr": round(statistics.mean(rr), 3),
        "recall@10_multi": round(statistics.mean(recall10), 3) if recall10 else None,
        "mrr_by_kind_lang": {k: round(statistics.mean(v), 3) for k, v in sorted(per_kind.items())},
        "ingest_s": round(first.seconds, 2),
        "ingest_chunks": first.embedded_chunks,
        "reingest_unchanged_s": round(again.seconds, 2),
        "search_p50_ms": round(percentile(latencies, 0.5), 1),
        "search_p95_ms": round(percentile(latencies, 0.95), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "misses_at_1": misses,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "misses_at_1"}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
