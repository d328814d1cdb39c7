"""The data types of an answer: evidence shown, sentences checked, events streamed."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.citations import Citation


@dataclass
class Source:
    """Evidence from one paper version, exactly as shown to the model."""

    arxiv_id: str
    base_id: str
    title: str
    url: str
    score: float
    sentences: list[str]
    versions: list[str] = field(default_factory=list)
    """All versions of the paper in the collection, oldest first."""

    @property
    def text(self) -> str:
        return "\n".join(self.sentences)

    def as_dict(self) -> dict:
        return {"arxiv_id": self.arxiv_id, "title": self.title, "url": self.url,
                "score": round(self.score, 4), "text": self.text, "versions": self.versions}


@dataclass
class SentenceVerdict:
    """One answer sentence, what it cites and whether that evidence supports it."""

    text: str
    citations: list[str]
    supported: bool
    method: str
    """Which check decided: ``lexical``, ``llm``, ``embedding``; ``attributed`` when the model gave no
    citation and the checks found the supporting source; ``uncited`` when none supports it; ``quoted`` when
    the sentence is a quote of the evidence (a repaired sentence or a quoted answer); ``title`` when it only
    names a cited paper by its title."""


@dataclass
class Answer:
    question: str
    standalone_question: str
    text: str
    abstained: bool
    abstention_reason: str | None = None
    """``not_in_collection`` (a named ID), ``off_topic`` (retrieval found nothing close), ``no_answer``
    (the model's sentinel) or ``unsupported`` (no sentence passed the support check); None when answered."""
    citations: list[Citation] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    sentences: list[SentenceVerdict] = field(default_factory=list)
    rejected_citations: list[str] = field(default_factory=list)
    """Citations the model made to things that were not in the evidence; removed from the text."""
    notices: list[str] = field(default_factory=list)
    dropped: list[SentenceVerdict] = field(default_factory=list)
    """Sentences of the model's draft that no evidence supports or resembles: removed from the text."""
    quoted: bool = False
    """The model's draft failed the support check and the answer quotes the evidence instead (labelled)."""
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def supported_sentences(self) -> int:
        return sum(s.supported for s in self.sentences)

    def as_json(self) -> dict:
        """The fixed contract of ``paperchat ask --json``."""
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "answer": self.text,
            "abstained": self.abstained,
            "abstention_reason": self.abstention_reason,
            "citations": [{"arxiv_id": c.arxiv_id, "supported": c.supported} for c in self.citations],
            "sources": [s.as_dict() for s in self.sources],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "sentences": [{"text": s.text, "citations": s.citations, "supported": s.supported, "method": s.method}
                          for s in self.sentences],
            "rejected_citations": self.rejected_citations,
            "notices": self.notices,
            "quoted": self.quoted,
            "dropped_sentences": [{"text": s.text, "citations": s.citations, "method": s.method}
                                  for s in self.dropped],
        }


@dataclass
class SourcesReady:
    """First event: retrieval finished, the evidence is known."""

    sources: list[Source]


@dataclass
class TextDelta:
    text: str


@dataclass
class AnswerDone:
    """Last event: the answer with verified citations and timings."""

    answer: Answer
