"""Small stand-ins for external services, for fast tests."""

from __future__ import annotations

import threading

from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata
from llama_index.core.llms.callbacks import llm_completion_callback
from pydantic import Field, PrivateAttr


class ScriptedLLM(CustomLLM):
    """Stands in for a model: replies with a fixed text (e.g. one that cites a made-up paper) and
    records the prompts it was sent."""

    reply: str = ""
    prompts: list[str] = Field(default_factory=list)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(is_chat_model=False)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs) -> CompletionResponse:
        self.prompts.append(prompt)
        return CompletionResponse(text=self.reply)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs):
        self.prompts.append(prompt)

        def gen():
            text = ""
            for word in self.reply.split(" "):
                delta = word if not text else " " + word
                text += delta
                yield CompletionResponse(text=text, delta=delta)
        return gen()


class GatedLLM(ScriptedLLM):
    """Stands in for a slow model: each answer writes its first word, then waits until the test opens the
    gate, so a test holds answer slots for exactly as long as it needs. :meth:`wait_for_held` awaits the
    number of answers waiting at the gate."""

    _gate: threading.Event = PrivateAttr(default_factory=threading.Event)
    _changed: threading.Condition = PrivateAttr(default_factory=threading.Condition)
    _held: int = PrivateAttr(default=0)

    def open(self) -> None:
        self._gate.set()

    def wait_for_held(self, count: int, timeout: float = 60) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._held == count, timeout)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs):
        self.prompts.append(prompt)

        def gen():
            with self._changed:
                self._held += 1
                self._changed.notify_all()
            try:
                first, _, rest = self.reply.partition(" ")
                yield CompletionResponse(text=first, delta=first)
                self._gate.wait(timeout=120)  # never forever, whatever the test does
                yield CompletionResponse(text=self.reply, delta=" " + rest)
            finally:
                with self._changed:
                    self._held -= 1
                    self._changed.notify_all()
        return gen()
