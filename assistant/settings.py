"""The one settings object of paperchat: the index settings plus the answer engine's.

Read once (``Settings()``, from ``PAPERCHAT_*`` environment variables) by the
entry point and passed down. Index fields are documented in ``index/settings.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_cache_dir
from pydantic import SecretStr

from index.settings import IndexSettings

Backend = Literal["local", "openai", "ollama", "extractive"]


class Settings(IndexSettings):
    backend: Backend = "local"
    """``local`` (bundled Qwen2.5-Coder-1.5B GGUF), ``openai`` (any OpenAI-compatible server),
    ``ollama`` (Ollama's native API) or ``extractive`` (no LLM: cited evidence sentences)."""

    top_k: int = 4
    """Papers whose evidence is shown to the model."""

    evidence_tokens: int = 260
    """Budget for the evidence in the prompt: prompt tokens ÷ prefill rate is the wait for the first token."""

    max_answer_tokens: int = 220
    temperature: float = 0.0

    model_cache_dir: Path = Path(user_cache_dir("paperchat"))
    """Where the bundled GGUF is assembled from its part packages (1.1 GB, once)."""

    openai_base_url: str = "http://127.0.0.1:8000/v1"
    """Credentials in this URL (or in ``ollama_url``, ``chroma_url``) are never shown: messages and logs
    show ``***`` instead."""
    openai_model: str = "default"
    openai_api_key: SecretStr = SecretStr("not-needed")
    ollama_url: str = "http://127.0.0.1:11434"
    ollama_model: str = "qwen2.5:1.5b-instruct"
    request_timeout: float = 60.0
    connect_timeout: float = 2.0

    retrieval: Literal["hybrid", "dense", "bm25"] = "hybrid"

    min_dense_score_en: float = 0.785
    min_dense_score_zh: float = 0.846
    min_bm25_score: float = 2.5
    """Below both the dense score (for the question's language: e5 scores Chinese questions higher) and the
    BM25 score, the collection is taken not to cover the question. Measured on the dev set: off-topic
    questions reach 0.751-0.778 (en) and 0.833-0.844 (zh); answerable ones start at 0.776 (en) and 0.849 (zh)."""

    max_question_chars: int = 2000
    """A longer question is cut (and told so); so is each message of the history, and the question rewritten
    from it never exceeds this either: every text that reaches the embedder, BM25 and the prompt is bounded."""

    max_history_messages: int = 8
    """Messages of the conversation so far (the latest) that a follow-up is read with."""

    judge: Literal["cheap", "llm"] = "cheap"
    """Support check of answer sentences: ``cheap`` (numbers and names, then e5 similarity, which cannot tell a
    restatement from a plausible invention: see the judge table in the README) or ``llm`` (numbers and names
    where a sentence has them, the bundled model as a yes/no judge the rest, in a llama.cpp context of its own;
    about a second per judged sentence, so not the default; backends without log-probabilities use ``cheap``)."""

    reranker_model: str | None = None
    """Path or name of a sentence-transformers ``CrossEncoder`` to rerank retrieved papers (none is bundled)."""

    llm_threads: int | None = None
    """llama.cpp threads for the local model (default: all cores)."""

    # The chat UI (`paperchat serve`).
    host: str = "127.0.0.1"
    port: int = 7860
    auth: SecretStr | None = None
    """``user:password`` required to open the chat; unset means no login. ``--auth`` on the command line shows
    in the process list: prefer this variable, or ``auth_file``."""
    auth_file: Path | None = None
    """A file whose first line is ``user:password`` (keep it 0600), instead of ``auth``."""
    backends: list[Backend] | None = None
    """Backends the chat offers its users (``--backends extractive,openai``; as JSON in the environment:
    ``PAPERCHAT_BACKENDS='["extractive","openai"]'``). Unset: only ``backend``. Each one costs what it
    costs to load (``local``: a 1.1 GB model), so the operator decides, not the users."""
    queue_size: int = 16
    """Questions waiting for the model beyond which new ones are turned away with a message."""
    login_failures: int = 5
    """Wrong logins a client (an IP address) may make in a row before it must wait ``login_lockout_seconds``."""
    login_lockout_seconds: float = 60.0
    """How long a client that failed ``login_failures`` times is refused (HTTP 429) without its password being
    checked; it doubles with each further failure, up to an hour."""
    max_upload_bytes: int = 1_048_576
    """Largest file the server accepts on its upload route (the chat needs none; Gradio has the route anyway)."""
    max_comment_chars: int = 2000
    """Longest feedback comment; a longer one is refused with a message."""

    @property
    def feedback_path(self) -> Path:
        return self.data_dir / "feedback.jsonl"
