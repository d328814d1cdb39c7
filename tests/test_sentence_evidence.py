"""Each checked answer sentence points at the evidence sentences that support it (``SentenceVerdict.evidence``)."""

from __future__ import annotations

import json

from assistant.citations import strip_citations
from assistant.lexical import lexical_evidence
from conftest import invoke_cli, scripted

CHILD_ASR = "2506.11079v1"


def pointed(answer, verdict) -> list[str]:
    """The evidence sentences a verdict points at, checking that each pointer is in range."""
    by_id = {s.arxiv_id: s for s in answer.sources}
    out = []
    for pointer in verdict.evidence:
        assert set(pointer) == {"arxiv_id", "index"} and pointer["arxiv_id"] in verdict.citations
        out.append(by_id[pointer["arxiv_id"]].sentences[pointer["index"]])
    return out


def test_lexical_evidence_is_the_fewest_sentences_holding_the_numbers_and_names():
    sentences = ["The model uses LibriSpeech.", "WER fell from 9.4% to 5.1% on LibriSpeech.", "Nothing here."]
    assert lexical_evidence("WER fell to 5.1% on LibriSpeech [arXiv:2506.11079v1].", sentences) == [1]
    assert lexical_evidence("It uses 9.4% and Whisper.", ["9.4% here.", "Whisper there.", "9.4% Whisper"]) == [2]
    assert lexical_evidence("It uses 9.4% and Whisper.", ["9.4% here.", "Whisper there."]) == [0, 1]
    assert lexical_evidence("这个方法很好。", sentences) == []


def test_a_sentence_with_numbers_points_at_the_evidence_sentence_holding_them(bundled_index, e5):
    answer = scripted(bundled_index, e5, f"Prompting cut the WER from 9.4% to 5.1% [arXiv:{CHILD_ASR}].").ask(
        "儿童朗读错误检测的词错误率降到了多少？")
    verdict = answer.sentences[0]  # a quote of the key sentence may follow (draft.key_quote)
    assert verdict.supported and verdict.method == "lexical"
    sentences = pointed(answer, verdict)
    assert len(sentences) == 1 and "9.4%" in sentences[0] and "5.1%" in sentences[0]


def test_a_sentence_without_numbers_points_at_the_nearest_evidence_sentence(bundled_index, e5):
    answer = scripted(bundled_index, e5, f"该研究通过提示机制改进了儿童语音识别 [arXiv:{CHILD_ASR}]。").ask(
        "儿童朗读错误检测的论文做了什么？")
    verdict = answer.sentences[0]  # a quote of the key sentence may follow (draft.key_quote)
    assert verdict.supported and verdict.method == "embedding"
    sentence, = pointed(answer, verdict)
    assert "提示" in sentence and "儿童" in sentence


def test_quoted_and_repaired_sentences_point_at_the_sentence_they_quote(bundled_index, e5, extractive):
    answer = extractive.ask("儿童朗读错误检测的词错误率降到了多少？")
    assert answer.sentences and all(v.method == "quoted" for v in answer.sentences)
    for verdict in answer.sentences:
        sentence, = pointed(answer, verdict)
        assert sentence in verdict.text
    repaired = scripted(bundled_index, e5, f"提示把儿童朗读的WER从9.4%降到了1.2% [arXiv:{CHILD_ASR}]。").ask(
        "用提示改进儿童朗读错误检测的那篇论文，WER降了多少？")
    quoted = [v for v in repaired.sentences if v.method == "quoted"]  # the repair, then a key sentence
    assert "5.1%" in quoted[0].text
    for verdict in quoted:
        sentence, = pointed(repaired, verdict)
        assert sentence in verdict.text


def test_attributed_and_unsupported_sentences(bundled_index, e5):
    attributed = scripted(bundled_index, e5, "提示机制把荷兰儿童朗读的词错误率从9.4%降至5.1%。").ask("儿童朗读错误检测的结果")
    verdict = attributed.sentences[0]  # a quote of the key sentence may follow
    assert verdict.method == "attributed"
    assert any("5.1%" in s for s in pointed(attributed, verdict))
    assistant = scripted(bundled_index, e5, "x")
    sources = assistant.ask("儿童朗读错误检测").sources
    good, bad = assistant.verify(f"WER从9.4%降至5.1% [arXiv:{CHILD_ASR}]。 WER从9.4%降至3.1% [arXiv:{CHILD_ASR}]。",
                                 sources)
    assert good.evidence and bad.evidence == []


def test_ask_json_includes_each_sentences_evidence(cli_env):
    result = invoke_cli("ask", "--json", "--backend", "extractive", "儿童朗读错误检测的词错误率降到了多少？",
                        env=cli_env)
    assert result.returncode == 0, result.output
    answer = json.loads(result.stdout)
    sources = {s["arxiv_id"]: s["text"].split("\n") for s in answer["sources"]}
    assert answer["sentences"]
    for sentence in answer["sentences"]:
        assert sentence["evidence"]
        for pointer in sentence["evidence"]:
            assert sources[pointer["arxiv_id"]][pointer["index"]] in strip_citations(sentence["text"])
