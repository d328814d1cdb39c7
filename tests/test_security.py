"""Abuse and faults from one user: stalling the chat, blowing up an ingest, reading a secret.

One section per item of the hardening issue, numbered as there; docs/security.md
lists each input, what the user sees, and the test that checks it. Everything is
real: files on disk (pipes, devices, directories, binary data), embedded Chroma,
the `paperchat` command in a subprocess, and the chat served by Gradio on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AuthenticationError

from assistant.engine import Assistant
from conftest import BIN, free_port, invoke_cli, run_cli, wait_for_http
from index.chunking import SENTENCE_PIECE_CHARS, chunk_paper
from index.corpus import CorpusLimits, Paper, parse_arxiv_id, read_corpus
from index.ingest import ingest
from index.settings import BUNDLED_CORPUS, IndexSettings
from index.store import open_store
from ui.app import build_app, launch
from ui.display import from_display
from ui.feedback import FeedbackLog
from ui.service import ChatService
from ui.settings import Settings

BUNDLED = read_corpus([BUNDLED_CORPUS]).papers
QUESTION = "Which paper uses LLM feedback as a reward for ASR domain adaptation?"
FOLLOW_UP = "它的结果如何？"
SECRET = "s3cretpw"
# Gradio's queue calls a pandas API that pandas 3 deprecates; nothing to do with these tests.
pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def rows_of(papers) -> list[dict]:
    return [{"arxiv_id": p.arxiv_id, "title": p.title, "summary": p.summary} for p in papers]


def data_env(folder: Path, **extra: str) -> dict:
    return {**os.environ, "PAPERCHAT_DATA_DIR": str(folder), **extra}


def stored_ids(settings: IndexSettings) -> set[str]:
    return set(open_store(settings).collection.get(include=[])["ids"])


@contextmanager
def running_app(settings: Settings, embed_model, auth: str | None = None, **launch_options):
    """The whole app served on a free loopback port; yields (base URL, service)."""
    service = ChatService(settings, embed_model=embed_model)
    app = build_app(service)
    port = free_port()
    launch(app, host="127.0.0.1", port=port, auth=auth, block=False, **launch_options)
    try:
        yield f"http://127.0.0.1:{port}/", service
    finally:
        app.close()


def ask(url: str, question: str, backend: str = "extractive", chat: Client | None = None, **kwargs):
    chat = chat or Client(url, verbose=False, **kwargs)
    return chat.predict(question, backend, 4, "auto", api_name="/chat")


@pytest.fixture(scope="module")
def served(bundled_index, e5):
    """The bundled index served with the extractive backend and the defaults of `paperchat serve`."""
    settings = Settings(**bundled_index.model_dump(), backend="extractive")
    with running_app(settings, e5) as running:
        yield running


# --- 1. a long earlier message must not stall everyone ----------------------------------

def test_1_a_100kb_earlier_message_leaves_the_rewritten_question_bounded(cli_env, tmp_path):
    history = tmp_path / "h.json"
    history.write_text(json.dumps([
        {"role": "user", "content": "LLM reward for ASR domain adaptation " + "填充" * 50_000},
        {"role": "assistant", "content": "It uses LLM feedback as a reward [arXiv:2506.11091v1]."},
    ], ensure_ascii=False), encoding="utf-8")
    result = invoke_cli("ask", FOLLOW_UP, "--history", str(history), "--json", "--backend", "extractive", env=cli_env)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    standalone = answer["standalone_question"]
    assert len(standalone) <= Settings().max_question_chars  # was 105,024 characters
    assert standalone.startswith(FOLLOW_UP) and "2506.11091v1" in standalone
    assert answer["citations"][0]["arxiv_id"] == "2506.11091v1"


def test_1_a_150kb_chat_message_is_cut_and_its_follow_up_stays_bounded(served):
    url, _ = served
    chat = Client(url, verbose=False)
    started = time.monotonic()
    _, first = ask(url, "LLM reward for ASR domain adaptation " + "x " * 75_000, chat=chat)
    assert len(first["question"]) == Settings().max_question_chars and first["notices"]
    _, follow_up = ask(url, FOLLOW_UP, chat=chat)
    assert len(follow_up["standalone_question"]) <= Settings().max_question_chars
    assert "error" not in follow_up
    assert time.monotonic() - started < 60  # both turns; 121 s before, on a quiet machine


# --- 2. size limits on rows, titles, summaries and sentences ------------------------------

@pytest.mark.slow
def test_2_rows_over_the_size_limits_are_rejected_with_file_line_reasons(tmp_path):
    good = rows_of(BUNDLED[:1])
    rows = good + [
        {"arxiv_id": "2506.00001v1", "title": "Huge", "summary": "长" * 1_000_000},
        {"arxiv_id": "2506.00002v1", "title": "Long summary", "summary": "短句。" * 3_000},
        {"arxiv_id": "2506.00003v1", "title": "T" * 501, "summary": "Fine."},
        {"arxiv_id": "2506.00004v1", "title": "Long sentence", "summary": "word " * 300},
    ]
    corpus = jsonl(tmp_path / "rows.jsonl", rows)
    huge = len(json.dumps(rows[1], ensure_ascii=False).encode())
    started = time.monotonic()
    result = invoke_cli("ingest", str(corpus), env=data_env(tmp_path / "data"))
    assert result.returncode == 1
    assert [line for line in result.stderr.splitlines() if line.startswith("rejected:")] == [
        f"rejected: {corpus}:2: line is {huge:,} bytes, more than 65,536 (PAPERCHAT_MAX_ROW_BYTES); "
        "rejected without reading it whole",
        f"rejected: {corpus}:3: 2506.00002v1: summary is 9,000 characters, more than 8,000 "
        "(PAPERCHAT_MAX_SUMMARY_CHARS)",
        f"rejected: {corpus}:4: 2506.00003v1: title is 501 characters, more than 500 (PAPERCHAT_MAX_TITLE_CHARS)",
        f"rejected: {corpus}:5: 2506.00004v1: the summary has a sentence of 1,499 characters, more than 1,000 "
        "(PAPERCHAT_MAX_SENTENCE_CHARS); end its sentences with punctuation",
    ]
    assert "1 versions of 1 papers" in result.stdout
    assert time.monotonic() - started < 120  # 459 s of CPU for the 1 MB summary alone before
    # The limits are settings: raised, the long-summary row is accepted.
    raised = invoke_cli("ingest", str(corpus), env=data_env(tmp_path / "data", PAPERCHAT_MAX_SUMMARY_CHARS="10000"))
    assert f"{corpus}:3:" not in raised.stderr and "2 versions of 2 papers" in raised.stdout


@pytest.mark.slow
def test_2_the_evidence_shows_an_over_long_sentence_in_pieces(tmp_path, e5):
    # An index that holds a 4,500-character sentence (built with the limit raised, or before there was one).
    sentence = "Whalesong codec " + " ".join(f"humpback{i}" for i in range(400)) + "."
    settings = Settings(data_dir=tmp_path / "data", backend="extractive", max_sentence_chars=100_000,
                        max_summary_chars=100_000)
    corpus = jsonl(tmp_path / "long.jsonl", rows_of(BUNDLED[:3]) + [
        {"arxiv_id": "2507.00001v1", "title": "Whalesong: a codec for humpback whale song", "summary": sentence}])
    assert not ingest([corpus], open_store(settings), lambda: e5, limits=settings.limits).rejected
    answer = Assistant(settings, embed_model=e5).ask("Which paper is a codec for humpback whale song?")
    whale = [s for s in answer.sources if s.arxiv_id == "2507.00001v1"]
    assert whale and all(len(s) <= SENTENCE_PIECE_CHARS for s in whale[0].sentences)
    assert len(answer.text) < 2_000  # the whole sentence (1,045,074 characters at 1 MB) before


# --- 3. credentials in URLs never reach users ---------------------------------------------

def test_3_credentials_in_a_backend_url_never_reach_a_chat_user(bundled_index, e5):
    base_url = f"http://user:{SECRET}@127.0.0.1:{free_port()}/v1?api_key={SECRET}"
    settings = Settings(**bundled_index.model_dump(), backend="extractive", backends=["extractive", "openai"],
                        openai_base_url=base_url, openai_api_key=SECRET)
    with running_app(settings, e5) as (url, _):
        messages, failed = ask(url, QUESTION, backend="openai")
    assert "openai backend (http://***@127.0.0.1:" in failed["error"] and "api_key=***" in failed["error"]
    assert SECRET not in json.dumps([messages, failed])


def test_3_credentials_in_urls_are_not_printed_by_the_cli(cli_env):
    env = {**cli_env, "PAPERCHAT_OPENAI_BASE_URL": f"http://user:{SECRET}@127.0.0.1:{free_port()}/v1"}
    result = invoke_cli("ask", "--backend", "openai", QUESTION, env=env)
    assert result.returncode == 1 and "http://***@127.0.0.1:" in result.stderr
    assert SECRET not in result.stdout + result.stderr
    result = invoke_cli("stats", env={**cli_env, "PAPERCHAT_CHROMA_URL": f"http://admin:{SECRET}@127.0.0.1:{free_port()}"})
    assert result.returncode == 1 and "Chroma server at http://***@127.0.0.1:" in result.stderr
    assert SECRET not in result.stderr


def test_3_the_api_key_and_the_login_are_secret_types():
    settings = Settings(openai_api_key=SECRET, auth=f"reader:{SECRET}")
    assert SECRET not in repr(settings) + str(settings) + settings.model_dump_json()
    assert settings.openai_api_key.get_secret_value() == SECRET


# --- 4. the operator decides which backends a served chat offers --------------------------

def test_4_users_get_only_the_backends_the_operator_offers(served):
    url, service = served
    assert service.backends == ["extractive"]
    started = time.monotonic()
    # The settings' dropdown offers only these, and Gradio refuses any other value before our code runs.
    with pytest.raises(Exception, match=r"Value: local is not in the list of choices: \['extractive'\]"):
        ask(url, QUESTION, backend="local")
    assert time.monotonic() - started < 20 and "local" not in service._assistants  # no 1.1 GB model load
    # In-process callers of the service meet the same rule.
    messages, refused = list(service.respond(QUESTION, [], backend="local"))[-1]
    assert refused == {"error": "the backend 'local' is not offered here; choose one of extractive"}
    _, answered = ask(url, QUESTION)
    assert answered["citations"]


# --- 5. ingest reads no unbounded line and no non-regular file -----------------------------

def test_5_devices_pipes_and_directories_are_refused_in_one_line_each(tmp_path):
    good = jsonl(tmp_path / "good.jsonl", rows_of(BUNDLED[:1]))
    (tmp_path / "zero.md").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "pipe.jsonl")
    (tmp_path / "adir.md").mkdir()
    paths = [str(tmp_path / name) for name in ("zero.md", "pipe.jsonl", "adir.md")] + [str(good)]
    result = run_cli("ingest", *paths, env=data_env(tmp_path / "data"), timeout=120)  # the pipe hung forever
    assert result.returncode == 1
    assert [line for line in result.stderr.splitlines() if line.startswith("rejected:")] == [
        f"rejected: {tmp_path / 'zero.md'}:1: a character device, not a corpus file: give a .md or .jsonl file",
        f"rejected: {tmp_path / 'pipe.jsonl'}:1: a named pipe, not a corpus file: give a .md or .jsonl file",
        f"rejected: {tmp_path / 'adir.md'}:1: a directory, not a corpus file: give a .md or .jsonl file",
    ]
    assert "1 versions of 1 papers" in result.stdout


def test_5_a_file_without_line_breaks_is_read_in_bounded_memory(tmp_path):
    flat = tmp_path / "flat.jsonl"
    with open(flat, "wb") as out:
        for _ in range(200):
            out.write(b"x" * 1_000_000)
    rss = {}
    for name, path in (("empty", tmp_path / "empty.jsonl"), ("flat", flat)):
        path.touch()
        proc = subprocess.Popen([str(BIN / "paperchat"), "ingest", str(path)], env=data_env(tmp_path / name),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        rss[name] = usage.ru_maxrss * 1024
        stderr = proc.stderr.read().decode()
        assert os.waitstatus_to_exitcode(status) == 1, stderr
    assert "line is 200,000,000 bytes, more than 65,536" in stderr
    assert rss["flat"] - rss["empty"] < 50_000_000, rss  # the whole line was held (and decoded) before: +600 MB


# --- 6. one unreadable file does not stop the run; a failed rebuild keeps the old index ---

def test_6_every_readable_file_is_processed_and_reported(tmp_path):
    bad = tmp_path / "bad.md"
    newcomer = BUNDLED[0]
    bad.write_text("|Source|Title|Summary|\n|---|---|---|\n"
                   f"|{newcomer.arxiv_id}|{newcomer.title}|{newcomer.summary.replace(chr(10), '<br/>')}|\n"
                   "|2506.11091v1|only two|\n", encoding="utf-8")
    (tmp_path / "adir.md").mkdir()
    result = invoke_cli("ingest", str(bad), str(tmp_path / "adir.md"), env=data_env(tmp_path / "data"))
    assert result.returncode == 1
    assert f"rejected: {bad}:4: too few columns: 2 of 3 (Source | Title | Summary)" in result.stderr
    assert f"rejected: {tmp_path / 'adir.md'}:1: a directory" in result.stderr
    assert "1 versions of 1 papers" in result.stdout
    assert stored_ids(IndexSettings(data_dir=tmp_path / "data")) == {c.id for c in chunk_paper(newcomer)}


@pytest.mark.slow
def test_6_a_rebuild_with_an_unreadable_file_leaves_the_old_index_intact(tmp_path, e5):
    settings = IndexSettings(data_dir=tmp_path / "data")
    ingest([jsonl(tmp_path / "old.jsonl", rows_of(BUNDLED[:4]))], open_store(settings), lambda: e5)
    before = stored_ids(settings)
    (tmp_path / "adir.md").mkdir()
    new = jsonl(tmp_path / "new.jsonl", rows_of(BUNDLED[4:6]))
    result = invoke_cli("ingest", "--rebuild", str(new), str(tmp_path / "adir.md"), env=data_env(settings.data_dir))
    assert result.returncode == 1
    assert (f"paperchat: the rebuild was not applied (1 file could not be read); the index is as it was "
            f"({len(before)} chunks)") in result.stderr
    assert stored_ids(settings) == before  # 444 -> 404 chunks before
    assert [c.name for c in open_store(settings).client.list_collections()] == ["papers"]

    result = invoke_cli("ingest", "--rebuild", str(new), env=data_env(settings.data_dir))
    assert result.returncode == 0, result.stderr
    assert stored_ids(settings) == {c.id for p in BUNDLED[4:6] for c in chunk_paper(p)}
    assert [c.name for c in open_store(settings).client.list_collections()] == ["papers"]


@pytest.mark.slow
def test_6_a_rebuild_killed_half_way_leaves_the_old_index_and_the_next_run_cleans_up(tmp_path, e5):
    settings = IndexSettings(data_dir=tmp_path / "data")
    small = jsonl(tmp_path / "small.jsonl", rows_of(BUNDLED[:2]))
    ingest([small], open_store(settings), lambda: e5)
    before = stored_ids(settings)
    proc = subprocess.Popen([str(BIN / "paperchat"), "ingest", "--rebuild"], env=data_env(settings.data_dir),
                            stderr=subprocess.PIPE, text=True)
    seen = ""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not re.search(r" [1-9]\d* chunks embedded", seen):
        seen += proc.stderr.read(1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    names = [c.name for c in open_store(settings).client.list_collections()]
    assert "papers" in names and any(n.startswith("papers-rebuild-") for n in names), names
    assert stored_ids(settings) == before

    result = invoke_cli("ingest", str(small), env=data_env(settings.data_dir))
    assert result.returncode == 0, result.stderr
    assert [c.name for c in open_store(settings).client.list_collections()] == ["papers"]
    assert stored_ids(settings) == before


# --- 7. logins are throttled; uploads, comments and the login itself are bounded ----------

def test_7_wrong_logins_are_throttled_per_client(bundled_index, e5):
    settings = Settings(**bundled_index.model_dump(), backend="extractive")
    with running_app(settings, e5, auth=f"reader:{SECRET}", login_failures=3, login_lockout_seconds=2) as (url, _):
        def login(password: str, source: str = "127.0.0.1") -> httpx.Response:
            with httpx.Client(transport=httpx.HTTPTransport(local_address=source)) as http:
                return http.post(f"{url}login", data={"username": "reader", "password": password})

        assert [login(f"guess{n}").status_code for n in range(3)] == [400, 400, 400]
        locked = login(SECRET)  # the right password, but the client is locked out: not even checked
        assert locked.status_code == 429 and 1 <= int(locked.headers["Retry-After"]) <= 2
        assert login(SECRET, source="127.0.0.2").status_code == 200  # another client is not affected
        deadline = time.monotonic() + 10
        while (status := login(SECRET).status_code) == 429 and time.monotonic() < deadline:
            time.sleep(0.2)  # refusals while locked do not extend the lock
        assert status == 200


def test_7_uploads_and_feedback_comments_are_bounded(served):
    url, service = served
    limit = Settings().max_upload_bytes
    with httpx.Client() as http:
        too_big = http.post(f"{url}gradio_api/upload", files={"files": ("big.txt", b"x" * (limit + 1))})
        small = http.post(f"{url}gradio_api/upload", files={"files": ("small.txt", b"x" * 1000)})
    assert too_big.status_code == 413 and small.status_code == 200
    chat = Client(url, verbose=False)
    _, answer = ask(url, QUESTION, chat=chat)
    longest = Settings().max_comment_chars
    with pytest.raises(Exception, match=f"shorten it to {longest:,} at most"):
        chat.predict(answer["answer_id"], "down", "!" * (longest + 1), api_name="/feedback")
    assert chat.predict(answer["answer_id"], "down", "!" * longest, api_name="/feedback") == "recorded"
    assert service.feedback.read()[-1]["comment"] == "!" * longest


PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


class _ProxyRecorder:
    """A listening socket standing in for an HTTP(S) proxy: records the first line of every connection."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.requests: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(5)
                try:
                    self.requests.append(connection.recv(4096).split(b"\r\n")[0].decode(errors="replace"))
                except OSError:
                    self.requests.append("(connected)")

    def close(self) -> None:
        self.server.close()


