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
    names a cited paper by its title; ``language`` when an English sentence carries Chinese words (unsupported)."""
    evidence: list[dict] = field(default_factory=list)
    """The evidence sentences that support it, as ``{"arxiv_id", "index"}`` into that source's ``sentences``,
    as the check that decided matched them: the sentences holding its numbers and names (``lexical``), the
    nearest sentence by e5 similarity (``embedding``, and ``llm``, whose yes/no points at no sentence), the
    sentence it quotes (``quoted``). Empty when nothing supports it (and for ``title``)."""


@dataclass
class Answer:
    question: str
    standalone_question: str
    text: str
    abstained: bool
    abstention_reason: str | None = None
    """``not_in_collection`` (a named ID), ``outside_scope`` (the IDs named are not among the papers the question
    was limited to), ``off_topic`` (retrieval found nothing close), ``no_answer``
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
    """The answer quotes the evidence instead of the model's words (labelled): the model's draft failed the support
    check, or the answer is a list of the papers naming what the question asks about (``listed``)."""
    timings_ms: dict[str, float] = field(default_factory=dict)
    scope: list[str] = field(default_factory=list)
    """The versions the question was limited to (assistant/scope.py); empty when it was not."""
    low_evidence: bool = False
    """The evidence behind the answer is weak: the best source matches the question only loosely, or part of
    what the model wrote is unsupported (assistant/confidence.py); a notice says which."""
    key_sentences: list[str] = field(default_factory=list)
    """The summary's sentences quoted under the model's answer or its titles (assistant/draft.py ``key_quote``,
    ``title_quotes``), as they are in the text: shown and checked like the others, but not written by the model."""
    searched_as: str | None = None
    """What retrieval searched instead of the standalone question: its translation into the papers' language
    (assistant/translation.py); None when it searched the question itself."""
    listed: list[str] = field(default_factory=list)
    """The names a "Which papers use X?" answer lists every paper for (assistant/listing.py): it is the
    collection's papers that hold them, quoted; empty for any other answer."""
    evidence_score: float | None = None
    """Best e5 similarity of the question to a chunk of the sources shown (what ``low_evidence`` compares)."""

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
            "sentences": [{"text": s.text, "citations": s.citations, "supported": s.supported, "method": s.method,
                           "evidence": s.evidence} for s in self.sentences],
            "rejected_citations": self.rejected_citations,
            "notices": self.notices,
            "quoted": self.quoted,
            "low_evidence": self.low_evidence,
            "evidence_score": None if self.evidence_score is None else round(self.evidence_score, 4),
            "scope": self.scope,
            "searched_as": self.searched_as,
            "listed": self.listed,
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
