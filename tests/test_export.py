"""`paperchat export`: a conversation as Markdown (linked citations, sources, grounding) or JSON (ask --json per turn)."""

from __future__ import annotations

import json
import re

import pytest

from conftest import data_env, invoke_cli
from ui.conversations import ConversationStore
from ui.export import escape_markdown, grounding_line, to_markdown, transcript_of

UNLINKED_RE = re.compile(r"\[arXiv:[^\]]+\](?!\()")
LINK_RE = re.compile(r"\[arXiv:([^\]]+)\]\((https://arxiv\.org/abs/[^)]+)\)")


@pytest.fixture(scope="module")
def recorded(bundled_index, tmp_path_factory):
    """A two-turn conversation whose answers were recorded by `ask --json`, as a --history file."""
    turns = [("儿童朗读错误检测的词错误率降到了多少？", []),
             ("What changed between the versions of CASPER?", ["--papers", "2506.00267", "--versions", "all"])]
    messages = []
    for question, options in turns:
        result = invoke_cli("ask", "--json", "--backend", "extractive", *options, question,
                            env=data_env(bundled_index.data_dir))
        assert result.returncode == 0, result.output
        answer = json.loads(result.stdout)
        messages += [{"role": "user", "content": question},
                     {"role": "assistant", "content": answer["answer"], "answer": answer}]
    path = tmp_path_factory.mktemp("export") / "history.json"
    path.write_text(json.dumps(messages, ensure_ascii=False), encoding="utf-8")
    return path, [m["answer"] for m in messages if m["role"] == "assistant"]


def test_markdown_links_every_citation_lists_the_sources_and_the_grounding(cli_env, recorded):
    path, answers = recorded
    result = invoke_cli("export", "--history", str(path), "--format", "markdown", env=cli_env)
    assert result.returncode == 0, result.output
    markdown = result.stdout
    assert not UNLINKED_RE.search(markdown)
    links = LINK_RE.findall(markdown)
    assert links and all(url == f"https://arxiv.org/abs/{arxiv_id}" and "v" in arxiv_id for arxiv_id, url in links)
    cited = list(dict.fromkeys(c["arxiv_id"] for a in answers for c in a["citations"]))
    assert {arxiv_id for arxiv_id, _ in links} == set(cited)
    body, sources = markdown.split("\n## Sources\n")
    titles = {s["arxiv_id"]: s["title"] for a in answers for s in a["sources"]}
    assert [line for line in sources.splitlines() if line] == [
        f"- [{escape_markdown(titles[i])}](https://arxiv.org/abs/{i}) arXiv:{i}" for i in cited]
    for answer in answers:
        supported = sum(s["supported"] for s in answer["sentences"])
        n = len(answer["sentences"])
        assert f"*Grounding: {supported} of {n} sentence{'s' if n != 1 else ''} supported by their citations." in body
    assert "## 1. 儿童朗读错误检测的词错误率降到了多少？" in body


def test_json_is_the_ask_json_object_of_each_turn(cli_env, recorded, tmp_path):
    path, answers = recorded
    out = tmp_path / "out.json"
    result = invoke_cli("export", "--history", str(path), "--format", "json", "-o", str(out), env=cli_env)
    assert result.returncode == 0, result.output
    assert result.stdout == "" and f"wrote {out} (2 turns, json)" in result.stderr
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported == answers
    assert all("evidence" in s for turn in exported for s in turn["sentences"])


def test_a_plain_history_is_exported_from_its_text(cli_env, tmp_path):
    path = tmp_path / "plain.json"
    path.write_text(json.dumps([{"role": "user", "content": "Which paper adapts ASR with LLM feedback?"},
                                {"role": "assistant", "content": "[arXiv:2506.11091v1] does; see also "
                                                                 "[arXiv:2506.00267]."}]), encoding="utf-8")
    markdown = invoke_cli("export", "--history", str(path), env=cli_env).stdout
    assert "[arXiv:2506.11091v1](https://arxiv.org/abs/2506.11091v1) does" in markdown
    assert "[arXiv:2506.00267](https://arxiv.org/abs/2506.00267)" in markdown  # no version known: the base page
    assert "*Grounding: not recorded" in markdown and markdown.endswith(
        "- [arXiv:2506.11091v1](https://arxiv.org/abs/2506.11091v1)\n- [arXiv:2506.00267](https://arxiv.org/abs/2506.00267)\n")
    turn, = json.loads(invoke_cli("export", "--history", str(path), "--format", "json", env=cli_env).stdout)
    assert turn["citations"] == [{"arxiv_id": "2506.11091v1", "supported": None},
                                 {"arxiv_id": "2506.00267", "supported": None}]


