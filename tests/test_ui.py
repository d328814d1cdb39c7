"""The chat UI through its API, as `gradio_client` users and `paperchat serve` users see it.

Servers run for real on 127.0.0.1 (in-process, or `paperchat serve` as a
subprocess) over the real index of the bundled collection; the extractive
backend answers instantly, and one test runs the bundled model.
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

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError, AuthenticationError

from assistant.answer import Answer, SentenceVerdict, Source
from assistant.prompts import UNSUPPORTED_MARK
from conftest import BIN, free_port, running_app, wait_for_http, write_jsonl
from index.corpus import read_corpus
from index.errors import UserError
from index.settings import BUNDLED_CORPUS
from ui.access import is_loopback, parse_auth
from ui.display import answer_markdown, engine_history, from_display, to_display
from ui.render import cited_evidence, final_markdown, sources_html
from ui.feedback import FeedbackLog
from ui.settings import Settings

FIRST_QUESTION = "Which paper uses LLM feedback as a reward for ASR domain adaptation?"
FOLLOW_UP = "它用了什么方法？"
VERSIONED_ID = re.compile(r"^\d{4}\.\d{4,5}v\d+$")
MODEL_CACHE = Path(os.environ.get("PAPERCHAT_TEST_MODEL_CACHE", Settings().model_cache_dir))
# Gradio's queue calls a pandas API that pandas 3 deprecates; nothing to do with these tests.
pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")


@pytest.fixture(scope="module")
def ui_settings(bundled_index):
    # Feedback goes to the data directory; a dead port makes the openai backend fail for real.
    return Settings(**bundled_index.model_dump(), backend="extractive", backends=["extractive", "openai"],
                    openai_base_url=f"http://127.0.0.1:{free_port()}/v1", queue_size=32)


@pytest.fixture(scope="module")
def server(ui_settings, e5):
    with running_app(ui_settings, e5) as running:
        yield running


def client(url: str, **kwargs) -> Client:
    return Client(url, verbose=False, **kwargs)


def ask(chat: Client, question: str, backend: str = "extractive", top_k: int = 4, language: str = "auto"):
    messages, answer = chat.predict(question, backend, top_k, language, api_name="/chat")
    return messages, answer


# --- the chat API, end to end -----------------------------------------------------

def test_chat_api_cites_follows_up_with_history_and_records_feedback(server):
    url, service = server
    chat = client(url)
    messages, first = ask(chat, FIRST_QUESTION)
    ids_in_collection = {v for p in service.papers for v in p.versions}
    assert not first["abstained"] and first["citations"], first
    cited = [c["arxiv_id"] for c in first["citations"]]
    assert all(VERSIONED_ID.match(i) and i in ids_in_collection for i in cited)
    assert cited[0] == "2506.11091v1"
    # The chat shows the sources panel first, then the answer with citations as arXiv links.
    assert messages[0]["metadata"]["title"].startswith("Sources ·")
    assert f"[arXiv:{cited[0]}](https://arxiv.org/abs/{cited[0]})" in messages[-1]["content"]
    assert re.search(r"\d+ of \d+ shown sentences? supported by the cited evidence", messages[-1]["content"])

    messages, follow_up = ask(chat, FOLLOW_UP)
    assert follow_up["citations"][0]["arxiv_id"] == "2506.11091v1", follow_up
    assert "2506.11091v1" in follow_up["standalone_question"]
    # Without the conversation the same message does not lead to that paper.
    _, alone = ask(client(url), FOLLOW_UP)
    assert alone["abstained"] or alone["citations"][0]["arxiv_id"] != "2506.11091v1"

    assert chat.predict(first["answer_id"], "up", "", api_name="/feedback") == "recorded"
    assert chat.predict(follow_up["answer_id"], "down", "too short", api_name="/feedback") == "recorded"
    events = [e for e in service.feedback.read() if e["answer_id"] in (first["answer_id"], follow_up["answer_id"])]
    assert [(e["event"], e["verdict"], e["comment"]) for e in events] == [
        ("rating", "up", None), ("comment", "down", "too short")]
    assert events[0]["question"] == FIRST_QUESTION and events[0]["answer"] == first["answer"]
    assert events[0]["citations"] == first["citations"]
    assert events[1]["settings"] == {"backend": "extractive", "top_k": 4, "language": "auto"}
    assert events[1]["timestamp"].endswith("+00:00")
    with pytest.raises(AppError, match="no longer known"):
        chat.predict("not-an-answer", "up", "", api_name="/feedback")


def test_papers_tab_lists_the_collection_and_filters_as_the_words_of_each_paper_say(server):
    _, service = server
    papers = service.papers
    assert len(papers) == 56 and sum(len(p.versions) for p in papers) == 70
    assert [p.base_id for p in papers] == sorted((p.base_id for p in papers), reverse=True)
    # The list holds no summary text; a paper's sections are read when it is opened.
    assert not any(hasattr(p, "sections") for p in papers)
    opened = {p.base_id: service.paper_sections(p) for p in papers}
    assert all(list(opened[p.base_id]) == p.versions and all(opened[p.base_id].values()) for p in papers)
    assert not any(section == "paper" for parts in opened.values() for v in parts.values() for section, _ in v)

    def expected(query: str) -> list[str]:  # every word somewhere in the paper's IDs, title or sections
        def words_of(p):
            return " ".join([p.base_id, *p.versions, p.title,
                             *(text for parts in opened[p.base_id].values() for _, text in parts)]).casefold()
        return [p.base_id for p in papers if all(w in words_of(p) for w in query.casefold().split())]

    for query in ["", "dialect", "DIALECT Speech", "儿童", "21%", "%", "_", "v3", "2506.11091", "wer 语音", "zzzz"]:
        assert [p.base_id for p in service.find_papers(query)] == expected(query), query
    assert [p.base_id for p in service.find_papers("2506.11091")] == ["2506.11091"]
    assert len(service.find_papers("dialect")) < len(papers) and service.find_papers("zzzz") == []


def test_sources_are_shown_before_the_answer_streams(server):
    url, _ = server
    job = client(url).submit(FIRST_QUESTION, "extractive", 4, "auto", api_name="/chat")
    job.result(timeout=60)
    updates = [messages for messages, _ in job.outputs()]
    assert len(updates) >= 3
    panel, placeholder = updates[0]
    assert panel["metadata"]["title"].startswith("Sources ·") and panel["metadata"]["status"] == "pending"
    assert 'class="pc-card' in panel["content"] and "arXiv:" not in placeholder["content"]
    assert updates[-1][0]["metadata"]["status"] == "done" and "pc-cited" in updates[-1][0]["content"]


@pytest.mark.slow
def test_real_bundled_model_answers_through_the_chat_api(ui_settings, e5):
    settings = ui_settings.model_copy(update={"backend": "local", "backends": ["local"], "model_cache_dir": MODEL_CACHE})
    with running_app(settings, e5) as (url, service):
        chat = client(url)
        job = chat.submit(FIRST_QUESTION, "local", 4, "auto", api_name="/chat")
        messages, answer = job.result(timeout=300)
        updates = [m for m, _ in job.outputs()]
        assert updates[0][0]["metadata"]["title"].startswith("Sources ·")
        assert len(updates) > 3  # sources, then the answer piece by piece, then the verified answer
        assert not answer["abstained"] and answer["citations"], answer
        sources = {s["arxiv_id"] for s in answer["sources"]}
        assert "2506.11091v1" in sources
        assert {c["arxiv_id"] for c in answer["citations"]} <= sources
        assert "https://arxiv.org/abs/" in messages[-1]["content"]
        assert chat.predict(answer["answer_id"], "up", "good", api_name="/feedback") == "recorded"
        event = service.feedback.read()[-1]
        assert event["answer_id"] == answer["answer_id"] and event["settings"]["backend"] == "local"


def test_settings_change_the_answer_and_their_defaults_come_from_settings(server, ui_settings):
    url, service = server
    chat = client(url)
    info = chat.view_api(print_info=False, return_format="dict")["named_endpoints"]["/chat"]["parameters"]
    defaults = {p["parameter_name"]: p["parameter_default"] for p in info}
    assert defaults["backend"] == ui_settings.backend and defaults["top_k"] == ui_settings.top_k

    _, one = ask(chat, "儿童朗读错误检测", top_k=1)
    assert len({s["arxiv_id"] for s in one["sources"]}) == 1
    _, zh = ask(client(url), "儿童朗读错误检测")
    _, en = ask(client(url), "儿童朗读错误检测", language="en")
    assert zh["answer"].startswith("根据论文摘要") and en["answer"].startswith("From the paper summaries")


def test_abstention_is_labelled_and_offers_the_closest_papers(server):
    url, _ = server
    messages, answer = ask(client(url), "What is the best recipe for sourdough bread?")
    assert answer["abstained"]
    shown = messages[-1]["content"]
    assert "No answer in the collection" in shown
    assert re.search(r"\[\d{4}\.\d{4,5}v\d+\]\(https://arxiv\.org/abs/\d{4}\.\d{4,5}v\d+\)", shown), shown


def test_failing_backend_shows_a_readable_error_and_the_chat_stays_usable(server):
    url, _ = server
    chat = client(url)
    started = time.monotonic()
    messages, failed = ask(chat, FIRST_QUESTION, backend="openai")
    assert time.monotonic() - started < 20
    assert "openai backend" in failed["error"]
    assert "The answer could not be completed" in messages[-1]["content"]
    assert "Traceback" not in messages[-1]["content"]

    messages, answer = ask(chat, FIRST_QUESTION)
    assert answer["citations"] and "could not be completed" not in messages[-1]["content"]


def test_eight_concurrent_conversations_all_complete(server):
    url, _ = server
    questions = [FIRST_QUESTION, "儿童朗读错误检测", "Is there a dataset for child-targeted hate speech?",
                 "哪篇论文把口吃现象作为显式标记转录出来？"] * 2
    results: dict[int, tuple] = {}
    errors: list[BaseException] = []

    def conversation(n: int) -> None:
        try:
            chat = client(url)
            _, first = ask(chat, questions[n])
            _, second = ask(chat, "What dataset did it use?")
            results[n] = (first, second)
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=conversation, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not errors, errors
    assert len(results) == 8
    for first, second in results.values():
        assert "error" not in first and "error" not in second
        assert first["citations"], first
    # Each conversation kept its own history: its follow-up was folded into its own first question.
    assert len({second["standalone_question"] for _, second in results.values()}) == 4


def test_auth_is_required_when_set(ui_settings, e5):
    with running_app(ui_settings, e5, auth="reader:s3cret") as (url, _):
        with pytest.raises(AuthenticationError, match="credentials were not provided"):
            client(url)
        with pytest.raises(ValueError, match="Could not login"):  # Gradio answers a wrong password with 400
            client(url, auth=("reader", "wrong"))
        _, answer = ask(client(url, auth=("reader", "s3cret")), FIRST_QUESTION)
        assert answer["citations"]


# --- `paperchat serve` -------------------------------------------------------------

@pytest.mark.slow
def test_serve_builds_a_missing_index_with_progress_then_serves_with_login(tmp_path):
    papers = [p for p in read_corpus([BUNDLED_CORPUS]).papers if p.arxiv_id in ("2506.11091v1", "2506.11079v1")]
    corpus = write_jsonl(tmp_path / "two.jsonl", papers)
    port = free_port()
    env = {**os.environ, "PAPERCHAT_DATA_DIR": str(tmp_path / "data"), "PAPERCHAT_CORPUS": json.dumps([str(corpus)]),
           "PAPERCHAT_PORT": str(port), "PAPERCHAT_AUTH": "reader:s3cret"}
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(BIN / "paperchat"), "serve", "--backend", "extractive"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", proc, timeout=180, log=log)
        output = log.read_text()
        assert "no index yet" in output and "building it first" in output
        assert "ingesting" in output and "2 versions of 2 papers" in output  # the progress bar, then the report
        assert "warning" not in output  # loopback by default
        with pytest.raises(AuthenticationError, match="credentials were not provided"):
            client(f"http://127.0.0.1:{port}/")
        _, answer = ask(client(f"http://127.0.0.1:{port}/", auth=("reader", "s3cret")), "儿童朗读错误检测")
        assert [c["arxiv_id"] for c in answer["citations"]][:1] == ["2506.11079v1"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_serve_warns_when_listening_on_a_public_interface_without_login(bundled_index):
    # The port is taken on all interfaces, so the server never really listens there.
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        port = taken.getsockname()[1]
        env = {**os.environ, "PAPERCHAT_DATA_DIR": str(bundled_index.data_dir)}
        result = subprocess.run([str(BIN / "paperchat"), "serve", "--host", "0.0.0.0", "--port", str(port),
                                 "--backend", "extractive"], env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 1
    assert "warning: listening on 0.0.0.0 without --auth" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"paperchat: error: cannot listen on 0.0.0.0:{port} (in use?); choose another port with --port")


def test_host_and_auth_parsing():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10") and not is_loopback("example.org")
    assert parse_auth("user:pa:ss") == ("user", "pa:ss") and parse_auth(None) is None
    for bad in ("user", "user:", ":pass"):
        with pytest.raises(UserError, match="user:password"):
            parse_auth(bad)


# --- what is shown: text stays text ------------------------------------------------

POISON = '<script>alert(1)</script> <img src=x onerror="alert(2)"> [click](javascript:alert(3)) ![i](x) www.evil.example https://evil.example/'


def test_markup_from_users_corpus_and_model_is_shown_as_text():
    shown = to_display(POISON)
    assert "<" not in shown and ">" not in shown
    assert "](" not in shown and "![" not in shown and "://" not in shown and "www." not in shown
    assert from_display(shown) == POISON
    assert from_display(to_display("a &amp; b [x]: y")) == "a &amp; b [x]: y"

    answer = answer_markdown(f"{POISON} 21% [arXiv:2506.11091v1]{UNSUPPORTED_MARK}")
    assert "javascript:" not in answer.replace("[click]&#40;javascript:", "")
    links = re.findall(r"\]\(([^)]*)\)", answer)
    assert links == ["https://arxiv.org/abs/2506.11091v1"]
    assert 'class="pc-unsupported"' in answer

    source = Source("2506.11091v1", "2506.11091", POISON, "javascript:alert(4)", 0.5, [POISON, "safe"],
                    ["2506.11091v1", "2506.11091v2"])
    cards = sources_html([source], {"2506.11091v1": {1}})
    assert "<script" not in cards and "<img" not in cards
    assert 'href="javascript' not in cards and "](" not in cards and "://evil" not in cards
    assert cards.count('href="https://arxiv.org/abs/') == 2  # this version and the other one
    assert '<li class="pc-cited pc-e-2506-11091v1-1" title="Supports a sentence of the answer">safe</li>' in cards


def test_an_unsupported_draft_is_labelled_apart_from_a_question_the_collection_cannot_answer():
    unsupported = final_markdown(Answer("q", "q", "not shown", True, abstention_reason="unsupported"))
    no_answer = final_markdown(Answer("q", "q", "not here", True, abstention_reason="no_answer"))
    assert "No supported answer" in unsupported and "No answer in the collection" not in unsupported
    assert "No answer in the collection" in no_answer


def test_answer_display_round_trips_into_the_engine_history():
    verdicts = [SentenceVerdict("LAIL improves WER [arXiv:2506.22846v1]", ["2506.22846v1"], True, "lexical",
                                [{"arxiv_id": "2506.22846v1", "index": 0}]),
                SentenceVerdict("It is the best <b>ever</b>. [arXiv:2506.22846v1]", ["2506.22846v1"], False, "embedding")]
    text = f"LAIL improves WER [arXiv:2506.22846v1] It is the best <b>ever</b>. [arXiv:2506.22846v1]{UNSUPPORTED_MARK}"
    answer = Answer("q", "q", text, False, sentences=verdicts,
                    sources=[Source("2506.22846v1", "2506.22846", "t", "https://arxiv.org/abs/2506.22846v1", 0.2,
                                    ["Proposed LAIL, improving WER on LibriSpeech.", "Other sentence."])])
    shown = final_markdown(answer, "abc123")
    assert "1 of 2 shown sentences supported by the cited evidence" in shown
    # Each checked sentence is a span naming its answer and, when supported, its evidence sentences.
    assert '<span class="pc-sentence pc-a-abc123 pc-e-2506-22846v1-0" title=' in shown
    assert '<span class="pc-sentence pc-a-abc123">It is the best &lt;b&gt;ever&lt;/b&gt;.' in shown
    history = engine_history([{"role": "user", "content": to_display("What is <LAIL>?")},
                              {"role": "assistant", "content": "<div>cards</div>", "metadata": {"title": "Sources · 1 paper"}},
                              {"role": "assistant", "content": shown, "metadata": {"id": "abc"}}])
    assert history == [{"role": "user", "content": "What is <LAIL>?"}, {"role": "assistant", "content": text}]
    # The browser sends each message's content as a list of parts.
    as_parts = engine_history([{"role": "user", "content": [{"type": "text", "text": to_display("What is <LAIL>?")}]},
                               {"role": "assistant", "content": [{"type": "text", "text": shown}], "metadata": None}])
    assert as_parts == history
    # What the sources panel marks is what the check recorded, not a guess by similarity.
    assert cited_evidence(answer) == {"2506.22846v1": {0}}
    cards = sources_html(answer.sources, cited_evidence(answer), "abc123")
    assert '<div class="pc-sources pc-a-abc123">' in cards
    assert '<li class="pc-cited pc-e-2506-22846v1-0"' in cards and '<li class="pc-e-2506-22846v1-1">' in cards


# --- the feedback log ------------------------------------------------------------------

_WRITER = """
import sys
from pathlib import Path
from ui.feedback import FeedbackLog
log = FeedbackLog(Path(sys.argv[1]))
for n in range(int(sys.argv[3])):
    log.append({"writer": int(sys.argv[2]), "n": n, "comment": "长评论 " * 50})
"""


def test_feedback_log_keeps_every_line_whole_with_concurrent_writers(tmp_path):
    path = tmp_path / "sub" / "feedback.jsonl"
    processes = [subprocess.Popen([str(BIN / "python"), "-c", _WRITER, str(path), str(w), "40"]) for w in (4, 5)]
    log = FeedbackLog(path)

    def append_many(writer: int) -> None:
        for n in range(40):
            log.append({"writer": writer, "n": n, "comment": "长评论 " * 50})

    threads = [threading.Thread(target=append_many, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(p.wait(timeout=60) == 0 for p in processes)
    events = log.read()  # json.loads on every line: a torn or interleaved line would raise
    assert len(events) == 6 * 40
    assert {(e["writer"], e["n"]) for e in events} == {(w, n) for w in range(6) for n in range(40)}
    assert all(e["timestamp"] and e["comment"] == "长评论 " * 50 for e in events)