@pytest.mark.slow
def test_7_12_serve_takes_the_login_from_a_file_offers_only_its_backends_and_never_phones_home(bundled_index, tmp_path):
    auth_file = tmp_path / "login"
    auth_file.write_text(f"reader:{SECRET}\n")
    auth_file.chmod(0o600)
    proxy = _ProxyRecorder()
    port = free_port()
    # As someone would start it by hand: none of the Makefile's exports, a proxy that would see any call out.
    env = {k: v for k, v in os.environ.items() if k not in ("GRADIO_ANALYTICS_ENABLED", "ANONYMIZED_TELEMETRY")}
    env.update({"PAPERCHAT_DATA_DIR": str(bundled_index.data_dir), "NO_PROXY": "127.0.0.1,localhost",
                **{name: proxy.url for name in PROXY_VARIABLES}})
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(BIN / "paperchat"), "serve", "--port", str(port), "--auth-file", str(auth_file),
                                 "--backend", "extractive", "--backends", "extractive,openai"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", proc, timeout=180, log=log)
        assert SECRET not in Path(f"/proc/{proc.pid}/cmdline").read_text()
        with pytest.raises(AuthenticationError, match="credentials were not provided"):
            Client(f"http://127.0.0.1:{port}/", verbose=False)
        chat = Client(f"http://127.0.0.1:{port}/", verbose=False, auth=("reader", SECRET))
        parameters = chat.view_api(print_info=False, return_format="dict")["named_endpoints"]["/chat"]["parameters"]
        backend = next(p for p in parameters if p["parameter_name"] == "backend")
        assert backend["type"]["enum"] == ["extractive", "openai"]
        _, answer = ask("", QUESTION, chat=chat)
        assert answer["citations"]
        with pytest.raises(Exception, match="Value: local is not in the list of choices"):
            ask("", QUESTION, backend="local", chat=chat)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proxy.close()
    assert proxy.requests == [], proxy.requests  # Gradio's version check and analytics went out before


