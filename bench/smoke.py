"""CI benchmark smoke: warm retrieval latency and answer-prompt size against bench/thresholds.toml.

Builds the bundled index in a temporary data directory, then over every
standalone answerable dev-set question measures the warm hybrid retrieval
p50, and the answer prompt the engine would send the model (retrieval,
evidence selection, ``engine.answer_messages``, ChatML) counted with the
bundled GGUF's own tokenizer, without generating anything. Exits 1 with one
line per breached limit.

    .venv/bin/python -m bench.smoke [--thresholds bench/thresholds.toml] [--out bench/results/smoke.json]
                                    [--data-dir DIR]

Run by hand it updates the tracked result file; `make test` writes to the
ignored bench/runs/ instead, so a test run leaves the tree clean, and passes
the index it built once with ``--data-dir``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tomllib
from contextlib import nullcontext
from pathlib import Path

import llama_cpp

from assistant.engine import answer_messages
from assistant.evidence import select_evidence
from assistant.local_llm import bundled_model_path, chatml_prompt
from assistant.retrieval import HybridRetriever
from assistant.settings import Settings
from bench.common import RESULTS, bundled_index_in, percentile, temporary_index, write_result
from evals.questions import DEV_SET, load_questions, standalone_answerable
from index.corpus import detect_language

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", type=Path, default=HERE / "thresholds.toml")
    parser.add_argument("--out", type=Path, default=RESULTS / "smoke.json")
    parser.add_argument("--data-dir", type=Path, help="Use (and bring up to date) the index of the bundled "
                        "collection in this data dir instead of building one in a temporary dir.")
    args = parser.parse_args()
    limits = tomllib.loads(args.thresholds.read_text(encoding="utf-8"))["limits"]
    started = time.perf_counter()
    questions = standalone_answerable(load_questions(DEV_SET))
    vocab = llama_cpp.Llama(model_path=str(bundled_model_path(Settings().model_cache_dir)),
                            vocab_only=True, verbose=False)

    index = nullcontext(bundled_index_in(args.data_dir)) if args.data_dir else temporary_index()
    with index as (settings, store, model, _):
        retriever = HybridRetriever(store, model, "hybrid")
        retriever.retrieve("warm-up query")
        latency, prompt_tokens = [], []
        for q in questions:
            t0 = time.perf_counter()
            retrieval = retriever.retrieve(q["question"], k=settings.top_k)
            latency.append((time.perf_counter() - t0) * 1000)
            sources = select_evidence(retrieval, retriever, q["question"], settings.evidence_tokens)
            prompt = chatml_prompt(answer_messages(q["question"], detect_language(q["question"]), sources))
            prompt_tokens.append(len(vocab.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)))

    measured = {"hybrid_retrieval_p50_ms": round(percentile(latency, 50), 1),
                "prompt_tokens_p50": statistics.median_low(prompt_tokens), "prompt_tokens_max": max(prompt_tokens)}
    breaches = [f"bench smoke: {name} = {measured[name]} exceeds the limit {limit} ({args.thresholds})"
                for name, limit in limits.items() if measured[name] > limit]
    write_result(args.out, "smoke", {"questions": len(questions), "measured": measured, "limits": limits,
                                     "breaches": breaches, "seconds": round(time.perf_counter() - started, 1)})
    print(f"bench smoke: {measured} in {time.perf_counter() - started:.0f} s ({len(questions)} questions)")
    if breaches:
        print("\n".join(breaches), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
