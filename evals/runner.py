"""The eval runner: every question through one Assistant, each answer scored, results written as they come.

For each question the runner streams the answer (so a question that runs past
its timeout is stopped between tokens), then retrieves again for the ranking
metrics: ``assistant.retriever.retrieve(answer.standalone_question, k=10, search=answer.searched_as)``,
the same hybrid retrieval the answer used but ten papers deep, where the
answer's own sources hold only ``top_k`` (4). A crash or a timeout is
recorded as that question's failure and the run goes on.

Outputs, in the run's folder: ``results.jsonl`` (one scored question a line,
written as it finishes), then ``report.json``, ``report.md`` and
``report.html`` (:mod:`evals.report`).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from assistant.answer import Answer, AnswerDone
from assistant.citations import sentence_citations, strip_citations
from assistant.prompts import UNSUPPORTED_MARK
from evals import metrics as m
from evals.judges import SupportJudge, judge_agreement, load_support_pairs
from evals.questions import names_id

RETRIEVAL_DEPTH = 10
RETRIEVAL_SOURCE = (f"assistant.retriever.retrieve(answer.standalone_question, k={RETRIEVAL_DEPTH}, "
                    "search=answer.searched_as)")


class QuestionTimeout(Exception):
    """The answer took longer than the run's per-question timeout."""


def answer_within(assistant, question: str, history: list[dict], timeout: float) -> Answer:
    """``assistant``'s answer, or QuestionTimeout once ``timeout`` seconds have passed.

    The stream is checked between events (every generated piece of text), and
    closing it releases the model for the next question.
    """
    deadline = time.monotonic() + timeout
    stream = assistant.stream(question, history)
    try:
        for event in stream:
            if isinstance(event, AnswerDone):
                return event.answer
            if time.monotonic() > deadline:
                raise QuestionTimeout(f"no answer after {timeout:g} s")
    finally:
        stream.close()
    raise AssertionError("stream ended without an answer")


def score_question(assistant, question: dict, judge: SupportJudge, collection: set[str], timeout: float) -> dict:
    """Ask one question and score the answer; never raises for a failure of the assistant."""
    started = time.perf_counter()
    record = {key: question.get(key) for key in ("id", "question", "kind", "lang", "history", "expected_ids", "facts")}
    record.update(names_id=names_id(question), status="ok", error=None, answer=None, retrieved=[], sentences=[],
                  metrics={}, failures=[])
    try:
        answer = answer_within(assistant, question["question"], question.get("history") or [], timeout)
        record["answer"] = answer.as_json()
        if question["expected_ids"]:
            retrieval = assistant.retriever.retrieve(answer.standalone_question, k=RETRIEVAL_DEPTH,
                                                     search=answer.searched_as)
            record["retrieved"] = [p.base_id for p in retrieval.papers]
        record["sentences"], record["metrics"] = _score_answer(answer, question, record["retrieved"], judge,
                                                               collection)
    except QuestionTimeout as exc:
        record.update(status="timeout", error=str(exc))
    except Exception as exc:  # any crash of one question is that question's failure, not the run's
        message = str(exc).splitlines()[0] if str(exc) else ""
        record.update(status="error", error=f"{type(exc).__name__}: {message}")
    record["seconds"] = round(time.perf_counter() - started, 3)
    record["failures"] = failure_reasons(record)
    return record


def _score_answer(answer: Answer, question: dict, ranked: list[str], judge: SupportJudge,
                  collection: set[str]) -> tuple[list[dict], dict]:
    expected = question["expected_ids"]
    answerable = bool(expected)
    values: dict = {"answerable": answerable, "abstained": answer.abstained}

    if answerable:
        relevant = {m.base_of(i) for i in expected}
        values.update({
            "hit@1": m.hit_at_k(ranked, relevant, 1),
            "hit@5": m.hit_at_k(ranked, relevant, 5),
            "rr": m.reciprocal_rank(ranked, relevant),
            "ndcg@10": m.ndcg_at_k(ranked, relevant, 10),
            "recall@10": m.recall_at_k(ranked, relevant, 10),
        })

    cited = list(dict.fromkeys([c.arxiv_id for c in answer.citations] + sentence_citations(answer.text)))
    shown = {s.arxiv_id for s in answer.sources}
    valid, total = m.citation_validity(cited, shown, collection)
    values.update(citations=total, valid_citations=valid)

    sentences = []
    if not answer.abstained:
        evidence = {s.arxiv_id: [s.title] + list(s.sentences) for s in answer.sources}
        everything = [text for texts in evidence.values() for text in texts]
        scores = []
        for verdict in answer.sentences:
            claim = strip_citations(verdict.text).replace(UNSUPPORTED_MARK.strip(), "").strip()
            score = m.citation_scores(claim, verdict.citations, evidence, judge)
            scores.append(score)
            # Supported by its own citations implies supported by everything shown; only the rest needs a look.
            faithful = bool(score.recall) or judge(claim, everything)
            sentences.append({"text": verdict.text, "citations": verdict.citations, "recall": score.recall,
                              "needed": score.needed, "unneeded": list(score.unneeded), "faithful": faithful,
                              "engine_supported": verdict.supported, "engine_method": verdict.method})
        values.update({
            "citation_recall": m.citation_recall(scores),
            "citation_precision": m.citation_precision(scores),
            "faithfulness": m.mean([float(s["faithful"]) for s in sentences]),
            "sentences": len(sentences),
        })

    if answerable:
        values["correct_paper_cited"] = float(not answer.abstained and m.cites_expected(cited, expected))
        if question.get("facts"):
            values["fact_recall"] = 0.0 if answer.abstained else m.fact_recall(answer.text, question["facts"])
            # Whatever the answer did with it: was the asked fact in front of the model at all?
            shown_text = "\n".join(f"{s.title}\n{s.text}" for s in answer.sources)
            values["answer_coverage"] = m.fact_recall(shown_text, question["facts"])
            values["missing_facts"] = [f for f in question["facts"] if answer.abstained or
                                       m.normalise_fact_text(f) not in m.normalise_fact_text(answer.text)]
    values["correct"] = bool(values.get("correct_paper_cited")) if answerable else answer.abstained
    return sentences, values


