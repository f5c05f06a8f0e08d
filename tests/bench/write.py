"""Write benchmark: alternatives side by side, and a selection rewrite drafted from its own text.

    flock /tmp/inkling-cpu.lock python tests/bench/write.py [--rounds 7] [--model FILE.gguf]

On a short (≈100-token) document, with the starter model (or ``--model``: to see how the
lines move with another file, e.g. the starter model requantized to another type):

1. 3 alternatives of 64 tokens ÷ 1 alternative of 64 tokens, wall time including reading
   the prompt (read once in both). The 3 are decoded as 3 sequences in one batch per
   step, sharing the prompt's cache; one after another it would be ≈ 3. Target ≤ 1.3.
2. A selection rewrite's decode speed (tok/s) with prompt-lookup drafting ÷ without, at
   temperature 0, where the two texts must be identical. Target ≥ 1.5.
3. What llama.cpp itself allows for line 1 on this machine: the mean decode step of a
   reply with batches of 1 token and of 3 tokens (3 sequences on one shared prompt),
   timed directly on ``llama_decode`` with nothing else around it, and the 3 ÷ 1 that
   follows when the rest of the work (sampling, events, the process boundary) costs
   nothing. With ``--model`` this shows how far the kernels of another quantization type
   move that bound (ggml's CPU kernels batch some types better than others).

The contenders of each pair run in both orders (AB, BA, AB, ...) so that drift hits both
alike (the machine's speed drifts; see FACTS.md); each line gives the median of the
per-round ratios, the medians of each contender and their spread (min–max). Each
target line ends PASS or MISS.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report, row
from _common import spread as quartiles

from app.core.events import LoadOptions
from app.core.sampling import SamplingSettings
from app.core.starter import starter_model_path
from app.engine.client import EngineClient

DOCUMENT = ("The harbour town woke slowly. Fishing boats knocked against the pier while gulls argued over "
            "scraps, and the baker opened her shutters to the smell of bread and tar. By nine the market was "
            "loud with voices, and old Marta sold the last of her lemons before the church bell rang. Down on "
            "the quay the fishermen mended their nets and talked about the weather, which had been strange all "
            "week, warm in the mornings and cold by the afternoon.")
SELECTION = ("By nine the market was loud with voices, and old Marta sold the last of her lemons before the "
             "church bell rang. The fishermen mended their nets on the quay, and the children ran between the "
             "stalls with bread in their hands.")


T = TypeVar("T")


def end_tokens(model: Path) -> tuple[tuple[int, float], ...]:
    import llama_cpp

    vocab = llama_cpp.Llama(model_path=str(model), vocab_only=True, verbose=False)
    ids = {t for t in range(vocab.n_vocab()) if llama_cpp.llama_vocab_is_eog(vocab._model.vocab, t)}
    vocab.close()
    return tuple((t, -100.0) for t in ids)


def alternatives_time(client: EngineClient, count: int, tokens: int, seed: int, no_end: tuple) -> float:
    client.complete("A different text, so the document is read again.", SamplingSettings(max_tokens=1)).wait()
    settings = SamplingSettings(temperature=0.8, max_tokens=tokens, seed=seed, logit_bias=no_end)
    started = time.perf_counter()
    fin = client.complete(DOCUMENT, settings, sequences=count).wait()
    elapsed = time.perf_counter() - started
    assert fin.timings.generated_tokens == count * tokens, fin.timings
    assert fin.timings.prompt_evaluated == fin.timings.prompt_tokens  # the prompt is read, once, in both
    return elapsed


def rewrite(client: EngineClient, draft: bool) -> tuple[float, str, int]:
    messages = [{"role": "user", "content": f"Rewrite this text in plain English:\n\n{SELECTION}"}]
    settings = SamplingSettings(temperature=0.0, max_tokens=160, repeat_penalty=1.0, draft_from_text=draft)
    fin = client.chat(messages, settings).wait()
    return fin.timings.tokens_per_second, fin.text, fin.drafted


def paired(rounds: int, a: Callable[[int], T], b: Callable[[int], T]) -> tuple[list[T], list[T]]:
    """Run ``a`` and ``b`` once per round, in alternating order; their results, round by round."""
    xs, ys = [], []
    for r in range(rounds):
        if r % 2 == 0:
            xs.append(a(r))
            ys.append(b(r))
        else:
            ys.append(b(r))
            xs.append(a(r))
    return xs, ys


def spread(values: list[float], fmt: str = ".2f") -> str:
    return f"median {statistics.median(values):{fmt}} (min {min(values):{fmt}}, max {max(values):{fmt}})"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def decode_floor(model: Path, count: int, steps: int, replies: int, rounds: int) -> tuple[list[float], list[float], list[float]]:
    """Mean time of one ``llama_decode`` step with 1 and with ``count`` tokens, and of reading the document.

    In this process, with the engine's own loader (the same context: one unified cache
    with room for side-by-side sequences). Each of ``replies`` rounds decodes ``steps``
    steps of 1 token and ``steps`` steps of ``count`` tokens (one per sequence) the way a
    reply does: one batch size for the whole reply, at advancing positions after the
    prompt, so the cache grows as it does in the engine; then the reply is removed again.
    (Alternating the sizes step by step at one position measured less than a reply costs:
    llama.cpp reuses its compute graph only while the batch keeps its shape, and the
    attention does not grow.) The two sizes run in alternating order; the per-step mean of
    each reply is one value.
    """
    import llama_cpp
    from llama_cpp import _internals

    from app.engine.runtime import LlamaRuntime

    runtime = LlamaRuntime()
    runtime.load(str(model), LoadOptions(n_ctx=2048))
    llm = runtime.llm
    ctx = llm._ctx
    mem = llama_cpp.llama_get_memory(ctx.ctx)
    tokens = runtime.tokenize(DOCUMENT)
    reads = []
    for _ in range(rounds):
        llama_cpp.llama_memory_seq_rm(mem, -1, -1, -1)
        llm.n_tokens = 0
        started = time.perf_counter()
        llm.eval(tokens)
        reads.append(time.perf_counter() - started)
    base = llm.n_tokens
    for i in range(1, count):
        llama_cpp.llama_memory_seq_cp(mem, 0, i, -1, -1)
    batch = _internals.LlamaBatch(n_tokens=count, embd=0, n_seq_max=1)

    def reply(n: int) -> float:
        elapsed = 0.0
        b = batch.batch
        b.n_tokens = n
        for s in range(steps):
            for j in range(n):
                b.token[j] = 300 + s + j
                b.pos[j] = base + s
                b.seq_id[j][0] = j
                b.n_seq_id[j] = 1
                b.logits[j] = True  # every sequence samples from its own row
            started = time.perf_counter()
            ctx.decode(batch)
            elapsed += time.perf_counter() - started
        for j in range(n):
            llama_cpp.llama_memory_seq_rm(mem, j, base, -1)
        return elapsed / steps

    ones, many = paired(replies, lambda r: reply(1), lambda r: reply(count))
    runtime.unload()
    return ones, many, reads


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--alternatives", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--model", type=Path, default=None, help="a GGUF file instead of the starter model")
    args = parser.parse_args()
    k, n_tok = args.alternatives, args.tokens
    model = args.model or starter_model_path()
    client = EngineClient()
    info = client.load(model, LoadOptions(n_ctx=2048))
    no_end = end_tokens(model)
    print(f"model: {model.name} ({info.quantization}); "
          f"document: {client.count_text_async(DOCUMENT).result()} tokens; {n_tok} tokens per alternative; "
          f"{args.rounds} rounds, contenders in alternating order")
    ones, many = paired(args.rounds, lambda r: alternatives_time(client, 1, n_tok, 10 * r, no_end),
                        lambda r: alternatives_time(client, k, n_tok, 10 * r, no_end))
    texts: dict[bool, list[str]] = {False: [], True: []}
    drafted: list[int] = []

    def rewrite_speed(draft: bool) -> float:
        speed, text, n = rewrite(client, draft)
        texts[draft].append(text)
        if draft:
            drafted.append(n)
        return speed

    plain_speed, draft_speed = paired(args.rounds, lambda r: rewrite_speed(False), lambda r: rewrite_speed(True))
    client.close()
    ratios = [m / o for m, o in zip(many, ones, strict=True)]
    ratio = statistics.median(ratios)
    print(f"alternatives: 1 × {n_tok} tokens {spread(ones)} s; {k} × {n_tok} tokens {spread(many)} s; "
          f"{k} ÷ 1 per round {spread(ratios)}; {k} ÷ 1 = {ratio:.2f} (target ≤ 1.30) {verdict(ratio <= 1.3)}")
    same = texts[False] == texts[True]  # round by round
    gains = [d / p for d, p in zip(draft_speed, plain_speed, strict=True)]
    gain = statistics.median(gains)
    print(f"selection rewrite at temperature 0: plain {spread(plain_speed, '.1f')} tok/s, drafted from the text "
          f"{spread(draft_speed, '.1f')} tok/s ({statistics.median(drafted)} tokens drafted and kept), identical "
          f"text: {same}; drafted ÷ plain per round {spread(gains)}; drafted ÷ plain = {gain:.2f} (target ≥ 1.50) "
          f"{verdict(gain >= 1.5 and same)}")
    # what llama.cpp allows here, with nothing but llama_decode: the bound on line 1
    steps = n_tok - 1  # the first token of each text comes from the prompt's logits
    step_one, step_many, reads = decode_floor(model, k, steps, 8, args.rounds)
    one_ms, many_ms, read_ms = (statistics.median(v) * 1000 for v in (step_one, step_many, reads))
    # a single text also evaluates its last token (its cache then holds the whole reply for a
    # follow-up); side-by-side texts don't: n_tok steps against n_tok - 1
    floor = (read_ms + steps * many_ms) / (read_ms + n_tok * one_ms)
    print(f"floor, llama_decode alone, mean step of a reply: 1 token {spread([x * 1000 for x in step_one])} ms, {k} tokens "
          f"({k} sequences) {spread([x * 1000 for x in step_many])} ms = ×{many_ms / one_ms:.2f}; reading the "
          f"document {read_ms:.0f} ms; so with sampling, events and the process boundary free, {k} ÷ 1 ≥ "
          f"({read_ms:.0f} + {steps} × {many_ms:.1f}) ÷ ({read_ms:.0f} + {n_tok} × {one_ms:.1f}) = {floor:.2f}")
    report("write", [
        row(f"{k} alternatives ÷ 1 (time)", ratio, "×", "≤ 1.30", ratio <= 1.3, quartiles(ratios)),
        row("rewrite drafted ÷ plain (tok/s, identical text)", gain, "×", "≥ 1.50", gain >= 1.5 and same, quartiles(gains)),
        row(f"floor: llama_decode {k} tokens ÷ 1 token (mean step of a reply)", many_ms / one_ms, "×", "", None,
            quartiles([m / o for m, o in zip(step_many, step_one, strict=True)])),
        row(f"floor: {k} alternatives ÷ 1 with everything but llama_decode free", floor, "×", "", None),
    ])


if __name__ == "__main__":
    main()
