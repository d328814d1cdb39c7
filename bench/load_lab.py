"""Load test of the lab set-up: concurrent conversations through the OpenAI-compatible API of several workers.

Starts, in a temporary folder, what docs/deployment.md ("The lab server, step by step") runs: a real
``chroma run``; with ``--backend openai``, llama-cpp-python's OpenAI-compatible server on the bundled GGUF
(``python -m llama_cpp.server``); ``paperchat ingest`` of the bundled collection into the Chroma server, with
one shared BM25 folder (``PAPERCHAT_SPARSE_DIR``); then ``--workers`` ``paperchat serve`` processes sharing all
of it, with ``PAPERCHAT_API_KEY`` set. N conversations then run at once, each on its own thread with its own
official ``openai.OpenAI`` client and message history, the conversations split across the workers' ports in
turn: a standalone dev-set question, then the follow-ups of :mod:`bench.load` that refer back to it, each sent
with the conversation's earlier messages. Even-numbered conversations stream, odd ones do not.

    .venv/bin/python -m bench.load_lab --backend extractive --conversations 32   # load-openai-extractive.json
    .venv/bin/python -m bench.load_lab --backend openai --conversations 8        # load-openai-served.json

Every conversation connects from 127.0.0.1, which a worker counts as one client, so the workers are started
with ``PAPERCHAT_ANSWERS_PER_CLIENT`` equal to the number of conversations, as :mod:`bench.load` does.

Recorded: errors (exceptions, including a streamed error event), per-turn latency (request to the whole
answer, including the client's retries) p50/p95, all and per turn number, first-token latency of the streamed
turns, the HTTP 429s the workers answered (the client retries each, honouring ``Retry-After``) and the
questions still turned away after ``--max-retries`` retries, answers with citations, abstentions, the load
average before and after and, with the model server, the decode speed llama.cpp logged for each request and
the streams it cut short (none: the server runs with ``--interrupt_requests False``, see
:func:`bench.common.start_gguf_server`).
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import openai

from bench.common import FOLLOW_UPS, RESULTS, conversation_openers, free_port, llama_server_log, machine, p50_p95, \
    start_gguf_server, wait_for_http, write_result
from bench.scale import start_server
from ui.settings import Settings

BIN = Path(sys.executable).parent


@dataclass
class Conversation:
    """What one client saw."""

    port: int
    stream: bool
    turns_ms: dict[int, float] = field(default_factory=dict)
    """Turn number (1 = the first question) → request to whole answer."""
    first_token_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    http_429: int = 0
    """429 answers received; the client retried each."""
    turned_away: int = 0
    """Questions still refused (429) after the client's last retry."""
    cited: int = 0
    abstained: int = 0


def ask(client: openai.OpenAI, model: str, messages: list[dict], seen: Conversation) -> tuple[str, dict]:
    """One turn; returns the answer text to keep in the history and the response's ``paperchat`` object."""
    started = time.perf_counter()
    if not seen.stream:
        completion = client.chat.completions.create(model=model, messages=messages)
        extra = completion.model_extra or {}
        return completion.choices[0].message.content, extra.get("paperchat", {})
    text, details = "", {}
    for chunk in client.chat.completions.create(model=model, messages=messages, stream=True):
        piece = chunk.choices[0].delta.content if chunk.choices else None
        if piece and not text:
            seen.first_token_ms.append((time.perf_counter() - started) * 1000)
        text += piece or ""
        details = (chunk.model_extra or {}).get("paperchat") or details
    # The last chunk's paperchat object holds the verified answer; the chat shows that one, so the history does.
    return details.get("answer", text), details


