"""Property-based tests (hypothesis) of the two parsers that read text we don't control.

The corpus parser reads files people write by hand; the citation parser reads
what a small model writes. On arbitrary input neither may crash, and neither
may lose a well-formed row or citation because of the junk around it.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.citations import normalize_citations
from index.corpus import Problem, read_corpus

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
HEADER = "|Source|Title|Summary|\n|---|---|---|"
CHINESE = "语音识别大语言模型儿童朗读错误检测数据集方言口音说话人编解码器强化学习，。、：；（）《》"

# --- strategies ---------------------------------------------------------------

# New-style IDs as the collection holds them: YYMM.NNNNN (since 2015) with a version.
def _ids(years: st.SearchStrategy[int]) -> st.SearchStrategy[str]:
    return st.builds(lambda yy, mm, n, v: f"{yy:02}{mm:02}.{n:05}v{v}",
                     years, st.integers(1, 12), st.integers(0, 99999), st.integers(1, 9))


arxiv_ids = _ids(st.integers(15, 29))
# Valid IDs for junk, never those of the well-formed rows (a second row of an ID is rejected by design).
junk_ids = _ids(st.integers(30, 39))

# One word of a title or summary: any printable characters, Chinese often. Left out are what the
# formats give a meaning to (whitespace, '**' bold, '<br/>' breaks, the backslash of '\|');
# '|' is in, escaped in markdown as the format requires.
_word_chars = st.one_of(
    st.sampled_from(CHINESE),
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cf", "Zs", "Zl", "Zp", "Co", "Cn"),
                  exclude_characters="\\*<"),
)
words = st.text(_word_chars, min_size=1, max_size=12)
lines = st.lists(words, min_size=1, max_size=8).map(" ".join)
titles = lines
# A summary: lines, each break single or double (a paragraph).
summaries = st.lists(st.tuples(lines, st.sampled_from(["\n", "\n\n"])), min_size=1, max_size=5).map(
    lambda parts: "".join(line + sep for line, sep in parts).rstrip("\n"))


@st.composite
def papers(draw, min_size: int = 1) -> list[dict]:
    ids = draw(st.lists(arxiv_ids, min_size=min_size, max_size=6, unique_by=lambda i: i.split("v")[0]))
    return [{"arxiv_id": i, "title": draw(titles), "summary": draw(summaries)} for i in ids]


junk_lines = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="\n"), max_size=80),
    st.binary(max_size=40).filter(lambda b: b"\n" not in b),  # includes bytes that are not UTF-8
    st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\n|"), max_size=20), max_size=5)
    .map(lambda cells: "|" + "|".join(cells) + "|"),  # rows of a table, rarely a valid one
)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                           max_leaves=8)
jsonl_junk_lines = st.one_of(
    junk_lines,
    json_values.map(json.dumps),
    st.fixed_dictionaries({}, optional={"arxiv_id": st.one_of(junk_ids, st.text(), st.integers()),
                                        "title": json_values, "summary": json_values, "url": json_values})
    .map(json.dumps),
)


def md_row(paper: dict) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    url = f"http://arxiv.org/abs/{paper['arxiv_id']}"
    return f"|{paper['arxiv_id']}|[{cell(paper['title'])}]({url})|{cell(paper['summary']).replace(chr(10), '<br/>')}|"


def write_lines(path: Path, lines: list[str | bytes]) -> Path:
    path.write_bytes(b"\n".join(line if isinstance(line, bytes) else line.encode("utf-8") for line in lines))
    return path


def interleave(draw, rows: list, junk) -> list:
    """``rows`` in order with junk lines before, between and after them."""
    out = []
    for row in rows:
        out.extend(draw(st.lists(junk, max_size=3)))
        out.append(row)
    return out + draw(st.lists(junk, max_size=3))


def assert_kept(corpus, wanted: list[dict]) -> None:
    got = {p.arxiv_id: (p.title, p.summary) for p in corpus.papers}
    for paper in wanted:
        assert got.get(paper["arxiv_id"]) == (paper["title"], paper["summary"]), (paper, corpus.problems)


def assert_only_problems(corpus, path: Path) -> None:
    assert all(isinstance(p, Problem) and p.path == str(path) and p.line >= 1 for p in corpus.problems)


# --- the corpus parser ------------------------------------------------------------------

@SETTINGS
@given(content=st.binary(max_size=400), suffix=st.sampled_from([".md", ".jsonl"]), with_header=st.booleans())
def test_any_corpus_file_yields_problems_not_a_crash(tmp_path, content, suffix, with_header):
    path = tmp_path / f"any{suffix}"
    path.write_bytes((HEADER.encode() + b"\n" if with_header else b"") + content)
    assert_only_problems(read_corpus([path]), path)


@SETTINGS
@given(data=st.data(), wanted=papers())
def test_markdown_rows_among_junk_all_come_out_whole(tmp_path, data, wanted):
    path = write_lines(tmp_path / "mixed.md", [HEADER, *interleave(data.draw, [md_row(p) for p in wanted], junk_lines)])
    corpus = read_corpus([path])
    assert_only_problems(corpus, path)
    assert_kept(corpus, wanted)


@SETTINGS
@given(data=st.data(), wanted=papers())
def test_jsonl_rows_among_junk_all_come_out_whole(tmp_path, data, wanted):
    rows = [json.dumps(p, ensure_ascii=data.draw(st.booleans())) for p in wanted]
    path = write_lines(tmp_path / "mixed.jsonl", interleave(data.draw, rows, jsonl_junk_lines))
    corpus = read_corpus([path])
    assert_only_problems(corpus, path)
    assert_kept(corpus, wanted)


def test_a_jsonl_line_nested_too_deep_for_the_json_module_is_a_problem(tmp_path):
    # Found while writing the properties above: json.loads raised RecursionError, which stopped the whole file.
    good = {"arxiv_id": "2506.11091v1", "title": "T", "summary": "S"}
    path = write_lines(tmp_path / "deep.jsonl", ["[" * 60_000, json.dumps(good)])  # under max_row_bytes
    corpus = read_corpus([path])
    assert [str(p) for p in corpus.problems] == [f"{path}:1: invalid JSON: nested too deeply"]
    assert [p.arxiv_id for p in corpus.papers] == ["2506.11091v1"]


def test_a_jsonl_summary_keeps_a_backslash_before_a_pipe(tmp_path):
    # Found by the JSONL property above when '\' was among the characters drawn.
    row = {"arxiv_id": "2506.11091v1", "title": "T", "summary": "a \\| b"}
    path = write_lines(tmp_path / "escape.jsonl", [json.dumps(row)])
    assert [p.summary for p in read_corpus([path]).papers] == ["a \\| b"]


# --- the citation parser ----------------------------------------------------------------

# The shapes a model cites a shown source in; {id} is versioned, {base} is not, {n} is its number.
CITATION_FORMS = ["[arXiv:{id}]", "[arXiv: {id}]", "[arxiv:{base}]", "({id})", "(arXiv:{id})", "【{id}】",
                  "[{id}]", "[{n}]", "[Source {n}]", "【来源{n}】", "[{n}, {n}]"]


@st.composite
def sources_and_citation(draw):
    bases = draw(st.lists(arxiv_ids, min_size=1, max_size=5, unique_by=lambda i: i.split("v")[0]))
    sources = bases + draw(st.lists(st.sampled_from(bases).map(lambda i: f"{i[:-1]}{int(i[-1]) % 9 + 1}"),
                                    max_size=2, unique=True).filter(lambda extra: not set(extra) & set(bases)))
    n = draw(st.integers(1, len(sources)))
    cited = sources[n - 1]
    base = cited.split("v")[0]
    form = draw(st.sampled_from(CITATION_FORMS))
    # Without a version, the newest version of that paper among the sources is meant.
    expected = max((s for s in sources if s.split("v")[0] == base), key=lambda s: int(s.split("v")[1])) \
        if "{base}" in form else cited
    return sources, form.format(id=cited, base=base, n=n), expected


@SETTINGS
@given(text=st.text(), sources=st.lists(arxiv_ids, max_size=5))
def test_any_answer_text_normalises_without_a_crash(text, sources):
    normalized, cited, rejected = normalize_citations(text, sources)
    assert "\x00" not in normalized
    assert set(cited) <= set(sources)


# Text a citation sits in: anything, often Chinese or prose punctuation next to it.
_around = st.text(st.one_of(st.characters(), st.sampled_from(CHINESE + " .,;:()[]")), max_size=40)


@SETTINGS
@given(case=sources_and_citation(), before=_around, after=_around)
def test_a_citation_of_a_shown_source_survives_any_surrounding_text(case, before, after):
    sources, citation, expected = case
    normalized = normalize_citations(f"{before} {citation} {after}", sources)
    assert f"[arXiv:{expected}]" in normalized.text, normalized
    assert expected in normalized.cited
