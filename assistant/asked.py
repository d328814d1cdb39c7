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

A question may ask for a name the same way: "Which specific LLM does X use?" is answered by a name the question
does not hold ("X uses an LLM to …" restates it), and for a component (an LLM, a TTS engine) by one written in a
sentence that speaks of that kind of thing (:func:`asks_a_name`, :func:`names_given`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.tokens import tokenize

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
    # "How many audio-text LLMs were evaluated?" is not answered by "13类核心任务" (any counting word would do)
    r"(?:llm|model)s?|模型|大模型": r"[^，。；,;\d]{0,10}?(?:模型|LLMs?|models?\b)",
    r"tasks?|任务": r"[^，。；,;\d]{0,8}?(?:任务|tasks?\b)",
}
# "how many different tokenizers were ...", "how many hours of speech": the last word before the verb or "of".
_EN_COUNT_RE = re.compile(r"\bhow many\s+((?:(?!(?:do|does|did|are|were|is|was|has|have|had|in|of|for|on|can|"
                          r"will|would|and|or)\b)[A-Za-z-]+\s*){1,3})", re.IGNORECASE)
_ZH_COUNT_RE = re.compile(rf"(?:多少|(?<![这那哪好])几)\s*([{_CLASSIFIERS}]?)\s*([\u3400-\u9fff]{{0,3}}|[A-Za-z]+)")
# "How much speech was X trained on?", "用了多少训练数据？": an amount of data, stated as hours, pairs or tokens.
# "How big is the X dataset?", "数据集有多大？": the size of a dataset is an amount too.
_AMOUNT_RE = re.compile(r"\bhow much\s+(?:[\w-]+\s+){0,2}?(?:speech|audio|data|music|video|dialogue|recordings?)\b|"
                        r"多少(?:的)?(?:训练)?(?:数据|语音|音频|语料|录音)|"
                        r"\bhow (?:big|large) (?:is|are|was|were) (?:the |its |their |this |that )?(?:[\w-]+ ){0,3}?"
                        r"(?:datasets?|corpus|corpora|benchmarks?|data)\b|"
                        r"\bsize of (?:the |its |their |this |that )?(?:[\w-]+ ){0,3}?(?:datasets?|corpus|corpora|benchmarks?)\b|"
                        r"(?:数据集|语料库?|基准)(?:的)?(?:规模|大小|数据量)?(?:有|是)?(?:多大|多少|几)", re.IGNORECASE)
_AMOUNT_UNITS = (r"小时|hours?\b|h\b|条|对|段|句|首|篇|张|例|样本|samples?\b|clips?\b|pairs?\b|utterances?\b|tokens?\b|"
                 r"examples?\b|instances?\b|sentences?\b|posts?\b|comments?\b|images?\b|songs?\b|videos?\b|texts?\b")
# "参数量是多少", "How large is the model?": a model's size, written as 7B, 1.5亿参数, 300M parameters.
_SIZE_RE = re.compile(r"(?:参数量|参数规模|模型(?:的)?(?:大小|规模))[^，,。？?]{0,3}?(?:多大|多少|几)|多少(?:个)?参数|"
                      r"\bwhat(?:'s| is) (?:the |its |their )?model size\b|"
                      r"\bhow (?:big|large) (?:is|are) (?:the |its |their )?(?:\w+ )?models?\b", re.IGNORECASE)
_ZH_VALUE_RE = re.compile(r"([\u3400-\u9fff]{2,12})(?:是|为|大概是|大约是)多少")
_EN_UNIT_RE = re.compile(r"\bin (hours|minutes|seconds|milliseconds|ms|days)\b", re.IGNORECASE)

# A metric's value: the question names the metric, the evidence writes a number next to it.
_METRICS: dict[str, str] = {
    # an accuracy is often reported as its error rate ("6.5%的CER上升")
    r"accuracy|准确率|正确率|精度": r"准确率|正确率|精度|accuracy|acc\b|WER|CER|错误率|error rate|F1",
    r"word error rate|\bwer\b|词错误率": r"WER|词错误率|错误率|error rate",
    r"character error rate|\bcer\b|字错误率": r"CER|字错误率|错误率|error rate",
    r"success rate|成功率": r"成功率|success rate|ASR\b",
    r"\bmos\b": r"MOS",
    r"(?<![a-z])bleu(?![a-z])": r"BLEU",
    r"\bf1\b": r"F1",
    r"\bmap\b": r"mAP",
    r"\bauc\b": r"AUC",
    r"bitrate|\bkbps\b|码率|比特率": r"kbps|bps|码率|比特率",
    r"sampl(?:e|ing) rate|采样率": r"kHz|Hz\b|采样率|sampl(?:e|ing) rate",
    r"latency|延迟|时延": r"延迟|时延|latency|ms\b|毫秒",
    r"\bscore\b|得分|多少分|几分": r"得分|分数|score|分\b|\d\s*分",
}
_CONTEXT_RE = re.compile(r"\s*\([^()]*\)\s*$")
"""The earlier question a follow-up is condensed with ("它有多少个样本？ (Is there …?; 2506.01234v1)")."""
_REDUCTION_RE = re.compile(r"压缩|减少|削减|剪枝|剪掉|砍掉|省下|\b(?:reduc|cut|prun|compress|remov|shr[iu]nk|sav)", re.IGNORECASE)
"""A question about parameters cut ("它压缩了多少参数？", "How many parameters does pruning remove?")."""
_SHARE_OF_PARAMETERS = (r"\d[\d.]*\s*%[^，。；,;]{0,8}?(?:参数|parameters?\b)|"
                        r"(?:参数|parameters?\b)[^，。；,;]{0,12}?\d[\d.]*\s*%")
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
    asked = _asked_quantity(question)
    if asked is not None and asked.kind == "count:parameters" and _REDUCTION_RE.search(question):
        # "它压缩了多少参数？" ← "减少高达50%的模型参数": the share cut answers how many were cut (not a model's size)
        return AskedQuantity(asked.kind, re.compile(f"{asked.pattern.pattern}|{_SHARE_OF_PARAMETERS}", re.IGNORECASE))
    return asked


