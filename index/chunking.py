"""Split a paper's summary into chunks that each belong to exactly one versioned paper.

The summaries have a natural structure: a short summary paragraph and
numbered contribution points. Each of those becomes a chunk, so a question
about one contribution matches that point and not a diluted whole summary.
Heading lines ("贡献点：", "**Contribution Points** (in English):") carry no
content and are dropped. Text without that structure is cut into paragraphs,
and long paragraphs into sentence windows.

The title is not part of a chunk's text; it is prepended when embedding
(:meth:`Chunk.embed_text`) so every chunk is found by title words too, and a
contribution point is embedded with the start of the summary paragraph as
context ("contextual chunk embedding"). One more chunk per paper, section
``paper``, holds the whole summary so questions that combine several of its
points find it. On the development set (bench/search.py) this lifted dense
hit@1 from 0.772 to 0.832 and MRR from 0.846 to 0.875 over plain chunks.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from index.corpus import Paper, detect_language

MAX_CHUNK_CHARS = 600
CONTEXT_CHARS = 200
SENTENCE_PIECE_CHARS = 300
"""The longest piece :func:`split_sentences` returns. A longer sentence is cut (at a comma or a space when
there is one), so one sentence can never take more than its share of the evidence budget, whatever the
index holds: the bundled summaries' longest sentence has 215 characters."""
_PIECE_BREAK_RE = re.compile(r"[，、；：,;:]\s*|\s+")
_POINT_RE = re.compile(r"^(\d{1,2})\s*[.、)）](?!\d)\s*")
_BULLET_RE = re.compile(r"^[-*•]\s+")
_CLAUSE_RE = re.compile(r"[，。；,;.:：]")
_HEADING_WORD_RE = re.compile(r"总结|贡献|摘要|要点|summary|contribution", re.IGNORECASE)
_NOISE_RE = re.compile(r"[-=*_\s]{3,}|[（(]\s*\d+\s*字\s*(?:以内|内)?\s*[)）]")
_SENTENCE_END_RE = re.compile(r"(?<=[。！？!?；;])|(?<=\.)\s+(?=[A-Z\u3400-\u9fff])")


@dataclass(frozen=True)
class Chunk:
    paper: Paper
    index: int
    section: str
    text: str
    context: str = ""
    """Text embedded with the chunk but not part of it (the summary's start, for a point)."""

    @property
    def id(self) -> str:
        return f"{self.paper.arxiv_id}#{self.index}"

    @property
    def embed_text(self) -> str:
        return "\n".join(part for part in (self.paper.title, self.context, self.text) if part)

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.embed_text.encode("utf-8")).hexdigest()[:16]

    @property
    def metadata(self) -> dict:
        return {
            "arxiv_id": self.paper.arxiv_id,
            "base_id": self.paper.base_id,
            "version": self.paper.version,
            "title": self.paper.title,
            "url": self.paper.url,
            "section": self.section,
            "chunk_index": self.index,
            "content_hash": self.content_hash,
            "language": detect_language(self.text),
        }


def is_heading(line: str) -> bool:
    """A short line that only announces what follows ("总结：", "Contribution Points (in English):")."""
    if _POINT_RE.match(line):
        return False
    has_heading_word = bool(_HEADING_WORD_RE.search(line))
    if line.endswith((":", "：")):
        return len(line) <= 12 or (has_heading_word and len(line) <= 40 and not _CLAUSE_RE.search(line[:-1]))
    return has_heading_word and len(line) <= 16 and not _CLAUSE_RE.search(line)


def is_noise(line: str) -> bool:
    """Rules (---) and length notes ("（99字）") that summaries sometimes end with."""
    return bool(_NOISE_RE.fullmatch(line))


def chunk_paper(paper: Paper) -> list[Chunk]:
    """Summary paragraph(s) and each numbered contribution point, in order.

    A point runs from its number to the next point, heading or blank line, so
    its sub-bullets and wrapped lines stay with it.
    """
    sections: list[tuple[str, str]] = []
    current: list[str] = []
    current_section = "summary"

    def flush() -> None:
        if current:
            for piece in _windows(" ".join(current)):
                sections.append((current_section, piece))
            current.clear()

    for line in paper.summary.splitlines():
        line = line.strip()
        if not line or is_heading(line) or is_noise(line):
            flush()
            current_section = "summary"
            continue
        point = _POINT_RE.match(line)
        if point:
            flush()
            current_section = f"contribution {point.group(1)}"
            line = line[point.end():].strip()
        line = _BULLET_RE.sub("", line)
        if line:
            current.append(line)
    flush()
    if not sections:  # nothing but headings: keep the text rather than lose the paper
        sections.append(("summary", " ".join(paper.summary.split())))
    context = " ".join(text for section, text in sections if section == "summary")[:CONTEXT_CHARS]
    chunks = [Chunk(paper, i, section, text, context if section != "summary" else "")
              for i, (section, text) in enumerate(sections)]
    whole = " ".join(text for _, text in sections)
    return chunks + [Chunk(paper, len(chunks), "paper", whole)]


def split_sentences(text: str, max_chars: int | None = SENTENCE_PIECE_CHARS) -> list[str]:
    """Sentences of mixed Chinese/English text, each cut into pieces of at most ``max_chars`` (None: uncut)."""
    sentences = [s.strip() for s in _SENTENCE_END_RE.split(text) if s and s.strip()]
    if max_chars is None or all(len(s) <= max_chars for s in sentences):
        return sentences
    return [piece for sentence in sentences for piece in _pieces(sentence, max_chars)]


def _pieces(sentence: str, max_chars: int) -> list[str]:
    """``sentence`` in pieces of at most ``max_chars``, cut after the last comma or space of each piece
    when that leaves at least half of it, else at the limit."""
    pieces, start = [], 0
    while len(sentence) - start > max_chars:
        end = start + max_chars
        breaks = [m.end() for m in _PIECE_BREAK_RE.finditer(sentence, start, end + 1) if m.end() <= end]
        cut = breaks[-1] if breaks and breaks[-1] - start >= max_chars // 2 else end
        pieces.append(sentence[start:cut].strip())
        start = cut
    pieces.append(sentence[start:].strip())
    return [piece for piece in pieces if piece]


def _windows(text: str) -> list[str]:
    """Keep text whole up to MAX_CHUNK_CHARS; cut longer text at sentence ends."""
    if len(text) <= MAX_CHUNK_CHARS:
        return [text]
    pieces, current = [], ""
    for sentence in split_sentences(text):
        if current and len(current) + len(sentence) + 1 > MAX_CHUNK_CHARS:
            pieces.append(current)
            current = ""
        current = f"{current} {sentence}".strip() if current else sentence
    if current:
        pieces.append(current)
    return pieces
