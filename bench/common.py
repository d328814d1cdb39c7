"""What every benchmark shares: p50/p95, the machine description, peak memory, the result file,
a temporary index of the bundled collection, retrieval scoring, the fixed answer questions, the load tests'
conversations, and starting a server (a free port, waiting until it answers; llama-cpp-python's server on the
bundled GGUF and the decode speed it logs), which the tests use too."""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from assistant.answer import AnswerDone, SourcesReady, TextDelta
from assistant.settings import Settings
from evals.metrics import hit_at_k, percentile, recall_at_k, reciprocal_rank
from evals.questions import DEV_SET, load_questions, standalone_answerable
from index.embedders import load_embedder
from index.ids import base_of
from index.ingest import IngestReport, ingest
from index.settings import BUNDLED_CORPUS
from index.store import PaperStore, open_store

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def p50_p95(values: list[float]) -> dict:
    return {"p50": round(percentile(values, 50), 1), "p95": round(percentile(values, 95), 1)} if values else {}


def machine() -> dict:
    """The machine and how busy it was: absolute times only mean something next to this."""
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def write_result(out: Path, benchmark: str, result: dict) -> dict:
    """Write ``result`` with the benchmark's name, the date and the machine; returns what was written."""
    full = {"benchmark": benchmark, "date": time.strftime("%Y-%m-%d"), "machine": machine(), **result}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(full, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return full


@contextmanager
def temporary_index(**overrides) -> Iterator[tuple[Settings, PaperStore, object, IngestReport]]:
    """The bundled collection ingested into a temporary data dir, so nothing of the user's is touched.

    Yields the settings pointing at it (``overrides`` applied), the store, the embedder and the ingest report.
    """
    with tempfile.TemporaryDirectory() as tmp:
        yield bundled_index_in(Path(tmp), **overrides)


def bundled_index_in(data_dir: Path, **overrides) -> tuple[Settings, PaperStore, object, IngestReport]:
    """The bundled collection ingested into ``data_dir``: only what is not there yet is embedded, so an index
    of it that is already there (the one `make test` builds once for the tests, the smoke and the eval gate)
    costs a hash check. Returns what :func:`temporary_index` yields."""
    settings = Settings(**{"chroma_url": None, **overrides, "data_dir": Path(data_dir), "corpus": [BUNDLED_CORPUS]})
    store = open_store(settings)
    model = load_embedder(settings)
    report = ingest([BUNDLED_CORPUS], store, lambda: model)
    return settings, store, model, report


Ranker = Callable[[str], list[str]]
"""A retriever under test: question in, base arXiv IDs out, best first."""


def score_rankers(questions: list[dict], rankers: dict[str, Ranker], rounds: int = 1) -> dict[str, dict]:
    """Quality (hit@1, hit@5, MRR, recall@10 of multi-paper questions) and latency of each ranker.

    The rankers take turns on each question (the first one rotates), so a change in the machine's
    load hits all of them alike and their latency ratios stay fair on a shared CPU. Quality comes
    from the first round; latency from all ``rounds``.
    """
    names = list(rankers)
    for name in names:
        rankers[name]("warm-up query")
    ranked: dict[str, list[list[str]]] = {n: [] for n in names}
    latency: dict[str, list[float]] = {n: [] for n in names}
    for round_ in range(rounds):
        for i, q in enumerate(questions):
            shift = (i + round_) % len(names)
            for name in names[shift:] + names[:shift]:
                started = time.perf_counter()
                got = rankers[name](q["question"])
                latency[name].append((time.perf_counter() - started) * 1000)
                if round_ == 0:
                    ranked[name].append(got)
    return {n: {**ranking_quality(questions, ranked[n]), "latency_ms": p50_p95(latency[n])} for n in names}


QUALITY = ("hit@1", "hit@5", "mrr", "recall@10_multi")


def score_line(name: str, scores: dict) -> str:
    """One line of :func:`score_rankers` output for the terminal."""
    return (f"{name:38} " + " ".join(f"{m} {scores[m]}" for m in QUALITY)
            + f"  p50 {scores['latency_ms']['p50']} ms  p95 {scores['latency_ms']['p95']} ms")


def ranking_quality(questions: list[dict], rankings: list[list[str]]) -> dict:
    """Retrieval metrics of one ranked base-ID list per question, with MRR per kind/language and the misses."""
    hit1, hit5, rr, recall10 = [], [], [], []
    per_kind: dict[str, list[float]] = {}
    misses = []
    for q, ranked in zip(questions, rankings):
        expected = {base_of(i) for i in q["expected_ids"]}
        hit1.append(hit_at_k(ranked, expected, 1))
        hit5.append(hit_at_k(ranked, expected, 5))
        rr.append(reciprocal_rank(ranked, expected))
        if q.get("kind") == "multi":
            recall10.append(recall_at_k(ranked, expected, 10))
        per_kind.setdefault(f"{q.get('kind', 'single')}/{q.get('lang', '?')}", []).append(rr[-1])
        if not hit1[-1]:
            misses.append({"id": q["id"], "expected": sorted(expected), "got": ranked[:3]})
    return {"hit@1": round(statistics.mean(hit1), 3), "hit@5": round(statistics.mean(hit5), 3),
            "mrr": round(statistics.mean(rr), 3),
            "recall@10_multi": round(statistics.mean(recall10), 3) if recall10 else None,
            "mrr_by_kind_lang": {k: round(statistics.mean(v), 3) for k, v in sorted(per_kind.items())},
            "misses_at_1": misses}


def answer_questions(questions: list[dict], n: int) -> list[dict]:
    """The fixed answer-benchmark set: English and Chinese single-paper questions alternating, in file order."""
    singles = [q for q in standalone_answerable(questions) if q.get("kind") == "single"]
    en = [q for q in singles if q.get("lang") == "en"]
    zh = [q for q in singles if q.get("lang") == "zh"]
    return [q for pair in zip(en, zh) for q in pair][:n]


FOLLOW_UPS = ["What dataset did it use?", "它的主要贡献是什么？"]
"""The load tests' follow-ups: each refers back to the conversation's first question."""


def conversation_openers(n: int) -> list[str]:
    """``n`` single-paper dev-set questions, English and Chinese, in file order (repeated if short): the first
    question of each load-test conversation."""
    pool = [q["question"] for q in standalone_answerable(load_questions(DEV_SET)) if q.get("kind") == "single"]
    return [pool[i % len(pool)] for i in range(n)]


def timed_answer(assistant, question: str) -> dict:
    """Ask ``question`` through ``Assistant.stream`` and time its events on one clock (ms from the call).

    Returns the event times (sources ready, first and last text delta, answer done), the engine's own
    ``timings_ms``, the number of text deltas, the backend's ``last_timing`` (local model) and the answer.
    """
    started = time.perf_counter()
    marks: dict[str, float] = {}
    deltas = 0
    answer = None
    for event in assistant.stream(question):
        now = (time.perf_counter() - started) * 1000
        if isinstance(event, SourcesReady):
            marks.setdefault("sources_ready", now)
        elif isinstance(event, TextDelta):
            marks.setdefault("first_delta", now)
            marks["last_delta"] = now
            deltas += 1
        elif isinstance(event, AnswerDone):
            marks["done"] = now
            answer = event.answer
    return {"marks": marks, "deltas": deltas, "engine": answer.timings_ms,
            "llm_timing": getattr(assistant.llm, "last_timing", None), "answer": answer}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, proc: subprocess.Popen, timeout: float = 180.0, poll: float = 0.05,
                  log: Path | None = None) -> float:
    """Seconds until ``url`` answers any HTTP request; raises if ``proc`` dies or ``timeout`` passes first.

    The error ends with the tail of ``log`` (the process's output) when given.
    """
    started = time.perf_counter()
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return time.perf_counter() - started
        except urllib.error.HTTPError:  # an HTTP error status is an answer: the server is up
            return time.perf_counter() - started
        except OSError:
            late = time.perf_counter() - started > timeout
            if proc.poll() is not None or late:
                proc.kill()
                reason = f"did not answer within {timeout:.0f} s" if late else f"exited with {proc.returncode}"
                tail = f":\n{log.read_text()[-3000:]}" if log else ""
                raise RuntimeError(f"{' '.join(map(str, proc.args))} {reason}{tail}")
            time.sleep(poll)


