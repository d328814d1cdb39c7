"""What one user can do through the chat, its API and the command line: stall everyone with a long
message, read a secret from an error, load a backend the operator did not offer, guess logins, upload
or comment without bound, make the server phone home, put escape codes on a terminal, or send a
history nested too deeply or a question without words.

One section per item of the hardening issue, numbered as there (the items about files are in
test_security_files.py); docs/security.md lists each input, what the user sees, and the test that
checks it. Everything is real: embedded Chroma, the `paperchat` command, and the chat served by
Gradio on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AuthenticationError

from conftest import BIN, data_env, free_port, invoke_cli, running_app, wait_for_http, write_jsonl
from index.chunking import chunk_paper
from index.corpus import Paper, read_corpus
from index.ingest import ingest
from index.settings import BUNDLED_CORPUS, IndexSettings
from index.store import open_store
from ui.app import build_app
from ui.service import ChatService
from ui.settings import Settings

BUNDLED = read_corpus([BUNDLED_CORPUS]).papers
QUESTION = "Which paper uses LLM feedback as a reward for ASR domain adaptation?"
FOLLOW_UP = "它的结果如何？"
SECRET = "s3cretpw"
# Gradio's queue calls a pandas API that pandas 3 deprecates; nothing to do with these tests.
pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")


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
    corpus = write_jsonl(tmp_path / "evil.jsonl",
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
    ingest([write_jsonl(tmp_path / "good.jsonl", BUNDLED[:3])], store, lambda: e5)
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


# --- 10. a deeply nested history is one line ----------------------------------------------

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
