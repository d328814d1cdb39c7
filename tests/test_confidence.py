"""The low-evidence notice: a weak best source, or an answer only partly supported."""

from __future__ import annotations

from assistant import prompts
from assistant.engine import Assistant
from assistant.settings import Settings
from conftest import scripted


def test_a_well_matched_answer_has_no_notice(extractive):
    answer = extractive.ask("儿童朗读错误检测的词错误率降到了多少？")
    assert not answer.low_evidence and answer.notices == []
    assert answer.evidence_score >= extractive.settings.low_evidence_score_zh
    assert answer.as_json()["low_evidence"] is False and answer.as_json()["evidence_score"] == round(
        answer.evidence_score, 4)


def test_a_best_source_below_the_threshold_gets_the_notice_in_the_answers_language(bundled_index, e5, extractive):
    question = "儿童朗读错误检测的词错误率降到了多少？"
    score = extractive.ask(question).evidence_score
    strict = Assistant(Settings(**bundled_index.model_dump(), backend="extractive", low_evidence_score_zh=score + 0.01),
                       store=extractive.store, embed_model=e5)
    zh = strict.ask(question)
    assert zh.low_evidence and zh.notices == [prompts.LOW_EVIDENCE_SCORE["zh"]]
    en = strict.ask(question, language="en")
    assert en.low_evidence and en.notices == [prompts.LOW_EVIDENCE_SCORE["en"]]


def test_an_answer_only_partly_supported_gets_the_notice(bundled_index, e5):
    answer = scripted(bundled_index, e5, "提示把WER从9.4%降到5.1% [arXiv:2506.11079v1]。"
                                         "The authors also won a best paper award at Interspeech 2030 "
                                         "[arXiv:2506.11079v1].").ask("用提示改进儿童朗读错误检测的那篇论文效果如何？")
    assert not answer.abstained and answer.low_evidence
    assert prompts.LOW_EVIDENCE_PARTIAL["zh"].format(supported=1, total=2) in answer.notices


def test_abstentions_carry_no_notice(extractive):
    for question in ("What's a good recipe for sourdough bread?", "What does 2506.99999 propose?",
                     "How many GPUs did the XY-Tokenizer paper train on?"):
        answer = extractive.ask(question)
        assert answer.abstained and not answer.low_evidence and answer.evidence_score is None
