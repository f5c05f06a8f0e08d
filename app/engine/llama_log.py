"""llama.cpp's own log, captured for the request that is running (engine process only).

llama.cpp reports why a load failed through its log callback, and
llama-cpp-python's ``verbose=False`` sends that to /dev/null. Inkling installs its
own callback instead: warnings and errors go to the engine log (stderr, which the
worker points at the log file) and are kept in memory per request, so an error
message quotes what llama.cpp said about *this* file, never an older line.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from typing import Any

# ggml_log_level in the llama.cpp that 0.3.x bundles (llama-cpp-python's _logger.py still lists an older order)
_WARN, _ERROR, _CONT = 3, 4, 5


_CALLBACK: Any = None  # the ctypes callback llama.cpp calls; lives as long as the process
_ACTIVE: LlamaLog | None = None  # the capture that llama.cpp's lines go to


def _dispatch(level: int, text: bytes, user_data: Any) -> None:
    active = _ACTIVE
    if active is not None:
        active._on_log(level, text, user_data)


class LlamaLog:
    """Installs the callback once per process; ``begin()`` starts a request's capture."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []  # (level, line)
        self._last_level = 0
        self._partial = ""

    def install(self) -> None:
        """Route llama.cpp's log to this capture (the one process-wide callback is made once)."""
        global _CALLBACK, _ACTIVE
        _ACTIVE = self
        if _CALLBACK is not None:
            return
        import llama_cpp

        # Module-level and never freed: llama.cpp keeps the raw pointer for the life of the
        # process, and a callback owned by a runtime that was garbage-collected made the next
        # model load jump into freed memory (a segfault in the test process).
        _CALLBACK = llama_cpp.llama_log_callback(_dispatch)
        llama_cpp.llama_log_set(_CALLBACK, ctypes.c_void_p(0))

    def begin(self) -> None:
        self.lines.clear()
        self._partial = ""

    def _on_log(self, level: int, text: bytes, _user_data: Any) -> None:
        if level == _CONT:
            level = self._last_level
        self._last_level = level
        if level not in (_WARN, _ERROR):
            return
        with contextlib.suppress(OSError):
            os.write(2, text)
        self._partial += text.decode("utf-8", errors="replace")
        *done, self._partial = self._partial.split("\n")
        self.lines.extend((level, line.strip()) for line in done if line.strip())
        del self.lines[:-50]

    def errors(self) -> str:
        """What llama.cpp reported during this request (its errors, else its warnings), for a message."""
        lines = list(self.lines)
        if self._partial.strip():
            lines.append((self._last_level, self._partial.strip()))
        errors = [text for level, text in lines if level == _ERROR] or [text for _level, text in lines]
        return " | ".join(errors[-3:])[:400]

