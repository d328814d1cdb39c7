"""What a question asks for: a quantity the evidence must state, or papers (where a title is an answer).

"OpusLM 一共支持多少种语言？" and "How many GPUs did X train on?" name a real paper, so retrieval finds it with
a high score; its summary holds numbers (7B parameters, a 0.84 similarity), so "the evidence has a number" says
yes; and a small model then quotes or paraphrases a sentence that does not say what was asked. What a question
asks is narrower than "a number": a count of something (种语言, GPUs, hours), or the value of a named metric
(准确率, attack success rate, mAP). The summaries are Chinese and the questions often English, so each kind of
quantity lists how it is written in both.

:func:`asked_quantity` reads the kind from the question; :meth:`AskedQuantity.stated_in` looks for a number
written with it in one evidence sentence ("6,446个文本-音频对", "50.2 mAP", "0.68准确率"). A question whose
quantity is of no known kind is left to the older check (any number at all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUM = r"(?:\d[\d,.]*|[一二两三四五六七八九十百千万]+)\s*(?:万|千|百|亿|[KkMB](?![A-Za-z]))?\s*(?:\+|余|多)?\s*"
_CLASSIFIERS = "个种位条项类名篇次组款套段首"
_COUNTED = f"[{_CLASSIFIERS}]"

# What a counted noun is written as, in Chinese or English, after its number (多少位说话人 ← "200位说话人").
_NOUNS: dict[str, str] = {
    r"hours?|小时": r"小时|hours?\b|h\b",
    r"minutes?|分钟": r"分钟|minutes?\b|min\b",
    r"seconds?|秒": r"秒|seconds?\b|s\b",
    r"milliseconds?|ms|毫秒": r"毫秒|ms\b|milliseconds?\b",
    r"days?|天": r"天|days?\b",
    r"years? old|ages?|岁": r"岁|years? old",
    r"languages?|语言|语种": rf"{_COUNTED}?(?:语言|语种)|languages?\b|{_COUNTED}",
    r"speakers?|说话人|发言人": rf"{_COUNTED}?(?:说话人|发言人)|speakers?\b",
    r"gpus?|显卡": r"(?:块|张|个)?(?:GPU|显卡|卡)|GPUs?\b",
    r"codebooks?|码本": rf"{_COUNTED}?码本|codebooks?\b",
    r"experts?|专家": rf"{_COUNTED}?专家|experts?\b",
    r"layers?|层": r"层|layers?\b",
    r"parameters?|参数": r"参数|parameters?\b|[BM]\b",
    r"times|倍": r"倍|times\b|×|x\b",
}
# "how many different tokenizers were ...", "how many hours of speech": the last word before the verb or "of".
_EN_COUNT_RE = re.compile(r"\bhow many\s+((?:(?!(?:do|does|did|are|were|is|was|has|have|had|in|of|for|on|can|"
                          r"will|would|and|or)\b)[A-Za-z-]+\s*){1,3})", re.IGNORECASE)
_ZH_COUNT_RE = re.compile(rf"(?:多少|(?<![这那哪好])几)\s*([{_CLASSIFIERS}]?)\s*([\u3400-\u9fff]{{0,3}}|[A-Za-z]+)")
_EN_UNIT_RE = re.compile(r"\bin (hours|minutes|seconds|milliseconds|ms|days)\b", re.IGNORECASE)

# A metric's value: the question names the metric, the evidence writes a number next to it.
_METRICS: dict[str, str] = {
    # an accuracy is often reported as its error rate ("6.5%的CER上升")
    r"accuracy|准确率|正确率|精度": r"准确率|正确率|精度|accuracy|acc\b|WER|CER|错误率|error rate|F1",
    r"word error rate|\bwer\b|词错误率": r"WER|词错误率|错误率|error rate",
    r"character error rate|\bcer\b|字错误率": r"CER|字错误率|错误率|error rate",
    r"success rate|成功率": r"成功率|success rate|ASR\b",
    r"\bmos\b": r"MOS",
    r"\bf1\b": r"F1",
    r"\bmap\b": r"mAP",
    r"\bauc\b": r"AUC",
    r"bitrate|\bkbps\b|码率|比特率": r"kbps|bps|码率|比特率",
    r"latency|延迟|时延": r"延迟|时延|latency|ms\b|毫秒",
    r"\bscore\b|得分|多少分|几分": r"得分|分数|score|分\b|\d\s*分",
}
_CONTEXT_RE = re.compile(r"\s*\([^()]*\)\s*$")
"""The earlier question a follow-up is condensed with ("它有多少个样本？ (Is there …?; 2506.01234v1)")."""
_RANK_RE = re.compile(r"第几|排名第?几|what (?:place|rank)|which place|ranked", re.IGNORECASE)


@dataclass(frozen=True)
class AskedQuantity:
    """The kind of quantity asked for, as the pattern an evidence sentence stating it matches."""

    kind: str
    pattern: re.Pattern[str]

    def stated_in(self, sentences: list[str]) -> bool:
        return any(self.pattern.search(sentence) for sentence in sentences)


def _near(number: str, words: str, gap: int) -> re.Pattern[str]:
    """A number written before ``words`` (up to ``gap`` characters between) or after them."""
    return re.compile(rf"{number}.{{0,{gap}}}?(?:{words})|(?:{words}).{{0,{gap}}}?\d", re.IGNORECASE)


def asked_quantity(question: str) -> AskedQuantity | None:
    """The quantity ``question`` asks for, when it is of a kind this module knows; else None."""
    question = _CONTEXT_RE.sub("", question)
    if _RANK_RE.search(question):
        return AskedQuantity("rank", re.compile(r"第\s*[\d一二三四五六七八九十]+|(?:ranked|placed?)\s+\S*\d|\d(?:st|nd|rd|th)\b"))
    for asked, written in _METRICS.items():
        if re.search(asked, question, re.IGNORECASE) and _asks_value(question, asked):
            return AskedQuantity(f"metric:{asked}", _near(r"\d", written, 15))
    unit = _EN_UNIT_RE.search(question)
    noun = unit[1] if unit else None
    english = None
    if noun is None and (match := _EN_COUNT_RE.search(question)):
        words = match[1].split()  # "text-only tokens went": the plural is the thing counted
        noun = english = next((w for w in reversed(words) if w.lower().endswith("s")), words[-1])
    if noun is None and (match := _ZH_COUNT_RE.search(question)):
        classifier, noun = match[1], match[2]
        if classifier and not any(re.fullmatch(asked, noun, re.IGNORECASE) for asked in _NOUNS):
            # 多少个样本 ← "6,446个文本-音频对", "4420个音频/文本样本": any counting word after a number will do
            return AskedQuantity(f"count:{classifier}{noun}", re.compile(
                rf"(?<![A-Za-z]){_NUM}(?:{_COUNTED}|{re.escape(noun)})" if noun else rf"(?<![A-Za-z]){_NUM}{_COUNTED}"))
    if not noun:
        return None
    for asked, written in _NOUNS.items():
        if any(re.fullmatch(asked, part, re.IGNORECASE) for part in (noun, noun[:2], noun[:1])):
            return AskedQuantity(f"count:{noun}", re.compile(rf"(?<![A-Za-z]){_NUM}(?:{written})", re.IGNORECASE))
    if english:  # "how many samples" ← "4420个音频/文本样本", "tokens" ← "292B文本-only token": a counting word
        # right after a number, or the noun itself a few characters on
        stem = re.escape(re.sub(r"(?:es|s)$", "", english))
        return AskedQuantity(f"count:{english}", re.compile(rf"(?<![A-Za-z]){_NUM}(?:{_COUNTED}|[^，。；,;]{{0,12}}?{stem})", re.IGNORECASE))
    return None


def _asks_value(question: str, metric: str) -> bool:
    """The metric's value is what is asked ("what accuracy", "准确率和F1是多少"), not context ("a low-bitrate
    codec", "improve accuracy")."""
    return bool(re.search(
        rf"\bwhat\s+(?:[\w-]+\s+){{0,3}}?(?:{metric})|\bhow (?:high|low|good)\b[^?？]{{0,40}}(?:{metric})|"
        rf"(?:{metric})[^，,。？?]{{0,6}}?(?:多少|几)|多少\s*(?:{metric})", question, re.IGNORECASE))


