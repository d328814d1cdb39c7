""""Which papers use X?" with X a name the collection holds: every paper whose summary says it, and only those
(assistant/listing.py), on the bundled index."""

from __future__ import annotations

import re

from assistant import prompts
from assistant.answer import Source
from assistant.listing import MAX_LISTED, _holds, grouped_by_paper, listing_answer
from assistant.asked import asks_for_papers, negated


def _listed(answer) -> set[str]:
    return {c.arxiv_id.split("v")[0] for c in answer.citations}


def test_every_paper_naming_it_is_listed_even_below_the_ranking(extractive):
    # The Stream-Omni paper ranks below the four papers shown for this question; its CTC is in one sentence.
    answer = extractive.ask("Which papers use CTC somewhere in their approach?")
    assert _listed(answer) == {"2506.22846", "2506.13642"} and answer.listed == ["CTC"]
    assert answer.quoted and not answer.abstained and all(v.supported for v in answer.sentences)
    assert answer.text.startswith("2 papers in the collection mention CTC")
    assert all("CTC" in s.sentences[0] for s in answer.sources)  # the sentence that names it is the one quoted
    assert not answer.low_evidence  # exact, however loosely e5 matches four words


def test_a_chinese_question_finds_the_english_summary_too(extractive):
    answer = extractive.ask("哪些论文在LibriSpeech上做了实验？")
    assert _listed(answer) == {"2506.12570", "2506.22846"}
    assert answer.text.startswith("集合中有 2 篇论文的摘要提到 LibriSpeech")


def test_a_name_inside_a_word_counts_only_with_its_capitals():
    assert _holds("LoRA", "低秩适配（QLoRA）") and _holds("DPO", "基于DPO的") and _holds("dpo", "DPO")
    assert not _holds("LoRA", "exploration") and not _holds("lora", "QLoRA")
    assert _holds("Qwen2.5", "Qwen2.5-7B") and not _holds("Qwen2", "Qwen2.5-7B")


def test_a_name_the_question_leaves_out_is_not_listed(extractive):
    question = "集合里哪些论文用强化学习（不算DPO这类偏好优化）来训练模型？"
    assert negated(question, "DPO") and not negated("Which papers use DPO?", "DPO")
    answer = extractive.ask(question)
    assert answer.listed == [] and "mention DPO" not in answer.text and "提到 DPO" not in answer.text


def test_only_questions_for_every_paper_are_lists():
    assert asks_for_papers("Which papers use Whisper?") and asks_for_papers("集合中哪些论文用到了Whisper？")
    assert not asks_for_papers("Which paper studies how LLM size affects lip-reading?")  # one paper, by name
    assert not asks_for_papers("Are there any papers on bird calls?")  # whether one exists: the topic check's
    assert not asks_for_papers("What WER does the Whisper paper report?")


def test_a_scope_limits_the_list(extractive):
    answer = extractive.ask("Which papers use Whisper?", papers=["2506.11079"])
    assert _listed(answer) == {"2506.11079"} and answer.text.startswith("One paper in the collection mentions")


def test_a_long_list_names_the_rest_by_id():
    sources = [Source(f"9912.{n:05d}v1", f"9912.{n:05d}", f"Paper {n}", "", 1.0, [f"FooNet is used {n}."])
               for n in range(MAX_LISTED + 2)]
    text, opening = listing_answer(sources, ["FooNet"], "en")
    assert text.count("[arXiv:") == MAX_LISTED and text.splitlines()[0] == opening  # quoted and cited: 8
    assert text.splitlines()[-1] == prompts.LISTED_MORE["en"].format(count=2, ids="9912.00008v1, 9912.00009v1")


def test_each_quote_of_a_list_the_model_wrote_is_under_its_papers_line(bundled_index, e5):
    # Seen with the bundled model (dev q081): a quote of the second paper under the first paper's line, and the
    # first paper's key quote under the third. Lines move whole; a paper quoted without a line gets its title.
    reply = ("- [arXiv:2506.07081v2] Streaming Endpointer for Spoken Dialogue using Neural Audio Codecs and "
             "Label-Delayed Training addresses end-of-turn detection.\n"
             "- [arXiv:2506.00975v4] NTPP: Generative Speech Language Modeling for Dual-Channel Spoken Dialogue via "
             "Next-Token-Pair Prediction")
    from conftest import scripted
    answer = scripted(bundled_index, e5, reply).ask(
        "Which papers address turn-taking or end-of-turn detection in spoken dialogue systems?")
    lines = answer.text.splitlines()
    owners = [re.findall(r"\[arXiv:([^\]]+)\]", line)[0] for line in lines]
    firsts = [o for n, o in enumerate(owners) if o not in owners[:n]]
    assert owners == sorted(owners, key=firsts.index), answer.text  # each paper's lines together
    opening = [re.match(r"- \[arXiv:([^\]]+)\]", line) for line in lines]
    assert {m[1] for m in opening if m} == set(firsts), answer.text  # each paper has its line


def test_grouping_leaves_a_line_citing_two_papers_as_written():
    text = "- [arXiv:9912.00001v1] A [arXiv:9912.00002v1]\n“q” [arXiv:9912.00001v1]"
    assert grouped_by_paper(text, []) == text


def test_a_list_question_the_model_fails_quotes_each_close_paper_not_only_the_first(bundled_index, e5):
    from conftest import scripted
    reply = "Speech translation is studied by many groups around the world [arXiv:2506.09175v1]."
    answer = scripted(bundled_index, e5, reply).ask("Which papers work on speech translation?")
    assert answer.quoted and not answer.abstained
    assert len({c.arxiv_id for c in answer.citations}) >= 2, answer.text


def test_a_figure_asked_of_each_paper_listed_is_not_unstated_when_one_of_them_states_it(extractive):
    # Seen on my own follow-up: the first paper (Qwen vs. Gemma) gives no WER drop, the second (9.4% → 5.1%) does.
    history = [{"role": "user", "content": "Which papers use Whisper?"},
               {"role": "assistant", "content": "2 papers in the collection mention Whisper: [arXiv:2506.13596v1] "
                                                "and [arXiv:2506.11079v1]."}]
    answer = extractive.ask("它们各自把词错误率降到了多少？", history=history)
    assert prompts.NOT_STATED["zh"] not in answer.text, answer.text


def test_a_name_in_too_many_papers_is_answered_from_the_ranking(extractive, monkeypatch):
    import assistant.listing as listing
    monkeypatch.setattr(listing, "MAX_SCANNED", 1)  # the bundled collection has 2 Whisper papers
    assert extractive.ask("Which papers use Whisper?").listed == []


def test_the_opening_names_only_what_the_papers_hold(extractive):
    answer = extractive.ask("Which papers build their speech recognizer on top of OpenAI's Whisper?")
    assert answer.listed == ["Whisper"] and "mention Whisper;" in answer.text  # no summary says OpenAI


def test_any_of_the_names_asked_lists_a_paper_those_with_more_first(extractive):
    answer = extractive.ask("Which papers use LoRA or QLoRA?")
    # 2505.20237 holds both (QLoRA holds LoRA), video-SALMONN 2 holds LoRA
    assert [s.base_id for s in answer.sources] == ["2505.20237", "2506.15220"]
    assert answer.text.startswith("2 papers in the collection mention LoRA or QLoRA")