def _asked_quantity(question: str) -> AskedQuantity | None:
    if _RANK_RE.search(question):
        return AskedQuantity("rank", re.compile(r"第\s*[\d一二三四五六七八九十]+|(?:ranked|placed?)\s+\S*\d|\d(?:st|nd|rd|th)\b"))
    for asked, written in _METRICS.items():
        if re.search(asked, question, re.IGNORECASE) and _asks_value(question, asked):
            return AskedQuantity(f"metric:{asked}", _near(r"\d", written, 15))
    if _SIZE_RE.search(question):
        return AskedQuantity("count:parameters", re.compile(
            rf"(?<![A-Za-z]){_NUM}(?:参数|parameters?\b)|(?<![\d.])\d[\d.]*\s*[BM]"
            r"(?=\s*(?:参数|模型|规模|parameters?\b|models?\b)|[,.;:)，。；、）的]|\s*$)", re.IGNORECASE))
    if _AMOUNT_RE.search(question) and not _EN_UNIT_RE.search(question):
        return AskedQuantity("amount", re.compile(rf"(?<![A-Za-z]){_NUM}[^，。；,;\d]{{0,8}}?(?:{_AMOUNT_UNITS})",
                                                  re.IGNORECASE))
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
    if not noun and (match := _ZH_VALUE_RE.search(question)):
        # "码本大小是多少" ← "8个码本，每个1024": the thing measured written within a few characters of a number
        thing = re.sub(r"(?:的)?(?:具体)?(?:大小|范围|数量|规模|数值|数)$", "", match[1].split("的")[-1])
        if len(thing) >= 2:
            return AskedQuantity(f"value:{thing}", _near(r"\d", re.escape(thing[-2:]), 10))
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
    """The metric's value is what is asked ("what accuracy", "准确率和F1是多少", "在多低的码率下"), not context
    ("a low-bitrate codec", "improve accuracy")."""
    return bool(re.search(
        rf"\bwhat\s+(?:[\w-]+\s+){{0,3}}?(?:{metric})|\bhow (?:high|low|good)\b[^?？]{{0,40}}(?:{metric})|"
        rf"(?:{metric})[^，,。？?]{{0,6}}?(?:多少|几|多[高低大小快好])|(?:多少|多[高低大小快好]的?)\s*(?:{metric})", question,
        re.IGNORECASE))


# "which [one or two words] <kind>", not "which papers help LLMs …": the words between describe the kind.
_BETWEEN = r"(?:(?!(?:papers?|works?|stud(?:y|ies)|articles?|do|does|did|is|are|was|were)\b)[\w-]+\s+){0,3}"
_ASKS_COMPONENT_RE = re.compile(
    rf"\b(?:which|what)\s+(?:specific\s+|particular\s+|exact\s+|underlying\s+)?{_BETWEEN}(?:llms?|(?:large\s+)?"
    r"language\s+models?|engines?|codecs?|vocoders?|backbones?)\b|"
    r"(?:哪一?个|哪些|哪款|哪种|(?<!为)什么)\s*[\u3400-\u9fffA-Za-z]{0,4}?\s*(?:大语言模型|大模型|语言模型|LLM|TTS|声码器|底座|骨干)|"
    # "用的视频多模态大模型具体是哪一个？": the kind first, the question word after it.
    r"(?:大语言模型|大模型|语言模型|LLM|TTS|声码器|底座|骨干)[^，,。？?]{0,6}?(?:是|为)(?:哪一?个|哪款|哪种|什么)",
    re.IGNORECASE)
"""A question for a component a paper uses (its LLM, its TTS engine), named in a sentence that speaks of one."""
_ASKS_NAMED_RE = re.compile(
    rf"\b(?:which|what)\s+(?:specific\s+|particular\s+)?{_BETWEEN}(?:models?|datasets?|benchmarks?|toolkits?)\b|"
    r"(?:哪[一两二三四五六七八九几]?个|哪些|(?<!为)什么)[\u3400-\u9fffA-Za-z]{0,4}?(?:模型|数据集|语料|基准)", re.IGNORECASE)
