"""The papers of the collection as the index holds them: the Papers tab's table and filter."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.retrieval import HybridRetriever
from index.corpus import strip_control
from index.ids import version_label

LANGUAGE_NAMES = {"zh": "Chinese", "en": "English"}


@dataclass
class PaperEntry:
    """One paper of the collection, as the index holds it."""

    base_id: str
    title: str
    versions: list[str]
    language: str
    sections: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """Per versioned ID, its (section, text) chunks in reading order, without the whole-paper chunk."""

    def matches(self, query: str) -> bool:
        query = query.casefold().strip()
        haystack = " ".join([self.base_id, " ".join(self.versions), self.title,
                             *(text for parts in self.sections.values() for _, text in parts)]).casefold()
        return all(word in haystack for word in query.split())


def list_papers(retriever: HybridRetriever) -> list[PaperEntry]:
    """Every paper in the index, newest arXiv ID first."""
    bases = sorted({c.metadata["base_id"] for c in retriever.chunks}, reverse=True)
    papers = []
    for base in bases:
        versions = retriever.versions_of(base)
        sections = {v: [(c.metadata["section"], c.text) for c in retriever.chunks_of(v)
                        if c.metadata["section"] != "paper"] for v in versions}
        newest = retriever.chunks_of(versions[-1])
        whole = next((c for c in newest if c.metadata["section"] == "paper"), newest[0])
        papers.append(PaperEntry(base, newest[0].metadata["title"], versions, whole.metadata["language"], sections))
    return papers


def paper_rows(papers: list[PaperEntry], query: str = "") -> list[list[str]]:
    """The table's rows (ID, versions, title, language) of the papers ``query`` matches."""
    return [[p.base_id, ", ".join(version_label(v) for v in p.versions), strip_control(p.title),
             LANGUAGE_NAMES.get(p.language, p.language)] for p in papers if not query or p.matches(query)]
