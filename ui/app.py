"""The chat UI (``paperchat serve``): a Gradio app over the answer engine.

    Chat tab    ChatInterface → ChatService.respond: the events of Assistant.stream become
                chat messages: a collapsible "Sources" message as soon as retrieval is done,
                the answer as it streams, then the verified answer with linked citations and
                how many of its sentences are supported. Thumbs up/down (+ a comment) go to
                the feedback log.
    Papers tab  the collection as the index holds it, a filter box, one paper's summary.

The same chat is the ``/chat`` API endpoint (``gradio_client``); it returns the
messages and the answer as ``paperchat ask --json`` prints it, plus an ``answer_id``
that ``/feedback`` takes.

Safety: everything shown that comes from the corpus, the model or a user is text.
It goes through :func:`to_display` (control characters removed, HTML escaped,
markdown link and image syntax broken) both in the HTML built here and in chat
markdown, and the only links added back are ``https://arxiv.org/abs/<versioned id>``.
Gradio's own sanitizer stays on behind that.

Abuse: users get only the backends the operator offers (``Settings.backends``);
a client that fails ``Settings.login_failures`` logins in a row waits
(:class:`LoginThrottle`); uploads and feedback comments are bounded; error
messages and logs never show the credentials of a URL.
"""

from __future__ import annotations

import html
import ipaddress
import logging
import math
import re
import stat
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
from pydantic import SecretStr
from starlette.middleware import Middleware
from starlette.responses import JSONResponse

from assistant.answer import Answer, AnswerDone, Source, SourcesReady, TextDelta
from assistant.backends import backend_names, get_backend
from assistant.citations import strip_citations
from assistant.engine import Assistant
from assistant.prompts import UNSUPPORTED_MARK
from assistant.retrieval import HybridRetriever, tokenize
from index.corpus import strip_control
from index.embedders import load_embedder
from index.errors import UserError
from index.ids import VERSIONED_ID, canonical_url, version_label
from index.ingest import require_index
from index.redact import redact
from index.store import PaperStore, open_store
from ui.feedback import FeedbackLog
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

LANGUAGES = [("Auto (the question's)", "auto"), ("English", "en"), ("中文", "zh")]
EXAMPLES = [
    "Which paper uses LLM feedback as a reward for ASR domain adaptation?",
    "Is there a dataset for detecting hate speech that targets children?",
    "有没有论文在CTC语音识别模型的中间层引入大语言模型的语言知识作为辅助损失？",
    "哪篇论文把口吃现象作为显式标记转录出来？",
]
CHAT_CONCURRENCY = 4
"""Questions answered at once. Retrieval runs in parallel; the local model's own lock
serialises generation, so the others wait there and are told so. Beyond this, Gradio's
queue (``Settings.queue_size`` long) holds questions and shows their position."""
RECENT_ANSWERS = 2000
"""Answers kept in memory so a thumbs up/down can record what was rated."""


# --- showing text safely ---------------------------------------------------------

# Markdown that would make a link or an image out of text, as harmless entities.
_LINK_SYNTAX = (("](", "]&#40;"), ("![", "&#33;["), ("://", "&#58;//"), ("www.", "www&#46;"))
_REFERENCE_DEFINITION_RE = re.compile(r"^([ \t]*)\[", re.MULTILINE)
_ID_LINK_RE = re.compile(rf"(?:\[|&#91;)arXiv:(?P<cited>{VERSIONED_ID})\]|(?<![\w.])(?P<bare>{VERSIONED_ID})(?![\w])")
_OWN_BLOCK_RE = re.compile(r'^<div class="pc-[^"]*">.*</div>$\n?', re.MULTILINE)


def to_display(text: str) -> str:
    """``text`` as chat markdown that shows exactly that text: no HTML, no links, no images.

    The inverse is :func:`from_display` (up to the control characters, which are removed).
    """
    text = html.escape(strip_control(text), quote=False)
    for syntax, harmless in _LINK_SYNTAX:
        text = text.replace(syntax, harmless)
    return _REFERENCE_DEFINITION_RE.sub(r"\1&#91;", text)


def from_display(text: str) -> str:
    """The text :func:`to_display` was given (it only ever adds entities)."""
    return html.unescape(text)