"""A question for a model or a dataset, which may be the paper's own ("Which audio model reaches 50.2 mAP?")."""
_ASKS_RESOURCE: dict[str, tuple[re.Pattern, re.Pattern]] = {
    kind: (re.compile(rf"\b(?:which|what)\s+(?:specific\s+|particular\s+)?{_BETWEEN}(?:{en})\b|"
                      rf"(?:哪个|哪些|哪家|哪所|哪款|哪种|(?<!为)什么)[\u3400-\u9fffA-Za-z]{{0,4}}?(?:{zh})|从哪些?(?:{zh})",
                      re.IGNORECASE),
           re.compile(said, re.IGNORECASE))
    for kind, en, zh, said in [
        ("platform", r"platforms?|websites?|social\s+media", r"社交平台|平台|网站",
         r"平台|网站|platform|website|social media|Twitter|Reddit|YouTube|TikTok|Facebook|微博|抖音|bilibili"),
        ("licence", r"licen[cs]es?", r"许可|开源协议",
         r"licen[cs]e|许可|开源协议|CC[- ]BY|\bMIT\b|Apache|GPL"),
        ("hardware", r"gpus?|hardware|accelerators?", r"显卡|GPU|硬件",
         r"GPU|TPU|A100|H100|V100|4090|显卡"),
        ("affiliation", r"universit(?:y|ies)|compan(?:y|ies)|institutions?|organi[sz]ations?|labs?",
         r"大学|公司|机构|实验室",
         r"universit|compan|institut|\bInc\b|\bLab\b|大学|公司|机构|实验室|研究院"),
    ]
}
"""Questions for a name of another kind (the platforms data came from, a licence, the GPUs, the authors'
institution), which summaries seldom give: answered only by a name in a sentence that speaks of that kind."""
_WHICH_PAPER_RE = re.compile(r"\b(?:which|what)\s+(?:[\w-]+\s+){0,3}?(?:paper|study|article)\b(?!s)|哪篇|哪一篇",
                             re.IGNORECASE)
_ASKS_LANGUAGE_RE = re.compile(r"\b(?:which|what)\s+(?:\w+\s+)?(?:language pairs?|languages?(?!\s*models?)|"
                               r"translation directions?)\b|哪(?:些|种|几种|个|一种)(?:语言|语种)(?!模型)|语言对|翻译方向",
                               re.IGNORECASE)
"""A question for languages by name ("Which language pairs was X evaluated on?"); "how many languages" is a count."""
# A sentence naming a model says so: "基于LLaMA3.2-1B模型", "微调Qwen-Audio-Chat…音频大语言模型（LLM）".
_MODEL_WORD_RE = re.compile(r"模型|LLM|models?\b|引擎|engines?\b|骨干|backbones?\b|底座|TTS|声码器|vocoders?\b|codecs?\b|"
                            r"编解码", re.IGNORECASE)
GENERIC_TERMS = frozenset("""
    llm llms ai asr tts nlp ml api id arxiv sota slm lm alm lalm mllm vlm qa rl sft
""".split())
"""Latin terms a question or an answer may use for a field or a task, which are no one's name (语音识别 is ASR)."""
LANGUAGES: dict[str, str] = {
    "english": "英", "chinese": "中文|汉语|普通话|华语|中英|英中|英汉|汉英", "mandarin": "普通话|汉语|中文",
    "cantonese": "粤语", "spanish": "西班牙|英西|西英", "french": "法语|法文|英法|法英", "german": "德语|德文|英德|德英",
    "italian": "意大利", "portuguese": "葡萄牙", "russian": "俄语|俄文", "japanese": "日语|日文|英日|日英",
    "korean": "韩语|朝鲜语",
    "thai": "泰语|泰文", "vietnamese": "越南", "indonesian": "印尼|印度尼西亚", "hindi": "印地", "arabic": "阿拉伯",
    "dutch": "荷兰", "turkish": "土耳其", "polish": "波兰", "swahili": "斯瓦希里", "hebrew": "希伯来", "persian": "波斯",
}
"""Language names and how a Chinese summary writes them ("English to German" is "英译德语" or "英德"): a language an
English sentence names must be in the Chinese evidence it cites (assistant/lexical.py), and is no model's name."""
# Capitalised words that name no model or dataset: metrics and languages ("improves English WER").
_NOT_NAMES = GENERIC_TERMS | frozenset(LANGUAGES) | frozenset("""
    wer cer mos f1 map auc bleu snr pesq det eer roc l1 l2
    ffn mlp cnn rnn dnn lstm gru gan vae moe ctc hmm transformer
    challenge task track dataset benchmark corpus model framework system method
    the this these its their our
""".split())
# A name: capitals inside (LLaMA, GPT-4o), digits (Qwen2.5), all capitals (BEATs), or a capitalised word inside a
# sentence ("uses Whisper", "采用Gemma"); a capitalised word that starts the sentence is too weak a sign.
_NAME_RE = re.compile(r"(?<![A-Za-z0-9])(?:[A-Za-z]*[A-Z][A-Za-z]*[A-Z0-9][A-Za-z0-9]*|[A-Za-z]+\d[A-Za-z0-9]*|"
                      r"[A-Z][a-z0-9]*(?=-[A-Z])|"
                      r"(?<=[^\s.!?。！？]\s)[A-Z][a-z]+|(?<=[\u3400-\u9fff（(“])[A-Z][a-z]+)(?:[-.][A-Za-z0-9]+)*")
