"""Does the evidence a sentence cites support it? Pluggable judges, cheapest first.

* :class:`LexicalJudge`: every number and English term of the sentence must
  appear in the evidence (a swapped number or method name fails). Says
  nothing (None) about a sentence without numbers or terms.
* :class:`EmbeddingJudge`: cross-lingual e5 similarity between the sentence
  and its best evidence sentence.
* :class:`LLMJudge`: the local model asked "is the claim supported?", reading
  the probability of "yes" from its next-token distribution.

:class:`CascadeJudge` asks them in order and keeps the first answer that is
not None, so the cheap checks decide whenever they can.

Each supported sentence also records *which* evidence sentences support it
(:func:`evidence_of`), as the judge that decided matched them: the lexical judge
the sentences holding its numbers and names, the embedding judge the nearest
sentence. The LLM judge reads the whole evidence and answers yes or no, pointing
at no sentence; its verdicts get the nearest sentence by e5 similarity.
"""

from __future__ import annotations

import re
from typing import Protocol

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.llms import ChatMessage

from assistant import prompts
from assistant.answer import Source
from assistant.lexical import lexical_evidence, lexical_support

EMBEDDING_SUPPORT = 0.86
"""e5 similarity at or above which a sentence counts as supported (e5 scores bunch in 0.7-0.9)."""
LLM_SUPPORT = 0.5


class SupportJudge(Protocol):
    name: str

    def __call__(self, claim: str, evidence: list[str]) -> bool | None:
        """True/False, or None when this judge cannot tell."""


class LexicalJudge:
    name = "lexical"

    def __call__(self, claim: str, evidence: list[str]) -> bool | None:
        return lexical_support(claim, " ".join(evidence)).supported

    def locate(self, claim: str, evidence: list[str]) -> list[int]:
        """The evidence sentences holding the claim's numbers and names."""
        return lexical_evidence(claim, evidence)


class EmbeddingJudge:
    """Best similarity of the claim to any evidence sentence; each evidence sentence is embedded once."""

    name = "embedding"

    def __init__(self, embed_model: BaseEmbedding, threshold: float = EMBEDDING_SUPPORT):
        self.embed_model = embed_model
        self.threshold = threshold
        self._vectors: dict[str, np.ndarray] = {}

    def similarities(self, claim: str, evidence: list[str]) -> list[float]:
        """The claim's similarity to each evidence sentence."""
        if not claim or not evidence:
            return [0.0] * len(evidence)
        new = [e for e in dict.fromkeys(evidence) if e not in self._vectors]
        if new:
            self._vectors.update(zip(new, np.array(self.embed_model.get_text_embedding_batch(new))))
        query = np.array(self.embed_model.get_query_embedding(claim))
        return [float(self._vectors[e] @ query) for e in evidence]

    def similarity(self, claim: str, evidence: list[str]) -> float:
        return max(self.similarities(claim, evidence), default=0.0)

    def __call__(self, claim: str, evidence: list[str]) -> bool | None:
        return self.similarity(claim, evidence) >= self.threshold

    def locate(self, claim: str, evidence: list[str]) -> list[int]:
        """The evidence sentence nearest to the claim."""
        scores = self.similarities(claim, evidence)
        return [int(np.argmax(scores))] if claim and scores else []


def judge_messages(claim: str, evidence: list[str]) -> list[ChatMessage]:
    """The yes/no question the LLM judge is asked."""
    bullets = "\n".join(f"- {prompts.sanitize(e)}" for e in evidence)
    return [ChatMessage(role="system", content=prompts.JUDGE_SYSTEM),
            ChatMessage(role="user", content=prompts.JUDGE_USER.format(evidence=bullets,
                                                                       claim=prompts.sanitize(claim)))]


class LLMJudge:
    """The local model as a yes/no judge (``LocalLlamaLLM.yes_probability``)."""

    name = "llm"

    def __init__(self, llm, threshold: float = LLM_SUPPORT):
        self.llm = llm
        self.threshold = threshold

    def probability(self, claim: str, evidence: list[str]) -> float:
        return self.llm.yes_probability(judge_messages(claim, evidence))

    def __call__(self, claim: str, evidence: list[str]) -> bool | None:
        return self.probability(claim, evidence) >= self.threshold


class CascadeJudge:
    """The first judge with an opinion decides."""

    def __init__(self, judges: list[SupportJudge]):
        self.judges = judges

    @property
    def name(self) -> str:
        return "+".join(j.name for j in self.judges)

    def decide(self, claim: str, evidence: list[str]) -> tuple[bool | None, str]:
        """The verdict and the name of the judge that gave it."""
        for judge in self.judges:
            verdict = judge(claim, evidence)
            if verdict is not None:
                return verdict, judge.name
        return None, ""

    def __call__(self, claim: str, evidence: list[str]) -> bool | None:
        return self.decide(claim, evidence)[0]

    def locate(self, claim: str, evidence: list[str], decided_by: str) -> list[int]:
        """Positions in ``evidence`` of what supports ``claim``, as the judge named ``decided_by`` matched them.

        A judge that points at no sentence (the LLM's yes/no), or points at none here (the lexical judge when
        the claim's names are only in a title), leaves it to the next judge of the cascade that can.
        """
        ordered = sorted(self.judges, key=lambda j: j.name != decided_by)
        for judge in ordered:
            found = judge.locate(claim, evidence) if hasattr(judge, "locate") else []
            if found:
                return found
        return []


_QUOTE_CHARS_RE = re.compile(r"[“”\"'「」『』\s]|[（(](?:quoted|原文)[)）]")


def quoted_position(claim: str, evidence: list[str]) -> int | None:
    """The position of the evidence sentence ``claim`` quotes (all of it, or a part of it, as written), or None."""
    core = _QUOTE_CHARS_RE.sub("", claim).strip(":：-–—。.,，;；")
    if len(core) < 8:
        return None
    return next((i for i, e in enumerate(evidence) if core in _QUOTE_CHARS_RE.sub("", e)), None)


def evidence_of(claim: str, sources: list[Source], method: str, judge: CascadeJudge | None = None) -> list[dict]:
    """``SentenceVerdict.evidence`` of a supported ``claim``: ``{"arxiv_id", "index"}`` into ``sources``' sentences.

    Args:
        claim: the sentence as judged (citations and titles taken out).
        sources: the sources it cites (or was attributed to).
        method: the check that decided: ``quoted`` points at the quoted sentence; any other at what ``judge``'s
            judge of that name matched (see :meth:`CascadeJudge.locate`).
        judge: the cascade that decided; needed unless ``method`` is ``quoted``.
    """
    where = [(s.arxiv_id, i) for s in sources for i in range(len(s.sentences))]
    sentences = [x for s in sources for x in s.sentences]
    if method == "quoted":
        position = quoted_position(claim, sentences)
        positions = [] if position is None else [position]
    elif judge is not None:
        positions = judge.locate(claim, sentences, method)
    else:
        positions = []
    return [{"arxiv_id": where[p][0], "index": where[p][1]} for p in positions]
