"""The OpenAI-compatible API, on the chat's port: ``GET /v1/models`` and ``POST /v1/chat/completions``.

Clients that already speak OpenAI's chat API (the ``openai`` package, llama-index's ``OpenAILike``,
LangChain, curl) get paperchat's answers without a line of paperchat-specific code:

    models       the backends the operator offers (``--backends``), each a model; ``model`` picks one
    messages     the last one is the question; the earlier user and assistant messages are the
                 conversation a follow-up is read with, exactly as the chat reads its own (the engine
                 keeps the latest ``max_history_messages``, each cut to ``max_question_chars``);
                 system messages are ignored (the answer engine has its own prompt)
    answer       ``choices[0].message.content`` with ``[arXiv:ID]`` citations, plus a top-level
                 ``citations`` list (versioned ID, arxiv.org URL, title; as search-augmented chat APIs
                 add one) and a ``paperchat`` object: what ``paperchat ask --json`` prints
    streaming    a first chunk whose ``paperchat`` holds the sources, before any text; the text as it
                 is written; a last chunk with ``finish_reason``, ``citations`` and the whole
                 ``paperchat`` object (its ``answer`` is the verified text: when it differs from what
                 streamed, show it instead, as the chat does); then ``data: [DONE]``
    options      ``extra_body={"paperchat": {"papers": [...], "versions": "all", "language": "en", "top_k": 4}}``;
                 ``papers`` limits the answer to those papers as ``paperchat ask --papers`` does (a base ID
                 means its newest version, or every version with ``"versions": "all"``; a versioned ID that
                 version), and an ID not in the collection is a 400; other OpenAI parameters (temperature,
                 max_tokens, ...) are the server's to set

Who may call it: with ``PAPERCHAT_API_KEY`` set, requests carry it as a bearer token; without it the
API is open only when the chat is (no ``--auth``). Wrong keys are throttled per client like logins
(:class:`ApiKeyThrottle`), every size a client controls is bounded, and every question goes through
the chat's admission count (HTTP 429 with ``Retry-After`` when it is full). Errors are OpenAI's error
object with one clear message.
"""

from __future__ import annotations

import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from pydantic import SecretStr
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from assistant import prompts
from assistant.answer import Answer, AnswerDone, SourcesReady, TextDelta
from assistant.backends import get_backend
from assistant.scope import VERSION_CHOICES, Scope, ScopeError, requested_papers
from index.errors import UserError
from index.redact import redact
from ui.access import LoginThrottle
from ui.admission import Busy
from ui.service import ChatService, log

MAX_BODY_BYTES = 1_048_576
"""Largest request body: the engine reads at most ``max_history_messages`` messages of ``max_question_chars``
each, so anything near this is not a conversation."""
MAX_MESSAGES = 256
MAX_TOP_K = 10
"""As the chat's "Number of sources" slider."""
OPTIONS = ("papers", "versions", "language", "top_k")