_PROPOSED_RE = re.compile(r"(?:提出了?|\b(?:propos|introduc|present)(?:es|ed|e|s)?)\s*(?:the\s+|a\s+|an\s+)?\**\s*"
                          r"([A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*)", re.IGNORECASE)
"""The name a paper gives its own system ("本文提出EThai-ASR", "we propose LISTEN")."""
_NAME_TOKEN = r"[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*"
_OWN_RE = re.compile(
    rf"(?:提出|构建|设计|开发|推出|引入)[^，,。；;：:]{{0,20}}?(?:框架|方法|模型|系统|架构|基准|智能体)\s*({_NAME_TOKEN})|"
    rf"(?:提出|构建|设计|开发|推出|引入)(?:[^，,。；;：:]{{0,20}}?[（(])?({_NAME_TOKEN})[）)]?\s*(?:框架|方法|模型|系统|架构|基准|智能体)")
"""The system a Chinese summary says the paper builds ("提出新型语音后门攻击方法SPBA", "提出语言感知中间损失（LAIL）
框架"), where words stand between the verb and the name."""
_DATA_WORDS = r"(?:数据集|测试集|基准|语料|\b(?:datasets?|benchmarks?|corpus|corpora|test sets?)\b)"
"""A name written as data ("在Kespeech等数据集上", "数据集（如Kespeech）"), which is no component asked for (an LLM)."""
_GENERIC_MODEL_RE = re.compile(r"[A-Z]{0,3}(?:LLM|LM|LMM)s?")
"""A kind of model, no model's name: ALLMs (audio LLMs), SLLM (speech LLM), VLMM, MLLM."""
_ASKS_USED_RE = re.compile(r"\b(?:use[sd]?|using|build(?:s|ing)?\s+on|built\s+on|based\s+on|rel(?:y|ies)\s+on|"
                           r"plug(?:s|ged)?\s+into|backbone|base|underlying|tried|tested|employ(?:s|ed)?|"
                           r"adopt(?:s|ed)?|leverag(?:e|es|ed|ing))\b|用|基于|底座|底层|骨干|接入|尝试|测试", re.IGNORECASE)
"""A question for what a paper uses ("Which LLM does it build on?"), not for what it is ("Which framework …?")."""
_ASKS_PROPOSED_RE = re.compile(r"提出|设计|开发|推出|叫什么|名字|propos|introduc|present|develop|design|\bname",
                               re.IGNORECASE)
_CITATION_RE = re.compile(r"\[?arXiv:[^\]\s]*\]?")
_DERIVED_RE = re.compile(r"-(?:based|style|like|only|level|aware|free|driven|guided|specific|conditioned)$")
_ACRONYM_RE = re.compile(r"\b[A-Z][A-Z0-9]{1,9}\b")
_CAPITALISED_RUN_RE = re.compile(r"[A-Z][a-z]+(?:[-\s]+[A-Z][a-z]+)+")
_DEFINED_RE = re.compile(r"(?:[A-Za-z]\s*[（(]|[A-Za-z][,，]\s*)([A-Z][A-Za-z0-9]{1,9})\s*[）)]")
"""An acronym a text defines after its long form ("Speech Large Language Model（SLLM）", "(Language-Aware
Intermediate Loss, LAIL)")."""


def asks_a_name(question: str) -> bool:
    """"Which specific LLM does X use?", "DanceChat 用哪个大语言模型？": the answer is a model's or a dataset's name.
    A sentence that restates what the paper does without naming one does not answer; summaries that name none
    leave it unanswered (more often than any other kind of question asked about a real paper)."""
    question = _CONTEXT_RE.sub("", question)
    if _WHICH_PAPER_RE.search(question):  # "Which codec paper …?" asks for a paper, named by its title
        return False
    return bool(_ASKS_COMPONENT_RE.search(question) or _ASKS_NAMED_RE.search(question)
                or _ASKS_LANGUAGE_RE.search(question) or _resource_asked(question))


def _resource_asked(question: str) -> re.Pattern | None:
    """What a sentence must speak of to name the resource asked ("Which platforms …?": a platform)."""
    return next((said for asked, said in _ASKS_RESOURCE.values() if asked.search(question)), None)


def own_names(sentences: list[str], title: str = "") -> set[str]:
    """The names a paper gives its own work: its title's short name ("TuneGenie: …") and the system its summary
    says it proposes or builds. Such a name answers "What does it propose?", not "Which LLM does it use?"."""
    own = {name for sentence in sentences for name in _PROPOSED_RE.findall(sentence)}
    own |= {name for sentence in sentences for pair in _OWN_RE.findall(sentence) for name in pair if name}
    short = paper_name(title)
    if short != title.strip() and re.fullmatch(_NAME_TOKEN, short):
        own.add(short)
    return own


