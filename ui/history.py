"""Saved conversations in the chat: the turn saved after each answer, a reopened conversation shown again,
and the files the Export buttons download.

A saved answer is its ``paperchat ask --json`` object (ui/conversations.py), so a reopened conversation
is shown as it was answered: the sources panel with the evidence that supported it, the answer with its
sentences tied to that evidence, the grounding line. An answer saved without one (a ``--history`` import)
is shown from its text.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import gradio as gr

from assistant.answer import Answer, SentenceVerdict, Source
from assistant.citations import Citation
from index.ids import parse_arxiv_id
from ui.conversations import Conversation, ConversationStore
from ui.display import answer_markdown, to_display
from ui.export import to_json, to_markdown, transcript_of
from ui.render import cited_evidence, final_markdown, sources_html, sources_title

_FILE_NAME_UNSAFE_RE = re.compile(r"[^A-Za-z0-9]+")
FILE_NAME_CHARS = 40
"""The exported file is named after the conversation's title, cut to this many characters."""


def saved_answer(answer_json: dict) -> dict:
    """What is saved of an answer of :meth:`ChatService.respond`: its ``ask --json`` object, without the
    server's own fields (the answer's ID for feedback, the settings it ran with)."""
    return {k: v for k, v in answer_json.items() if k not in ("answer_id", "settings")}


def answer_from_json(data: dict) -> Answer:
    """The :class:`Answer` an ``ask --json`` object describes (what the chat needs to show it again)."""
    sources = []
    for source in data.get("sources") or []:
        parsed = parse_arxiv_id(str(source.get("arxiv_id", "")))
        if parsed is None:
            continue
        sources.append(Source(parsed[0], parsed[1], str(source.get("title") or ""), str(source.get("url") or ""),
                              float(source.get("score") or 0.0), str(source.get("text") or "").split("\n"),
                              [str(v) for v in source.get("versions") or []]))
    sentences = [SentenceVerdict(str(s.get("text", "")), [str(c) for c in s.get("citations") or []],
                                 bool(s.get("supported")), str(s.get("method", "")),
                                 [e for e in s.get("evidence") or [] if isinstance(e, dict)])
                 for s in data.get("sentences") or [] if isinstance(s, dict)]
    return Answer(
        question=str(data.get("question", "")), standalone_question=str(data.get("standalone_question", "")),
        text=str(data.get("answer", "")), abstained=bool(data.get("abstained")),
        abstention_reason=data.get("abstention_reason"),
        citations=[Citation.of(str(c["arxiv_id"]), c.get("supported")) for c in data.get("citations") or []
                   if isinstance(c, dict) and parse_arxiv_id(str(c.get("arxiv_id", "")))],
        sources=sources, sentences=sentences, rejected_citations=list(data.get("rejected_citations") or []),
        notices=[str(n) for n in data.get("notices") or []], quoted=bool(data.get("quoted")),
        scope=list(data.get("scope") or []), low_evidence=bool(data.get("low_evidence")))


def chat_messages(conversation: Conversation) -> list[gr.ChatMessage]:
    """The chat's messages for a saved conversation: each question, then its sources panel and answer."""
    messages = []
    for message in conversation.messages:
        if message["role"] == "user":
            messages.append(gr.ChatMessage(role="user", content=to_display(message["content"])))
        elif isinstance(message.get("answer"), dict):
            answer = answer_from_json(message["answer"])
            answer_id = uuid.uuid4().hex[:12]
            if answer.sources:
                messages.append(gr.ChatMessage(
                    content=sources_html(answer.sources, cited_evidence(answer), answer_id),
                    metadata={"title": sources_title(answer.sources), "status": "done"}))
            messages.append(gr.ChatMessage(content=final_markdown(answer, answer_id)))
        else:
            messages.append(gr.ChatMessage(content=answer_markdown(message["content"])))
    return messages


def questions_in(history: list[dict]) -> int:
    """How many questions the chat shows (its turns, as the store counts them)."""
    return sum(message.get("role") == "user" for message in history)


def export_files(store: ConversationStore, user: str, conversation_id: str, folder: Path) -> tuple[Path, Path]:
    """The conversation as Markdown and as JSON (ui/export.py), written under ``folder``; (markdown, json) paths.

    One folder per conversation, overwritten at each export, so the files stay as many as the conversations.
    """
    saved = store.open(user, conversation_id)
    transcript = transcript_of(saved.as_json(), "the conversation")
    name = _FILE_NAME_UNSAFE_RE.sub("-", saved.title).strip("-")[:FILE_NAME_CHARS].strip("-").lower() or "conversation"
    here = folder / f"{_FILE_NAME_UNSAFE_RE.sub('', user)[:40]}-{saved.id}"
    here.mkdir(parents=True, exist_ok=True)
    markdown, json_file = here / f"paperchat-{name}.md", here / f"paperchat-{name}.json"
    markdown.write_text(to_markdown(transcript), encoding="utf-8")
    json_file.write_text(to_json(transcript), encoding="utf-8")
    return markdown, json_file


def save_turn(store: ConversationStore, user: str, conversation_id: str | None, question: str,
              answer_json: dict, papers: list[str] | None = None, versions: str = "newest") -> str:
    """Save a question and its answer (``ChatService.respond``'s answer JSON) in the conversation, a new one
    named after the question when ``conversation_id`` is None; returns the conversation's ID.

    ``papers`` and ``versions`` are the scope it was asked in (the picker's choice, None: the whole collection),
    which the conversation keeps for when it is reopened."""
    if conversation_id is None:
        conversation_id = store.create(user).id
    answer = saved_answer(answer_json)
    store.add_turn(user, conversation_id, question, answer.get("answer", ""), answer, list(papers) if papers else None,
                   versions)
    return conversation_id
