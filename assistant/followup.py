"""Is a chat message a follow-up, to be read with the conversation so far, or a new question?

A follow-up is rewritten with the history (assistant/engine.py ``condense``): the previous question and the IDs
of its answer go with it to retrieval. Read the wrong way either costs the answer: a follow-up read as new loses
its paper ("What about its licence?"); a new question read as a follow-up is retrieved with the previous
question's papers ("Which work … and what dataset did it release?" after a question on something else).
The signs are words that point back ("it", "这篇", "What about …?", "…呢？"), unless they point to what the
question itself describes or names, and a message too short to stand alone.
"""

from __future__ import annotations

import re

from assistant.asked import new_names, seeks_a_paper
from index.ids import find_arxiv_ids

# "that" points back after a preposition or a verb ("the cost of that compression", "Does that …", "What about
# that?"), not after a noun ("Is there a paper that uses …?", seen making a new question a follow-up).
_FOLLOW_UP_RE = re.compile(
    r"\b(it|its|they|their|them|this|these|those|both(?![^?？.]*\band\b)|the paper|the method|the model|the authors|"
    r"the (?:(?:two|three|first|second)(?![\s-]+(?:versions?|revisions?|stages?|steps?|rounds?|times?|place)\b|-)|"
    r"former|latter|other|same|system|approach|work|study|framework|dataset|benchmark))\b"
    r"|\b(?:of|about|in|on|for|from|with|by|to|at|than|does|did|do|is|was|are|were|use|uses|used|and|or)\s+that\b"
    r"|^\s*that\b|\bthat\s*[?？.!]?\s*$"
    r"|它|它们|其|这篇|该|这个(?![\u3400-\u9fff]{0,2}(?:问题|缩写|名字|名称|词))|那篇|他们|上述|前面|刚才|这两|两者|二者|两篇|前者|后者|这些|那个|这项", re.IGNORECASE)
_POSSESSIVES = {"its", "their", "其"}
_CLAUSE_BREAK_RE = re.compile(r"[,;.?，；。？]|\band\b")
# What a question may say of the one thing it describes itself; "these", "both", "the two", 两者 point to
# several things said before.
_SINGULAR_REFS = {"it", "its", "they", "their", "them", "this", "that", "the paper", "the method", "the model",
                  "the authors", "the system", "the approach", "the work", "the study", "the framework",
                  "the dataset", "the benchmark", "它", "其", "它们", "那篇", "这篇", "该", "这个", "那个", "这项"}
_AUXILIARIES = r"does|did|do|is|are|was|were|has|have|had|can|could|would|will|should"
_KINDS = r"papers?|works?|stud(?:y|ies)|methods?|models?|systems?|frameworks?|approach(?:es)?|benchmarks?|" \
         r"surveys?|codecs?|tokenizers?|research"
# A description of the paper asked about: "Which <…> work …", "the paper that …", "the TV-series ASR paper",
# "那篇用…的论文", "用大模型做唇语识别那篇". What refers to it after it refers to it, not to the chat.
_DESCRIBED_RE = re.compile(
    rf"\b(?:which|what)\s+(?!of\b)(?:(?!(?:{_AUXILIARIES})\b)[\w'-]+\s+){{0,4}}?(?:{_KINDS})\s+"
    rf"(?!(?:{_AUXILIARIES})\b)[a-z]+|"
    r"\b(?:has|have) anyone\b|\bis there (?:a|an|any)\b|"
    rf"\bthe\s+(?:[\w'.-]+\s+){{0,5}}?(?:{_KINDS})\s+(?:that|which|where|on|about|comparing|using|for|of|from|"
    rf"with|in)\b|\bthe\s+(?:[\w'.-]+\s+){{1,5}}?(?:{_KINDS})\b|"
    r"(?:那篇|那个|这篇|这个)[^，,。？?]{3,}?的[^，,。？?]{0,12}?"
    r"(?:论文|工作|研究|文章|方法|模型|框架|系统|综述|数据集|基准|模块|组件)|"
    r"(?:(?![它其这那该])[\u3400-\u9fffA-Za-z0-9.]){3,}\s?(?:那篇|那个)|[^，,。？?\s]{2,}的(?:那篇|那个)|"
    r"(?:有篇|有一篇|有个|有没有|是否有)[^，,。？?]{4,}",
    re.IGNORECASE)
