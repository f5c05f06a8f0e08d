"""Replies of a length the test chooses, on any CPU.

What a model writes differs from one CPU to another even with the same seed
(FACTS.md), so a test that needs a long reply must not ask for one in words: it
sets ``max_tokens`` and biases every end-of-generation token out of reach, so the
reply ends exactly at ``max_tokens`` ("length") whatever the model would have said.
"""

from __future__ import annotations

import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from app.core.sampling import SamplingSettings

NEVER = -100.0  # a logit bias that no real logit overcomes


_EOG_IDS = """
import sys, llama_cpp
llm = llama_cpp.Llama(sys.argv[1], vocab_only=True, verbose=False)
print(" ".join(str(t) for t in range(llm.n_vocab()) if llama_cpp.llama_vocab_is_eog(llm._model.vocab, t)))
"""


@lru_cache(maxsize=4)
def end_of_generation_ids(model: str) -> tuple[int, ...]:
    """Every token llama.cpp treats as the end of a reply (eos, eot, <|im_end|>, …) for ``model``.

    Asked in a child process: the test process never loads llama.cpp itself (a Llama
    in the test process beside the engine's backends once crashed a later one).
    """
    out = subprocess.run([sys.executable, "-c", _EOG_IDS, str(model)], capture_output=True, text=True,
                         check=True, timeout=60)
    ids = tuple(int(t) for t in out.stdout.split())
    assert ids, f"no end-of-generation token found in {model}"
    return ids


def forced(settings: SamplingSettings, model: str | Path | None = None) -> SamplingSettings:
    """``settings`` with the end of the reply ruled out: it runs to ``max_tokens``."""
    if model is None:
        from app.core.starter import starter_model_path

        model = starter_model_path()
    bias = tuple((t, NEVER) for t in end_of_generation_ids(str(model)))
    return settings.replace(logit_bias=settings.logit_bias + bias)
