"""Benchmark the answer engine: sources ready, first token, full answer, prompt size, memory.

Asks a fixed set of standalone dev-set questions (English and Chinese, after
one warm-up question) through ``Assistant.stream`` and times its events. Uses
the index in PAPERCHAT_DATA_DIR (build it with `paperchat ingest`).

    .venv/bin/python bench/answer.py [--backend local] [--questions 12] [--out bench/results/answer-local.json]

Where the time goes: retrieval and evidence selection end at "sources ready";
prefill ends at the first token; decode and citation verification make up the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time
from pathlib import Path

from assistant.answer import AnswerDone, SourcesReady, TextDelta
from assistant.engine import Assistant
from assistant.settings import Settings
from evals.questions import DEV_SET, load_questions, standalone_answerable

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def pick(questions: list[dict], n: int) -> list[dict]:
    """Alternate English and Chinese single-paper questions, in file order (a fixed set)."""
    singles = [q for q in standalone_answerable(questions) if q.get("kind") == "single"]
    en = [q for q in singles if q.get("lang") == "en"]
    zh = [q for q in singles if q.get("lang") == "zh"]
    mixed = [q for pair in zip(en, zh) for q in pair]
    return mixed[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="local")
    parser.add_argument("--questions", type=int, default=12)
    parser.add_argument("--dataset", type=Path, default=DEV_SET)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = args.out or ROOT / "bench" / "results" / f"answer-{args.backend}.json"

    settings = Settings(backend=args.backend)
    started = time.perf_counter()
    assistant = Assistant(settings)
    load_s = time.perf_counter() - started
    questions = pick(load_questions(args.dataset), args.questions)
    assistant.ask("warm-up: what does 2506.11091 propose?")

    rows = []
    for q in questions:
        t0 = time.perf_counter()
        sources_ms = first_ms = None
        for event in assistant.stream(q["question"]):
            now = (time.perf_counter() - t0) * 1000
            if isinstance(event, SourcesReady) and sources_ms is None:
                sources_ms = now
            elif isinstance(event, TextDelta) and first_ms is None:
                first_ms = now
            elif isinstance(event, AnswerDone):
                answer = event.answer
        timing = getattr(assistant.llm, "last_timing", None)
        rows.append({
            "id": q["id"], "lang": q.get("lang"),
            "sources_ready_ms": round(sources_ms, 1), "first_token_ms": round(first_ms or 0.0, 1),
            "total_ms": round(answer.timings_ms["total"], 1),
            "prompt_tokens": timing.prompt_tokens if timing else None,
            "cached_tokens": timing.cached_tokens if timing else None,
            "completion_tokens": timing.completion_tokens if timing else None,
            "abstained": answer.abstained,
            "cited_expected": any(c.arxiv_id.rsplit("v", 1)[0] in {i.rsplit("v", 1)[0] for i in q["expected_ids"]}
                                  for c in answer.citations),
        })
        print(json.dumps(rows[-1], ensure_ascii=False))

    def stat(key: str) -> dict:
        values = [r[key] for r in rows if r[key] is not None]
        return {"p50": round(percentile(values, 0.5), 1), "p95": round(percentile(values, 0.95), 1)} if values else {}

    result = {
        "benchmark": "answer", "backend": args.backend, "date": time.strftime("%Y-%m-%d"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "questions": len(rows), "load_s": round(load_s, 2),
        "sources_ready_ms": stat("sources_ready_ms"), "first_token_ms": stat("first_token_ms"),
        "total_ms": stat("total_ms"), "prompt_tokens": stat("prompt_tokens"),
        "completion_tokens": stat("completion_tokens"),
        "cited_expected_paper": sum(r["cited_expected"] for r in rows), "abstained": sum(r["abstained"] for r in rows),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rows": rows,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=2))


if __name__ == "__main__":
    main()
