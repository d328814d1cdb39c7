"""Load test of the chat server: concurrent conversations against a real `paperchat serve`.

Builds an index in a temporary data directory (`paperchat ingest`), starts
`paperchat serve` on a free loopback port, then runs N conversations at once,
each through its own ``gradio_client.Client`` (its own chat history): a
standalone dev-set question, follow-ups that refer back to it, and one
thumbs up/down (with a comment on every other conversation) on the last answer.

    .venv/bin/python -m bench.load --backend extractive
    .venv/bin/python -m bench.load --backend local --turns 2
    .venv/bin/python -m bench.load --backend extractive --turns 1 --queue-size 4 --out bench/results/load-queue-full.json

Every conversation connects from 127.0.0.1, which the server counts as one
client, so the server is started with ``PAPERCHAT_ANSWERS_PER_CLIENT`` equal to
the number of conversations (``--answers-per-client`` to change it): the run
measures N users, not one user asking N questions.

Recorded: errors (exceptions and answers carrying an error), questions turned
away (the server's admission count answered "Busy: N questions ahead of you"
instead of answering), per-turn latency of the answered questions (submit to
verified answer, and submit to the first chat update) p50/p95, the longest
Gradio queue a client was told about, the most questions a client was told were
ahead of it in the admission queue and, for the local model, at the model, total
wall time, and whether every feedback event acknowledged is in the server's
feedback file.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from gradio_client import Client

from bench.common import FOLLOW_UPS, RESULTS, conversation_openers, free_port, machine, p50_p95, wait_for_http, \
    write_result
from ui.admission import WAITING
from ui.feedback import FeedbackLog
from ui.settings import Settings

BIN = Path(sys.executable).parent
_AHEAD_RE = re.compile(r"Waiting for the model: (\d+) answers? ahead")
_QUEUED_RE = re.compile("|".join(re.escape(text.split("{ahead}")[0]) + r"(\d+)" for text in WAITING.values()))
"""The admission queue's "Waiting: N questions ahead of yours", in every language the chat says it in."""


@dataclass
class Conversation:
    """What one client saw."""

    turns_ms: list[float] = field(default_factory=list)
    first_update_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    turned_away: list[str] = field(default_factory=list)
    """What the client was told when the server had no room for the question (the busy message)."""
    max_queue: int = 0
    max_queued: int = 0
    """Most questions ahead in the admission queue."""
    max_ahead: int = 0
    """Most answers ahead at the local model."""
    feedback: tuple[str, str, str] | None = None
    """(answer_id, verdict, comment) acknowledged by the server."""


def run_turn(chat: Client, question: str, backend: str, seen: Conversation) -> dict | None:
    """One question; returns the answer JSON (None when the server was busy and turned it away).

    A turned-away question is an answer like any other for ``gradio_client``: the chat's busy message, with
    ``{"error": message, "busy": true}`` as the answer JSON (``ChatService.respond_admitted``).
    """
    started = time.perf_counter()
    job = chat.submit(question, backend, 4, "auto", api_name="/chat")
    first = None
    while not job.done():
        status = job.status()
        seen.max_queue = max(seen.max_queue, status.queue_size or 0)
        if first is None and job.outputs():
            first = (time.perf_counter() - started) * 1000
        time.sleep(0.05)
    _, answer = job.result()
    if answer.get("busy"):
        seen.turned_away.append(answer["error"])
        return None
    seen.turns_ms.append((time.perf_counter() - started) * 1000)
    seen.first_update_ms.append(first if first is not None else seen.turns_ms[-1])
    for messages, _ in job.outputs():  # every update the chat showed, the waiting notices among them
        shown = messages[-1]["content"] if messages else ""
        if queued := _QUEUED_RE.search(shown):
            seen.max_queued = max(seen.max_queued, int(next(filter(None, queued.groups()))))
        if ahead := _AHEAD_RE.search(shown):
            seen.max_ahead = max(seen.max_ahead, int(ahead[1]))
    if "error" in answer:
        seen.errors.append(answer["error"])
    return answer