def names_given(sentences: list[str], question: str, title: str = "") -> list[str]:
    """The names that could answer a name question: new to it, and, when it asks for a component (an LLM, a TTS
    engine) or a resource (a platform, a licence, GPUs, an institution), in a sentence that speaks of one (a
    summary naming only its dataset, AIST++, does not say which LLM); asked which languages, the languages named
    (:data:`LANGUAGES`, "英德" for English and German)."""
    if _ASKS_LANGUAGE_RE.search(_CONTEXT_RE.sub("", question)):
        text = " ".join(sentences)
        return [language for language, written in LANGUAGES.items()
                if re.search(rf"\b{language}\b|{written}", text, re.IGNORECASE)]
    question_only = _CONTEXT_RE.sub("", question)
    component = bool(_ASKS_COMPONENT_RE.search(question_only))
    kind = _MODEL_WORD_RE if component else _resource_asked(question_only)
    # "Which LLM does the Thai ASR paper build on?": the system the paper proposes ("提出EThai-ASR系统") is not
    # a component it uses, unless that is what is asked ("What codec does it propose?").
    own = own_names(sentences, title) \
        if component and _ASKS_USED_RE.search(question_only) and not _ASKS_PROPOSED_RE.search(question_only) \
        else set()
    return [name for sentence in sentences if kind is None or kind.search(sentence)
            for name in new_names(sentence, question) if name not in own
            and not (component and re.search(rf"{re.escape(name)}[^，,。；;]{{0,6}}?{_DATA_WORDS}|"
                                             rf"{_DATA_WORDS}[^，,。；;]{{0,6}}?{re.escape(name)}", sentence))]


def new_names(text: str, question: str) -> list[str]:
    """The names in ``text`` that the question does not already hold (a name it asks about is no answer)."""
    asked = question.lower()
    spelled = _spelled_out(text, question)
    names = []
    for name in _NAME_RE.findall(_CITATION_RE.sub(" ", text)):
        key = _DERIVED_RE.sub("", name.lower())  # "CTC-based" is CTC's
        if key.rstrip("s") in _NOT_NAMES or key in _NOT_NAMES or key in asked or _GENERIC_MODEL_RE.fullmatch(name) \
                or all(part in asked or part in spelled for part in re.split(r"[-.]", key) if part):
            continue
        names.append(name)
    return list(dict.fromkeys(names))


def _spelled_out(text: str, question: str) -> set[str]:
    """The words of ``text`` that spell out an acronym of the question or one the text defines: "Language-Aware
    Intermediate Loss" is LAIL's long form, "Speech Large Language Model（SLLM）" a kind of model, not names."""
    words: set[str] = set()
    acronyms = set(_ACRONYM_RE.findall(question)) | set(_DEFINED_RE.findall(text))
    for run in _CAPITALISED_RUN_RE.findall(text):
        parts = re.split(r"[-\s]+", run)
        initials = "".join(part[0] for part in parts)
        for acronym in acronyms:
            if (start := initials.find(acronym)) >= 0:
                words.update(part.lower() for part in parts[start:start + len(acronym)])
    return words


# "What compression modes does X offer?", "它有哪几种模式？": the members of a set, asked by name. A summary that only
# counts them ("包含三种模式") does not answer, and the model then passes the title's words off as the members.
_MEMBERS: dict[str, str] = {
    "modes": "模式", "types": "类型|种类", "kinds": "类型|种类", "strategies": "策略", "stages": "阶段",
    "phases": "阶段", "components": "组件|模块", "modules": "模块", "variants": "变体", "levels": "级别|层级",
    "categories": "类别", "steps": "步骤", "mechanisms": "机制", "branches": "分支", "scenarios": "场景",
}
_ASKS_MEMBERS_RE = re.compile(
    rf"\b(?:what|which)\s+(?:are\s+(?:the\s+|its\s+|their\s+)?)?(?:[\w-]+\s+){{0,3}}?({'|'.join(_MEMBERS)})\b|"
    rf"(?:哪几|哪些|什么)(?:种|个|类)?[\u3400-\u9fff]{{0,4}}?({'|'.join(sorted(set('|'.join(_MEMBERS.values()).split('|'))))})",
    re.IGNORECASE)
_COUNT_WORD = r"(?:\d+|[两二三四五六七八九十]+|two|three|four|five|six|seven|eight|nine|ten)"
# A list: "：A、B和C", "(A, B)", "including A and B", "如A、B", or "A、B和C三种模式" before the count.
_LISTED_RE = re.compile(r"[:：(（]|包括|包含[^，。；]{0,12}[、,]|如|即|分别为|including|namely|such as|、", re.IGNORECASE)


