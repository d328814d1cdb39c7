"""Text in the chat, shown as text: what the corpus, the model and users write never becomes markup.

Gradio renders chat messages as markdown with HTML. Everything shown goes through
:func:`to_display` (control characters removed, HTML escaped, markdown link and image
syntax broken); the only links added back are ``https://arxiv.org/abs/<versioned id>``
(:func:`link_citations`). :func:`from_display` and :func:`engine_history` undo that, so
the engine reads a conversation exactly as it was typed and answered.
"""

from __future__ import annotations

import html
import re

from assistant.prompts import UNSUPPORTED_MARK
from index.corpus import strip_control
from index.ids import VERSIONED_ID, canonical_url

# Markdown that would make a link or an image out of text, as harmless entities.
_LINK_SYNTAX = (("](", "]&#40;"), ("![", "&#33;["), ("://", "&#58;//"), ("www.", "www&#46;"))
_REFERENCE_DEFINITION_RE = re.compile(r"^([ \t]*)\[", re.MULTILINE)
_ID_LINK_RE = re.compile(rf"(?:\[|&#91;)arXiv:(?P<cited>{VERSIONED_ID})\]|(?<![\w.])(?P<bare>{VERSIONED_ID})(?![\w])")
_OWN_BLOCK_RE = re.compile(r'^<div class="pc-[^"]*">.*</div>$\n?', re.MULTILINE)
_MARK = UNSUPPORTED_MARK.strip()
_UNSUPPORTED_MARK_HTML = f' <span class="pc-unsupported" title="Not supported by the evidence it cites">{_MARK}</span>'
_UNSUPPORTED_MARK_RE = re.compile(rf'<span class="pc-unsupported"[^>]*>{re.escape(_MARK)}</span>')
# Our only spans: a checked sentence's (ui/render.py) and the mark above; what others write is escaped.
_SENTENCE_SPAN_RE = re.compile(r'<span class="pc-sentence[^"]*"[^>]*>|</span>')
_CITATION_LINK_RE = re.compile(
    rf"\[(arXiv:{VERSIONED_ID}|{VERSIONED_ID})\]\({re.escape(canonical_url(''))}{VERSIONED_ID}\)")


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
    return link_citations(to_display(text)).replace(UNSUPPORTED_MARK, _UNSUPPORTED_MARK_HTML)


def plain_answer(markdown: str) -> str:
    """What the engine wrote, from an answer message: for the history of a follow-up question."""
    text = _OWN_BLOCK_RE.sub("", markdown)
    text = _UNSUPPORTED_MARK_RE.sub(_MARK, text)
    text = _SENTENCE_SPAN_RE.sub("", text)
    text = _CITATION_LINK_RE.sub(lambda m: f"[{m[1]}]" if m[1].startswith("arXiv:") else m[1], text)
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
