"""Tests of index.corpus: parsing, validation and error reporting."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from bench import synth
from index.chunking import chunk_paper
from index.corpus import CorpusStream, clean_summary, detect_language, read_corpus
from index.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
PAPERS_MD = ROOT / "data" / "papers.md"

HEADER = "|Source|Title|Summary|\n|---|---|---|\n"


def md_row(arxiv_id: str, title: str = "A Title", summary: str = "Some summary text.", url: str | None = None) -> str:
    url = url or f"http://arxiv.org/abs/{arxiv_id}"
    return f"|{arxiv_id}|[{title}]({url})|{summary}|\n"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def ids(corpus) -> list[str]:
    return [p.arxiv_id for p in corpus.papers]


# --- the bundled collection ---------------------------------------------------


@pytest.fixture(scope="module")
def bundled():
    return read_corpus([PAPERS_MD])


def test_bundled_collection_counts(bundled):
    assert bundled.problems == []
    assert bundled.duplicates == 0
    assert len(bundled.papers) == 70
    assert len({p.base_id for p in bundled.papers}) == 56
    assert len({p.arxiv_id for p in bundled.papers}) == 70


def test_bundled_collection_versions(bundled):
    versions = sorted(p.version for p in bundled.papers if p.base_id == "2506.00267")
    assert versions == [1, 2, 3]
    for p in bundled.papers:
        assert p.arxiv_id == f"{p.base_id}v{p.version}"
        assert p.url == f"https://arxiv.org/abs/{p.arxiv_id}"
        assert p.language in {"zh", "en"}
        assert "<br" not in p.summary and "**" not in p.summary
        assert p.title == " ".join(p.title.split()) and p.title


def test_bundled_known_paper(bundled):
    paper = next(p for p in bundled.papers if p.arxiv_id == "2506.23325v1")
    assert paper.base_id == "2506.23325"
    assert paper.version == 1
    assert paper.title == (
        "XY-Tokenizer: Mitigating the Semantic-Acoustic Conflict in Low-Bitrate Speech Codecs"
    )
    assert paper.url == "https://arxiv.org/abs/2506.23325v1"
    assert paper.language == "zh"
    assert paper.source == f"{PAPERS_MD}:3"
    lines = paper.summary.splitlines()
    for n in range(1, 6):
        starting = [line for line in lines if line.startswith(f"{n}. ")]
        assert len(starting) == 1, (n, lines)
    assert lines[lines.index("贡献点：") + 1].startswith("1. 提出XY-Tokenizer新编解码器：")
    assert lines[0] == "总结："
    # <br/><br/> becomes one blank line between paragraphs.
    assert "" in lines and "\n\n\n" not in paper.summary


# --- markdown: bad rows ---------------------------------------------------------


def test_good_markdown_rows(tmp_path):
    path = write(tmp_path, "p.md", HEADER
                 + md_row("2506.11091v2", title="Some   **Bold**  Title", summary="Line one.<br/>1. Point  one.<BR>2. Point two.")
                 + md_row("2506.11092", url="https://example.org/paper"))
    corpus = read_corpus([path])
    assert corpus.problems == []
    first, second = corpus.papers
    assert (first.arxiv_id, first.base_id, first.version) == ("2506.11091v2", "2506.11091", 2)
    assert first.title == "Some Bold Title"
    assert first.summary == "Line one.\n1. Point one.\n2. Point two."
    assert first.url == "https://arxiv.org/abs/2506.11091v2"
    assert first.language == "en"
    assert first.source == f"{path}:3"
    assert second.arxiv_id == "2506.11092v1"
    assert second.url == "https://example.org/paper"  # non-arXiv links are kept


@pytest.mark.parametrize(
    "bad_row, reason_part",
    [
        ("|2506.1x091v1|[T](http://arxiv.org/abs/x)|Summary.|\n", "malformed arXiv ID '2506.1x091v1'"),
        ("|2506.11093v1|[](http://arxiv.org/abs/2506.11093v1)|Summary.|\n", "2506.11093v1: missing title"),
        ("|2506.11093v1|Plain title|   |\n", "2506.11093v1: missing summary"),
        ("|2506.11093v1|[T](http://arxiv.org/abs/2506.11093v1)|\n", "too few columns: 2 of 3"),
        ("||[T](http://arxiv.org/abs/2506.11093v1)|Summary.|\n", "missing arxiv_id"),
    ],
)
def test_bad_markdown_row_reported_good_rows_kept(tmp_path, bad_row, reason_part):
    path = write(tmp_path, "p.md", HEADER + md_row("2506.11091v1") + bad_row + md_row("2506.11092v1"))
    corpus = read_corpus([path])
    assert ids(corpus) == ["2506.11091v1", "2506.11092v1"]
    assert len(corpus.problems) == 1
    problem = corpus.problems[0]
    assert problem.line == 4
    assert str(problem).startswith(f"{path}:4: ")
    assert reason_part in str(problem)
    assert str(problem) == f"{problem.path}:{problem.line}: {problem.reason}"


def test_text_after_table_reported(tmp_path):
    path = write(tmp_path, "p.md", "# Papers\n\n" + HEADER + md_row("2506.11091v1") + "stray text\n")
    corpus = read_corpus([path])
    assert ids(corpus) == ["2506.11091v1"]
    assert [(p.line, "not a table row" in p.reason) for p in corpus.problems] == [(6, True)]


def test_unknown_file_type(tmp_path):
    path = write(tmp_path, "papers.csv", "arxiv_id,title,summary\n2506.11091v1,T,S\n")
    corpus = read_corpus([path])
    assert corpus.papers == []
    assert len(corpus.problems) == 1
    assert str(corpus.problems[0]).startswith(f"{path}:1: unsupported file type '.csv'")


def test_non_utf8_line(tmp_path):
    data = (HEADER + md_row("2506.11091v1")).encode() + md_row("2506.11092v1", title="caf\xe9").encode("latin-1") \
        + md_row("2506.11093v1").encode()
    path = write(tmp_path, "p.md", data)
    corpus = read_corpus([path])
    assert ids(corpus) == ["2506.11091v1", "2506.11093v1"]
    assert len(corpus.problems) == 1
    assert str(corpus.problems[0]).startswith(f"{path}:4: not valid UTF-8 (byte 0xe9")


def test_utf8_bom_ignored(tmp_path):
    path = write(tmp_path, "p.md", b"\xef\xbb\xbf" + (HEADER + md_row("2506.11091v1")).encode())
    corpus = read_corpus([path])
    assert corpus.problems == [] and ids(corpus) == ["2506.11091v1"]


def test_same_id_different_text_later_rejected(tmp_path):
    path = write(tmp_path, "p.md", HEADER + md_row("2506.11091v1", summary="First text.")
                 + md_row("2506.11092v1") + md_row("2506.11091v1", summary="Second text."))
    corpus = read_corpus([path])
    assert ids(corpus) == ["2506.11091v1", "2506.11092v1"]
    assert corpus.papers[0].summary == "First text."
    assert corpus.duplicates == 0
    assert len(corpus.problems) == 1
    message = str(corpus.problems[0])
    assert message.startswith(f"{path}:5: 2506.11091v1 appears twice with different text")
    assert f"(first at {path}:3)" in message


def test_same_id_across_files(tmp_path):
    a = write(tmp_path, "a.md", HEADER + md_row("2506.11091v1", summary="First text."))
    b = write(tmp_path, "b.jsonl", json.dumps({"arxiv_id": "2506.11091v1", "title": "A Title",
                                                "summary": "Other text."}) + "\n")
    corpus = read_corpus([a, b])
    assert ids(corpus) == ["2506.11091v1"]
    assert [str(p) for p in corpus.problems][0].startswith(f"{b}:1: ")
    assert f"first at {a}:3" in corpus.problems[0].reason


def test_same_id_identical_text_counted_as_duplicate(tmp_path):
    row = md_row("2506.11091v1", summary="Same text.")
    path = write(tmp_path, "p.md", HEADER + row + md_row("2506.11092v1") + row)
    corpus = read_corpus([path])
    assert corpus.problems == []
    assert ids(corpus) == ["2506.11091v1", "2506.11092v1"]
    assert corpus.duplicates == 1


def test_versions_are_separate_papers(tmp_path):
    path = write(tmp_path, "p.md", HEADER + md_row("2506.11091v1", summary="Old.") + md_row("2506.11091v2", summary="New."))
    corpus = read_corpus([path])
    assert corpus.problems == [] and corpus.duplicates == 0
    assert [(p.base_id, p.version) for p in corpus.papers] == [("2506.11091", 1), ("2506.11091", 2)]


@pytest.mark.parametrize("content", ["", "\n  \n\n"])
def test_empty_file(tmp_path, content):
    path = write(tmp_path, "p.md", content)
    corpus = read_corpus([path])
    assert corpus.papers == []
    assert [str(p) for p in corpus.problems] == [f"{path}:1: file is empty"]


def test_header_only_file(tmp_path):
    path = write(tmp_path, "p.md", HEADER)
    corpus = read_corpus([path])
    assert corpus.papers == []
    assert [str(p) for p in corpus.problems] == [f"{path}:1: no paper rows found"]


def test_missing_file_raises_user_error(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        read_corpus([tmp_path / "nope.md"])


# --- JSONL ------------------------------------------------------------------------


def test_jsonl_good_rows(tmp_path):
    rows = [
        {"arxiv_id": "2506.11091v2", "title": "With URL", "summary": "First.",
         "url": "http://arxiv.org/abs/2506.11091v2"},
        {"arxiv_id": "2506.11092", "title": "No URL", "summary": "本文提出一种新的语音模型。"},
        {"arxiv_id": "arXiv:2506.11093v3", "title": "Other URL", "summary": "S.", "url": "https://example.org/x"},
    ]
    path = write(tmp_path, "p.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n")
    corpus = read_corpus([path])
    assert corpus.problems == []
    a, b, c = corpus.papers
    assert (a.arxiv_id, a.version, a.url) == ("2506.11091v2", 2, "https://arxiv.org/abs/2506.11091v2")
    assert (b.arxiv_id, b.base_id, b.version) == ("2506.11092v1", "2506.11092", 1)
    assert b.url == "https://arxiv.org/abs/2506.11092v1"
    assert (a.language, b.language) == ("en", "zh")
    assert (c.arxiv_id, c.url) == ("2506.11093v3", "https://example.org/x")
    assert [p.source for p in corpus.papers] == [f"{path}:1", f"{path}:2", f"{path}:3"]


@pytest.mark.parametrize(
    "bad_line, reason_part",
    [
        ('{"arxiv_id": "2506.11093", "title": ', "invalid JSON"),
        ('["2506.11093", "T", "S"]', "expected a JSON object"),
        ('"just a string"', "expected a JSON object"),
        ('{"arxiv_id": "2506.11093", "title": "T"}', "2506.11093v1: missing summary"),
        ('{"arxiv_id": "2506.11093", "summary": "S"}', "2506.11093v1: missing title"),
        ('{"title": "T", "summary": "S"}', "missing arxiv_id"),
        ('{"arxiv_id": "2506.11093", "title": 5, "summary": "S"}', "field 'title' must be a string"),
        ('{"arxiv_id": 2506.11093, "title": "T", "summary": "S"}', "field 'arxiv_id' must be a string"),
        ('{"arxiv_id": "2506.11093", "title": "T", "summary": ["S"]}', "field 'summary' must be a string"),
        ('{"arxiv_id": "x-2506", "title": "T", "summary": "S"}', "malformed arXiv ID 'x-2506'"),
    ],
)
def test_jsonl_bad_line_reported_good_rows_kept(tmp_path, bad_line, reason_part):
    good1 = json.dumps({"arxiv_id": "2506.11091", "title": "T1", "summary": "S1"})
    good2 = json.dumps({"arxiv_id": "2506.11092", "title": "T2", "summary": "S2"})
    path = write(tmp_path, "p.jsonl", "\n".join([good1, "", bad_line, good2]) + "\n")
    corpus = read_corpus([path])
    assert ids(corpus) == ["2506.11091v1", "2506.11092v1"]
    assert len(corpus.problems) == 1
    assert str(corpus.problems[0]).startswith(f"{path}:3: ")
    assert reason_part in corpus.problems[0].reason


# --- helpers ------------------------------------------------------------------------


def test_clean_summary():
    raw = "**总结**：  <br/>本文提出  X。<br/><br/><br/>贡献点：<br/>1. **甲**：A | B<br/>2. 乙<br/>"
    assert clean_summary(raw) == "总结：\n本文提出 X。\n\n贡献点：\n1. 甲：A | B\n2. 乙"


def test_detect_language():
    assert detect_language("本文提出一种新的语音编解码器，在低码率下表现优异。") == "zh"
    assert detect_language("We propose a new speech codec for low bitrates.") == "en"
    assert detect_language("提出XY-Tokenizer新编解码器") == "zh"
    assert detect_language("A long English sentence about speech models with 中文") == "en"
    assert detect_language("") == "en"


# --- streaming and the synthetic collection --------------------------------------


def test_stream_yields_the_first_paper_before_reading_the_rest(tmp_path):
    rows = "".join(json.dumps({"arxiv_id": f"2506.{11000 + i}v1", "title": "T", "summary": "S."}) + "\n"
                   for i in range(50))
    path = write(tmp_path, "p.jsonl", rows)
    stream = CorpusStream([path])
    first = next(iter(stream))
    assert first.arxiv_id == "2506.11000v1"
    assert stream.bytes_read == len(rows.splitlines(keepends=True)[0].encode())
    assert stream.bytes_total == path.stat().st_size


def test_stream_reports_a_missing_file_before_reading_anything(tmp_path):
    good = write(tmp_path, "a.md", HEADER + md_row("2506.11091v1"))
    with pytest.raises(UserError, match="no such file"):
        CorpusStream([good, tmp_path / "nope.jsonl"])


def test_synthetic_collection_is_seeded_well_formed_and_shaped_like_the_bundled_one(tmp_path, bundled):
    a, b, c = (tmp_path / f"{n}.jsonl" for n in "abc")
    synth.write(a, papers=300, seed=1)
    synth.write(b, papers=300, seed=1)
    synth.write(c, papers=300, seed=2)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()

    corpus = read_corpus([a])
    assert corpus.problems == [] and corpus.duplicates == 0
    assert len({p.base_id for p in corpus.papers}) == 300
    assert not {p.base_id for p in corpus.papers} & {p.base_id for p in bundled.papers}
    assert all(p.base_id.startswith("29") for p in corpus.papers)
    names = synth.Vocabulary(bundled.papers).names
    assert "XY-Tokenizer" in names and "CMI-Bench" in names
    text = a.read_text(encoding="utf-8")
    assert not [n for n in names if n in text], "a synthetic paper must not carry a real paper's name"

    def shape(papers):
        chunks = sum(len(chunk_paper(p)) for p in papers) / len(papers)
        chinese = sum(p.language == "zh" for p in papers) / len(papers)
        length = statistics.median(len(p.summary) for p in papers)
        return chunks, chinese, length

    (chunks, chinese, length), (real_chunks, real_chinese, real_length) = shape(corpus.papers), shape(bundled.papers)
    assert abs(chunks - real_chunks) < 0.5
    assert abs(chinese - real_chinese) < 0.05
    assert 0.8 < length / real_length < 1.2
    assert len(corpus.papers) > 300  # some papers come in several versions
