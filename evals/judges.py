"""Support judges: does this evidence support this answer sentence?

The citation metrics (ALCE recall and precision) and faithfulness ask one
question many times: does the evidence, all of it taken together, support
the claim? Which judge answers it is a choice, and the report names it:

- ``lexical``: every number and technical term of the claim must occur in
  the evidence (:func:`assistant.lexical.lexical_support`: ``30万`` =
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
  claim; otherwise ``llm`` decides.
- ``lexical-then-llm``: ``lexical`` decides a claim with numbers or terms,
  ``llm`` the rest: the answer engine's own check (``PAPERCHAT_JUDGE=llm``).

How far each judge agrees with people is measured on a hand-labelled set,
``evals/datasets/support_pairs.jsonl``: :func:`judge_agreement`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding

from assistant import support
from assistant.citations import strip_citations
from assistant.settings import Settings

JUDGES = ("lexical", "embedding", "cheap", "llm", "lexical+llm", "lexical-then-llm")
SUPPORT_PAIRS = Path(__file__).resolve().parent / "datasets" / "support_pairs.jsonl"

LEXICAL_OVERLAP = 0.6
"""Share of a claim's words found in the evidence at which ``lexical`` accepts a claim without numbers or terms."""


class SupportJudge:
    """An eval judge: ``judge(claim, evidence) -> bool`` over the engine's judges (assistant/support.py),
    always with an answer, each distinct question decided once."""

    def __init__(self, name: str, decide):
        self.name = name
        self._decide = decide
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
            self._cache[key] = bool(self._decide(claim, list(evidence)))
        return self._cache[key]


def lexical_judge() -> SupportJudge:
    """Numbers and terms; a claim with neither is decided by the share of its words found in the evidence."""
    lexical = support.LexicalJudge()

    def decide(claim: str, evidence: list[str]) -> bool:
        verdict = lexical(claim, evidence)
        if verdict is not None:
            return verdict
        from assistant.retrieval import tokenize  # jieba and bm25s: loaded only when a claim needs them

        words = set(tokenize(claim))
        return bool(words) and len(words & set(tokenize(" ".join(evidence)))) / len(words) >= LEXICAL_OVERLAP

    return SupportJudge("lexical", decide)


def load_judge(name: str, embed_model: BaseEmbedding, settings: Settings, llm=None) -> SupportJudge:
    """The judge called ``name``; ``llm`` reuses an already loaded model that has ``yes_probability``.

    ``cheap`` is the engine's own check of its answers (numbers and terms, else e5 similarity);
    ``lexical+llm`` lets a missing number or term reject a claim and the model decide the rest.

    Raises:
        ValueError: for an unknown name.
    """
    if name == "lexical":
        return lexical_judge()
    if name == "embedding":
        return SupportJudge(name, support.EmbeddingJudge(embed_model))
    if name == "cheap":
        return SupportJudge(name, support.CascadeJudge([support.LexicalJudge(), support.EmbeddingJudge(embed_model)]))
    if name in ("llm", "lexical+llm", "lexical-then-llm"):
        if llm is None or not hasattr(llm, "yes_probability"):
            from assistant.local_llm import LocalLlamaLLM, bundled_model_path

            llm = LocalLlamaLLM(bundled_model_path(settings.model_cache_dir))
        judge = support.LLMJudge(llm)
        if name == "llm":
            return SupportJudge(name, judge)
        if name == "lexical-then-llm":
            return SupportJudge(name, support.CascadeJudge([support.LexicalJudge(), judge]))
        lexical = support.LexicalJudge()
        return SupportJudge(name, lambda claim, evidence: lexical(claim, evidence) is not False
                            and judge(claim, evidence))
    raise ValueError(f"unknown judge {name!r}: choose one of {', '.join(JUDGES)}")


# --- agreement with people --------------------------------------------------------

def load_support_pairs(path: Path = SUPPORT_PAIRS) -> list[dict]:
    """Hand-labelled (sentence, evidence, supported) pairs, one JSON object a line."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def judge_agreement(judge: SupportJudge, pairs: list[dict]) -> dict:
    """How often ``judge`` agrees with the hand labels, overall and by kind of pair.

    Returns:
        ``{"judge", "pairs", "agreement", "balanced_accuracy", "false_claim_rejection", "kappa",
        "false_support", "false_reject",
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
        # Mean of the hit rates on supported and on unsupported pairs: a judge that says yes to everything
        # scores 0.5 whatever the mix. false_claim_rejection is the second of the two.
        "balanced_accuracy": _balanced(rows),
        "false_claim_rejection": share(r for r in rows if not r[0]["supported"]),
        "kappa": round((observed - chance) / (1 - chance), 3) if chance < 1 else None,
        "false_support": sum(v and not p["supported"] for p, v, _ in rows),
        "false_reject": sum(p["supported"] and not v for p, v, _ in rows),
        "by_kind": {k: share(r for r in rows if r[0].get("kind", "") == k) for k in kinds},
        "by_lang": {lang: share(r for r in rows if r[0].get("lang", "") == lang) for lang in langs},
        "disagreements": [p["id"] for p, _, ok in rows if not ok],
        "seconds": round(seconds, 2),
    }


def _balanced(rows) -> float | None:
    rates = [sum(ok for p, _, ok in rows if p["supported"] == label) / count
             for label in (True, False) if (count := sum(p["supported"] == label for p, _, _ in rows))]
    return round(sum(rates) / len(rates), 3) if rates else None
