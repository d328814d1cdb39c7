"""Questions that compare the versions of a paper, answered from the evidence, not generated.

A small model reads "v1: 200+ hours, v2: 100+ hours" and still writes that v1
says 100+. What differs between versions is a fact of the text, so it is
computed, and the answer quotes the sentences that differ, each cited to its
version:

* the items that vary: numbers (by value) and names found in some versions but
  not all (2506.00267: 200+ in v1, 100+ in v2 and v3);
* per version, the sentences carrying those items, the question's own items
  first ("which version mentions SALMONN?" is answered by where SALMONN is);
* when no number or name varies, the sentence least like anything in the
  other versions (new content, reworded).

The summaries are machine-written per version, so wording always differs;
only items and new content count as differences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from assistant import prompts
from assistant.answer import Source
from assistant.lexical import checkable_items
from assistant.retrieval import HybridRetriever, PaperResult
from index.chunking import split_sentences
from index.ids import parse_arxiv_id, version_label

_COMPARISON_RE = re.compile(
    r"chang|differ|between|compar|which version|what version|(later|earlier|other|new|old)e?r? versions?|revis"
    r"|updat|区别|差别|差异|不同|变化|改动|修改|更新|相比|哪个版本|哪一版|哪一个版本|哪版|后续版本|之后的版本|后来的版本",
    re.IGNORECASE)
_VERSION_WORD_RE = re.compile(r"(?<![A-Za-z0-9.])v(\d+)\b", re.IGNORECASE)
_VERSIONS_RE = re.compile(r"\bversions?\b|(?<![A-Za-z0-9.])v\d+\b|版本|哪一版|哪版", re.IGNORECASE)
SENTENCES_PER_VERSION = 2
NEW_CONTENT = 0.5
"""A sentence whose best match in every other version is below this similarity says something new."""


def is_comparison(question: str) -> bool:
    """Does the question ask how versions differ, or which version says something?"""
    return bool(_VERSIONS_RE.search(question) and _COMPARISON_RE.search(question))


def compared_versions(paper: PaperResult, question: str) -> list[str]:
    """The versions the question names ("v3 and v4"), or all of them."""
    named = {int(n) for n in _VERSION_WORD_RE.findall(question)}
    chosen = [v for v in paper.versions if parse_arxiv_id(v)[2] in named]
    return chosen if len(chosen) >= 2 else paper.versions


@dataclass
class Comparison:
    sources: list[Source]
    """One per compared version, oldest first, holding every sentence quoted for it."""
    sections: list[tuple[dict[str, str], dict[str, list[str]]]] = field(default_factory=list)
    """The answer's parts: a heading (per language, from prompts) and the sentences quoted per version."""


def compare(paper: PaperResult, retriever: HybridRetriever, question: str) -> Comparison:
    """Per compared version, what it says on the question and where it differs from the others."""
    versions = compared_versions(paper, question)
    texts = {v: [s for c in retriever.chunks_of(v) if c.metadata["section"] != "paper"
                 for s in split_sentences(c.text)] for v in versions}
    items = {v: [checkable_items(s) for s in sentences] for v, sentences in texts.items()}
    present = {v: set().union(*found) for v, found in items.items()}
    varying = set().union(*present.values()) - set.intersection(*present.values())
    asked = checkable_items(question) & varying

    def counterparts(anchor: str, of: list[str]) -> dict[str, list[str]]:
        return {v: [max(texts[v], key=lambda s: _similarity(s, anchor))] for v in of if texts[v]}

    sections = []
    on_topic: dict[str, list[str]] = {}
    nearest = [c for v in versions for c in retriever.ranked_chunks_of(v, question)[:3]
               if c.metadata["section"] != "paper"]
    if not asked and nearest:
        # The passage nearest to the question, and its counterpart in each other version, side by side.
        on_topic = counterparts(split_sentences(max(nearest, key=lambda c: c.score).text)[0], versions)
        found = [checkable_items(q[0]) for q in on_topic.values()]
        agree = all(found) and all(f == found[0] for f in found)
        sections.append((prompts.VERSIONS_AGREE if agree else prompts.VERSIONS_ON_TOPIC, on_topic))

    differing: dict[str, list[str]] = {}
    for version, sentences in texts.items():
        others = [s for v, ss in texts.items() if v != version for s in ss]
        scored = []
        for sentence, found in zip(sentences, items[version]):
            novelty = 1 - max((_similarity(sentence, o) for o in others), default=0.0)
            if (found & varying or novelty > NEW_CONTENT) and sentence not in on_topic.get(version, []):
                scored.append((len(found & asked), len(found & varying), novelty, sentence))
        if asked:  # "which version mentions X": only where X is
            scored = [row for row in scored if row[0]]
        differing[version] = [row[-1] for row in sorted(scored, key=lambda row: row[:3], reverse=True)
                              [:SENTENCES_PER_VERSION]]
    if asked:
        sections.append((prompts.VERSIONS_ASKED, differing))
        anchor = next(q[0] for q in differing.values() if q)
        sections.append((prompts.VERSIONS_ELSEWHERE, counterparts(anchor, [v for v in versions if not differing[v]])))
    elif any(differing.values()):
        sections.append((prompts.VERSIONS_DIFFER, differing))
    else:
        sections.append((prompts.VERSIONS_NOTHING_ELSE, {}))

    quoted = {v: [q for _, quotes in sections for q in quotes.get(v, [])] for v in versions}
    sources = [Source(arxiv_id=v, base_id=paper.base_id, title=paper.title,
                      url=retriever.chunks_of(v)[0].metadata["url"], score=paper.score,
                      sentences=quoted[v], versions=paper.versions) for v in versions if quoted[v]]
    return Comparison(sources, [(h, q) for h, q in sections if q or h is prompts.VERSIONS_NOTHING_ELSE])


def compose(comparison: Comparison, language: str) -> tuple[str, list[str]]:
    """The answer, and its framing lines (headings that state nothing to check); every quote is cited."""
    sources = comparison.sources
    versions = sources[0].versions
    labels = ", ".join(version_label(v) for v in versions)
    framing = [prompts.VERSIONS_INTRO[language].format(title=sources[0].title, count=len(versions), labels=labels)]
    lines = list(framing)
    for heading, quotes in comparison.sections:
        framing.append(heading[language])
        lines += ["", heading[language]]  # a blank line, or markdown continues the list item above
        lines.extend(f"- {version_label(v)}: {q} [arXiv:{v}]" for v in versions for q in quotes.get(v, []))
    return "\n".join(lines), framing


def _similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio()
