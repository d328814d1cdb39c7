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
   with the cited evidence, a cheap first check before a semantic judge.

Only new-style IDs (``YYMM.NNNNN``) are recognised, which is what the
collection holds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from assistant.asked import LANGUAGES
from index.corpus import detect_language
from index.ids import CITABLE_ID, VERSIONED_ID, canonical_url, parse_arxiv_id

_ID = CITABLE_ID
_PREFIX = r"arxiv\s*[:：]?\s*"
# Words a model puts before a source number: [Source 1], [Ref. 2], 【来源1】.
_LABEL = r"(?:sources?|refs?\.?|references?|docs?|documents?|papers?|evidence|来源|文献|资料|证据|参考)"
_RANGE = r"\s*[-–~～]\s*"
_ITEM_RE = re.compile(
    rf"(?:(?P<label>{_LABEL})\s*[#＃]?\s*)?"
    rf"(?:(?:{_PREFIX})?(?P<id>{_ID})|(?P<first>\d{{1,2}})(?:{_RANGE}(?P<last>\d{{1,2}}))?)",
    re.IGNORECASE,
)
# _ITEM_RE without group names, so it can repeat inside _CITATION_RE.
_ANY_ITEM = rf"(?:{_LABEL}\s*[#＃]?\s*)?(?:(?:{_PREFIX})?{_ID}|\d{{1,2}}(?:{_RANGE}\d{{1,2}})?)"
_SEPARATOR = r"\s*(?:[,，、;；&]|and|和|及|与)\s*"
_CITATION_RE = re.compile(
    # A bracket holding nothing but citation items: [1, 2], [1-3], (arXiv:2506.11091), 【2506.11091】.
    rf"(?P<group>[\[(（【]\s*(?P<body>{_ANY_ITEM}(?:{_SEPARATOR}{_ANY_ITEM})*)\s*[\])）】])"
    # An ID in running text, but not one inside a URL or a path.
    rf"|(?P<bare>(?<![A-Za-z0-9_./])(?:{_PREFIX})?{_ID}(?![A-Za-z0-9_/]|\.\d))",
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
_LIST_MARKER_RE = re.compile(r"^\s*(?:[-*+•]\s+)?(?:\*\*)?(?:\d{1,2}[.、)）](?!\d)|[(（]\d{1,2}[)）])?(?:\*\*)?\s*")
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
    start = _LIST_MARKER_RE.match(line).end()  # "1." is not a full stop
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


# --- lexical support -----------------------------------------------------------

# strip_citations leaves IDs inside URLs alone; their digits are no claim either.
_MASK_ID_RE = re.compile(rf"(?:{_PREFIX})?{_ID}", re.IGNORECASE)
_UNITS = {
    "%": 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000,
    "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000,
    "千": 1_000, "万": 10_000, "百万": 1_000_000, "千万": 10_000_000, "亿": 100_000_000,
}
_NUMBER_RE = re.compile(
    r"(?<![A-Za-z0-9_.])"  # digits inside a name (F1, TEDLIUM2, Qwen2.5) belong to the term
    r"(?P<int>\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.(?P<frac>\d+))?"
    r"(?:\s?(?P<cjk>%|百万|千万|万|亿|千)|(?P<letter>[kKMB])(?![A-Za-z])"
    r"|\s(?P<word>thousand|million|billion)(?![A-Za-z]))?"
    r"(?!(?:st|nd|rd|th)(?![A-Za-z]))"  # ordinals ("1st") are words, not quantities
)
_TERM_RE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9]*(?:\.\d+)*")
_VERSION_RE = re.compile(r"v\d+", re.IGNORECASE)
_PLURAL_ACRONYM_RE = re.compile(r"[A-Z0-9]{2,}s")
# Capitalised words that are not names: function words that start a clause or
# follow a colon, and words answers use about the papers themselves.
_STOPWORDS = frozenset("""
    a an the this that these those it its in on of for and or but with by to from as at
    is are was were be been has have had not no yes also however overall both each all
    some they their we our you which what when where who why how here there than then
    thus so such into over under about after before between while using based via per
    first second third finally additionally moreover furthermore specifically instead
    compared paper papers study work authors source sources summary answer note figure
    table section contribution contributions result results method model approach
""".split())
# Acronyms for whole fields, which answers use to translate 大语言模型, 语音识别, 最先进, ...
_GENERIC_ACRONYMS = frozenset({"arxiv", "sota", "llm", "ai", "asr", "tts", "nlp", "ml", "api", "gpu", "cpu", "id"})


@dataclass(frozen=True)
class SupportVerdict:
    """How far a sentence's numbers and technical terms are found in its evidence.

    ``supported`` is None and ``score`` None when the sentence has nothing to
    check (e.g. a Chinese sentence without numbers or Latin terms): lexical
    overlap says nothing then, and a semantic judge has to decide.
    """

    supported: bool | None
    score: float | None
    """Share of the checked items found in the evidence."""
    checked: tuple[str, ...] = ()
    """Numbers and terms looked for, as written in the sentence."""
    missing: tuple[str, ...] = ()
    """The checked items the evidence lacks."""


