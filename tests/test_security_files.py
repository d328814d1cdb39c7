"""What one user can do through the files paperchat reads: size limits on rows, devices, pipes and
directories, unreadable files and failed rebuilds, malformed arXiv IDs, binary data, and the
permissions of the data directory.

One section per item of the hardening issue, numbered as there (the chat's items are in
test_security_chat.py); docs/security.md lists each input, what the user sees, and the test that
checks it. Everything is real: files on disk (pipes, devices, directories, binary data), embedded
Chroma, and the `paperchat` command, in a subprocess where only a process shows the behaviour.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import time

import pytest

from assistant.engine import Assistant
from conftest import BIN, data_env, invoke_cli, run_cli, write_jsonl
from index.chunking import SENTENCE_PIECE_CHARS, chunk_paper
from index.corpus import parse_arxiv_id, read_corpus
from index.ingest import ingest
from index.settings import BUNDLED_CORPUS, IndexSettings
from index.store import open_store
from ui.feedback import FeedbackLog
from ui.settings import Settings

BUNDLED = read_corpus([BUNDLED_CORPUS]).papers


def stored_ids(settings: IndexSettings) -> set[str]:
    return set(open_store(settings).collection.get(include=[])["ids"])


# --- 2. size limits on rows, titles, summaries and sentences ------------------------------

@pytest.mark.slow
def test_2_rows_over_the_size_limits_are_rejected_with_file_line_reasons(tmp_path):
    rows = [
        *BUNDLED[:1],
        {"arxiv_id": "2506.00001v1", "title": "Huge", "summary": "长" * 1_000_000},
        {"arxiv_id": "2506.00002v1", "title": "Long summary", "summary": "短句。" * 3_000},
        {"arxiv_id": "2506.00003v1", "title": "T" * 501, "summary": "Fine."},
        {"arxiv_id": "2506.00004v1", "title": "Long sentence", "summary": "word " * 300},
    ]
    corpus = write_jsonl(tmp_path / "rows.jsonl", rows)
    huge = len(json.dumps(rows[1], ensure_ascii=False).encode())
    started = time.monotonic()
    result = invoke_cli("ingest", str(corpus), env=data_env(tmp_path / "data"))
    assert result.returncode == 1
    assert [line for line in result.stderr.splitlines() if line.startswith("rejected:")] == [
        f"rejected: {corpus}:2: line is {huge:,} bytes, more than 65,536 (PAPERCHAT_MAX_ROW_BYTES); "
        "rejected without reading it whole",
        f"rejected: {corpus}:3: 2506.00002v1: summary is 9,000 characters, more than 8,000 "
        "(PAPERCHAT_MAX_SUMMARY_CHARS)",
        f"rejected: {corpus}:4: 2506.00003v1: title is 501 characters, more than 500 (PAPERCHAT_MAX_TITLE_CHARS)",
        f"rejected: {corpus}:5: 2506.00004v1: the summary has a sentence of 1,499 characters, more than 1,000 "
        "(PAPERCHAT_MAX_SENTENCE_CHARS); end its sentences with punctuation",
    ]
    assert "1 versions of 1 papers" in result.stdout
    assert time.monotonic() - started < 120  # 459 s of CPU for the 1 MB summary alone before
    # The limits are settings: raised, the long-summary row is accepted.
    raised = invoke_cli("ingest", str(corpus), env=data_env(tmp_path / "data", PAPERCHAT_MAX_SUMMARY_CHARS="10000"))
    assert f"{corpus}:3:" not in raised.stderr and "2 versions of 2 papers" in raised.stdout


@pytest.mark.slow
def test_2_the_evidence_shows_an_over_long_sentence_in_pieces(tmp_path, e5):
    # An index that holds a 4,500-character sentence (built with the limit raised, or before there was one).
    sentence = "Whalesong codec " + " ".join(f"humpback{i}" for i in range(400)) + "."
    settings = Settings(data_dir=tmp_path / "data", backend="extractive", max_sentence_chars=100_000,
                        max_summary_chars=100_000)
    corpus = write_jsonl(tmp_path / "long.jsonl", [
        *BUNDLED[:3], {"arxiv_id": "2507.00001v1", "title": "Whalesong: a codec for humpback whale song",
                       "summary": sentence}])
    assert not ingest([corpus], open_store(settings), lambda: e5, limits=settings.limits).rejected
    answer = Assistant(settings, embed_model=e5).ask("Which paper is a codec for humpback whale song?")
    whale = [s for s in answer.sources if s.arxiv_id == "2507.00001v1"]
    assert whale and all(len(s) <= SENTENCE_PIECE_CHARS for s in whale[0].sentences)
    assert len(answer.text) < 2_000  # the whole sentence (1,045,074 characters at 1 MB) before


# --- 5. ingest reads no unbounded line and no non-regular file -----------------------------

def test_5_devices_pipes_and_directories_are_refused_in_one_line_each(tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", BUNDLED[:1])
    (tmp_path / "zero.md").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "pipe.jsonl")
    (tmp_path / "adir.md").mkdir()
    paths = [str(tmp_path / name) for name in ("zero.md", "pipe.jsonl", "adir.md")] + [str(good)]
    result = run_cli("ingest", *paths, env=data_env(tmp_path / "data"), timeout=120)  # the pipe hung forever
    assert result.returncode == 1
    assert [line for line in result.stderr.splitlines() if line.startswith("rejected:")] == [
        f"rejected: {tmp_path / 'zero.md'}:1: a character device, not a corpus file: give a .md or .jsonl file",
        f"rejected: {tmp_path / 'pipe.jsonl'}:1: a named pipe, not a corpus file: give a .md or .jsonl file",
        f"rejected: {tmp_path / 'adir.md'}:1: a directory, not a corpus file: give a .md or .jsonl file",
    ]
    assert "1 versions of 1 papers" in result.stdout


def test_5_a_file_without_line_breaks_is_read_in_bounded_memory(tmp_path):
    flat = tmp_path / "flat.jsonl"
    with open(flat, "wb") as out:
        for _ in range(200):
            out.write(b"x" * 1_000_000)
    rss = {}
    for name, path in (("empty", tmp_path / "empty.jsonl"), ("flat", flat)):
        path.touch()
        proc = subprocess.Popen([str(BIN / "paperchat"), "ingest", str(path)], env=data_env(tmp_path / name),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        rss[name] = usage.ru_maxrss * 1024
        stderr = proc.stderr.read().decode()
        assert os.waitstatus_to_exitcode(status) == 1, stderr
    assert "line is 200,000,000 bytes, more than 65,536" in stderr
    assert rss["flat"] - rss["empty"] < 50_000_000, rss  # the whole line was held (and decoded) before: +600 MB


# --- 6. one unreadable file does not stop the run; a failed rebuild keeps the old index ---

def test_6_every_readable_file_is_processed_and_reported(tmp_path):
    bad = tmp_path / "bad.md"
    newcomer = BUNDLED[0]
    bad.write_text("|Source|Title|Summary|\n|---|---|---|\n"
                   f"|{newcomer.arxiv_id}|{newcomer.title}|{newcomer.summary.replace(chr(10), '<br/>')}|\n"
                   "|2506.11091v1|only two|\n", encoding="utf-8")
    (tmp_path / "adir.md").mkdir()
    result = invoke_cli("ingest", str(bad), str(tmp_path / "adir.md"), env=data_env(tmp_path / "data"))
    assert result.returncode == 1
    assert f"rejected: {bad}:4: too few columns: 2 of 3 (Source | Title | Summary)" in result.stderr
    assert f"rejected: {tmp_path / 'adir.md'}:1: a directory" in result.stderr
    assert "1 versions of 1 papers" in result.stdout
    assert stored_ids(IndexSettings(data_dir=tmp_path / "data")) == {c.id for c in chunk_paper(newcomer)}


@pytest.mark.slow
def test_6_a_rebuild_with_an_unreadable_file_leaves_the_old_index_intact(tmp_path, e5):
    settings = IndexSettings(data_dir=tmp_path / "data")
    ingest([write_jsonl(tmp_path / "old.jsonl", BUNDLED[:4])], open_store(settings), lambda: e5)
    before = stored_ids(settings)
    (tmp_path / "adir.md").mkdir()
    new = write_jsonl(tmp_path / "new.jsonl", BUNDLED[4:6])
    result = invoke_cli("ingest", "--rebuild", str(new), str(tmp_path / "adir.md"), env=data_env(settings.data_dir))
    assert result.returncode == 1
    assert (f"paperchat: the rebuild was not applied (1 file could not be read); the index is as it was "
            f"({len(before)} chunks)") in result.stderr
    assert stored_ids(settings) == before  # 444 -> 404 chunks before
    assert [c.name for c in open_store(settings).client.list_collections()] == ["papers"]

    result = invoke_cli("ingest", "--rebuild", str(new), env=data_env(settings.data_dir))
    assert result.returncode == 0, result.stderr
    assert stored_ids(settings) == {c.id for p in BUNDLED[4:6] for c in chunk_paper(p)}
    assert [c.name for c in open_store(settings).client.list_collections()] == ["papers"]


@pytest.mark.slow
def test_6_a_rebuild_killed_half_way_leaves_the_old_index_and_the_next_run_cleans_up(tmp_path, e5):
    settings = IndexSettings(data_dir=tmp_path / "data")
    small = write_jsonl(tmp_path / "small.jsonl", BUNDLED[:2])
    ingest([small], open_store(settings), lambda: e5)
    before = stored_ids(settings)
    proc = subprocess.Popen([str(BIN / "paperchat"), "ingest", "--rebuild"], env=data_env(settings.data_dir),
                            stderr=subprocess.PIPE, text=True)
    seen = ""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not re.search(r" [1-9]\d* chunks embedded", seen):
        seen += proc.stderr.read(1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    names = [c.name for c in open_store(settings).client.list_collections()]
    assert "papers" in names and any(n.startswith("papers-rebuild-") for n in names), names
    assert stored_ids(settings) == before

    result = invoke_cli("ingest", str(small), env=data_env(settings.data_dir))
    assert result.returncode == 0, result.stderr
    assert [c.name for c in open_store(settings).client.list_collections()] == ["papers"]
    assert stored_ids(settings) == before


# --- 9. arXiv identifiers are validated -------------------------------------------------

@pytest.mark.parametrize("raw", ["a-b-c-d-e-f/1234567", "2601.00018v99999999999999999999999", "2601.00018v100",
                                 "2513.00001", "2500.00001", "0703.0001", "hep-th/9913001", "foo/9901001",
                                 "hep-th/9001001", "math/0704001", "hep-th/9901001v0"])
def test_9_malformed_arxiv_ids_are_rejected(raw):
    assert parse_arxiv_id(raw) is None


@pytest.mark.parametrize("raw, expected", [
    ("2601.00018v99", ("2601.00018v99", "2601.00018", 99)),
    ("0704.0001", ("0704.0001v1", "0704.0001", 1)),
    ("9912.00001v1", ("9912.00001v1", "9912.00001", 1)),
    ("math.AG/0601001v2", ("math.ag/0601001v2", "math.ag/0601001", 2)),
    ("hep-th/9108001", ("hep-th/9108001v1", "hep-th/9108001", 1)),
    ("cond-mat/0703999v3", ("cond-mat/0703999v3", "cond-mat/0703999", 3)),
])
def test_9_well_formed_arxiv_ids_are_accepted(raw, expected):
    assert parse_arxiv_id(raw) == expected


def test_9_rows_with_malformed_ids_are_rejected_in_a_file(tmp_path):
    corpus = write_jsonl(tmp_path / "ids.jsonl", [{"arxiv_id": i, "title": "T", "summary": "S."}
                                            for i in ("a-b-c-d-e-f/1234567", "2601.00018v99999999999999999999999",
                                                      "2601.00018v2")])
    got = read_corpus([corpus])
    assert [p.arxiv_id for p in got.papers] == ["2601.00018v2"]
    assert [str(p) for p in got.problems] == [
        f"{corpus}:1: malformed arXiv ID 'a-b-c-d-e-f/1234567' (expected e.g. 2506.11091v1)",
        f"{corpus}:2: malformed arXiv ID '2601.00018v99999999999999999999999' (expected e.g. 2506.11091v1)"]


# --- 10. a binary file is reported once ------------------------------------------------

def test_10_a_binary_file_is_reported_once(tmp_path):
    binary = tmp_path / "data.md"
    binary.write_bytes(os.urandom(5_000_000))
    good = write_jsonl(tmp_path / "good.jsonl", BUNDLED[:1])
    result = invoke_cli("ingest", str(binary), str(good), env=data_env(tmp_path / "data"))
    assert result.returncode == 1
    rejected = [line for line in result.stderr.splitlines() if line.startswith("rejected:")]
    assert len(rejected) == 1, rejected[:5]  # one line per undecodable line, then "file is empty", before
    assert re.fullmatch(rf"rejected: {re.escape(str(binary))}:1: binary file \([\d,]+ of [\d,]+ lines are not UTF-8 "
                        r"text\); expected a markdown table \(\.md\) or JSONL \(\.jsonl\) in UTF-8", rejected[0])
    assert "1 versions of 1 papers" in result.stdout


# --- 13. the data directory and its logs are private ----------------------------------------

def test_13_the_data_directory_and_the_feedback_log_are_private(tmp_path, e5):
    fresh = tmp_path / "fresh"
    result = invoke_cli("ingest", str(write_jsonl(tmp_path / "one.jsonl", BUNDLED[:1])), env=data_env(fresh))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700

    old = tmp_path / "old"  # made by an earlier version: world-readable
    old.mkdir(mode=0o755)
    old.chmod(0o755)
    (old / "feedback.jsonl").write_text("")
    (old / "feedback.jsonl").chmod(0o644)
    settings = Settings(data_dir=old, backend="extractive")
    ingest([tmp_path / "one.jsonl"], open_store(settings), lambda: e5)
    assert stat.S_IMODE(old.stat().st_mode) == 0o700
    FeedbackLog(settings.feedback_path).append({"event": "rating", "verdict": "up"})
    assert stat.S_IMODE(settings.feedback_path.stat().st_mode) == 0o600
    new_log = tmp_path / "other" / "feedback.jsonl"
    FeedbackLog(new_log).append({"event": "rating", "verdict": "up"})
    assert stat.S_IMODE(new_log.stat().st_mode) == 0o600 and stat.S_IMODE(new_log.parent.stat().st_mode) == 0o700
