"""The llama.cpp runtime inside the engine process: load, generate, score.

Only the engine process imports this module. It drives llama-cpp-python's
``Llama`` at the level of ``eval`` and a sampler chain instead of
``create_completion`` so that it can:

- reuse the longest cached prompt prefix (a follow-up turn evaluates only new tokens);
- read the probability and alternatives of each token from the last position's
  logits (no ``logits_all`` buffer, no quarter-speed decode);
- stop between tokens and, through llama.cpp's abort callback, inside a long prompt;
- detokenize with a large buffer, so whitespace tokens longer than 32 bytes survive
  (llama-cpp-python drops them; see FACTS.md) and code keeps its indentation.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import gc
import io
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

# numpy at module level: whoever imports this module imports llama_cpp first (worker.py,
# selftest.py): with a CUDA build, numpy's OpenBLAS mapped before llama.cpp's libraries made
# the next model load crash (SIGSEGV; seen on an H200 with numpy 2.5)
import numpy as np

from app.core.adapters import AdapterInfo, check_fits, read_adapter
from app.core.context import BanGuard, StopMatcher, fit_messages, keep_tail
from app.core.document_view import layout_document, middle_end, middle_stops
from app.core.drafting import DraftIndex
from app.core.errors import (
    AdapterError,
    ContextOverflow,
    EngineError,
    InsufficientMemory,
    Interrupted,
    ModelFileError,
    NoModelLoaded,
)
from app.core.events import (
    Alternative,
    Finished,
    LoadOptions,
    ModelInfo,
    PromptProgress,
    ScoredToken,
    ScoreResult,
    Timings,
    TokenEvent,
)
from app.core.gguf import read_header
from app.core.memory import effective_context, memory_needed_for
from app.core.ports import PeekResult
from app.core.sampling import SamplingSettings
from app.core.system import available_memory
from app.core.thinking import ThinkingSplitter, forced_open_marker, markers_in_template, template_has_think_switch
from app.core.tools import ToolOffer
from app.engine.backends import current_choice, ensure_backends, ggml_libraries
from app.engine.chat_format import NO_TOOLS_NOTE, ChatFormat, tolerate_broken_templates_in_llama
from app.engine.llama_log import LlamaLog
from app.engine.sampler import build_sampler, grammar_allows, prime_history
from app.engine.threads import EngineThreads
from app.engine.tool_grammar import tool_call_grammar

Emit = Callable[[TokenEvent | PromptProgress], None]
_MIN_REPLY = 16  # a reply shorter than this is not worth starting
MAX_SEQUENCES = 4  # texts that can be generated side by side in one batch (alternatives)
_DRAFT_NGRAM = 2  # tokens that must match before the text's n-grams are used as a draft
_DRAFT_FIRST = 4  # drafted tokens checked in the first batch at a new match (a wrong guess is cheap)
_DRAFT_MAX = 16  # ... doubling while the model agrees with the whole draft, up to this many


def _libc_strlen() -> Any:
    """A C function usable as llama.cpp's abort callback with no Python in the loop.

    ``strlen(flag)`` is 0 while the shared flag byte is 0 and 1 once it is set to 1,
    which is exactly "should abort?". A Python callback would run per graph node
    (hundreds of times a token) under the GIL and cost decode speed.
    """
    if sys.platform == "win32":
        return ctypes.cdll.msvcrt.strlen
    return ctypes.CDLL(None).strlen


def gpu_free_memory() -> int:
    """Free bytes on the GPUs ggml can offload to (0 on a CPU-only build or when unknown).

    llama-cpp-python does not wrap ggml's device API, so it is called through ctypes.
    """
    ensure_backends()
    try:
        ggml, base = ggml_libraries()  # the copies llama.cpp uses (a second copy has an empty registry)
        ggml.ggml_backend_dev_count.restype = ctypes.c_size_t
        ggml.ggml_backend_dev_get.restype = ctypes.c_void_p
        ggml.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
        base.ggml_backend_dev_type.restype = ctypes.c_int
        base.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
        base.ggml_backend_dev_memory.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_size_t)]
        free_total = 0
        for i in range(ggml.ggml_backend_dev_count()):
            dev = ggml.ggml_backend_dev_get(i)
            if base.ggml_backend_dev_type(dev) in (1, 2):  # GPU, integrated GPU
                free, total = ctypes.c_size_t(), ctypes.c_size_t()
                base.ggml_backend_dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
                free_total += free.value
        return free_total
    except (OSError, AttributeError):
        return 0


@contextlib.contextmanager
def _parallel_sequences(n_seq: int) -> Iterator[None]:
    """Make ``Llama`` create its context with room for ``n_seq`` sequences in one shared KV cache.

    llama-cpp-python has no argument for it; it builds its context parameters from
    ``llama_context_default_params()`` inside ``Llama.__init__``, so that function is
    wrapped for the duration of the load (the engine process is single-threaded). A
    unified cache lets the sequences share the prompt's cells instead of splitting
    the context into ``n_seq`` slices.
    """
    import llama_cpp.llama_cpp as lib

    original = lib.llama_context_default_params

    def params() -> Any:
        p = original()
        p.n_seq_max = n_seq
        p.kv_unified = True
        return p

    lib.llama_context_default_params = params
    try:
        yield
    finally:
        lib.llama_context_default_params = original


class LlamaRuntime:
    """Owns one ``llama_cpp.Llama`` at a time. Not thread-safe: one caller, the worker loop."""

    def __init__(self, cancel_flag: Any | None = None) -> None:
        self.llm: Any = None
        self.info: ModelInfo | None = None
        self._flag = cancel_flag
        self._pieces: dict[int, bytes] = {}
        self._abort_cb: Any = None
        self._prompt_step = LoadOptions.prompt_step
        self._format: ChatFormat | None = None
        self.log = LlamaLog()
        self.last_prompt: list[int] = []  # the tokens of the last generation's prompt (what the model saw)
        self._rendered = ""  # the last chat prompt as text (whether its template opened the thinking)
        self._markers_shown: set[int] = set()  # tokens of the template's thinking markers: always shown as text
        self.threads = EngineThreads(None)  # the loaded model's thread counts: pinned, or tuned by speed

    # -- state ----------------------------------------------------------------

    def cancelled(self) -> bool:
        return self._flag is not None and self._flag[0] == b"\x01"

    def _require(self) -> Any:
        if self.llm is None:
            raise NoModelLoaded()
        return self.llm

    # -- load -----------------------------------------------------------------

    def load(self, path: str, options: LoadOptions) -> ModelInfo:
        import llama_cpp

        ensure_backends()  # a portable build loads its best CPU variant here
        self.unload()
        header = read_header(path)  # rejects missing / truncated / non-GGUF files first
        opts = options.normalised()
        n_ctx = effective_context(opts.n_ctx, header.context_length)
        gpu = bool(llama_cpp.llama_supports_gpu_offload())
        gpu_layers = opts.n_gpu_layers if gpu else 0
        if not gpu_layers:
            needed = memory_needed_for(header, opts.n_ctx)  # the same estimate as the fit badges
            free = available_memory()
            if free is not None and needed > free:
                raise InsufficientMemory(needed, free, path)
        threads = EngineThreads(opts.n_threads)
        self.log.install()
        self.log.begin()
        tolerate_broken_templates_in_llama()
        try:
            # verbose=True keeps llama.cpp's stderr open during the load (verbose=False points the
            # whole process's stderr at /dev/null); our log callback filters it, and the Python-side
            # chatter of llama-cpp-python goes nowhere
            with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()), \
                    _parallel_sequences(MAX_SEQUENCES):
                llm = llama_cpp.Llama(
                    model_path=str(path), n_ctx=n_ctx, n_gpu_layers=gpu_layers, n_threads=threads.start,
                    n_threads_batch=threads.batch, n_batch=opts.n_batch, verbose=True,
                    chat_format="chatml",  # Inkling renders prompts itself; don't guess one
                )
            llm.verbose = False
        except Exception as exc:
            gc.collect()  # a Llama that failed half-way holds the model: free it now, not some day
            said = self.log.errors()
            reason = f"llama.cpp could not load it: {said}" if said else f"llama.cpp could not load it ({exc})"
            raise ModelFileError(str(path), reason) from None
        try:
            self.info = self._describe(llm, path, header, gpu, gpu_layers, threads)
        except BaseException:
            llm.close()  # a failed load leaves nothing loaded
            self._format = None
            raise
        threads.attach(llm.ctx)
        self.threads = threads
        self.llm = llm
        self._prompt_step = max(1, opts.prompt_step)
        return self.info

    def _describe(self, llm: Any, path: str, header: Any, gpu: bool, gpu_layers: int,
                  threads: EngineThreads) -> ModelInfo:
        import llama_cpp

        self._pieces = {}
        self._abort_cb = None
        if self._flag is not None:
            self._abort_cb = llama_cpp.ggml_abort_callback(ctypes.cast(_libc_strlen(), ctypes.c_void_p).value)
            llama_cpp.llama_set_abort_callback(llm.ctx, self._abort_cb, ctypes.c_void_p(ctypes.addressof(self._flag)))
        model = llm._model
        cpu = current_choice()
        bos = model.token_bos()
        eos = model.token_eos()
        # a thinking marker made of control tokens would detokenize to nothing: show those tokens as text
        self._markers_shown = {t for m in markers_in_template(header.chat_template)
                               for marker in (m.open, m.close, m.answer_header, m.answer_lead) if marker
                               for t in llm.tokenize(marker.encode("utf-8"), add_bos=False, special=True)}
        self._format = ChatFormat(
            header.chat_template,
            model.token_get_text(bos) if bos >= 0 else "",
            model.token_get_text(eos) if eos >= 0 else "",
        )
        return ModelInfo(
            path=str(path), name=header.name, architecture=header.architecture,
            parameters=header.parameters, quantization=header.quantization,
            file_size=header.file_size, context_trained=header.context_length, context=llm.n_ctx(),
            vocab_size=llm.n_vocab(), has_chat_template=self._format.has_template,
            chat_template_note=self._format.note, gpu_offload_supported=gpu,
            gpu_layers=gpu_layers, n_threads=threads.start, threads_automatic=threads.automatic,
            gpu_free_bytes=gpu_free_memory() if gpu else 0,
            cpu_variant=cpu.variant if cpu is not None else "", cpu_note=cpu.note if cpu is not None else "",
            cpu_skipped=tuple(name for name, _ in cpu.skipped) if cpu is not None else (),
            thinking_markers=tuple(m.name for m in markers_in_template(header.chat_template)),
            think_switch=template_has_think_switch(header.chat_template),
        )

    def unload(self) -> None:
        if self.llm is not None:
            llm, self.llm = self.llm, None
            llm.close()  # never touch a closed Llama again: it segfaults
        self.info = None
        self._format = None

    # -- text helpers ---------------------------------------------------------

    def _piece(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            import llama_cpp

            buf = ctypes.create_string_buffer(256)
            special = token in self._markers_shown  # a thinking marker that is a control token (gpt-oss's <|end|>)
            n = llama_cpp.llama_token_to_piece(self.llm._model.vocab, token, buf, 256, 0, special)
            if n < 0:
                buf = ctypes.create_string_buffer(-n)
                n = llama_cpp.llama_token_to_piece(self.llm._model.vocab, token, buf, -n, 0, special)
            piece = buf.raw[: max(n, 0)]
            self._pieces[token] = piece
        return piece

    def _text(self, token: int) -> str:
        return self._piece(token).decode("utf-8", errors="replace")

    def tokenize(self, text: str, *, special: bool = False, add_bos: bool = True) -> list[int]:
        llm = self._require()
        return llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special)

    def token_pieces(self, text: str) -> list[tuple[int, str]]:
        return [(t, self._text(t)) for t in self.tokenize(text, add_bos=False)]

    def chat_tokens(self, messages: list[dict[str, str]], **variables: Any) -> list[int]:
        self._require()
        assert self._format is not None
        prompt = self._format.render(messages, **variables)
        self._rendered = prompt
        bos = self._format.bos_token
        add_bos = not (bos and prompt.startswith(bos))
        return self.tokenize(prompt, special=True, add_bos=add_bos)

    def count_chat_tokens(self, messages: list[dict[str, str]]) -> int:
        return len(self.chat_tokens(messages))

    def count_text_tokens(self, text: str) -> int:
        return len(self.tokenize(text, add_bos=False))

    def last_prompt_text(self) -> str:
        return b"".join(self._piece(t) for t in self.last_prompt).decode("utf-8", errors="replace")

    # -- generation -----------------------------------------------------------

    def chat(self, messages: list[dict[str, str]], settings: SamplingSettings, alternatives: int, emit: Emit,
             continue_last: bool = False, tools: ToolOffer | None = None) -> Finished:
        if tools is None:
            return self._chat(messages, settings, alternatives, emit, continue_last)
        assert self._format is not None
        forced = tools.forced()
        if forced and not (settings.grammar or settings.json_schema):
            settings = settings.replace(grammar=tool_call_grammar(forced))
        self._format.tools = list(tools.tools)
        try:
            fin = self._chat(messages, settings, alternatives, emit, continue_last)
        finally:
            self._format.tools = None
        return fin if self._format.takes_tools else replace(fin, note=fin.note or NO_TOOLS_NOTE)

    def _chat(self, messages: list[dict[str, str]], settings: SamplingSettings, alternatives: int, emit: Emit,
              continue_last: bool = False) -> Finished:
        llm = self._require()
        n_ctx = llm.n_ctx()
        budget = max(n_ctx - settings.max_tokens, 0)
        if continue_last and messages and messages[-1]["role"] == "assistant":
            # the reply so far follows the generation prompt as plain text, left open
            partial = self.tokenize(messages[-1]["content"], add_bos=False)
            fitted = fit_messages(messages[:-1], self.count_chat_tokens, max(budget - len(partial), 0))
            tokens = self.chat_tokens(fitted.messages, enable_thinking=settings.thinking) + partial
            opened = ""  # a continued answer goes on as answer
        else:
            fitted = fit_messages(messages, self.count_chat_tokens, budget)
            tokens = self.chat_tokens(fitted.messages, enable_thinking=settings.thinking)
            opened = forced_open_marker(self._rendered)  # the template began the thinking for the model
        max_tokens = settings.max_tokens
        if len(tokens) + max_tokens > n_ctx:
            max_tokens = n_ctx - len(tokens)
            if max_tokens < _MIN_REPLY:
                raise ContextOverflow(len(tokens), n_ctx)
        return self._generate(tokens, settings, alternatives, emit, max_tokens=max_tokens,
                              dropped=fitted.dropped, strip_first=not continue_last, thinking=opened or True)

    def fim_tokens(self) -> tuple[int, int, int] | None:
        """(prefix, suffix, middle) marker tokens when the model was trained to fill in the middle."""
        import llama_cpp

        vocab = self._require()._model.vocab
        ids = (llama_cpp.llama_vocab_fim_pre(vocab), llama_cpp.llama_vocab_fim_suf(vocab), llama_cpp.llama_vocab_fim_mid(vocab))
        return ids if all(i >= 0 for i in ids) else None

    def complete(self, prompt: str, settings: SamplingSettings, alternatives: int, emit: Emit,
                 suffix: str = "", memory: str = "", sequences: int = 1) -> Finished:
        """Continue ``prompt`` (the text before the cursor), with ``memory`` kept in view before it.

        A text longer than the context is laid out by :func:`layout_document`: memory, then
        as much of the text's end as fits, starting on a stable paragraph boundary so that
        the cached prefix survives edits near the cursor. With ``suffix`` (the text after
        the cursor) the model fills in the middle when it has FIM tokens; otherwise the
        suggestion ends where the following text picks up. ``sequences`` > 1 generates that
        many texts side by side from one read of the prompt.
        """
        llm = self._require()
        n_ctx = llm.n_ctx()
        fim = self.fim_tokens() if suffix.strip() else None
        max_tokens = min(settings.max_tokens, n_ctx // 2)
        budget = n_ctx - max_tokens - (4 if fim else 1) - 8  # 8: the joins may tokenize a little differently
        view = layout_document(prompt, suffix, memory, self.count_text_tokens, budget, fim=fim is not None)
        if fim is not None:
            # fill in the middle: <pre> before <suf> after <mid> → the model writes what goes between
            pre, suf, mid = fim
            tokens = [pre, *self.tokenize(view.prompt, add_bos=False), suf, *self.tokenize(view.after, add_bos=False), mid]
        else:
            tokens = self.tokenize(view.prompt, add_bos=True)
        bos = llm._model.token_bos()
        kept = keep_tail(tokens, n_ctx - max_tokens, keep_first=bos if bos >= 0 and fim is None else None)
        truncated = (self.count_text_tokens(prompt[: view.start]) if view.start else 0) + len(tokens) - len(kept)
        extra = {"view_start": view.start, "words_outside": view.words_outside}
        middle = suffix if fim is None and suffix.strip() else ""
        if sequences > 1:
            return self._generate_many(kept, settings, alternatives, emit, sequences, max_tokens=max_tokens,
                                       truncated=truncated, middle=middle, **extra)
        return self._generate(kept, settings, alternatives, emit, max_tokens=max_tokens, truncated=truncated,
                              middle=middle, **extra)

    def _reuse_prefix(self, tokens: list[int]) -> int:
        """Keep the longest cached prefix of ``tokens``; return how many tokens are cached."""
        llm = self.llm
        cached = llm.n_tokens
        limit = min(cached, len(tokens))
        same = 0
        if limit:
            diff = np.nonzero(llm.input_ids[:limit] != np.asarray(tokens[:limit], dtype=llm.input_ids.dtype))[0]
            same = int(diff[0]) if len(diff) else limit
        same = min(same, len(tokens) - 1)  # the last prompt token is always evaluated for fresh logits
        if same > 0 and self._forget_from(same):
            llm.n_tokens = same
            return same
        llm.n_tokens = 0
        self._forget_from(0)
        return 0

    def _forget_from(self, p0: int) -> bool:
        """Remove positions ``p0`` onwards from every sequence of the KV cache.

        Not ``LlamaContext.kv_cache_seq_rm(-1, ...)``: llama-cpp-python turns seq_id -1 into 0 there,
        which clears sequence 0 only; the low-level call passes -1 ("all sequences") through.
        """
        import llama_cpp

        return bool(llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(self.llm.ctx), -1, p0, -1))

    def _read_prompt(self, tokens: list[int], emit: Emit) -> None:
        """Evaluate the prompt batch by batch, telling ``emit`` how far it got after each batch.

        A long prompt can take many seconds on a CPU; the progress lets the window say so.
        Steps of ``LoadOptions.prompt_step`` tokens (128) cost no measurable speed here and give a smooth
        percentage. A stop is seen between steps here, and inside a step by llama.cpp's abort callback.
        """
        llm = self.llm
        step = min(llm.n_batch, self._prompt_step)
        if len(tokens) <= step:
            llm.eval(tokens)
            return
        for i in range(0, len(tokens), step):
            llm.eval(tokens[i:i + step])
            if self.cancelled():
                raise RuntimeError("cancelled while reading the prompt")
            emit(PromptProgress(min(i + step, len(tokens)), len(tokens)))

    def _generate(self, tokens: list[int], s: SamplingSettings, n_alt: int, emit: Emit, *, max_tokens: int,
                  dropped: int = 0, truncated: int = 0, strip_first: bool = False, middle: str = "",
                  view_start: int = 0, words_outside: int = 0, seed: int | None = None,
                  thinking: str | bool = False) -> Finished:
        """Sample up to ``max_tokens`` after ``tokens``, emitting each.

        ``thinking`` (a chat): the reply may think first, and the thinking budget applies; a string is
        the open marker the prompt already wrote, shown as the reply's first text.
        """
        import llama_cpp
        from llama_cpp import _internals

        llm = self.llm
        start = time.perf_counter()
        reused = self._reuse_prefix(tokens)
        if seed is None:
            seed = s.seed if s.seed is not None else random.randrange(2**31)
        bias = {int(t): float(b) for t, b in s.logit_bias}
        sampler = build_sampler(llm, s, seed, bias)
        prime_history(sampler, tokens, s)
        self.last_prompt = list(tokens)
        extra = {"view_start": view_start, "words_outside": words_outside}
        try:
            self._read_prompt(tokens[reused:], emit)
        except RuntimeError as exc:
            if self.cancelled():
                return Finished("cancelled", "", Timings(len(tokens), len(tokens) - reused, _ms(start)), seed, dropped,
                                truncated, **extra)
            raise EngineError(f"llama.cpp failed while reading the prompt: {exc}") from None
        prompt_ms = _ms(start)

        vocab = llm._model.vocab
        n_vocab = llm.n_vocab()
        n_ctx = llm.n_ctx()
        ctx = llm._ctx
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        stops = StopMatcher(tuple(s.stop) + middle_stops(middle))
        parts: list[str] = []
        reason = "length"
        first_ms = 0.0
        gen_start = time.perf_counter()
        leading = strip_first
        ended = False  # the suggestion reached where the text after the cursor picks up
        # banned words: generated tokens are held back while they might still spell one;
        # on a match generation backs off to where the word began and bans that token there
        guard = BanGuard(s.banned_words)
        held: list[TokenEvent] = []
        gen: list[int] = []
        bans_at: dict[int, set[int]] = {}
        # drafting from the text: the batch just decoded holds the token and its draft; rows
        # are the logits rows still to sample from, guesses what the draft expects there
        drafts = DraftIndex(tokens, _DRAFT_NGRAM, _DRAFT_MAX) if s.draft_from_text and not guard else None
        draft_len = _DRAFT_FIRST  # on a CPU a batch of n rows costs about n/2 single steps: grow only on success
        draft_batch = _internals.LlamaBatch(n_tokens=_DRAFT_MAX + 1, embd=0, n_seq_max=1) if drafts else None
        rows: list[int] = [-1]
        guesses: list[int] = []
        drafted = 0

        # thinking: told apart as it is shown, so the budget can close it (app.core.thinking)
        thinker = ThinkingSplitter() if thinking else None
        thought = 0  # tokens of thinking so far

        def show(event: TokenEvent) -> None:
            nonlocal leading, first_ms, ended, thought
            text = stops.feed(event.text)
            if leading and text:
                text = text.lstrip(" ") if text.strip() else ""
                leading = not text
            if middle and text:
                so_far = "".join(parts)
                cut = middle_end(so_far + text, middle)
                if cut is not None:
                    text = text[: max(cut - len(so_far), 0)]
                    ended = True
            if not first_ms:
                first_ms = _ms(start)
            parts.append(text)
            if thinker is not None:
                was = thinker.thinking
                thinker.feed(text)
                thought += (was or thinker.thinking) and event.token_id >= 0
            emit(TokenEvent(text, event.token_id, event.prob, event.alternatives) if text != event.text else event)

        if isinstance(thinking, str) and thinker is not None:  # the prompt opened the thinking: the reply shows it
            parts.append(thinking)
            thinker.feed(thinking)
            emit(TokenEvent(thinking, -1))
            leading = False

        steps = 0
        self.threads.begin()
        while steps < max_tokens:
            steps += 1
            if self.cancelled():
                reason = "cancelled"
                break
            row = rows.pop(0)
            guess = guesses.pop(0) if guesses else None
            banned_here = bans_at.get(len(gen))
            if banned_here:
                logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx.ctx, row), shape=(n_vocab,))
                logits[list(banned_here)] = -np.inf
            token = sampler.sample(ctx, row)
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                reason = "stop"
                break
            prob: float | None = None
            alts: tuple[Alternative, ...] = ()
            if n_alt > 0:
                prob, alts = self._alternatives(llama_cpp.llama_get_logits_ith(ctx.ctx, row), n_vocab, token, n_alt)
            event = TokenEvent(decoder.decode(self._piece(token)), token, prob, alts)
            gen.append(token)
            if guard:
                hit = guard.add(event.text)
                held.append(event)
                keep = -1 if hit is None else hit - (len(gen) - len(held))  # held events before the ban stay
                if hit is not None and keep >= 0 and len(bans_at.get(hit, ())) < 64:
                    bans_at.setdefault(hit, set()).add(gen[hit])
                    del held[keep:]
                    del gen[hit:]
                    guard.rollback(hit)
                    decoder.reset()
                    sampler = build_sampler(llm, s, seed + steps, bias)
                    prime_history(sampler, tokens, s)
                    for t in gen:
                        sampler.accept(t)
                    llm.n_tokens = len(tokens) + hit - 1  # re-read the token before the ban for fresh logits
                    llm.eval([gen[hit - 1] if hit else tokens[-1]])
                    rows = [-1]
                    self.threads.skip()  # a step taken back: no token of its own
                    continue
                ready = guard.releasable() - (len(gen) - len(held))
                for ev in held[:ready]:
                    show(ev)
                del held[:ready]
            else:
                show(event)
            if stops.stopped or ended:
                reason = "stop"
                break
            if drafts is not None:
                drafts.extend([token])
            if rows and token == guess:
                drafted += 1
                if len(rows) == 1:  # the whole draft was right: try a longer one next
                    draft_len = min(draft_len * 2, _DRAFT_MAX)
                self.threads.skip()  # no decode: not a step the thread count can be judged by
                continue  # the draft guessed right: the next row already has the logits that follow it
            if rows:  # the draft went another way from here: forget the rest of it
                llm.n_tokens -= len(rows)
                ctx.kv_cache_seq_rm(0, llm.n_tokens, -1)
                rows, guesses = [], []
                draft_len = _DRAFT_FIRST
            if llm.n_tokens >= n_ctx:
                break
            if thinker is not None and thinker.thinking and 0 <= s.thinking_budget <= thought and not held:
                # over the thinking budget: close the thinking as the model would, and it answers from there
                assert thinker.active is not None
                closing = self.tokenize(f"\n{thinker.active.close}{thinker.active.answer_header}\n\n",
                                        special=True, add_bos=False)
                if llm.n_tokens + 1 + len(closing) < n_ctx and grammar_allows(sampler, closing):
                    if drafts is not None:
                        drafts.extend(closing)
                    for t in closing:
                        sampler.accept(t)
                        gen.append(t)
                        show(TokenEvent(decoder.decode(self._piece(t)), t))
                    try:
                        llm.eval([token, *closing])
                    except RuntimeError as exc:
                        if self.cancelled():
                            reason = "cancelled"
                            break
                        self.threads.end()
                        raise EngineError(f"llama.cpp failed while generating: {exc}") from None
                    rows = [-1]
                    self.threads.skip()
                    continue
            draft = drafts.draft()[: min(draft_len, max_tokens - steps, n_ctx - llm.n_tokens - 1)] if drafts else []
            try:
                if draft:
                    self._decode_draft(token, draft, draft_batch)
                    rows, guesses = list(range(len(draft) + 1)), draft
                    self.threads.skip()  # a batch costs several steps: it would read as a slow count
                else:
                    llm.eval([token])
                    rows = [-1]
                    self.threads.token()  # this step: sampled, shown, decoded
            except RuntimeError as exc:
                if self.cancelled():
                    reason = "cancelled"
                    break
                self.threads.end()
                raise EngineError(f"llama.cpp failed while generating: {exc}") from None
        self.threads.end()
        for ev in held:
            if not stops.stopped:
                show(ev)
        tail = "" if stops.stopped or ended else stops.feed(decoder.decode(b"", final=True)) + stops.flush()
        if tail:
            parts.append(tail)
            emit(TokenEvent(tail, -1))
        timings = Timings(len(tokens), len(tokens) - reused, prompt_ms, len(gen), _ms(gen_start), first_ms)
        return Finished(reason, "".join(parts), timings, seed, dropped, truncated, max_tokens,  # type: ignore[arg-type]
                        drafted=drafted, **extra)

    def _decode_draft(self, token: int, draft: list[int], batch: Any) -> None:
        """Evaluate ``token`` and the drafted tokens after it in one batch, with logits for every row."""
        llm = self.llm
        at = llm.n_tokens
        seq = [token, *draft]
        llm._ctx.kv_cache_seq_rm(0, at, -1)
        batch.set_batch(seq, n_past=at, logits_all=True)
        llm._ctx.decode(batch)
        llm.input_ids[at: at + len(seq)] = seq
        llm.n_tokens = at + len(seq)

    def _generate_many(self, tokens: list[int], s: SamplingSettings, n_alt: int, emit: Emit, count: int, *,
                       max_tokens: int, truncated: int = 0, middle: str = "", view_start: int = 0,
                       words_outside: int = 0) -> Finished:
        """``count`` texts from one prompt, decoded side by side: one batch per step holds a token of each.

        The prompt is read once into sequence 0 and its cache cells are shared with the
        other sequences (``llama_memory_seq_cp``); sequence i samples with seed
        ``seed + 7919·i``. Events carry their sequence number. Banned words need the
        back-off of a single stream, so with them the texts are made one after another.
        """
        import llama_cpp
        from llama_cpp import _internals

        llm = self.llm
        seed = s.seed if s.seed is not None else random.randrange(2**31)
        seeds = [(seed + 7919 * i) % 2**31 for i in range(count)]
        n_ctx = llm.n_ctx()
        extra = {"view_start": view_start, "words_outside": words_outside}
        per_text = min(max_tokens, (n_ctx - len(tokens)) // count)
        if s.banned_words or count > MAX_SEQUENCES or per_text < _MIN_REPLY:
            return self._generate_one_by_one(tokens, s, n_alt, emit, seeds, max_tokens=max_tokens,
                                             truncated=truncated, middle=middle, **extra)
        start = time.perf_counter()
        reused = self._reuse_prefix(tokens)
        bias = {int(t): float(b) for t, b in s.logit_bias}
        samplers = [build_sampler(llm, s, seeds[i], bias) for i in range(count)]
        for sampler in samplers:
            prime_history(sampler, tokens, s)
        self.last_prompt = list(tokens)
        ctx = llm._ctx
        mem = llama_cpp.llama_get_memory(ctx.ctx)
        try:
            llm.eval(tokens[reused:])
        except RuntimeError as exc:
            if self.cancelled():
                return Finished("cancelled", "", Timings(len(tokens), len(tokens) - reused, _ms(start)), seed,
                                truncated_prompt_tokens=truncated, texts=("",) * count, **extra)
            raise EngineError(f"llama.cpp failed while reading the prompt: {exc}") from None
        prompt_ms = _ms(start)
        base = llm.n_tokens
        for i in range(1, count):
            llama_cpp.llama_memory_seq_rm(mem, i, -1, -1)
            llama_cpp.llama_memory_seq_cp(mem, 0, i, -1, -1)
        vocab = llm._model.vocab
        n_vocab = llm.n_vocab()
        decoders = [codecs.getincrementaldecoder("utf-8")(errors="replace") for _ in range(count)]
        stops = [StopMatcher(tuple(s.stop) + middle_stops(middle)) for _ in range(count)]
        parts: list[list[str]] = [[] for _ in range(count)]
        reasons: list[str] = ["length"] * count
        live = list(range(count))
        rows = {i: -1 for i in live}  # every text starts from the prompt's last logits
        batch = _internals.LlamaBatch(n_tokens=count, embd=0, n_seq_max=1)
        generated = 0
        first_ms = 0.0
        gen_start = time.perf_counter()
        cancelled = False
        try:
            for step in range(per_text):
                if self.cancelled():
                    cancelled = True
                    break
                chosen: list[tuple[int, int]] = []
                for i in live:
                    token = samplers[i].sample(ctx, rows[i])
                    if llama_cpp.llama_vocab_is_eog(vocab, token):
                        reasons[i] = "stop"
                        continue
                    generated += 1
                    prob: float | None = None
                    alts: tuple[Alternative, ...] = ()
                    if n_alt > 0:
                        prob, alts = self._alternatives(llama_cpp.llama_get_logits_ith(ctx.ctx, rows[i]), n_vocab, token, n_alt)
                    text = stops[i].feed(decoders[i].decode(self._piece(token)))
                    ended = False
                    if middle and text:
                        so_far = "".join(parts[i])
                        cut = middle_end(so_far + text, middle)
                        if cut is not None:
                            text, ended = text[: max(cut - len(so_far), 0)], True
                    first_ms = first_ms or _ms(start)
                    parts[i].append(text)
                    emit(TokenEvent(text, token, prob, alts, sequence=i))
                    if stops[i].stopped or ended:
                        reasons[i] = "stop"
                        continue
                    chosen.append((i, token))
                live = [i for i, _ in chosen]
                if not chosen or step + 1 >= per_text:
                    break
                b = batch.batch
                b.n_tokens = len(chosen)
                for j, (i, token) in enumerate(chosen):
                    b.token[j] = token
                    b.pos[j] = base + step
                    b.seq_id[j][0] = i
                    b.n_seq_id[j] = 1
                    b.logits[j] = True
                    rows[i] = j
                try:
                    ctx.decode(batch)
                except RuntimeError as exc:
                    if self.cancelled():
                        cancelled = True
                        break
                    raise EngineError(f"llama.cpp failed while generating: {exc}") from None
        finally:
            # keep only the prompt, in sequence 0, so the next request reuses it
            for i in range(1, count):
                llama_cpp.llama_memory_seq_rm(mem, i, -1, -1)
            llama_cpp.llama_memory_seq_rm(mem, 0, base, -1)
            llm.n_tokens = base
        texts = []
        for i in range(count):
            if not stops[i].stopped and reasons[i] != "stop":
                tail = stops[i].feed(decoders[i].decode(b"", final=True)) + stops[i].flush()
                if tail:
                    parts[i].append(tail)
                    emit(TokenEvent(tail, -1, sequence=i))
            texts.append("".join(parts[i]))
        reason = "cancelled" if cancelled else ("length" if "length" in reasons else "stop")
        timings = Timings(len(tokens), len(tokens) - reused, prompt_ms, generated, _ms(gen_start), first_ms)
        return Finished(reason, texts[0], timings, seed, 0, truncated, per_text, texts=tuple(texts),  # type: ignore[arg-type]
                        **extra)

    def _generate_one_by_one(self, tokens: list[int], s: SamplingSettings, n_alt: int, emit: Emit, seeds: list[int],
                             **kwargs: Any) -> Finished:
        """Several texts one after another (each reuses the cached prompt), tagged like the side-by-side ones."""
        results: list[Finished] = []
        for i, seed in enumerate(seeds):
            def tagged(event: TokenEvent, i: int = i) -> None:
                emit(TokenEvent(event.text, event.token_id, event.prob, event.alternatives, sequence=i))

            fin = self._generate(tokens, s, n_alt, tagged, seed=seed, **kwargs)
            results.append(fin)
            if fin.reason == "cancelled":
                break
        first = results[0]
        t = [r.timings for r in results]
        timings = Timings(first.timings.prompt_tokens, first.timings.prompt_evaluated, first.timings.prompt_ms,
                          sum(x.generated_tokens for x in t), sum(x.generation_ms for x in t), first.timings.first_token_ms)
        reason = "cancelled" if results[-1].reason == "cancelled" else first.reason
        texts = tuple(r.text for r in results) + ("",) * (len(seeds) - len(results))
        return Finished(reason, first.text, timings, seeds[0], 0, first.truncated_prompt_tokens,  # type: ignore[arg-type]
                        first.max_tokens_used, texts=texts, view_start=first.view_start,
                        words_outside=first.words_outside)

    def _alternatives(self, ptr: Any, n_vocab: int, token: int, k: int) -> tuple[float, tuple[Alternative, ...]]:
        """The token's probability and the k likeliest tokens, from the raw logits (temperature 1)."""
        logits = np.ctypeslib.as_array(ptr, shape=(n_vocab,))
        top = np.argpartition(logits, -k)[-k:]
        top = top[np.argsort(-logits[top])]
        peak = float(logits[top[0]])
        z = float(np.exp(logits - peak).sum())
        prob = float(np.exp(float(logits[token]) - peak) / z)
        alts = tuple(Alternative(self._text(int(t)), int(t), float(np.exp(float(logits[t]) - peak) / z)) for t in top)
        return prob, alts

    # -- the next-token picture ----------------------------------------------

    def peek(self, messages: list[dict[str, str]] | None, prompt: str | None,
             top: int) -> PeekResult:
        """The ``top`` likeliest next tokens (text, id, raw logit), log Σ exp(logits) and the logits' standard deviation.

        Both statistics are over the whole vocabulary: the chart needs the first to turn
        logits into probabilities and the second to draw top-nσ's cut.
        """
        import llama_cpp

        llm = self._require()
        if messages is not None:
            budget = llm.n_ctx() - 1
            tokens = self.chat_tokens(fit_messages(messages, self.count_chat_tokens, budget).messages)
        else:
            tokens = keep_tail(self.tokenize(prompt or "", add_bos=True), llm.n_ctx() - 1)
        reused = self._reuse_prefix(tokens)
        try:
            llm.eval(tokens[reused:])
        except RuntimeError:
            if self.cancelled():
                raise Interrupted() from None
            raise
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),))
        best = np.argpartition(logits, -top)[-top:]
        best = best[np.argsort(-logits[best])]
        peak = float(logits[best[0]])
        lse = peak + float(np.log(np.exp(logits - peak).sum()))
        finite = logits[np.isfinite(logits)]
        sigma = float(finite.std()) if finite.size else 0.0
        return PeekResult([(self._text(int(t)), int(t), float(logits[t])) for t in best], lse, sigma)

    # -- adapters -------------------------------------------------------------

    def set_adapter(self, path: str, scale: float = 1.0) -> AdapterInfo:
        """Put a GGUF LoRA on the loaded model at ``scale`` (``path`` empty: none), without reloading it.

        The adapter's header is checked against the model's before llama.cpp reads it. Each file
        is read once per loaded model (llama.cpp frees adapters with their model). Any change
        drops the prompt cache: cached positions were computed with the weights before.
        """
        import llama_cpp

        llm = self._require()
        loaded: dict[str, Any] = self.__dict__.setdefault("_adapters", {})
        if loaded.get("model") is not llm:  # adapters belong to one Llama; a new load starts afresh
            loaded.clear()
            loaded["model"] = llm
        name = base = ""
        if path:
            header = read_adapter(path)
            check_fits(header, read_header(self.info.path))
            name, base = header.name, str(header.metadata.get("adapter.base.name", ""))
            handle = loaded.get(path)
            if handle is None:
                self.log.begin()
                handle = llama_cpp.llama_adapter_lora_init(llm._model.model, str(path).encode())
                if not handle:
                    said = self.log.errors()
                    raise AdapterError(path, f"llama.cpp could not load it: {said or 'no reason given'}")
                loaded[path] = handle
            arr = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(handle)
            scales = (ctypes.c_float * 1)(float(scale))
            rc = llama_cpp.llama_set_adapters_lora(llm.ctx, arr, 1, scales)
        else:
            rc = llama_cpp.llama_set_adapters_lora(llm.ctx, None, 0, None)
        if rc != 0:
            raise AdapterError(path or "(none)", f"llama.cpp refused to switch adapters (code {rc})")
        dropped = llm.n_tokens > 0
        llm.n_tokens = 0
        self._forget_from(0)
        return AdapterInfo(str(path), name, float(scale), base, dropped)

    # -- scoring --------------------------------------------------------------

    def score(self, text: str, top: int = 1) -> ScoreResult:
        """How likely the model found each token of ``text`` (row i of the logits predicts token i+1)."""
        import llama_cpp
        from llama_cpp import _internals

        llm = self._require()
        bos = llm._model.token_bos()
        body = self.tokenize(text, add_bos=False)
        seq = ([bos] if bos >= 0 else []) + body
        offset = len(seq) - len(body)
        n_ctx = llm.n_ctx()
        n_vocab = llm.n_vocab()
        chunk = min(llm.n_batch, 128)
        batch = _internals.LlamaBatch(n_tokens=chunk, embd=0, n_seq_max=1)
        logprobs: list[float | None] = [None] * len(seq)
        expected: list[tuple[Alternative, ...]] = [()] * len(seq)
        llm.n_tokens = 0
        self._forget_from(0)
        window_start = 0
        pos = 0
        try:
            for begin in range(0, len(seq), chunk):
                part = seq[begin : begin + chunk]
                if pos + len(part) > n_ctx:  # a text longer than the context: start a fresh window
                    self._forget_from(0)
                    window_start, pos = begin, 0
                batch.set_batch(part, n_past=pos, logits_all=True)
                llm._ctx.decode(batch)
                rows = np.ctypeslib.as_array(llama_cpp.llama_get_logits(llm.ctx), shape=(len(part), n_vocab))
                peak = rows.max(axis=1, keepdims=True)
                lse = peak[:, 0] + np.log(np.exp(rows - peak).sum(axis=1))
                for i in range(len(part)):
                    nxt = begin + i + 1
                    if nxt < len(seq):
                        logprobs[nxt] = float(rows[i, seq[nxt]] - lse[i])
                        if top > 0:
                            best = np.argpartition(rows[i], -top)[-top:]
                            best = best[np.argsort(-rows[i, best])]
                            expected[nxt] = tuple(
                                Alternative(self._text(int(t)), int(t), float(np.exp(rows[i, t] - lse[i]))) for t in best
                            )
                pos += len(part)
                if self.cancelled():
                    raise Interrupted()
        except RuntimeError as exc:
            llm.n_tokens = 0
            if self.cancelled():
                raise Interrupted() from None
            raise EngineError(f"llama.cpp failed while scoring: {exc}") from None
        if window_start == 0:  # the whole text is in the cache: a continuation can reuse it
            llm.input_ids[: len(seq)] = seq
            llm.n_tokens = len(seq)
        else:
            llm.n_tokens = 0
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        scored = tuple(
            ScoredToken(decoder.decode(self._piece(t)), t, logprobs[i + offset], expected[i + offset])
            for i, t in enumerate(body)
        )
        return ScoreResult(scored)


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0