def lexical_support(sentence: str, evidence: str) -> SupportVerdict:
    """Check that every number and technical term of ``sentence`` occurs in ``evidence``.

    Numbers compare by value after normalising full-width characters and
    thousands separators and applying units, so ``30万`` = ``300,000`` =
    ``300K`` and ``21%`` matches ``21``; digits of arXiv IDs and a leading list
    number are ignored. Terms are Latin words with a digit or an inner capital
    or written in capitals (LAIL, LibriSpeech, F1, Qwen2.5), compared
    case-insensitively; capitalised words (Whisper) count too, except as the
    first word of an English sentence and when an English sentence is checked
    against Chinese evidence, where they are usually translations (Dutch for
    荷兰, Word Error Rate for 词错误率); a language's name is then looked for as Chinese writes it (English
    as 英语 or 英译, :data:`assistant.asked.LANGUAGES`: "evaluated on English to German" with no 德语 in the
    evidence is an invented language pair); a Chinese sentence's language must be in the evidence too
    ("是用中文录制的" of a summary that names no language was seen passing on the dataset's name); a name said
    to be outperformed ("beats X", "优于X") must be one the evidence compares with, when it compares with
    anything (the name of the method that won was seen put there). One missing
    item makes the sentence unsupported, which catches swapped numbers (12% for 21%) and swapped
    methods (PPO for DPO) but also rounded numbers (9% for 9.4%).
    """
    claim = unicodedata.normalize("NFKC", strip_citations(sentence))
    claim = _MASK_ID_RE.sub(" ", claim[_LIST_MARKER_RE.match(claim).end():])
    evidence = unicodedata.normalize("NFKC", evidence)
    english = detect_language(claim) == "en"
    translated = english and detect_language(evidence) == "zh"

    found: dict[str, bool] = {}
    evidence_values = {value for _, value in _numbers(evidence)}
    for raw, value in _numbers(claim):
        found.setdefault(raw, value in evidence_values)
    for term in _terms(claim, capitalised=not translated, skip_first=english):
        found.setdefault(term, _has_term(evidence, term))
    if translated:  # a language is a name a translation keeps: "English to Spanish" needs 西班牙 in the evidence
        for word in re.findall(r"[A-Z][a-z]+", claim):
            written = LANGUAGES.get(word.lower())
            if written and not _has_term(evidence, word) and not re.search(written, evidence):
                found[word] = False  # a language found only rejects: alone, it says too little to accept
    elif not english:  # "CASPER数据集是用中文录制的。" of a summary that names no language
        for word in _ZH_LANGUAGE_RE.findall(claim):
            if not any(re.fullmatch(written, word) and (re.search(written, evidence) or _has_term(evidence, name))
                       for name, written in LANGUAGES.items()):
                found[word] = False

    compared = _compared_names(evidence)
    if compared is not None:  # "outperforms proprietary models like MrDPO" of "MrDPO cut errors 28%, and the
        # 7B model beats GPT-4o": a name the evidence holds, but not as what was outperformed
        for term in _outperformed(claim):
            if found.get(term) and not any(_term_key(term) == _term_key(name) for name in compared):
                found[f"{term} (as outperformed)"] = False

    if not found:
        return SupportVerdict(supported=None, score=None)
    missing = tuple(item for item, ok in found.items() if not ok)
    return SupportVerdict(
        supported=not missing,
        score=1 - len(missing) / len(found),
        checked=tuple(found),
        missing=missing,
    )


# "A outperforms B": what follows the verb in a claim, up to a preposition or the end of the clause, is what
# was outperformed ("beats Whisper on LibriSpeech": Whisper only).
_OUTPERFORMS_RE = re.compile(r"\b(?:outperform|surpass|beat|exceed)\w*|\b(?:better|stronger)\s+than\b|"
                             r"\bsuperior\s+to\b|优于|超越|超过|胜过|好于", re.IGNORECASE)
_CLAIM_OBJECT_END_RE = re.compile(r"[,，。;；:：!?！？()（）]|\.(?!\d)|在|\s(?:on|in|by|with|across|at|for|while|"
                                  r"when|under|using|through|to|from|and\s+\w+(?:s|ed|ing))\b", re.IGNORECASE)
# In evidence, anything a comparison is made with: after these words, up to the end of the clause; "与X相比"
# and "X被…超越" (read whole: the name before 被 is the one outperformed) too.
_COMPARED_RE = re.compile(_OUTPERFORMS_RE.pattern + r"|\b(?:than|over|against|versus|vs\.?|compared\s+(?:with|to)|"
                          r"relative\s+to)\b|相比于?|相较于?|对比|领先于?", re.IGNORECASE)
