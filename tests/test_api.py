"""The OpenAI-compatible API (ui/api.py) and the admission count (ui/admission.py), as clients see them.

Servers run for real on loopback over the real index of the bundled collection, with the real
extractive backend; the clients are the official ``openai`` package, llama-index's ``OpenAILike``,
``gradio_client`` (the chat) and plain httpx. Holding answer slots uses a model that waits at a gate
(tests/fakes.py), registered as a backend like any plugin's.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time

import httpx
import openai
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from assistant.backends import register_backend, registered_backends
from conftest import BIN, free_port, invoke_cli, running_app, wait_for_http
from fakes import GatedLLM
from index.errors import UserError
from ui.admission import Admission, Busy
from ui.api import MAX_BODY_BYTES, ApiError, scope_arguments
from ui.settings import Settings

KEY = "sk-test-0123456789"
QUESTION = "Which paper uses LLM feedback as a reward for ASR domain adaptation?"
FOLLOW_UP = "它用了什么方法？"
CITED = "2506.11091v1"
pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")


def openai_client(url: str, key: str = KEY, source: str | None = None) -> openai.OpenAI:
    """No retries: the client would otherwise retry a 429 by itself, as it should in real use."""
    http = httpx.Client(transport=httpx.HTTPTransport(local_address=source)) if source else None
    return openai.OpenAI(base_url=f"{url}v1", api_key=key, max_retries=0, http_client=http)


def extra(obj, name: str):
    """A field OpenAI's types do not declare (the client keeps them)."""
    return (obj.model_extra or {}).get(name)


@pytest.fixture(scope="module")
def api(bundled_index, e5):
    settings = Settings(**bundled_index.model_dump(), backend="extractive", api_key=KEY)
    with running_app(settings, e5, login_failures=3, login_lockout_seconds=60) as running:
        yield running


# --- answers through the official openai client ---------------------------------------------

def test_models_are_the_offered_backends(api):
    url, service = api
    models = openai_client(url).models.list()
    assert [m.id for m in models.data] == service.backends == ["extractive"]
    assert models.data[0].owned_by == "paperchat"


def test_an_answer_cites_and_carries_what_ask_json_prints(api, cli_env):
    url, _ = api
    response = openai_client(url).chat.completions.create(
        model="extractive", messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}])
    content = response.choices[0].message.content
    assert f"[arXiv:{CITED}]" in content
    assert response.choices[0].finish_reason == "stop" and response.model == "extractive"
    citations = extra(response, "citations")
    assert {"arxiv_id": CITED, "url": f"https://arxiv.org/abs/{CITED}"}.items() <= citations[0].items()
    assert all(c["url"] == f"https://arxiv.org/abs/{c['arxiv_id']}" for c in citations)

    paperchat = extra(response, "paperchat")
    assert paperchat["answer"] == content and not paperchat["abstained"]
    assert paperchat["sentences"] and all({"text", "citations", "supported", "method", "evidence"} <= set(s)
                                           for s in paperchat["sentences"])
    assert {"low_evidence", "evidence_score", "scope"} <= set(paperchat) and paperchat["scope"] == []
    result = invoke_cli("ask", "--json", QUESTION, env={**cli_env, "PAPERCHAT_BACKEND": "extractive"})
    printed = json.loads(result.stdout)
    for answer in (paperchat, printed):
        del answer["timings_ms"]
    assert paperchat == printed


def test_streaming_sends_the_sources_first_then_the_text_then_the_verdicts(api):
    url, _ = api
    chunks = list(openai_client(url).chat.completions.create(
        model="extractive", messages=[{"role": "user", "content": QUESTION}], stream=True))
    first, last = chunks[0], chunks[-1]
    assert not first.choices[0].delta.content and first.choices[0].delta.role == "assistant"
    assert CITED in [s["arxiv_id"] for s in extra(first, "paperchat")["sources"]]
    texts = [c.choices[0].delta.content for c in chunks[1:-1]]
    assert texts and all(texts)
    assert [c.choices[0].finish_reason for c in chunks] == [None] * (len(chunks) - 1) + ["stop"]
    final = extra(last, "paperchat")
    assert final["sentences"] and final["abstention_reason"] is None
    assert CITED in [c["arxiv_id"] for c in extra(last, "citations")]
    assert "".join(texts) + (last.choices[0].delta.content or "") == final["answer"]
    assert len({c.id for c in chunks}) == 1


