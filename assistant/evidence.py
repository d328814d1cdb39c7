"""Choose the evidence sentences shown to the model, within a token budget.

Time to the first token is prompt tokens ÷ prefill rate (~85 tokens/s for
the bundled 1.5B model on 2 cores), so the model gets the sentences that
matter, not whole summaries: the best-matching chunks of each retrieved
paper, best paper first, until the budget is spent.

Versions: the newest version of a paper is the evidence by default. When the
question asks about versions, or names one, each version whose text differs
gets its own labelled evidence, so the answer can say what changed.
"""

from __future__ import annotations

import re

from assistant.answer import Source
from assistant.retrieval import HybridRetriever, Retrieval
from index.chunking import split_sentences
from index.corpus import parse_arxiv_id
from index.store import StoredChunk

_VERSION_QUESTION_RE = re.compile(r"\bversions?\b|\bv\d\b|版本|哪一版|改动|变化|更新|revis", re.IGNORECASE)
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*\+?%?")
# Share of the budget for the 1st, 2nd, ... paper: the best match deserves the most room.
_SHARES = (0.4, 0.25, 0.2, 0.15, 0.1, 0.1)


def estimate_tokens(text: str) -> int:
    """Rough Qwen token count: one per Chinese character, ~1.3 per English word or number."""
    cjk = len(re.findall(r"[\u3400-\u9fff]", text))
    words = len(re.findall(r"[A-Za-z0-9]+", text))
    return cjk + int(words * 1.3) + 1


def is_version_question(question: str) -> bool:
    return bool(_VERSION_QUESTION_RE.search(question))


def select_evidence(retrieval: Retrieval, retriever: HybridRetriever, question: str, budget: int) -> list[Source]:
    """Evidence per paper (and per differing version when versions matter), best first."""
    asked_versions = {parse_arxiv_id(i)[0] for i in retrieval.requested_ids
                      if "v" in i.lower() and i not in retrieval.missing_ids}
    about_versions = is_version_question(question)
    sources: list[Source] = []
    for rank, paper in enumerate(retrieval.papers):
        share = int(budget * _SHARES[min(rank, len(_SHARES) - 1)])
        named = [v for v in paper.versions if v in asked_versions]
        if named:
            versions = named
        elif about_versions and len(paper.versions) > 1:
            versions = paper.versions
        else:
            versions = [paper.newest]
        per_version = max(share // len(versions), 60)
        texts = {v: [c.text for c in retriever.chunks_of(v) if c.metadata["section"] != "paper"] for v in versions}
        for version in versions:
            if named or len(versions) > 1:
                chunks = [c for c in retriever.ranked_chunks_of(version, question) if c.metadata["section"] != "paper"]
            else:
                chunks = _ranked_chunks(paper.chunks, retriever.chunks_of(version))
            if len(versions) > 1:
                # What this version says differently from another version first, numbers that differ above all
                # (2506.00267: "200+小时" in v1, "100+小时" later).
                shared = set.intersection(*(set(ts) for ts in texts.values()))
                shared_numbers = set.intersection(*(set(_NUMBER_RE.findall(" ".join(ts))) for ts in texts.values()))
                chunks.sort(key=lambda c: (not set(_NUMBER_RE.findall(c.text)) - shared_numbers, c.text in shared))
            sentences = _fill(chunks, per_version)
            sources.append(Source(arxiv_id=version, base_id=paper.base_id, title=paper.title,
                                  url=chunks[0].metadata["url"] if chunks else "", score=paper.score,
                                  sentences=sentences, versions=paper.versions))
    return sources


def _ranked_chunks(matched: list[StoredChunk], version_chunks: list[StoredChunk]) -> list[StoredChunk]:
    """The version's chunks in the order the question matched them (matches in any version count)."""
    body = [c for c in version_chunks if c.metadata["section"] != "paper"]
    by_id = {c.id: rank for rank, c in enumerate(matched)}
    by_index: dict[int, int] = {}
    for rank, chunk in enumerate(matched):
        if chunk.metadata["section"] != "paper":
            by_index.setdefault(chunk.metadata["chunk_index"], rank)
    # The chunk's own match first, else its counterpart's in another version; unmatched ones in reading order.
    unmatched = len(matched)
    return sorted(body, key=lambda c: by_id.get(c.id, by_index.get(c.metadata["chunk_index"],
                                                                    unmatched + c.metadata["chunk_index"])))


def _fill(chunks: list[StoredChunk], budget: int) -> list[str]:
    sentences: list[str] = []
    used = 0
    for chunk in chunks:
        for sentence in split_sentences(chunk.text):
            cost = estimate_tokens(sentence)
            if sentences and used + cost > budget:
                return sentences
            sentences.append(sentence)
            used += cost
    return sentences
