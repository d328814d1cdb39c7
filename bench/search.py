"""Benchmark the index layer: ingest time, unchanged re-ingest, and its dense search (index/search.py).

Builds a fresh index of the bundled collection in a temporary data directory
(so nothing of the user's is touched), ingests it again (nothing should be
embedded), then ranks with plain dense search, one result per paper, for every
answerable question of the development set that stands alone: the retrieval
quality, warm latency and peak memory of the index alone. `paperchat search`
and the answer engine use the hybrid retriever, which `bench.peers` measures.

    .venv/bin/python -m bench.search [--dataset FILE] [--out bench/results/search.json]

Writes a JSON file with the machine description and prints a summary.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.common import RESULTS, peak_rss_mb, score_rankers, temporary_index, write_result
from evals.questions import DEV_SET, load_questions, standalone_answerable
from index.ingest import ingest
from index.search import search
from index.settings import BUNDLED_CORPUS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEV_SET)
    parser.add_argument("--out", type=Path, default=RESULTS / "search.json")
    args = parser.parse_args()
    questions = standalone_answerable(load_questions(args.dataset))

    with temporary_index() as (_, store, model, first):
        again = ingest([BUNDLED_CORPUS], store, lambda: model)
        scores = score_rankers(questions, {"search": lambda q: [h.base_id for h in search(store, model, q, k=10)]})

    result = write_result(args.out, "search", {
        "embedder": store.embedder, "questions": len(questions), **scores["search"],
        "ingest_s": round(first.seconds, 2), "ingest_chunks": first.embedded_chunks,
        "reingest_unchanged_s": round(again.seconds, 2), "peak_rss_mb": peak_rss_mb(),
    })
    print(json.dumps({k: v for k, v in result.items() if k != "misses_at_1"}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
