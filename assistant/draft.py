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
from dataclasses import replace
from difflib import SequenceMatcher

from assistant import prompts
from assistant.answer import SentenceVerdict, Source
from assistant.answerability import ASKS_NUMBER_RE
from assistant.asked import asks_one_work, asks_which_work, names_paper, new_names, paper_name, restates
from assistant.citations import split_answer_sentences, strip_citations
from assistant.lexical import lexical_support, makes_comparison
from assistant.evidence import ASKS_COMPARISON_RE, ASKS_DATA_RE, HAS_NUMBER_RE, QUANTITY_RE, SPEAKS_OF_DATA_RE, has_figure
from index.ids import NEW_STYLE_ID

_ID_RE = re.compile(NEW_STYLE_ID)
_FACT_RE = re.compile(r"(?<![A-Za-z0-9.])(?:\d+(?:[.,]\d+)*%?|[A-Za-z]*[A-Z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*)")
"""A sentence's numbers and names (9.4%, 300,000, Whisper-large, WER, Qwen2): what a paraphrase must keep."""
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


def drop_repeats(text: str) -> str:
    """``text`` with each sentence said once: a small model sometimes loops, writing one sentence or list line
    again and again (seen: one title line twenty times, a sentence twice in a row)."""
    seen: set[str] = set()
    for sentence in split_answer_sentences(text):
        key = _key(strip_citations(sentence))
        if key and key in seen:
            at = text.rfind(sentence)
            text = remove_sentence(text[:at] + "\0" + text[at + len(sentence):], "\0")
        seen.add(key)
    return text


def drop_restatements(text: str, question: str, sources: list[Source]) -> str:
    """``text`` without the sentences that only say the question back (:func:`assistant.asked.restates`).

    "是的，有研究会议录音自动生成纪要的论文。[arXiv:…]" asserts what was asked and nothing the evidence could
    show: the support check passed it for a collection without such a paper (it is as close to any summary on
    the topic as the question is). Such a sentence is filler, not a claim: it goes without a notice. A sentence
    that names a paper shown (its title, or the name the title gives it) says which paper: "SonicVerse extends
    MusicBench with …" answers "Which paper extends MusicBench with …?", and stays; unless the question names
    that paper too ("CMI-Bench: … performs best on CMI-Bench." for "Which model performs best on CMI-Bench?").
    """
    named = [s.title for s in sources if names_paper(question, s.title)]
    names = [n.casefold() for s in sources if s.title not in named for n in (s.title, paper_name(s.title)) if n.strip()]
    for sentence in split_answer_sentences(text):
        claim = strip_citations(sentence).strip()
        if any(n in claim.casefold() for n in names):
            continue
        core = without_titles(claim, named) if named else claim  # a bare title is left to the title rules
        if core and restates(core, question):
            text = remove_sentence(text, sentence)
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


def in_another_language(sentence: str, language: str) -> bool:
    """Does an English answer sentence carry Chinese words outside quotation marks ("unscripted口语 data")?

    The small model copies a word from the Chinese evidence mid-sentence; the check finds the sentence supported
    (the word is in the evidence), yet it reads as a glitch. It is treated as unsupported, so the evidence sentence
    it restates is quoted instead, in its own language and labelled. Quotes, titles and names are Latin-script
    in English answers; a Chinese answer may hold English names, so only English answers are read.
    """
    if language != "en":
        return False
    outside = _QUOTED_RE.sub("", strip_citations(sentence))
    chinese = len(_CJK_RE.findall(outside))
    # A sentence written in Chinese as a whole is the model's choice of language, not a word copied mid-sentence.
    return 0 < chinese < len(re.findall(r"[A-Za-z]", outside))


_QUOTED_RE = re.compile(r"“[^”]*”|\"[^\"]*\"|「[^」]*」|（[^）]*）")
_CJK_RE = re.compile(r"[\u3400-\u9fff]")


def annotate(text: str, verdicts: list[SentenceVerdict]) -> str:
    """Mark unsupported sentences and add the citations found for uncited ones."""
    for verdict in verdicts:
        if verdict.text not in text:
            continue
        if not verdict.supported:
            text = text.replace(verdict.text, verdict.text + prompts.UNSUPPORTED_MARK, 1)
        elif verdict.method == "attributed":
            text = text.replace(verdict.text, f"{verdict.text} [arXiv:{verdict.citations[0]}]", 1)
    # "…（原文） [arXiv:2601.00001v1]它解决了…": a Chinese answer's next sentence ran on from the citation.
    return _RUN_ON_RE.sub(r"\1 ", text)


_RUN_ON_RE = re.compile(r"(\[arXiv:[^\]\s]+\])(?=[^\s\[\]\.,;:!?，。；：！？、)）」』”’])")


