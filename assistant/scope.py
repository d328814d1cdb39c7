"""A question's scope: the papers the user chose to ask about.

``paperchat ask --papers 2506.11091,2506.00267v2`` (and the chat's paper picker)
names papers by base or versioned arXiv ID. A versioned ID means that version
only; a base ID means the paper's newest version in the collection, or every
version of it with ``versions="all"``. Retrieval (dense and BM25), evidence and
citations then stay inside the versions resolved here.

The off-topic check is not scoped: it asks whether the question is about what
the *collection* covers (``Retrieval.dense_top``/``bm25_top`` stay collection-
wide), so a one-paper scope does not turn an on-topic question away because
that one paper scores low. Such a question is answered from the chosen papers,
and the low-evidence notice (:mod:`assistant.confidence`) says the evidence is weak.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from index.errors import UserError
from index.ids import base_of, parse_arxiv_id

MAX_SCOPE_PAPERS = 50
"""Most IDs one scope may name: a picker's selection, not the collection (Chroma's ``$in`` filter and the
BM25 mask grow with it)."""
VERSION_CHOICES = ("newest", "all")
Versions = Literal["newest", "all"]


class ScopeError(UserError, ValueError):
    """A scope that cannot be used: too many IDs, not an arXiv ID, or a paper not in the collection."""


@dataclass(frozen=True)
class Scope:
    """The versions a question may use, resolved against the collection."""

    arxiv_ids: tuple[str, ...]
    """Versioned IDs in scope, in the order the papers were named (oldest version first within a paper)."""
    requested: tuple[str, ...]
    """The IDs as the user gave them."""

    @property
    def base_ids(self) -> frozenset[str]:
        return frozenset(parse_arxiv_id(i)[1] for i in self.arxiv_ids)

    def __contains__(self, arxiv_id: str) -> bool:
        return arxiv_id in self.arxiv_ids

    def versions(self, all_versions: list[str]) -> list[str]:
        """The versions of one paper (``all_versions``, oldest first) that are in scope, oldest first."""
        return [v for v in all_versions if v in self.arxiv_ids]

    def where(self) -> dict:
        """The Chroma metadata filter that keeps only chunks of versions in scope (chunks store ``arxiv_id``)."""
        ids = list(self.arxiv_ids)
        return {"arxiv_id": ids[0]} if len(ids) == 1 else {"arxiv_id": {"$in": ids}}


def parse_papers(text: str) -> list[str]:
    """``"2506.11091, 2506.00267v2"`` (the ``--papers`` option) as a list of IDs; blanks between commas ignored."""
    return [part.strip() for part in text.split(",") if part.strip()]


def resolve_scope(papers: list[str], versions_of: Callable[[str], list[str]],
                  versions: Versions = "newest") -> Scope:
    """The versions in scope for ``papers``, or a ScopeError naming what is wrong.

    Args:
        papers: base IDs (``2506.11091``) and versioned IDs (``2506.11091v2``), at most :data:`MAX_SCOPE_PAPERS`.
        versions_of: base ID to the paper's versioned IDs in the collection, oldest first (empty: not there).
        versions: what a base ID means: its ``newest`` version, or ``all`` of them. A versioned ID is that
            version whatever this says.
    """
    if versions not in VERSION_CHOICES:
        raise ScopeError(f"versions must be one of {', '.join(VERSION_CHOICES)}, not {versions!r}")
    papers = list(dict.fromkeys(p.strip() for p in papers if p.strip()))
    if not papers:
        raise ScopeError("the scope names no papers: give at least one arXiv ID")
    if len(papers) > MAX_SCOPE_PAPERS:
        raise ScopeError(f"the scope names {len(papers)} papers, more than {MAX_SCOPE_PAPERS}: choose fewer")
    chosen: list[str] = []
    missing: list[str] = []
    for raw in papers:
        parsed = parse_arxiv_id(raw)
        if parsed is None:
            raise ScopeError(f"{raw[:40]!r} is not an arXiv ID (like 2506.11091 or 2506.11091v2)")
        arxiv_id, base, _ = parsed
        present = versions_of(base)
        explicit = raw.lower().rstrip("0123456789").endswith("v")
        if explicit:
            found = [arxiv_id] if arxiv_id in present else []
        else:
            found = present if versions == "all" else present[-1:]
        if not found:
            missing.append(arxiv_id if explicit else base)
        chosen += [v for v in found if v not in chosen]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise ScopeError(f"{', '.join(missing)} {verb} not in the collection: "
                         "`paperchat search` lists what is there")
    return Scope(tuple(chosen), tuple(papers))


def requested_papers(papers: object, versions: object, resolve: Callable[[list[str], str], Scope],
                     field: str = "papers", versions_field: str = "versions") -> list[str]:
    """The IDs an API client sent as a scope, normalised (``arXiv:`` prefix dropped, duplicates once, versioned
    IDs kept versioned) and checked against the collection before any answer starts.

    The OpenAI-compatible API (``paperchat.papers``) and the chat's ``/chat`` endpoint both check a scope here, so
    a wrong one is the same one-line ScopeError, naming the request's ``field`` (and ``versions_field``).

    Args:
        papers: what the client sent: a list of 1 to :data:`MAX_SCOPE_PAPERS` arXiv IDs (base or versioned).
        versions: what a base ID means, ``newest`` or ``all``.
        resolve: ``Assistant.scope``, which checks the IDs against the collection.
    """
    if versions not in VERSION_CHOICES:
        raise ScopeError(f"'{versions_field}' must be {' or '.join(map(repr, VERSION_CHOICES))}")
    if not isinstance(papers, list) or not papers or len(papers) > MAX_SCOPE_PAPERS \
            or not all(isinstance(p, str) for p in papers):
        raise ScopeError(f"'{field}' must be a list of 1 to {MAX_SCOPE_PAPERS} arXiv IDs")
    ids = []
    for raw in papers:
        parsed = parse_arxiv_id(raw[:40])
        if parsed is None:
            raise ScopeError(f"'{field}' holds {raw[:40]!r}, which is not an arXiv ID (like 2506.11091 or "
                             "2506.11091v2)")
        versioned, base, _ = parsed
        ids.append(versioned if base_of(raw.strip()) != raw.strip() else base)
    ids = list(dict.fromkeys(ids))
    try:
        resolve(ids, versions)
    except ScopeError as exc:
        raise ScopeError(f"'{field}': {exc}") from None
    return ids
