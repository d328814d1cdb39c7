"""Saved conversations in the chat (ui/history.py): a real answer saved, reopened as it was shown, taken back
by undo, exported to the files the Export buttons download. The browser side is in tests/test_browser.py."""

from __future__ import annotations

import json
import re

import pytest

from ui.conversations import ConversationStore
from ui.history import answer_from_json, chat_messages, export_files, questions_in, save_turn
from ui.render import cited_evidence, final_markdown, sources_html

QUESTION = "Which paper uses LLM feedback as a reward for ASR domain adaptation?"


@pytest.fixture(scope="module")
def answered(extractive):
    answer = extractive.ask(QUESTION)
    assert answer.sentences and all(s.evidence for s in answer.sentences if s.supported), answer.sentences
    return answer


@pytest.fixture
def store(tmp_path):
    return ConversationStore.in_data_dir(tmp_path / "data")


def test_a_saved_answer_is_shown_again_as_it_was_answered(answered, store):
    served = {"answer_id": "abc", **answered.as_json(), "settings": {"backend": "extractive"}}
    conversation_id = save_turn(store, "alice", None, QUESTION, served)
    saved = store.open("alice", conversation_id)
    assert saved.title == QUESTION[:59] + "…" and saved.turns == 1
    assert "answer_id" not in saved.messages[1]["answer"] and "settings" not in saved.messages[1]["answer"]

    question, panel, shown = chat_messages(saved)
    assert question.role == "user" and question.content == QUESTION
    answer_id = re.search(r"pc-a-(\w+)", shown.content)[1]
    assert shown.content == final_markdown(answered, answer_id)
    assert panel.content == sources_html(answered.sources, cited_evidence(answered), answer_id)
    assert panel.metadata["title"].startswith("Sources · 4 papers")
    assert answer_from_json(answered.as_json()).sentences == answered.sentences


def test_undo_takes_back_only_the_turn_that_was_saved(answered, store):
    conversation_id = save_turn(store, "alice", None, QUESTION, answered.as_json())
    save_turn(store, "alice", conversation_id, "它用了什么方法？", answered.as_json())
    # The chat shows a third question whose answer was an error (never saved): nothing to take back.
    shown = [{"role": "user"}, {"role": "assistant"}] * 3
    assert questions_in(shown) == 3
    assert not store.drop_last_turn("alice", conversation_id, 3)
    assert store.open("alice", conversation_id).turns == 2
    assert store.drop_last_turn("alice", conversation_id, 2)
    assert [m["content"] for m in store.open("alice", conversation_id).messages] == [QUESTION, answered.text]
    with pytest.raises(Exception, match="no saved conversation"):
        store.drop_last_turn("bob", conversation_id, 1)


def test_export_files_are_the_conversation_as_markdown_and_json(answered, store, tmp_path):
    conversation_id = save_turn(store, "alice", None, QUESTION, answered.as_json())
    store.rename("alice", conversation_id, "ASR & <LLM> rewards / 奖励")
    markdown, json_file = export_files(store, "alice", conversation_id, tmp_path / "exports")
    assert markdown.name == "paperchat-asr-llm-rewards.md" and json_file.suffix == ".json"
    text = markdown.read_text(encoding="utf-8")
    assert text.startswith("# ASR & \\<LLM\\> rewards / 奖励")
    assert "[arXiv:2506.11091v1](https://arxiv.org/abs/2506.11091v1)" in text and "## Sources" in text
    assert json.loads(json_file.read_text(encoding="utf-8")) == [answered.as_json()]
