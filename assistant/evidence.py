"""Choose the evidence sentences shown to the model, within a token budget.

Time to the first token is prompt tokens ÷ prefill rate, so the model gets
the sentences that answer *this* question, not whole summaries:

* every sentence of a retrieved paper is scored for the question: the share
  of the question's (IDF-weighted) terms it holds, the dense similarity of its
  chunk, and whether it holds the kind of fact asked ("how many / 多少" wants
  numbers, "which dataset / 叫什么" wants names);
* the budget goes to the papers that dominate the ranking: a paper's share
  grows with the twelfth power of its fused score relative to the best one, so
  a clear winner gets most of the room and close contenders share it, and
  every paper still shows its best sentence.

Versions: the newest version of a paper is the evidence by default. When the
question asks about versions, or names one, each version whose text differs
gets its own labelled evidence, so the answer can say what changed; the version it names
("LeVo 的 v2", "the first version", "最新版") comes first, so the answer and its quote are from that one.
"""

from __future__ import annotations

import re

from assistant.answer import Source
from assistant.asked import asked_aspect, asked_quantity, asks_a_name, mentions_aspect, names_given
from assistant.retrieval import HybridRetriever, PaperResult, Retrieval, tokenize
from index.chunking import split_sentences
from index.ids import parse_arxiv_id
from index.store import StoredChunk

_VERSION_QUESTION_RE = re.compile(
    r"\bversions?\b|\bv\d\b|版本|哪一版|第\s*[一二三四五\d]\s*个?版|最新的?版|改动|变化|更新|revis", re.IGNORECASE)
_MODEL_VARIANT_RE = re.compile(
    r"\b(?:\d+(?:\.\d+)?\s*[BMK]|small|base|large|lite|mini|tiny|distilled|compressed|quanti[sz]ed|pruned|"
    r"open[- ]source)[- ]versions?\b|\d+(?:\.\d+)?\s*[BMK]\s*(?:的)?版本?|[\d一二三四五六七八九十百千]+\s*亿参数(?:的)?版本?",
    re.IGNORECASE)
"""A model's size or variant called a version ("the 7B version", "70亿参数的版本"), not an arXiv version."""
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*\+?%?")
_ORDINAL_RE = re.compile(
    r"\bv(\d)\b|\bversion\s*(\d)\b|\b(first|second|third|fourth|fifth)\s+version\b|第\s*([一二三四五\d])\s*个?版|"
    r"\b(newest|latest|most recent|last|current)\s+version\b|(最新|最后一|最终)(?:的)?版", re.IGNORECASE)
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5}
# Share of the budget for the 1st, 2nd, ... paper of a version question.
_SHARES = (0.4, 0.25, 0.2, 0.15, 0.1, 0.1)
# Questions that ask for a quantity or for a name: sentences holding that kind of fact come first.
QUANTITY_RE = re.compile(
    r"how (?:many|much|large|big|fast|long|often|well)|\bnumber of\b|percent|\brates?\b|\bscores?\b|accura|"
    r"improv|reduc|\bgains?\b|faster|speed|\bsize\b|\bhours?\b|\bsamples?\b|"
    r"多少|几[个种项类倍小]|多大|多快|多长|多高|提升|提高|降低|减少|下降|百分|比例|倍|准确率|错误率|规模|数量|时长",
    re.IGNORECASE)
NAME_RE = re.compile(
    r"\b(?:which|what)\s+(?:\w+\s+)?(?:datasets?|benchmarks?|models?|methods?|corpus|corpora|languages?|metrics?|"
    r"tools?|frameworks?|systems?|baselines?|encoders?|codecs?|tasks?)\b|\bcalled\b|\bnamed?\b|"
    r"叫什么|名字|名称|(?:哪个|哪些|哪两个|哪几个|什么)[\u3400-\u9fff]{0,6}?(?:数据集|语料|测试集|模型|基准|方法|框架|语言|指标|任务|编码器|系统)",
    re.IGNORECASE)
ASKS_COMPARISON_RE = re.compile(r"\b(?:beat|outperform|surpass|exceed)\w*|\b(?:better|worse|stronger)\s+than\b|"
                                r"\bcompar\w*|\bagainst\b|\bbaselines?\b|超越|优于|超过|胜过|好于|相比|对比|基线",
                                re.IGNORECASE)
