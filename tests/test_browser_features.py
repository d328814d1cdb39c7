"""The chat's features of issue 14 in a real headless Chromium, over a real server (extractive backend):
the paper picker (and the scope a reopened conversation brings back), click- and hover-to-evidence, the conversations
sidebar (delete asks first) and the export buttons.

Same browser and fixtures as tests/test_browser.py; each server gets a data directory of its own (a copy of
the bundled index), so the conversations one test saves are not in another's sidebar.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
from playwright.sync_api import Page, expect

from bench.screenshots import choose_paper, wait_until_still
from conftest import running_app
from test_browser import artifact, ask, browser, page  # noqa: F401 (fixtures)
from ui.conversations import LOCAL_USER
from ui.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")]

QUESTION = "Which paper uses LLM feedback as a reward for ASR domain adaptation?"
FOLLOW_UP = "它用了什么方法？"


@pytest.fixture
def settings(bundled_index, tmp_path):
    """The bundled index in a data directory of this test's own, without the conversations other tests saved
    in the shared one (the chat tests of tests/test_browser.py ask as the local user there)."""
    shutil.copytree(bundled_index.data_dir, tmp_path / "data", ignore=shutil.ignore_patterns("conversations.sqlite3*"))
    return Settings(**{**bundled_index.model_dump(), "data_dir": tmp_path / "data"}, backend="extractive")


def settle(page: Page) -> None:
    """Wait until the last answer's sources panel has folded (it does a moment after the answer is verified)."""
    expect(page.locator(".pc-card")).to_have_count(0)
    wait_until_still(page, ".message.bot")


def source_ids(page: Page) -> list[str]:
    """The versioned IDs of the last answer's sources panel (opened if folded)."""
    page.get_by_text("Sources ·").last.click()
    expect(page.locator(".pc-card").first).to_be_visible()
    return [t.removeprefix("arXiv:") for t in page.locator(".pc-card .pc-id").all_inner_texts()]


def test_papers_chosen_in_the_papers_tab_scope_the_chat_until_cleared_and_come_back_with_its_conversation(
        page, settings, e5):
    with running_app(settings, e5) as (url, service):
        page.goto(url)
        page.get_by_role("tab", name="Papers").click()
        # One paper from the picker's search, one from the table.
        choose_paper(page, "2506.22846")
        page.keyboard.press("Escape")
        page.get_by_placeholder("Filter by ID, title or words of the summary").fill("dialect")
        page.locator("#pc-papers-table .virtual-row .body-cell").first.click()
        page.get_by_role("button", name="Add to the papers to ask about").click()
        expect(page.locator("#pc-picker")).to_contain_text("2505.21138 · Leveraging LLM")
        page.get_by_label("All versions").check()
        page.locator("#pc-ask-these").click()

        # The chat opens with the scope line; the answer uses only those papers.
        scope = page.locator(".pc-scope")
        expect(scope).to_be_visible()
        expect(scope).to_contain_text("Asking only about 2 papers (all versions)")
        expect(scope.locator(".pc-chip")).to_have_text([re.compile("2506.22846"), re.compile("2505.21138")])
        ask(page, QUESTION, 0)
        assert set(source_ids(page)) <= {"2506.22846v1", "2505.21138v1", "2505.21138v2"}
        saved = service.conversations.list(LOCAL_USER)[0]
        answer = service.conversations.open(LOCAL_USER, saved.id).messages[1]["answer"]
        assert answer["scope"] == ["2506.22846v1", "2505.21138v1", "2505.21138v2"]
        page.screenshot(path=artifact("scope.png"))

        # A new conversation asks the whole collection; reopened, the scoped one asks within its papers again.
        page.get_by_role("button", name="New conversation").click()
        expect(page.locator(".message")).to_have_count(0)
        expect(scope).to_be_hidden()
        page.locator("#pc-conversations").get_by_label(re.compile("Which paper uses LLM feedback")).check()
        expect(page.locator(".message.user")).to_have_count(1)
        expect(scope).to_contain_text("Asking only about 2 papers (all versions)")
        expect(scope.locator(".pc-chip")).to_have_text([re.compile("2506.22846"), re.compile("2505.21138")])
        ask(page, FOLLOW_UP, 1)
        followed = source_ids(page)
        assert followed and set(followed) <= {"2506.22846v1", "2505.21138v1", "2505.21138v2"}
        reopened = service.conversations.open(LOCAL_USER, saved.id)
        assert reopened.turns == 2 and reopened.messages[3]["answer"]["scope"] == answer["scope"]

        # Cleared: the whole collection again, and the paper the question is about comes back.
        page.get_by_role("button", name="Ask the whole collection").click()
        expect(scope).to_be_hidden()
        ask(page, QUESTION, 2)
        assert "2506.11091v1" in source_ids(page)
        assert service.conversations.open(LOCAL_USER, saved.id).papers is None