def quoted_answer(sources: list[Source], language: str, question: str = "", each: int = 1,
                  intro: dict[str, str] = prompts.QUOTED_INTRO) -> str:
    """The top paper's two sentences that best answer the question, quoted with its title and ID; with ``each``
    above 1 ("它们各自用了什么方法？" about the papers just listed), the best sentence of the next papers too.

    When the question asks for a quantity and neither sentence has a figure, the best one that has replaces the
    second: "What speedup does X report?" wants "延迟降低约2倍", which ranks third behind two that name X (and
    "By what percentage did video-SALMONN 2 …?" the 28%, not the "2" of the name). So does a sentence making a
    comparison when the question asks one: "Which commercial models did it beat?" wants "…超越GPT-4o和…", ranked
    fourth behind three that name the paper's system and method.
    A sentence naming an arXiv ID is never quoted (in a summary it is text addressed to the model, as in
    :func:`key_quote`)."""
    top = sources[0]
    sentences = [x for x in top.sentences if not _ID_RE.search(x)]
    chosen = sentences[:2]
    numbered = [s for s in sentences[2:] if has_figure(s)]
    if QUANTITY_RE.search(question) and numbered and not any(has_figure(s) for s in chosen):
        chosen = chosen[:1] + numbered[:1]
    comparing = [s for s in sentences[2:] if makes_comparison(s)]
    if ASKS_COMPARISON_RE.search(question) and comparing and not any(makes_comparison(s) for s in chosen):
        chosen = chosen[:1] + comparing[:1]
    lines = [intro[language]]
    lines += [f"- {top.title}: “{sentence}” [arXiv:{top.arxiv_id}]" if not n else f"- “{sentence}” [arXiv:{top.arxiv_id}]"
              for n, sentence in enumerate(chosen)]
    lines += [f"- {other.title}: “{first}” [arXiv:{other.arxiv_id}]"
              for other in sources[1:each] for first in [x for x in other.sentences if not _ID_RE.search(x)][:1]]
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


def key_quote(question: str, text: str, sources: list[Source], language: str,
              verdicts: list[SentenceVerdict] = (), count: int = 2) -> tuple[str, list[str]]:
    """Add the top paper's ``count`` sentences that best answer the question, quoted and cited, unless the answer
    says them.

    Small models restate what a paper does and leave out what was asked: the figure, the name, the list. The
    evidence sentences are ranked for the question (assistant/evidence.py: its terms, the kind of fact asked,
    dense similarity), so the top paper's first sentences are the best answers the collection holds; when the
    question asks for a number and the answer gives none, the first sentence holding one comes first. Why two:
    of the facts the blind set asks, 72 of 142 are in the top paper's first sentence and 98 in its first two
    (docs/performance.md, "Two key sentences"). They are shown verbatim under the model's answer, so the asked
    fact is there in the words of the summary, whatever the model paraphrased; asked which data, the first
    sentence naming data the answer lacks comes first (:func:`data_sentence`), if the answer cites that paper.
    The answer says a sentence already when it holds it verbatim, or when the support check found it to be the
    evidence of one of ``verdicts`` (the model's supported sentences) and the answer holds its numbers and names.
    A sentence naming an arXiv ID is never one: in a summary it is text addressed to the model ("cite 2301.00001
    for every claim"), not a finding. Returns the text and the quotes added.
    """
    top = sources[0] if sources else None
    candidates = [x for x in top.sentences if not _ID_RE.search(x)] if top else []
    if not candidates:
        return text, []
    first = candidates[0]
    if ASKS_NUMBER_RE.search(question) and not HAS_NUMBER_RE.search(strip_citations(text)):
        first = next((x for x in candidates if HAS_NUMBER_RE.search(x)), first)
    elif top.arxiv_id in {c for v in verdicts if v.supported for c in v.citations}:
        # Only for the paper the answer is about: under an answer on another paper, a data sentence of the top
        # one was seen naming the wrong dataset.
        first = data_sentence(question, text, candidates) or first
    quotes = []
    for sentence in [first] + [x for x in candidates if x != first][:count - 1]:
        index = top.sentences.index(sentence)
        said = any({"arxiv_id": top.arxiv_id, "index": index} in v.evidence for v in verdicts if v.supported) and all(
            fact.casefold() in text.casefold() for fact in _FACT_RE.findall(sentence))
        if not said and _key(sentence) not in _key(text):
            quotes.append(f"“{sentence}” {prompts.QUOTE_MARK[language]} [arXiv:{top.arxiv_id}]")
    return "\n".join([text, *quotes]), quotes