"""A question for what a paper beat or was compared with ("Which commercial models did it beat?")."""
ASKS_DATA_RE = re.compile(r"\b(?:which|what)\s+(?:\w+\s+)?(?:datasets?|benchmarks?|corpus|corpora|test sets?)\b|"
                          r"(?:哪个|哪些|哪两个|哪几个|什么)[\u3400-\u9fff]{0,6}?(?:数据集|语料|测试集|基准)", re.IGNORECASE)
"""A question for the data a paper used ("Which datasets …?", "在哪些语料上测了…？")."""
SPEAKS_OF_DATA_RE = re.compile(r"\b(?:datasets?|benchmarks?|corpus|corpora|test sets?)\b|数据集|语料|测试集|基准", re.IGNORECASE)
"""A sentence that speaks of data: where the names a data question wants are."""
HAS_NAME_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*")
"""A name in a text (Whisper, LibriSpeech, GPT-4o): what a "which dataset / 叫什么" question wants."""
HAS_NUMBER_RE = re.compile(r"(?<![A-Za-z])\d")
"""A number in a text, not a digit inside a name (Qwen2): what a "how many / 多少" question wants."""
_NAME_NUMBER_RE = re.compile(r"[A-Za-z]*[A-Z][A-Za-z]*[ -]\d[\dA-Za-z.]*(?![\d.,]*\s*[%％倍])")


def has_figure(text: str) -> bool:
    """Does ``text`` hold a figure: a number (:data:`HAS_NUMBER_RE`) that is not the number of a name written with
    a space or a hyphen ("video-SALMONN 2", "GPT-4o", "Stage 1")? Asked "By what percentage …?", the sentence
    naming video-SALMONN 2 would otherwise count as the one with the number, ahead of the one with "28%"."""
    return HAS_NUMBER_RE.search(_NAME_NUMBER_RE.sub(" ", text)) is not None
# How strongly a paper's share of the budget follows its fused score relative to the best paper's.
DOMINANCE_POWER = 12
MIN_SENTENCE_TOKENS = 40
"""The least room a retrieved paper gets: its best sentence, cut to this many tokens."""
MAX_SENTENCE_TOKENS = 120
"""A longer sentence is cut to this many tokens: one sentence can never take the whole budget."""


def estimate_tokens(text: str) -> int:
    """Rough Qwen token count: one per Chinese character, ~1.3 per English word or number."""
    cjk = len(re.findall(r"[\u3400-\u9fff]", text))
    words = len(re.findall(r"[A-Za-z0-9]+", text))
    return cjk + int(words * 1.3) + 1


def is_version_question(question: str) -> bool:
    """Does the question ask about a paper's arXiv versions? "the 7B version" is a model's size, not one of them
    (seen: a two-part question on video-SALMONN 2 got version evidence, without its sentence holding 28%)."""
    return bool(_VERSION_QUESTION_RE.search(_MODEL_VARIANT_RE.sub(" ", question)))


def named_version(question: str) -> int | None:
    """The one version a question names without its ID ("LeVo 的 v2", "the first version", "最新版"): its
    number, -1 for the newest; None when it names none or several (a comparison)."""
    named = set()
    for match in _ORDINAL_RE.finditer(question):
        digit, word = match[1] or match[2], (match[3] or match[4] or "").lower()
        named.add(-1 if match[5] or match[6] else int(digit) if digit else _ORDINALS.get(word) or int(word))
    return named.pop() if len(named) == 1 else None


