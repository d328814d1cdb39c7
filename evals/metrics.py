"""Retrieval metrics over ranked lists of base arXiv IDs.

``ranked`` is the system's list of base IDs, best first; ``expected`` the
set of base IDs that answer the question. Versioned expected IDs count by
their base ID.
"""

from __future__ import annotations


def base_of(arxiv_id: str) -> str:
    head, sep, tail = arxiv_id.rpartition("v")
    return head if sep and tail.isdigit() and head else arxiv_id


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
