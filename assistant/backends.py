"""LLM backends behind llama-index's LLM interface, chosen by ``Settings.backend``.

``extractive`` has no LLM (None): the engine composes the answer from cited
evidence sentences itself.
"""

from __future__ import annotations

from llama_index.core.llms import LLM

from assistant.settings import Settings
from index.redact import redact


def backend_location(settings: Settings) -> str:
    """Where the backend runs, for error messages; credentials in a URL are left out."""
    return redact({
        "local": f"bundled GGUF in {settings.model_cache_dir}",
        "openai": settings.openai_base_url,
        "ollama": settings.ollama_url,
        "extractive": "in-process",
    }[settings.backend])


def load_llm(settings: Settings) -> LLM | None:
    """The configured LLM; raises a one-line UserError when it cannot be set up."""
    if settings.backend == "extractive":
        return None
    if settings.backend == "local":
        from assistant.local_llm import LocalLlamaLLM, bundled_model_path

        threads = {"n_threads": settings.llm_threads} if settings.llm_threads else {}
        return LocalLlamaLLM(bundled_model_path(settings.model_cache_dir), max_tokens=settings.max_answer_tokens,
                             temperature=settings.temperature, **threads)
    if settings.backend == "openai":
        import httpx
        from llama_index.llms.openai_like import OpenAILike

        # No retries and a short connect timeout: an unreachable server is reported in ~2 s, not ~12 s.
        return OpenAILike(model=settings.openai_model, api_base=settings.openai_base_url,
                          api_key=settings.openai_api_key.get_secret_value(), is_chat_model=True, max_retries=0,
                          timeout=settings.request_timeout, temperature=settings.temperature,
                          max_tokens=settings.max_answer_tokens, context_window=8192,
                          http_client=httpx.Client(timeout=httpx.Timeout(settings.request_timeout,
                                                                         connect=settings.connect_timeout)))
    from llama_index.llms.ollama import Ollama

    return Ollama(model=settings.ollama_model, base_url=settings.ollama_url, request_timeout=settings.request_timeout,
                  temperature=settings.temperature, additional_kwargs={"num_predict": settings.max_answer_tokens})
