"""Support judges: does this evidence support this answer sentence? Plus the eval's own prompts.

The citation metrics (ALCE recall and precision) and faithfulness ask one
question many times: does the evidence, all of it taken together, support
the claim? Which judge answers it is a choice, and the report names it:

- ``lexical``: every number and technical term of the claim must occur in
  the evidence (:func:`assistant.citations.lexical_support`: ``30万`` =
  ``300,000``); a claim with neither (plain Chinese prose) is decided by the
  share of its words (jieba for Chinese) found in the evidence.
- ``embedding``: the best cross-lingual e5 similarity between the claim and
  one evidence sentence reaches the engine's threshold. Blind to swapped numbers.
- ``cheap``: ``lexical`` when the claim has numbers or terms, else
  ``embedding``; the same check the answer engine runs on its own answers.
- ``llm``: the bundled Qwen model asked a yes/no question, read as
  P(yes) / (P(yes) + P(no)) from the first token's log-probabilities
  (:meth:`assistant.local_llm.LocalLlamaLLM.yes_probability`); supported at 0.5.
  The 1.5B model reads meaning well across languages but often accepts a
  swapped number or method name.
- ``lexical+llm``: a number or term missing from the evidence rejects the
  claim; otherwise ``llm`` decides. The best agreement of the five.

How far each judge agrees with people is measured on a hand-labelled set,
``evals/datasets/support_pairs.jsonl``: :func:`judge_agreement`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.llms import ChatMessage

from assistant.citations import lexical_support, strip_citations
from assistant.settings import Settings

JUDGES = ("lexical", "embedding", "cheap", "llm", "lexical+llm")
SUPPORT_PAIRS = Path(__file__).resolve().parent / "datasets" / "support_pairs.jsonl"

EMBEDDING_SUPPORT = 0.86
"""e5 similarity at or above which ``embedding`` accepts a claim: the answer engine's own threshold."""
LEXICAL_OVERLAP = 0.6
"""Share of a claim's words found in the evidence at which ``lexical`` accepts a claim without numbers or terms."""
LLM_SUPPORT = 0.5
"""P(yes) at or above which the ``llm`` judge counts a claim as supported."""

# --- prompts (the eval's only prompts) ----------------------------------------

# The evidence goes before the claim: sentences of one answer citing the same
# paper share the prompt prefix, which llama.cpp then evaluates only once.
SUPPORT_SYSTEM = (
    "You check answers about research papers against evidence. Reply with one word: yes or no."
)
SUPPORT_USER = (
    "Evidence:\n{evidence}\n\n"
    "Claim: {claim}\n\n"
    "Is every part of the claim stated in the evidence, with the same numbers and the same method and model names? "
    "The evidence and the claim may be in different languages. Reply yes or no."
)


def support_messages(claim: str, evidence: Sequence[str]) -> list[ChatMessage]:
    """The yes/no question the ``llm`` judge asks."""
    return [ChatMessage(role="system", content=SUPPORT_SYSTEM),
            ChatMessage(role="user", content=SUPPORT_USER.format(evidence="\n".join(f"- {e}" for e in evidence),
                                                                 claim=claim))]


# --- judges ------------------------------------------------------------------------

class SupportJudge:
    """Base of the judges: ``judge(claim, evidence) -> bool``, each distinct question answered once."""

    name = "base"

    def __init__(self):
        self._cache: dict[tuple[str, tuple[str, ...]], bool] = {}
        self.calls = 0
        """Questions actually decided (not served from the cache)."""

    def __call__(self, claim: str, evidence: Sequence[str]) -> bool:
        claim = strip_citations(claim).strip()
        evidence = tuple(line for text in evidence for line in text.splitlines() if line.strip())
        if not claim or not evidence:
            return False
        key = (claim, evidence)
        if key not in self._cache:
            self.calls += 1
            self._cache[key] = self.decide(claim, list(evidence))
        return self._cache[key]

    def decide(self, claim: str, evidence: list[str]) -> bool:
        raise NotImplementedError


class LexicalJudge(SupportJudge):
    name = "lexical"

    def decide(self, claim: str, evidence: list[str]) -> bool:
        verdict = lexical_support(claim, " ".join(evidence))
        if verdict.supported is not None:
            return verdict.supported
        from assistant.retrieval import tokenize  # jieba and bm25s: loaded only when a claim needs them

        words = set(tokenize(claim))
        if not words:
            return False
        found = set(tokenize(" ".join(evidence)))
        return len(words & found) / len(words) >= LEXICAL_OVERLAP


class EmbeddingJudge(SupportJudge):
    name = "embedding"

    def __init__(self, embed_model: BaseEmbedding, threshold: float = EMBEDDING_SUPPORT):
        super().__init__()
        self.embed_model = embed_model
        self.threshold = threshold
        self._vectors: dict[str, np.ndarray] = {}

    def similarity(self, claim: str, evidence: list[str]) -> float:
        """Best e5 similarity of the claim (as a query) to one evidence sentence (as a passage)."""
        new = [e for e in dict.fromkeys(evidence) if e not in self._vectors]
        if new:
            self._vectors.update(zip(new, np.array(self.embed_model.get_text_embedding_batch(new))))
        query = np.array(self.embed_model.get_query_embedding(claim))
        return float(max(self._vectors[e] @ query for e in evidence))

    def decide(self, claim: str, evidence: list[str]) -> bool:
        return self.similarity(claim, evidence) >= self.threshold


