"""Job functions the job tests run in child processes (importable by name, as every job target is)."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from app.core.errors import ModelFileError


def count(args: dict[str, Any], ctx: Any) -> int:
    """Report each of ``args["n"]`` steps; stop when cancelled; wait while paused."""
    n = int(args["n"])
    for i in range(n):
        ctx.check()
        time.sleep(float(args.get("step_s", 0.0)))
        ctx.progress(i + 1, n, f"step {i + 1}")
    return n * 10


def forever(args: dict[str, Any], ctx: Any) -> None:
    """Reports once, then ignores the stop flag: only the kill after the grace ends it."""
    ctx.progress(1, 2, "stuck")
    while True:
        time.sleep(0.05)


def abort(args: dict[str, Any], ctx: Any) -> None:
    """Dies as llama.cpp does on a GGML_ASSERT: a message on stderr, then abort()."""
    ctx.progress(1, 2, "about to fail")
    sys.stderr.write("GGML_ASSERT(n_tokens <= n_batch) failed\n")
    sys.stderr.flush()
    os.abort()


def typed_failure(args: dict[str, Any], ctx: Any) -> None:
    raise ModelFileError(args["path"], "not a GGUF file")


def bug(args: dict[str, Any], ctx: Any) -> None:
    return {"a": 1}["b"]  # KeyError: an unexpected failure
