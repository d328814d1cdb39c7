"""Measure the low-evidence threshold: how well the best source's score separates answerable questions from
unanswerable ones, per language, on the development set.

Every question (with its history) goes through the extractive Assistant on a fresh index of the bundled
collection. For each one that passes the off-topic check (its answer has sources), the score is the best e5
similarity of the standalone question to a chunk of the versions shown (``assistant.confidence.evidence_score``,
what the notice compares). Per language it reports the threshold that best separates the two groups (largest
share of unanswerable questions below it minus share of answerable ones below it, Youden's J) and the one
proposed: the highest that flags at most ``--max-false-alarms`` of the answerable questions, since a warning
shown on many good answers teaches people to ignore it. The numbers at the configured thresholds are
reported too.

    .venv/bin/python -m bench.evidence [--dataset FILE] [--max-false-alarms 0.1] [--out bench/results/evidence.json]

Never run it on the blind set: thresholds chosen on it would no longer be measured blind.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from assistant.confidence import evidence_score
from assistant.engine import Assistant
from bench.common import RESULTS, p50_p95, temporary_index, write_result
from evals.questions import DEV_SET, load_questions


def separation(answerable: list[float], unanswerable: list[float], threshold: float) -> dict:
    """Shares of each group scoring below ``threshold`` (flagged), and their difference (Youden's J)."""
    flagged_a = sum(s < threshold for s in answerable) / len(answerable) if answerable else 0.0
    flagged_u = sum(s < threshold for s in unanswerable) / len(unanswerable) if unanswerable else 0.0
    return {"threshold": round(threshold, 3), "answerable_flagged": round(flagged_a, 3),
            "unanswerable_flagged": round(flagged_u, 3), "j": round(flagged_u - flagged_a, 3)}


def best_threshold(answerable: list[float], unanswerable: list[float]) -> dict:
    """The threshold (midway between two observed scores) with the largest J; the lower one on a tie."""
    scores = sorted(set(answerable + unanswerable))
    candidates = [(a + b) / 2 for a, b in zip(scores, scores[1:])] or scores
    return max((separation(answerable, unanswerable, t) for t in candidates), key=lambda r: (r["j"], -r["threshold"]))


def bounded_threshold(answerable: list[float], unanswerable: list[float], max_false_alarms: float) -> dict:
    """The highest threshold (midway between two observed scores) that flags at most ``max_false_alarms`` of the
    answerable questions."""
    scores = sorted(set(answerable + unanswerable))
    candidates = [(a + b) / 2 for a, b in zip(scores, scores[1:])] or scores
    fitting = [separation(answerable, unanswerable, t) for t in candidates]
    fitting = [r for r in fitting if r["answerable_flagged"] <= max_false_alarms]
    return max(fitting, key=lambda r: r["threshold"], default=separation(answerable, unanswerable, 0.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEV_SET)
    parser.add_argument("--max-false-alarms", type=float, default=0.1,
                        help="Share of answerable questions the proposed threshold may flag.")
    parser.add_argument("--out", type=Path, default=RESULTS / "evidence.json")
    args = parser.parse_args()
    if "blind" in args.dataset.name:
        parser.error("thresholds are chosen on the development set, never on the blind set")
    questions = load_questions(args.dataset)

    rows = []
    cost_ms = []  # what the notice adds to an answer: one more Chroma query
    with temporary_index(backend="extractive") as (settings, store, model, _):
        assistant = Assistant(settings, store=store, embed_model=model)
        for q in questions:
            answer = assistant.ask(q["question"], q.get("history") or [])
            started = time.perf_counter()
            score = evidence_score(assistant.retriever, answer.standalone_question,
                                   [s.arxiv_id for s in answer.sources]) if answer.sources else None
            if score is not None:
                cost_ms.append((time.perf_counter() - started) * 1000)
            rows.append({"id": q["id"], "lang": q.get("lang", "en"), "kind": q.get("kind", "single"),
                         "answerable": bool(q["expected_ids"]), "score": None if score is None else round(score, 4),
                         "abstention_reason": answer.abstention_reason, "low_evidence": answer.low_evidence})

    by_language = {}
    for lang, configured in (("en", settings.low_evidence_score_en), ("zh", settings.low_evidence_score_zh)):
        scored = [r for r in rows if r["lang"] == lang and r["score"] is not None]
        answerable = [r["score"] for r in scored if r["answerable"]]
        unanswerable = [r["score"] for r in scored if not r["answerable"]]
        by_language[lang] = {
            "questions": sum(r["lang"] == lang for r in rows), "past_off_topic_check": len(scored),
            "answerable": len(answerable), "unanswerable": len(unanswerable),
            "answerable_range": [min(answerable, default=None), max(answerable, default=None)],
            "unanswerable_range": [min(unanswerable, default=None), max(unanswerable, default=None)],
            "best_j": best_threshold(answerable, unanswerable),
            "proposed": bounded_threshold(answerable, unanswerable, args.max_false_alarms),
            "at_false_alarms": {str(rate): bounded_threshold(answerable, unanswerable, rate)
                                for rate in (0.05, 0.1, 0.2)},
            "configured": separation(answerable, unanswerable, configured),
            "answered_and_flagged": sum(r["low_evidence"] for r in rows if r["lang"] == lang),
        }
    result = write_result(args.out, "evidence", {"dataset": args.dataset.name, "backend": "extractive",
                                                 "max_false_alarms": args.max_false_alarms,
                                                 "evidence_score_ms": p50_p95(cost_ms),
                                                 "by_language": by_language, "questions": rows})
    print(json.dumps({"evidence_score_ms": result["evidence_score_ms"], **result["by_language"]}, ensure_ascii=False,
                     indent=2))


if __name__ == "__main__":
    main()
