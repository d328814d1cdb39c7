"""The HTML the UI shows, from the Jinja2 templates in ``ui/templates`` (autoescaped).

Text from the corpus, the model or a user enters a template through the ``display``
filter (:func:`ui.display.to_display`: escaped, and no markdown link or image syntax
left, since most of this HTML sits inside chat markdown); anything else is escaped
by autoescape. The only links are to ``https://arxiv.org/abs/<versioned id>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, StrictUndefined
from jinja2.ext import Extension
from markupsafe import Markup

from assistant.answer import Answer, SentenceVerdict, Source
from assistant.prompts import UNSUPPORTED_MARK
from index.ids import canonical_url, version_label
from ui.display import answer_markdown, to_display
from ui.papers import LANGUAGE_NAMES, PaperEntry


class _OneLine(Extension):
    """Templates are written across lines for reading; a line break and the spaces around it are not
    output. The chat's markdown renderer takes an HTML block only up to a blank line, so every block
    must come out as one line."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return re.sub(r"[ \t]*\n\s*", "", source)


_TEMPLATES = Environment(loader=PackageLoader("ui", "templates"), autoescape=True, undefined=StrictUndefined,
                         extensions=[_OneLine])


def evidence_class(arxiv_id: str, index: int) -> str:
    """The class that ties an evidence sentence in the sources panel to the answer sentences it supports.

    Gradio's sanitizer drops ``data-*`` attributes from chat HTML and keeps classes, so the link is a class;
    ui/static/paperchat.js reads it back (same spelling: every character but letters and digits as ``-``).
    """
    return f"pc-e-{_CLASS_UNSAFE_RE.sub('-', arxiv_id)}-{int(index)}"


def answer_class(answer_id: str) -> str:
    """The class that ties an answer's sentences to its own sources panel."""
    return f"pc-a-{_CLASS_UNSAFE_RE.sub('-', answer_id)}"


_CLASS_UNSAFE_RE = re.compile(r"[^A-Za-z0-9]")
_TEMPLATES.filters.update(display=lambda text: Markup(to_display(text)), arxiv_url=canonical_url,
                          version_label=version_label)
_TEMPLATES.globals.update(evidence_class=evidence_class, answer_class=answer_class)


def render(template: str, **values) -> str:
    return _TEMPLATES.get_template(template).render(**values)


# --- the chat ----------------------------------------------------------------------

@dataclass
class _ShownSource:
    arxiv_id: str
    score: float
    sentences: list[str]
    cited: set[int]
    other_versions: list[str]


def sources_title(sources: list[Source]) -> str:
    papers = len({s.base_id for s in sources})
    return f"Sources · {papers} paper{'s' if papers != 1 else ''} · the evidence shown to the model"


def cited_evidence(answer: Answer) -> dict[str, set[int]]:
    """For each source, the indexes of its evidence sentences that support a sentence of the answer, exactly as
    the support check recorded them (``SentenceVerdict.evidence``)."""
    cited: dict[str, set[int]] = {}
    for verdict in answer.sentences:
        for evidence in verdict.evidence if verdict.supported else []:
            cited.setdefault(evidence["arxiv_id"], set()).add(int(evidence["index"]))
    return cited


def sources_html(sources: list[Source], cited: dict[str, set[int]] | None = None, answer_id: str = "") -> str:
    """One card per paper: title, versioned ID link, evidence sentences (cited ones marked), score, other versions.

    ``cited`` maps a versioned ID to the indexes of its evidence sentences the answer drew on
    (:func:`cited_evidence`); None while the answer is not verified yet. Each evidence sentence carries its
    :func:`evidence_class`, and the panel the ``answer_id``'s :func:`answer_class`, for click-to-evidence.
    """
    by_paper: dict[str, list[Source]] = {}
    for source in sources:
        by_paper.setdefault(source.base_id, []).append(source)
    cards = []
    for shown in by_paper.values():
        ids = {s.arxiv_id for s in shown}
        cards.append({
            "title": shown[0].title,
            "cited": cited is not None and any(cited.get(i) for i in ids),
            "sources": [_ShownSource(s.arxiv_id, s.score, s.sentences, (cited or {}).get(s.arxiv_id, set()),
                                     [v for v in s.versions if v not in ids]) for s in shown],
        })
    return render("sources.html", cards=cards, answer_id=answer_id)


def grounding_html(answer: Answer) -> str:
    """One line under an answer: how many of its sentences their citations support, and its notices."""
    return _foot(answer.supported_sentences, len(answer.sentences), len(answer.rejected_citations), answer.notices)


