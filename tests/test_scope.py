"""Questions limited to chosen papers (``--papers``): retrieval, evidence and citations stay inside the scope."""

from __future__ import annotations

import json

import pytest

from assistant.scope import MAX_SCOPE_PAPERS, ScopeError, parse_papers, resolve_scope
from conftest import invoke_cli

CASPER = "2506.00267"  # three versions: v1 says 200+ hours, v2 and v3 say 100+
CHILD_ASR = "2506.11079v1"  # prompting Whisper for children's reading-mistake detection
LLM_FEEDBACK = "2506.11091v1"  # an LLM's feedback adapts ASR to a domain


def cited(answer) -> set[str]:
    return {c.arxiv_id for c in answer.citations} | {c for s in answer.sentences for c in s.citations}


def test_base_ids_mean_the_newest_version_or_all_and_versioned_ids_that_version(extractive):
    versions_of = extractive.retriever.versions_of
    assert resolve_scope([CASPER], versions_of).arxiv_ids == (f"{CASPER}v3",)
    assert resolve_scope([CASPER], versions_of, "all").arxiv_ids == (f"{CASPER}v1", f"{CASPER}v2", f"{CASPER}v3")
    assert resolve_scope([f"{CASPER}v2", CHILD_ASR], versions_of, "all").arxiv_ids == (f"{CASPER}v2", CHILD_ASR)
    assert parse_papers(" 2506.00267, ,2506.11079v1 ") == ["2506.00267", "2506.11079v1"]


@pytest.mark.parametrize("papers, message", [
    (["2506.99999"], "2506.99999 is not in the collection"),
    ([f"{CASPER}v7"], f"{CASPER}v7 is not in the collection"),
    (["2506.99998", "2506.99999v2"], "2506.99998, 2506.99999v2 are not in the collection"),
    (["not-an-id"], "'not-an-id' is not an arXiv ID"),
    ([], "names no papers"),
    ([f"2506.{n:05d}" for n in range(MAX_SCOPE_PAPERS + 1)], f"51 papers, more than {MAX_SCOPE_PAPERS}"),
])
def test_a_scope_that_cannot_be_used_is_one_clear_error(extractive, papers, message):
    with pytest.raises(ScopeError, match=message) as caught:
        extractive.ask("What does it propose?", papers=papers)
    assert isinstance(caught.value, ValueError) and "\n" not in str(caught.value)


def test_retrieval_and_citations_stay_inside_the_scope(extractive):
    question = "儿童朗读错误检测的词错误率降到了多少？"
    assert CHILD_ASR in cited(extractive.ask(question))  # unscoped, the children's ASR paper answers
    scoped = extractive.ask(question, papers=[LLM_FEEDBACK, f"{CASPER}v1"])
    assert scoped.scope == [LLM_FEEDBACK, f"{CASPER}v1"]
    assert {s.arxiv_id for s in scoped.sources} <= set(scoped.scope) and scoped.sources
    assert cited(scoped) <= set(scoped.scope)
    retrieval = extractive.retriever.retrieve(question, k=10, scope=extractive.scope([LLM_FEEDBACK, f"{CASPER}v1"]))
    assert {p.base_id for p in retrieval.papers} <= {"2506.11091", CASPER}
    assert all(c.metadata["arxiv_id"] in scoped.scope for p in retrieval.papers for c in p.chunks)


def test_a_versioned_scope_answers_from_that_version_only(extractive):
    answer = extractive.ask("CASPER 数据集有多少小时的语音？", papers=[f"{CASPER}v1"])
    assert [s.arxiv_id for s in answer.sources] == [f"{CASPER}v1"] and "200+" in answer.text
    newest = extractive.ask("CASPER 数据集有多少小时的语音？", papers=[CASPER])
    assert [s.arxiv_id for s in newest.sources] == [f"{CASPER}v3"] and "200+" not in newest.text


def test_a_version_question_in_an_all_versions_scope_compares_the_versions(extractive):
    answer = extractive.ask("What changed between the versions of CASPER?", papers=[CASPER], versions="all")
    assert {s.arxiv_id for s in answer.sources} == {f"{CASPER}v1", f"{CASPER}v2", f"{CASPER}v3"}
    limited = extractive.ask("What changed between the versions of CASPER?", papers=[f"{CASPER}v2", f"{CASPER}v3"])
    assert {s.arxiv_id for s in limited.sources} <= {f"{CASPER}v2", f"{CASPER}v3"}


