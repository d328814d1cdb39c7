"""LLM backends behind llama-index's LLM interface: one registry of name -> factory.

Every backend registers through :func:`register_backend`, the built-in ones
below as much as a plugin's: a package that adds a backend names a function in
the ``paperchat.backends`` entry-point group, which is called (and registers
what it brings) the first time the registry is read. The settings' validation
(``PAPERCHAT_BACKEND``, ``PAPERCHAT_BACKENDS``), the command line's
``--backend`` choices and the chat's backend dropdown all read this registry,
so a backend exists everywhere or nowhere.

``extractive`` has no LLM (its factory returns None): the engine composes the
answer from cited evidence sentences itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from index.errors import UserError
from index.redact import redact

if TYPE_CHECKING:  # llama-index is slow to import; only the factories need it, when they run
    from llama_index.core.llms import LLM

    from assistant.settings import Settings

ENTRY_POINT_GROUP = "paperchat.backends"


@dataclass(frozen=True)
class Backend:
    """A way to answer: how to build its LLM, where it runs, and what it is (for people choosing one)."""

    name: str
    load: Callable[[Settings], LLM | None]
    """Builds the LLM from the settings; raises a one-line UserError when it cannot be set up."""
    location: Callable[[Settings], str]
    """Where it runs, for error messages (credentials in a URL are removed before it is shown)."""
    description: str


_REGISTRY: dict[str, Backend] = {}
_plugins_loaded = False


def register_backend(name: str, load: Callable[[Settings], LLM | None], location: Callable[[Settings], str],
                     description: str) -> None:
    """Add (or replace) the backend ``name``; see :class:`Backend` for the arguments."""
    _REGISTRY[name] = Backend(name, load, location, description)


def registered_backends() -> dict[str, Backend]:
    """Every backend by name, in the order registered (the built-in ones first, then plugins)."""
    global _plugins_loaded
    if not _plugins_loaded:
        _plugins_loaded = True
        for entry_point in entry_points(group=ENTRY_POINT_GROUP):
            entry_point.load()()
    return _REGISTRY


def backend_names() -> list[str]:
    return list(registered_backends())


def get_backend(name: str) -> Backend:
    backends = registered_backends()
    if name not in backends:
        raise UserError(f"unknown backend {str(name)[:40]!r}; choose among {', '.join(backends)}")
    return backends[name]


def backend_location(settings: Settings) -> str:
    """Where the backend runs, for error messages; credentials in a URL are left out."""
    return redact(get_backend(settings.backend).location(settings))


def load_llm(settings: Settings) -> LLM | None:
    """The configured LLM (None for a backend without one); raises a one-line UserError when it cannot be set up."""
    return get_backend(settings.backend).load(settings)


# --- the built-in backends -----------------------------------------------------------

def _local(settings: Settings) -> LLM:
    from assistant.local_llm import LocalLlamaLLM, bundled_model_path

    threads = {"n_threads": settings.llm_threads} if settings.llm_threads else {}
    return LocalLlamaLLM(bundled_model_path(settings.model_cache_dir), max_tokens=settings.max_answer_tokens,
                         temperature=settings.temperature, **threads)


def _openai(settings: Settings) -> LLM:
    import httpx
    from llama_index.llms.openai_like import OpenAILike

    # No retries and a short connect timeout: an unreachable server is reported in ~2 s, not ~12 s.
    return OpenAILike(model=settings.openai_model, api_base=settings.openai_base_url,
                      api_key=settings.openai_api_key.get_secret_value(), is_chat_model=True, max_retries=0,
                      timeout=settings.request_timeout, temperature=settings.temperature,
                      max_tokens=settings.max_answer_tokens, context_window=8192,
                      http_client=httpx.Client(timeout=httpx.Timeout(settings.request_timeout,
                                                                     connect=settings.connect_timeout)))


def _ollama(settings: Settings) -> LLM:
    from llama_index.llms.ollama import Ollama

    return Ollama(model=settings.ollama_model, base_url=settings.ollama_url, request_timeout=settings.request_timeout,
                  temperature=settings.temperature, additional_kwargs={"num_predict": settings.max_answer_tokens})


register_backend("local", _local, lambda s: f"bundled GGUF in {s.model_cache_dir}",
                 "the bundled Qwen2.5-Coder-1.5B model (GGUF, llama.cpp)")
register_backend("openai", _openai, lambda s: s.openai_base_url, "any OpenAI-compatible server")
register_backend("ollama", _ollama, lambda s: s.ollama_url, "Ollama's native API")
register_backend("extractive", lambda s: None, lambda s: "in-process",
                 "no LLM: quotes the cited evidence sentences")