def failure_reasons(record: dict) -> list[str]:
    """Why a scored question counts as failed; empty when it passed."""
    if record["status"] == "timeout":
        return [f"timed out ({record['error']})"]
    if record["status"] == "error":
        return [f"crashed ({record['error']})"]
    v = record["metrics"]
    reasons = []
    if v["citations"] > v["valid_citations"]:
        reasons.append(f"{v['citations'] - v['valid_citations']} invalid citation(s)")
    if not v["answerable"]:
        if not v["abstained"]:
            reasons.append("answered a question the collection cannot answer")
        return reasons
    if v["abstained"]:
        reasons.append("abstained on an answerable question")
    elif not v["correct_paper_cited"]:
        reasons.append("no expected paper cited")
    if not v["abstained"] and v.get("citation_recall") is not None and v["citation_recall"] < 1:
        unsupported = sum(1 - s["recall"] for s in record["sentences"])
        reasons.append(f"{unsupported} sentence(s) not supported by their citations")
    if v.get("missing_facts"):
        reasons.append("missing facts: " + ", ".join(v["missing_facts"]))
    return reasons


def collection_ids(assistant) -> set[str]:
    """Every versioned arXiv ID in the assistant's index."""
    retriever = assistant.retriever
    return {arxiv_id for base_id in retriever.paper_ids() for arxiv_id in retriever.versions_of(base_id)}


def run_eval(assistant, questions: list[dict], judge: SupportJudge, out_dir: Path, *, dataset: str,
             backend: str, timeout: float = 120.0, progress: bool = True, agreement: bool = True) -> dict:
    """Evaluate ``questions`` with one assistant; write results and reports to ``out_dir``.

    Args:
        assistant: an :class:`assistant.engine.Assistant` (or anything with ``stream`` and ``retriever``).
        questions: loaded with :func:`evals.questions.load_questions`.
        judge: the support judge for citation recall, precision and faithfulness.
        out_dir: created if missing; ``results.jsonl`` is written question by question.
        dataset, backend: named in the report.
        timeout: seconds one question may take before it counts as a failure.
        progress: show a progress bar on stderr.
        agreement: also measure the judge's agreement with the hand-labelled support pairs.

    Returns:
        The report (what ``report.json`` holds).
    """
    from tqdm import tqdm

    from evals.report import build_report, write_reports

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # Latencies mean little when other jobs share the cores: the report says how busy the machine was.
    load = round(os.getloadavg()[0], 2)
    collection = collection_ids(assistant)
    records = []
    bar = tqdm(questions, desc="eval", unit="q", file=sys.stderr, disable=not progress)
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as results:
        for question in bar:
            record = score_question(assistant, question, judge, collection, timeout)
            records.append(record)
            results.write(json.dumps(record, ensure_ascii=False) + "\n")
            results.flush()
            bar.set_postfix(failed=sum(bool(r["failures"]) for r in records), refresh=False)
    bar.close()
    run = {
        "dataset": dataset, "backend": backend, "judge": judge.name, "questions": len(records),
        "ids": [r["id"] for r in records], "date": time.strftime("%Y-%m-%d %H:%M"),
        "seconds": round(time.perf_counter() - started, 1), "timeout_s": timeout,
        "retrieval_ranking": RETRIEVAL_SOURCE,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load": load},
    }
    judge_report = judge_agreement(judge, load_support_pairs()) if agreement else None
    report = build_report(run, records, judge_report)
    write_reports(out_dir, report, records)
    return report


def read_results(run_dir: Path) -> tuple[dict, list[dict]]:
    """The report and per-question results of a finished run folder."""
    run_dir = Path(run_dir)
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    records = [json.loads(line) for line in (run_dir / "results.jsonl").read_text(encoding="utf-8").splitlines()
               if line.strip()]
    return report, records


def select(questions: Iterable[dict], ids: list[str] | None = None, limit: int | None = None) -> list[dict]:
    """The questions with the given ids (in the dataset's order), then the first ``limit`` of them."""
    questions = list(questions)
    if ids is not None:
        known = {q["id"] for q in questions}
        missing = [i for i in ids if i not in known]
        if missing:
            from index.errors import UserError

            raise UserError(f"question ids not in the dataset: {', '.join(missing)}")
        wanted = set(ids)
        questions = [q for q in questions if q["id"] in wanted]
    return questions[:limit] if limit else questions