def select_evidence(retrieval: Retrieval, retriever: HybridRetriever, question: str, budget: int) -> list[Source]:
    """Evidence per paper (and per differing version when versions matter), best first."""
    asked_versions = {parse_arxiv_id(i)[0] for i in retrieval.requested_ids
                      if "v" in i.lower() and i not in retrieval.missing_ids}
    about_versions = is_version_question(question)
    ordinal = named_version(question)
    older = asked_versions - {p.newest for p in retrieval.papers}
    if not older and not (about_versions and any(len(p.versions) > 1 for p in retrieval.papers)):
        # Naming the newest version (as follow-ups do) asks about the paper, not about its versions.
        return focused_evidence(retrieval.papers, retriever, question, budget)
    sources: list[Source] = []
    for rank, paper in enumerate(retrieval.papers):
        share = int(budget * _SHARES[min(rank, len(_SHARES) - 1)])
        named = [v for v in paper.versions if v in asked_versions]
        if named:
            versions = named
        elif about_versions and len(paper.versions) > 1:
            # The version the question names first ("LeVo 的 v2 …"): the answer and its key sentence come from
            # the first evidence shown; the others stay, as what it may be compared with.
            versions = sorted(paper.versions, key=lambda v: v != _nth(paper.versions, ordinal))
        else:
            versions = [paper.newest]
        per_version = max(share // len(versions), 60)
        texts = {v: [c.text for c in retriever.chunks_of(v) if c.metadata["section"] != "paper"] for v in versions}
        for version in versions:
            if named or len(versions) > 1:
                chunks = [c for c in retriever.ranked_chunks_of(version, question) if c.metadata["section"] != "paper"]
            else:
                chunks = _ranked_chunks(paper.chunks, retriever.chunks_of(version))
            if len(versions) > 1:
                # What this version says differently from another version first, numbers that differ above all
                # (2506.00267: "200+小时" in v1, "100+小时" later).
                shared = set.intersection(*(set(ts) for ts in texts.values()))
                shared_numbers = set.intersection(*(set(_NUMBER_RE.findall(" ".join(ts))) for ts in texts.values()))
                chunks.sort(key=lambda c: (not set(_NUMBER_RE.findall(c.text)) - shared_numbers, c.text in shared))
            sentences = _fill(chunks, per_version)
            sources.append(Source(arxiv_id=version, base_id=paper.base_id, title=paper.title,
                                  url=chunks[0].metadata["url"] if chunks else "", score=paper.score,
                                  sentences=sentences, versions=paper.versions))
    return sources


def _nth(versions: list[str], ordinal: int | None) -> str | None:
    """The ``ordinal``-th of a paper's versions (oldest first; -1 the newest), None when it has no such one."""
    if ordinal is None:
        return None
    if ordinal == -1:
        return versions[-1]
    return next((v for v in versions if parse_arxiv_id(v)[2] == ordinal), None)


def focused_evidence(papers: list[PaperResult], retriever: HybridRetriever, question: str,
                     budget: int) -> list[Source]:
    """The newest version of each paper, with its sentences that best answer ``question``.

    Each paper gets a share of ``budget`` by how strongly it leads the ranking; within it, sentences are
    taken best first (see :func:`score_sentences`) and shown in that order.
    """
    if not papers:
        return []
    weights = [(p.score / papers[0].score) ** DOMINANCE_POWER if papers[0].score > 0 else 1.0 for p in papers]
    similarities = retriever.chunk_similarities(question, [p.newest for p in papers])
    sources = []
    for paper, weight in zip(papers, weights):
        share = int(budget * weight / sum(weights))
        scored = score_sentences(question, retriever.chunks_of(paper.newest), similarities, retriever)
        chosen, used = [], 0
        for _, sentence in scored:
            # A paper far behind the leader still shows its best sentence, cut to the room it has.
            sentence = cut_sentence(sentence, MAX_SENTENCE_TOKENS if chosen else max(share, MIN_SENTENCE_TOKENS))
            cost = estimate_tokens(sentence)
            if chosen and used + cost > share:
                continue  # a shorter sentence further down may still fit
            chosen.append(sentence)
            used += cost
        chunks = retriever.chunks_of(paper.newest)
        sources.append(Source(arxiv_id=paper.newest, base_id=paper.base_id, title=paper.title,
                              url=chunks[0].metadata["url"] if chunks else "", score=paper.score,
                              sentences=chosen, versions=paper.versions))
    return sources


KIND_WEIGHT = 0.4
"""What holding the kind of fact asked adds to a sentence's score. A question that describes its paper at length
("那篇基于大模型的泰语语音识别系统论文，有没有公开…数据？") matches the paper's opening sentence best on words and e5;
at 0.25 that sentence still came first, and an answer quoting it missed the fact (docs/performance.md, "A name of
the paper's own")."""


def score_sentences(question: str, chunks: list[StoredChunk], similarities: dict[str, float],
                    retriever: HybridRetriever) -> list[tuple[float, str]]:
    """Every sentence of a version's body, best answer to ``question`` first, with its score.

    score = 0.45 × question-term coverage (IDF-weighted) + 0.45 × its chunk's dense similarity (min-max within
    the paper) + :data:`KIND_WEIGHT` when it holds the kind of fact asked (a number for "how many", a name for
    "which dataset": one the question does not hold, and for "which LLM" in a sentence about a model; a word of
    release or of limitations for "Is its code out?" or "What are its limitations?").
    When the question's quantity is of a kind :func:`asked_quantity` knows, a number of that kind gets the full
    weight and any other number 0.1: asked "参数量是多少", "7B参数" comes before "213K小时语音-文本对".
    """
    terms = retriever.term_weights(tokenize(question))
    total = sum(terms.values()) or 1.0
    wants_number, wants_name = bool(QUANTITY_RE.search(question)), bool(NAME_RE.search(question))
    asked, aspect = asked_quantity(question), asked_aspect(question)
    if asks_a_name(question):
        # "Which lightweight LLM …?": a name new to the question, in a sentence that speaks of an LLM (the
        # check the answer must pass, assistant/asked.py), not the acronym of the benchmark it is about
        wants_name, has_name = True, lambda sentence: names_given([sentence], question)
    else:
        has_name = HAS_NAME_RE.search
    body = [c for c in chunks if c.metadata["section"] != "paper"]
    sims = [similarities.get(c.id, 0.0) for c in body]
    low, high = min(sims, default=0.0), max(sims, default=0.0)
    scored = []
    for chunk, sim in zip(body, sims):
        dense = (sim - low) / (high - low) if high > low else 0.5
        for sentence in split_sentences(chunk.text):
            words = set(tokenize(sentence))
            lexical = sum(w for t, w in terms.items() if t in words) / total
            kind = 0.0
            if (wants_name and has_name(sentence)) or (asked is not None and asked.stated_in([sentence])):
                kind = KIND_WEIGHT
            elif wants_number and has_figure(sentence):
                kind = 0.1 if asked is not None else KIND_WEIGHT
            elif aspect is not None and mentions_aspect(aspect, sentence):  # "Is X's code out?": "开放资源（音频示例、代码）"
                kind = KIND_WEIGHT
            scored.append((0.45 * lexical + 0.45 * dense + kind, sentence))
    scored.sort(key=lambda pair: -pair[0])
    return scored


def cut_sentence(sentence: str, tokens: int) -> str:
    """``sentence`` cut to about ``tokens`` tokens, marked with "…" when cut."""
    if estimate_tokens(sentence) <= tokens:
        return sentence
    low, high = 0, len(sentence)
    while low < high:  # the longest prefix within the budget
        middle = (low + high + 1) // 2
        if estimate_tokens(sentence[:middle]) <= tokens:
            low = middle
        else:
            high = middle - 1
    return sentence[:low].rstrip() + "…"


def _ranked_chunks(matched: list[StoredChunk], version_chunks: list[StoredChunk]) -> list[StoredChunk]:
    """The version's chunks in the order the question matched them (matches in any version count)."""
    body = [c for c in version_chunks if c.metadata["section"] != "paper"]
    by_id = {c.id: rank for rank, c in enumerate(matched)}
    by_index: dict[int, int] = {}
    for rank, chunk in enumerate(matched):
        if chunk.metadata["section"] != "paper":
            by_index.setdefault(chunk.metadata["chunk_index"], rank)
    # The chunk's own match first, else its counterpart's in another version; unmatched ones in reading order.
    unmatched = len(matched)
    return sorted(body, key=lambda c: by_id.get(c.id, by_index.get(c.metadata["chunk_index"],
                                                                    unmatched + c.metadata["chunk_index"])))


def _fill(chunks: list[StoredChunk], budget: int) -> list[str]:
    sentences: list[str] = []
    used = 0
    for chunk in chunks:
        for sentence in split_sentences(chunk.text):
            cost = estimate_tokens(sentence)
            if sentences and used + cost > budget:
                return sentences
            sentences.append(sentence)
            used += cost
    return sentences