def conversation(port: int, key: str, model: str, question: str, turns: int, retries: int,
                 seen: Conversation) -> None:
    def count(response: httpx.Response) -> None:
        if response.status_code == 429:
            seen.http_429 += 1

    http = httpx.Client(timeout=httpx.Timeout(900, connect=10), event_hooks={"response": [count]})
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=retries,
                           http_client=http)
    messages: list[dict] = []
    try:
        for turn, text in enumerate([question, *FOLLOW_UPS][:turns], start=1):
            messages.append({"role": "user", "content": text})
            started = time.perf_counter()
            try:
                answer, details = ask(client, model, messages, seen)
            except openai.RateLimitError:
                seen.turned_away += 1
                messages.pop()
                continue
            seen.turns_ms[turn] = (time.perf_counter() - started) * 1000
            seen.cited += bool(details.get("citations"))
            seen.abstained += bool(details.get("abstained"))
            messages.append({"role": "assistant", "content": answer})
    except Exception as exc:  # counted and reported
        seen.errors.append(f"{type(exc).__name__}: {exc}"[:300])
    finally:
        http.close()


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "w") as sink:
        return subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="extractive", choices=["extractive", "openai"],
                        help="openai: the workers use llama-cpp-python's server on the bundled GGUF, started here")
    parser.add_argument("--conversations", type=int, default=32)
    parser.add_argument("--turns", type=int, default=3, choices=[1, 2, 3], help="the question and its follow-ups")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-retries", type=int, default=8, help="the openai client's retries of a 429")
    parser.add_argument("--answers-per-client", type=int,
                        help="PAPERCHAT_ANSWERS_PER_CLIENT of the workers (default: --conversations, see above)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    served = args.backend == "openai"
    out = args.out or RESULTS / f"load-openai-{'served' if served else 'extractive'}.json"

    with tempfile.TemporaryDirectory(prefix="paperchat-lab-") as tmp:
        lab = Path(tmp)
        chroma, chroma_port = start_server(lab / "chroma")
        key = secrets.token_urlsafe(24)
        per_client = args.answers_per_client or args.conversations
        env = {**os.environ, "PAPERCHAT_DATA_DIR": str(lab / "data"), "PAPERCHAT_SPARSE_DIR": str(lab / "bm25"),
               "PAPERCHAT_CHROMA_URL": f"http://127.0.0.1:{chroma_port}", "PAPERCHAT_BACKEND": args.backend,
               "PAPERCHAT_API_KEY": key, "PAPERCHAT_ANSWERS_PER_CLIENT": str(per_client),
               "GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1"}
        processes = [chroma]
        try:
            if served:
                model_log = lab / "llama-server.log"
                model_server, url = start_gguf_server(model_log, verbose=True)
                processes.append(model_server)
                env.update(PAPERCHAT_OPENAI_BASE_URL=url, PAPERCHAT_OPENAI_MODEL="qwen-local")
            subprocess.run([str(BIN / "paperchat"), "ingest"], env=env, check=True, capture_output=True)
            ports = [free_port() for _ in range(args.workers)]
            started = time.perf_counter()
            for port in ports:
                processes.append(start([str(BIN / "paperchat"), "serve", "--port", str(port)], env,
                                       lab / f"serve-{port}.log"))
            for port, worker in zip(ports, processes[-args.workers:]):
                wait_for_http(f"http://127.0.0.1:{port}/v1/models", worker, timeout=300, log=lab / f"serve-{port}.log")
            startup_s = time.perf_counter() - started
            load_before = machine()["load_average"]
            seen = [Conversation(ports[n % len(ports)], stream=n % 2 == 0) for n in range(args.conversations)]
            threads = [threading.Thread(target=conversation, args=(c.port, key, args.backend, q, args.turns,
                                                                   args.max_retries, c))
                       for c, q in zip(seen, conversation_openers(args.conversations))]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall_s = time.perf_counter() - started
            load_after = machine()["load_average"]
            model_log_summary = llama_server_log(model_log.read_text(errors="replace")) if served else None
        finally:
            for process in reversed(processes):
                process.terminate()
                process.wait(timeout=30)

    streamed = [c for c in seen if c.stream]
    result = write_result(out, "load-openai", {
        "backend": args.backend,
        "model_server": "llama_cpp.server, bundled GGUF, --n_ctx 4096 --interrupt_requests False" if served else None,
        "chroma": "chroma run (loopback)",
        "workers": args.workers,
        "conversations": args.conversations,
        "streamed_conversations": len(streamed),
        "turns_per_conversation": args.turns,
        "answers_at_once_per_worker": Settings().answers_at_once,
        "queue_size_per_worker": Settings().queue_size,
        "answers_per_client": per_client,
        "client_max_retries": args.max_retries,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "workers_startup_s": round(startup_s, 1),
        "wall_s": round(wall_s, 1),
        "turns_answered": sum(len(c.turns_ms) for c in seen),
        "errors": sum(len(c.errors) for c in seen),
        "error_messages": sorted({e for c in seen for e in c.errors})[:10],
        "http_429_answers": sum(c.http_429 for c in seen),
        "turned_away_after_retries": sum(c.turned_away for c in seen),
        "turn_ms": p50_p95([t for c in seen for t in c.turns_ms.values()]),
        "turn_ms_by_turn": {str(n): p50_p95([c.turns_ms[n] for c in seen if n in c.turns_ms])
                            for n in range(1, args.turns + 1)},
        "turn_ms_streamed": p50_p95([t for c in streamed for t in c.turns_ms.values()]),
        "turn_ms_whole": p50_p95([t for c in seen if not c.stream for t in c.turns_ms.values()]),
        "first_token_ms_streamed": p50_p95([t for c in streamed for t in c.first_token_ms]),
        "answers_with_citations": sum(c.cited for c in seen),
        "answers_abstained": sum(c.abstained for c in seen),
        "model_server_log": model_log_summary,
    })
    print(result)


if __name__ == "__main__":
    main()