def counted_not_listed(question: str, sentences: list[str]) -> str | None:
    """The count the evidence gives of the members a question asks to name ("三种模式"), when no sentence naming
    that kind of thing lists them; else None."""
    match = _ASKS_MEMBERS_RE.search(_CONTEXT_RE.sub("", question))
    if match is None:
        return None
    zh = _MEMBERS[match[1].lower()] if match[1] else match[2]
    plurals = [word for word, written in _MEMBERS.items() if set(written.split("|")) & set(zh.split("|"))]
    singulars = [re.sub(r"ies$", "y", re.sub(r"(?<=ch)es$|(?<!ie)s$", "", word)) for word in plurals]
    noun = rf"(?:{zh}|\b(?:{'|'.join(plurals + singulars)})\b)"
    counted = None
    for sentence in sentences:
        for clause in re.split(r"[。；;.!?！？\n]", sentence):
            if not re.search(noun, clause, re.IGNORECASE):
                continue
            if _LISTED_RE.search(clause):
                return None
            found = re.search(rf"{_COUNT_WORD}\s*(?:种|个|类|项|大)?\s*(?:[\w-]+\s+)?(?:不同的?)?{noun}", clause,
                              re.IGNORECASE)
            counted = counted or (found[0] if found else None)
    return counted


_PARTS_RE = re.compile(r"[?？](?=\s*\S)|[,，;；]\s*(?:and\s+)?(?:which|what|who|how|where|when|why|是否|哪|什么|如何|怎么)",
                       re.IGNORECASE)


_EACH_RE = re.compile(r"各自|分别|每篇|每一篇|两篇|这几篇|两者|二者|\b(?:both|each|respectively)\b", re.IGNORECASE)


_LIST_RE = re.compile(
    r"\b(?:which|what|any|list(?:\s+all)?(?:\s+the)?)\s+(?:(?!papers?\b|works?\b)[\w-]+\s+){0,2}?"
    r"(?:papers|works|studies|articles)\b|哪些[\u3400-\u9fff]{0,4}?(?:论文|工作|研究|文章|文献)", re.IGNORECASE)
_NEGATED_RE = re.compile(r"(?:不算|不包括|不含|除了|除去|排除|\b(?:not|except|excluding|other\s+than|besides|without)\b)"
                         r"[^，,。;；?？]{0,12}$", re.IGNORECASE)


def asks_for_papers(question: str) -> bool:
    """"Which papers use X?", "哪些论文在LibriSpeech上做了实验？": every paper that does, not one paper by name
    (:func:`seeks_a_paper`, whose "Any papers on X?" asks whether there is one)."""
    question = _CONTEXT_RE.sub("", question)
    return _LIST_RE.search(question) is not None and not seeks_a_paper(question)


def negated(question: str, term: str) -> bool:
    """Is ``term`` what the question leaves out ("用强化学习（不算DPO这类偏好优化）", "other than Whisper")?"""
    at = re.search(re.escape(term), question, re.IGNORECASE)
    return at is not None and _NEGATED_RE.search(question[:at.start()]) is not None


def asks_each(question: str) -> bool:
    """"它们各自用了什么方法？", "What did each of them find?": one answer for every paper meant, not the best one."""
    return _EACH_RE.search(question) is not None


_ASKING_RE = re.compile(r"\b(?:which|what|how|who|where|when|why|whether)\b|"
                        r"^\s*(?:does|do|did|is|are|was|were|can|could|has|have)\b|"
                        r"[?？]|哪|什么|多少|几|如何|怎么|怎样|是否|吗|有没有", re.IGNORECASE)
"""A part of a question that asks something (a clause naming the paper does not)."""


def asking_parts(question: str) -> list[str]:
    """The parts of :func:`question_parts` (without context) that ask something: "In the work that improves X,
    which LLM …?" asks one thing, the part before the comma only says which paper."""
    return [part for part in question_parts(question, keep_context=False) if _ASKING_RE.search(part)]


def is_multi_part(question: str) -> bool:
    """Does the question ask more than one thing ("…多少分？用了哪些模型？", "How many hours, and which model?")?"""
    return len(asking_parts(question)) > 1


def question_parts(question: str, keep_context: bool = True) -> list[str]:
    """The things a question asks, one each ("What bitrate does X run at", "what trade-off does it address?").

    A follow-up's context (the earlier question, see :data:`_CONTEXT_RE`) is kept on every part, as it names the
    paper, unless ``keep_context`` is False (to show the part to the user).
    """
    context = match[0] if (match := _CONTEXT_RE.search(question)) else ""
    asked = question[:len(question) - len(context)] if context else question
    cuts = [0] + [m.start() + 1 if m[0] in "?？" else m.start() for m in _PARTS_RE.finditer(asked)] + [len(asked)]
    parts = [re.sub(r"^[,，;；\s]*(?:and\s+)?", "", asked[a:b]).strip() for a, b in zip(cuts, cuts[1:])]
    return [f"{part}{context}" if keep_context else part for part in parts if part]