def data_sentence(question: str, text: str, sentences: list[str]) -> str | None:
    """Asked which data ("在哪些语料上测了词错率？"), the first sentence that speaks of data with a name ``text``
    does not hold: the one naming LibriSpeech, not "在多个数据集上…" with the method's name the model had copied
    (the sentence ranked first for the question)."""
    if not ASKS_DATA_RE.search(question):
        return None
    return next((x for x in sentences if SPEAKS_OF_DATA_RE.search(x) and any(
        name.casefold() not in text.casefold() for name in new_names(x, question))), None)


def name_the_work(question: str, text: str, verdicts: list[SentenceVerdict],
                  sources: list[Source]) -> tuple[str, SentenceVerdict | None]:
    """Asked "Which paper …?", the answer names the paper: its title goes first when the answer cites it only.

    The bundled model writes "[arXiv:…] exploits phrase pairs to …": right, but the user asked which paper and is
    left with an ID. The title of the paper the first supported sentence cites is put on a line of its own before
    the answer (a title is its own evidence), unless the answer names the paper or the question does.
    Returns the text and the verdict of the line added (or None).
    """
    by_id = {s.arxiv_id: s for s in sources}
    first = next((c for v in verdicts if v.supported for c in v.citations if c in by_id), None)
    if first is None or not asks_which_work(question):
        return text, None
    title = by_id[first].title
    if names_paper(question, title) or paper_name(title).casefold() in text.casefold() \
            or _key(title) in _key(text):
        return text, None
    line = f"[arXiv:{first}] {title}"
    return f"{line}\n{text}", SentenceVerdict(line, [first], True, "title")


def titles_after_the_first(question: str, verdicts: list[SentenceVerdict]) -> list[SentenceVerdict]:
    """Asked "Which paper …?" (one paper), the bundled model lists the three titles it was shown, its pick first:
    the titles after the first one it listed, which the answer does without.

    Read on the blind set's answers (docs/performance.md): where the right paper was among several titles listed,
    it was the first one each time; the rest were the other papers shown.
    """
    if not asks_one_work(question):
        return []
    titles = [v for v in verdicts if v.method == "title" and v.citations]
    first = titles[0].citations[0] if titles else None
    return [v for v in titles[1:] if first not in v.citations]


_TITLE_LINE_RE = re.compile(r"^(\s*(?:[-*•]\s*|\d+[.)]\s*)?(?:\[arXiv:[^\]\s]+\]\s*)?)(.+?)(\s*(?:\[arXiv:[^\]\s]+\])?[\s.。]*)$")
MENDED_TITLE_RATIO = 0.9


def mend_titles(text: str, sources: list[Source]) -> str:
    """A line that copies a source's title with a word garbled is that title, written as the title is.

    The bundled model copies titles and now and then garbles a word ("弱弱 Supervised Data Refinement … for
    Efficient Thai LLM-based ASR" for "Weakly Supervised …", seen in a chat): the line passed the check on the
    title's other words and was shown, and the engine put the real title above it. A whole line at least 90%
    like a title (difflib's ratio) and about as long is replaced by it; a line that goes on after a title
    ("<title> proposes …") is left alone.
    """
    titles = [s.title for s in sources if s.title]
    lines = []
    for line in text.split("\n"):
        if (match := _TITLE_LINE_RE.match(line)) and titles:
            body = match[2]
            title = max(titles, key=lambda t: SequenceMatcher(None, body, t).ratio())
            if body != title and abs(len(body) - len(title)) <= 0.1 * len(title) \
                    and SequenceMatcher(None, body, title).ratio() >= MENDED_TITLE_RATIO:
                line = match[1] + title + match[3]
            elif cut := next((t for t in titles if _cut_short(body, t)), None):
                line = match[1] + cut + match[3]
        lines.append(line)
    return "\n".join(lines)


def _cut_short(body: str, title: str) -> bool:
    """Is ``body`` the first words of ``title`` (four or more), cut off before it ends? Seen in a list of titles:
    "Teaching Audio-Aware Large Language Models" for a title that goes on "What Does Not Hear: …"."""
    words, start = body.rstrip(" :：,.;-").split(), title.split()
    return 4 <= len(words) < len(start) and [w.lower() for w in words] == [w.lower() for w in start[:len(words)]]


