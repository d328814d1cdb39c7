"""One user floods the chat with 150 KB messages and follow-ups: how much slower are another user's answers?

Builds the bundled index in a temporary data directory, starts `paperchat serve --backend extractive`
on a free 127.0.0.1 port, then times one user's ordinary questions (single-paper dev-set questions,
asked one after another in one conversation) in alternating phases: alone, then while a second user
sends a 150 KB message and a follow-up ("它的结果如何？"), each pair in a new conversation, as fast
as the server answers. The flood stops when the measured user's phase ends; every request has a
timeout, and the whole run stops after ``--max-minutes``. Nothing leaves 127.0.0.1.

    .venv/bin/python -m bench.flood                       # bench/results/flood.json

The slowdown is the flood phases' median answer time over the alone phases' median, minus one.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from gradio_client import Client

from bench.common import RESULTS, free_port, p50_p95, wait_for_http, write_result
from evals.questions import DEV_SET, load_questions, standalone_answerable

BIN = Path(sys.executable).parent
FLOOD_MESSAGE = "Which paper uses LLM feedback as a reward for ASR domain adaptation? " + "padding " * 18_750
FOLLOW_UP = "它的结果如何？"
ORDINARY_MESSAGE = "Which paper uses LLM feedback as a reward for ASR domain adaptation?"
"""``--control``: the flood sends this instead, to tell the cost of a busy user from the cost of 150 KB."""


def ordinary_questions(n: int) -> list[str]:
    pool = [q["question"] for q in standalone_answerable(load_questions(DEV_SET)) if q.get("kind") == "single"]
    return [pool[i % len(pool)] for i in range(n)]


def timed(chat: Client, question: str, timeout: float) -> tuple[float, dict]:
    started = time.perf_counter()
    job = chat.submit(question, "extractive", 4, "auto", api_name="/chat")
    _, answer = job.result(timeout=timeout)
    return (time.perf_counter() - started) * 1000, answer


def flood(url: str, timeout: float, until: float, message: str, think: float) -> None:
    """The second user (run in its own process): 150 KB message, follow-up, new conversation, again.

    Stops at SIGTERM or at the monotonic time ``until``; prints what it saw as one JSON line.
    """
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    turns_ms: list[float] = []
    standalone: list[int] = []
    errors: list[str] = []
    while not stop.is_set() and time.monotonic() < until:
        try:
            chat = Client(url, verbose=False)
            for text in (message, FOLLOW_UP):
                if stop.is_set():
                    break
                ms, answer = timed(chat, text, timeout)
                if not turns_ms:
                    print("flooding", flush=True)  # the parent starts measuring now
                turns_ms.append(ms)
                standalone.append(len(answer.get("standalone_question", "")))
                stop.wait(think)
        except Exception as exc:  # counted; the flood goes on
            errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
    print(json.dumps({"turns_ms": turns_ms, "standalone_chars": standalone, "errors": errors}), flush=True)


class Flood:
    """The flood as a separate process (a thread would hold this process's GIL against the measured
    user's client), ``niceness`` above this one.

    A real attacker's client runs on its own machine; here its CPU (decoding 150 KB updates) is taken
    from the server's two cores. ``--attacker-nice 19`` leaves the server most of it, as if the
    client were elsewhere; 0 (the default) counts it all against the server.
    """

    def __init__(self, url: str, timeout: float, until: float, niceness: int, control: bool, think: float):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.flood", "--attack", url, "--timeout", str(timeout), "--think", str(think),
             "--seconds", str(max(1.0, until - time.monotonic()))] + (["--control"] if control else []),
            stdout=subprocess.PIPE, text=True, preexec_fn=lambda: os.nice(niceness))
        self.seen: dict = {"turns_ms": [], "standalone_chars": [], "errors": []}
        self.proc.stdout.readline()  # "flooding": its first 150 KB message was answered (or it ended)

    def stop(self) -> dict:
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=600)
        lines = out.strip().splitlines()
        self.seen = json.loads(lines[-1]) if lines else self.seen
        return self.seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=12, help="ordinary questions per phase")
    parser.add_argument("--rounds", type=int, default=2, help="alone/flood phase pairs")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds one request may take")
    parser.add_argument("--max-minutes", type=float, default=40.0)
    parser.add_argument("--attacker-nice", type=int, default=0, help="CPU niceness of the flooding client, 0-19")
    parser.add_argument("--control", action="store_true", help="flood with an ordinary question instead")
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds the flooding user waits after each answer (0: as fast as the server answers)")
    parser.add_argument("--out", type=Path, default=RESULTS / "flood.json")
    parser.add_argument("--attack", metavar="URL", help=argparse.SUPPRESS)  # the flooding process itself
    parser.add_argument("--seconds", type=float, default=600.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.attack:
        flood(args.attack, args.timeout, time.monotonic() + args.seconds,
              ORDINARY_MESSAGE if args.control else FLOOD_MESSAGE, args.think)
        return
    deadline = time.monotonic() + args.max_minutes * 60

    with tempfile.TemporaryDirectory(prefix="paperchat-flood-") as tmp:
        port = free_port()
        env = {**os.environ, "PAPERCHAT_DATA_DIR": str(Path(tmp) / "data"), "PAPERCHAT_PORT": str(port),
               "PAPERCHAT_HOST": "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False"}
        subprocess.run([str(BIN / "paperchat"), "ingest"], env=env, check=True, capture_output=True)
        log = Path(tmp) / "serve.log"
        with open(log, "w") as sink:
            server = subprocess.Popen([str(BIN / "paperchat"), "serve", "--backend", "extractive"], env=env,
                                      stdout=sink, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        phases: dict[str, list[float]] = {"alone": [], "flood": []}
        floods: list[Flood] = []
        try:
            wait_for_http(url, server, timeout=300, log=log)
            questions = ordinary_questions(args.questions)
            user = Client(url, verbose=False)
            timed(user, questions[0], args.timeout)  # warm-up
            for _ in range(args.rounds):
                for phase in ("alone", "flood"):
                    if time.monotonic() > deadline:
                        break
                    if phase == "flood":
                        floods.append(Flood(url, args.timeout, deadline, args.attacker_nice, args.control, args.think))
                    try:
                        for question in questions:
                            user = Client(url, verbose=False)  # a fresh conversation: each question stands alone
                            phases[phase].append(timed(user, question, args.timeout)[0])
                    finally:
                        if phase == "flood":
                            floods[-1].stop()
        finally:
            server.terminate()
            server.wait(timeout=30)

    alone_p50, flood_p50 = statistics.median(phases["alone"]), statistics.median(phases["flood"])
    result = write_result(args.out, "flood", {
        "command": "python -m bench.flood " + " ".join(sys.argv[1:]),
        "message_chars": len(ORDINARY_MESSAGE if args.control else FLOOD_MESSAGE),
        "questions_per_phase": args.questions,
        "rounds": args.rounds,
        "attacker_nice": args.attacker_nice,
        "attacker_think_s": args.think,
        "user_alone_ms": {**p50_p95(phases["alone"]), "mean": round(statistics.mean(phases["alone"]), 1),
                          "n": len(phases["alone"])},
        "user_during_flood_ms": {**p50_p95(phases["flood"]), "mean": round(statistics.mean(phases["flood"]), 1),
                                 "n": len(phases["flood"])},
        "slowdown_p50": round(flood_p50 / alone_p50 - 1, 3),
        "flood_turns": sum(len(f.seen["turns_ms"]) for f in floods),
        "flood_turn_ms": p50_p95([t for f in floods for t in f.seen["turns_ms"]]),
        "flood_standalone_chars_max": max((c for f in floods for c in f.seen["standalone_chars"]), default=0),
        "flood_errors": sorted({e for f in floods for e in f.seen["errors"]})[:5],
    })
    print(result)


if __name__ == "__main__":
    main()