def link_citations(markdown: str) -> str:
    """``[arXiv:ID]`` and bare versioned IDs in displayed text as links to arxiv.org."""
    def link(match: re.Match[str]) -> str:
        if match["cited"]:
            return f"[arXiv:{match['cited']}]({canonical_url(match['cited'])})"
        return f"[{match['bare']}]({canonical_url(match['bare'])})"

    return _ID_LINK_RE.sub(link, markdown)


def answer_markdown(text: str) -> str:
    """An answer (streamed or verified) as chat markdown: text, citations as links, ⚠ as a visible mark."""
    shown = link_citations(to_display(text))
    return shown.replace(UNSUPPORTED_MARK, f' <span class="pc-unsupported" title="Not supported by the evidence it cites">'
                                           f'{UNSUPPORTED_MARK.strip()}</span>')


def plain_answer(markdown: str) -> str:
    """What the engine wrote, from an answer message: for the history of a follow-up question."""
    text = _OWN_BLOCK_RE.sub("", markdown)
    text = re.sub(rf'<span class="pc-unsupported"[^>]*>{UNSUPPORTED_MARK.strip()}</span>', UNSUPPORTED_MARK.strip(), text)
    text = re.sub(rf"\[(arXiv:{VERSIONED_ID}|{VERSIONED_ID})\]\(https://arxiv\.org/abs/{VERSIONED_ID}\)",
                  lambda m: f"[{m[1]}]" if m[1].startswith("arXiv:") else m[1], text)
    return from_display(text).strip()


