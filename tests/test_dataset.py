"""Checks of the development set evals/datasets/dev.jsonl against the bundled collection."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from index.corpus import detect_language, parse_arxiv_id, read_corpus

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT / "evals" / "datasets" / "dev.jsonl"
PAPERS_MD = ROOT / "data" / "papers.md"

REQUIRED_KEYS = {"id", "question", "history", "expected_ids", "facts", "kind", "lang"}
KINDS = {"single", "multi", "followup", "version", "unanswerable"}
LANGS = {"en", "zh"}


def normalise(text: str) -> str:
    """Lower case, no markdown bold or <br/>, no thousands separators, single spaces."""
    text = re.sub(r"<br\s*/?>", " ", text, flags=re.IGNORECASE).replace("**", "")
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)
    return " ".join(text.lower().split())


def test_normalise():
    assert normalise("A  **Big**<br/>Model\nwith 1,000,000 hours, 2, 3") == "a big model with 1000000 hours, 2, 3"
    assert normalise("12,34") == "12,34"


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    out = []
    for number, line in enumerate(DATASET.read_text(encoding="utf-8").splitlines(), start=1):
        assert line.strip(), f"dev.jsonl:{number}: blank line"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            pytest.fail(f"dev.jsonl:{number}: invalid JSON: {exc}")
        assert isinstance(row, dict), f"dev.jsonl:{number}: not an object"
        row["_line"] = number
        out.append(row)
    return out


@pytest.fixture(scope="module")
def papers():
    corpus = read_corpus([PAPERS_MD])
    assert corpus.problems == []
    return corpus.papers


@pytest.fixture(scope="module")
def by_versioned(papers):
    return {p.arxiv_id: p for p in papers}


@pytest.fixture(scope="module")
def by_base(papers):
    out: dict[str, list] = {}
    for p in papers:
        out.setdefault(p.base_id, []).append(p)
    return out


def expected_papers(expected_id: str, by_versioned, by_base) -> list:
    """The papers an expected ID stands for: that version, or every version of a base ID."""
    if expected_id in by_versioned:
        return [by_versioned[expected_id]]
    return by_base.get(expected_id, [])


def test_every_line_is_valid(rows):
    for row in rows:
        where = f"dev.jsonl:{row['_line']}"
        assert set(row) - {"_line"} == REQUIRED_KEYS, where
        assert isinstance(row["id"], str) and row["id"], where
        assert isinstance(row["question"], str) and row["question"].strip(), where
        assert row["kind"] in KINDS, where
        assert row["lang"] in LANGS, where
        assert isinstance(row["expected_ids"], list), where
        assert all(isinstance(x, str) for x in row["expected_ids"]), where
        assert len(set(row["expected_ids"])) == len(row["expected_ids"]), where
        assert isinstance(row["facts"], list) and all(isinstance(f, str) and f.strip() for f in row["facts"]), where
        assert isinstance(row["history"], list), where
        for turn in row["history"]:
            assert isinstance(turn, dict) and set(turn) == {"role", "content"}, where
            assert turn["role"] in {"user", "assistant"}, where
            assert isinstance(turn["content"], str) and turn["content"].strip(), where


def test_ids_unique(rows):
    counts = Counter(row["id"] for row in rows)
    assert [i for i, n in counts.items() if n > 1] == []


def test_kind_consistency(rows):
    for row in rows:
        where = f"{row['id']} ({row['kind']})"
        assert (row["kind"] == "unanswerable") == (not row["expected_ids"]), where
        if row["kind"] == "unanswerable":
            assert row["facts"] == [], where
        assert (row["kind"] == "followup") == bool(row["history"]), where
        if row["history"]:
            assert row["history"][0]["role"] == "user", where
            assert row["history"][-1]["role"] == "assistant", where
        if row["kind"] == "multi":
            assert len({parse_arxiv_id(x)[1] for x in row["expected_ids"]}) >= 2, where
        if row["kind"] == "version":
            assert all(re.search(r"v\d+$", x) for x in row["expected_ids"]), where


def test_lang_matches_question(rows):
    wrong = [row["id"] for row in rows if detect_language(row["question"]) != row["lang"]]
    assert wrong == []


def test_expected_ids_exist(rows, by_versioned, by_base):
    missing = []
    for row in rows:
        for expected_id in row["expected_ids"]:
            parsed = parse_arxiv_id(expected_id)
            # Written as given: a base ID stays a base ID, a versioned one must exist as that version.
            if parsed is None or not expected_papers(expected_id, by_versioned, by_base):
                missing.append((row["id"], expected_id))
    assert missing == []


def test_every_paper_is_asked_about(rows, by_base):
    asked = set()
    for row in rows:
        for expected_id in row["expected_ids"]:
            parsed = parse_arxiv_id(expected_id)
            if parsed:
                asked.add(parsed[1])
    assert len(by_base) == 56
    assert sorted(set(by_base) - asked) == []


def test_dataset_size_and_balance(rows):
    assert len(rows) >= 100
    unanswerable = [row for row in rows if not row["expected_ids"]]
    assert len(unanswerable) >= 15
    answerable = Counter(row["lang"] for row in rows if row["expected_ids"])
    assert answerable["en"] >= 40, answerable
    assert answerable["zh"] >= 40, answerable


def test_facts_appear_in_expected_summaries(rows, by_versioned, by_base):
    missing = []
    checked = 0
    for row in rows:
        summaries = [normalise(p.summary)
                     for expected_id in row["expected_ids"]
                     for p in expected_papers(expected_id, by_versioned, by_base)]
        for fact in row["facts"]:
            checked += 1
            if not any(normalise(fact) in s for s in summaries):
                missing.append((row["id"], fact))
    assert checked > 50
    assert missing == []