def test_text_from_people_and_papers_cannot_add_markup():
    answer = {"answer": "Shown <img src=x onerror=alert(1)> [arXiv:2506.11091v1].", "abstained": False,
              "sentences": [], "notices": ["<b>note</b>"],
              "sources": [{"arxiv_id": "2506.11091v1", "title": "A [title](javascript:alert(1)) *bold*"}]}
    markdown = to_markdown(transcript_of({"title": "# [x](http://evil)", "messages": [
        {"role": "user", "content": "[click](javascript:alert(1)) <script>\n# heading"},
        {"role": "assistant", "content": "ignored", "answer": answer}]}))
    assert "<img" not in markdown and "<script>" not in markdown and "<b>" not in markdown
    assert not re.search(r"(?<!\\)\]\((?:javascript|http://evil)", markdown)  # every bracket escaped
    assert r"- [A \[title\](javascript:alert(1)) \*bold\*](https://arxiv.org/abs/2506.11091v1)" in markdown
    assert markdown.startswith(r"# \# \[x\](http://evil)")


def test_a_saved_conversation_exports_by_id_for_its_user_only(recorded, tmp_path):
    _, answers = recorded
    data = tmp_path / "data"
    store = ConversationStore.in_data_dir(data)
    saved = store.create("alice", "Children's ASR")
    store.add_turn("alice", saved.id, answers[0]["question"], answers[0]["answer"], answers[0])
    result = invoke_cli("export", "--conversation", saved.id, "--user", "alice", env=data_env(data))
    assert result.returncode == 0, result.output
    assert result.stdout.startswith("# Children's ASR\n") and LINK_RE.search(result.stdout)
    other = invoke_cli("export", "--conversation", saved.id, env=data_env(data))  # the local user
    assert other.returncode == 1 and other.stderr.startswith("paperchat: error: no saved conversation")
    file = tmp_path / "saved.json"
    file.write_text(json.dumps(store.open("alice", saved.id).as_json(), ensure_ascii=False), encoding="utf-8")
    from_file = invoke_cli("export", "--history", str(file), env=data_env(data))
    assert from_file.stdout == result.stdout


@pytest.mark.parametrize("content, message", [
    ("{not json", "not JSON"),
    ('{"role": "user"}', "expected a JSON list"),
    ('[{"role": "system", "content": "x"}]', "message 1 is not"),
    ('[{"role": "assistant", "content": "x", "answer": [1]}]', "message 1: its answer is not"),
])
def test_a_bad_file_is_one_line(cli_env, tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    result = invoke_cli("export", "--history", str(path), env=cli_env)
    assert result.returncode == 1 and message in result.stderr and len(result.stderr.splitlines()) == 1


def test_export_needs_exactly_one_input(cli_env, tmp_path):
    assert invoke_cli("export", env=cli_env).returncode == 2
    path = tmp_path / "h.json"
    path.write_text("[]", encoding="utf-8")
    both = invoke_cli("export", "--history", str(path), "--conversation", "x", env=cli_env)
    assert both.returncode == 2 and "give one of --history FILE or --conversation ID" in both.stderr


def test_the_grounding_line_says_one_sentence_as_the_chat_does():
    one = {"answer": "x", "sentences": [{"text": "x", "supported": True}]}
    assert grounding_line(one) == "Grounding: 1 of 1 sentence supported by their citations."
    assert grounding_line({**one, "sentences": one["sentences"] * 2}).startswith("Grounding: 2 of 2 sentences ")
