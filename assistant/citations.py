"""Citations in generated answers: find, validate, normalise, and check cheaply.

The answer model (a small local LLM) cites its evidence in many shapes:
``[arXiv:2506.11091v1]``, ``[arXiv: 2506.11091]``, ``(2506.11091v1)``,
``【2506.11091】``, ``[1]``/``[1, 2]``/``[Source 1]`` for numbered sources, or a
bare ``2506.11091v1`` in running text, and it sometimes cites papers it was
never shown. The intended use is:

1. :func:`normalize_citations` rewrites every citation to the one canonical
   form ``[arXiv:<versioned id>]`` and removes (and reports) citations of
   anything that was not among the sources shown to the model;
2. :func:`split_answer_sentences` cuts the normalised answer into sentences,
   each keeping the citations that follow its full stop;
3. per sentence, :func:`sentence_citations` names the cited papers and
   :func:`lexical_support` compares the sentence's numbers and technical terms
   with the cited evidence (:mod:`assistant.lexical`), a cheap first check before a semantic judge.

Only new-style IDs (``YYMM.NNNNN``) are recognised, which is what the
collection holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from index.ids import CITABLE_ID, VERSIONED_ID, canonical_url, parse_arxiv_id

_ID = CITABLE_ID
ARXIV_PREFIX = r"arxiv\s*[:：]?\s*"
# Words a model puts before a source number: [Source 1], [Ref. 2], 【来源1】.
_LABEL = r"(?:sources?|refs?\.?|references?|docs?|documents?|papers?|evidence|来源|文献|资料|证据|参考)"
_RANGE = r"\s*[-–~～]\s*"
_ITEM_RE = re.compile(
    rf"(?:(?P<label>{_LABEL})\s*[#＃]?\s*)?"
    rf"(?:(?:{ARXIV_PREFIX})?(?P<id>{_ID})|(?P<first>\d{{1,2}})(?:{_RANGE}(?P<last>\d{{1,2}}))?)",
    re.IGNORECASE,
)
# _ITEM_RE without group names, so it can repeat inside _CITATION_RE.
_ANY_ITEM = rf"(?:{_LABEL}\s*[#＃]?\s*)?(?:(?:{ARXIV_PREFIX})?{_ID}|\d{{1,2}}(?:{_RANGE}\d{{1,2}})?)"
_SEPARATOR = r"\s*(?:[,，、;；&]|and|和|及|与)\s*"
_CITATION_RE = re.compile(
    # A bracket holding nothing but citation items: [1, 2], [1-3], (arXiv:2506.11091), 【2506.11091】.
    rf"(?P<group>[\[(（【]\s*(?P<body>{_ANY_ITEM}(?:{_SEPARATOR}{_ANY_ITEM})*)\s*[\])）】])"
    # An ID in running text, but not one inside a URL or a path.
    rf"|(?P<bare>(?<![A-Za-z0-9_./])(?:{ARXIV_PREFIX})?{_ID}(?![A-Za-z0-9_/]|\.\d))",
    re.IGNORECASE,
)
_CANONICAL_RE = re.compile(rf"\[arXiv:({VERSIONED_ID})\]")
_CITATION_RUN_RE = re.compile(rf"{_CANONICAL_RE.pattern}(?:[ \t]*{_CANONICAL_RE.pattern})*")

# Removed citations first become this placeholder, so the clean-up below only
# touches the places where something was taken out, never the rest of the answer.
_GAP = "\x00"
_EMPTY_BRACKETS_RE = re.compile(rf"[\[(（【][ \t]*(?:{_GAP}[ \t]*)+[\])）】]")
# Several removed citations in a row ("[8], [9]") close as one gap.
_GAP_RE = re.compile(
    rf"(?P<comma>[,，、;；:：])?(?P<pre>[ \t]*){_GAP}(?:[ \t]*[,，、;；]?[ \t]*{_GAP})*(?P<post>[ \t]*)"
)
_CLOSERS = set(".,;:!?)]}。，、；：！？）】」』”’…")
_OPENERS = set("([{（【「『“‘")
_FULL_WIDTH_PUNCTUATION = set("，、；：。！？）】」』”")


@dataclass(frozen=True)
class Citation:
    """One cited paper; ``supported`` stays None until some check has judged it."""

    arxiv_id: str
    url: str
    supported: bool | None = None

    @classmethod
    def of(cls, arxiv_id: str, supported: bool | None = None) -> Citation:
        return cls(arxiv_id, canonical_url(arxiv_id), supported)


class NormalizedAnswer(NamedTuple):
    """What :func:`normalize_citations` made of an answer (unpacks as a 3-tuple)."""

    text: str
    """The answer with every valid citation as ``[arXiv:<versioned id>]`` and the rest removed."""
    cited: list[str]
    """Versioned IDs of the valid citations, in order of first appearance."""
    rejected: list[str]
    """Each rejected citation item as written (``"2506.99999v1"``, ``"7"``, ``"Source 7"``), every occurrence."""

    @property
    def citations(self) -> list[Citation]:
        return [Citation.of(arxiv_id) for arxiv_id in self.cited]


@dataclass(frozen=True)
class _Sources:
    """The evidence shown to the model, in the order it was numbered."""

    ordered: tuple[str, ...]
    newest: dict[str, str]
    """Base ID to the newest versioned ID of that paper among the sources."""

    @classmethod
    def of(cls, sources: list[str]) -> _Sources:
        ordered, newest, versions = [], {}, {}
        for raw in sources:
            parsed = parse_arxiv_id(raw)
            if parsed is None:
                raise ValueError(f"not an arXiv ID in sources: {raw!r}")
            arxiv_id, base, version = parsed
            ordered.append(arxiv_id)
            if version > versions.get(base, 0):
                versions[base], newest[base] = version, arxiv_id
        return cls(tuple(ordered), newest)

    def resolve(self, item: re.Match[str]) -> list[str]:
        """The versioned sources an item refers to; empty when it names anything else."""
        if item["first"]:
            first, last = int(item["first"]), int(item["last"] or item["first"])
            if not 1 <= first <= last <= len(self.ordered):
                return []
            return list(self.ordered[first - 1:last])
        parsed = parse_arxiv_id(item["id"])
        if parsed is None:  # shaped like an ID but none can exist (2506.1234: four digits ended in 1412)
            return []
        arxiv_id, base, _ = parsed
        if "v" in item["id"].lower():
            # An explicit version must be one that was shown: the model saw no other text.
            return [arxiv_id] if arxiv_id in self.ordered else []
        return [self.newest[base]] if base in self.newest else []


def normalize_citations(text: str, sources: list[str]) -> NormalizedAnswer:
    """Rewrite the citations in ``text`` to ``[arXiv:<versioned id>]``; drop those not in ``sources``.

    ``sources`` are the versioned IDs shown to the model as evidence, in the
    order they were numbered: ``[2]`` means ``sources[1]``, ``[1-3]`` the first
    three (a range partly out of bounds is rejected whole). An ID without a
    version means the newest version of that paper among the sources. A
    bracket with several items becomes one bracket per valid ID, and repeated
    IDs next to each other are merged. Text around a removed citation is
    tidied (no empty brackets, doubled spaces or space before punctuation).
    Raises ValueError when ``sources`` holds something that is not an arXiv ID.
    """
    index = _Sources.of(sources)
    cited: list[str] = []
    rejected: list[str] = []

    def replace(items: list[re.Match[str]]) -> str:
        kept: list[str] = []
        for item in items:
            resolved = index.resolve(item)
            if not resolved:
                rejected.append(item[0].strip())
            kept.extend(arxiv_id for arxiv_id in resolved if arxiv_id not in kept)
        cited.extend(arxiv_id for arxiv_id in kept if arxiv_id not in cited)
        return "".join(f"[arXiv:{arxiv_id}]" for arxiv_id in kept) or _GAP

    return NormalizedAnswer(_replace_citations(text, replace), cited, rejected)


def strip_citations(text: str) -> str:
    """``text`` without its citation markers (any recognised form), tidied like removed citations."""
    return _replace_citations(text, lambda items: _GAP).strip()


def sentence_citations(sentence: str) -> list[str]:
    """Versioned IDs cited in canonical form in ``sentence``, without repeats."""
    return list(dict.fromkeys(_CANONICAL_RE.findall(sentence)))


def _replace_citations(text: str, replace: Callable[[list[re.Match[str]]], str]) -> str:
    """Put ``replace(items)`` in place of every citation, then tidy the gaps it left."""

    def one(match: re.Match[str]) -> str:
        if match["bare"]:
            return replace([_ITEM_RE.fullmatch(match["bare"])])
        items = list(_ITEM_RE.finditer(match["body"]))
        # "(1)" and "(2, 3)" are list numbers or asides in prose; in round
        # brackets only an ID or a label ("(Source 1)") makes a citation.
        if match["group"][0] in "(（" and not any(item["label"] or item["id"] for item in items):
            return match[0]
        return replace(items)

    text = _CITATION_RE.sub(one, text.replace(_GAP, ""))
    text = _EMPTY_BRACKETS_RE.sub(_GAP, text)
    text = _GAP_RE.sub(_close_gap, text)
    return _CITATION_RUN_RE.sub(_merge_run, text)


def _close_gap(gap: re.Match[str]) -> str:
    """What stays where citations were removed: nothing, a space, or the comma or colon before them."""
    text = gap.string
    before = text[gap.start() - 1] if gap.start() else "\n"
    after = text[gap.end()] if gap.end() < len(text) else "\n"
    if after == "\n" or after in _CLOSERS:
        # "as shown in X, [9]." -> "as shown in X."
        return ""
    comma = gap["comma"] or ""
    if not comma and (before == "\n" or before in _OPENERS):
        return ""
    spaced = (gap["pre"] or gap["post"]) and (comma or before) not in _FULL_WIDTH_PUNCTUATION
    return comma + (" " if spaced else "")


def _merge_run(run: re.Match[str]) -> str:
    """Adjacent citations as one compact run without repeats: [arXiv:A][arXiv:B]."""
    ids = dict.fromkeys(_CANONICAL_RE.findall(run[0]))
    return "".join(f"[arXiv:{arxiv_id}]" for arxiv_id in ids)


# --- sentences ---------------------------------------------------------------

# "1. ", "2、", "(3)", "- ", "**4.**" at the start of a line: numbering, not content.
LIST_MARKER_RE = re.compile(r"^\s*(?:[-*+•]\s+)?(?:\*\*)?(?:\d{1,2}[.、)）](?!\d)|[(（]\d{1,2}[)）])?(?:\*\*)?\s*")
# A full stop: Chinese or English end punctuation with any closing quotes.
# "." counts only when no letter or digit follows, so 9.4 and Qwen2.5 stay whole.
_SENTENCE_END_RE = re.compile(r"(?:[。！？!?]+|\.+(?![0-9A-Za-z]))[”’\"'）)」』]*")
_ABBREVIATION_RE = re.compile(r"\b(?:e\.g|i\.e|et al|vs|cf|fig|eq|approx)$", re.IGNORECASE)
_TRAILING_CITATIONS_RE = re.compile(rf"(?:[ \t]*{_CANONICAL_RE.pattern})+")
_ONLY_CITATIONS_RE = re.compile(rf"(?:\s*{_CANONICAL_RE.pattern})+\s*")
_WORD_RE = re.compile(r"\w")


def split_answer_sentences(text: str) -> list[str]:
    """Sentences of a normalised answer in Chinese, English or both.

    Every line (a markdown bullet, a numbered point, a paragraph) is split on
    its own. Canonical citations right after a full stop belong to the
    sentence before it (``...21%。[arXiv:2506.11091v1]``), and so does a line
    holding only citations. Expects :func:`normalize_citations` output: other
    citation forms are not moved.
    """
    sentences: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if sentences and _ONLY_CITATIONS_RE.fullmatch(line):
            sentences[-1] = f"{sentences[-1]} {line}"
            continue
        sentences.extend(_split_line(line))
    return sentences


def _split_line(line: str) -> list[str]:
    pieces: list[str] = []
    start = LIST_MARKER_RE.match(line).end()  # "1." is not a full stop
    cut = 0
    for end in _SENTENCE_END_RE.finditer(line, start):
        if end.start() < cut or _ABBREVIATION_RE.search(line, 0, end.start()):
            continue
        stop = end.end()
        trailing = _TRAILING_CITATIONS_RE.match(line, stop)
        if trailing:
            stop = trailing.end()
        pieces.append(line[cut:stop].strip())
        cut = stop
    pieces.append(line[cut:].strip())
    return [piece for piece in pieces if _WORD_RE.search(piece)]
