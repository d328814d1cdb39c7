"""Each abuse and fault case of docs/security.md, run for real: what the user sees, how long, how much memory.

    .venv/bin/python -m bench.abuse                               # bench/results/abuse.json
    .venv/bin/python -m bench.abuse --skip zero --skip local --out bench/results/abuse-before.json

The second form is for an older checkout (on PYTHONPATH), whose cases could exhaust memory (a symlink
to /dev/zero) or load the 1.1 GB model. Every case runs the real `paperchat` (or a served chat) in a
subprocess, on temporary files and data directories, on 127.0.0.1 only, with a timeout; time is wall
clock, memory the peak RSS of that process (``wait4``). The bundled index is built once and copied for
the cases that change it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from gradio_client import Client

from bench.common import RESULTS, free_port, wait_for_http, write_result

PAPERCHAT = str(Path(sys.executable).parent / "paperchat")
SECRET = "s3cretpw"
QUESTION = "Which paper uses LLM feedback as a reward for ASR domain adaptation?"


def measure(args: list[str], env: dict, timeout: float = 300) -> dict:
    """Run `paperchat ARGS`; its exit code, output, wall time and peak RSS (killed after ``timeout`` s)."""
    started = time.perf_counter()
    proc = subprocess.Popen([PAPERCHAT, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    output: dict[str, bytes] = {}
    readers = [threading.Thread(target=lambda name=name, pipe=pipe: output.__setitem__(name, pipe.read()))
               for name, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr))]
    for reader in readers:
        reader.start()
    timed_out = threading.Event()
    killer = threading.Timer(timeout, lambda: (timed_out.set(), proc.kill()))
    killer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    killer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    stderr = output["stderr"].decode(errors="replace")
    return {"exit": proc.returncode, "seconds": round(time.perf_counter() - started, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "timed_out": timed_out.is_set(),
            "stdout": output["stdout"].decode(errors="replace"), "stderr": stderr,
            "stderr_lines": len(stderr.splitlines())}


def shown(result: dict, limit: int = 240) -> str:
    """What the user saw: the first message line of stderr (and how many there were), else of stdout.

    Progress-bar redraws are left out; so is JSON on stdout (the case's facts say what it held).
    """
    lines = [line.rsplit("\r", 1)[-1] for line in result["stderr"].splitlines()]
    lines = [line for line in lines if line.strip() and not line.startswith("ingesting")]
    if not lines and not result["stdout"].startswith("{"):
        lines = [line for line in result["stdout"].splitlines() if line.strip()]
    if not lines:
        return "(JSON on stdout)" if result["stdout"].startswith("{") else ""
    first = lines[0][:limit]
    return first + (f"  [+{len(lines) - 1} more lines]" if len(lines) > 1 else "")


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


GOOD = {"arxiv_id": "2506.11091v1", "title": "Customizing Speech Recognition Model with Large Language Model Feedback",
        "summary": "1. An LLM serves as a reward model for unsupervised domain adaptation of ASR."}


class Cases:
    def __init__(self, work: Path, env: dict, skip: set[str]):
        self.work = work
        self.env = env
        self.skip = skip
        self.rows: list[dict] = []
        self.bundled = work / "bundled"
        built = measure(["ingest"], self.with_data(self.bundled), timeout=1800)
        assert built["exit"] == 0, built["stderr"][-2000:]
        self.chunks = self.count(self.bundled)

    def with_data(self, data: Path, **extra: str) -> dict:
        return {**self.env, "PAPERCHAT_DATA_DIR": str(data), **extra}

    def copy(self, name: str) -> Path:
        target = self.work / name
        shutil.copytree(self.bundled, target)
        return target

    def count(self, data: Path) -> int:
        got = measure(["stats"], self.with_data(data))
        line = next((l for l in got["stdout"].splitlines() if l.startswith("chunks:")), "chunks: 0")
        return int(line.split()[1])

    def add(self, item: str, case: str, result: dict, **facts) -> None:
        row = {"item": item, "input": case, "shown": shown(result), "exit": result["exit"],
               "seconds": result["seconds"], "peak_rss_mb": result["peak_rss_mb"],
               "stderr_lines": result["stderr_lines"], **facts}
        self.rows.append(row)
        print(json.dumps(row, ensure_ascii=False)[:400], flush=True)

    # --- the command line ---------------------------------------------------------

    def cli(self) -> None:
        w, env = self.work, self.with_data(self.bundled)
        history = w / "h.json"
        history.write_text(json.dumps([{"role": "user", "content": "LLM reward for ASR " + "填充" * 50_000},
                                       {"role": "assistant", "content": "It does [arXiv:2506.11091v1]."}],
                                      ensure_ascii=False))
        got = measure(["ask", "它的结果如何？", "--history", str(history), "--json", "--backend", "extractive"], env)
        answer = json.loads(got["stdout"] or "{}")
        self.add("1", "ask a follow-up with one 100 KB earlier message (--history)", got,
                 standalone_chars=len(answer.get("standalone_question", "")))

        data = w / "huge-data"
        rows = jsonl(w / "huge.jsonl", [GOOD, {"arxiv_id": "2506.00001v1", "title": "Huge", "summary": "长" * 1_000_000}])
        got = measure(["ingest", str(rows)], self.with_data(data), timeout=900)
        self.add("2", "ingest a JSONL row with a 1 MB summary (and one good row)", got, chunks_after=self.count(data))

        data = w / "sentence-data"
        sentence = "Whalesong codec " + " ".join(f"humpback{i}" for i in range(2_000)) + "."
        rows = jsonl(w / "sentence.jsonl", [GOOD, {"arxiv_id": "2507.00001v1", "title": "Whalesong: a codec for "
                                                   "humpback whale song", "summary": sentence}])
        raised = self.with_data(data, PAPERCHAT_MAX_SUMMARY_CHARS="100000", PAPERCHAT_MAX_SENTENCE_CHARS="100000")
        measure(["ingest", str(rows)], raised, timeout=900)
        got = measure(["ask", "Which paper is a codec for humpback whale song?", "--json", "--backend", "extractive"],
                      raised)
        answer = json.loads(got["stdout"] or "{}")
        self.add("2", f"ask about a paper whose summary is one {len(sentence):,}-character sentence (limits raised)",
                 got, answer_chars=len(answer.get("answer", "")),
                 longest_evidence_sentence=max((len(s) for src in answer.get("sources", [])
                                                for s in src["text"].splitlines()), default=0))

        got = measure(["ask", "--backend", "openai", QUESTION],
                      {**env, "PAPERCHAT_OPENAI_BASE_URL": f"http://user:{SECRET}@127.0.0.1:{free_port()}/v1"})
        self.add("3", "ask with PAPERCHAT_OPENAI_BASE_URL=http://user:s3cretpw@127.0.0.1:<dead port>/v1", got,
                 secret_shown=SECRET in got["stdout"] + got["stderr"])
        got = measure(["stats"], {**env, "PAPERCHAT_CHROMA_URL": f"http://admin:{SECRET}@127.0.0.1:{free_port()}"})
        self.add("3", "stats with PAPERCHAT_CHROMA_URL=http://admin:s3cretpw@127.0.0.1:<dead port>", got,
                 secret_shown=SECRET in got["stdout"] + got["stderr"])

        if "zero" not in self.skip:
            (w / "zero.md").symlink_to("/dev/zero")
            got = measure(["ingest", str(w / "zero.md")], self.with_data(w / "zero-data"), timeout=120)
            self.add("5", "ingest zero.md, a symlink to /dev/zero", got)
        os.mkfifo(w / "pipe.jsonl")
        got = measure(["ingest", str(w / "pipe.jsonl")], self.with_data(w / "pipe-data"), timeout=30)
        self.add("5", "ingest pipe.jsonl, a named pipe nobody writes to", got)
        with open(w / "flat.jsonl", "wb") as out:
            for _ in range(200):
                out.write(b"x" * 1_000_000)
        got = measure(["ingest", str(w / "flat.jsonl")], self.with_data(w / "flat-data"), timeout=300)
        self.add("5", "ingest a 200 MB file without a line break", got)

        bad = w / "bad.md"
        bad.write_text("|Source|Title|Summary|\n|---|---|---|\n"
                       f"|{GOOD['arxiv_id']}|{GOOD['title']}|{GOOD['summary']}|\n|2506.11092v1|only two|\n")
        (w / "adir.md").mkdir()
        data = w / "two-files"
        got = measure(["ingest", str(bad), str(w / "adir.md")], self.with_data(data))
        self.add("6", "ingest bad.md adir.md (a directory named .md)", got, chunks_after=self.count(data))
        data = self.copy("rebuild-data")
        got = measure(["ingest", "--rebuild", str(Path(__file__).resolve().parent.parent / "data" / "papers.md"),
                       str(w / "adir.md")], self.with_data(data), timeout=1800)
        self.add("6", f"ingest --rebuild data/papers.md adir.md over an index of {self.chunks} chunks", got,
                 chunks_after=self.count(data))

        data = w / "evil-data"
        evil = jsonl(w / "evil.jsonl", [{"arxiv_id": "2507.00001v1", "title": "Whalesong\x1b[2J codec\x00",
                                         "summary": "A codec\x1b]0;pwned\x07 for humpback whale song."}])
        measure(["ingest", str(evil)], self.with_data(data))
        got = measure(["search", "humpback whale song codec"], self.with_data(data))
        self.add("8", "search a paper whose title and summary hold \\x1b[2J, an OSC title sequence and NUL", got,
                 control_bytes_printed=sum(got["stdout"].count(c) for c in "\x1b\x00\x07"))

        data = w / "ids-data"
        ids = jsonl(w / "ids.jsonl", [{**GOOD, "arxiv_id": i} for i in
                                      ("a-b-c-d-e-f/1234567", "2601.00018v99999999999999999999999")])
        got = measure(["ingest", str(ids)], self.with_data(data))
        self.add("9", "ingest rows with IDs a-b-c-d-e-f/1234567 and 2601.00018v99999999999999999999999", got,
                 chunks_after=self.count(data))

        (w / "blob.md").write_bytes(os.urandom(50_000_000))
        got = measure(["ingest", str(w / "blob.md")], self.with_data(w / "blob-data"), timeout=900)
        self.add("10", "ingest a 50 MB binary file named blob.md", got)
        deep = w / "deep.json"
        deep.write_text("[" * 100_000 + "]" * 100_000)
        got = measure(["ask", QUESTION, "--history", str(deep), "--backend", "extractive"], env)
        self.add("10", "ask with a --history nested 100,000 levels deep", got)

        got = measure(["ask", "?!.,;:…", "--json", "--backend", "extractive"], env)
        answer = json.loads(got["stdout"] or "{}")
        self.add("11", "ask '?!.,;:…'", got, citations=len(answer.get("citations", [])))

    # --- the served chat ----------------------------------------------------------

    def server(self) -> None:
        data = self.copy("served-data")
        port = free_port()
        recorder = socket.create_server(("127.0.0.1", 0))
        calls_out: list[str] = []

        def record() -> None:
            while True:
                try:
                    connection, _ = recorder.accept()
                except OSError:
                    return
                with connection:
                    connection.settimeout(5)
                    try:
                        calls_out.append(connection.recv(4096).split(b"\r\n")[0].decode(errors="replace"))
                    except OSError:
                        calls_out.append("(connected)")

        threading.Thread(target=record, daemon=True).start()
        proxy = f"http://127.0.0.1:{recorder.getsockname()[1]}"
        # Started by hand: none of the Makefile's exports; a proxy that would see any call out.
        env = self.with_data(data, PAPERCHAT_PORT=str(port), PAPERCHAT_AUTH=f"reader:{SECRET}",
                             PAPERCHAT_BACKENDS='["extractive", "openai"]',
                             PAPERCHAT_OPENAI_BASE_URL=f"http://user:{SECRET}@127.0.0.1:{free_port()}/v1",
                             NO_PROXY="127.0.0.1,localhost",
                             **{k: proxy for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy",
                                                   "https_proxy")})
        for name in ("GRADIO_ANALYTICS_ENABLED", "ANONYMIZED_TELEMETRY", "HF_HUB_DISABLE_TELEMETRY"):
            env.pop(name, None)
        log = self.work / "serve.log"
        with open(log, "w") as sink:
            proc = subprocess.Popen([PAPERCHAT, "serve", "--backend", "extractive"], env=env, stdout=sink,
                                    stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_for_http(url, proc, timeout=600, log=log)
            chat = Client(url, verbose=False, auth=("reader", SECRET))

            def turn(item: str, case: str, question: str, backend: str = "extractive", client=None, **facts) -> dict:
                started = time.perf_counter()
                try:
                    _, answer = (client or chat).predict(question, backend, 4, "auto", api_name="/chat")
                    seen = answer.get("error") or f"answered: {len(answer.get('citations', []))} citations"
                except Exception as exc:
                    answer, seen = {}, f"{type(exc).__name__}: {str(exc)[:200]}"
                result = {"exit": None, "seconds": round(time.perf_counter() - started, 2), "peak_rss_mb": None,
                          "stdout": seen, "stderr": "", "stderr_lines": 0}
                self.add(item, case, result, **facts, **({"secret_shown": SECRET in json.dumps(answer)}
                                                         if item == "3" else {}))
                return answer

            own = Client(url, verbose=False, auth=("reader", SECRET))
            turn("1", "chat: a 150 KB message", "LLM reward for ASR " + "padding " * 18_750, client=own)
            answer = turn("1", "chat: then the follow-up 它的结果如何？ in the same conversation", "它的结果如何？",
                          client=own)
            self.rows[-1]["standalone_chars"] = len(answer.get("standalone_question", ""))
            turn("3", "chat with the openai backend, its URL holding user:s3cretpw", QUESTION, backend="openai")
            if "local" not in self.skip:
                turn("4", "chat with backend=local on a server started with --backend extractive", QUESTION,
                     backend="local")

            started = time.perf_counter()
            statuses: dict[int, int] = {}
            with httpx.Client(timeout=30) as http:
                for n in range(300):
                    code = http.post(f"{url}login", data={"username": "reader", "password": f"guess{n}"}).status_code
                    statuses[code] = statuses.get(code, 0) + 1
                right = http.post(f"{url}login", data={"username": "reader", "password": SECRET}).status_code
                seconds = round(time.perf_counter() - started, 2)
                self.add("7", "300 wrong passwords from one client, then the right one",
                         {"exit": None, "seconds": seconds, "peak_rss_mb": None, "stderr": "", "stderr_lines": 0,
                          "stdout": f"HTTP statuses {statuses}; then the right password: HTTP {right}"},
                         statuses=statuses, right_password_status=right)
            # Another client (127.0.0.2 is loopback too): the one above may be locked out now.
            with httpx.Client(timeout=120, transport=httpx.HTTPTransport(local_address="127.0.0.2")) as http:
                http.post(f"{url}login", data={"username": "reader", "password": SECRET})
                started = time.perf_counter()
                upload = http.post(f"{url}gradio_api/upload", files={"files": ("big.bin", b"x" * 10_000_000)})
                self.add("7", "upload a 10 MB file", {"exit": None, "seconds": round(time.perf_counter() - started, 2),
                                                       "peak_rss_mb": None, "stderr": "", "stderr_lines": 0,
                                                       "stdout": f"HTTP {upload.status_code}: {upload.text[:120]}"})
            _, answer = chat.predict(QUESTION, "extractive", 4, "auto", api_name="/chat")
            started = time.perf_counter()
            try:
                seen = chat.predict(answer["answer_id"], "down", "!" * 1_000_000, api_name="/feedback")
            except Exception as exc:
                seen = f"{type(exc).__name__}: {str(exc)[:200]}"
            self.add("7", "feedback comment of 1,000,000 characters",
                     {"exit": None, "seconds": round(time.perf_counter() - started, 2), "peak_rss_mb": None,
                      "stdout": str(seen), "stderr": "", "stderr_lines": 0})
            chat.predict(answer["answer_id"], "up", "", api_name="/feedback")
            self.add("7", "the server's process list entry",
                     {"exit": None, "seconds": 0, "peak_rss_mb": None, "stderr": "", "stderr_lines": 0,
                      "stdout": " ".join(Path(f"/proc/{proc.pid}/cmdline").read_text().split("\0"))},
                     secret_shown=SECRET in Path(f"/proc/{proc.pid}/cmdline").read_text())
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            recorder.close()
        server_log = log.read_text()
        self.add("12", "paperchat serve started without GRADIO_ANALYTICS_ENABLED, behind a recording proxy",
                 {"exit": None, "seconds": 0, "peak_rss_mb": None, "stderr": "", "stderr_lines": 0,
                  "stdout": f"connections out: {calls_out or 'none'}"}, calls_out=calls_out,
                 secret_in_server_log=SECRET in server_log)
        feedback = data / "feedback.jsonl"
        modes = {"data_dir": oct(stat.S_IMODE(data.stat().st_mode)),
                 "feedback.jsonl": oct(stat.S_IMODE(feedback.stat().st_mode)) if feedback.exists() else None}
        self.add("13", "permissions of the data directory and feedback.jsonl after use",
                 {"exit": None, "seconds": 0, "peak_rss_mb": None, "stderr": "", "stderr_lines": 0,
                  "stdout": json.dumps(modes)}, modes=modes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", action="append", default=[], choices=["zero", "local"],
                        help="leave out a case an older checkout cannot survive")
    parser.add_argument("--only", choices=["cli", "server"])
    parser.add_argument("--out", type=Path, default=RESULTS / "abuse.json")
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False"}
    with tempfile.TemporaryDirectory(prefix="paperchat-abuse-") as tmp:
        cases = Cases(Path(tmp), env, set(args.skip))
        if args.only != "server":
            cases.cli()
        if args.only != "cli":
            cases.server()
    write_result(args.out, "abuse", {"command": "python -m bench.abuse " + " ".join(sys.argv[1:]),
                                     "bundled_chunks": cases.chunks, "cases": cases.rows})


if __name__ == "__main__":
    main()