def test_12_the_app_turns_gradio_analytics_off_itself(monkeypatch, e5, bundled_index):
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "True")
    app = build_app(ChatService(Settings(**bundled_index.model_dump(), backend="extractive"), embed_model=e5))
    assert app.analytics_enabled is False


# --- 8. no terminal escape codes or NUL bytes from paper text -----------------------------

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Control characters but tab and newline."""
EVIL_TITLE = "Whalesong\x1b[2J\x1b]0;pwned\x07 codec\x00 for humpback song\x9b"
EVIL_SUMMARY = "1. A codec\x1b[31m for humpback\x00 whale song.\n2. It compresses\x1b[2J songs 40 times."


def test_8_control_characters_are_stripped_at_ingest(tmp_path, e5):
    settings = IndexSettings(data_dir=tmp_path / "data")
    corpus = jsonl(tmp_path / "evil.jsonl",
                   [{"arxiv_id": "2507.00001v1", "title": EVIL_TITLE, "summary": EVIL_SUMMARY}])
    assert not ingest([corpus], open_store(settings), lambda: e5).rejected
    got = open_store(settings).collection.get(include=["documents", "metadatas"])
    texts = got["documents"] + [v for meta in got["metadatas"] for v in meta.values() if isinstance(v, str)]
    assert not any(CONTROL.search(text) for text in texts)
    assert "Whalesong codec for humpback song" in texts and "A codec for humpback whale song." in texts


def test_8_control_characters_in_an_older_index_reach_neither_terminal_nor_browser(tmp_path, e5):
    # An index written before ingest cleaned text: the chunks hold the raw control characters.
    settings = Settings(data_dir=tmp_path / "data", backend="extractive")
    evil = Paper("2507.00001v1", "2507.00001", 1, EVIL_TITLE, EVIL_SUMMARY, "https://arxiv.org/abs/2507.00001v1", "en")
    store = open_store(settings)
    ingest([jsonl(tmp_path / "good.jsonl", rows_of(BUNDLED[:3]))], store, lambda: e5)
    chunks = chunk_paper(evil)
    store.upsert(chunks, e5.get_text_embedding_batch([c.embed_text for c in chunks]))
    question = "Which paper is a codec for humpback whale song?"
    env = data_env(settings.data_dir)
    for args in (("search", question), ("search", question, "--json"), ("ask", question, "--backend", "extractive"),
                 ("ask", question, "--backend", "extractive", "--json")):
        result = invoke_cli(*args, env=env)
        assert result.returncode == 0, result.stderr
        assert "humpback" in result.stdout
        assert not CONTROL.search(result.stdout), (args, result.stdout)
    with running_app(settings, e5) as (url, _):
        messages, answer = ask(url, question)
    shown = "".join(m["content"] for m in messages)
    assert "2507.00001v1" in shown and not CONTROL.search(shown)


# --- 9. arXiv identifiers are validated -------------------------------------------------

@pytest.mark.parametrize("raw", ["a-b-c-d-e-f/1234567", "2601.00018v99999999999999999999999", "2601.00018v100",
                                 "2513.00001", "2500.00001", "0703.0001", "hep-th/9913001", "foo/9901001",
                                 "hep-th/9001001", "math/0704001", "hep-th/9901001v0"])
def test_9_malformed_arxiv_ids_are_rejected(raw):
    assert parse_arxiv_id(raw) is None


@pytest.mark.parametrize("raw, expected", [
    ("2601.00018v99", ("2601.00018v99", "2601.00018", 99)),
    ("0704.0001", ("0704.0001v1", "0704.0001", 1)),
    ("9912.00001v1", ("9912.00001v1", "9912.00001", 1)),
    ("math.AG/0601001v2", ("math.ag/0601001v2", "math.ag/0601001", 2)),
    ("hep-th/9108001", ("hep-th/9108001v1", "hep-th/9108001", 1)),
    ("cond-mat/0703999v3", ("cond-mat/0703999v3", "cond-mat/0703999", 3)),
])
def test_9_well_formed_arxiv_ids_are_accepted(raw, expected):
    assert parse_arxiv_id(raw) == expected


def test_9_rows_with_malformed_ids_are_rejected_in_a_file(tmp_path):
    corpus = jsonl(tmp_path / "ids.jsonl", [{"arxiv_id": i, "title": "T", "summary": "S."}
                                            for i in ("a-b-c-d-e-f/1234567", "2601.00018v99999999999999999999999",
                                                      "2601.00018v2")])
    got = read_corpus([corpus])
    assert [p.arxiv_id for p in got.papers] == ["2601.00018v2"]
    assert [str(p) for p in got.problems] == [
        f"{corpus}:1: malformed arXiv ID 'a-b-c-d-e-f/1234567' (expected e.g. 2506.11091v1)",
        f"{corpus}:2: malformed arXiv ID '2601.00018v99999999999999999999999' (expected e.g. 2506.11091v1)"]


# --- 10. binary files and deeply nested histories -----------------------------------------

def test_10_a_binary_file_is_reported_once(tmp_path):
    binary = tmp_path / "data.md"
    binary.write_bytes(os.urandom(5_000_000))
    good = jsonl(tmp_path / "good.jsonl", rows_of(BUNDLED[:1]))
    result = invoke_cli("ingest", str(binary), str(good), env=data_env(tmp_path / "data"))
    assert result.returncode == 1
    rejected = [line for line in result.stderr.splitlines() if line.startswith("rejected:")]
    assert len(rejected) == 1, rejected[:5]  # one line per undecodable line, then "file is empty", before
    assert re.fullmatch(rf"rejected: {re.escape(str(binary))}:1: binary file \([\d,]+ of [\d,]+ lines are not UTF-8 "
                        r"text\); expected a markdown table \(\.md\) or JSONL \(\.jsonl\) in UTF-8", rejected[0])
    assert "1 versions of 1 papers" in result.stdout


def test_10_a_deeply_nested_history_is_one_line(cli_env, tmp_path):
    history = tmp_path / "deep.json"
    history.write_text("[" * 100_000 + "]" * 100_000)
    result = invoke_cli("ask", QUESTION, "--history", str(history), "--backend", "extractive", env=cli_env)
    assert result.returncode == 1
    assert result.stderr == f"paperchat: error: {history}: not a JSON list of messages (nested too deeply)\n"


# --- 11. a question without words -----------------------------------------------------------

def test_11_a_question_with_no_words_is_not_answered(cli_env):
    result = invoke_cli("ask", "?!.,;:…", "--backend", "extractive", "--json", env=cli_env)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == ("paperchat: error: The question has no words, only punctuation or symbols: "
                             "type a question about the papers.\n")
    result = invoke_cli("search", "?!.,;:…", env=cli_env)
    assert result.returncode == 1 and "no words" in result.stderr


# --- 13. the data directory and its logs are private ----------------------------------------

def test_13_the_data_directory_and_the_feedback_log_are_private(tmp_path, e5):
    fresh = tmp_path / "fresh"
    result = invoke_cli("ingest", str(jsonl(tmp_path / "one.jsonl", rows_of(BUNDLED[:1]))), env=data_env(fresh))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700

    old = tmp_path / "old"  # made by an earlier version: world-readable
    old.mkdir(mode=0o755)
    old.chmod(0o755)
    (old / "feedback.jsonl").write_text("")
    (old / "feedback.jsonl").chmod(0o644)
    settings = Settings(data_dir=old, backend="extractive")
    ingest([tmp_path / "one.jsonl"], open_store(settings), lambda: e5)
    assert stat.S_IMODE(old.stat().st_mode) == 0o700
    FeedbackLog(settings.feedback_path).append({"event": "rating", "verdict": "up"})
    assert stat.S_IMODE(settings.feedback_path.stat().st_mode) == 0o600
    new_log = tmp_path / "other" / "feedback.jsonl"
    FeedbackLog(new_log).append({"event": "rating", "verdict": "up"})
    assert stat.S_IMODE(new_log.stat().st_mode) == 0o600 and stat.S_IMODE(new_log.parent.stat().st_mode) == 0o700