def test_a_follow_up_reads_the_earlier_messages_as_the_chat_does(api):
    url, _ = api
    client = openai_client(url)
    first = client.chat.completions.create(model="extractive", messages=[{"role": "user", "content": QUESTION}])
    follow_up = client.chat.completions.create(model="extractive", messages=[
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": [{"type": "text", "text": FOLLOW_UP}]}])
    paperchat = extra(follow_up, "paperchat")
    assert paperchat["question"] == FOLLOW_UP and QUESTION in paperchat["standalone_question"]
    assert f"[arXiv:{CITED}]" in follow_up.choices[0].message.content

    chat = Client(url, verbose=False)
    chat.predict(QUESTION, "extractive", 4, "auto", api_name="/chat")
    _, in_the_chat = chat.predict(FOLLOW_UP, "extractive", 4, "auto", api_name="/chat")
    assert in_the_chat["standalone_question"] == paperchat["standalone_question"]


def test_llama_index_openai_like_talks_to_paperchat(api):
    from llama_index.core.llms import ChatMessage
    from llama_index.llms.openai_like import OpenAILike

    url, _ = api
    llm = OpenAILike(model="extractive", api_base=f"{url}v1", api_key=KEY, is_chat_model=True, max_retries=0,
                     context_window=8192)
    response = llm.chat([ChatMessage(role="user", content=QUESTION)])
    assert f"[arXiv:{CITED}]" in response.message.content
    assert CITED in [c["arxiv_id"] for c in extra(response.raw, "citations")]
    streamed = "".join(part.delta or "" for part in llm.stream_chat([ChatMessage(role="user", content=QUESTION)]))
    assert f"[arXiv:{CITED}]" in streamed


# --- who may call it ---------------------------------------------------------------------------

def test_a_missing_or_wrong_key_is_401_in_openai_s_error_format(api):
    url, _ = api
    source = "127.0.0.4"  # wrong keys count against their client (next test): keep 127.0.0.1's record clean
    with pytest.raises(openai.AuthenticationError, match="missing or wrong API key") as wrong:
        openai_client(url, key="sk-wrong", source=source).chat.completions.create(
            model="extractive", messages=[{"role": "user", "content": QUESTION}])
    assert wrong.value.status_code == 401 and wrong.value.code == "invalid_api_key"
    assert wrong.value.response.headers["WWW-Authenticate"] == "Bearer"
    with pytest.raises(openai.AuthenticationError):
        openai_client(url, key="sk-wrong", source=source).models.list()
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source)) as http:
        missing = http.get(f"{url}v1/models")
    assert missing.status_code == 401 and missing.json()["error"]["type"] == "authentication_error"


def test_wrong_keys_are_throttled_per_client_like_logins(api):
    url, _ = api
    for _ in range(3):
        with pytest.raises(openai.AuthenticationError):
            openai_client(url, key="sk-guess", source="127.0.0.5").models.list()
    with pytest.raises(openai.RateLimitError, match="too many requests without a valid API key") as locked:
        openai_client(url, source="127.0.0.5").models.list()  # the right key, not even checked
    assert 1 <= int(locked.value.response.headers["Retry-After"]) <= 60
    assert openai_client(url).models.list().data  # another client is not affected


def test_with_a_chat_login_and_no_key_the_api_is_closed_with_a_reason(bundled_index, e5):
    settings = Settings(**bundled_index.model_dump(), backend="extractive")
    with running_app(settings, e5, auth="reader:s3cret") as (url, _):
        with pytest.raises(openai.AuthenticationError, match="operator sets PAPERCHAT_API_KEY"):
            openai_client(url, key="anything").chat.completions.create(
                model="extractive", messages=[{"role": "user", "content": QUESTION}])


