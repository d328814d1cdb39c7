"""The papers of the collection as the index holds them: the Papers tab's table, filter and summaries.

The list holds what the table shows (ID, versions, title, language) and nothing that grows with the
summaries' text: a paper's sections are read when it is opened (:func:`paper_sections`), and the
filter asks the index which papers hold a word (:func:`find_papers`), so a server over a large
collection starts and stays small.
"""

from __future__ import annotations

from dataclasses import dataclass

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

    def names(self, word: str) -> bool:
        """Whether ``word`` (casefolded) is in the paper's ID, a version's ID or its title."""
        return word in " ".join([self.base_id, *self.versions, self.title]).casefold()


def list_papers(retriever: HybridRetriever) -> list[PaperEntry]:
    """Every paper in the index, newest arXiv ID first."""
    papers = []
    for base in reversed(retriever.paper_ids()):
        versions = retriever.versions_of(base)
        newest = retriever.chunks_of(versions[-1])
        whole = next((c for c in newest if c.metadata["section"] == "paper"), newest[0])
        papers.append(PaperEntry(base, newest[0].metadata["title"], versions, whole.metadata["language"]))
    return papers


def paper_sections(retriever: HybridRetriever, paper: PaperEntry) -> dict[str, list[tuple[str, str]]]:
    """Per versioned ID, its (section, text) chunks in reading order, without the whole-paper chunk."""
    return {v: [(c.metadata["section"], c.text) for c in retriever.chunks_of(v) if c.metadata["section"] != "paper"]
            for v in paper.versions}


def find_papers(retriever: HybridRetriever, papers: list[PaperEntry], query: str) -> list[PaperEntry]:
    """The papers holding every word of ``query`` (case-insensitive) in their IDs, title or summary text."""
    words = query.casefold().split()
    in_text = [retriever.papers_with_text(word) for word in words]
    return [p for p in papers if all(p.names(word) or p.base_id in bases for word, bases in zip(words, in_text))]


def paper_rows(papers: list[PaperEntry]) -> list[list[str]]:
    """The table's rows: ID, versions, title, language."""
    return [[p.base_id, ", ".join(version_label(v) for v in p.versions), strip_control(p.title),
             LANGUAGE_NAMES.get(p.language, p.language)] for p in papers]
