"""Export a conversation as Markdown (to read or share) or JSON (the ``ask --json`` object per turn).

The input is what ``paperchat ask --history`` reads, a JSON list of
``{"role", "content"}`` messages, or a saved conversation
(:meth:`ui.conversations.Conversation.as_json`, ``{"title", "messages"}``). An
assistant message may hold ``"answer"``, its ``ask --json`` object, as saved
conversations do; then the export has the answer's sources and grounding. A
message without one is exported from its text: its ``[arXiv:ID]`` citations
still become links, and its grounding reads "not recorded".

Markdown: each ``[arXiv:ID]`` is a link to ``https://arxiv.org/abs/<versioned
id>`` (the base ID when no version is known); each answer is followed by its
notices and its grounding line (how many of its sentences the evidence
supports); the papers cited are listed at the end. What people typed and what the papers say (questions, titles) is escaped,
so it shows as written and cannot add links, markup or HTML; answers keep their
Markdown, with raw HTML escaped. The command line and the chat both call this.
"""

from __future__ import annotations

import json
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import UserError
from index.ids import NEW_STYLE_ID, canonical_url, parse_arxiv_id

MAX_EXPORT_BYTES = 25_000_000
"""Largest file ``paperchat export`` reads: a conversation at its saved limits (ui/conversations.py) fits."""
DEFAULT_TITLE = "paperchat conversation"

_CITATION_RE = re.compile(rf"\[arXiv:\s*({NEW_STYLE_ID})\](?!\()", re.IGNORECASE)
_INLINE_SPECIALS_RE = re.compile(r"([\\`*_\[\]<>|~])")
_LINE_START_RE = re.compile(r"^(\s*)([#+=-]|\d+[.)])", re.MULTILINE)


@dataclass
class Turn:
    question: str
    text: str
    """The answer as shown (empty when the conversation ends on a question)."""
    answer: dict | None = None
    """The ``ask --json`` object, when it was recorded."""


@dataclass
class Transcript:
    title: str
    turns: list[Turn] = field(default_factory=list)


def escape_markdown(text: str) -> str:
    """``text`` shown as written in Markdown: no emphasis, links, code, HTML, headings or list markers."""
    text = _INLINE_SPECIALS_RE.sub(r"\\\1", text)
    return _LINE_START_RE.sub(lambda m: m[1] + re.sub(r"([#+=\-.)])", r"\\\1", m[2]), text)


def transcript_of(data, where: str = "the conversation") -> Transcript:
    """Read a history list or a saved conversation; a UserError naming ``where`` and the message when malformed."""
    title = DEFAULT_TITLE
    if isinstance(data, dict) and isinstance(data.get("messages"), list):
        title = str(data.get("title") or DEFAULT_TITLE)
        data = data["messages"]
    if not isinstance(data, list):
        raise UserError(f'{where}: expected a JSON list of {{"role", "content"}} messages or a saved conversation')
    turns: list[Turn] = []
    for n, message in enumerate(data, start=1):
        if not (isinstance(message, dict) and message.get("role") in ("user", "assistant")
                and isinstance(message.get("content"), str)):
            raise UserError(f'{where}: message {n} is not {{"role": "user"|"assistant", "content": "..."}}')
        answer = message.get("answer")
        if answer is not None and not (isinstance(answer, dict) and isinstance(answer.get("answer", ""), str)):
            raise UserError(f"{where}: message {n}: its answer is not an `ask --json` object")
        if message["role"] == "user":
            turns.append(Turn(message["content"], ""))
        elif turns and not turns[-1].text and turns[-1].answer is None:
            turns[-1].text, turns[-1].answer = message["content"], answer
        else:  # an answer with no question before it
            turns.append(Turn("", message["content"], answer))
    return Transcript(title, turns)


def read_transcript(path: Path) -> Transcript:
    """The conversation in a JSON file (bounded by :data:`MAX_EXPORT_BYTES`)."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"{path}: not a regular file; give a JSON file of messages or a saved conversation")
    if info.st_size > MAX_EXPORT_BYTES:
        raise UserError(f"{path}: {info.st_size:,} bytes, more than {MAX_EXPORT_BYTES:,}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not JSON ({exc})") from None
    except RecursionError:
        raise UserError(f"{path}: not a conversation (nested too deeply)") from None
    return transcript_of(data, str(path))


def turn_json(turn: Turn) -> dict:
    """The turn's ``ask --json`` object; one rebuilt from the text when none was recorded (grounding unknown)."""
    if turn.answer is not None:
        return turn.answer
    cited = list(dict.fromkeys(_CITATION_RE.findall(turn.text)))
    return {"question": turn.question, "standalone_question": turn.question, "answer": turn.text,
            "abstained": False, "abstention_reason": None,
            "citations": [{"arxiv_id": c, "supported": None} for c in cited], "sources": [], "timings_ms": {},
            "sentences": [], "rejected_citations": [], "notices": [], "quoted": False, "low_evidence": False,
            "evidence_score": None, "scope": [], "searched_as": None, "listed": []}


