"""What the chat UI needs from the library, one object per server: :class:`ChatService`.

It keeps an assistant per backend (sharing the index and the embedder), the papers, the
recent answers (so a thumbs up/down records what was rated) and the feedback log, and
turns the events of :meth:`Assistant.stream` into chat messages (:meth:`ChatService.respond`).

Abuse: users get only the backends the operator offers (``Settings.backends``); feedback
comments are bounded; error messages and logs never show the credentials of a URL.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator

import gradio as gr
from starlette.concurrency import iterate_in_threadpool

from assistant.answer import Answer, AnswerDone, SourcesReady, TextDelta
from assistant.scope import Scope, Versions, resolve_scope
from assistant.backends import backend_names
from assistant.engine import Assistant
from index.corpus import detect_language
from index.embedders import load_embedder
from index.errors import UserError
from index.ingest import require_index
from index.redact import redact
from index.store import PaperStore, open_store
from ui.admission import WAITING, Admission, Busy
from ui.display import answer_markdown, engine_history, message_text
from ui.feedback import FeedbackLog
from ui.papers import PaperEntry, find_papers, list_papers, paper_sections
from ui.conversations import ConversationStore
from ui.render import (cited_evidence, error_markdown, final_markdown, sources_html, sources_title,
                       waiting_markdown)
from ui.settings import Settings


class _RedactingFilter(logging.Filter):
    """Log records (message and traceback) without the credentials of any URL in them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip())
            record.exc_info = None
        return True


log = logging.getLogger(__name__)
log.addFilter(_RedactingFilter())

RECENT_ANSWERS = 2000
"""Answers kept in memory so a thumbs up/down can record what was rated."""


def offered_backends(settings: Settings) -> list[str]:
    """The backends users may choose: ``settings.backends``, else only ``settings.backend``."""
    offered = list(dict.fromkeys(settings.backends or [settings.backend]))
    unknown = [b for b in offered if b not in backend_names()]
    if unknown:
        raise UserError(f"unknown backend {unknown[0]!r} in --backends; choose among {', '.join(backend_names())}")
    if settings.backend not in offered:
        raise UserError(f"the default backend {settings.backend!r} is not among --backends ({', '.join(offered)}); "
                        "add it, or choose another with --backend")
    return offered


class _GenerationCounter:
    """Answers between "sources shown" and "answer done" on the local model, to tell users they wait."""

    def __init__(self):
        self._lock = threading.Lock()
        self.active = 0

    def enter(self) -> int:
        """Count one more; returns how many were already generating."""
        with self._lock:
            self.active += 1
            return self.active - 1

    def leave(self) -> None:
        with self._lock:
            self.active -= 1


