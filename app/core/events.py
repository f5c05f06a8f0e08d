"""What the engine tells its callers: model info, streamed tokens, timings, scores.

Plain dataclasses, so they cross the engine's process boundary by pickling and
the UI and the command line read the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

FinishReason = Literal["stop", "length", "cancelled", "error"]


@dataclass(frozen=True)
class LoadOptions:
    """How to load a model. ``n_ctx`` is rounded up to a multiple of 256 (FACTS.md)."""

    n_ctx: int = 4096
    n_gpu_layers: int = -1
    n_threads: int | None = None
    n_batch: int = 512
    # prompt tokens read between two progress reports (and two looks at the stop flag); a stop inside
    # one step comes from llama.cpp's abort callback alone. Tests set it to the whole batch to prove that.
    prompt_step: int = 128

    def normalised(self) -> LoadOptions:
        n_ctx = max(256, -(-self.n_ctx // 256) * 256)
        return replace(self, n_ctx=n_ctx)


@dataclass(frozen=True)
class ModelInfo:
    """What a loaded model is, read from the GGUF file and from llama.cpp."""

    path: str
    name: str
    architecture: str
    parameters: int
    quantization: str
    file_size: int
    context_trained: int
    context: int
    vocab_size: int
    has_chat_template: bool
    chat_template_note: str
    gpu_offload_supported: bool
    gpu_layers: int
    n_threads: int  # decode threads at load
    gpu_free_bytes: int = 0  # free memory on the GPU(s) llama.cpp can use; 0 when none
    threads_automatic: bool = False  # decode threads follow measured speed (app.core.threads), from n_threads
    cpu_variant: str = ""  # the llama.cpp CPU code that runs: "built-in", or a variant such as "zen4"
    cpu_skipped: tuple[str, ...] = ()  # better CPU variants not used: they crashed on this computer
    cpu_note: str = ""  # which were skipped and why ("" when none was)


@dataclass(frozen=True)
class Alternative:
    """One candidate for a position: its text, token id and probability (0..1)."""

    text: str
    token_id: int
    prob: float


@dataclass(frozen=True)
class TokenEvent:
    """One generated token.

    ``text`` may be empty while a multi-byte character is incomplete, and holds
    the text that became visible with this token. ``prob`` is the model's own
    probability of the token (before sampling settings reshape it);
    ``alternatives`` is filled only when the caller asked for them. ``sequence``
    says which of several texts generated side by side it belongs to (0 for one).
    """

    text: str
    token_id: int
    prob: float | None = None
    alternatives: tuple[Alternative, ...] = ()
    sequence: int = 0


@dataclass(frozen=True)
class PromptProgress:
    """How much of the prompt llama.cpp has read, sent after each batch of a long prompt.

    ``done`` and ``total`` count the prompt tokens that had to be evaluated
    (a reused cached prefix is not counted).
    """

    done: int
    total: int

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


@dataclass(frozen=True)
class Timings:
    """How long a request took. ``prompt_evaluated`` < ``prompt_tokens`` means reuse."""

    prompt_tokens: int = 0
    prompt_evaluated: int = 0
    prompt_ms: float = 0.0
    generated_tokens: int = 0
    generation_ms: float = 0.0
    first_token_ms: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        if self.generation_ms <= 0:
            return 0.0
        return self.generated_tokens * 1000.0 / self.generation_ms


@dataclass(frozen=True)
class Finished:
    """The end of a stream: why it ended, the whole text, and what was adjusted.

    With several sequences, ``text`` is the first and ``texts`` holds each. For a
    document, ``view_start`` is where the model's view of the text before the cursor
    begins (a character offset) and ``words_outside`` how many words lie before it.
    ``drafted`` counts tokens taken from the text's own n-grams and kept.
    """

    reason: FinishReason
    text: str
    timings: Timings = field(default_factory=Timings)
    seed: int | None = None
    dropped_messages: int = 0
    truncated_prompt_tokens: int = 0
    max_tokens_used: int = 0
    error: str = ""
    not_applied: tuple[str, ...] = ()  # settings the backend (a remote server) does not take
    note: str = ""  # how the backend had to deviate from the request, in words (e.g. no raw completion)
    texts: tuple[str, ...] = ()
    view_start: int = 0
    words_outside: int = 0
    drafted: int = 0


@dataclass(frozen=True)
class ScoredToken:
    """How surprising one token of a text was: its log-probability given what came before.

    ``logprob`` is None for the first token when the model has no start token to
    condition on. ``expected`` lists the model's most likely tokens at that position.
    """

    text: str
    token_id: int
    logprob: float | None
    expected: tuple[Alternative, ...] = ()


@dataclass(frozen=True)
class ScoreResult:
    """Per-token log-probabilities of a text, and the text's perplexity."""

    tokens: tuple[ScoredToken, ...]

    @property
    def perplexity(self) -> float:
        import math

        lps = [t.logprob for t in self.tokens if t.logprob is not None]
        if not lps:
            return float("nan")
        return math.exp(-sum(lps) / len(lps))


@dataclass(frozen=True)
class PerplexityRow:
    """Compare's answer for one model: how surprised it was by the text (``error`` says why there is none)."""

    path: str
    name: str
    perplexity: float
    bits_per_token: float
    tokens: int
    error: str = ""


@dataclass(frozen=True)
class AdapterSlot:
    """A LoRA adapter applied beside the main model: its GGUF file and how strongly (llama.cpp's scale)."""

    path: str
    scale: float = 1.0


@dataclass(frozen=True)
class ModelSlots:
    """What a loaded engine holds beside its main model (the seam for adapters, sources and images).

    ``adapters`` are applied per request in this order; ``embedding`` is the file of the
    embedding model that indexes and searches sources ("" for none); ``projector`` is a
    vision projector (mmproj) for image parts ("" for none). A backend says which slots it
    offers through its ``Capabilities``; this release declares the data only, and the
    helpers that fill a slot add its request to the engine (see docs/ARCHITECTURE.md,
    "Seams for the third release").
    """

    adapters: tuple[AdapterSlot, ...] = ()
    embedding: str = ""
    projector: str = ""
