"""Where the time of one answer goes with the bundled local model: a table of median ms and share of the total.

Asks the fixed English/Chinese questions of `bench.answer` (after one warm-up)
through ``Assistant.stream`` with the local backend and splits each answer's
wall time, all on the benchmark's clock:

* retrieval: question to ranked papers (engine's ``timings_ms["retrieval"]``);
* evidence: choosing the sentences shown to the model (to ``SourcesReady``);
* prefill: prompt built, evaluated and first token picked (to the first text piece);
  llama.cpp's own share of it is ``first_token_seconds``, with cached prefix tokens skipped;
* decode: first to last text piece;
* verification: citations normalised and each sentence's support checked (to ``AnswerDone``).

Uses the index in PAPERCHAT_DATA_DIR (build it with `paperchat ingest`).

    .venv/bin/python -m bench.breakdown [--questions 8] [--out bench/results/breakdown.json]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from assistant.engine import Assistant
from assistant.settings import Settings
from bench.common import RESULTS, answer_questions, peak_rss_mb, timed_answer, write_result
from evals.questions import DEV_SET, load_questions

STAGES = ("retrieval", "evidence", "prefill", "decode", "verification")


def stages_of(timed: dict) -> dict[str, float]:
    """One answer's wall time split into :data:`STAGES` (ms); they add up to ``total``."""
    marks, engine = timed["marks"], timed["engine"]
    first, last = marks.get("first_delta", marks["sources_ready"]), marks.get("last_delta", marks["sources_ready"])
    return {"retrieval": engine["retrieval"], "evidence": marks["sources_ready"] - engine["retrieval"],
            "prefill": first - marks["sources_ready"], "decode": last - first, "verification": marks["done"] - last,
            "total": marks["done"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--dataset", type=Path, default=DEV_SET)
    parser.add_argument("--out", type=Path, default=RESULTS / "breakdown.json")
    args = parser.parse_args()

    assistant = Assistant(Settings(backend="local"))
    assistant.ask("warm-up: what does 2506.11091 propose?")
    rows = []
    for q in answer_questions(load_questions(args.dataset), args.questions):
        timed = timed_answer(assistant, q["question"])
        timing = timed["llm_timing"]
        rows.append({"id": q["id"], "lang": q.get("lang"), **{k: round(v, 1) for k, v in stages_of(timed).items()},
                     "llama_prefill_ms": round(timing.first_token_seconds * 1000, 1),
                     "prompt_tokens": timing.prompt_tokens, "cached_tokens": timing.cached_tokens,
                     "completion_tokens": timing.completion_tokens,
                     "prefill_tokens_per_s": round(timing.prompt_tokens_per_second, 1),
                     "decode_tokens_per_s": round(timing.decode_tokens_per_second, 1)})
        print(rows[-1])

    medians = {k: round(statistics.median(r[k] for r in rows), 1)
               for k in (*STAGES, "total", "llama_prefill_ms", "prompt_tokens", "cached_tokens", "completion_tokens",
                         "prefill_tokens_per_s", "decode_tokens_per_s")}
    # Shares of the summed stage medians, so they add up to 100 %.
    stage_sum = sum(medians[s] for s in STAGES)
    shares = {s: round(100 * medians[s] / stage_sum, 1) for s in STAGES}
    biggest = max(STAGES, key=shares.get)
    write_result(args.out, "breakdown", {"backend": "local", "questions": len(rows), "median_ms": medians,
                                         "share_percent": shares, "biggest": biggest, "peak_rss_mb": peak_rss_mb(),
                                         "rows": rows})
    print("\n| stage | median ms | share |\n|---|---:|---:|")
    for s in STAGES:
        print(f"| {s} | {medians[s]:.1f} | {shares[s]:.1f} % |")
    print(f"| total (median of totals) | {medians['total']:.1f} | |")
    print(f"\nprompt tokens p50 {medians['prompt_tokens']} ({medians['cached_tokens']} cached), "
          f"completion tokens p50 {medians['completion_tokens']}, prefill {medians['prefill_tokens_per_s']} tok/s, "
          f"decode {medians['decode_tokens_per_s']} tok/s; biggest share: {biggest}")


if __name__ == "__main__":
    main()