_EVIDENCE_CLAUSE_END_RE = re.compile(r"[。;；!?！？，]|\.(?:\s|$)")
_WITH_BEFORE_RE = re.compile(r"(?:与|和|同|跟|较)([^，。；]{1,60}?)(?:相比|相较|对比|而言)|([^，。；]{1,60})被")


def _outperformed(claim: str) -> list[str]:
    """The names a claim says were outperformed (after "outperforms", "优于", ...)."""
    names = []
    for match in _OUTPERFORMS_RE.finditer(claim):
        rest = claim[match.end():]
        end = _CLAIM_OBJECT_END_RE.search(rest)
        names += _terms(rest[:end.start() if end else len(rest)], capitalised=True, skip_first=False)
    return names


def _compared_names(evidence: str) -> set[str] | None:
    """Every name evidence compares with (what it outperformed, what it was compared to), or None when it makes
    no comparison: then it cannot tell a name out of that role."""
    spans = []
    for match in _COMPARED_RE.finditer(evidence):
        rest = evidence[match.end():]
        end = _EVIDENCE_CLAUSE_END_RE.search(rest)
        spans.append(rest[:end.start() if end else len(rest)])
    spans += [m[1] or m[2] for m in _WITH_BEFORE_RE.finditer(evidence)]
    if not spans:
        return None
    return {name for span in spans for name in _terms(span, capitalised=True, skip_first=False)}


# A language as Chinese writes it, two characters or more ("英" alone is in 英伟达 and 精英 too).
_ZH_LANGUAGE_RE = re.compile("|".join(sorted({w for written in LANGUAGES.values() for w in written.split("|")
                                              if len(w) > 1}, key=len, reverse=True)))


def lexical_evidence(claim: str, sentences: list[str]) -> list[int]:
    """Positions of the fewest ``sentences`` that together hold the claim's numbers and terms, best first.

    The claim's items are those :func:`lexical_support` checks; each sentence is checked on its own, and
    sentences are taken greedily, the one holding most of the items still uncovered first (earlier ones win a
    tie: evidence comes best first). Items no single sentence holds are left uncovered. Empty when the claim
    has no items.
    """
    holds = [set(verdict.checked) - set(verdict.missing)
             for verdict in (lexical_support(claim, sentence) for sentence in sentences)]
    wanted = set().union(*holds) if holds else set()
    chosen: list[int] = []
    while wanted:
        best = max(range(len(holds)), key=lambda i: (len(holds[i] & wanted), -i))
        if not holds[best] & wanted:
            break
        chosen.append(best)
        wanted -= holds[best]
    return chosen


def checkable_items(text: str) -> set[str]:
    """The numbers (by value) and names of ``text`` that :func:`lexical_support` would look for, as keys.

    Two texts that differ in these keys state different facts, whatever their wording.
    """
    text = _MASK_ID_RE.sub(" ", unicodedata.normalize("NFKC", strip_citations(text)))
    return ({f"#{value.normalize():f}" for _, value in _numbers(text)}
            | {_term_key(t) for t in _terms(text, capitalised=True, skip_first=False)})


def _numbers(text: str) -> list[tuple[str, Decimal]]:
    """Each number in ``text`` as written and as a value with its unit applied."""
    numbers = []
    for match in _NUMBER_RE.finditer(text):
        value = Decimal(match["int"].replace(",", "") + (f".{match['frac']}" if match["frac"] else ""))
        unit = match["cjk"] or match["letter"] or match["word"]
        numbers.append((match[0].strip(), value * _UNITS[unit.lower()] if unit else value))
    return numbers


def _terms(claim: str, capitalised: bool, skip_first: bool) -> list[str]:
    """Names worth finding in the evidence; see :func:`lexical_support` for which words count."""
    terms = []
    for position, match in enumerate(_TERM_RE.finditer(claim)):
        word = match[0]
        if len(word) < 2 or _VERSION_RE.fullmatch(word) or _term_key(word) in _GENERIC_ACRONYMS:
            continue
        if any(c.isdigit() for c in word) or any(c.isupper() for c in word[1:]):
            terms.append(word)
        elif (word[0].isupper() and capitalised and word.lower() not in _STOPWORDS
              and not (skip_first and position == 0)):
            terms.append(word)
    return terms


def _term_key(word: str) -> str:
    """Lower case, without the plural of an acronym: LLMs -> llm."""
    return (word[:-1] if _PLURAL_ACRONYM_RE.fullmatch(word) else word).lower()


def _has_term(evidence: str, term: str) -> bool:
    pattern = rf"(?<![A-Za-z0-9]){re.escape(_term_key(term))}(?:e?s)?(?![A-Za-z0-9])"
    return re.search(pattern, evidence, re.IGNORECASE) is not None