_PARTS_RE = re.compile(r"[?？](?=\s*\S)|[,，;；]\s*(?:and\s+)?(?:which|what|who|how|where|when|why|是否|哪|什么|如何|怎么)",
                       re.IGNORECASE)


def is_multi_part(question: str) -> bool:
    """Does the question ask more than one thing ("…多少分？用了哪些模型？", "How many hours, and which model?")."""
    return _PARTS_RE.search(_CONTEXT_RE.sub("", question)) is not None


_IDENTIFY_RE = re.compile(
    r"\bwhich\b|\b(?:is|are) there\b|\bhas anyone\b|\bany (?:papers?|work|stud(?:y|ies))\b|"
    r"\bwhat (?:\w+ )?(?:papers?|works?|stud(?:y|ies)|research|systems?|models?|methods?|approach(?:es)?|frameworks?|"
    r"benchmarks?|datasets?)\b|哪|有没有|是否有",
    re.IGNORECASE)


def a_title_answers(question: str) -> bool:
    """"Which paper …?", "Which song generation system …?", "有没有…的论文？": the question asks to identify work,
    so naming a paper (its title, cited) answers it; "What did X change?" is not answered by X's title."""
    return _IDENTIFY_RE.search(_CONTEXT_RE.sub("", question)) is not None


_SEEKS_PAPER_RE = re.compile(
    r"\b(?:is|was) there (?:a|an|any)\b[^?？]*\b(?:papers?|works?|stud(?:y|ies)|research|articles?)\b|"
    r"\bare there (?:any )?(?:papers?|works?|stud(?:y|ies)|research|articles?)\b|"
    r"\b(?:any|a) (?:papers?|works?|stud(?:y|ies)|research) (?:on|about|that|which|using|in)\b|"
    r"\bwhich (?:paper|work|study|article)\b(?!s)|\bhas anyone\b|"
    r"(?:有没有|是否有|有无)[^？?]*(?:论文|研究|工作|文章)|哪篇",
    re.IGNORECASE)


def seeks_a_paper(question: str) -> bool:
    """"Is there a paper on X?", "Which paper proposes X?", "有没有关于X的论文？": the question asks whether
    one paper on a topic exists. "Which papers use X?" (a survey of the collection) is not one: a broad topic
    matches every summary loosely, so a loose match says nothing there."""
    return _SEEKS_PAPER_RE.search(_CONTEXT_RE.sub("", question)) is not None
