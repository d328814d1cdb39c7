"""Searching in the collection's language (assistant/translation.py): an English question over Chinese
summaries, where dense search and BM25 disagree, is translated for retrieval.

The gate and the retriever are tested with a given translation (what the model would write); the last test
runs the bundled model end to end.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant import prompts
from assistant.answer import SourcesReady
from assistant.engine import Assistant
from assistant.settings import Settings
from assistant.translation import QuestionTranslator
from fakes import ScriptedLLM
from index.store import open_store

# Dense search puts a dialect ASR paper first, BM25 the L2 oral proficiency paper (2505.21148).
QUESTION = "Which work gets a speech LLM to grade spoken English exams?"
TRANSLATED = "哪项工作让语音大模型给英语口语考试打分？"
EXAM_PAPER = "2505.21148"


def test_the_channels_disagree_on_an_english_question_over_chinese_summaries(extractive):
    retrieval = extractive.retriever.retrieve(QUESTION)
    assert not retrieval.channels_agree and retrieval.language == "zh"
    assert retrieval.papers[0].base_id != EXAM_PAPER


def test_a_translation_is_searched_but_the_off_topic_check_reads_the_question(extractive):
    question = extractive.retriever.retrieve(QUESTION)
    searched = extractive.retriever.retrieve(QUESTION, search=TRANSLATED)
    assert searched.papers[0].base_id == EXAM_PAPER
    # how close the collection comes is the question's, so the off-topic thresholds keep their meaning
    assert searched.dense_top == pytest.approx(question.dense_top, abs=1e-6)
    assert searched.bm25_top == pytest.approx(question.bm25_top, abs=1e-6)
    assert extractive.retriever.retrieve(TRANSLATED).dense_top != pytest.approx(question.dense_top, abs=1e-6)


def test_only_a_disagreement_in_another_language_calls_the_model(extractive):
    model = ScriptedLLM(reply=f" {TRANSLATED}\n")
    translator = QuestionTranslator(model)
    retriever = extractive.retriever
    assert translator.search_for(QUESTION, retriever.retrieve(QUESTION)) == TRANSLATED
    assert len(model.prompts) == 1 and QUESTION in model.prompts[0] and "Simplified Chinese" in model.prompts[0]
    assert translator.search_for(QUESTION, retriever.retrieve(QUESTION)) == TRANSLATED
    assert len(model.prompts) == 1  # remembered

    agreed = "Which paper proposes the XY-Tokenizer speech codec?"
    assert retriever.retrieve(agreed).channels_agree
    assert translator.search_for(agreed, retriever.retrieve(agreed)) is None
    chinese = "哪篇论文让大模型给口语考试打分？"
    assert translator.search_for(chinese, retriever.retrieve(chinese)) is None  # same language as the papers
    assert len(model.prompts) == 1


def test_a_reply_that_is_not_a_translation_is_not_searched(extractive):
    translator = QuestionTranslator(ScriptedLLM(reply="Sure! Here is the translation."))
    assert translator.search_for(QUESTION, extractive.retriever.retrieve(QUESTION)) is None


@pytest.mark.slow
def test_real_bundled_model_translates_and_the_answer_cites_the_paper_searched_for(bundled_index, e5):
    def local(**extra) -> Assistant:
        settings = Settings(**bundled_index.model_dump(), backend="local", **extra,
                            model_cache_dir=Path(os.environ.get("PAPERCHAT_TEST_MODEL_CACHE",
                                                                "/root/.cache/paperchat")))
        return Assistant(settings, store=open_store(settings), embed_model=e5)

    translating, untranslated = local(), local(search_translation=False)
    answer = translating.ask(QUESTION)
    assert answer.searched_as and answer.as_json()["searched_as"] == answer.searched_as
    assert answer.timings_ms["translation"] < answer.timings_ms["retrieval"]
    assert prompts.SEARCHED_AS["en"].format(search=answer.searched_as) in answer.notices  # the user sees it
    assert answer.sources[0].base_id == EXAM_PAPER
    assert not answer.abstained and EXAM_PAPER in {c.arxiv_id.split("v")[0] for c in answer.citations}
    # A question of my own where the translation decides what the model is shown: dense search and BM25
    # both miss the music-to-dance paper (2506.10574) without it.
    # Only the evidence is asked for here: the stream is left at its first event, before any generation.
    dance = "Is there a paper where a language model writes step-by-step dance instructions from a song?"
    assert evidence(translating, dance)[0].base_id == "2506.10574"
    assert "2506.10574" not in [s.base_id for s in evidence(untranslated, dance)]


def evidence(assistant: Assistant, question: str) -> list:
    first = next(iter(assistant.stream(question)))
    assert isinstance(first, SourcesReady)
    return first.sources


def test_a_long_question_is_translated_from_its_beginning(extractive):
    # Every size a user controls is bounded: the translation prompt must fit the model's context.
    from assistant.translation import MAX_TRANSLATED_CHARS

    model = ScriptedLLM(reply=TRANSLATED)
    long_question = QUESTION + " " + "Please explain in detail. " * 80
    retrieval = extractive.retriever.retrieve(QUESTION)
    assert QuestionTranslator(model).search_for(long_question, retrieval) == TRANSLATED
    assert QUESTION in model.prompts[0] and "Please explain in detail. " * 20 not in model.prompts[0]
    assert len(model.prompts[0]) < MAX_TRANSLATED_CHARS + 300