class ChatService:
    """What the UI needs from the library: assistants per backend (sharing the index and the
    embedder), the papers, recent answers and the feedback log."""

    def __init__(self, settings: Settings, store: PaperStore | None = None, embed_model=None):
        self.settings = settings
        self.store = store or open_store(settings)
        require_index(self.store)
        self.embed_model = embed_model or load_embedder(settings)
        self.feedback = FeedbackLog(settings.feedback_path)
        self.conversations = ConversationStore.in_data_dir(settings.data_dir)
        """Saved conversations, per user (ui/history.py shows them in the chat)."""
        self._assistants: dict[str, Assistant] = {}
        self._assistants_lock = threading.Lock()
        self._answers: OrderedDict[str, dict] = OrderedDict()
        self._answers_lock = threading.Lock()
        self._local_generations = _GenerationCounter()
        self.admission = Admission(settings.answers_at_once, settings.queue_size, settings.answers_per_client)
        """The count of questions answered and waiting, shared by the chat and the OpenAI-compatible API."""
        self.backends = offered_backends(settings)
        default = self.assistant(settings.backend)  # a broken default backend fails at start-up, not on first use
        self._retriever = default.retriever
        self.papers = list_papers(self._retriever)
        self.versions = sum(len(p.versions) for p in self.papers)

    def assistant(self, backend: str) -> Assistant:
        """The assistant for ``backend``, created on first use; only the backends the operator offers."""
        if backend not in self.backends:
            raise UserError(f"the backend {str(backend)[:20]!r} is not offered here; choose one of "
                            f"{', '.join(self.backends)}")
        with self._assistants_lock:
            if backend not in self._assistants:
                self._assistants[backend] = Assistant(self.settings.model_copy(update={"backend": backend}),
                                                      store=self.store, embed_model=self.embed_model)
            return self._assistants[backend]

    def paper(self, base_id: str) -> PaperEntry | None:
        return next((p for p in self.papers if p.base_id == base_id), None)

    def scope(self, papers: list[str], versions: Versions = "newest") -> Scope:
        """The versions ``papers`` name in the collection (assistant/scope.py); a ScopeError says what is wrong."""
        return resolve_scope(papers, self._retriever.versions_of, versions)

    def find_papers(self, query: str) -> list[PaperEntry]:
        """The papers whose IDs, title or summary hold every word of ``query``; all of them for no words."""
        return find_papers(self._retriever, self.papers, query)

    def paper_sections(self, paper: PaperEntry) -> dict[str, list[tuple[str, str]]]:
        """Each version's (section, text) pieces, read when the paper is opened."""
        return paper_sections(self._retriever, paper)

    # The chat -------------------------------------------------------------

    def respond(self, message: str, history: list[dict], backend: str | None = None, top_k: float | None = None,
                language: str | None = None, papers: list[str] | None = None, versions: Versions = "newest"
                ) -> Iterator[tuple[list[gr.ChatMessage], dict | object]]:
        """Answer ``message`` in the conversation ``history``; yields (messages, answer JSON) as it goes.

        ``papers`` (arXiv IDs, base or versioned) limits the answer to those papers, ``versions`` says what a base
        ID means (assistant/scope.py); None or empty: the whole collection.
        Never raises: a failing backend or a scope naming a paper not here becomes a readable message in the chat.
        """
        backend = backend or self.settings.backend
        top_k = int(top_k or self.settings.top_k)
        language = language if language in ("en", "zh") else "auto"
        answer_id = uuid.uuid4().hex[:12]
        started = time.perf_counter()
        messages: list[gr.ChatMessage] = []
        panel: gr.ChatMessage | None = None
        counted = False
        try:
            assistant = self.assistant(backend)
            streamed = ""
            for event in assistant.stream(message, engine_history(history), None if language == "auto" else language,
                                          top_k=top_k, papers=list(papers) if papers else None, versions=versions):
                if isinstance(event, SourcesReady):
                    if event.sources:
                        panel = gr.ChatMessage(content=sources_html(event.sources, None, answer_id),
                                               metadata={"title": sources_title(event.sources), "status": "pending",
                                                         "duration": round(time.perf_counter() - started, 1)})
                        messages = [panel]
                    waiting = ""
                    if backend == "local" and event.sources:
                        ahead = self._local_generations.enter()
                        counted = True
                        if ahead:
                            waiting = (f"Waiting for the model: {ahead} answer{'s' if ahead != 1 else ''} "
                                       "ahead of yours (it writes one at a time)…")
                    yield messages + [gr.ChatMessage(content=waiting_markdown(waiting or "Writing the answer…"))], gr.skip()
                elif isinstance(event, TextDelta):
                    streamed += event.text
                    yield messages + [gr.ChatMessage(content=answer_markdown(streamed))], gr.skip()
                elif isinstance(event, AnswerDone):
                    answer = event.answer
                    if panel is not None:
                        panel = gr.ChatMessage(content=sources_html(answer.sources, cited_evidence(answer), answer_id),
                                               metadata={"title": sources_title(answer.sources), "status": "done",
                                                         "duration": panel.metadata["duration"]})
                        messages = [panel]
                    shown = final_markdown(answer, answer_id)
                    record = self._remember(answer_id, answer, shown, backend, top_k, language)
                    yield (messages + [gr.ChatMessage(content=shown, metadata={"id": answer_id})],
                           {"answer_id": answer_id, **answer.as_json(), "settings": record["settings"]})
        except Exception as exc:  # the chat must stay usable whatever a backend raises
            if isinstance(exc, UserError):
                text = redact(str(exc))
            else:
                log.exception("answering %r failed", message[:200])
                text = redact(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no message'}")
            if panel is not None:  # the sources stay, no longer marked as in progress
                messages = [gr.ChatMessage(content=panel.content, metadata={**panel.metadata, "status": "done"})]
            yield messages + [gr.ChatMessage(content=error_markdown(text))], {"error": text}
        finally:
            if counted:
                self._local_generations.leave()

    async def respond_admitted(self, client: str, message: str, history: list[dict], backend: str | None = None,
                               top_k: float | None = None, language: str | None = None,
                               papers: list[str] | None = None, versions: Versions = "newest"
                               ) -> AsyncIterator[tuple[list[gr.ChatMessage], dict | object]]:
        """:meth:`respond` once :attr:`admission` lets ``client``'s question in; until then the chat says how many
        questions are ahead, and when there is no room it says so (in the user's language) instead of answering."""
        shown_language = language if language in ("en", "zh") else detect_language(message)
        try:
            ticket = self.admission.enter(client)
        except Busy as busy:
            text = busy.message(shown_language)
            yield [gr.ChatMessage(content=waiting_markdown(text))], {"error": text, "busy": True}
            return
        try:
            async for ahead in self.admission.turn(ticket):
                if ahead:
                    text = WAITING[shown_language].format(ahead=ahead, s="s" if ahead != 1 else "")
                    yield [gr.ChatMessage(content=waiting_markdown(text))], gr.skip()
            async for update in iterate_in_threadpool(self.respond(message, history, backend, top_k, language,
                                                                   papers, versions)):
                yield update
        finally:
            self.admission.leave(ticket)

    def _remember(self, answer_id: str, answer: Answer, shown: str, backend: str, top_k: int, language: str) -> dict:
        record = {
            "answer_id": answer_id,
            "question": answer.question,
            "answer": answer.text,
            "abstained": answer.abstained,
            "citations": [{"arxiv_id": c.arxiv_id, "supported": c.supported} for c in answer.citations],
            "grounding": {"supported_sentences": answer.supported_sentences, "sentences": len(answer.sentences)},
            "settings": {"backend": backend, "top_k": top_k, "language": language},
            "shown": shown,
        }
        with self._answers_lock:
            self._answers[answer_id] = record
            while len(self._answers) > RECENT_ANSWERS:
                self._answers.popitem(last=False)
        return record

    # Feedback ---------------------------------------------------------------

    def record_feedback(self, answer_id: str, verdict: str, comment: str = "") -> dict:
        """Append one feedback event for a recent answer; ``verdict`` is ``up`` or ``down``."""
        if verdict not in ("up", "down"):
            raise UserError(f"feedback must be 'up' or 'down', not {str(verdict)[:20]!r}")
        if len(comment) > self.settings.max_comment_chars:
            raise UserError(f"the comment has {len(comment):,} characters; shorten it to "
                            f"{self.settings.max_comment_chars:,} at most")
        with self._answers_lock:
            record = self._answers.get(answer_id)
        if record is None:
            raise UserError("that answer is no longer known to the server: ask again, then rate the new answer")
        event = {k: v for k, v in record.items() if k != "shown"}
        return self.feedback.append({"event": "comment" if comment.strip() else "rating", "verdict": verdict,
                                     "comment": comment.strip() or None, **event})

    def answer_id_at(self, history: list[dict], index) -> str | None:
        """The answer ID of the chat message at ``index`` (a like event's index)."""
        index = index[0] if isinstance(index, (list, tuple)) else index
        if not isinstance(index, int) or not 0 <= index < len(history):
            return None
        # A like on the sources panel rates the answer after it.
        for message in history[index:]:
            if message.get("role") == "user":
                break
            answer_id = (message.get("metadata") or {}).get("id")
            if answer_id:
                return answer_id
        content = message_text(history[index])
        with self._answers_lock:
            return next((i for i, r in reversed(self._answers.items()) if r["shown"] == content), None)
