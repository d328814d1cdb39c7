"""A wheel of paperchat carries its bundled collection and the UI's templates, and an installed copy finds them
(not only an editable one)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from index.settings import BUNDLED_CORPUS

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DATA = ["index/bundled/papers.md", "evals/datasets/dev.jsonl", "evals/datasets/blind.jsonl", "evals/datasets/blind2.jsonl",
                "evals/thresholds.toml", "ui/static/paperchat.css", "ui/static/paperchat.js",
                *(f"ui/templates/{t.name}" for t in (ROOT / "ui" / "templates").glob("*.html"))]


def test_wheel_ships_the_collection_and_the_installed_code_finds_it(tmp_path):
    # Built from a copy, so the build leaves nothing in the checkout; offline, with the tools already installed.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "build", "*.egg-info", ".pytest_cache", ".hypothesis", "runs", "artifacts"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--quiet",
                    "-w", str(tmp_path / "dist"), str(source)], check=True, capture_output=True, timeout=300)
    [wheel] = (tmp_path / "dist").glob("paperchat-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert set(PACKAGE_DATA) <= names
        assert archive.read("index/bundled/papers.md") == BUNDLED_CORPUS.read_bytes()

    # Installed on its own path, read from elsewhere: no checkout to fall back on.
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", "--target",
                    str(target), str(wheel)], check=True, capture_output=True, timeout=300)
    probe = ("import json, index, evals.questions as q; from index.settings import BUNDLED_CORPUS, IndexSettings; "
             "from index.corpus import read_corpus; print(json.dumps({'package': index.__file__, "
             "'corpus': str(IndexSettings().corpus[0]), 'papers': len(read_corpus([BUNDLED_CORPUS]).papers), "
             "'questions': len(q.load_questions()), 'ui': __import__('ui.render').render.header_html(1, 1, 'x')}))")
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["package"].startswith(str(target))
    assert found["corpus"] == str(target / "index" / "bundled" / "papers.md")
    assert found["papers"] == 70 and found["questions"] > 0
    assert found["ui"].startswith('<div id="pc-header">')
