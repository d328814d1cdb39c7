"""The model's draft around the support check: cleaned before it (a copied evidence block, a refusal in the
model's own words, a bare title), completed and marked after it (a missing figure, unsupported sentences), and
the answers written without the model (extractive, quoted).

A 1.5B model sometimes ends its answer by copying the evidence block it was shown ("The evidence provided
includes the following papers:" then "[arXiv:…] <title>" and its "- …" lines). Every copied line is verbatim
evidence, so the support check passes it and the user reads the prompt back as an answer. The copy starts at
a line that is exactly an evidence header with a "- " line under it; from there on nothing is the model's own
(the lines are copied or translated), so it is cut, with the sentence that introduced it.
"""

from __future__ import annotations

import re

from assistant import prompts
from assistant.answer import SentenceVerdict, Source
from assistant.answerability import ASKS_NUMBER_RE
from assistant.citations import split_answer_sentences, strip_citations
from assistant.evidence import HAS_NUMBER_RE, QUANTITY_RE

_INTRO_RE = re.compile(r"[^.。!?！？\n]*[:：]\s*$")


def _key(text: str) -> str:
    return " ".join(re.sub(r"[*_#>`-]", " ", text).split()).casefold()


def strip_echo(text: str, sources: list[Source]) -> str:
    """``text`` up to where it starts copying the evidence block: a line that is only ``[arXiv:ID] <title>`` of a
    source shown, followed by a "- " line as in the prompt (a list of titles answering "which papers" has none)."""
    titles = {_key(s.title) for s in sources}
    lines = text.splitlines()
    for n, line in enumerate(lines[:-1]):
        header = line.startswith("[arXiv:") and _key(strip_citations(line)) in titles
        if header and lines[n + 1].lstrip().startswith("- "):
            kept = lines[:n]
            if kept:
                kept[-1] = _INTRO_RE.sub("", kept[-1]).rstrip()
            return "\n".join(kept).strip()
    return text


def is_filler(claim: str) -> bool:
    """"Yes." / "是的，有。": no content of its own to check."""
    return len(re.findall(r"[\u3400-\u9fffA-Za-z0-9]", claim)) <= 4


EXTRACTIVE_SCORE_RATIO = 0.8
"""A paper joins the extractive answer only when it scored close to the best one."""


def extractive_answer(sources: list[Source], language: str) -> str:
    """No LLM: the title and best evidence sentence of the leading papers, each cited."""
    lines = [prompts.EXTRACTIVE_INTRO[language]]
    best = max((s.score for s in sources), default=0.0)
    for source in sources[:3]:
        if source.sentences and source.score >= EXTRACTIVE_SCORE_RATIO * best:
            lines.append(f"- {source.title}: {source.sentences[0]} [arXiv:{source.arxiv_id}]")
    return "\n".join(lines)


def annotate(text: str, verdicts: list[SentenceVerdict]) -> str:
    """Mark unsupported sentences and add the citations found for uncited ones."""
    for verdict in verdicts:
        if verdict.text not in text:
            continue
        if not verdict.supported:
            text = text.replace(verdict.text, verdict.text + prompts.UNSUPPORTED_MARK, 1)
        elif verdict.method == "attributed":
            text = text.replace(verdict.text, f"{verdict.text} [arXiv:{verdict.citations[0]}]", 1)
    return text


def quoted_answer(sources: list[Source], language: str, question: str = "") -> str:
    """The top paper's two sentences that best answer the question, quoted with its title and ID.

    When the question asks for a quantity and neither sentence has a number, the best one that has replaces the
    second: "What speedup does X report?" wants "延迟降低约2倍", which ranks third behind two that name X."""
    top = sources[0]
    chosen = top.sentences[:2]
    numbered = [s for s in top.sentences[2:] if HAS_NUMBER_RE.search(s)]
    if QUANTITY_RE.search(question) and numbered and not any(HAS_NUMBER_RE.search(s) for s in chosen):
        chosen = chosen[:1] + numbered[:1]
    lines = [prompts.QUOTED_INTRO[language]]
    lines += [f"- {top.title}: “{sentence}” [arXiv:{top.arxiv_id}]" if not n else f"- “{sentence}” [arXiv:{top.arxiv_id}]"
              for n, sentence in enumerate(chosen)]
    return "\n".join(lines)


_REFUSAL_RE = re.compile(
    r"^(?:no (?:paper|work|study|evidence)|there (?:is|are) no (?:paper|work|study)|the evidence does not|"
    r"(?:this|the) (?:paper|collection|summary) does not (?:mention|state|say|provide)|"
    r"(?:没有|并没有|未找到|找不到|不存在)[^。！？]{0,40}(?:论文|研究|工作|信息|内容|提及|提到|说明)|"
    r"(?:证据|摘要|论文)?(?:中)?(?:没有|未)(?:提及|提到|说明|给出))", re.IGNORECASE)


def is_refusal(text: str) -> bool:
    """Every sentence of ``text`` only says the evidence does not answer ("没有关于X的论文。", "No paper ...")."""
    sentences = [strip_citations(s).strip() for s in split_answer_sentences(text.strip())]
    return bool(sentences) and all(_REFUSAL_RE.search(s) for s in sentences)


def without_titles(claim: str, titles: list[str]) -> str:
    """``claim`` with the cited papers' titles taken out (case and spacing ignored); empty when the claim is only
    a piece of a title (a title with a "?" in it is split into two "sentences")."""
    core = " ".join(claim.strip(" -–—:：.。").split()).casefold()
    if core and any(core in " ".join(title.split()).casefold() for title in titles):
        return ""
    for title in titles:
        pattern = r"\s+".join(re.escape(word) for word in title.split())
        claim = re.sub(pattern, " ", claim, flags=re.IGNORECASE) if pattern else claim
    return " ".join(claim.split()) if re.search(r"[\u3400-\u9fffA-Za-z]{2}", claim.replace(":", "")) else ""


def complete_numbers(question: str, text: str, sources: list[Source], language: str) -> tuple[str, str | None]:
    """When the question asks for a number and the answer gives none, add the top paper's best sentence with one.

    Small models restate what a paper does and leave out the figure that was asked. The evidence sentences are
    ranked for the question with numbers first (assistant/evidence.py), so the first one holding a digit is
    the figure asked for; it is added as a quote, cited. Returns the text and the sentence added (or None).
    """
    if not sources or not ASKS_NUMBER_RE.search(question) or HAS_NUMBER_RE.search(strip_citations(text)):
        return text, None
    top = sources[0]
    sentence = next((x for x in top.sentences if HAS_NUMBER_RE.search(x)), None)
    if sentence is None:
        return text, None
    quote = f"“{sentence}” {prompts.QUOTE_MARK[language]} [arXiv:{top.arxiv_id}]"
    return f"{text}\n{quote}", quote


def remove_sentence(text: str, sentence: str) -> str:
    """``text`` without ``sentence``; a line left empty (or holding only a list marker) goes too."""
    text = text.replace(sentence, "", 1)
    lines = [line.rstrip() for line in text.splitlines()]
    return "\n".join(line for line in lines if re.search(r"\w", line)).strip()