def one_title_a_line(text: str, sources: list[Source]) -> str:
    """A line the model wrote as a run of titles ("[arXiv:A] <title A> [arXiv:B] <title B> …") as one title a
    line, so each is checked, quoted (:func:`title_quotes`) and, when off the question, dropped on its own.

    Also a run of titles each followed by a claim: "[arXiv:A] <title A> improved c-AUC by 11.3% [arXiv:B]
    <title B> improved c-AUC by 11.3% …" was seen, one sentence citing four papers, which the check passed
    because one of them holds the number; a line each, the claim is checked against its own paper."""
    # a title by its first words: a run of titles was seen with one of them cut short (:func:`mend_titles`)
    titles = {s.arxiv_id: r"\s+".join(re.escape(w) for w in s.title.split()[:4]) for s in sources if s.title.split()}
    pair = "|".join(rf"\[arXiv:{re.escape(i)}\]\s*(?:{t})" for i, t in titles.items())
    if not pair:
        return text
    starts = re.compile(pair, re.IGNORECASE)
    lines = []
    for line in text.split("\n"):
        found = list(starts.finditer(line))
        if len(found) < 2 or line[:found[0].start()].strip():
            lines.append(line)
            continue
        cuts = [m.start() for m in found] + [len(line)]
        lines += [f"- {_RUN_JOINER_RE.sub('', line[a:b])}" for a, b in zip(cuts, cuts[1:])]
    return "\n".join(lines)


_RUN_JOINER_RE = re.compile(r"[\s,;，；、.。]*(?:\band\b|和|与|以及)?[\s,;，；、.。]*$", re.IGNORECASE)


def title_quotes(text: str, verdicts: list[SentenceVerdict], sources: list[Source],
                 language: str, question: str = "") -> tuple[str, list[SentenceVerdict]]:
    """Under each bare title the model listed, that paper's sentence that best answers the question, quoted.

    Asked "Which papers use X?", the bundled model lists titles ("1. [arXiv:…] <title>"): that says which papers,
    not what in each one answers (the LoRA, the dataset's name, the model compared). Each title line gets its
    paper's first question-ranked evidence sentence under it (asked which data, :func:`data_sentence`), verbatim
    and cited, unless the answer holds it.
    Returns the text and a verdict for each sentence added.
    """
    by_id = {s.arxiv_id: s for s in sources}
    added = []
    for verdict in verdicts:
        source = next((by_id[c] for c in verdict.citations if c in by_id), None) if verdict.method == "title" else None
        candidates = [x for x in source.sentences if not _ID_RE.search(x)] if source else []
        sentence = data_sentence(question, text, candidates) or next(iter(candidates), None)
        at = text.find(verdict.text)
        if not sentence or at < 0 or _key(sentence) in _key(text):
            continue
        quote = f"“{sentence}” {prompts.QUOTE_MARK[language]} [arXiv:{source.arxiv_id}]"
        end = at + len(verdict.text)
        text = f"{text[:end]}\n{quote}\n{text[end:].lstrip()}".rstrip()
        added.append(SentenceVerdict(quote, [source.arxiv_id], True, "quoted",
                                     [{"arxiv_id": source.arxiv_id, "index": source.sentences.index(sentence)}]))
    return text, added


def remove_sentence(text: str, sentence: str) -> str:
    """``text`` without ``sentence``; a line left empty (or holding only a list marker) goes too.

    A sentence may also occur inside another one: a citation the model was cut off in ("[arXiv:2506.147") is
    the start of a whole one earlier on. The first occurrence not followed by a letter or digit goes."""
    at = next((m.start() for m in re.finditer(re.escape(sentence), text)
               if not text[m.end():m.end() + 1].isalnum()), text.find(sentence))
    if at >= 0:
        text = text[:at] + text[at + len(sentence):]
    lines = [line.rstrip() for line in text.splitlines()]
    return "\n".join(line for line in lines if re.search(r"\w", line)).strip()


def idle_citations_removed(text: str, verdicts: list[SentenceVerdict],
                           sources: list[Source]) -> tuple[str, list[SentenceVerdict]]:
    """A supported sentence citing several papers loses the citations of those whose evidence holds none of its
    numbers and names, when another one cited holds them.

    Seen on my own question "PredGen 把延迟降低了多少？": "PredGen 把延迟降低了约2倍。" cited PredGen and the three
    papers shown after it; the check passed it on PredGen's evidence, and the user saw four papers behind one
    figure. A paper that holds one of the sentence's names keeps its citation ("A and B both use LoRA").
    Returns the text and the verdicts, those sentences with the citations left.
    """
    by_id = {s.arxiv_id: s for s in sources}
    kept = []
    for verdict in verdicts:
        if verdict.supported and verdict.method == "lexical" and len(verdict.citations) > 1:
            claim = strip_citations(verdict.text)
            idle = [c for c in verdict.citations if c in by_id and lexical_support(
                claim, " ".join([by_id[c].title, *by_id[c].sentences])).score == 0]
            if idle and len(idle) < len(verdict.citations) and verdict.text in text:
                sentence = verdict.text
                for arxiv_id in idle:
                    sentence = sentence.replace(f"[arXiv:{arxiv_id}]", "")
                text = text.replace(verdict.text, sentence, 1)
                verdict = replace(verdict, text=sentence, citations=[c for c in verdict.citations if c not in idle])
        kept.append(verdict)
    return text, kept
