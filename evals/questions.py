"""Eval questions: the JSONL format of ``evals/datasets/dev.jsonl`` and ``blind.jsonl``, and what is asked of them.

One question a line: ``{"id", "question", "history", "expected_ids", "facts",
"kind", "lang"}``; only ``question`` and ``expected_ids`` are required, so any
file in that format can be evaluated, not only ours. ``expected_ids`` holds
base or versioned arXiv IDs; an empty list means the right answer is to abstain. Missing fields get
defaults: the id is ``line<N>``, history and facts are empty, the kind is
inferred (``unanswerable`` without expected IDs, ``followup`` with history,
``multi`` with several papers, else ``single``) and the language detected.
"""

from __future__ import annotations

import json
from pathlib import Path

from index.corpus import detect_language
from index.errors import UserError
from index.ids import find_arxiv_ids

DEV_SET = Path(__file__).resolve().parent / "datasets" / "dev.jsonl"


def load_questions(path: Path = DEV_SET) -> list[dict]:
    """The questions of a JSONL file, with defaults filled in.

    Raises:
        UserError: with ``file:line: reason`` for a line that is not a question object,
            or when the file is missing or holds no question.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the dataset ({exc})") from None
    questions, seen = [], set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
        problem = _problem(row)
        if problem:
            raise UserError(f"{path}:{number}: {problem}")
        question = _with_defaults(row, number)
        if question["id"] in seen:
            raise UserError(f"{path}:{number}: id {question['id']!r} is used twice")
        seen.add(question["id"])
        questions.append(question)
    if not questions:
        raise UserError(f"{path}: no questions in the file")
    return questions


def _problem(row) -> str | None:
    if not isinstance(row, dict):
        return "not a JSON object"
    if not isinstance(row.get("question"), str) or not row["question"].strip():
        return 'missing "question" (a non-empty string)'
    if not isinstance(row.get("expected_ids"), list) or not all(isinstance(i, str) for i in row["expected_ids"]):
        return 'missing "expected_ids" (a list of arXiv IDs; empty when the right answer is to abstain)'
    if not isinstance(row.get("history", []), list):
        return '"history" must be a list of {"role", "content"} messages'
    if not isinstance(row.get("facts", []), list):
        return '"facts" must be a list of strings'
    return None


def _with_defaults(row: dict, number: int) -> dict:
    question = dict(row)
    question["id"] = str(row.get("id") or f"line{number}")
    question.setdefault("history", [])
    question.setdefault("facts", [])
    if not question.get("kind"):
        expected, history = question["expected_ids"], question["history"]
        question["kind"] = ("unanswerable" if not expected else "followup" if history
                            else "multi" if len(expected) > 1 else "single")
    if not question.get("lang"):
        question["lang"] = detect_language(question["question"])
    return question


def names_id(question: dict) -> bool:
    """True for an exact-ID question: it names an arXiv ID."""
    return bool(find_arxiv_ids(question["question"]))


def standalone_answerable(questions: list[dict]) -> list[dict]:
    """Questions with an answer in the collection that need no chat history (what a retriever alone can be scored on)."""
    return [q for q in questions if q["expected_ids"] and not q.get("history")]