_CONTINUES_RE = re.compile(r"^\s*(?:and|or|but|what about|how about)\b|^\s*(?:那么|那(?![篇个些项种位款])|还有|另外)|呢\s*[？?]?\s*$", re.IGNORECASE)
# 别的 ("other"), not the end of 识别的 ("recognition's"), 类别的, 分别的, 特别的...
_OTHER_RE = re.compile(r"\bother\b|\belse\b|其他|其它|(?<![识辨区告分离类级性个特差派])别的", re.IGNORECASE)
_SURVEY_RE = re.compile(r"\b(?:which|what|any) (?:papers|works|studies)\b|哪些[^？?]{0,20}(?:论文|工作|研究)", re.IGNORECASE)


def is_follow_up(question: str, history: list[dict] | None = None) -> bool:
    """A message that refers back ("it", "这篇", "What about …?", "…呢？") or is too short to stand alone, and
    names no paper ID.

    A short message starts a new topic when it asks whether a paper on a topic exists or which papers do
    ("有没有论文研究语音情感推理？用了哪些数据集？", "有哪些和音乐相关的论文？": Chinese is dense), or names
    something the chat has not ("OpusLM 的参数量是多少？" after a question on another paper): rewritten with the
    history, each was asked about the previous answer's papers."""
    if find_arxiv_ids(question):
        return False
    if _points_back(question, history) or _CONTINUES_RE.search(question):
        return True
    if len(question) >= 25 or _DESCRIBED_RE.search(question):
        return False
    if _OTHER_RE.search(question):  # "集合里还有别的论文也用了DPO吗？": other than the ones just named
        return True
    if seeks_a_paper(question) or _SURVEY_RE.search(question):
        return False
    return not names_new_to(question, history)


def _points_back(question: str, history: list[dict] | None) -> bool:
    """A word of the question refers to the chat so far.

    Not when it refers to something the question itself describes or names: "Which work … and what dataset did
    it release?", "For the paper that shrinks …, how much compute was saved?", "那篇用视频信息纠正电视剧语音识别错误的
    论文…" (a description, not "that paper" of the chat), and "its", "their", "其" after a name the chat has not had
    ("Which platforms did TuneGenie take its listening data from?"). Read as follow-ups, such questions were
    rewritten with the previous question and answered from its papers (81 of the first questions of dev and
    blind, asked after an unrelated question; seen in chats of my own).
    """
    refs = list(_FOLLOW_UP_RE.finditer(question))
    if not refs:
        return False
    starts = [question.find(name) for name in names_new_to(question, history)]
    first_new = min((i for i in starts if i >= 0), default=len(question))
    described = [m.span() for m in _DESCRIBED_RE.finditer(question)]

    def within(ref: re.Match) -> bool:
        word = ref.group(0).lower()
        if ref.start() > first_new and (word in _POSSESSIVES or word in _SINGULAR_REFS and _CLAUSE_BREAK_RE.search(
                question[first_new:ref.start()])):
            # "What is MrDPO, and which model was it introduced for?"; not "How does OpusLM compare with it?"
            return True
        return word in _SINGULAR_REFS and any(start <= ref.start() and (ref.end() <= end or end <= ref.start())
                                              for start, end in described)

    return not all(within(ref) for ref in refs)


# What a rewrite must have to be a question: a question mark, a question word, or a Chinese question particle.
_QUESTION_RE = re.compile(
    r"[?？]\s*(?:\([^()]*\))?\s*$|^\s*(?:what|which|who|whom|whose|how|where|when|why|does|do|did|is|are|was|were|"
    r"can|could|has|have|had|will|would|should|list|name|tell|describe|explain|compare|give)\b|"
    r"什么|哪|多少|几(?!乎)|如何|怎么|怎样|为何|为什么|是否|吗|呢|有没有", re.IGNORECASE)


def reads_as_question(text: str) -> bool:
    """The model's rewrite of a follow-up is a question, not an answer to it.

    The 1.5B model answered a follow-up instead of rewriting it ("它是用什么语言录制的？" after a question on
    CASPER became "CASPER数据集是用中文录制的。", a claim made up from nothing), and that answer went to retrieval
    and to the answer step as the question. A rewrite with no question mark, question word or particle is not
    used; the rule's rewrite is.
    """
    return bool(_QUESTION_RE.search(text))


def names_new_to(question: str, history: list[dict] | None) -> list[str]:
    """The names ``question`` holds that no message of the chat so far does ("What about ChildGuard?")."""
    return new_names(question, " ".join(str(m.get("content", "")) for m in history or []))


def switches_to(question: str, history: list[dict] | None) -> list[str]:
    """The new names a follow-up moves the chat to: "What about OpusLM?" asks the last question of OpusLM;
    "那它和 BigCodec 相比…" still asks about "它", the paper just answered."""
    return [] if _FOLLOW_UP_RE.search(question) else names_new_to(question, history)