def message_text(message: dict) -> str:
    """The text of a chat message, as the API (a string) or the browser (a list of parts) sends it."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text")
    return ""


def engine_history(history: list[dict]) -> list[dict]:
    """The chat so far as the engine reads it: questions and answers, without the sources panels."""
    messages = []
    for message in history:
        content = message_text(message)
        if (message.get("metadata") or {}).get("title") or not content:
            continue
        if message.get("role") == "user":
            messages.append({"role": "user", "content": from_display(content)})
        elif message.get("role") == "assistant" and (answer := plain_answer(content)):
            messages.append({"role": "assistant", "content": answer})
    return messages


# --- the sources panel -------------------------------------------------------------

def _a(url: str, label: str) -> str:
    return f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">{html.escape(label)}</a>'


def sources_title(sources: list[Source]) -> str:
    papers = len({s.base_id for s in sources})
    return f"Sources · {papers} paper{'s' if papers != 1 else ''} · the evidence shown to the model"


def sources_html(sources: list[Source], cited: dict[str, set[int]] | None = None) -> str:
    """One card per paper: title, versioned ID link, evidence sentences (cited ones marked), score, other versions.

    ``cited`` maps a versioned ID to the indexes of its evidence sentences the answer drew on;
    None while the answer is not verified yet.
    """
    by_paper: dict[str, list[Source]] = {}
    for source in sources:
        by_paper.setdefault(source.base_id, []).append(source)
    cards = []
    for rank, shown in enumerate(by_paper.values(), start=1):
        first = shown[0]
        used = cited is not None and any(cited.get(s.arxiv_id) for s in shown)
        badge = '<span class="pc-badge pc-badge-cited">cited</span>' if used else ""
        parts = [f'<div class="pc-card{" pc-card-cited" if used else ""}">',
                 f'<div class="pc-card-title"><span class="pc-rank">{rank}</span>'
                 f'<span>{to_display(first.title)}</span>{badge}</div>']
        for source in shown:
            others = [v for v in source.versions if v not in {s.arxiv_id for s in shown}]
            meta = [f'<span class="pc-id">{_a(canonical_url(source.arxiv_id), "arXiv:" + source.arxiv_id)}</span>',
                    f'<span class="pc-score" title="Retrieval score (dense + BM25, fused by reciprocal rank; 1.00 = named in the question)">'
                    f'score {source.score:.2f}</span>']
            if others:
                links = ", ".join(_a(canonical_url(v), version_label(v)) for v in others)
                meta.append(f'<span class="pc-versions">other versions: {links}</span>')
            parts.append(f'<div class="pc-card-meta">{" ".join(meta)}</div>')
            marked = (cited or {}).get(source.arxiv_id, set())
            items = "".join(
                f'<li class="pc-cited" title="An answer sentence cites this">{to_display(sentence)}</li>' if i in marked
                else f"<li>{to_display(sentence)}</li>"
                for i, sentence in enumerate(source.sentences))
            parts.append(f'<ul class="pc-evidence">{items}</ul>')
        parts.append("</div>")
        cards.append("".join(parts))
    # One line, no blank lines: the chat's markdown renderer takes it as a single HTML block.
    return f'<div class="pc-sources">{"".join(cards)}</div>'


def cited_evidence(answer: Answer, similarity=None) -> dict[str, set[int]]:
    """For each source, the indexes of the evidence sentences the answer's sentences drew on.

    A sentence citing a paper is matched to that paper's evidence sentence it quotes or shares
    the most words with (jieba words for Chinese, terms and numbers for English); when it
    shares none (an English sentence about Chinese evidence), ``similarity(claim, sentences)``
    picks one if given.
    """
    by_id = {s.arxiv_id: s for s in answer.sources}
    cited: dict[str, set[int]] = {}
    for verdict in answer.sentences:
        claim = re.sub(r"^\s*(?:[-*+•]|\d{1,2}[.、)])\s*", "", strip_citations(verdict.text).replace(UNSUPPORTED_MARK, ""))
        for arxiv_id in verdict.citations:
            source = by_id.get(arxiv_id)
            if source is None or not source.sentences:
                continue
            best = _best_evidence(claim, source.sentences, similarity)
            if best is not None:
                cited.setdefault(arxiv_id, set()).add(best)
    return cited


def _best_evidence(claim: str, sentences: list[str], similarity) -> int | None:
    squeezed = "".join(claim.split())
    for i, sentence in enumerate(sentences):
        if "".join(sentence.split()) in squeezed or (squeezed and squeezed in "".join(sentence.split())):
            return i
    words = set(tokenize(claim))
    overlaps = [len(words & set(tokenize(sentence))) for sentence in sentences]
    if max(overlaps) > 0:
        return overlaps.index(max(overlaps))
    if similarity is not None:
        scores = similarity(claim, sentences)
        return max(range(len(sentences)), key=scores.__getitem__)
    return None


def grounding_html(answer: Answer) -> str:
    """One line under an answer: how many of its sentences their citations support."""
    parts = []
    if answer.sentences:
        supported, total = answer.supported_sentences, len(answer.sentences)
        kind = "pc-ok" if supported == total else "pc-warn"
        mark = "✓" if supported == total else UNSUPPORTED_MARK.strip()
        text = f"{mark} {supported} of {total} sentence{'s' if total != 1 else ''} supported by the cited evidence"
        if supported < total:
            text += f" ·{UNSUPPORTED_MARK} marks the others"
        parts.append(f'<span class="pc-grounding {kind}">{text}</span>')
    if answer.rejected_citations:
        n = len(answer.rejected_citations)
        parts.append(f'<span class="pc-note">{n} citation{"s" if n != 1 else ""} of papers not in the evidence removed</span>')
    parts.extend(f'<span class="pc-note">{to_display(notice)}</span>' for notice in answer.notices)
    return f'<div class="pc-foot">{"".join(parts)}</div>' if parts else ""


def final_markdown(answer: Answer) -> str:
    """The verified answer as shown: abstentions labelled, citations linked, grounding underneath."""
    if answer.abstained:
        label = "No supported answer" if answer.abstention_reason == "unsupported" else "No answer in the collection"
        head = f'<div class="pc-abstain">{label}</div>'
        notes = "".join(f'<span class="pc-note">{to_display(n)}</span>' for n in answer.notices)
        return head + "\n\n" + answer_markdown(answer.text) + (f'\n\n<div class="pc-foot">{notes}</div>' if notes else "")
    foot = grounding_html(answer)
    # A repaired answer says so before its text: the model's own draft did not pass the check.
    head = '<div class="pc-quoted">Quoted from the evidence</div>\n\n' if answer.quoted else ""
    return head + answer_markdown(answer.text) + (f"\n\n{foot}" if foot else "")


def error_markdown(message: str) -> str:
    return (f'<div class="pc-error">The answer could not be completed</div>\n\n{to_display(message)}\n\n'
            "Try again, or choose another backend under Settings.")


# --- the papers in the collection ------------------------------------------------

@dataclass
class PaperEntry:
    """One paper of the collection, as the index holds it."""

    base_id: str
    title: str
    versions: list[str]
    language: str
    sections: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """Per versioned ID, its (section, text) chunks in reading order, without the whole-paper chunk."""

    def matches(self, query: str) -> bool:
        query = query.casefold().strip()
        haystack = " ".join([self.base_id, " ".join(self.versions), self.title,
                             *(text for parts in self.sections.values() for _, text in parts)]).casefold()
        return all(word in haystack for word in query.split())


LANGUAGE_NAMES = {"zh": "Chinese", "en": "English"}


def list_papers(retriever: HybridRetriever) -> list[PaperEntry]:
    """Every paper in the index, newest arXiv ID first."""
    bases = sorted({c.metadata["base_id"] for c in retriever.chunks}, reverse=True)
    papers = []
    for base in bases:
        versions = retriever.versions_of(base)
        sections = {v: [(c.metadata["section"], c.text) for c in retriever.chunks_of(v)
                        if c.metadata["section"] != "paper"] for v in versions}
        newest = retriever.chunks_of(versions[-1])
        whole = next((c for c in newest if c.metadata["section"] == "paper"), newest[0])
        papers.append(PaperEntry(base, newest[0].metadata["title"], versions, whole.metadata["language"], sections))
    return papers


def paper_rows(papers: list[PaperEntry], query: str = "") -> list[list[str]]:
    return [[p.base_id, ", ".join(version_label(v) for v in p.versions), strip_control(p.title),
             LANGUAGE_NAMES.get(p.language, p.language)] for p in papers if not query or p.matches(query)]


def paper_html(paper: PaperEntry) -> str:
    """A paper's summary (newest version first; older versions folded), every piece escaped."""
    links = " ".join(_a(canonical_url(v), "arXiv:" + v) for v in reversed(paper.versions))
    out = [f'<div class="pc-paper"><h3>{to_display(paper.title)}</h3>',
           f'<div class="pc-card-meta">{links} <span class="pc-score">{LANGUAGE_NAMES.get(paper.language, "")}</span></div>']
    for n, version in enumerate(reversed(paper.versions)):
        body = []
        points = []
        for section, text in paper.sections[version]:
            if section.startswith("contribution"):
                points.append(f"<li>{to_display(text)}</li>")
            else:
                body.append(f"<p>{to_display(text)}</p>")
        content = "".join(body) + (f'<ol class="pc-points">{"".join(points)}</ol>' if points else "")
        if n == 0:
            out.append(f'<div class="pc-summary">{content}</div>')
        else:
            out.append(f'<details class="pc-older"><summary>Summary of {html.escape(version)}</summary>{content}</details>')
    out.append("</div>")
    return "".join(out)