class CheapJudge(SupportJudge):
    name = "cheap"

    def __init__(self, embed_model: BaseEmbedding):
        super().__init__()
        self.embedding = EmbeddingJudge(embed_model)

    def decide(self, claim: str, evidence: list[str]) -> bool:
        verdict = lexical_support(claim, " ".join(evidence))
        if verdict.supported is not None:
            return verdict.supported
        return self.embedding.decide(claim, evidence)


class LlmJudge(SupportJudge):
    name = "llm"

    def __init__(self, llm, threshold: float = LLM_SUPPORT):
        """``llm``: anything with ``yes_probability(messages) -> float``, e.g. ``LocalLlamaLLM``."""
        super().__init__()
        self.llm = llm
        self.threshold = threshold

    def decide(self, claim: str, evidence: list[str]) -> bool:
        return self.llm.yes_probability(support_messages(claim, evidence)) >= self.threshold


class LexicalVetoLlmJudge(SupportJudge):
    name = "lexical+llm"

    def __init__(self, llm):
        super().__init__()
        self.llm_judge = LlmJudge(llm)

    def decide(self, claim: str, evidence: list[str]) -> bool:
        if lexical_support(claim, " ".join(evidence)).supported is False:
            return False
        return self.llm_judge.decide(claim, evidence)


def load_judge(name: str, embed_model: BaseEmbedding, settings: Settings, llm=None) -> SupportJudge:
    """The judge called ``name``; ``llm`` reuses an already loaded model that has ``yes_probability``.

    Raises:
        ValueError: for an unknown name.
    """
    if name == "lexical":
        return LexicalJudge()
    if name == "embedding":
        return EmbeddingJudge(embed_model)
    if name == "cheap":
        return CheapJudge(embed_model)
    if name in ("llm", "lexical+llm"):
        if llm is None or not hasattr(llm, "yes_probability"):
            from assistant.local_llm import LocalLlamaLLM, bundled_model_path

            llm = LocalLlamaLLM(bundled_model_path(settings.model_cache_dir))
        return LlmJudge(llm) if name == "llm" else LexicalVetoLlmJudge(llm)
    raise ValueError(f"unknown judge {name!r}: choose one of {', '.join(JUDGES)}")


# --- agreement with people --------------------------------------------------------

def load_support_pairs(path: Path = SUPPORT_PAIRS) -> list[dict]:
    """Hand-labelled (sentence, evidence, supported) pairs, one JSON object a line."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def judge_agreement(judge: SupportJudge, pairs: list[dict]) -> dict:
    """How often ``judge`` agrees with the hand labels, overall and by kind of pair.

    Returns:
        ``{"judge", "pairs", "agreement", "kappa", "false_support", "false_reject",
        "by_kind": {kind: agreement}, "by_lang": {lang: agreement}, "seconds"}``;
        ``false_support`` counts unsupported pairs the judge accepted.
    """
    started = time.perf_counter()
    rows = []
    for pair in pairs:
        # As in a run, the evidence of a citation starts with the paper's title, which the model was shown too.
        verdict = judge(pair["sentence"], [pair["title"], pair["evidence"]] if pair.get("title") else [pair["evidence"]])
        rows.append((pair, verdict, verdict == pair["supported"]))
    seconds = time.perf_counter() - started

    def share(selected) -> float:
        selected = list(selected)
        return round(sum(ok for _, _, ok in selected) / len(selected), 3) if selected else None

    n = len(rows)
    observed = sum(ok for _, _, ok in rows) / n if n else 0.0
    judge_yes = sum(v for _, v, _ in rows) / n if n else 0.0
    human_yes = sum(p["supported"] for p, _, _ in rows) / n if n else 0.0
    chance = judge_yes * human_yes + (1 - judge_yes) * (1 - human_yes)
    kinds = sorted({p.get("kind", "") for p in pairs})
    langs = sorted({p.get("lang", "") for p in pairs})
    return {
        "judge": judge.name,
        "pairs": n,
        "agreement": round(observed, 3),
        "kappa": round((observed - chance) / (1 - chance), 3) if chance < 1 else None,
        "false_support": sum(v and not p["supported"] for p, v, _ in rows),
        "false_reject": sum(p["supported"] and not v for p, v, _ in rows),
        "by_kind": {k: share(r for r in rows if r[0].get("kind", "") == k) for k in kinds},
        "by_lang": {lang: share(r for r in rows if r[0].get("lang", "") == lang) for lang in langs},
        "disagreements": [p["id"] for p, _, ok in rows if not ok],
        "seconds": round(seconds, 2),
    }