class ApiError(Exception):
    """A request refused with OpenAI's error object: ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.kind, self.param, self.code = status, message, kind, param, code
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


@dataclass
class CompletionRequest:
    model: str
    question: str
    history: list[dict]
    stream: bool
    language: str | None
    top_k: int | None
    papers: object
    """As the client sent it (or None): :func:`scope_arguments` checks it."""
    versions: str = "newest"
    """What a base ID of ``papers`` means: its ``newest`` version or ``all`` of them."""


def parse_request(body: object, offered: list[str]) -> CompletionRequest:
    """The chat-completion request in ``body``; raises :class:`ApiError` naming the first thing wrong."""
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, f"'model' is required: one of {', '.join(offered)}", param="model")
    if model not in offered:
        raise ApiError(404, f"the model {model[:40]!r} does not exist here; this server offers {', '.join(offered)}",
                       param="model", code="model_not_found")
    if body.get("n", 1) != 1:
        raise ApiError(400, "'n' must be 1: paperchat writes one answer per question", param="n")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "'messages' must be a non-empty list of {role, content} messages", param="messages")
    if len(messages) > MAX_MESSAGES:
        raise ApiError(400, f"'messages' has {len(messages)} messages, more than {MAX_MESSAGES}; send the latest only",
                       param="messages")
    conversation = [_message(m, i) for i, m in enumerate(messages)]
    conversation = [m for m in conversation if m["role"] in ("user", "assistant")]
    if not conversation or conversation[-1]["role"] != "user":
        raise ApiError(400, "the last message must be the user's question", param="messages")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError(400, "'stream' must be true or false", param="stream")
    options = body.get("paperchat") or {}
    if not isinstance(options, dict) or set(options) - set(OPTIONS):
        raise ApiError(400, f"'paperchat' must be an object with some of {', '.join(OPTIONS)}", param="paperchat")
    language = options.get("language", "auto")
    if language not in ("auto", "en", "zh"):
        raise ApiError(400, "'paperchat.language' must be 'auto', 'en' or 'zh'", param="paperchat.language")
    top_k = options.get("top_k")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K):
        raise ApiError(400, f"'paperchat.top_k' must be a whole number from 1 to {MAX_TOP_K}", param="paperchat.top_k")
    versions = options.get("versions", "newest")
    if versions not in VERSION_CHOICES:
        raise ApiError(400, f"'paperchat.versions' must be {' or '.join(map(repr, VERSION_CHOICES))}",
                       param="paperchat.versions")
    return CompletionRequest(model, conversation[-1]["content"], conversation[:-1], stream,
                             None if language == "auto" else language, top_k, options.get("papers"), versions)


def _message(message: object, index: int) -> dict:
    where = f"messages[{index}]"
    if not isinstance(message, dict) or message.get("role") not in ("system", "developer", "user", "assistant"):
        raise ApiError(400, f"{where} must be a {{role, content}} message with role system, user or assistant",
                       param=where)
    content = message.get("content")
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text"
                                         and isinstance(p.get("text"), str) for p in content):
        content = "".join(p["text"] for p in content)
    if content is None and message["role"] == "assistant":
        content = ""
    if not isinstance(content, str):
        raise ApiError(400, f"{where}.content must be text (a string, or a list of text parts)", param=where)
    return {"role": message["role"], "content": content}


def scope_arguments(papers: object, versions: str, resolve: Callable[[list[str], str], Scope]) -> dict:
    """The keyword arguments that narrow ``Assistant.stream`` to ``papers``, or none when ``papers`` is None.

    Args:
        papers: the request's ``paperchat.papers``: a list of arXiv IDs (``arXiv:`` prefix allowed), checked
            here (:func:`assistant.scope.requested_papers`, as the chat's ``/chat`` does) so that a wrong one is
            a 400 naming it before any answer starts.
        versions: what a base ID means (``newest`` or ``all``), as ``paperchat ask --versions``.
        resolve: ``Assistant.scope``, which checks the IDs against the collection.
    """
    if papers is None:
        return {}
    try:
        ids = requested_papers(papers, versions, resolve, "paperchat.papers", "paperchat.versions")
    except ScopeError as exc:
        raise ApiError(400, str(exc), param="paperchat.papers") from None
    return {"papers": ids, "versions": versions}


def citations_of(answer: Answer) -> list[dict]:
    """The papers the answer cites, in the order first cited: versioned ID, arxiv.org URL, title."""
    titles = {s.arxiv_id: s.title for s in answer.sources}
    return [{"arxiv_id": c.arxiv_id, "url": c.url, "title": titles.get(c.arxiv_id, "")} for c in answer.citations]


class ApiKeyThrottle(LoginThrottle):
    """The login throttle in front of ``/v1/``: a client that sends ``failures`` requests in a row without a
    valid key waits, as one that types wrong passwords does."""

    FAILED = (401,)

    def guards(self, scope) -> bool:
        return scope["path"].startswith("/v1/")

    def refusal(self, seconds: str) -> Response:
        return ApiError(429, f"too many requests without a valid API key: try again in {seconds} s",
                        "rate_limit_error", code="rate_limit_exceeded", headers={"Retry-After": seconds}).response()


class _ReleasedAfter:
    """An ASGI response that runs ``release`` once it is sent, cut off or never started."""

    def __init__(self, response: Response, release: Callable[[], None]):
        self.response, self.release = response, release

    async def __call__(self, scope, receive, send):
        try:
            await self.response(scope, receive, send)
        finally:
            self.release()


class OpenAIApi:
    """The routes of the API over ``service`` (see the module docstring)."""

    def __init__(self, service: ChatService, api_key: SecretStr | None, login_required: bool):
        self.service = service
        key = api_key.get_secret_value() if api_key is not None else ""
        self.api_key = key.encode() if key else None
        self.login_required = login_required
        self.started = int(time.time())

    @property
    def routes(self) -> list[Route]:
        return [Route("/v1/models", self.models, methods=["GET"]),
                Route("/v1/chat/completions", self.chat_completions, methods=["POST"])]

    def authorize(self, request: Request) -> None:
        if self.api_key is None:
            if self.login_required:
                raise ApiError(401, "the chat has a login, so its API is closed until the operator sets "
                                    "PAPERCHAT_API_KEY (then send it as 'Authorization: Bearer <key>')",
                               "authentication_error", code="api_key_not_configured")
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), self.api_key):
            raise ApiError(401, "missing or wrong API key: send it as 'Authorization: Bearer <key>'",
                           "authentication_error", code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})

    async def models(self, request: Request) -> Response:
        try:
            self.authorize(request)
        except ApiError as exc:
            return exc.response()
        return JSONResponse({"object": "list", "data": [
            {"id": name, "object": "model", "created": self.started, "owned_by": "paperchat",
             "description": get_backend(name).description} for name in self.service.backends]})

    async def chat_completions(self, request: Request) -> Response:
        admission = self.service.admission
        try:
            self.authorize(request)
            req = parse_request(await _read_json(request), self.service.backends)
            assistant = await run_in_threadpool(self.service.assistant, req.model)  # the first use loads a model
            scope = await run_in_threadpool(scope_arguments, req.papers, req.versions, assistant.scope)
            ticket = admission.enter(request.client.host if request.client else "unknown")
        except Busy as busy:
            return ApiError(429, busy.message(), "rate_limit_error", code="server_busy",
                            headers={"Retry-After": str(busy.retry_after)}).response()
        except ApiError as exc:
            return exc.response()
        except Exception as exc:  # the backend's model could not be loaded
            return _failure(exc).response()
        released = False
        try:
            async for _ in admission.turn(ticket):
                pass
            events = iterate_in_threadpool(assistant.stream(req.question, req.history, req.language, req.top_k,
                                                            **scope))
            first = await anext(events)  # retrieval: a question the engine refuses is still an HTTP error
            completion = _Completion(req.model)
            if req.stream:
                released = True
                return _ReleasedAfter(StreamingResponse(completion.chunks(first, events), media_type="text/event-stream",
                                                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}),
                                      lambda: admission.leave(ticket))
            async for event in events:
                if isinstance(event, AnswerDone):
                    return JSONResponse(completion.whole(event.answer))
            raise AssertionError("the answer stream ended without an answer")
        except Exception as exc:
            return _failure(exc).response()
        finally:
            if not released:
                admission.leave(ticket)


class _Completion:
    """One answer in OpenAI's shapes: a ``chat.completion`` or its ``chat.completion.chunk`` events."""

    def __init__(self, model: str):
        self.model = model
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())

    def whole(self, answer: Answer) -> dict:
        return {"id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text},
                             "finish_reason": "stop", "logprobs": None}],
                "citations": citations_of(answer), "paperchat": answer.as_json()}

    def chunk(self, delta: dict, finish_reason: str | None = None, **extra) -> str:
        body = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}], **extra}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    async def chunks(self, first: SourcesReady, events: AsyncIterator) -> AsyncIterator[str]:
        yield self.chunk({"role": "assistant", "content": ""},
                         paperchat={"sources": [s.as_dict() for s in first.sources]})
        streamed = ""
        try:
            async for event in events:
                if isinstance(event, TextDelta) and event.text:
                    streamed += event.text
                    yield self.chunk({"content": event.text})
                elif isinstance(event, AnswerDone):
                    answer = event.answer
                    # The verified text usually extends what streamed (an abstention adds the closest papers);
                    # that rest is sent as text. A rewritten draft is in paperchat.answer only.
                    shown = streamed.rstrip()
                    rest = answer.text[len(shown):] if answer.text.startswith(shown) else ""
                    yield self.chunk({"content": rest} if rest else {}, "stop", citations=citations_of(answer),
                                     paperchat=answer.as_json())
            yield "data: [DONE]\n\n"
        except Exception as exc:  # the status is sent already: the error is an event, as OpenAI's servers do
            yield f"data: {json.dumps(_failure(exc).body(), ensure_ascii=False)}\n\n"


def _failure(exc: Exception) -> ApiError:
    """What a client is told when answering failed: its question's fault (400), the backend's (502), ours (500)."""
    if isinstance(exc, UserError) and str(exc) in (prompts.EMPTY_QUESTION, prompts.NO_WORDS):
        return ApiError(400, str(exc), param="messages")
    if isinstance(exc, UserError):
        return ApiError(502, redact(str(exc)), "api_error", code="backend_failed")
    log.exception("an API answer failed")
    first_line = str(exc).splitlines()[0] if str(exc) else "no message"
    return ApiError(500, redact(f"{type(exc).__name__}: {first_line}"), "api_error")


async def _read_json(request: Request) -> object:
    """The body as JSON, read no further than :data:`MAX_BODY_BYTES`."""
    too_big = ApiError(413, f"the request body is larger than {MAX_BODY_BYTES:,} bytes; send fewer or shorter messages")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_big
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > MAX_BODY_BYTES:
            raise too_big
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise ApiError(400, "the request body is not JSON") from None