# --- the service behind the UI --------------------------------------------------

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
        self._assistants: dict[str, Assistant] = {}
        self._assistants_lock = threading.Lock()
        self._answers: OrderedDict[str, dict] = OrderedDict()
        self._answers_lock = threading.Lock()
        self._local_generations = _GenerationCounter()
        self.backends = offered_backends(settings)
        default = self.assistant(settings.backend)  # a broken default backend fails at start-up, not on first use
        self.papers = list_papers(default.retriever)
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

    # The chat -------------------------------------------------------------

    def respond(self, message: str, history: list[dict], backend: str | None = None, top_k: float | None = None,
                language: str | None = None) -> Iterator[tuple[list[gr.ChatMessage], dict | object]]:
        """Answer ``message`` in the conversation ``history``; yields (messages, answer JSON) as it goes.

        Never raises: a failing backend becomes a readable message in the chat.
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
                                          top_k=top_k):
                if isinstance(event, SourcesReady):
                    if event.sources:
                        panel = gr.ChatMessage(content=sources_html(event.sources),
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
                    yield messages + [gr.ChatMessage(content=f'<div class="pc-wait">{waiting or "Writing the answer…"}</div>')], gr.skip()
                elif isinstance(event, TextDelta):
                    streamed += event.text
                    yield messages + [gr.ChatMessage(content=answer_markdown(streamed))], gr.skip()
                elif isinstance(event, AnswerDone):
                    answer = event.answer
                    if panel is not None:
                        cited = cited_evidence(answer, self._similarity)
                        panel = gr.ChatMessage(content=sources_html(answer.sources, cited),
                                               metadata={"title": sources_title(answer.sources), "status": "done",
                                                         "duration": panel.metadata["duration"]})
                        messages = [panel]
                    shown = final_markdown(answer)
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

    def _similarity(self, claim: str, sentences: list[str]) -> list[float]:
        vectors = self.embed_model.get_text_embedding_batch(sentences)
        query = self.embed_model.get_query_embedding(claim)
        return [sum(a * b for a, b in zip(vector, query)) for vector in vectors]

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


# --- the Gradio app -------------------------------------------------------------

class _ChatInterface(gr.ChatInterface):
    """gr.ChatInterface that shows what a user typed as text, never as markup.

    Gradio renders chat messages as markdown with HTML. A question is escaped
    (:func:`to_display`) when it enters the chat and unescaped when Gradio takes
    it back out for retry or undo, so the engine always gets what was typed.
    """

    def _append_message_to_history(self, message, history, role="user"):
        if role == "user" and isinstance(message, str):
            message = to_display(message)
        return super()._append_message_to_history(message, history, role)

    def _pop_last_user_message(self, history):
        history, message = super()._pop_last_user_message(history)
        return history, from_display(message) if isinstance(message, str) else message


CSS = """
.gradio-container { max-width: 1180px !important; margin: 0 auto !important; }
#pc-header { padding: 6px 4px 2px; }
#pc-header h1 { font-size: 1.55rem; font-weight: 700; margin: 0; letter-spacing: -0.01em; }
#pc-header p { margin: 4px 0 0; color: var(--body-text-color-subdued); font-size: 0.95rem; }
#pc-header .pc-stats { display: inline-block; margin-top: 8px; font-size: 0.8rem; color: var(--body-text-color-subdued);
  border: 1px solid var(--border-color-primary); border-radius: 999px; padding: 2px 10px; }