def start_gguf_server(log: Path, verbose: bool = False) -> tuple[subprocess.Popen, str]:
    """llama-cpp-python's OpenAI-compatible server on the bundled GGUF (model ``qwen-local``), its output in
    ``log``; returns the process and its /v1 URL. ``verbose`` makes llama.cpp log each request's decode speed
    (:func:`llama_server_log`).

    ``--interrupt_requests False``: by default the server ends a streaming answer with ``[DONE]`` as soon as
    another request waits for the model, so under concurrent use answers come back cut short, without an error.
    """
    from assistant.local_llm import bundled_model_path  # imports llama_cpp, which the other benchmarks do not need

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model",
                             str(bundled_model_path(Settings().model_cache_dir)), "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "4096", "--chat_format", "chatml",
                             "--model_alias", "qwen-local", "--interrupt_requests", "False", "--verbose", str(verbose)],
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    wait_for_http(f"{url}/models", proc, log=log)
    return proc, url


_DECODE_RE = re.compile(r"^llama_perf_context_print:\s+eval time =.*?/\s*(\d+) runs.*?([\d.]+) tokens per second", re.M)


def llama_server_log(log_text: str) -> dict:
    """What a verbose llama-cpp-python server logged: decode speed (tokens/s p50/p95) and completion tokens of
    its requests, as llama.cpp measured them (what the machine gave the model while it was loaded), and how
    many streams it cut short ("disconnected": the client went away, or another request interrupted it).

    Prefill is left out: under llama-cpp-python's server the "prompt eval" line is not a measurement (19
    prompt tokens in 0.03 ms, then 9 in 8.9 s, on two requests run back to back).
    """
    runs = [(int(n), float(speed)) for n, speed in _DECODE_RE.findall(log_text) if int(n) > 1]
    return {"requests_logged": len(runs), "decode_tokens_per_s": p50_p95([speed for _, speed in runs]),
            "completion_tokens": p50_p95([n for n, _ in runs]),
            "streams_cut_short": len(re.findall(r"^disconnected$", log_text, re.M))}
