"""The training forward pass and llama.cpp agree: same token ids, same next-token distributions.

llama.cpp runs through the engine's own ``LlamaRuntime.set_adapter`` (the code the app uses);
the adapter is the training stack's GGUF export. llama.cpp multiplies Q4_1 weights with
activations quantized to 8 bits, so even the base models differ a little (KL ~1e-2); the
adapter's own effect is several times larger, and a wrong layout (q/k rows permuted, A and B
swapped, a wrong alpha) would show as a KL of that size or more.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.core.events import LoadOptions
from app.engine.runtime import LlamaRuntime
from tests.train.conftest import needs_extra, random_adapter

pytestmark = [needs_extra, pytest.mark.model]

TEXT = ("Day 3 of the long tally. Mistress Quillby came down to Saltwick harbour under a fog thick as "
        "porridge. We counted 12 crates of salted eel, and she said that 12 was a lucky number.")


def _llama_logits(runtime: LlamaRuntime, tokens: list[int]) -> np.ndarray:
    """The logits of every position, from one llama.cpp batch with no cached prompt."""
    import llama_cpp
    from llama_cpp import _internals

    llm = runtime.llm
    llm.n_tokens = 0
    runtime._forget_from(0)
    batch = _internals.LlamaBatch(n_tokens=len(tokens), embd=0, n_seq_max=1)
    batch.set_batch(tokens, n_past=0, logits_all=True)
    llm._ctx.decode(batch)
    rows = np.ctypeslib.as_array(llama_cpp.llama_get_logits(llm.ctx), shape=(len(tokens), llm.n_vocab()))
    out = rows.copy()
    runtime._forget_from(0)
    return out


def _kl(p_logits: np.ndarray, q_logits: np.ndarray) -> np.ndarray:
    def logsoftmax(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float64)
        m = x.max(-1, keepdims=True)
        return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))

    p, q = logsoftmax(p_logits), logsoftmax(q_logits)
    return (np.exp(p) * (p - q)).sum(-1)


def test_llama_cpp_with_the_exported_adapter_matches_the_training_forward(
        base: tuple[Any, dict[str, np.ndarray]], starter_path: Path, tmp_path: Path) -> None:
    import jax
    import jax.numpy as jnp

    from app.train.model import TARGETS, make_forward

    cfg, weights = base
    rank, alpha = 8, 16.0
    adapter = tmp_path / "random.gguf"
    lora = random_adapter(cfg, adapter, starter_path, seed=1, rank=rank, alpha=alpha)
    runtime = LlamaRuntime()
    runtime.load(str(starter_path), LoadOptions(n_ctx=512))
    try:
        tokens = [cfg.bos, *runtime.tokenize(TEXT, add_bos=False)]
        plain = _llama_logits(runtime, tokens)
        runtime.set_adapter(str(adapter), 1.0)
        adapted = _llama_logits(runtime, tokens)
        runtime.set_adapter(str(adapter), 0.0)
        zero = _llama_logits(runtime, tokens)
        runtime.set_adapter("", 1.0)
        off = _llama_logits(runtime, tokens)
    finally:
        runtime.unload()

    forward = jax.jit(make_forward(cfg, TARGETS))
    jw = {k: jnp.asarray(v) for k, v in weights.items()}
    jl = {k: jnp.asarray(v) for k, v in lora.items()}
    mine = np.asarray(forward(jw, jl, alpha / rank, jnp.asarray([tokens])))[0]
    mine_plain = np.asarray(forward(jw, jl, 0.0, jnp.asarray([tokens])))[0]

    effect = _kl(adapted, plain).mean()  # how much the adapter changes llama.cpp's distributions
    parity = _kl(adapted, mine).mean()
    floor = _kl(plain, mine_plain).mean()  # the base models' own difference (8-bit activations in llama.cpp)
    print(f"KL(llama.cpp+adapter || training+adapter) mean {parity:.2e} max {_kl(adapted, mine).max():.2e}; "
          f"base models {floor:.2e}; the adapter's effect {effect:.2e}; {len(tokens)} positions")
    assert effect > 0.05, "the random adapter should change the distributions clearly"
    assert parity < 0.02 and parity < effect / 4
    assert (adapted.argmax(-1) == mine.argmax(-1)).mean() >= 0.9
    # strength 0 and no adapter: exactly the base model's logits
    assert np.array_equal(zero, plain)
    assert np.array_equal(off, plain)
