"""The README's pictures of the chat, from a real `paperchat serve` in a real browser (`make screenshots`).

Starts `paperchat serve --backend extractive` over a temporary data directory (serve builds the
index of the bundled collection first), opens it in Debian's chromium through Playwright, and
writes:

    screenshot-chat.png       a question, its sources panel opened, the cited answer and its grounding
    screenshot-versions.png   a question about what changed between the versions of a paper
    screenshot-evidence.png   a citation clicked: its evidence sentences highlighted in the sources panel
    screenshot-scope.png      two papers chosen in the Papers tab: the chat's scope line and an answer from them
(the sidebar on the left lists the conversations the earlier pictures saved).

    .venv/bin/python -m bench.screenshots              # into docs/
    .venv/bin/python -m bench.screenshots --out /tmp/shots

The tests never write into docs/: only this does.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from bench.common import ROOT, free_port, wait_for_http

BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 120_000
SHOTS = {
    "screenshot-chat.png": ("Which paper uses LLM feedback as a reward for ASR domain adaptation?", 1240, True),
    "screenshot-versions.png": ("2506.00267 的不同版本在数据集时长上有什么变化？", 1400, False),
}
"""File name: (question, viewport height, whether the sources panel is shown open)."""


SOURCES_LAID_OUT = """() => {
    const cards = document.querySelectorAll('.message.bot .pc-card');
    const foots = document.querySelectorAll('.message.bot .pc-foot');
    return cards.length > 0 && foots.length > 0
        && cards[cards.length - 1].getBoundingClientRect().bottom <= foots[foots.length - 1].getBoundingClientRect().top;
}"""
"""True once the sources panel is open all the way: its last card ends above the answer's grounding line.
(While the panel is folded or still sliding open, its cards are clipped, not hidden, and overlap the answer.)"""


SIDEBAR_ENABLED = """() => [...document.querySelectorAll('#pc-sidebar button')]
    .filter(b => ['Rename', 'Delete', 'Markdown', 'JSON'].includes(b.textContent.trim()))
    .every(b => !b.disabled && getComputedStyle(b).opacity === '1')"""
"""True once the sidebar's buttons for the conversation shown are enabled and done fading in."""


def wait_until_still(page: Page, selector: str) -> None:
    """Wait until the last element matching ``selector`` stops moving (two looks 200 ms apart agree)."""
    page.wait_for_function("""selector => {
        const all = document.querySelectorAll(selector);
        const bottom = all.length ? all[all.length - 1].getBoundingClientRect().bottom : null;
        const still = bottom !== null && window.__lastBottom === bottom;
        window.__lastBottom = bottom;
        return still;
    }""", arg=selector, polling=200)


def shoot(page: Page, url: str, question: str, height: int, open_sources: bool, path: Path) -> None:
    """Ask ``question`` in a new session and photograph the answer (and its sources when ``open_sources``)."""
    page.set_viewport_size({"width": 1280, "height": height})
    page.goto(url)
    page.locator("textarea").first.fill(question)
    page.locator("button.submit-button").click()
    expect(page.locator(".message.bot .pc-foot, .message.bot .pc-abstain, .message.bot .pc-error")).to_have_count(1)
    expect(page.locator("textarea").first).to_be_editable()
    if open_sources:
        # The verified answer folds its sources panel a moment after it is shown: open it only once folded.
        cards = page.locator(".pc-card")
        expect(cards.first).to_be_hidden()
        wait_until_still(page, ".message.bot")
        page.get_by_text("Sources ·").first.click()
        expect(cards.first).to_be_visible()
        page.wait_for_function(SOURCES_LAID_OUT)
    page.mouse.move(0, 0)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=path)


def ask(page: Page, question: str) -> None:
    """Send ``question`` and wait until its verified answer is shown and the chat has settled."""
    page.locator("textarea").first.fill(question)
    page.locator("button.submit-button").click()
    expect(page.locator(".message.bot .pc-foot, .message.bot .pc-abstain, .message.bot .pc-error")).to_have_count(1)
    expect(page.locator("textarea").first).to_be_editable()
    expect(page.locator("#pc-conversations input:checked")).to_have_count(1)  # saved, and listed as shown
    page.wait_for_function(SIDEBAR_ENABLED)


def choose_paper(page: Page, base_id: str) -> None:
    """Add the paper ``base_id`` to the Papers tab's picker by typing its ID and choosing the one option left."""
    search = page.locator("#pc-picker input")
    search.click()
    search.fill(base_id)
    expect(page.get_by_role("option")).to_have_count(1)
    page.get_by_role("option", name=f"{base_id} ·").click()
    expect(page.locator("#pc-picker")).to_contain_text(f"{base_id} ·")


def shoot_evidence(page: Page, url: str, path: Path) -> None:
    """Ask, let the sources fold, click the second citation: its evidence is highlighted in the opened panel."""
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(url)
    ask(page, EVIDENCE_QUESTION)
    expect(page.locator(".pc-card")).to_have_count(0)
    wait_until_still(page, ".message.bot")
    page.locator(".pc-sentence a").nth(1).click()
    expect(page.locator(".pc-evidence li.pc-lit").first).to_be_in_viewport()
    wait_until_still(page, ".message.bot")
    page.mouse.move(0, 0)
    page.screenshot(path=path)


def shoot_scope(page: Page, url: str, path: Path) -> None:
    """Choose two papers in the Papers tab, ask about them, photograph the scope line and the answer."""
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(url)
    page.get_by_role("tab", name="Papers").click()
    for paper in SCOPE_PAPERS:
        choose_paper(page, paper)
    page.keyboard.press("Escape")
    page.locator("#pc-ask-these").click()
    expect(page.locator(".pc-scope")).to_be_visible()
    ask(page, EVIDENCE_QUESTION)
    page.mouse.move(0, 0)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=path)


EVIDENCE_QUESTION = "Which paper uses LLM feedback as a reward for ASR domain adaptation?"
SCOPE_PAPERS = ["2506.22846", "2505.21138"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="directory for the pictures (default: docs/)")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit("bench.screenshots: no /usr/bin/chromium: install Debian's chromium (apt-get install -y chromium)")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {**os.environ, "PAPERCHAT_DATA_DIR": tmp, "PAPERCHAT_PORT": str(port)}
        log = Path(tmp) / "serve.log"
        with open(log, "w") as out:
            server = subprocess.Popen([str(BIN / "paperchat"), "serve", "--backend", "extractive"], env=env,
                                      stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_for_http(url, server, timeout=300, log=log)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                try:
                    page = browser.new_page(device_scale_factor=1)
                    page.set_default_timeout(TIMEOUT_MS)
                    for name, (question, height, open_sources) in SHOTS.items():
                        shoot(page, url, question, height, open_sources, args.out / name)
                        print(args.out / name)
                    for name, take in (("screenshot-evidence.png", shoot_evidence),
                                       ("screenshot-scope.png", shoot_scope)):
                        take(page, url, args.out / name)
                        print(args.out / name)
                finally:
                    browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