.pc-sources { display: flex; flex-direction: column; gap: 10px; }
.pc-card { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px 12px; color: var(--body-text-color);
  background: var(--background-fill-primary); }
.pc-card-cited { border-left: 3px solid var(--color-accent); }
.pc-card-title { font-weight: 600; display: flex; gap: 8px; align-items: baseline; line-height: 1.35; }
.pc-rank { flex: none; font-size: 0.75rem; color: var(--body-text-color-subdued); border: 1px solid var(--border-color-primary);
  border-radius: 999px; padding: 0 7px; }
.pc-badge { flex: none; font-size: 0.7rem; font-weight: 600; border-radius: 999px; padding: 1px 8px; margin-left: auto; }
.pc-badge-cited { background: var(--color-accent-soft); color: var(--color-accent); }
.pc-card-meta { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 0.8rem; margin: 4px 0 2px;
  color: var(--body-text-color-subdued); }
.pc-card-meta a { font-family: var(--font-mono); }
.pc-evidence { margin: 6px 0 0 0 !important; padding-left: 18px !important; font-size: 0.86rem; }
.pc-evidence li { margin: 3px 0; }
.pc-evidence li.pc-cited { background: #fff3bf; border-radius: 4px; padding: 1px 4px; }
.dark .pc-evidence li.pc-cited { background: #5c4a00; }
.pc-foot { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 2px; }
.pc-grounding, .pc-note { font-size: 0.78rem; border-radius: 999px; padding: 2px 10px; }
.pc-ok { background: #e6f4ea; color: #1e6b34; }
.pc-warn { background: #fff4e5; color: #8a4b00; }
.pc-note { background: var(--background-fill-secondary); color: var(--body-text-color-subdued); }
.pc-unsupported { color: #b45309; font-weight: 700; cursor: help; }
.pc-abstain, .pc-error { display: inline-block; font-size: 0.8rem; font-weight: 600; border-radius: 6px; padding: 2px 10px; }
.pc-abstain { background: #eef2ff; color: #3730a3; }
.pc-quoted { display: inline-block; font-size: 0.8rem; font-weight: 600; border-radius: 6px; padding: 2px 10px; background: #fef3c7; color: #92400e; }
.pc-error { background: #fdecec; color: #9b1c1c; }
.pc-wait { color: var(--body-text-color-subdued); font-style: italic; }
.pc-paper { border: 1px solid var(--border-color-primary); border-radius: 12px; padding: 14px 16px;
  background: var(--background-fill-primary); }
.pc-paper h3 { margin: 0 0 4px; font-size: 1.1rem; line-height: 1.35; }
.pc-summary p, .pc-older p { margin: 8px 0; line-height: 1.55; }
.pc-points li { margin: 5px 0; line-height: 1.5; }
.pc-older { margin-top: 10px; font-size: 0.9rem; }
.pc-intro p { color: var(--body-text-color-subdued); font-size: 0.9rem; margin: 4px 0 0; }
#pc-papers-table, #pc-papers-table * { font-family: var(--font) !important; font-size: 0.88rem; }
#pc-papers-table .body-cell:first-child span { font-family: var(--font-mono) !important; }
"""


def build_app(service: ChatService) -> gr.Blocks:
    """The whole UI over ``service``; call :func:`launch` to serve it."""
    settings = service.settings
    # Built apart and rendered under the chat (after the feedback row): ChatInterface would
    # otherwise put its own accordion of these inputs straight under the textbox.
    with gr.Blocks(analytics_enabled=False) as settings_panel:
        with gr.Accordion("Settings", open=False):
            with gr.Row():
                backend = gr.Dropdown(service.backends, value=settings.backend, label="Backend",
                                      info=" · ".join(f"{b}: {get_backend(b).description}" for b in service.backends))
                top_k = gr.Slider(1, 10, value=settings.top_k, step=1, label="Number of sources",
                                  info="Papers whose evidence the model is shown")
                language = gr.Radio(LANGUAGES, value="auto", label="Answer language",
                                    info="Auto answers in the language of the question")
    with gr.Blocks(title="paperchat", fill_height=True, analytics_enabled=False) as app:
        gr.HTML(
            '<div id="pc-header"><h1>paperchat</h1>'
            f"<p>Ask about a collection of arXiv paper summaries{f' ({html.escape(settings.topic)})' if settings.topic else ''} in English or "
            "Chinese. Every claim cites the paper version it comes from.</p>"
            f'<span class="pc-stats">{len(service.papers)} papers · {service.versions} versions · '
            f"default backend: {html.escape(settings.backend)}</span></div>")
        with gr.Tabs() as tabs:
            with gr.Tab("Chat", id="chat"):
                chatbot = gr.Chatbot(
                    label="paperchat", show_label=False, height="64vh", layout="bubble",
                    latex_delimiters=[], allow_tags=False, buttons=["copy"],
                    placeholder="**Ask a question about the papers.** Answers cite their sources; "
                                "open *Sources* above an answer to see the evidence the model was shown.",
                )
                answer_json = gr.JSON(visible=False, label="answer")
                chat = _ChatInterface(
                    service.respond,
                    chatbot=chatbot,
                    textbox=gr.Textbox(placeholder="Ask about the papers… (English or 中文)", show_label=False,
                                       submit_btn=True, stop_btn=True, scale=7),
                    additional_inputs=[backend, top_k, language],
                    additional_outputs=[answer_json],
                    examples=[[q] for q in EXAMPLES],
                    api_name="chat",
                    api_description="Answer a question about the papers; returns the chat messages and the answer "
                                    "as JSON (answer, citations, sources, timings, answer_id).",
                    concurrency_limit=CHAT_CONCURRENCY,
                    fill_height=True,
                    analytics_enabled=False,
                )
                rated = gr.State(None)
                with gr.Row(visible=False, equal_height=True) as comment_row:
                    comment = gr.Textbox(placeholder="Thanks! Add a comment? (optional) What was right or wrong?",
                                         show_label=False, scale=6, max_lines=3, max_length=settings.max_comment_chars)
                    send_comment = gr.Button("Send comment", scale=1, variant="secondary")
                settings_panel.render()

            with gr.Tab("Papers", id="papers"):
                gr.Markdown(f"The {len(service.papers)} papers of the collection, as indexed. Click one to read its "
                            "summary, or ask about it in the chat.", elem_classes="pc-intro")
                with gr.Row():
                    with gr.Column(scale=3):
                        paper_filter = gr.Textbox(placeholder="Filter by ID, title or words of the summary",
                                                  show_label=False)
                        table = gr.Dataframe(
                            value=paper_rows(service.papers), headers=["ID", "Versions", "Title", "Language"],
                            datatype=["str", "str", "str", "str"], interactive=False, wrap=True,
                            max_height=560, column_widths=["16%", "13%", "56%", "15%"], elem_id="pc-papers-table",
                            show_search="none")
                    with gr.Column(scale=2):
                        summary = gr.HTML('<p class="pc-wait">Select a paper to read its summary.</p>')
                        ask_about = gr.Button("Ask about this paper in the chat", visible=False, variant="secondary",
                                              size="md")
                        selected = gr.State(None)

        def on_like(history: list[dict], data: gr.LikeData):
            answer_id = service.answer_id_at(history, data.index)
            verdict = {True: "up", False: "down", "Like": "up", "Dislike": "down"}.get(data.liked)
            if answer_id is None or verdict is None:
                return gr.skip(), gr.skip()
            service.record_feedback(answer_id, verdict)
            gr.Info("Thanks, your feedback was recorded.", duration=3)
            return gr.Row(visible=True), {"answer_id": answer_id, "verdict": verdict}

        def on_comment(text: str, rating: dict | None):
            if rating and text.strip():
                try:
                    service.record_feedback(rating["answer_id"], rating["verdict"], text)
                except UserError as exc:
                    gr.Warning(str(exc))
                    return gr.skip(), gr.skip()
                gr.Info("Comment recorded. Thank you!", duration=3)
            return gr.Row(visible=False), gr.Textbox(value="")

        chatbot.like(on_like, [chatbot], [comment_row, rated], queue=False, api_visibility="private")
        gr.on([send_comment.click, comment.submit], on_comment, [comment, rated], [comment_row, comment], queue=False,
              api_visibility="private")
        chatbot.clear(lambda: (gr.Row(visible=False), None), None, [comment_row, rated], queue=False,
                      api_visibility="private")

        def on_filter(query: str):
            return paper_rows(service.papers, query)

        def on_select(evt: gr.SelectData):
            row = evt.row_value or []
            paper = service.paper(str(row[0])) if row else None
            if paper is None:
                return gr.skip(), gr.skip(), gr.skip()
            return paper_html(paper), gr.Button(visible=True), paper.base_id

        def on_ask(base_id: str | None):
            paper = service.paper(base_id) if base_id else None
            if paper is None:
                return gr.skip(), gr.skip()
            return gr.Textbox(value=f"What is arXiv {paper.versions[-1]} about?"), gr.Tabs(selected="chat")

        paper_filter.change(on_filter, paper_filter, table, queue=False, api_visibility="private")
        table.select(on_select, None, [summary, ask_about, selected], queue=False, api_visibility="private")
        ask_about.click(on_ask, selected, [chat.textbox, tabs], queue=False, api_visibility="private")

        def feedback(answer_id: str, verdict: str, comment: str = "") -> str:
            """Rate an answer returned by /chat: verdict "up" or "down", an optional comment."""
            try:
                service.record_feedback(answer_id, verdict, comment)
            except UserError as exc:
                raise gr.Error(str(exc)) from None
            return "recorded"

        gr.api(feedback, api_name="feedback")
    app.queue(max_size=settings.queue_size, default_concurrency_limit=CHAT_CONCURRENCY)
    return app


# System fonts only: the page must not fetch anything from the internet.
THEME = gr.themes.Soft(primary_hue="indigo", neutral_hue="slate",
                       font=["system-ui", "-apple-system", "Segoe UI", "Noto Sans", "sans-serif"],
                       font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])


def parse_auth(auth: str | SecretStr | None) -> tuple[str, str] | None:
    """``user:password`` as Gradio's auth pair; None when unset."""
    if isinstance(auth, SecretStr):
        auth = auth.get_secret_value()
    if not auth:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise UserError("--auth (PAPERCHAT_AUTH) must look like user:password")
    return user, password


MAX_AUTH_FILE_BYTES = 4096


def login_of(settings: Settings) -> tuple[str, str] | None:
    """The login the chat requires: ``auth``, or the first line of ``auth_file``; None for no login."""
    if settings.auth and settings.auth_file:
        raise UserError("give the login once: --auth (PAPERCHAT_AUTH) or --auth-file (PAPERCHAT_AUTH_FILE)")
    if not settings.auth_file:
        return parse_auth(settings.auth)
    path = Path(settings.auth_file)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_AUTH_FILE_BYTES:
            raise UserError(f"{path}: the auth file must be a small regular file holding user:password")
        first = (path.read_text(encoding="utf-8").splitlines() or [""])[0].strip()
    except OSError as exc:
        raise UserError(f"{path}: cannot read the auth file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: the auth file is not UTF-8 text") from None
    if not first:
        raise UserError(f"{path}: the auth file is empty; its first line must be user:password")
    try:
        return parse_auth(first)
    except UserError:
        raise UserError(f"{path}: the first line of the auth file must look like user:password") from None


def auth_file_is_open(settings: Settings) -> bool:
    """Whether the auth file can be read by other users (serve warns)."""
    return bool(settings.auth_file) and bool(Path(settings.auth_file).stat().st_mode & 0o077)


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


class LoginThrottle:
    """ASGI middleware in front of Gradio's ``/login``: a client that fails ``failures`` logins in a row is
    refused (HTTP 429, ``Retry-After``) for ``lockout_seconds``, doubling with each further failure up to
    an hour, without its password being checked. A successful login clears its count.

    A client is an IP address: behind a reverse proxy every user is the proxy's address, so put the
    throttle in the proxy there.
    """

    MAX_LOCKOUT = 3600.0
    MAX_CLIENTS = 10_000
    """Clients remembered (the oldest forgotten first), so a flood of addresses cannot fill memory."""

    def __init__(self, app, failures: int, lockout_seconds: float):
        self.app = app
        self.failures = max(1, failures)
        self.lockout_seconds = lockout_seconds
        self._clients: OrderedDict[str, tuple[int, float]] = OrderedDict()
        """Per client: failed logins in a row, and until when (monotonic) it is refused."""

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].rstrip("/").endswith("/login"):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown",))[0]
        failed, until = self._clients.get(client, (0, 0.0))
        wait = until - time.monotonic()
        if wait > 0:
            seconds = str(math.ceil(wait))
            refusal = JSONResponse({"detail": f"Too many failed logins: try again in {seconds} s."},
                                   status_code=429, headers={"Retry-After": seconds})
            await refusal(scope, receive, send)
            return
        status: list[int] = []

        async def send_and_see(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, receive, send_and_see)
        if status and status[0] < 300:
            self._clients.pop(client, None)
        elif status and status[0] in (400, 401, 403):
            failed += 1
            until = 0.0
            if failed >= self.failures:
                until = time.monotonic() + min(self.lockout_seconds * 2 ** (failed - self.failures), self.MAX_LOCKOUT)
            self._clients[client] = (failed, until)
            self._clients.move_to_end(client)
            while len(self._clients) > self.MAX_CLIENTS:
                self._clients.popitem(last=False)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_DEFAULTS = Settings.model_fields


def launch(app: gr.Blocks, *, host: str, port: int, auth: str | SecretStr | tuple[str, str] | None = None,
           block: bool = True, login_failures: int = _DEFAULTS["login_failures"].default,
           login_lockout_seconds: float = _DEFAULTS["login_lockout_seconds"].default,
           max_upload_bytes: int = _DEFAULTS["max_upload_bytes"].default) -> gr.Blocks:
    """Serve ``app`` on ``host:port``; ``block=False`` returns once the server is up (tests).

    Logins are throttled per client (:class:`LoginThrottle`) and uploads larger than ``max_upload_bytes``
    are refused (HTTP 413).
    """
    pair = auth if isinstance(auth, tuple) else parse_auth(auth)
    throttle = Middleware(LoginThrottle, failures=login_failures, lockout_seconds=login_lockout_seconds)
    try:
        app.launch(server_name=host, server_port=port, auth=pair, theme=THEME, css=CSS,
                   prevent_thread_lock=not block, show_error=True, quiet=not block, footer_links=["api"],
                   ssr_mode=False, max_file_size=max_upload_bytes, app_kwargs={"middleware": [throttle]})
    except OSError as exc:
        if "port" not in str(exc):
            raise
        raise UserError(f"cannot listen on {host}:{port} (in use?); choose another port with --port") from None
    return app