def unstated_parts(question: str, sentences: list[str]) -> list[str]:
    """The parts of ``question`` (without context) asking for a quantity (:func:`asked_quantity`) that no
    sentence states.

    "What bitrate does X run at, and what trade-off does it address?" over a summary without a bitrate: the first
    part cannot be answered, the second still can, so the question is neither refused whole nor answered whole.
    """
    return [part for part in question_parts(question, keep_context=False)
            if (asked := asked_quantity(part)) is not None and not asked.stated_in(sentences)]


_RELEASED = r"(?:code|weights|checkpoints?|models?|datasets?|data|implementation)"
_ASPECTS: dict[str, tuple[re.Pattern, re.Pattern]] = {
    kind: (re.compile(asked, re.IGNORECASE), re.compile(said, re.IGNORECASE)) for kind, asked, said in [
        ("limitations",
         r"局限|不足之处|(?:哪些|什么|有何)不足|缺点|短板|以后要改进|\b(?:limitations?|shortcomings?|drawbacks?)\b|"
         r"\b(?:its|their|own)\s+weakness(?:es)?\b|未来(?:的)?(?:工作|方向|研究)|\bfuture (?:work|directions?|research)\b|"
         r"\bopen (?:problems|questions)\b",
         r"局限|不足|缺点|缺陷|短板|limitation|weakness|shortcoming|drawback|未来|future|尚未|仍需|有待|挑战|challeng"),
        ("release",
         rf"\b{_RELEASED}\b[^?？]{{0,120}}\b(?:released?|open[- ]sourced?|(?:publicly |made )?available)\b|"
         rf"\b(?:release|open[- ]source)[sd]?\b[^?？]{{0,20}}\b{_RELEASED}\b|"
         r"(?:代码|模型|权重|数据集?|实现)[^？?，,]{0,10}(?:开源|公开|发布|放出)|(?:开源|公开|发布|放出)了?[^？?，,]{0,6}"
         r"(?:代码|模型|权重|数据集?)",
         r"开源|公开|发布|放出|release|open[- ]source|publicly|available|github|hugging ?face|代码|\bcode\b|主页|demo|演示"),
        ("training",
         r"\b(?:batch[- ]size|learning[- ]rates?|epochs?|optimi[sz]er|warm-?up|dropout|weight decay|training steps)\b|"
         r"批大小|批量大小|批次大小|学习率|训练轮数|多少轮|优化器|预热",
         r"batch|learning[- ]rate|\blr\b|epoch|optimi[sz]er|adam|warm-?up|dropout|weight decay|steps|"
         r"批|学习率|轮|优化器|预热"),
    ]
}
"""Things a question may ask of a paper that a summary seldom mentions, and the words it mentions them with: its
limitations or future work, (asked yes or no) whether its code, models or data are out, and training settings
(batch size, learning rate, epochs), which an abstract almost never gives."""


def asked_aspect(question: str) -> str | None:
    """The aspect (:data:`_ASPECTS`) that is all the question asks of a paper, else None: "Has X's code been
    released?", "What limitations do the authors mention?". Not "Which dataset did X release?" (a name), "How many
    clips are in the dataset X released?" (a count) or a question of several parts."""
    question = _CONTEXT_RE.sub("", question)
    if is_multi_part(question) or asks_for_papers(question) or seeks_a_paper(question):
        return None
    for kind, (asked, _) in _ASPECTS.items():
        if not asked.search(question):
            continue
        if kind == "release" and (asks_a_name(question) or asked_quantity(question)
                                  or not (_YES_NO_RE.search(question) or "有没有" in question)):
            continue
        return kind
    return None


def mentions_aspect(kind: str, text: str) -> bool:
    """Does ``text`` have a word for the aspect ("开源", "代码", "release"; "局限", "未来"; "batch", "学习率")?

    "Has the code of X been released?" over a summary that says nothing of code or release: the model answers
    with what X does, which is true, supported and no answer, so the question is refused. One mention anywhere in
    the paper (a challenge, "开源") leaves the question to the model.
    """
    return _ASPECTS[kind][1].search(text) is not None


_IDENTIFY_RE = re.compile(
    r"\bwhich\b|\b(?:is|are) there\b|\bhas anyone\b|\bany (?:papers?|work|stud(?:y|ies))\b|"
    r"\bwhat (?:\w+ )?(?:papers?|works?|stud(?:y|ies)|research|systems?|models?|methods?|approach(?:es)?|frameworks?|"
    r"benchmarks?|datasets?)\b|哪|有没有|是否有",
    re.IGNORECASE)


def a_title_answers(question: str) -> bool:
    """"Which paper …?", "Which song generation system …?", "有没有…的论文？": the question asks to identify work,
    so naming a paper (its title, cited) answers it; "What did X change?" is not answered by X's title."""
    return _IDENTIFY_RE.search(_CONTEXT_RE.sub("", question)) is not None


def paper_name(title: str) -> str:
    """The short name a title gives its work ("PHRASED: Phrase Dictionary Biasing…" → "PHRASED"), else the title."""
    head, colon, _ = title.partition(":")
    return head.strip() if colon and 0 < len(head.split()) <= 4 else title.strip()