def _foot(supported: int, total: int, rejected: int, notices: list[str]) -> str:
    return render("foot.html", supported=supported, total=total, rejected=rejected, notices=notices,
                  mark=UNSUPPORTED_MARK.strip())


def label_html(kind: str, text: str) -> str:
    """A line of the chat's own (``abstain``, ``quoted``, ``error``, ``wait``), styled by its kind."""
    return render("label.html", kind=kind, text=text)


# A list marker or heading opening a sentence stays outside its span, or the markdown would lose it.
_LINE_OPENING_RE = re.compile(r"^(\s*(?:[-*+•]|\d{1,2}[.、)]|#{1,6})\s+)")


def linked_answer_markdown(answer: Answer, answer_id: str = "") -> str:
    """The answer's text as chat markdown (:func:`ui.display.answer_markdown`), each checked sentence wrapped in a
    ``pc-sentence`` span whose classes name the evidence sentences that support it (:func:`evidence_class`) and the
    answer (:func:`answer_class`), so a click on it or its citation shows that evidence (ui/static/paperchat.js).
    Text the verdicts do not cover (the mark of an unsupported sentence, framing lines) is shown as it is."""
    text, pieces, at = answer.text, [], 0
    for verdict in answer.sentences:
        found = text.find(verdict.text, at) if verdict.text else -1
        if found < 0 or "\n" in verdict.text.strip():
            continue
        opening = _LINE_OPENING_RE.match(verdict.text)
        start = found + (opening.end() if opening else 0)
        end = found + len(verdict.text)
        pieces += [answer_markdown(text[at:start]), _sentence_span(verdict, answer_id, answer_markdown(text[start:end]))]
        at = end
    pieces.append(answer_markdown(text[at:]))
    return "".join(pieces)


def _sentence_span(verdict: SentenceVerdict, answer_id: str, inner: str) -> str:
    classes = ["pc-sentence", answer_class(answer_id) if answer_id else "",
               *(evidence_class(e["arxiv_id"], e["index"]) for e in verdict.evidence if verdict.supported)]
    title = "Click to see its evidence in the sources" if verdict.supported and verdict.evidence else ""
    return render("sentence.html", classes=" ".join(c for c in classes if c), title=title, inner=Markup(inner))


def final_markdown(answer: Answer, answer_id: str = "") -> str:
    """The verified answer as shown: abstentions labelled, citations linked, sentences tied to their evidence
    (:func:`linked_answer_markdown`), grounding underneath."""
    if answer.abstained:
        label = "No supported answer" if answer.abstention_reason == "unsupported" else "No answer in the collection"
        blocks = [label_html("abstain", label), answer_markdown(answer.text),
                  _foot(0, 0, 0, answer.notices)]
    else:
        # A repaired answer says so before its text: the model's own draft did not pass the check.
        blocks = [label_html("quoted", "Quoted from the evidence") if answer.quoted else "",
                  linked_answer_markdown(answer, answer_id), grounding_html(answer)]
    return "\n\n".join(block for block in blocks if block)


def error_markdown(message: str) -> str:
    return "\n\n".join([label_html("error", "The answer could not be completed"), to_display(message),
                        "Try again, or choose another backend under Settings."])


def waiting_markdown(text: str) -> str:
    """The placeholder where the answer will stream."""
    return label_html("wait", text)


# --- the page --------------------------------------------------------------------

def header_html(papers: int, versions: int, backend: str, topic: str = "") -> str:
    """The page's title, what it is for (``topic``: what the collection is about; may be empty) and its numbers."""
    return render("header.html", papers=papers, versions=versions, backend=backend, topic=topic)


def paper_html(paper: PaperEntry, sections: dict[str, list[tuple[str, str]]]) -> str:
    """A paper's summary (newest version first; older versions folded), every piece escaped.

    ``sections`` holds each version's (section, text) pieces in reading order (:func:`ui.papers.paper_sections`).
    """
    summaries = []
    for version in reversed(paper.versions):
        parts = sections[version]
        summaries.append({"version": version,
                          "paragraphs": [text for section, text in parts if not section.startswith("contribution")],
                          "points": [text for section, text in parts if section.startswith("contribution")]})
    return render("paper.html", paper=paper, language=LANGUAGE_NAMES.get(paper.language, ""), summaries=summaries)


def scope_html(papers: list[PaperEntry], versions: str) -> str:
    """The chat's line saying which papers (and which of their versions) every question is limited to."""
    return render("scope.html", papers=papers, versions=versions)