@pytest.mark.slow
def test_serve_answers_the_api_with_the_key_from_the_environment(cli_env, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**cli_env, "PAPERCHAT_API_KEY": KEY, "PAPERCHAT_AUTH": "reader:s3cret"}
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(BIN / "paperchat"), "serve", "--backend", "extractive", "--port", str(port)],
            env=env, stdout=out, stderr=out)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", proc, timeout=180, log=log)
        url = f"http://127.0.0.1:{port}/"
        answer = openai_client(url).chat.completions.create(
            model="extractive", messages=[{"role": "user", "content": QUESTION}])
        assert f"[arXiv:{CITED}]" in answer.choices[0].message.content
        with pytest.raises(openai.AuthenticationError):
            openai_client(url, key="sk-wrong").models.list()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# --- what a client can send -------------------------------------------------------------------

def post(url: str, body, **headers) -> httpx.Response:
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return httpx.post(f"{url}v1/chat/completions", content=content, timeout=60,
                      headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json", **headers})


def user(text: str = QUESTION) -> list[dict]:
    return [{"role": "user", "content": text}]


@pytest.mark.parametrize("body, status, message", [
    (b"{not json", 400, "not JSON"),
    ({"messages": user()}, 400, "'model' is required"),
    ({"model": "gpt-4o", "messages": user()}, 404, "does not exist here; this server offers extractive"),
    ({"model": "extractive", "messages": []}, 400, "non-empty list"),
    ({"model": "extractive", "messages": user() * 257}, 400, "more than 256"),
    ({"model": "extractive", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
     400, "messages[0].content must be text"),
    ({"model": "extractive", "messages": [{"role": "tool", "content": "x"}]}, 400, "messages[0] must be"),
    ({"model": "extractive", "messages": [*user(), {"role": "assistant", "content": "x"}]}, 400,
     "last message must be the user's question"),
    ({"model": "extractive", "messages": user("???")}, 400, "no words"),
    ({"model": "extractive", "messages": user(), "n": 2}, 400, "'n' must be 1"),
    ({"model": "extractive", "messages": user(), "paperchat": {"top_k": 0}}, 400, "top_k"),
    ({"model": "extractive", "messages": user(), "paperchat": {"filter": 1}}, 400,
     "some of papers, versions, language, top_k"),
    ({"model": "extractive", "messages": user(), "paperchat": {"papers": ["2506.1109"]}}, 400,
     "'2506.1109', which is not an arXiv ID"),
    ({"model": "extractive", "messages": user(), "paperchat": {"papers": ["2506.11091"] * 51}}, 400,
     "1 to 50 arXiv IDs"),
    ({"model": "extractive", "messages": user(), "paperchat": {"papers": ["2506.11091", "2506.99999"]}}, 400,
     "'paperchat.papers': 2506.99999 is not in the collection"),
    ({"model": "extractive", "messages": user(), "paperchat": {"papers": ["2506.11091v2"]}}, 400,
     "'paperchat.papers': 2506.11091v2 is not in the collection"),
    ({"model": "extractive", "messages": user(), "paperchat": {"papers": ["2506.11091"], "versions": "every"}}, 400,
     "'paperchat.versions' must be 'newest' or 'all'"),
])
def test_a_bad_request_is_one_clear_openai_error(api, body, status, message):
    url, _ = api
    response = post(url, body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert message in error["message"] and "\n" not in error["message"]
    assert error["type"] == "invalid_request_error"


def test_the_body_and_each_message_are_bounded(api):
    url, _ = api
    huge = post(url, {"model": "extractive", "messages": user("x" * (MAX_BODY_BYTES + 1))})
    assert huge.status_code == 413 and "larger than 1,048,576 bytes" in huge.json()["error"]["message"]
    chunked = httpx.post(f"{url}v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                         content=iter([b"[" * 65536] * 20))  # no Content-Length: counted as it arrives
    assert chunked.status_code == 413
    long = post(url, {"model": "extractive", "messages": [
        {"role": "user", "content": "语音识别 " * 10_000}, {"role": "assistant", "content": "好。" * 10_000},
        {"role": "user", "content": QUESTION + " " + "reward " * 10_000}]})
    assert long.status_code == 200, long.text
    paperchat = long.json()["paperchat"]
    assert any("was cut" in n for n in paperchat["notices"]) and len(paperchat["standalone_question"]) <= 2000


def test_scoping_to_papers_is_checked_then_passed_on(api):
    """Unscoped, the question is answered from 2506.11091; limited to two other papers it is answered from
    those, and every citation and source stays inside the versions the scope resolved to."""
    url, _ = api
    unscoped = post(url, {"model": "extractive", "messages": user()}).json()["paperchat"]
    assert CITED in [c["arxiv_id"] for c in unscoped["citations"]]

    response = post(url, {"model": "extractive", "messages": user(),
                          "paperchat": {"papers": ["2506.22846", "arXiv:2505.21138v2"]}})
    assert response.status_code == 200, response.text
    paperchat = response.json()["paperchat"]
    assert paperchat["scope"] == ["2506.22846v1", "2505.21138v2"]
    assert not paperchat["abstained"] and paperchat["citations"]
    assert {c["arxiv_id"] for c in paperchat["citations"]} <= set(paperchat["scope"])
    assert {c for s in paperchat["sentences"] for c in s["citations"]} <= set(paperchat["scope"])
    assert {s["arxiv_id"] for s in paperchat["sources"]} <= set(paperchat["scope"])
    assert {c["arxiv_id"] for c in response.json()["citations"]} <= set(paperchat["scope"])

    chunks = list(openai_client(url).chat.completions.create(
        model="extractive", messages=[{"role": "user", "content": "What changed between the versions of CASPER?"}],
        stream=True, extra_body={"paperchat": {"papers": ["2506.00267"], "versions": "all"}}))
    first, last = extra(chunks[0], "paperchat"), extra(chunks[-1], "paperchat")
    assert last["scope"] == ["2506.00267v1", "2506.00267v2", "2506.00267v3"]
    assert {s["arxiv_id"] for s in first["sources"]} == set(last["scope"])
    assert {c["arxiv_id"] for c in last["citations"]} <= set(last["scope"]) and last["citations"]


def test_scope_arguments_normalise_the_ids_and_check_them_against_the_collection(api):
    _, service = api
    resolve = service.assistant("extractive").scope
    assert scope_arguments(None, "newest", resolve) == {}
    assert scope_arguments(["2506.11091", "arXiv:2505.21138v2", "2506.11091"], "all", resolve) == \
        {"papers": ["2506.11091", "2505.21138v2"], "versions": "all"}
    with pytest.raises(ApiError, match="'2506.9', which is not an arXiv ID"):
        scope_arguments(["2506.9"], "newest", resolve)
    with pytest.raises(ApiError, match="^'paperchat.papers': 2506.99999 is not in the collection"):
        scope_arguments(["2506.99999"], "newest", resolve)


def test_the_chat_endpoint_takes_a_scope_checked_as_the_openai_api_checks_it(api):
    """gradio_client's ``/chat`` with ``papers``: answered only from those papers, as ``paperchat.papers`` is; a wrong
    ID is one line of error before any answer."""
    url, _ = api
    chat = Client(url, verbose=False)
    _, answer = chat.predict(QUESTION, "extractive", 4, "auto", ["2506.22846", "arXiv:2505.21138v2"], api_name="/chat")
    assert answer["scope"] == ["2506.22846v1", "2505.21138v2"]
    assert answer["citations"] and {c["arxiv_id"] for c in answer["citations"]} <= set(answer["scope"])
    assert {s["arxiv_id"] for s in answer["sources"]} <= set(answer["scope"])
    # A follow-up stays in the scope it is given; one string of IDs, as --papers takes, and all versions.
    _, casper = chat.predict("What changed between the versions of CASPER?", papers="2506.00267", versions="all",
                             api_name="/chat")
    assert casper["scope"] == ["2506.00267v1", "2506.00267v2", "2506.00267v3"]
    assert {s["arxiv_id"] for s in casper["sources"]} == set(casper["scope"])

    for papers, versions, message in (
            (["2506.11091", "2506.99999"], "newest",
             "'papers': 2506.99999 is not in the collection: `paperchat search` lists what is there"),
            (["2506.1109"], "newest", "'papers' holds '2506.1109', which is not an arXiv ID"),
            (["2506.11091"] * 51, "newest", "'papers' must be a list of 1 to 50 arXiv IDs"),
            (["2506.11091"], "every", "'versions' must be 'newest' or 'all'")):
        with pytest.raises(AppError) as refused:
            chat.predict(QUESTION, papers=papers, versions=versions, api_name="/chat")
        assert str(refused.value).startswith(message) and "\n" not in str(refused.value), refused.value


# --- admission: a full server says so, in the chat and through the API ------------------------

@pytest.fixture
def gated(monkeypatch):
    """A backend whose answers wait at a gate; registered for one test."""
    llm = GatedLLM(reply=f"Held answer [arXiv:{CITED}].")
    monkeypatch.setattr("assistant.backends._REGISTRY", dict(registered_backends()))  # undone after the test
    register_backend("gated", lambda settings: llm, lambda settings: "in the test", "waits at a gate")
    yield llm
    llm.open()


@pytest.fixture
def tight_settings(bundled_index, gated):
    """Room for 2 answers at once, 1 waiting, 2 per client; the gated backend offered."""
    return Settings(**bundled_index.model_dump(), backend="extractive", backends=["extractive", "gated"],
                    answers_at_once=2, queue_size=1, answers_per_client=2)


def await_condition(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_full_server_says_busy_in_the_chat_and_answers_429_on_the_api(tight_settings, e5, gated):
    with running_app(tight_settings, e5) as (url, service):
        streams: dict[str, list] = {}

        def hold(name: str, source: str) -> None:
            stream = openai_client(url, key="any", source=source).chat.completions.create(
                model="gated", messages=user(), stream=True)
            streams[name] = list(stream)

        holders = [threading.Thread(target=hold, args=(n, "127.0.0.2")) for n in ("a1", "a2")]
        try:
            for thread in holders:
                thread.start()
            assert gated.wait_for_held(2), "two answers should be writing"

            # One client may not take every slot: its third question is refused while the server has room.
            with pytest.raises(openai.RateLimitError, match="Busy: 2 of your questions") as mine:
                openai_client(url, key="any", source="127.0.0.2").chat.completions.create(model="gated",
                                                                                           messages=user())
            assert mine.value.code == "server_busy"

            # A chat question from another client waits for a slot, and is told how many are ahead.
            waiting = Client(url, verbose=False).submit(QUESTION, "gated", 4, "auto", api_name="/chat")
            await_condition(lambda: any("Waiting: 2 questions ahead of yours" in json.dumps(o[0], ensure_ascii=False)
                                        for o in waiting.outputs()), "the waiting message")
            assert service.admission.held == 3

            with pytest.raises(openai.RateLimitError, match="Busy: 3 questions ahead of you") as full:
                openai_client(url, key="any", source="127.0.0.3").chat.completions.create(model="extractive",
                                                                                           messages=user())
            assert full.value.status_code == 429 and int(full.value.response.headers["Retry-After"]) >= 1
            assert full.value.body["type"] == "rate_limit_error"

            # The chat says it in the user's language instead of Gradio's "Queue is full" popup.
            for question, expected in ((QUESTION, "Busy: 3 questions ahead of you, try again in a moment."),
                                       ("哪篇论文把口吃现象作为显式标记转录出来？", "服务繁忙：前面还有 3 个问题，请稍后再试。")):
                messages, answer = Client(url, verbose=False).predict(question, "extractive", 4, "auto",
                                                                      api_name="/chat")
                assert expected in messages[-1]["content"] and answer["busy"]
        finally:
            gated.open()
            for thread in holders:
                thread.join(timeout=60)

        for name in ("a1", "a2"):
            assert streams[name][-1].choices[0].finish_reason == "stop", name
        _, answer = waiting.result()
        assert answer["answer"] and "error" not in answer
        await_condition(lambda: service.admission.held == 0, "every slot to be free")
        done = openai_client(url, key="any").chat.completions.create(model="extractive", messages=user())
        assert f"[arXiv:{CITED}]" in done.choices[0].message.content


def test_the_load_benchmark_counts_waiting_busy_and_failed_questions_as_the_server_says_them(bundled_index, e5,
                                                                                             gated):
    from bench.load import Conversation, run_turn

    def unreachable(settings):
        raise UserError("cannot reach the model server http://127.0.0.1:9/v1")

    register_backend("unreachable", unreachable, lambda settings: "nowhere", "a model server that is down")
    settings = Settings(**bundled_index.model_dump(), backend="extractive",
                        backends=["extractive", "gated", "unreachable"], answers_at_once=1, queue_size=1)
    with running_app(settings, e5) as (url, service):
        holder = threading.Thread(target=lambda: list(openai_client(url, key="any", source="127.0.0.2")
                                                      .chat.completions.create(model="gated", messages=user(),
                                                                               stream=True)))
        waited, seen = Conversation(), Conversation()
        waiter = threading.Thread(target=run_turn, args=(Client(url, verbose=False), QUESTION, "extractive", waited))
        try:
            holder.start()
            assert gated.wait_for_held(1), "the only slot should be taken"
            waiter.start()
            await_condition(lambda: service.admission.held == 2, "a question to wait")
            assert run_turn(Client(url, verbose=False), QUESTION, "extractive", seen) is None
        finally:
            gated.open()
            holder.join(timeout=60)
            waiter.join(timeout=60)
        assert seen.turned_away == ["Busy: 2 questions ahead of you, try again in a moment."]
        assert (seen.errors, seen.turns_ms) == ([], [])
        assert (waited.max_queued, len(waited.turns_ms), waited.errors, waited.turned_away) == (1, 1, [], [])

        await_condition(lambda: service.admission.held == 0, "the slot to be free")
        failed = run_turn(Client(url, verbose=False), QUESTION, "unreachable", seen)
        assert seen.errors == [failed["error"]] and "cannot reach the model server" in failed["error"]
        assert len(seen.turned_away) == 1


def test_a_question_stopped_while_it_waits_frees_its_place(tight_settings, e5, gated):
    with running_app(tight_settings, e5) as (url, service):
        holders = [threading.Thread(target=lambda: list(openai_client(url, key="any", source="127.0.0.2")
                                                        .chat.completions.create(model="gated", messages=user(),
                                                                                 stream=True))) for _ in range(2)]
        try:
            for thread in holders:
                thread.start()
            assert gated.wait_for_held(2)
            waiting = Client(url, verbose=False).submit(QUESTION, "extractive", 4, "auto", api_name="/chat")
            await_condition(lambda: service.admission.held == 3, "the third question to wait")
            waiting.cancel()  # what the chat's stop button does
            await_condition(lambda: service.admission.held == 2, "the stopped question to leave")
        finally:
            gated.open()
            for thread in holders:
                thread.join(timeout=60)
        await_condition(lambda: service.admission.held == 0, "every slot to be free")


def test_admission_runs_in_order_waits_in_a_bounded_queue_and_caps_each_client():
    async def scenario():
        admission = Admission(answers_at_once=1, queue_size=2, per_client=2)
        first = admission.enter("a")
        second = admission.enter("b")
        third = admission.enter("a")
        assert [first.running, second.running, third.running] == [True, False, False]
        assert [admission.ahead_of(t) for t in (first, second, third)] == [0, 1, 2]
        with pytest.raises(Busy) as full:
            admission.enter("c")
        assert (full.value.ahead, full.value.per_client) == (3, False)

        seen = []

        async def wait(ticket):
            async for ahead in admission.turn(ticket):
                seen.append(ahead)

        waiter = asyncio.create_task(wait(third))
        await asyncio.sleep(0)
        admission.leave(first)
        await asyncio.sleep(0)
        assert second.running and not third.running
        with pytest.raises(Busy) as mine:  # "a" holds one waiting question and may hold two
            admission.enter("a"), admission.enter("a")
        assert mine.value.per_client and mine.value.message("zh").startswith("您还有 2 个问题")
        admission.leave(second)
        await asyncio.wait_for(waiter, 5)
        assert third.running and seen == [2, 1]
        admission.leave(third)
        admission.leave(third)  # twice is harmless
        assert admission.held == 1  # the question "a" was let in above
        return True

    assert asyncio.run(scenario())
