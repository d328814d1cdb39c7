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
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.llms import ChatMessage

from assistant import prompts
from assistant.citations import lexical_support

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


class EmbeddingJudge:
    """Best similarity of the claim to any evidence sentence; each evidence sentence is embedded once."""

    name = "embedding"

    def __init__(self, embed_model: BaseEmbedding, threshold: float = EMBEDDING_SUPPORT):
        self.embed_model = embed_model
        self.threshold = threshold
        self._vectors: dict[str, np.ndarray] = {}

    def similarity(self, claim: str, evidence: list[str]) -> float:
        if not claim or not evidence:
            return 0.0
        new = [e for e in dict.fromkeys(evidence) if e not in self._vectors]
        if new:
            self._vectors.update(zip(new, np.array(self.embed_model.get_text_embedding_batch(new))))
        query = np.array(self.embed_model.get_query_embedding(claim))
        return float(max(self._vectors[e] @ query for e in evidence))

    def __call__(self, claim: str, evidence: list[str]) -> bool | None:
        return self.similarity(claim, evidence) >= self.threshold


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