def test_a_follow_up_stays_in_the_scope(extractive):
    history = [{"role": "user", "content": "Which paper uses an LLM's feedback to adapt speech recognition?"},
               {"role": "assistant", "content": f"Customizing Speech Recognition [arXiv:{LLM_FEEDBACK}]."}]
    answer = extractive.ask("How much did it improve?", history, papers=[LLM_FEEDBACK])
    assert [s.arxiv_id for s in answer.sources] == [LLM_FEEDBACK] and "21%" in answer.text
    # The user chose other papers since: the paper the history was about is not pulled back in, nor refused.
    moved = extractive.ask("How much did it improve?", history, papers=[CHILD_ASR])
    assert moved.abstention_reason != "outside_scope" and [s.arxiv_id for s in moved.sources] == [CHILD_ASR]


def test_naming_a_paper_outside_the_scope_is_said_plainly(extractive):
    answer = extractive.ask(f"What does {CHILD_ASR} report?", papers=[LLM_FEEDBACK])
    assert answer.abstained and answer.abstention_reason == "outside_scope" and answer.sources == []
    assert answer.text.startswith(f"{CHILD_ASR} is not among the papers this question is limited to.")
    inside = extractive.ask(f"What does {LLM_FEEDBACK} report?", papers=[LLM_FEEDBACK, CHILD_ASR])
    assert [s.arxiv_id for s in inside.sources][:1] == [LLM_FEEDBACK]


def test_one_paper_scope_keeps_on_topic_questions_and_turns_off_topic_ones_away(extractive):
    # Off-topic is about the collection, not the scope: a weak match inside the scope is answered, flagged.
    weak = extractive.ask("儿童朗读错误检测的词错误率降到了多少？", papers=[LLM_FEEDBACK])
    assert not weak.abstained and weak.low_evidence and weak.notices
    off = extractive.ask("What's a good recipe for sourdough bread?", papers=[LLM_FEEDBACK])
    assert off.abstained and off.abstention_reason == "off_topic"


# --- the command line -----------------------------------------------------------------------------------

def test_ask_papers_cites_only_the_chosen_papers(cli_env):
    result = invoke_cli("ask", "--json", "--backend", "extractive", "--papers", f"{LLM_FEEDBACK},{CASPER}v1",
                        "儿童朗读错误检测的词错误率降到了多少？", env=cli_env)
    assert result.returncode == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["scope"] == [LLM_FEEDBACK, f"{CASPER}v1"]
    assert {c["arxiv_id"] for c in answer["citations"]} <= set(answer["scope"]) and answer["citations"]
    assert {s["arxiv_id"] for s in answer["sources"]} <= set(answer["scope"])


def test_ask_versioned_and_all_versions_scopes(cli_env):
    one = invoke_cli("ask", "--json", "--backend", "extractive", "--papers", f"{CASPER}v1",
                     "CASPER 数据集有多少小时的语音？", env=cli_env)
    assert one.returncode == 0, one.output
    assert [s["arxiv_id"] for s in json.loads(one.stdout)["sources"]] == [f"{CASPER}v1"]
    every = invoke_cli("ask", "--json", "--backend", "extractive", "--papers", CASPER, "--versions", "all",
                       "What changed between the versions of CASPER?", env=cli_env)
    assert json.loads(every.stdout)["scope"] == [f"{CASPER}v1", f"{CASPER}v2", f"{CASPER}v3"]


@pytest.mark.parametrize("papers, message", [
    ("2506.99999", "paperchat: error: 2506.99999 is not in the collection"),
    (",".join(f"2506.{n:05d}" for n in range(60)), "paperchat: error: the scope names 60 papers, more than 50"),
])
def test_ask_with_a_bad_scope_is_one_line_and_fails(cli_env, papers, message):
    result = invoke_cli("ask", "--backend", "extractive", "--papers", papers, "What does it propose?", env=cli_env)
    assert result.returncode == 1
    assert result.stderr.startswith(message) and len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == "" and "Traceback" not in result.output


def test_chat_checks_the_scope_before_the_first_question(cli_env):
    result = invoke_cli("chat", "--backend", "extractive", "--papers", "2506.99999", env=cli_env)
    assert result.returncode == 1 and "2506.99999 is not in the collection" in result.stderr
    answered = invoke_cli("chat", "--backend", "extractive", "--papers", CHILD_ASR, env=cli_env,
                          input="儿童朗读错误检测的结果？\n它的词错误率降到了多少？\n")
    assert answered.returncode == 0, answered.output
    assert answered.stdout.count(f"[arXiv:{CHILD_ASR}]") >= 2 and "2506.11091" not in answered.stdout
