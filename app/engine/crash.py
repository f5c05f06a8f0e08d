"""What to tell a person when the engine process died, in llama.cpp's own words.

The reason is read from the engine log from where the request began (its offset
was noted when it was sent), so it never quotes an older line about another file.

``CrashJudge`` keeps the native crashes (SIGSEGV, SIGILL, SIGBUS) the client saw on
the CPU code that runs now and says when the build, not a model, is at fault: the
same signal in the same operation for two different models, or twice for the
starter model (which is known to work).
"""

from __future__ import annotations

import os

NATIVE_SIGNALS = {-11: "SIGSEGV, segmentation fault", -4: "SIGILL, illegal instruction", -7: "SIGBUS, bus error"}
FIRST_COMPUTE = "first compute after a load"
LATER_COMPUTE = "computation"


class CrashJudge:
    """Native crashes seen on the CPU code in use, and whether they convict the build."""

    def __init__(self) -> None:
        self._seen: list[tuple[str, int, str]] = []  # (model file, exit code, operation)
        self.model_at_fault: set[tuple[str, int]] = set()  # (model, code): the starter ran where it crashed

    def note(self, model: str, code: int, operation: str) -> None:
        self._seen.append((os.path.realpath(model), code, operation))

    def models(self, code: int, operation: str) -> list[str]:
        """The models that crashed this way, in the order they did (a model once)."""
        found: list[str] = []
        for model, c, o in self._seen:
            if c == code and o == operation and model not in found:
                found.append(model)
        return found

    def build_at_fault(self, code: int, operation: str, starter: str | None) -> bool:
        same = [m for m, c, o in self._seen if c == code and o == operation]
        starter = os.path.realpath(starter) if starter else None
        return len(set(same)) >= 2 or (starter is not None and same.count(starter) >= 2)

    def forget(self) -> None:
        """Another CPU variant runs now: what the last one did proves nothing about it."""
        self._seen.clear()
        self.model_at_fault.clear()


def wedged_message(seconds: float) -> str:
    """The message when the engine took no request twice in a row (a frozen process)."""
    return (f"The model engine stopped answering (it did not take a request within {seconds:.0f} s) and was "
            "stopped. Your text is safe; the next request starts a new engine.")


def crash_message(op: str, path: str, code: int | None, said: str, automatic: bool) -> str:
    """The message of the EngineCrashed a request gets when the engine died under it."""
    if code == -4:  # SIGILL: the CPU code, not the model, is at fault; every model would fail alike
        return sigill_message()
    how = {-9: "it was killed (signal 9; out of memory?)", -6: "llama.cpp aborted (signal 6)",
           -11: "it crashed (segmentation fault)"}.get(code or 0, f"exit code {code}")
    detail = f" llama.cpp said: {said}" if said else ""
    if op == "load" and not automatic:
        return (f"The engine crashed while loading {path}: {how}.{detail} The file may be damaged "
                "or need a newer llama.cpp. Choose another model.")
    if automatic:
        return (f"The engine stopped twice while reloading {path}: {how}.{detail} Your text is safe; "
                "the next request tries again.")
    return (f"The model engine stopped unexpectedly: {how}.{detail} Your text is safe; "
            "the next request restarts the engine and reloads the model.")


def sigill_message() -> str:
    """What to say when llama.cpp dies of an illegal instruction (signal 4)."""
    return ("The model engine stopped: this build of llama.cpp uses CPU instructions this computer lacks "
            "(signal 4, illegal instruction; most often AVX2 or AVX-512 in a build made for a newer CPU). "
            "This is not a problem with the model file. Install the portable build of Inkling, or build "
            "llama-cpp-python here with CMAKE_ARGS=\"-DGGML_NATIVE=OFF\"; `inkling selftest` shows which CPU code runs.")


def file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def log_errors(path: str, offset: int) -> str:
    """What llama.cpp reported as an error in the engine log since ``offset`` (this request only)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            text = f.read(64 * 1024).decode("utf-8", errors="replace")
    except OSError:
        return ""
    markers = ("GGML_ASSERT", "error", "failed", "abort", "exception")
    lines = [ln.strip() for ln in text.splitlines() if any(m in ln.lower() or m in ln for m in markers)]
    return " | ".join(lines[-3:])[:400]
