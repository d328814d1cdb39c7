"""Answers to "Which papers use X?" when X is a name the collection holds: every paper whose summary says it.

A ranking shows the few papers that match a question best; "Which papers use CTC?" asks for all of them and only
them, and the name settles which. Over the dev questions of this kind, the bundled model cited one of the two CTC
papers (the other ranked below the evidence shown), and one of the two LibriSpeech papers for a Chinese question
(the other's summary is English, which dense search does not reach from Chinese). A scan of the collection for
the name finds both, in any language, and each paper's sentence holding the name says what it does with it.

So the answer is composed, not generated: the papers whose summaries hold a name the question asks about (those
holding more of them first, then in ranking order), each with its title and its best sentence for the question
among those holding a name, quoted and cited. A name the question leaves out ("不算DPO") is not searched for. The
model is not asked: the list is exact, and it comes in milliseconds.
"""

from __future__ import annotations

import re

from assistant import prompts
from assistant.answer import Source
from assistant.answerability import specific_terms
from assistant.asked import asks_for_papers, negated
from assistant.evidence import MAX_SENTENCE_TOKENS, cut_sentence, score_sentences
from assistant.retrieval import HybridRetriever, Retrieval
from assistant.scope import Scope

MAX_LISTED = 8
"""Papers quoted in one answer; more are named by ID after them (a common name may be in many summaries)."""
MAX_SCANNED = 200
"""A name in more papers than this selects nothing worth listing (and reading them all would slow the answer in a
big collection): the question is answered from the ranking instead."""


def listed_names(question: str, retrieval: Retrieval) -> list[str]:
    """The names "Which papers …?" asks about, as the question writes them, unless it leaves them out; [] when
    the question is not such a list question (or names an arXiv ID)."""
    if retrieval.requested_ids or not asks_for_papers(question):
        return []
    names = [t for t in specific_terms(question, capitalised=True) if not negated(question, t)]
    return [m[0] for name in names
            if (m := re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", question, re.IGNORECASE))]


def _holds(name: str, text: str) -> bool:
    """``name`` as a word of ``text`` in any case ("基于DPO的" holds DPO), or inside a word with its own capitals
    ("QLoRA" and "MrDPO" hold LoRA and DPO; "exploration" does not hold "lora")."""
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}{_END}", text, re.IGNORECASE) is not None or \
        (name != name.lower() and re.search(rf"{re.escape(name)}(?![a-z]|\.\d)", text) is not None)


_END = r"(?![A-Za-z0-9]|\.\d)"
"""Where a name ends: not before a letter, a digit, or a version's point ("Qwen2" is not in "Qwen2.5")."""


def named_sources(question: str, names: list[str], retrieval: Retrieval, retriever: HybridRetriever,
                  scope: Scope | None = None) -> tuple[list[Source], list[str]]:
    """The newest version of each paper whose summary holds any of ``names`` (more of them, then better ranked,
    first), with its
    sentence that best answers the question among those holding a name; [] when no summary holds one."""
    held: dict[str, int] = {}  # newest version in scope → how many of the names its summary holds
    ranked = {p.base_id: n for n, p in enumerate(retrieval.papers)}
    candidates = set().union(*(retriever.papers_with_text(name) for name in names))
    if len(candidates) > MAX_SCANNED:
        return [], []
    for base in sorted(candidates, key=lambda b: (ranked.get(b, len(ranked)), b)):
        versions = [v for v in retriever.versions_of(base) if scope is None or v in scope.arxiv_ids]
        body = " ".join(c.text for c in retriever.chunks_of(versions[-1])
                        if c.metadata["section"] != "paper") if versions else ""
        if count := sum(_holds(name, body) for name in names):
            held[versions[-1]] = count
    # "Which papers use LoRA or QLoRA?": a paper holding any of the names; those holding more of them first
    chosen = sorted(held, key=lambda version: -held[version])
    if not chosen:
        return [], []
    similarities = retriever.chunk_similarities(question, chosen)
    sources = []
    for version in chosen:
        chunks = retriever.chunks_of(version)
        sentences = [s for _, s in score_sentences(question, chunks, similarities, retriever)
                     if any(_holds(n, s) for n in names)]
        if not sentences:  # the name is in a chunk's heading only: the paper's best sentence says what it does
            sentences = [s for _, s in score_sentences(question, chunks, similarities, retriever)][:1]
        base = chunks[0].metadata["base_id"]
        sources.append(Source(arxiv_id=version, base_id=base, title=chunks[0].metadata["title"],
                              url=chunks[0].metadata["url"], score=1.0 / (1 + ranked.get(base, len(ranked))),
                              sentences=[cut_sentence(s, MAX_SENTENCE_TOKENS) for s in sentences[:1]],
                              versions=retriever.versions_of(base)))
    said = " ".join(s.sentences[0] for s in sources)
    return sources, [name for name in names if _holds(name, said)] or names


def listing_answer(sources: list[Source], names: list[str], language: str) -> tuple[str, str]:
    """The list: an opening saying what was searched for and how many papers hold it, then each paper's title and
    quoted sentence. Returns the text and its opening (framing, not a claim to check)."""
    shown = prompts.LISTED_OR[language].join(names)
    opening = (prompts.LISTED_ONE if len(sources) == 1 else prompts.LISTED_INTRO)[language].format(
        names=shown, count=len(sources))
    lines = [opening]
    lines += [f"- {s.title}: “{s.sentences[0]}” [arXiv:{s.arxiv_id}]" for s in sources[:MAX_LISTED]]
    if len(sources) > MAX_LISTED:
        more = ", ".join(s.arxiv_id for s in sources[MAX_LISTED:])
        lines.append(prompts.LISTED_MORE[language].format(count=len(sources) - MAX_LISTED, ids=more))
    return "\n".join(lines), opening


_CITED_RE = re.compile(r"\[arXiv:([^\]\s]+)\]")
_TITLE_LINE_RE = re.compile(r"^\s*(?:(?:[-*]|\d+[.)])\s+)?\[arXiv:")
"""A line that opens a paper's entry: its ID first, after a list marker or none ("1. [arXiv:…] <title>")."""


def grouped_by_paper(text: str, sources: list[Source]) -> str:
    """A list the model wrote, each paper's lines together, papers in the order they first appear; a paper
    quoted without a line of its own gets its title line above the quote.

    Seen (dev q081, "Which papers address turn-taking …?"): the repair put one paper's quote under another
    paper's title, and the key quote of the first paper came under the third; the user reads each quote as
    the paper's above it. A line citing no paper stays with the line before it; a line citing several, or
    a title line ending in another paper's ID (a title removed after it), is left as written.
    """
    titles = {s.arxiv_id: s.title for s in sources}
    groups: dict[str | None, list[str]] = {None: []}
    last: str | None = None
    for line in text.splitlines():
        cited = list(dict.fromkeys(_CITED_RE.findall(line)))
        if len(cited) > 1:
            return text
        last = cited[0] if cited else last
        groups.setdefault(last, []).append(line)
    lines = groups.pop(None)
    openers = [line for group in groups.values() for line in group if _TITLE_LINE_RE.match(line)]
    marker = "" if openers and all(line.lstrip().startswith("[") for line in openers) else "- "
    for arxiv_id, group in groups.items():
        if not any(_TITLE_LINE_RE.match(line) for line in group) and titles.get(arxiv_id) \
                and not any(titles[arxiv_id] in line for line in group):
            group.insert(0, f"{marker}[arXiv:{arxiv_id}] {titles[arxiv_id]}")
        lines += group
    return "\n".join(lines)
