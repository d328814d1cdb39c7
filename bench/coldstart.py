"""Cold start of the command line and of the chat server, from a fresh process each time.

Prepares an index of the bundled collection in a temporary PAPERCHAT_DATA_DIR
(`paperchat ingest`), then times, a few repetitions each (median):

* `paperchat ask QUESTION --json --backend B`: wall time of the whole subprocess,
  for the extractive and the local backend (import, index open, model load, answer);
* `paperchat serve --port P --backend B`: from launch until its HTTP port answers.

    .venv/bin/python -m bench.coldstart [--repeats 3] [--out bench/results/coldstart.json]

The bundled GGUF must be assembled already (any earlier local answer does it);
the operating system's file cache stays warm between repetitions, as it is for
a user who starts paperchat twice.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import RESULTS, free_port, wait_for_http, write_result

BIN = Path(sys.executable).parent
QUESTION = "What does OpusLM propose?"
BACKENDS = ("extractive", "local")


def ask_seconds(env: dict, backend: str) -> float:
    started = time.perf_counter()
    subprocess.run([str(BIN / "paperchat"), "ask", QUESTION, "--json", "--backend", backend], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def serve_seconds(env: dict, backend: str) -> float:
    port = free_port()
    proc = subprocess.Popen([str(BIN / "paperchat"), "serve", "--port", str(port), "--backend", backend], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return wait_for_http(f"http://127.0.0.1:{port}/", proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "coldstart.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PAPERCHAT_DATA_DIR": tmp, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
               "ANONYMIZED_TELEMETRY": "False"}
        started = time.perf_counter()
        subprocess.run([str(BIN / "paperchat"), "ingest"], env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        ingest_s = time.perf_counter() - started
        runs: dict[str, list[float]] = {}
        for _ in range(args.repeats):  # alternating, so load changes hit every case alike
            for backend in BACKENDS:
                runs.setdefault(f"ask --backend {backend}", []).append(ask_seconds(env, backend))
                runs.setdefault(f"serve --backend {backend}", []).append(serve_seconds(env, backend))
    medians = {name: round(statistics.median(s), 2) for name, s in runs.items()}
    write_result(args.out, "coldstart", {"question": QUESTION, "repeats": args.repeats,
                                         "ingest_s": round(ingest_s, 1), "median_s": medians,
                                         "runs_s": {k: [round(x, 2) for x in v] for k, v in runs.items()}})
    print(json.dumps({"ingest_s": round(ingest_s, 1), "median_s": medians}, indent=2))


if __name__ == "__main__":
    main()
