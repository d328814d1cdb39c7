"""Tests of index.chunking.chunk_paper on the bundled collection and on hand-made papers."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from index.chunking import MAX_CHUNK_CHARS, SENTENCE_PIECE_CHARS, chunk_paper, is_heading, is_noise, split_sentences
from index.corpus import Paper, read_corpus

ROOT = Path(__file__).resolve().parents[1]
PAPERS_MD = ROOT / "data" / "papers.md"

METADATA_KEYS = {"arxiv_id", "base_id", "version", "title", "url", "section", "chunk_index",
                 "content_hash", "language"}


def make_paper(summary: str, arxiv_id: str = "2506.99999v1", title: str = "A Hand-Made Paper") -> Paper:
    base, _, version = arxiv_id.rpartition("v")
    return Paper(arxiv_id=arxiv_id, base_id=base, version=int(version), title=title, summary=summary,
                 url=f"https://arxiv.org/abs/{arxiv_id}", language="zh")


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def papers():
    corpus = read_corpus([PAPERS_MD])
    assert corpus.problems == [] and len(corpus.papers) == 70
    return corpus.papers


@pytest.fixture(scope="module")
def chunked(papers):
    return {p.arxiv_id: chunk_paper(p) for p in papers}


def test_chunks_belong_to_their_paper(papers, chunked):
    for paper in papers:
        chunks = chunked[paper.arxiv_id]
        assert len(chunks) >= 2, paper.arxiv_id
        for i, chunk in enumerate(chunks):
            assert chunk.paper is paper
            assert chunk.index == i
            assert chunk.id == f"{paper.arxiv_id}#{i}"
            assert chunk.text.strip()
            meta = chunk.metadata
            assert set(meta) == METADATA_KEYS
            assert meta["arxiv_id"] == paper.arxiv_id
            assert meta["base_id"] == paper.base_id
            assert meta["version"] == paper.version
            assert meta["arxiv_id"] == f"{meta['base_id']}v{meta['version']}"
            assert meta["title"] == paper.title
            assert meta["url"] == paper.url
            assert meta["section"] == chunk.section
            assert meta["chunk_index"] == i
            assert re.fullmatch(r"[0-9a-f]{16}", meta["content_hash"])
            assert meta["language"] in {"zh", "en"}
            assert re.fullmatch(r"summary|paper|contribution \d{1,2}", chunk.section)
            assert chunk.embed_text.startswith(paper.title + "\n")


def test_chunk_ids_unique_across_collection(chunked):
    all_ids = [c.id for chunks in chunked.values() for c in chunks]
    assert len(all_ids) == len(set(all_ids))
    # Different versions of one paper never share a chunk.
    v1 = {c.id for c in chunked["2506.00267v1"]}
    v2 = {c.id for c in chunked["2506.00267v2"]}
    assert v1 and v2 and not v1 & v2


def test_chunk_language_follows_chunk_text(chunked):
    # Chinese summary with English contribution points.
    chunks = chunked["2506.22846v1"]
    langs = {c.section: c.metadata["language"] for c in chunks}
    assert langs["summary"] == "zh"
    assert langs["contribution 1"] == "en"


def test_exactly_one_paper_chunk_holding_whole_text(papers, chunked):
    for paper in papers:
        chunks = chunked[paper.arxiv_id]
        whole = [c for c in chunks if c.section == "paper"]
        assert len(whole) == 1
        assert chunks[-1] is whole[0]
        assert whole[0].context == ""
        others = [c for c in chunks if c.section != "paper"]
        assert whole[0].text == " ".join(c.text for c in others)
        # Every content line of the summary is in the whole-paper chunk.
        for line in paper.summary.splitlines():
            line = line.strip()
            if line and not is_heading(line) and not is_noise(line):
                body = re.sub(r"^\d{1,2}\s*[.、)）]\s*|^[-*•]\s+", "", line)
                assert squash(body) in squash(whole[0].text), (paper.arxiv_id, line)


def test_numbered_points_become_own_chunks(papers, chunked):
    total = 0
    for paper in papers:
        chunks = chunked[paper.arxiv_id]
        for line in paper.summary.splitlines():
            m = re.match(r"^(\d{1,2})\.\s*(.*)$", line.strip())
            if not m:
                continue
            total += 1
            owners = [c for c in chunks if c.section != "paper" and squash(m[2]) in squash(c.text)]
            assert len(owners) == 1, (paper.arxiv_id, line)
            assert owners[0].section == f"contribution {m[1]}"
            assert owners[0].text.startswith(m[2][:10])
    assert total > 200


def test_known_paper_chunks(chunked):
    chunks = chunked["2506.23325v1"]
    assert [c.section for c in chunks] == ["summary"] + [f"contribution {n}" for n in range(1, 6)] + ["paper"]
    assert chunks[0].text.startswith("本研究提出XY-Tokenizer")
    assert chunks[0].context == ""
    assert chunks[1].text.startswith("提出XY-Tokenizer新编解码器：")
    # A point is embedded with the start of the summary paragraph as context.
    assert chunks[1].context and chunks[0].text.startswith(chunks[1].context)
    assert chunks[1].embed_text.split("\n") == [chunks[1].paper.title, chunks[1].context, chunks[1].text]


def test_headings_do_not_become_chunks(papers, chunked):
    headings = ["贡献点：", "总结：", "Contribution Points (in English):", "Summary (in Chinese):",
                "贡献点总结（100字以内）:", "分点贡献:", "摘要总结（100字内）", "贡献点总结"]
    for chunks in chunked.values():
        for c in chunks:
            assert c.text not in headings
            for h in headings:
                # A dropped heading line is neither a chunk nor glued to the line after it.
                assert f"{h} " not in c.text, (c.id, h)
    summary = "**贡献点总结**<br/>1. 甲方法。<br/>Contribution Points (in English):<br/>2. Beta method."
    from index.corpus import clean_summary
    chunks = chunk_paper(make_paper(clean_summary(summary)))
    assert [(c.section, c.text) for c in chunks] == [
        ("contribution 1", "甲方法。"),
        ("contribution 2", "Beta method."),
        ("paper", "甲方法。 Beta method."),
    ]


def test_heading_detection():
    for line in ["贡献点：", "总结：", "Contribution Points (in English):", "贡献点总结", "摘要总结（100字内）"]:
        assert is_heading(line), line
    for line in ["1. 提出新方法：", "本文提出一种新的语音编解码器，兼顾语义与声学。", "2. 三阶段方法设计："]:
        assert not is_heading(line), line
    assert is_noise("---") and is_noise("（99字）") and not is_noise("本文提出X。")


def test_sub_bullets_stay_with_their_point(chunked):
    chunks = chunked["2506.21448v2"]
    point = [c for c in chunks if c.section == "contribution 2"]
    assert len(point) == 1
    text = point[0].text
    assert text.startswith("三阶段方法设计：")
    for sub in ["基础音效生成", "交互式物体中心优化", "自然语言引导编辑"]:
        assert sub in text
        assert [c.section for c in chunks if sub in c.text] == ["contribution 2", "paper"]
    assert "- " not in text
    # The point ends at the next point.
    assert "AudioCoT" not in text


def test_point_ends_at_blank_line_and_wrapped_lines_join():
    paper = make_paper("1. First point\ncontinues here.\n\nA closing remark.\n2) Second point.\n3、第三点。")
    chunks = chunk_paper(paper)
    assert [(c.section, c.text) for c in chunks[:-1]] == [
        ("contribution 1", "First point continues here."),
        ("summary", "A closing remark."),
        ("contribution 2", "Second point."),
        ("contribution 3", "第三点。"),
    ]


def test_content_hash_changes_with_text_only():
    summary = "总结：\n本文提出X方法。\n\n贡献点：\n1. 甲。\n2. 乙。"
    a = chunk_paper(make_paper(summary))
    again = chunk_paper(make_paper(summary))
    assert [c.content_hash for c in a] == [c.content_hash for c in again]
    assert len({c.content_hash for c in a}) == len(a)

    changed = chunk_paper(make_paper(summary.replace("乙。", "丙。")))
    assert [c.section for c in changed] == [c.section for c in a]
    same = [x.content_hash == y.content_hash for x, y in zip(a, changed)]
    # summary and point 1 unchanged; point 2 and the whole-paper chunk changed.
    assert same == [True, True, False, False]

    # The title is part of what is embedded, so it is part of the hash.
    retitled = chunk_paper(make_paper(summary, title="Another Title"))
    assert all(x.content_hash != y.content_hash for x, y in zip(a, retitled))
    # The same text in another version hashes the same (it is the same content).
    other_version = chunk_paper(make_paper(summary, arxiv_id="2506.99999v2"))
    assert [c.content_hash for c in other_version] == [c.content_hash for c in a]
    assert {c.id for c in other_version}.isdisjoint({c.id for c in a})


def test_changed_summary_changes_point_context_hash():
    a = chunk_paper(make_paper("本文提出X方法。\n1. 甲。"))
    b = chunk_paper(make_paper("本文提出Y方法。\n1. 甲。"))
    assert a[1].text == b[1].text
    assert a[1].content_hash != b[1].content_hash


def _long_sentences(n: int, length: int) -> list[str]:
    return [f"Sentence {i} " + "x" * (length - len(f"Sentence {i} ") - 1) + "." for i in range(n)]


def test_long_text_split_at_sentence_ends():
    sentences = _long_sentences(12, 150)
    text = " ".join(sentences)
    assert len(text) > 3 * MAX_CHUNK_CHARS
    chunks = chunk_paper(make_paper(text))
    pieces = [c for c in chunks if c.section != "paper"]
    assert len(pieces) >= 4
    assert all(c.section == "summary" for c in pieces)
    assert all(len(c.text) <= MAX_CHUNK_CHARS for c in pieces)
    for c in pieces:
        assert c.text.startswith("Sentence ") and c.text.endswith(".")
    assert " ".join(c.text for c in pieces) == text
    assert chunks[-1].text == text


def test_long_chinese_text_split_at_sentence_ends():
    sentence = "本文提出一种新的方法" * 8 + "。"
    text = sentence * 20
    pieces = [c for c in chunk_paper(make_paper(text)) if c.section != "paper"]
    assert len(pieces) > 1
    assert all(len(c.text) <= MAX_CHUNK_CHARS for c in pieces)
    assert all(c.text.replace(" ", "").endswith("。") for c in pieces)
    assert "".join(c.text.replace(" ", "") for c in pieces) == text


def test_long_point_split_keeps_section():
    text = "1. " + " ".join(_long_sentences(6, 200))
    pieces = [c for c in chunk_paper(make_paper(text)) if c.section != "paper"]
    assert len(pieces) >= 2
    assert {c.section for c in pieces} == {"contribution 1"}
    assert all(len(c.text) <= MAX_CHUNK_CHARS for c in pieces)


def test_single_overlong_sentence_is_cut_into_pieces_and_nothing_is_lost():
    # Kept whole, one sentence without an end made a chunk (and an evidence "sentence") of any length.
    long_sentence = "Sentence " + "y" * (MAX_CHUNK_CHARS + 100) + "."
    short = "A short one."
    text = f"{short} {long_sentence} {short}"
    pieces = [c.text for c in chunk_paper(make_paper(text)) if c.section == "summary"]
    assert len(pieces) >= 2 and all(len(p) <= MAX_CHUNK_CHARS for p in pieces)
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")
    assert all(len(s) <= SENTENCE_PIECE_CHARS for p in pieces for s in split_sentences(p))


def test_text_at_limit_is_one_chunk():
    text = ("word " * (MAX_CHUNK_CHARS // 5))[:MAX_CHUNK_CHARS - 1] + "."
    assert len(text) == MAX_CHUNK_CHARS
    chunks = chunk_paper(make_paper(text))
    assert [c.text for c in chunks] == [text, text]


def test_line_starting_with_decimal_is_not_a_point():
    chunks = chunk_paper(make_paper("本文提出X方法。\n3.5倍加速：在GPU上推理更快。"))
    assert "3.5倍加速" in chunks[-1].text


def test_short_content_line_with_heading_word_kept():
    chunks = chunk_paper(make_paper("Summary: a new TTS model\n1. Point one."))
    assert "a new TTS model" in chunks[-1].text


def test_heading_only_summary_yields_no_empty_chunk():
    chunks = chunk_paper(make_paper("总结："))
    assert all(c.text.strip() for c in chunks)


def test_paper_is_frozen_and_chunking_pure(papers):
    paper = papers[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        paper.summary = "changed"  # type: ignore[misc]
    first = [(c.section, c.text) for c in chunk_paper(paper)]
    second = [(c.section, c.text) for c in chunk_paper(paper)]
    assert first == second
