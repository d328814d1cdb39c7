"""The chat page in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

One test uses the page as a reader would (ask an example, follow up, open the
sources, rate and comment, retry, undo, browse the papers). The other serves a
collection with poisoned rows and checks that none of their markup runs or
becomes a link, and that a question comes back out of the chat exactly as typed.
Screenshots go to tests/artifacts/ (ignored by git); the README's pictures come
from `make screenshots` (bench/screenshots.py), never from the tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from bench.screenshots import CHROMIUM, CHROMIUM_ARGS, SOURCES_LAID_OUT, wait_until_still
from conftest import running_app, write_jsonl
from index.corpus import read_corpus
from index.ingest import ingest
from index.settings import BUNDLED_CORPUS
from index.store import open_store
from ui.settings import Settings

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
TIMEOUT_MS = 60_000
ASSERT_TIMEOUT_MS = 20_000
# Gradio's queue calls a pandas API that pandas 3 deprecates; nothing to do with these tests.
# Slow: a real browser over a real server (about 10 s each, measured in a full run).
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: install Debian's chromium (apt-get install -y chromium; `make test` does)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    # Assertions wait for their condition too: Playwright's 5 s default was not enough for a reopened
    # conversation to render on a loaded 2-core machine (seen once in a fresh clone's `make test`).
    expect.set_options(timeout=ASSERT_TIMEOUT_MS)
    yield page
    context.close()


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / ".gitignore").write_text("*\n")
    return ARTIFACTS / name


def ask(page: Page, question: str, answers_before: int) -> None:
    """Type ``question``, send it, wait until its verified answer is shown."""
    page.locator("textarea").first.fill(question)
    page.locator("button.submit-button").click()
    expect(page.locator(".message.bot .pc-foot, .message.bot .pc-abstain, .message.bot .pc-error")).to_have_count(
        answers_before + 1, timeout=TIMEOUT_MS)
    expect(page.locator("textarea").first).to_be_editable()  # the chat has settled: the next action is safe


def test_a_reader_asks_follows_up_opens_sources_rates_and_browses_papers(page, bundled_index, e5):
    settings = Settings(**bundled_index.model_dump(), backend="extractive")
    with running_app(settings, e5) as (url, service):
        page.goto(url)
        # An example question, clicked in the empty chat, is asked.
        page.get_by_text("Which paper uses LLM feedback as a reward for ASR domain adaptation?").click()
        expect(page.locator(".message.bot .pc-foot")).to_have_count(1)
        expect(page.locator("textarea").first).to_be_editable()
        link = page.locator('.message.bot a[href="https://arxiv.org/abs/2506.11091v1"]').filter(has_text="arXiv:2506.11091v1")
        expect(link.first).to_be_visible()
        expect(page.locator(".message.bot .pc-grounding").first).to_contain_text("supported by the cited evidence")

        # The sources panel: closed once the answer is verified (a moment after it shows); open it.
        cards = page.locator(".pc-card")
        expect(cards.first).to_be_hidden()
        wait_until_still(page, ".message.bot")
        page.get_by_text("Sources · 4 papers").first.click()
        expect(cards.first).to_be_visible()
        expect(cards.first).to_contain_text("Customizing Speech Recognition Model with Large Language Model Feedback")
        expect(cards.first.locator("li.pc-cited")).to_have_count(1)
        expect(page.locator('.pc-card a[href="https://arxiv.org/abs/2505.21138v1"]')).to_have_text("v1")  # another version
        page.wait_for_function(SOURCES_LAID_OUT)
        page.screenshot(path=artifact("chat-sources.png"))

        # A follow-up uses the conversation: "it" is the paper of the first answer.
        ask(page, "它用了什么方法？", 1)
        expect(page.locator(".message.bot").last.locator('a[href="https://arxiv.org/abs/2506.11091v1"]').first).to_be_visible()

        # Thumbs up, then a comment: two feedback lines.
        page.locator(".message.bot").last.hover()
        page.locator("button[aria-label='Like']").last.click()
        comment = page.get_by_placeholder("Thanks! Add a comment?")
        expect(comment).to_be_visible()
        comment.fill("Clear answer, right paper.")
        page.get_by_role("button", name="Send comment").click()
        expect(comment).to_be_hidden()
        events = service.feedback.read()
        assert [(e["event"], e["verdict"], e["question"]) for e in events[-2:]] == [
            ("rating", "up", "它用了什么方法？"), ("comment", "up", "它用了什么方法？")]
        assert events[-1]["comment"] == "Clear answer, right paper."
        assert events[-1]["citations"][0]["arxiv_id"] == "2506.11091v1"

        # Retry asks the last question again, in place of its answer.
        page.locator(".message.bot").last.hover()
        page.locator("button[aria-label='Retry']").last.click()
        expect(page.locator(".message.bot .pc-foot")).to_have_count(2)
        expect(page.locator(".message.user")).to_have_count(2)
        expect(page.locator("textarea").first).to_be_editable()
        expect(page.locator(".message.user").last).to_contain_text("它用了什么方法？")

        # Undo takes the last question back into the textbox and its answer away.
        page.locator(".message.bot").last.hover()
        page.locator("button[aria-label='Undo']").last.click()
        expect(page.locator("textarea").first).to_have_value("它用了什么方法？")
        expect(page.locator(".message.user")).to_have_count(1)
        expect(page.locator(".message.bot .pc-foot")).to_have_count(1)

        # The Papers view: filter, open one, read its summary.
        page.get_by_role("tab", name="Papers").click()
        page.get_by_placeholder("Filter by ID, title or words of the summary").fill("dialect")
        rows = page.locator("#pc-papers-table .virtual-row")
        expect(rows).to_have_count(1)
        rows.first.locator(".body-cell").first.click()
        summary = page.locator(".pc-paper")
        expect(summary).to_contain_text("Leveraging LLM and Self-Supervised Training Models")
        expect(summary.locator("ol.pc-points li").first).to_be_visible()
        expect(summary.locator("details.pc-older")).to_contain_text("2505.21138v1")
        page.screenshot(path=artifact("papers.png"))
        page.get_by_role("button", name="Ask about this paper in the chat").click()
        expect(page.locator("textarea").first).to_have_value("What is arXiv 2505.21138v2 about?")


POISONED_ROWS = [
    {"arxiv_id": "2506.99901v1",
     "title": "PoisonCodec <script>window.__pwned='title'</script><img src=x onerror=\"window.__pwned='title-img'\">",
     "summary": "总结：PoisonCodec 是一种低码率语音编解码器 <img src=x onerror=\"alert('summary-img')\">。\n\n"
                "贡献点：\n1. 提出 PoisonCodec 编解码器 <script>alert('point-script')</script>，码率 0.5 kbps。\n"
                "2. PoisonCodec 的代码见 [点击这里](javascript:alert('md-link')) 和 "
                "<a href=\"javascript:alert('a-tag')\">链接</a>。"},
    {"arxiv_id": "2506.99902v1",
     "title": "[SpeechGuard](javascript:alert('title-link')): a dataset of unsafe speech",
     "summary": "SpeechGuard is a dataset for detecting unsafe speech <iframe src=\"javascript:alert('iframe')\">"
                "</iframe>. ![x](javascript:alert('md-image')) <svg onload=alert('svg')></svg> It has 2,000 hours."},
]


POISONED_QUESTION = "PoisonCodec 是什么？<img src=x onerror=\"alert('question')\"> [q](javascript:alert('q-link'))"


def test_poisoned_corpus_rows_and_questions_render_as_harmless_text(page, e5, tmp_path):
    benign = next(p for p in read_corpus([BUNDLED_CORPUS]).papers if p.arxiv_id == "2506.11091v1")
    corpus = write_jsonl(tmp_path / "poisoned.jsonl", [*POISONED_ROWS, benign])
    settings = Settings(data_dir=tmp_path / "data", corpus=[corpus], backend="extractive")
    report = ingest([corpus], open_store(settings), lambda: e5)
    assert not report.rejected and report.versions == 3

    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    with running_app(settings, e5) as (url, _):
        page.goto(url)
        ask(page, POISONED_QUESTION, 0)
        page.get_by_text("Sources ·").first.click()
        expect(page.locator(".pc-card").first).to_be_visible()
        ask(page, "What is the SpeechGuard dataset?", 1)
        page.get_by_text("Sources ·").last.click()
        chat_text = page.locator(".bubble-wrap, .chatbot").first.inner_text()
        page.screenshot(path=artifact("xss-chat.png"))

        page.get_by_role("tab", name="Papers").click()
        for query in ("PoisonCodec", "SpeechGuard"):
            page.get_by_placeholder("Filter by ID, title or words of the summary").fill(query)
            expect(page.locator("#pc-papers-table .virtual-row")).to_have_count(1)
            page.locator("#pc-papers-table .virtual-row .body-cell").first.click()
            expect(page.locator(".pc-paper h3")).to_contain_text(query)
        page.screenshot(path=artifact("xss-papers.png"))

        # Every image has loaded or failed, so an injected onerror handler would have run by now.
        page.wait_for_function("() => [...document.images].every(image => image.complete)")
        assert dialogs == []
        assert page.evaluate("window.__pwned") is None
        injected = page.evaluate(r"""() => ({
            images: document.querySelectorAll('img[src="x"], img[onerror]').length,
            handlers: document.querySelectorAll('[onerror], [onload], [onclick]').length,
            frames: document.querySelectorAll('iframe').length,
            jsLinks: [...document.querySelectorAll('a[href], area[href]')]
                .filter(a => a.getAttribute('href').trim().toLowerCase().startsWith('javascript:')).length,
            // Gradio's own window.gradio_config script holds the rows as JSON data; a script made of them would not.
            scripts: [...document.scripts].filter(s => /^(alert|window\.__pwned)/.test(s.textContent.trim())).length,
        })""")
        assert injected == {"images": 0, "handlers": 0, "frames": 0, "jsLinks": 0, "scripts": 0}, injected

        # The markup is there to read, as text.
        assert "<img src=x onerror=\"alert('question')\">" in chat_text
        assert "<script>alert('point-script')</script>" in chat_text or "<img src=x onerror=\"alert('summary-img')\">" in chat_text
        assert "[点击这里](javascript:alert('md-link'))" in chat_text or "![x](javascript:alert('md-image'))" in chat_text
        expect(page.locator(".pc-paper")).to_contain_text("<iframe src=\"javascript:alert('iframe')\">")
        expect(page.locator("#pc-papers-table")).to_contain_text("[SpeechGuard](javascript:alert('title-link'))")

        # Undo gives a question back exactly as it was typed, markup and all.
        page.get_by_role("tab", name="Chat").click()
        for question in ("What is the SpeechGuard dataset?", POISONED_QUESTION):
            page.locator(".message.bot").last.hover()
            page.locator("button[aria-label='Undo']").last.click()
            expect(page.locator("textarea").first).to_have_value(question)
        expect(page.locator(".message.user")).to_have_count(0)