def to_json(transcript: Transcript) -> str:
    """A JSON list: the ``ask --json`` object of each turn, in order."""
    return json.dumps([turn_json(t) for t in transcript.turns], ensure_ascii=False, indent=2) + "\n"


def to_markdown(transcript: Transcript) -> str:
    """The conversation as Markdown: questions, linked answers with notices and grounding, then the papers cited."""
    titles: dict[str, str] = {}
    for turn in transcript.turns:
        for source in (turn.answer or {}).get("sources") or []:
            if isinstance(source, dict) and isinstance(source.get("arxiv_id"), str):
                titles.setdefault(source["arxiv_id"], str(source.get("title") or ""))
    newest = _newest_versions(titles)
    cited: list[str] = []
    lines = [f"# {escape_markdown(' '.join(transcript.title.split()))}", ""]
    for n, turn in enumerate(transcript.turns, start=1):
        if turn.question:
            lines += [f"## {n}. {escape_markdown(' '.join(turn.question.split()))}", ""]
        text = turn.answer.get("answer", turn.text) if turn.answer is not None else turn.text
        if not text and turn.answer is None:
            lines += ["*(no answer)*", ""]
            continue

        def link(match: re.Match[str]) -> str:
            arxiv_id = _versioned(match[1], newest)
            if arxiv_id is None:
                return escape_markdown(match[0])
            if arxiv_id not in cited:
                cited.append(arxiv_id)
            return f"[arXiv:{arxiv_id}]({canonical_url(arxiv_id)})"

        lines += [_CITATION_RE.sub(link, text.replace("<", "&lt;")), ""]
        for notice in (turn.answer or {}).get("notices") or []:
            lines += [f"> {escape_markdown(str(notice))}", ""]
        lines += [f"*{grounding_line(turn.answer)}*", ""]
    if cited:
        lines += ["## Sources", ""]
        for arxiv_id in cited:
            title = titles.get(arxiv_id)
            lines.append(f"- [{escape_markdown(title)}]({canonical_url(arxiv_id)}) arXiv:{arxiv_id}" if title
                         else f"- [arXiv:{arxiv_id}]({canonical_url(arxiv_id)})")
        lines.append("")
    return "\n".join(lines)


def grounding_line(answer: dict | None) -> str:
    """How much of the answer its evidence supports, in one line."""
    if answer is None:
        return "Grounding: not recorded (exported from the text of the conversation)."
    sentences = [s for s in answer.get("sentences") or [] if isinstance(s, dict)]
    if answer.get("abstained"):
        return f"Grounding: no answer given ({answer.get('abstention_reason') or 'abstained'})."
    if not sentences:
        return "Grounding: no sentence was checked."
    supported = sum(bool(s.get("supported")) for s in sentences)
    line = (f"Grounding: {supported} of {len(sentences)} sentence{'s' if len(sentences) != 1 else ''} supported by "
            "their citations.")
    return line + (" Low evidence." if answer.get("low_evidence") else "")


def _newest_versions(known: dict[str, str]) -> dict[str, str]:
    """Base ID to the highest version among the recorded sources."""
    newest: dict[str, tuple[int, str]] = {}
    for arxiv_id in known:
        parsed = parse_arxiv_id(arxiv_id)
        if parsed and parsed[2] > newest.get(parsed[1], (0, ""))[0]:
            newest[parsed[1]] = (parsed[2], parsed[0])
    return {base: versioned for base, (_, versioned) in newest.items()}


def _versioned(raw: str, newest: dict[str, str]) -> str | None:
    """The ID a citation links to: as written when versioned, else the newest version among the recorded
    sources, else the base ID (arxiv.org shows its newest version); None when it is no arXiv ID."""
    parsed = parse_arxiv_id(raw)
    if parsed is None:
        return None
    if "v" in raw.lower():
        return parsed[0]
    return newest.get(parsed[1], parsed[1])