def test_hovering_a_sentence_or_clicking_its_citation_highlights_exactly_the_evidence_it_was_checked_against(
        page, settings, e5):
    with running_app(settings, e5) as (url, service):
        expected = service.assistant("extractive").ask(QUESTION)
        evidence = {v.citations[0]: [next(s for s in expected.sources if s.arxiv_id == e["arxiv_id"]).sentences[e["index"]]
                                     for e in v.evidence] for v in expected.sentences if v.supported and v.citations}
        assert len(evidence) >= 2, expected.sentences
        page.goto(url)
        ask(page, QUESTION, 0)
        settle(page)

        # Hover over a sentence with the sources open: its evidence is marked while the pointer is on it.
        source_ids(page)
        for verdict in [v for v in expected.sentences if v.evidence][:2]:
            marked = [next(s for s in expected.sources if s.arxiv_id == e["arxiv_id"]).sentences[e["index"]]
                      for e in verdict.evidence]
            classes = "".join(f".pc-e-{re.sub('[^A-Za-z0-9]', '-', e['arxiv_id'])}-{e['index']}" for e in verdict.evidence)
            page.locator(f".pc-sentence{classes}").first.hover()
            expect(page.locator(".pc-evidence li.pc-hover")).to_have_text(marked)
            page.mouse.move(0, 0)
            expect(page.locator(".pc-evidence li.pc-hover")).to_have_count(0)

        for cited, sentences in evidence.items():
            page.locator(f'.pc-sentence a[href="https://arxiv.org/abs/{cited}"]').click()
            lit = page.locator(".pc-evidence li.pc-lit")
            expect(lit).to_have_text(sentences)
            expect(lit.first).to_be_in_viewport()
            # The highlighted sentences are those of the cited paper's card, and the citation did not leave the page.
            expect(page.locator(".pc-card", has=lit.first).locator(".pc-id")).to_contain_text(cited)
            assert page.url == url and len(page.context.pages) == 1
        page.screenshot(path=artifact("evidence.png"))

        # A click on a sentence itself shows its evidence too.
        first_cited, first_sentences = next(iter(evidence.items()))
        page.locator(".pc-sentence", has=page.locator(f'a[href$="{first_cited}"]')).click(position={"x": 5, "y": 5})
        expect(page.locator(".pc-evidence li.pc-lit")).to_have_text(first_sentences)


def test_conversations_are_saved_per_login_reopened_renamed_exported_and_deleted(page, settings, e5):
    with running_app(settings, e5, auth="alice:correct-horse") as (url, service):
        page.goto(url)
        page.get_by_label("username").fill("alice")
        page.get_by_label("password").fill("correct-horse")
        page.get_by_role("button", name="Login").click()

        # Two questions make one saved conversation, named after the first.
        ask(page, QUESTION, 0)
        ask(page, "它用了什么方法？", 1)
        listing = page.locator("#pc-conversations")
        expect(listing.get_by_label(re.compile("Which paper uses LLM feedback .* · 2 questions"))).to_be_checked()
        # A new conversation: an empty chat, saved once answered.
        page.get_by_role("button", name="New conversation").click()
        expect(page.locator(".message")).to_have_count(0)
        ask(page, "哪篇论文把口吃现象作为显式标记转录出来？", 0)
        expect(listing.locator("label")).to_have_count(2)
        assert [c.turns for c in service.conversations.list("alice")] == [1, 2]
        assert service.conversations.list(LOCAL_USER) == []  # saved under the login name

        # Reopen the first: its questions, answers and sources as they were answered, evidence clickable.
        listing.get_by_label(re.compile("Which paper uses LLM feedback")).check()
        expect(page.locator(".message.user")).to_have_count(2)
        expect(page.locator(".message.user").first).to_contain_text(QUESTION)
        expect(page.locator(".message.bot .pc-grounding")).to_have_count(2)
        page.locator('.pc-sentence a[href="https://arxiv.org/abs/2506.11091v1"]').first.click()
        expect(page.locator(".pc-evidence li.pc-lit").first).to_be_visible()

        # Rename, with markup shown as text (once the sidebar shows the reopened conversation's name: typed
        # earlier, the name would be overwritten by it).
        title = page.locator("#pc-title textarea, #pc-title input").first
        expect(title).to_have_value(re.compile("^Which paper uses LLM feedback"))
        title.fill("LLM rewards <b>for ASR</b>")
        page.get_by_role("button", name="Rename").click()
        expect(listing).to_contain_text("LLM rewards <b>for ASR</b> · 2 questions")
        page.screenshot(path=artifact("conversations.png"))

        # Export: the Markdown and the JSON of this conversation.
        with page.expect_download() as download:
            page.locator("#pc-export-md").click()
        markdown = download.value.path().read_text(encoding="utf-8")
        assert download.value.suggested_filename == "paperchat-llm-rewards-b-for-asr-b.md"
        assert markdown.startswith("# LLM rewards \\<b\\>for ASR\\</b\\>\n")
        assert "[arXiv:2506.11091v1](https://arxiv.org/abs/2506.11091v1)" in markdown and "## Sources" in markdown
        with page.expect_download() as download:
            page.locator("#pc-export-json").click()
        turns = json.loads(download.value.path().read_text(encoding="utf-8"))
        assert [t["question"] for t in turns] == [QUESTION, "它用了什么方法？"]
        assert all(t["sentences"] and "evidence" in t["sentences"][0] for t in turns)

        # Delete asks first: kept when the user changes their mind.
        confirm = page.locator("#pc-confirm-delete")
        page.get_by_role("button", name="Delete", exact=True).click()
        expect(confirm).to_contain_text("Delete this conversation?")
        page.get_by_role("button", name="Keep it").click()
        expect(confirm).to_be_hidden()
        expect(page.locator(".message.user")).to_have_count(2)
        assert len(service.conversations.list("alice")) == 2
        # Confirmed: gone from the list and the chat; what is left survives a reload.
        page.get_by_role("button", name="Delete", exact=True).click()
        page.get_by_role("button", name="Delete it").click()
        expect(page.locator(".message")).to_have_count(0)
        expect(listing.locator("label")).to_have_count(1)
        page.reload()
        expect(listing.locator("label")).to_have_count(1)
        expect(listing).to_contain_text("哪篇论文把口吃现象作为显式标记转录出来？ · 1 question")