def names_paper(question: str, title: str) -> bool:
    """Does the question name this paper ("Which model came out on top on CMI-Bench?")? Then its title is no
    answer: the user knows which paper, and asks something of it."""
    return bool(title.strip()) and paper_name(title).casefold() in question.casefold()


def asks_for_the_paper(question: str) -> bool:
    """"Which paper proposes XY-Tokenizer?", "哪篇论文提出了X？": the paper itself is asked for, so its title
    answers even when the question names what the paper is known by."""
    return _WHICH_PAPER_RE.search(_CONTEXT_RE.sub("", question)) is not None


_WHICH_WORK_RE = re.compile(
    r"\b(?:which|what)\s+(?:[\w-]+\s+){0,3}?(?:paper|work|study|system|method|approach|framework|tokenizer|codec|agent|"
    r"technique|pipeline)\b(?!s)|\b(?:is|was) there (?:a|an|any)\b|\bhas anyone\b|"
    r"有没有|是否有|哪篇|哪一篇|哪个(?:系统|方法|框架|工作|研究|编解码器|智能体)", re.IGNORECASE)


def asks_which_work(question: str) -> bool:
    """"Which paper …?", "Which video-to-audio system …?", "Is there an audio encoder that …?", "哪篇论文…": the
    answer is one paper, by name. Not a question for a model or a dataset a paper uses (:func:`asks_a_name`)."""
    question = _CONTEXT_RE.sub("", question)
    return _WHICH_WORK_RE.search(question) is not None and not asks_a_name(question)


_YES = frozenset("yes yeah indeed 是的 是 有 对 没错 确实 存在 一个 一种 一篇".split())
_YES_NO_RE = re.compile(r"^\s*(?:does|do|did|is|are|was|were|can|could|has|have|will)\b|是否|吗\s*[？?]?\s*$",
                        re.IGNORECASE)


def _stem(word: str) -> str:
    """"detects", "detecting", "detected" → "detect": enough to see a question said back in other inflections."""
    if not word.isascii() or len(word) <= 4:
        return word
    return re.sub(r"(?:ies|ing|ed|(?<!s)s)$", lambda m: "y" if m[0] == "ies" else "", word)


def restates(claim: str, question: str) -> bool:
    """Does ``claim`` only say the question back ("是的，有研究会议录音自动生成纪要的论文。", "The LLM receives
    imperfect textual hints next to the audio features.")? Every content word of it is the question's.

    Such a sentence answers nothing, and the support check cannot judge it: it is as close to any evidence on the
    topic as the question is, so "there is a paper on X" passed for a collection without one. A yes/no question
    about a named paper ("Does X release its code?") is answered by saying it back ("Yes, X releases its
    code"), and is left to the check.
    """
    if _YES_NO_RE.search(question) and not asks_which_work(question) and not seeks_a_paper(question):
        return False
    asked = {_stem(t) for t in tokenize(question)}
    words = [_stem(t) for t in tokenize(claim) if t not in _YES]
    return len(words) >= 2 and all(w in asked for w in words)


def asks_one_work(question: str) -> bool:
    """:func:`asks_which_work` in the singular: "Which paper …?", "Is there a system …?", "哪篇论文…". Chinese does
    not mark number: "有没有针对泰语或中文方言的论文？" may be answered by two papers."""
    return asks_which_work(question) and not re.search(r"有没有|是否有", _CONTEXT_RE.sub("", question))


_SEEKS_PAPER_RE = re.compile(
    r"\b(?:is|was) there (?:a|an|any)\b[^?？]*\b(?:papers?|works?|stud(?:y|ies)|research|articles?)\b|"
    r"\bare there (?:any )?(?:papers?|works?|stud(?:y|ies)|research|articles?)\b|"
    r"\b(?:any|a) (?:papers?|works?|stud(?:y|ies)|research) (?:on|about|that|which|using|in)\b|"
    r"\bwhich (?:paper|work|study|article)\b(?!s)|\bhas anyone\b|"
    r"(?:有没有|是否有|有无)[^？?]*(?:论文|研究|工作|文章)|哪篇|"
    # Asked first thing, a dataset, a model or a method stands for the paper that made it ("Is there a dataset
    # of …?", "有没有…的数据集？"); later in a question it is a fact of a paper ("X 有没有开源模型？").
    r"^\W*(?:is there )?anything (?:on|about)\b|"
    r"^\W*(?:is|are) there (?:a|an|any)\b[^?？]*\b(?:datasets?|corpus|corpora|benchmarks?|models?|methods?|systems?"
    r"|tools?|surveys?)\b|"
    r"^\W*(?:请问)?(?:有没有|是否有|有无)[^？?]*(?:数据集|语料|基准|模型|方法|系统|综述)",
    re.IGNORECASE)


def seeks_a_paper(question: str) -> bool:
    """"Is there a paper on X?", "Which paper proposes X?", "有没有关于X的论文？": the question asks whether
    one paper on a topic exists. "Which papers use X?" (a survey of the collection) is not one: a broad topic
    matches every summary loosely, so a loose match says nothing there."""
    return _SEEKS_PAPER_RE.search(_CONTEXT_RE.sub("", question)) is not None
