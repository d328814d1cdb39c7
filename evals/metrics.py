"""The metrics of the grounding evaluation, each a small pure function.

Retrieval metrics work on ranked lists of base arXiv IDs: ``ranked`` is the
system's list, best first; ``expected`` the set of base IDs that answer the
question (versioned expected IDs count by their base ID). Citation metrics
follow ALCE (Gao et al., 2023) with a pluggable support judge; abstention
metrics follow PaperQA2 (Skarlinski et al., 2024).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from index.ids import base_of


def hit_at_k(ranked: list[str], expected: set[str], k: int) -> float:
    """1 if any expected paper is in the top k."""
    return float(any(r in expected for r in ranked[:k]))


def reciprocal_rank(ranked: list[str], expected: set[str]) -> float:
    """1 / rank of the first expected paper (0 when none was found)."""
    for rank, r in enumerate(ranked, start=1):
        if r in expected:
            return 1.0 / rank
    return 0.0


def recall_at_k(ranked: list[str], expected: set[str], k: int) -> float:
    """Share of the expected papers found in the top k."""
    if not expected:
        return 0.0
    return len(expected & set(ranked[:k])) / len(expected)


def ndcg_at_k(ranked: list[str], expected: set[str], k: int = 10) -> float:
    """Normalised discounted cumulative gain with binary relevance (trec_eval's ``ndcg_cut_k``).

    DCG sums 1 / log2(rank + 1) over the expected papers in the top k; the
    ideal DCG puts all of them (at most k) first.
    """
    if not expected:
        return 0.0
    dcg = sum(1.0 / math.log2(rank + 1) for rank, r in enumerate(ranked[:k], start=1) if r in expected)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(expected), k) + 1))
    return dcg / ideal


# --- citations (ALCE) ---------------------------------------------------------

Supports = Callable[[str, list[str]], bool]
"""A support judge as the citation metrics see it: does this evidence (all of it together) support the claim?"""


@dataclass(frozen=True)
class SentenceCitationScore:
    """ALCE's verdicts for one answer sentence.

    ``recall`` is 1 when the sentence has citations and their evidence
    together supports it. ``needed`` counts the citations that count for
    precision: with recall 1, a citation is needed unless it does not support
    the sentence on its own *and* the other citations support it without it.
    """

    recall: int
    citations: int
    needed: int
    unneeded: tuple[str, ...] = ()


def citation_scores(sentence: str, cited: list[str], evidence: dict[str, list[str]],
                    supports: Supports) -> SentenceCitationScore:
    """Score one sentence's citations as ALCE does (Gao et al., 2023), with any support judge.

    Args:
        sentence: the claim, without its citation markers.
        cited: the IDs the sentence cites, in order.
        evidence: evidence sentences by ID (the text the model was shown).
        supports: the judge.

    Returns:
        recall 1/0, the number of citations, and how many of them were needed.
    """
    cited = list(dict.fromkeys(cited))
    if not cited:
        return SentenceCitationScore(0, 0, 0)

    def joint(ids: list[str]) -> list[str]:
        return [text for i in ids for text in evidence.get(i, [])]

    if not supports(sentence, joint(cited)):
        return SentenceCitationScore(0, len(cited), 0)
    if len(cited) == 1:
        return SentenceCitationScore(1, 1, 1)
    unneeded = tuple(c for c in cited
                     if not supports(sentence, joint([c])) and supports(sentence, joint([o for o in cited if o != c])))
    return SentenceCitationScore(1, len(cited), len(cited) - len(unneeded), unneeded)


def citation_recall(scores: list[SentenceCitationScore]) -> float | None:
    """Share of answer sentences whose citations jointly support them (None without sentences)."""
    return sum(s.recall for s in scores) / len(scores) if scores else None


def citation_precision(scores: list[SentenceCitationScore]) -> float | None:
    """Share of citations that were needed to support their sentence (None without citations)."""
    total = sum(s.citations for s in scores)
    return sum(s.needed for s in scores) / total if total else None


def citation_validity(cited: list[str], shown: set[str], collection: set[str]) -> tuple[int, int]:
    """(valid, total) citations: valid means the ID is in the collection and was among the sources shown."""
    return sum(c in shown and c in collection for c in cited), len(cited)


# --- answers -----------------------------------------------------------------

_THOUSANDS_RE = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_SPACE_RE = re.compile(r"\s+")


def normalise_fact_text(text: str) -> str:
    """Full-width to ASCII, lower case, no thousands separators, no white space: ``6,446`` = ``6446``, ``213 K`` = ``213k``."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _SPACE_RE.sub("", _THOUSANDS_RE.sub("", text))


def fact_recall(answer: str, facts: list[str]) -> float | None:
    """Share of ``facts`` found in ``answer`` after :func:`normalise_fact_text` (None without facts)."""
    if not facts:
        return None
    text = normalise_fact_text(answer)
    return sum(normalise_fact_text(f) in text for f in facts) / len(facts)


def cites_expected(cited: list[str], expected: list[str]) -> bool:
    """True when a citation names an expected paper: a base ID matches any version, a versioned ID only itself."""
    for e in expected:
        if any(c == e or (base_of(e) == e and base_of(c) == e) for c in cited):
            return True
    return False


# --- abstention (PaperQA2) ---------------------------------------------------------

@dataclass(frozen=True)
class AbstentionOutcome:
    answerable: bool
    abstained: bool
    correct: bool
    """Answerable: answered and cited an expected paper. Unanswerable: abstained."""


def abstention_metrics(outcomes: list[AbstentionOutcome]) -> dict[str, float | None]:
    """PaperQA2's accuracy (correct / all) and precision (correct / answered), plus abstention rates.

    ``abstention_rate`` is on unanswerable questions (higher is better),
    ``false_abstention_rate`` on answerable ones (lower is better).
    """
    answered = [o for o in outcomes if not o.abstained]
    unanswerable = [o for o in outcomes if not o.answerable]
    answerable = [o for o in outcomes if o.answerable]
    return {
        "accuracy": _share([o.correct for o in outcomes]),
        "precision": _share([o.correct for o in answered]),
        "abstention_rate": _share([o.abstained for o in unanswerable]),
        "false_abstention_rate": _share([o.abstained for o in answerable]),
    }


def _share(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


# --- speed ---------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) by numpy (linear interpolation); None when there are no values.

    The one percentile of the project: the eval reports and the benchmarks both use it.
    """
    return float(np.percentile(values, q)) if values else None


def mean(values: list[float | None]) -> float | None:
    """Mean of the values that are not None (None when there are none)."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None
