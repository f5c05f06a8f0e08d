"""The one memory estimate: what loading a model with a given context costs.

weights (the file's tensor data) + the f16 KV cache for the context (bytes per
token read from the GGUF header) + a measured overhead (compute buffers, the
runtime). The engine's load refusal, the library's fit badge and the Hub's fit
badge all call ``memory_needed``; only a Hub file, whose header is not on this
computer yet, guesses its KV size from the file size (``app.models.fit``).
"""

from __future__ import annotations

from app.core.gguf import GGUFHeader

# Measured with the starter model on CPU: the engine process's peak resident memory
# after a load and a reply that filled the context, minus what it used before the
# load, the weights and the KV cache, was 49 MiB at n_ctx 512, 73 MiB at 2048 and
# 160 MiB at 8192 (compute buffers grow with the context). 192 MiB covers that.
OVERHEAD = 192 * 1024**2


def effective_context(requested: int, trained: int) -> int:
    """The context the engine really loads: a multiple of 256, at most the trained length."""
    n_ctx = max(256, -(-requested // 256) * 256)
    if trained:
        n_ctx = min(n_ctx, max(256, trained // 256 * 256))
    return n_ctx


def memory_needed(weights: int, kv_bytes_per_token: int, n_ctx: int) -> int:
    """Bytes of memory a load needs: weights + KV cache for ``n_ctx`` tokens + overhead."""
    return weights + kv_bytes_per_token * n_ctx + OVERHEAD


def memory_needed_for(header: GGUFHeader, requested_ctx: int) -> int:
    """``memory_needed`` for a local file, with the context the engine would really use."""
    return memory_needed_local(header.file_size, header.kv_bytes_per_token(), header.context_length, requested_ctx)


def memory_needed_local(file_size: int, kv_bytes_per_token: int, trained_context: int, requested_ctx: int) -> int:
    """The same, from the numbers a library entry keeps of its header."""
    return memory_needed(file_size, kv_bytes_per_token, effective_context(requested_ctx, trained_context))
