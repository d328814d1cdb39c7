"""Lexical support: are a sentence's numbers and names in the evidence it cites, and in the same roles?

The cheap first check of every answer sentence (:mod:`assistant.support` runs it before a semantic
judge). It catches what a paraphrase judge misses: a number swapped for another (12% for 21%), a method
swapped (PPO for DPO), an invented language pair, and a number or name put in another's place ("AUC rose
11.3%" of evidence where AUC rose 3.7% and c-AUC 11.3%; "beats MrDPO" where MrDPO is the method that won).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from assistant.asked import LANGUAGES
from assistant.citations import ARXIV_PREFIX, LIST_MARKER_RE, strip_citations
from index.corpus import detect_language
from index.ids import CITABLE_ID


# strip_citations leaves IDs inside URLs alone; their digits are no claim either.
_MASK_ID_RE = re.compile(rf"(?:{ARXIV_PREFIX})?{CITABLE_ID}", re.IGNORECASE)
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
    anything (the name of the method that won was seen put there); a number the sentence gives a name
    ("AUC rose 11.3%") must not be one the evidence gives another name while giving that name another number
    ("AUC和c-AUC分别提升3.7%和11.3%"). One missing
    item makes the sentence unsupported, which catches swapped numbers (12% for 21%) and swapped
    methods (PPO for DPO) but also rounded numbers (9% for 9.4%).
    """
    claim = unicodedata.normalize("NFKC", strip_citations(sentence))
    claim = _MASK_ID_RE.sub(" ", claim[LIST_MARKER_RE.match(claim).end():])
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
            if found.get(term) and not _has_term(" ".join(compared), term):
                found[f"{term} (as outperformed)"] = False

    roles: dict[str, set[Decimal]] = {}  # "AUC rose 11.3%" of "AUC和c-AUC分别提升3.7%和11.3%"
    for role in _number_roles(evidence, every_reading=True):
        roles.setdefault(role.key, set()).add(role.value)
    for role in _number_roles(claim, every_reading=False):
        if found.get(role.number) and role.value not in roles.get(role.key, {role.value}) and any(
                role.value in values for other, values in roles.items() if other != role.key):
            found[f"{role.number} (as {role.name})"] = False

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


def makes_comparison(text: str) -> bool:
    """Does ``text`` compare with something ("超越GPT-4o", "outperforms X", "与X相比")? (Not "X被…": 被 alone
    marks the passive, "被广泛使用", more often than a comparison.)"""
    return bool(_COMPARED_RE.search(text))


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


# A number's name: the name right before it with a few lowercase words or Chinese characters between ("AUC
# improved by 11.3%", "WER降至5.1%", "F1 of 0.92"), or right after it ("a 3.7% AUC gain"); and names and numbers
# listed "respectively" ("AUC和c-AUC分别提升3.7%和11.3%", "WER and CER of 5.1 and 3.2, respectively").
_ROLE_NAME_RE = re.compile(r"(?<![A-Za-z0-9-])[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*(?:\.\d+)*")
_NAME_TO_NUMBER_RE = re.compile(r"[^0-9A-Z,，。;；:：()（）\[\]【】]{0,16}")
_NUMBER_TO_NAME_RE = re.compile(r" ?")
_RESPECTIVELY_RE = re.compile(r"分别|各自|\brespectively\b", re.IGNORECASE)
_LIST_JOINT_RE = re.compile(r"\s*(?:,\s*(?:and\s+)?|，|、|/|\s(?:and|or)\s|和|与|及|以及|或)\s*")
_ROLE_SENTENCE_RE = re.compile(r"[^。;；!?！？\n]+")


class _Item(NamedTuple):
    """A name or a number of a sentence, where it stands."""
    start: int
    end: int
    kind: str  # "name" or "number"
    value: str | Decimal  # a name's key, a number's value
    written: str


class _Role(NamedTuple):
    key: str
    name: str
    number: str
    value: Decimal


def _number_roles(text: str, every_reading: bool) -> list[_Role]:
    """The numbers of ``text`` that it gives a name, in the text's order. A number between two names takes the
    likelier one ("50.2 mAP" of "AudioSet-2M达50.2 mAP"), or with ``every_reading`` both: evidence is read that way,
    so a sentence's number is only out of its role when no reading of the evidence puts it there."""
    roles: list[_Role] = []
    for sentence in _ROLE_SENTENCE_RE.findall(text):
        names = [_Item(m.start(), m.end(), "name", _term_key(m[0]), m[0]) for m in _ROLE_NAME_RE.finditer(sentence)
                 if _terms(m[0].replace("-", ""), capitalised=True, skip_first=False)]
        numbers = [_Item(m.start(), m.end(), "number", value, written)  # not the 4 of GPT-4o
                   for m, (written, value) in zip(_NUMBER_RE.finditer(sentence), _numbers(sentence))
                   if not any(name.start <= m.start() < name.end for name in names)]
        items = sorted(names + numbers)
        runs = _runs(sentence, items)
        number_runs = [run for run in runs if run[0].kind == "number" and len(run) > 1]
        listed_numbers: set[int] = set()
        for marker in _RESPECTIVELY_RE.finditer(sentence) if number_runs else ():
            listed = min(number_runs, key=lambda run: min(abs(run[0].start - marker.end()),
                                                          abs(run[-1].end - marker.start())))
            name_runs = [run for run in runs if run[0].kind == "name" and len(run) == len(listed)
                         and run[-1].end <= listed[0].start]
            if name_runs:
                roles += [_Role(name.value, name.written, number.written, number.value)
                          for name, number in zip(name_runs[-1], listed)]
                listed_numbers |= {number.start for number in listed}
        for before, item, after in zip([None] + items[:-1], items, items[1:] + [None]):
            if item.kind != "number" or item.start in listed_numbers:
                continue
            candidates = [name for name, gap, joint in ((after, sentence[item.end:after and after.start], _NUMBER_TO_NAME_RE),
                                                        (before, sentence[before and before.end:item.start], _NAME_TO_NUMBER_RE))
                          if name and name.kind == "name" and joint.fullmatch(gap)]
            roles += [_Role(name.value, name.written, item.written, item.value)
                      for name in (candidates if every_reading else candidates[:1])]
    return roles


def _runs(sentence: str, items: list[_Item]) -> list[list[_Item]]:
    """``items`` cut into runs of one kind joined by list words ("AUC和c-AUC", "3.7% and 11.3%")."""
    runs: list[list[_Item]] = []
    for item in items:
        if runs and runs[-1][-1].kind == item.kind and _LIST_JOINT_RE.fullmatch(sentence[runs[-1][-1].end:item.start]):
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


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
