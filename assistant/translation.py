"""Searching in the collection's language: a question in one language over summaries written in another.

e5 places an English question near Chinese summaries less reliably than near
English ones, and BM25 cannot match across languages at all: an English question
about a Chinese summary finds whatever paper shares its English words (the
collection's one English-language summary first). When that happens, dense search
and BM25 disagree about the best paper. Only then is the question translated by
the model into the language of the candidates and searched again; the translation
is used for retrieval only, never shown and never quoted.

Measured on the bundled collection ("Searching in the collection's language" in
docs/performance.md): retrieval hit@1 of English questions improves on the
development and read blind sets, and a third to two fifths of English questions
pay the translation (about 1.6 s on 2 cores) before the first token.
"""

from __future__ import annotations

import functools

from llama_index.core.llms import LLM, ChatMessage

from assistant import prompts
from assistant.retrieval import Retrieval
from index.corpus import detect_language

MAX_TRANSLATED_CHARS = 500
"""The part of a question that is translated: the prompt must fit the model's context (2048 tokens, and a
Chinese character is about a token), and the embedder reads only the first 512 tokens anyway."""
MAX_TRANSLATION_TOKENS = 96
"""Enough for the key terms of a long question's translation; retrieval needs no more than that."""


class QuestionTranslator:
    """Translates a question for retrieval when the channels disagree, with the given model.

    Translations are remembered per question (a question asked again, an answer regenerated), up to
    ``cache_size`` of them.
    """

    def __init__(self, llm: LLM, cache_size: int = 256):
        self.llm = llm
        self._translate = functools.lru_cache(maxsize=cache_size)(self._complete)

    def search_for(self, question: str, retrieval: Retrieval) -> str | None:
        """The question in the candidates' language when it should be searched again so; else None.

        Only when dense search and BM25 rank different papers first (where they agree, the ranking held
        without translation on the measured sets) and the question is in another language than most of the
        candidates (a Chinese question over Chinese summaries never pays for a model call).
        """
        source, target = detect_language(question), retrieval.language
        if retrieval.channels_agree or retrieval.requested_ids or not target or source == target:
            return None
        translated = self._translate(question[:MAX_TRANSLATED_CHARS], source, target).strip()
        return translated if translated and detect_language(translated) == target else None

    def _complete(self, question: str, source: str, target: str) -> str:
        system = prompts.TRANSLATE_SYSTEM.format(source=prompts.TRANSLATE_LANGUAGES[source],
                                                 target=prompts.TRANSLATE_LANGUAGES[target])
        messages = [ChatMessage(role="system", content=system),
                    ChatMessage(role="user", content=prompts.sanitize(question))]
        return self.llm.chat(messages, max_tokens=MAX_TRANSLATION_TOKENS, temperature=0.0).message.content or ""
