"""The README's pictures of the chat, from a real `paperchat serve` in a real browser (`make screenshots`).

Starts `paperchat serve --backend extractive` over a temporary data directory (serve builds the
index of the bundled collection first), opens it in Debian's chromium through Playwright, and
writes:

    screenshot-chat.png       a question, its sources panel opened, the cited answer and its grounding
    screenshot-versions.png   a question about what changed between the versions of a paper

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
                finally:
                    browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
