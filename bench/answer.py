"""Benchmark the answer engine per backend: sources ready, first token, tokens/s, full answer, prompt size, memory.

Asks a fixed set of standalone dev-set questions (English and Chinese, after
one warm-up question) through ``Assistant.stream`` and times its events. Uses
the index in PAPERCHAT_DATA_DIR (build it with `paperchat ingest`).

    .venv/bin/python -m bench.answer [--backend local|extractive|openai] [--questions 12] [--out FILE]
    .venv/bin/python -m bench.answer --versus search_translation=false   # one run, the setting off and on

``--versus KEY=VALUE`` asks every question of one run twice, interleaved, of the assistant as configured and
of one with that setting changed, and reports both medians and their ratio (a second load of the same model
file: llama.cpp maps the weights once).

``--backend openai --serve-gguf`` starts llama-cpp-python's OpenAI-compatible
server (`python -m llama_cpp.server`) on the bundled GGUF for the run, so the
openai backend is measured against the same model as the local one.

Tokens/s is decode speed: for the local model, completion tokens after the
first ÷ the time between first and last token (llama.cpp's own count); for
the other backends, streamed pieces after the first ÷ the same span (the
llama.cpp server streams one token per piece).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from assistant.backends import backend_names
from assistant.engine import Assistant
from assistant.settings import Settings
from bench.common import RESULTS, answer_questions, p50_p95, peak_rss_mb, start_gguf_server, timed_answer, \
    write_result
from evals.questions import DEV_SET, load_questions
from index.ids import base_of


def row_of(q: dict, timed: dict) -> dict:
    """One question's numbers from :func:`bench.common.timed_answer`."""
    marks, timing, answer = timed["marks"], timed["llm_timing"], timed["answer"]
    first, last = marks.get("first_delta", 0.0), marks.get("last_delta", 0.0)
    if timing is not None:
        tokens, tokens_per_s = timing.completion_tokens, timing.decode_tokens_per_second
    else:
        tokens = timed["deltas"]
        tokens_per_s = (tokens - 1) / ((last - first) / 1000) if last > first else None
    return {
        "id": q["id"], "lang": q.get("lang"),
        "sources_ready_ms": round(marks["sources_ready"], 1), "first_token_ms": round(first, 1),
        "total_ms": round(marks["done"], 1),
        "prompt_tokens": timing.prompt_tokens if timing else None,
        "cached_tokens": timing.cached_tokens if timing else None,
        "completion_tokens": tokens, "tokens_per_s": round(tokens_per_s, 1) if tokens_per_s else None,
        "prefill_tokens_per_s": round(timing.prompt_tokens_per_second, 1)
        if timing is not None and timing.prompt_tokens_per_second else None,
        "abstained": answer.abstained,
        "cited_expected": bool({base_of(c.arxiv_id) for c in answer.citations} & {base_of(i) for i in q["expected_ids"]}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="local", choices=backend_names())
    parser.add_argument("--serve-gguf", action="store_true", help="with --backend openai: serve the bundled GGUF")
    parser.add_argument("--questions", type=int, default=12)
    parser.add_argument("--dataset", type=Path, default=DEV_SET)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--versus", metavar="KEY=VALUE", help="also ask each question with this setting changed")
    args = parser.parse_args()
    out = args.out or RESULTS / f"answer-{args.backend}.json"

    server = None
    overrides = {"backend": args.backend}
    if args.serve_gguf:
        server, url = start_gguf_server(Path(tempfile.gettempdir()) / "paperchat-bench-llama-server.log")
        overrides.update(openai_base_url=url, openai_model="qwen-local")
    try:
        started = time.perf_counter()
        assistant = Assistant(Settings(**overrides))
        load_s = time.perf_counter() - started
        other = None
        if args.versus:
            key, _, value = args.versus.partition("=")
            other = Assistant(Settings(**overrides, **{key: value}))
            other.ask("warm-up: what does 2506.11091 propose?")
        questions = answer_questions(load_questions(args.dataset), args.questions)
        assistant.ask("warm-up: what does 2506.11091 propose?")
        rows, versus_rows = [], []
        # With --versus, each question is asked of the other assistant one question later: asked right after
        # the same question, its whole prompt would still be in llama.cpp's cache (no prefill at all).
        for i, q in enumerate(questions + [None]):
            if q is not None:
                rows.append(row_of(q, timed_answer(assistant, q["question"])))
                print(json.dumps(rows[-1], ensure_ascii=False))
            if other is not None and i > 0:
                versus_rows.append(row_of(questions[i - 1], timed_answer(other, questions[i - 1]["question"])))
                print(json.dumps({"versus": args.versus, **versus_rows[-1]}, ensure_ascii=False))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)

    def stat(key: str, of: list[dict] = rows) -> dict:
        return p50_p95([r[key] for r in of if r[key] is not None])

    versus = {}
    if versus_rows:
        keys = ("sources_ready_ms", "first_token_ms", "total_ms")
        versus = {"versus": {"setting": args.versus, **{key: stat(key, versus_rows) for key in keys},
                             "ratio_p50": {key: round(stat(key)["p50"] / stat(key, versus_rows)["p50"], 2)
                                           for key in keys if stat(key, versus_rows).get("p50")},
                             "rows": versus_rows}}

    result = write_result(out, "answer", {
        "backend": args.backend, "served_gguf": args.serve_gguf, "questions": len(rows), "load_s": round(load_s, 2),
        **{key: stat(key) for key in ("sources_ready_ms", "first_token_ms", "total_ms", "prompt_tokens",
                                      "completion_tokens", "tokens_per_s", "prefill_tokens_per_s")},
        "cited_expected_paper": sum(r["cited_expected"] for r in rows), "abstained": sum(r["abstained"] for r in rows),
        "peak_rss_mb": peak_rss_mb(), "rows": rows, **versus,
    })
    print(json.dumps({k: v for k, v in result.items() if k not in ("rows", "versus")}, indent=2))
    if versus:
        print(json.dumps({k: v for k, v in versus["versus"].items() if k != "rows"}, indent=2))


if __name__ == "__main__":
    main()