def conversation(url: str, n: int, question: str, turns: int, backend: str, seen: Conversation) -> None:
    try:
        chat = Client(url, verbose=False)
        last = None
        for text in [question, *FOLLOW_UPS][:turns]:
            last = run_turn(chat, text, backend, seen) or last
        if last and "answer_id" in last:
            verdict, comment = ("up", "") if n % 2 == 0 else ("down", f"load test conversation {n}")
            if chat.predict(last["answer_id"], verdict, comment, api_name="/feedback") == "recorded":
                seen.feedback = (last["answer_id"], verdict, comment)
    except Exception as exc:  # counted and reported, like an error answer
        seen.errors.append(f"{type(exc).__name__}: {exc}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="extractive", choices=["extractive", "local"])
    parser.add_argument("--conversations", type=int, default=16)
    parser.add_argument("--turns", type=int, default=3, choices=[1, 2, 3], help="the question and its follow-ups")
    parser.add_argument("--queue-size", type=int, help="PAPERCHAT_QUEUE_SIZE of the server (default: the setting's)")
    parser.add_argument("--answers-per-client", type=int,
                        help="PAPERCHAT_ANSWERS_PER_CLIENT of the server (default: --conversations, see above)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = args.out or RESULTS / f"load-{args.backend}.json"

    with tempfile.TemporaryDirectory(prefix="paperchat-load-") as tmp:
        data = Path(tmp) / "data"
        port = free_port()
        env = {**os.environ, "PAPERCHAT_DATA_DIR": str(data), "PAPERCHAT_PORT": str(port),
               "GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1"}
        if args.queue_size is not None:
            env["PAPERCHAT_QUEUE_SIZE"] = str(args.queue_size)
        per_client = args.answers_per_client or args.conversations
        env["PAPERCHAT_ANSWERS_PER_CLIENT"] = str(per_client)
        subprocess.run([str(BIN / "paperchat"), "ingest"], env=env, check=True, capture_output=True)
        log = Path(tmp) / "serve.log"
        started = time.perf_counter()
        with open(log, "w") as sink:
            server = subprocess.Popen([str(BIN / "paperchat"), "serve", "--backend", args.backend], env=env,
                                      stdout=sink, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_for_http(url, server, timeout=300, log=log)
            startup_s = time.perf_counter() - started
            load_before = machine()["load_average"]
            seen = [Conversation() for _ in range(args.conversations)]
            threads = [threading.Thread(target=conversation, args=(url, n, q, args.turns, args.backend, seen[n]))
                       for n, q in enumerate(conversation_openers(args.conversations))]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall_s = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
        logged = {(e["answer_id"], e["verdict"], e["comment"] or "") for e in FeedbackLog(data / "feedback.jsonl").read()}

    acknowledged = [c.feedback for c in seen if c.feedback]
    result = write_result(out, "load", {
        "backend": args.backend,
        "conversations": args.conversations,
        "turns_per_conversation": args.turns,
        "answers_at_once": Settings().answers_at_once,
        "queue_size": args.queue_size if args.queue_size is not None else Settings().queue_size,
        "answers_per_client": per_client,
        "load_average_before": load_before,
        "server_startup_s": round(startup_s, 1),
        "wall_s": round(wall_s, 1),
        "turns_answered": sum(len(c.turns_ms) for c in seen),
        "errors": sum(len(c.errors) for c in seen),
        "error_messages": sorted({e for c in seen for e in c.errors})[:10],
        "turned_away_busy": sum(len(c.turned_away) for c in seen),
        "turned_away_messages": sorted({m for c in seen for m in c.turned_away}),
        "turn_ms": p50_p95([t for c in seen for t in c.turns_ms]),
        "first_update_ms": p50_p95([t for c in seen for t in c.first_update_ms]),
        "max_gradio_queue_seen": max(c.max_queue for c in seen),
        "max_questions_queued_ahead_seen": max(c.max_queued for c in seen),
        "max_answers_ahead_seen": max(c.max_ahead for c in seen),
        "feedback_acknowledged": len(acknowledged),
        "feedback_in_file": sum(1 for f in acknowledged if f in logged),
        "feedback_lines_total": len(logged),
    })
    print(result)


if __name__ == "__main__":
    main()
