"""Eval questions: the JSONL format of evals/datasets/ (see the architecture notes)."""

from __future__ import annotations

import json
from pathlib import Path

DEV_SET = Path(__file__).resolve().parent / "datasets" / "dev.jsonl"


def load_questions(path: Path = DEV_SET) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def standalone_answerable(questions: list[dict]) -> list[dict]:
    """Questions with an answer in the collection that need no chat history (what a retriever alone can be scored on)."""
    return [q for q in questions if q["expected_ids"] and not q.get("history")]
