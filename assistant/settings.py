"""The answer engine's settings, on top of the index settings (``index/settings.py``).

Each layer keeps its settings next to its code and extends the one below, so the
program still reads one object: the command line reads ``ui.settings.Settings``
(these plus the chat server's) once, from ``PAPERCHAT_*`` environment variables,
and passes it down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_cache_dir
from pydantic import SecretStr, field_validator

from assistant.backends import get_backend
from index.errors import UserError
from index.settings import IndexSettings


def registered_backend(name: str) -> str:
    """``name`` when it is a registered backend (assistant/backends.py); else a ValueError naming the choices."""
    try:
        return get_backend(name).name
    except UserError as exc:
        raise ValueError(str(exc)) from None


class Settings(IndexSettings):
    backend: str = "local"
    """Which LLM writes the answers: a registered backend (assistant/backends.py). Built in: ``local`` (the bundled
    model), ``openai`` (any OpenAI-compatible server), ``ollama`` (Ollama's native API) and ``extractive`` (no LLM:
    the cited evidence sentences)."""

    topic: str = "speech, audio and language models"
    """What the collection is about, in a few English words: the chat's header and the reply to an off-topic
    question name it. Empty: not named. Set it when you ingest papers of your own."""
    topic_zh: str = "语音、音频与大语言模型"
    """The same in Chinese, for replies in Chinese."""

    top_k: int = 4
    """Papers whose evidence is shown to the model."""

    evidence_tokens: int = 260
    """Budget for the evidence in the prompt, most of it for the paper that leads the ranking: prompt tokens ÷
    prefill rate is the wait for the first token, so this is the main latency lever."""

    max_answer_tokens: int = 220
    """Longest answer the model may write, in tokens."""
    temperature: float = 0.0
    """Sampling temperature of the answer model (0: always the most likely token)."""

    model_cache_dir: Path = Path(user_cache_dir("paperchat"))
    """Where the bundled GGUF is assembled from its part packages (1.1 GB, once, sha256-checked)."""

    openai_base_url: str = "http://127.0.0.1:8000/v1"
    """Base URL of the ``openai`` backend's server (vLLM, llama.cpp server, Ollama's /v1, OpenAI). Credentials in this URL (or in ``ollama_url``, ``chroma_url``)
    are never shown: messages and logs show ``***`` instead."""
    openai_model: str = "default"
    """Model name the ``openai`` backend asks its server for."""
    openai_api_key: SecretStr = SecretStr("not-needed")
    """API key of the ``openai`` backend's server (never shown)."""
    ollama_url: str = "http://127.0.0.1:11434"
    """Base URL of the Ollama server of the ``ollama`` backend."""
    ollama_model: str = "qwen2.5:1.5b-instruct"
    """Model the ``ollama`` backend asks for."""
    request_timeout: float = 60.0
    """Seconds a remote backend may take to answer."""
    connect_timeout: float = 2.0
    """Seconds to reach a remote backend: an unreachable server is reported this soon."""

    retrieval: Literal["hybrid", "dense", "bm25"] = "hybrid"
    """Retriever of the answer engine: dense and BM25 fused by reciprocal rank (``hybrid``), or either alone."""

    min_dense_score_en: float = 0.785
    """Dense similarity an English question must reach, unless BM25 finds it (see ``min_bm25_score``)."""
    min_dense_score_zh: float = 0.846
    """The same for a Chinese question: e5 scores Chinese questions higher."""
    min_bm25_score: float = 2.5
    """Below both this BM25 score and the dense score of the question's language, the collection is taken not to
    cover the question ("Off-topic thresholds" in docs/performance.md has the measurements)."""

    low_evidence_score_en: float = 0.802
    """An English question whose best source (the e5 similarity of its best chunk) scores below this gets the
    low-evidence notice, as does an answer only partly supported. Chosen on the development set to flag at
    most 10% of answerable questions ("Low-evidence threshold" in docs/performance.md)."""
    low_evidence_score_zh: float = 0.885
    """The same for a Chinese question (e5 scores Chinese questions higher)."""

    topic_check_margin: float = 0.05
    """"Is there a paper on X?" whose best source scores from ``topic_check_below`` under the low-evidence
    threshold to this much above it is one e5 is in doubt about: the bundled model decides whether the top paper,
    or else the second, is on the topic (``topic_check_min_yes``); the one it accepts leads the evidence. Above, the top
    paper is the one sought, unless the model then writes nothing that answers (the check decides after all);
    below, there is no such paper. Each judgement costs 2-4 s ("A topic check" and "The judge when the model
    refuses" in docs/performance.md). 0.05, not 0.02: the five wrong top papers e5 accepted on the read sets
    scored 0.022-0.041 over the threshold, and the check accepts 28 of 29 right ones ("A wider doubt band"
    there). Both 0 turn it off; backends without log-probabilities never run it (for them the threshold alone
    decides)."""
    topic_check_below: float = 0.03
    """How far under the low-evidence threshold the topic check still runs: a paper asked for in words unlike its
    summary's scores up to 0.03 under it, as absent topics do, and the model tells them apart ("A topic check
    below the threshold" in docs/performance.md)."""
    topic_check_min_yes: float = 0.70
    """The model's P(yes) that a paper is the kind of work asked about, below which it is not (for both of the
    top two: "no such paper"). Between the absent topics (up to 0.69) and the papers sought (from 0.73) of the
    development and read sets; 0.65 let two absent topics of fresh questions through."""

    search_translation: bool = True
    """When dense search and BM25 rank different papers first for a question in another language than most of
    the papers found, the bundled model translates it (about 1.6 s on 2 cores) and both search the translation
    ("Searching in the collection's language" in docs/performance.md). Off: retrieval never waits for the model.
    Other backends never translate."""

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

    _registered = field_validator("backend")(registered_backend)
