"""The private parts of llama-cpp-python that the engine relies on are still where it expects them.

The engine drives ``Llama`` below its public API (``_ctx``, ``_model``,
``input_ids``, ``_internals.LlamaBatch`` / ``LlamaSampler`` …) for prefix reuse,
alternatives and scoring. pyproject.toml pins the minor version these were read
from; if an upgrade moves any of them, this test names what moved, instead of the
engine dying at the first reply.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

MODULE_NAMES = [
    "Llama", "llama_get_logits_ith", "llama_get_logits", "llama_token_to_piece", "llama_vocab_is_eog",
    "llama_vocab_fim_pre", "llama_vocab_fim_suf", "llama_vocab_fim_mid", "llama_supports_gpu_offload",
    "llama_set_abort_callback", "ggml_abort_callback", "llama_log_set", "llama_log_callback",
    "llama_sampler_init_grammar", "llama_sampler_chain_add", "llama_get_memory", "llama_memory_seq_rm",
    "llama_memory_seq_cp", "llama_memory_seq_pos_max",
]
INTERNALS = {
    "LlamaBatch": ["set_batch"],
    "LlamaSampler": ["add_logit_bias", "add_penalties", "add_greedy", "add_temp", "add_mirostat", "add_mirostat_v2",
                     "add_top_k", "add_typical", "add_top_p", "add_min_p", "add_dist", "sample", "accept"],
    "LlamaContext": ["kv_cache_seq_rm", "decode"],
}
LLAMA_ATTRIBUTES = ["_ctx", "_model", "input_ids", "n_tokens", "ctx", "eval", "n_ctx", "n_vocab", "n_batch",
                    "tokenize", "close", "verbose"]
MODEL_ATTRIBUTES = ["vocab", "token_bos", "token_eos", "token_get_text"]


def _pinned_minor() -> str:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    spec = next(d for d in deps if d.startswith("llama-cpp-python"))
    match = re.fullmatch(r"llama-cpp-python==(\d+)\.(\d+)\.\d+", spec.replace(" ", ""))
    assert match, f"llama-cpp-python must be pinned to one version (==X.Y.Z: dev.py builds it), not {spec!r}"
    return f"{match[1]}.{match[2]}."


def test_the_installed_llama_cpp_python_is_the_pinned_minor_version() -> None:
    import llama_cpp

    assert llama_cpp.__version__.startswith(_pinned_minor()), (
        f"llama-cpp-python {llama_cpp.__version__} is installed but pyproject.toml pins {_pinned_minor()}x: "
        "check the internals below, then move the pin")


def test_the_module_level_functions_the_engine_calls_exist() -> None:
    import llama_cpp
    from llama_cpp import _internals
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    assert callable(Jinja2ChatFormatter) and callable(json_schema_to_gbnf)
    missing = [n for n in MODULE_NAMES if not hasattr(llama_cpp, n)]
    missing += [f"_internals.{cls}.{m}" for cls, methods in INTERNALS.items() for m in methods
                if not hasattr(getattr(_internals, cls, None), m)]
    assert missing == [], f"llama-cpp-python moved what the engine uses: {missing}"


@pytest.fixture(scope="module")
def llm(starter_path: Path):
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(starter_path), n_ctx=256, verbose=False)
    yield llm
    llm.close()


def test_a_loaded_llama_has_the_private_attributes_the_engine_uses(llm) -> None:
    import numpy as np

    missing = [a for a in LLAMA_ATTRIBUTES if not hasattr(llm, a)]
    missing += [f"_model.{a}" for a in MODEL_ATTRIBUTES if not hasattr(llm._model, a)]
    assert missing == [], f"llama-cpp-python moved what the engine uses: {missing}"
    assert isinstance(llm.input_ids, np.ndarray) and len(llm.input_ids) == llm.n_ctx()
    tokens = llm.tokenize(b"Hello there, friend", add_bos=False)
    llm.eval(tokens)
    assert llm.n_tokens == len(tokens) and list(llm.input_ids[: len(tokens)]) == tokens
    # the engine reuses a cached prompt prefix only when trimming the rest succeeds (False: the whole
    # prompt is read again, silently slow), so True is the answer it relies on, not just "a bool"
    assert llm._ctx.kv_cache_seq_rm(-1, 1, -1) is True


def test_llama_cpps_log_callback_outlives_the_runtime_that_installed_it(starter_path: Path) -> None:
    # llama.cpp keeps a raw pointer to the log callback; when it belonged to a runtime that was
    # garbage-collected, the next model load in that process jumped into freed memory
    import subprocess
    import sys

    code = (
        "import gc, llama_cpp\n"
        "from app.core.events import LoadOptions\n"
        "from app.engine.runtime import LlamaRuntime\n"
        f"rt = LlamaRuntime(); rt.load({str(starter_path)!r}, LoadOptions(n_ctx=256)); rt.unload()\n"
        "del rt; gc.collect()\n"
        "junk = [bytearray(64) for _ in range(200000)]  # reuse the freed memory\n"
        f"llm = llama_cpp.Llama({str(starter_path)!r}, n_ctx=256, verbose=False)\n"
        "print('loaded again')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0 and "loaded again" in done.stdout, (done.returncode, done.stderr[-800:])
