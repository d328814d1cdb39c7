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
on speech codecs when both are about speech; :func:`topic_choice` asks the
bundled model which of the top papers, if any, is the kind of work sought.
"""

from __future__ import annotations

import re

import numpy as np
from llama_index.core.llms import ChatMessage

from assistant import confidence, prompts
from assistant.answer import Source
from assistant.evidence import HAS_NAME_RE, HAS_NUMBER_RE, NAME_RE
from assistant.asked import GENERIC_TERMS, asked_quantity, asks_a_name, is_multi_part, names_given
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
TOPIC_SUMMARY_CHARS = 200
"""Of each paper's summary shown to the topic check: its start says what the paper is about
(docs/performance.md, "The topic check as a choice")."""
_LETTERS = "ABCD"
"""The topic check's choices: the top three papers, then "none of these"."""


def specific_terms(question: str) -> list[str]:
    """The question's technical terms: acronyms, names, words with digits or hyphens, lower-cased."""
    question = _ID_RE.sub(" ", question)
    words = []
    for match in _TERM_RE.finditer(question):
        parts = match[0].split("-")
        # "LLM-generated", "TV-series": only the name parts are names; "GPT-4o", "ESC-50" stay whole.
        names = [p for p in parts if p and (any(c.isdigit() or c.isupper() for c in p) or p in ("kbps", "hz"))]
        words += [match[0]] if len(names) == len(parts) else names
    terms = []
    for word in words:
        key = word[:-1].lower() if word[:-1].isupper() and word.endswith("s") else word.lower()
        if key in GENERIC_TERMS or len(key) < 2 or _VERSION_RE.fullmatch(word):
            continue
        if word[0].isupper() and word[1:].islower():
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
    asked = asked_quantity(question)
    if asked is not None and not asked.stated_in(sources[0].sentences):
        return 0.0  # a count or a metric's value that the summary does not state (assistant/asked.py)
    if asked is None and ASKS_NUMBER_RE.search(question) and not _DIGIT_RE.search(shown):
        return 0.0
    if NAME_RE.search(question) and not HAS_NAME_RE.search(f"{sources[0].title} {shown}"):
        return 0.0
    if asks_a_name(question) and not is_multi_part(question) and not names_given(sources[0].sentences, question):
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


def topic_messages(question: str, papers: list[tuple[str, str]]) -> list[ChatMessage]:
    """The multiple-choice question of the topic check: the papers (title, summary) as A, B, C, then "none"."""
    options = [prompts.TOPIC_OPTION.format(letter=letter, title=prompts.sanitize(title),
                                           summary=prompts.sanitize(" ".join(summary[:TOPIC_SUMMARY_CHARS].split())))
               for letter, (title, summary) in zip(_LETTERS, papers)]
    options.append(prompts.TOPIC_NONE.format(letter=_LETTERS[len(papers)]))
    return [ChatMessage(role="system", content=prompts.TOPIC_SYSTEM),
            ChatMessage(role="user", content=prompts.TOPIC_USER.format(options="\n".join(options),
                                                                       question=prompts.sanitize(question)))]


def paper_sought(question: str, sources: list[Source], retrieval, retriever, settings, llm) -> tuple[str, bool]:
    """The base ID of the paper "Is there a paper on X?" asks for ("" when the collection has none), and
    whether the model was asked.

    "有没有关于手语翻译的论文？" whose closest summaries match it only loosely: the answer is that there is
    none. Shown the loose matches, the model quotes them as if they answered; asked "Which papers use X?"
    (a broad survey matches loosely too) it is not refused (docs/performance.md, "No such paper"). Just above
    the low-evidence threshold e5 cannot tell a paper on the topic from a neighbour (voice conversion against a
    speech codec): there ``llm`` (one with ``choice_probabilities``; None: no check) is shown the top three
    papers and "none of these", and picks. The paper it picks leads the evidence, also when it is not the top
    one (an LLM writing dance guidance ranks below one writing music prompts). Asked of one paper at a time
    ("is this the kind of work sought?") it said yes to neighbours: "A topic check" and "The topic check as a
    choice" in docs/performance.md have the measurements.
    """
    top = sources[0].base_id
    score = confidence.evidence_score(retriever, question, [s.arxiv_id for s in sources])
    if score is None:
        return top, False
    threshold = confidence.low_evidence_threshold(settings, question)
    if score < threshold and not retrieval.known_acronyms:
        return "", False
    if llm is None or score >= threshold + settings.topic_check_margin:
        return top, False
    candidates = sources[:len(_LETTERS) - 1]
    papers = [(source.title, next((c.text for c in retriever.chunks_of(source.arxiv_id)
                                   if c.metadata["section"] == "paper"), " ".join(source.sentences)))
              for source in candidates]
    chances = topic_choice(llm, question, papers)
    if chances[-1] >= settings.topic_check_max_none:
        return "", True
    return candidates[int(np.argmax(chances[:-1]))].base_id, True


def topic_choice(llm, question: str, papers: list[tuple[str, str]]) -> list[float]:
    """P(pick) of each paper (title, summary) as the kind of work ``question`` looks for, then P(none of them).

    ``llm`` is a model with ``choice_probabilities`` (the bundled one): one prompt evaluation, no decoding,
    about 3-7 s on 2 cores for a 350-450-token prompt, which is why the engine asks it only when the e5
    similarity is in doubt.
    """
    return llm.choice_probabilities(topic_messages(question, papers), _LETTERS[:len(papers) + 1])
