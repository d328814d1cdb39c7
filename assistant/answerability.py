"""Does the evidence answer the question? The check between a quoted answer and an abstention.

A question about a real paper can still ask for a fact its summary does not
give ("How many GPUs did X train on?"). Retrieval then finds the right paper
with a high score, so retrieval scores cannot tell; what can is whether the
evidence holds the *kind* of fact asked and the question's specific terms:

* a question that asks for a quantity needs a number in the evidence shown (for a count or a metric it knows,
  assistant/asked.py: that number written with the thing counted or the metric),
  one that asks for a name needs a name (for a model or a dataset, one the question does not hold);
* the question's technical terms (acronyms, names, words with digits: GPU,
  MOS, kbps, batch) that the whole paper never mentions are facts it does not
  give, unless the term identifies another retrieved paper.

The score is the share of the question's specific terms that the top paper
holds, zeroed when the asked kind of fact is missing.

"Is there a paper on X?" is a different question: whether the collection covers
a topic at all. e5 similarity cannot tell a paper on voice conversion from one
on speech codecs when both are about speech; :func:`topic_match` asks the
bundled model whether the top paper is the kind of work sought.
"""

from __future__ import annotations

import re

from llama_index.core.llms import ChatMessage

from assistant import confidence, prompts
from assistant.answer import Source
from assistant.evidence import HAS_NAME_RE, HAS_NUMBER_RE, NAME_RE
from assistant.asked import GENERIC_TERMS, asked_quantity, asking_parts, asks_a_name, is_multi_part, names_given, \
    question_parts, unstated_parts
from index.ids import NEW_STYLE_ID

# Names (capitalised inside, digits, all capitals: GPU, GPT-4o, ESC-50, CosyVoice) and units (kbps, Hz).
_TERM_RE = re.compile(r"(?<![A-Za-z0-9])(?:[A-Za-z]*[A-Z][A-Za-z0-9]*|[A-Za-z]+\d[A-Za-z0-9]*|kbps|bps|hz|khz|ms)"
                      r"(?:[-.][A-Za-z0-9]+)*(?![A-Za-z0-9])")
ASKS_NUMBER_RE = re.compile(
    r"how (?:many|much)|by what (?:factor|margin)|what (?:percentage|share|fraction|proportion)|多少|几[个种项类倍位条次]",
    re.IGNORECASE)
"""A question whose answer is a number (stricter than evidence.QUANTITY_RE, which only ranks sentences)."""
_VERSION_RE = re.compile(r"v\d+", re.IGNORECASE)
# A number, or a Chinese numeral with its measure word (三类, 两种): "哪三类" is answered in words.
_DIGIT_RE = re.compile(HAS_NUMBER_RE.pattern + r"|[一二两三四五六七八九十百千万][个种类项倍次位条]")
_ID_RE = re.compile(NEW_STYLE_ID)
TOPIC_SUMMARY_CHARS = 500
"""Of the top paper's summary shown to the topic check: its start says what the paper is about. At 200
characters the check told fewer absent topics from present ones (docs/performance.md, "A topic check")."""


def specific_terms(question: str, capitalised: bool = False) -> list[str]:
    """The question's technical terms: acronyms, names, words with digits or hyphens, lower-cased; with
    ``capitalised``, also a capitalised word inside a sentence ("… on top of OpenAI's Whisper?")."""
    question = _ID_RE.sub(" ", question)
    words = []
    for match in _TERM_RE.finditer(question):
        parts = match[0].split("-")
        # "LLM-generated", "TV-series": only the name parts are names; "GPT-4o", "ESC-50" stay whole.
        names = [p for p in parts if p and (any(c.isdigit() or c.isupper() for c in p) or p in ("kbps", "hz"))]
        inside = bool(re.search(r"[^\s.?!。？！:：]\s*$", question[:match.start()]))
        words += [(w, inside) for w in ([match[0]] if len(names) == len(parts) else names)]
    terms = []
    for word, inside in words:
        key = word[:-1].lower() if word[:-1].isupper() and word.endswith("s") else word.lower()
        if key in GENERIC_TERMS or len(key) < 2 or _VERSION_RE.fullmatch(word):
            continue
        if word[0].isupper() and word[1:].islower() and not (capitalised and inside):
            continue  # "Which", "Whisper": a capitalised word may just start a sentence; too weak a sign
        terms.append(key)
    return list(dict.fromkeys(terms))


def answerability(question: str, sources: list[Source], paper_text: dict[str, str]) -> float:
    """Between 0 (the evidence does not give what is asked) and 1.

    Args:
        question: the standalone question.
        sources: the evidence shown, best paper first.
        paper_text: base ID to the whole text (title and every version) of each retrieved paper.
    """
    if not sources or not sources[0].sentences:
        return 0.0
    shown = " ".join(sources[0].sentences)
    parts = question_parts(question)
    unstated = unstated_parts(question, sources[0].sentences)
    if unstated and len(unstated) >= len(asking_parts(question)):
        return 0.0  # a count or a metric's value that the summary does not state (assistant/asked.py)
    whole = question  # its names are not new when the summary holds them ("NTPP … ？用哪个对话语料训练的？")
    if unstated:  # what the rest of the question asks may still be answered (the engine says which part is not)
        question = " ".join(part for part, bare in zip(parts, question_parts(question, keep_context=False))
                            if bare not in unstated)
    asked = asked_quantity(question)
    if asked is None and ASKS_NUMBER_RE.search(question) and not _DIGIT_RE.search(shown):
        return 0.0
    if NAME_RE.search(question) and not HAS_NAME_RE.search(f"{sources[0].title} {shown}"):
        return 0.0
    if asks_a_name(question) and not is_multi_part(question) and not names_given(sources[0].sentences, whole,
                                                                                        sources[0].title):
        return 0.0  # "Which specific LLM does X use?" and X's summary names none (the title does not count:
        # a title is all capitalised words)
    terms = specific_terms(question)
    if not terms:
        return 1.0
    top = paper_text.get(sources[0].base_id, "").lower()
    others = " ".join(text for base, text in paper_text.items() if base != sources[0].base_id).lower()
    # A term found in another retrieved paper only may be the question naming that paper: no verdict from it.
    held = [t for t in terms if _has(top, t) or _has(others, t)]
    return len(held) / len(terms)


