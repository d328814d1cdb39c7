"""The grounding evaluation: metrics on hand-computed cases, the trec_eval cross-check, the runner, compare, the gate.

Everything runs on the real bundled index with the extractive backend or a
small fake LLM (a model that echoes its first evidence sentence, crashes on
one topic, or is slow), except `test_real_extractive_eval_end_to_end`, which
runs the `paperchat eval` command itself.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import numpy as np
import pytest
import pytrec_eval
from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata
from llama_index.core.llms.callbacks import llm_completion_callback

from assistant.engine import Assistant
from assistant.retrieval import HybridRetriever
from assistant.settings import Settings
from conftest import invoke_cli
from evals import metrics as m
from assistant.support import judge_messages
from evals.judges import lexical_judge, judge_agreement, load_support_pairs
from evals.questions import load_questions
from evals.report import build_report, check_gate, compare_runs, flatten, html_report, load_thresholds
from evals.runner import read_results, run_eval, select
from index.errors import UserError
from index.store import open_store

ROOT = Path(__file__).resolve().parents[1]
CHILD = "提示机制改进Whisper模型，将荷兰儿童朗读的词错误率（WER）从9.4%降至5.1%。"
CHILD_ID, CODEC_ID = "2506.11079v1", "2506.23325v1"
EVIDENCE = {CHILD_ID: ["Improving Child Speech Recognition and Reading Mistake Detection by Using Prompts", CHILD],
            CODEC_ID: ["XY-Tokenizer: Mitigating the Semantic-Acoustic Conflict in Low-Bitrate Speech Codecs",
                       "语义与声学性能平衡：在保持较高说话人相似度（0.83）的同时，文本对齐效果优于SpeechTokenizer。"]}


# --- metrics by hand -------------------------------------------------------------------

def test_retrieval_metrics_by_hand():
    ranked, expected = ["a", "b", "c", "d"], {"b", "d"}
    assert m.hit_at_k(ranked, expected, 1) == 0 and m.hit_at_k(ranked, expected, 5) == 1
    assert m.reciprocal_rank(ranked, expected) == 0.5
    assert m.recall_at_k(ranked, expected, 2) == 0.5
    # DCG = 1/log2(3) + 1/log2(5) = 0.6309 + 0.4307; ideal = 1 + 1/log2(3) = 1.6309
    assert m.ndcg_at_k(ranked, expected, 10) == pytest.approx(1.0616 / 1.6309, abs=1e-4)
    assert m.ndcg_at_k(["b", "d", "a"], expected, 10) == 1.0
    assert m.ndcg_at_k(ranked, expected, 1) == 0.0 and m.ndcg_at_k(ranked, set(), 10) == 0.0
    assert m.base_of("2506.11091v2") == "2506.11091" and m.base_of("2506.11091") == "2506.11091"


def test_a_sentence_citing_the_wrong_paper_scores_zero_citation_recall():
    judge = lexical_judge()
    claim = "Prompting Whisper cut the WER from 9.4% to 5.1%."
    wrong = m.citation_scores(claim, [CODEC_ID], EVIDENCE, judge)
    right = m.citation_scores(claim, [CHILD_ID], EVIDENCE, judge)
    assert (wrong.recall, right.recall) == (0, 1)
    assert m.citation_recall([wrong, right]) == 0.5
    assert m.citation_scores(claim, [], EVIDENCE, judge).recall == 0  # an uncited sentence is unsupported


def test_an_unneeded_extra_citation_lowers_citation_precision():
    judge = lexical_judge()
    claim = "Prompting Whisper cut the WER from 9.4% to 5.1%."
    padded = m.citation_scores(claim, [CHILD_ID, CODEC_ID], EVIDENCE, judge)
    assert padded.recall == 1 and padded.unneeded == (CODEC_ID,)
    assert m.citation_precision([padded]) == 0.5
    assert m.citation_precision([m.citation_scores(claim, [CHILD_ID], EVIDENCE, judge)]) == 1.0
    # Two citations that each hold half of the claim are both needed.
    both = m.citation_scores("WER fell from 9.4% to 5.1% and speaker similarity reached 0.83.",
                             [CHILD_ID, CODEC_ID], EVIDENCE, judge)
    assert both.recall == 1 and both.needed == 2


def test_citation_validity_needs_the_collection_and_the_sources_shown():
    assert m.citation_validity([CHILD_ID, CODEC_ID, "2301.00001v1"], {CHILD_ID, "2301.00001v1"},
                               {CHILD_ID, CODEC_ID}) == (1, 3)


def test_abstention_on_an_unanswerable_question_counts_as_correct():
    outcomes = [
        m.AbstentionOutcome(answerable=False, abstained=True, correct=True),
        m.AbstentionOutcome(answerable=False, abstained=False, correct=False),
        m.AbstentionOutcome(answerable=True, abstained=False, correct=True),
        m.AbstentionOutcome(answerable=True, abstained=True, correct=False),
        m.AbstentionOutcome(answerable=True, abstained=False, correct=False),
    ]
    result = m.abstention_metrics(outcomes)
    assert result == {"accuracy": 2 / 5, "precision": 1 / 3, "abstention_rate": 1 / 2,
                      "false_abstention_rate": 1 / 3}


def test_fact_recall_normalises_case_spaces_and_thousands_separators():
    answer = "The ALR set has 6,446 pairs; OpusLM used 213 K hours and XY-tokenizer."
    assert m.fact_recall(answer, ["6446", "213K", "XY-Tokenizer", "292B"]) == 0.75
    assert m.fact_recall("４０万 小时", ["40万小时"]) == 1.0
    assert m.fact_recall(answer, []) is None


def test_percentiles_match_numpy():
    values = [120.0, 15.0, 30.0, 900.0, 45.0, 60.0, 33.0]
    for q in (50, 95):
        assert m.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert m.percentile([], 50) is None


def test_lexical_judge_rejects_swapped_numbers_and_methods():
    pairs = {p["id"]: p for p in load_support_pairs()}
    judge = lexical_judge()
    for pair_id in ("p02", "p07", "p13", "p17"):  # 12% for 21%, 1.5% for 5.1%, DPO for RL, PPO for DPO
        pair = pairs[pair_id]
        assert not pair["supported"] and not judge(pair["sentence"], [pair["title"], pair["evidence"]]), pair_id


def test_support_pairs_cover_both_languages_and_swaps():
    pairs = load_support_pairs()
    assert len(pairs) >= 30 and len({p["id"] for p in pairs}) == len(pairs)
    kinds = {p["kind"] for p in pairs}
    assert {"swapped_number", "swapped_method"} <= kinds
    for lang in ("en", "zh"):
        assert {p["supported"] for p in pairs if p["lang"] == lang} == {True, False}
    agreement = judge_agreement(lexical_judge(), pairs)
    assert agreement["pairs"] == len(pairs)
    disagreements = len(agreement["disagreements"])
    assert agreement["false_support"] + agreement["false_reject"] == disagreements
    assert agreement["agreement"] == round(1 - disagreements / len(pairs), 3)
    # Better than answering every pair with the more common label, and than chance (kappa).
    supported = sum(p["supported"] for p in pairs) / len(pairs)
    assert agreement["agreement"] > max(supported, 1 - supported) and agreement["kappa"] > 0


def test_llm_judge_prompt_puts_the_evidence_before_the_claim():
    messages = judge_messages("The WER fell to 5.1%.", ["title", CHILD])
    text = messages[1].content
    assert text.index(CHILD) < text.index("The WER fell to 5.1%.") and "yes or no" in text


# --- datasets -------------------------------------------------------------------------

def test_any_jsonl_file_in_the_format_loads_with_defaults(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text('{"question": "Which paper detects reading mistakes?", "expected_ids": ["2506.11079"]}\n\n'
                    '{"question": "有没有关于音频水印的论文？", "expected_ids": []}\n', encoding="utf-8")
    first, second = load_questions(path)
    assert (first["id"], first["kind"], first["lang"], first["history"], first["facts"]) == ("line1", "single", "en",
                                                                                             [], [])
    assert (second["id"], second["kind"], second["lang"]) == ("line3", "unanswerable", "zh")


def test_a_broken_dataset_line_is_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "ok?", "expected_ids": []}\n{"question": "no ids"}\n', encoding="utf-8")
    with pytest.raises(UserError, match=r"bad.jsonl:2: missing \"expected_ids\""):
        load_questions(path)


# --- trec_eval cross-check on a real retrieval run ---------------------------------------------

@pytest.mark.slow
def test_retrieval_metrics_agree_with_trec_eval_on_a_real_run(bundled_index, e5):
    retriever = HybridRetriever(open_store(bundled_index), e5)
    questions = [q for q in load_questions() if q["expected_ids"] and not q["history"]]
    qrels, run, ours = {}, {}, {}
    for q in questions:
        ranked = [p.base_id for p in retriever.retrieve(q["question"], k=10).papers]
        expected = {m.base_of(i) for i in q["expected_ids"]}
        qrels[q["id"]] = {base: 1 for base in expected}
        # Strictly falling scores: trec_eval orders by score, so no tie can reorder the list.
        run[q["id"]] = {base: 1.0 / rank for rank, base in enumerate(ranked, start=1)}
        ours[q["id"]] = {"success_1": m.hit_at_k(ranked, expected, 1), "success_5": m.hit_at_k(ranked, expected, 5),
                         "recip_rank": m.reciprocal_rank(ranked, expected),
                         "ndcg_cut_10": m.ndcg_at_k(ranked, expected, 10),
                         "recall_10": m.recall_at_k(ranked, expected, 10)}
    trec = pytrec_eval.RelevanceEvaluator(qrels, {"success.1,5", "recip_rank", "ndcg_cut.10", "recall.10"}).evaluate(run)
    assert len(trec) == len(questions) > 100
    for qid, values in ours.items():
        for measure, value in values.items():
            assert trec[qid][measure] == pytest.approx(value, abs=1e-9), (qid, measure)
    assert 0 < np.mean([v["ndcg_cut_10"] for v in ours.values()]) < 1


# --- the runner with small fake models --------------------------------------------------------

class EchoLLM(CustomLLM):
    """A model that answers with its first evidence sentence and that sentence's citation.

    ``crash_on``: a word in the question that makes it raise, as a backend that breaks would;
    ``delay``: seconds before each word, to make a slow model.
    """

    crash_on: str = ""
    delay: float = 0.0

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(is_chat_model=False)

    def _reply(self, prompt: str) -> str:
        question = prompt.rsplit("Question:", 1)[-1]
        if self.crash_on and self.crash_on in question:
            raise RuntimeError("model server went away")
        cited = re.search(r"\[arXiv:(\d{4}\.\d{4,5}v\d+)\][^\n]*\n- ([^\n]+)", prompt)
        return f"{cited[2]} [arXiv:{cited[1]}]" if cited else "NO_ANSWER"

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs) -> CompletionResponse:
        return CompletionResponse(text=self._reply(prompt))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs):
        reply = self._reply(prompt)

        def gen():
            text = ""
            for word in reply.split(" "):
                time.sleep(self.delay)
                text += ("" if not text else " ") + word
                yield CompletionResponse(text=text, delta=word if text == word else " " + word)
        return gen()


def _assistant(bundled_index, e5, llm=None) -> Assistant:
    backend = "openai" if llm is not None else "extractive"
    settings = Settings(**bundled_index.model_dump(), backend=backend)
    return Assistant(settings, store=open_store(settings), embed_model=e5, llm=llm)


QUESTIONS = ["q003", "q004", "q006", "q113"]  # LAIL (zh), ChildGuard (en), ThinkSound (zh), sourdough bread


@pytest.fixture(scope="module")
def dev_questions():
    return select(load_questions(), QUESTIONS)


@pytest.fixture(scope="module")
def echo_run(bundled_index, e5, dev_questions, tmp_path_factory):
    out = tmp_path_factory.mktemp("echo")
    report = run_eval(_assistant(bundled_index, e5, EchoLLM()), dev_questions, lexical_judge(), out,
                      dataset="dev", backend="openai", progress=False, agreement=False)
    return out, report


@pytest.fixture(scope="module")
def crash_run(bundled_index, e5, dev_questions, tmp_path_factory):
    out = tmp_path_factory.mktemp("crash")
    report = run_eval(_assistant(bundled_index, e5, EchoLLM(crash_on="hate speech")), dev_questions, lexical_judge(),
                      out, dataset="dev", backend="openai", progress=False, agreement=False)
    return out, report


def test_runner_records_a_crashing_question_as_a_failure_and_goes_on(crash_run):
    out, report = crash_run
    _, records = read_results(out)
    assert [r["id"] for r in records] == QUESTIONS
    crashed = records[1]
    assert crashed["status"] == "error" and "model server went away" in crashed["error"]
    assert crashed["failures"][0].startswith("crashed")
    assert all(r["status"] == "ok" for r in records if r is not crashed)
    assert report["failures"]["crashed"] == 1 and report["failures"]["failed_questions"] >= 1
    assert report["metrics"]["abstention"]["accuracy"] <= 3 / 4  # the crash counts as a wrong answer
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "crashed 1" in markdown and markdown.index("q004") < markdown.index("## Passed questions")


def test_runner_stops_a_slow_question_at_its_timeout(bundled_index, e5, dev_questions, tmp_path):
    slow = _assistant(bundled_index, e5, EchoLLM(delay=0.3))
    report = run_eval(slow, dev_questions[:1], lexical_judge(), tmp_path, dataset="dev", backend="openai",
                      timeout=0.5, progress=False, agreement=False)
    _, records = read_results(tmp_path)
    assert records[0]["status"] == "timeout" and report["failures"]["timed_out"] == 1


def test_echo_run_scores_citations_answers_and_abstention(echo_run):
    out, report = echo_run
    _, records = read_results(out)
    by_id = {r["id"]: r for r in records}
    metrics = report["metrics"]
    assert metrics["citations"]["validity"] == 1.0
    assert by_id["q113"]["metrics"]["abstained"] and by_id["q113"]["metrics"]["correct"]  # off-topic: abstains
    assert by_id["q004"]["metrics"]["correct_paper_cited"] == 1.0
    for r in records:
        for sentence in r["sentences"]:
            assert sentence["recall"] == 1 and sentence["citations"]  # echoed evidence supports itself
    assert set(report["by_kind"]) >= {"single", "unanswerable", "exact-ID"}
    for name in ("retrieval.hit@1", "retrieval.ndcg@10", "citations.recall", "citations.precision",
                 "answers.fact_recall", "answers.faithfulness", "abstention.precision", "speed.total_ms.p95"):
        assert name in flatten(report)


def test_compare_shows_deltas_and_the_questions_that_got_worse(echo_run, crash_run, cli_env):
    (a, _), (b, _) = echo_run, crash_run
    comparison = compare_runs(*read_results(a), *read_results(b))
    assert comparison["deltas"]["failures.crashed"] == {"a": 0, "b": 1, "delta": 1}
    assert [w["id"] for w in comparison["worse"]] == ["q004"]
    result = invoke_cli("eval", "compare", str(a), str(b), env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "| failures.crashed | 0 | 1 | +1.000 ▼ |" in result.stdout
    assert "- q004:" in result.stdout and "model server went away" in result.stdout


def test_gate_fails_on_a_breached_threshold(echo_run, tmp_path, cli_env):
    out, report = echo_run
    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text('[profiles.openai]\njudge = "lexical"\n'
                          '[profiles.openai.min]\n"citations.validity" = 1.0\n"retrieval.hit@1" = 1.01\n'
                          '[profiles.openai.max]\n"failures.crashed" = 0\n', encoding="utf-8")
    profile = load_thresholds(thresholds)["profiles"]["openai"]
    assert check_gate(report, profile) == [f"retrieval.hit@1 = {report['metrics']['retrieval']['hit@1']:.3f} "
                                           f"< 1.01 (minimum)"]
    failed = invoke_cli("eval", "gate", str(out), "--thresholds", str(thresholds), env=cli_env)
    assert failed.returncode == 1 and failed.stderr.strip().startswith("gate breach: retrieval.hit@1 =")
    profile["min"]["retrieval.hit@1"] = 0.5
    assert check_gate(report, profile) == []
    assert check_gate(report, {**profile, "judge": "llm"}) == [
        "run.judge: the run used lexical, the thresholds are for llm"]
    assert check_gate(report, {**profile, "backend": "local"}) == [
        "run.backend: the run used openai, the thresholds are for local"]


def test_thresholds_file_holds_both_gated_profiles():
    thresholds = load_thresholds(ROOT / "evals" / "thresholds.toml")["profiles"]
    assert thresholds["extractive"]["min"]["citations.validity"] == 1.0
    assert thresholds["local"]["min"]["citations.validity"] == 1.0
    subset = select(load_questions(), thresholds["local"]["questions"])
    assert len(subset) >= 20
    assert {q["kind"] for q in subset} == {"single", "multi", "followup", "version", "unanswerable"}
    assert {q["lang"] for q in subset} == {"en", "zh"}


def test_html_report_escapes_every_text():
    record = {"id": "x<1>", "question": "<script>alert(1)</script>", "kind": "single", "lang": "en", "history": [],
              "expected_ids": ["2506.11079"], "facts": ["<u>x</u>"], "names_id": False, "status": "ok", "error": None,
              "retrieved": ["2506.11079"], "failures": ["missing facts: <u>x</u>"],
              "sentences": [{"text": "<img src=x>", "citations": [CHILD_ID], "recall": 1, "needed": 1,
                             "unneeded": [], "faithful": True, "engine_supported": True, "engine_method": "lexical"}],
              "answer": {"answer": "<img src=x> [arXiv:2506.11079v1]", "timings_ms": {"retrieval": 1.0, "total": 2.0},
                         "sources": [{"arxiv_id": CHILD_ID, "title": "T&C", "text": "</p><script>"}]},
              "metrics": {"answerable": True, "abstained": False, "hit@1": 1.0, "hit@5": 1.0, "rr": 1.0,
                          "ndcg@10": 1.0, "recall@10": 1.0, "citations": 1, "valid_citations": 1,
                          "citation_recall": 1.0, "citation_precision": 1.0, "faithfulness": 1.0, "sentences": 1,
                          "correct_paper_cited": 1.0, "fact_recall": 0.0, "missing_facts": ["<u>x</u>"], "correct": True}}
    run = {"dataset": "d", "backend": "b", "judge": "lexical", "questions": 1, "ids": ["x<1>"], "date": "today",
           "seconds": 1, "timeout_s": 1, "retrieval_ranking": "r", "machine": {"cpus": 2, "load": 0}}
    page = html_report(build_report(run, [record], None), [record])
    assert "<script>" not in page and "<img" not in page and "<u>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "T&amp;C" in page


# --- the real command --------------------------------------------------------------------------

@pytest.mark.slow
def test_real_extractive_eval_end_to_end(cli_env, tmp_path):
    out = tmp_path / "run"
    result = invoke_cli("eval", "--backend", "extractive", "--limit", "6", "--out", str(out), "--no-progress",
                        env=cli_env)
    assert result.returncode == 0, result.stderr
    assert f"report: {out / 'report.md'}" in result.stdout
    report, records = read_results(out)
    assert len(records) == 6 and report["run"]["backend"] == "extractive" and report["run"]["judge"] == "cheap"
    assert report["metrics"]["citations"]["validity"] == 1.0 and report["metrics"]["retrieval"]["hit@5"] == 1.0
    assert report["judge_agreement"]["pairs"] >= 30
    assert (out / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    gate = invoke_cli("eval", "gate", str(out), env=cli_env)
    assert gate.returncode == 1 and "run.questions" in gate.stderr  # 6 questions are not the gated set
    assert math.isfinite(report["metrics"]["speed"]["total_ms"]["p50"])


@pytest.mark.slow
def test_ci_runs_every_profile_in_one_process_and_fails_when_one_breaches(cli_env, tmp_path):
    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text('[profiles.first]\nbackend = "extractive"\njudge = "cheap"\nquestions = ["q002", "q004"]\n'
                          '[profiles.first.min]\n"citations.validity" = 1.0\n'
                          '[profiles.second]\nbackend = "extractive"\njudge = "cheap"\nquestions = ["q012"]\n'
                          '[profiles.second.min]\n"retrieval.hit@1" = 1.01\n', encoding="utf-8")
    unknown = invoke_cli("eval", "ci", "first", "third", "--thresholds", str(thresholds), env=cli_env)
    assert unknown.returncode == 1 and unknown.stderr == (
        "paperchat: error: no [profiles.third] in the thresholds file (has: first, second)\n")
    assert not list(tmp_path.glob("gate-*")), "a bad profile name is refused before anything runs"

    result = invoke_cli("eval", "ci", "--thresholds", str(thresholds), "--out", str(tmp_path), "--no-progress",
                        env=cli_env)
    assert result.returncode == 1, result.output
    assert "gate: every threshold of profile first met" in result.stdout
    assert [line for line in result.stderr.splitlines() if line.startswith("gate breach")] == [
        "gate breach (second): retrieval.hit@1 = 1.000 < 1.01 (minimum)"]
    first, _ = read_results(tmp_path / "gate-first")
    second, _ = read_results(tmp_path / "gate-second")
    assert first["run"]["ids"] == ["q002", "q004"] and second["run"]["ids"] == ["q012"]
    assert first["run"]["backend"] == second["run"]["backend"] == "extractive"
    # One judge for both runs: its agreement with the hand labels is the same, not measured twice over.
    assert first["judge_agreement"]["pairs"] >= 30
    assert first["judge_agreement"]["agreement"] == second["judge_agreement"]["agreement"]
