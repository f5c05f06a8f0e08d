""""Remove from all sequences" in the engine really reaches every sequence of the KV cache.

llama-cpp-python's ``LlamaContext.kv_cache_seq_rm`` turns seq_id -1 into 0, so a call meant for
all sequences cleared only sequence 0; the alternatives code hid it by removing sequences 1..n
itself. This keeps a token in sequence 1, reuses a shorter prefix and checks sequence 1 lost it too.
"""

from __future__ import annotations

from pathlib import Path

import llama_cpp

from app.core.events import LoadOptions
from app.engine.runtime import LlamaRuntime


def test_reuse_prefix_trims_every_sequence(starter_path: Path) -> None:
    rt = LlamaRuntime()
    rt.load(str(starter_path), LoadOptions(n_ctx=256))
    try:
        llm = rt.llm
        tokens = rt.tokenize("one two three four five six seven", add_bos=True)
        llm.eval(tokens)
        mem = llama_cpp.llama_get_memory(llm.ctx)
        llama_cpp.llama_memory_seq_cp(mem, 0, 1, -1, -1)  # what the alternatives code leaves behind
        assert llama_cpp.llama_memory_seq_pos_max(mem, 1) == len(tokens) - 1

        keep = 3
        changed = [*tokens[:keep], tokens[-1]]  # same first tokens, then a different one
        assert rt._reuse_prefix(changed) == keep
        assert llama_cpp.llama_memory_seq_pos_max(mem, 0) == keep - 1
        assert llama_cpp.llama_memory_seq_pos_max(mem, 1) == keep - 1, "sequence 1 kept tokens past the prefix"

        rt._reuse_prefix([tokens[-1]])  # nothing reusable: the whole cache goes, in every sequence
        assert llama_cpp.llama_memory_seq_pos_max(mem, 0) == -1
        assert llama_cpp.llama_memory_seq_pos_max(mem, 1) == -1, "sequence 1 survived a full clear"
    finally:
        rt.unload()