def _has(text: str, term: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(term)}(?:e?s)?(?![a-z0-9])", text) is not None


def topic_messages(question: str, title: str, summary: str) -> list[ChatMessage]:
    """The yes/no question of the topic check."""
    return [ChatMessage(role="system", content=prompts.TOPIC_SYSTEM),
            ChatMessage(role="user", content=prompts.TOPIC_USER.format(
                title=prompts.sanitize(title), summary=prompts.sanitize(summary[:TOPIC_SUMMARY_CHARS]),
                question=prompts.sanitize(question)))]


def paper_sought(question: str, sources: list[Source], retrieval, retriever, settings, llm) -> tuple[str, bool]:
    """The base ID of the paper "Is there a paper on X?" asks for ("" when the collection has none), and
    whether the model was asked.

    "有没有关于手语翻译的论文？" whose closest summaries match it only loosely: the answer is that there is
    none. Shown the loose matches, the model quotes them as if they answered; asked "Which papers use X?"
    (a broad survey matches loosely too) it is not refused (docs/performance.md, "No such paper"). Just above
    the low-evidence threshold e5 cannot tell a paper on the topic from a neighbour (voice conversion against a
    speech codec), nor, a little below it, a paper asked for in other words from an absent topic: there ``llm``
    (one with ``yes_probability``; None: no check) judges the summaries of the top two papers, and the first it
    accepts is the one sought: when the first is a neighbour, the paper sought is often second (an LLM writing
    dance guidance ranked below one writing music prompts). "A topic check" in docs/performance.md has the
    measurements.
    """
    top = sources[0].base_id
    score = confidence.evidence_score(retriever, question, [s.arxiv_id for s in sources])
    if score is None:
        return top, False
    threshold = confidence.low_evidence_threshold(settings, question)
    if llm is None:  # no judge: the threshold alone
        return ("" if score < threshold and not retrieval.known_acronyms else top), False
    # Not only above the threshold: a question worded unlike any summary ("people talking unscripted" for a
    # spontaneous-speech corpus) scores just under it too, where e5 cannot tell it from an absent topic and
    # the model can ("A topic check below the threshold" in docs/performance.md).
    if score < threshold - settings.topic_check_below and not retrieval.known_acronyms:
        return "", False
    if score >= threshold + settings.topic_check_margin:
        return top, False
    return judged_sought(question, sources, retriever, settings, llm), True


def judged_sought(question: str, sources: list[Source], retriever, settings, llm) -> str:
    """The first of the top two papers that the topic check accepts as the one sought, or "".

    Also asked when e5 alone accepted the top paper and the model's answer was left with nothing that answers
    (a refusal, or sentences about other papers): the judge settles it ("The judge when the model refuses" in
    docs/performance.md).
    """
    return next((source.base_id for source in sources[:2] if on_topic(question, source, retriever, settings, llm)), "")


def on_topic(question: str, source: Source, retriever, settings, llm, bar: float | None = None) -> bool:
    """Does the topic check accept ``source`` as the kind of work ``question`` looks for (P(yes) at least
    ``bar``, by default ``topic_check_min_yes``)?"""
    summary = next((c.text for c in retriever.chunks_of(source.arxiv_id) if c.metadata["section"] == "paper"),
                   " ".join(source.sentences))
    return topic_match(llm, question, source.title, summary) >= (settings.topic_check_min_yes if bar is None else bar)


EXTRA_PAPER_MIN_YES = 0.85
"""The topic check's bar for a paper cited beside the one "Is there a paper on X?" found. Higher than for the
paper sought: an extra paper adds little when right and misleads when wrong, and the 1.5B judge gives wrong ones
up to 0.74. Seen: "有没有用大模型做音乐生成的论文？" 0.90-0.99 for each music-generation paper; "…给学英语的人的口语
自动打分的研究？" 0.71 for a paper on the naturalness of generated speech (docs/performance.md, "The judge when
the model refuses; other papers beside the one sought")."""


def topic_match(llm, question: str, title: str, summary: str) -> float:
    """P(yes) that the paper (title, summary) is the kind of work ``question`` looks for.

    ``llm`` is a model with ``yes_probability`` (the bundled one): one prompt evaluation, no decoding,
    about 2-4 s on 2 cores for a 250-350-token prompt, which is why the engine asks it only when the
    e5 similarity is in doubt.
    """
    return llm.yes_probability(topic_messages(question, title, summary))
