"""``inkling selftest``: can this computer run this build of Inkling? (Help ▸ Check this computer)

Everything happens in this one process, with no engine child, so that the whole
check runs under an emulator such as ``qemu-x86_64 -cpu Nehalem`` (which does not
follow child processes): load llama.cpp's best CPU backend, load the starter model
(or ``--model``), generate a few tokens, and print the llama.cpp build, the CPU
variant that was loaded, GPU offload, the speed and the data folders. The exit
status is 0 when a reply came, 1 with a plain reason when something failed.

``inkling selftest --info`` prints the same facts as JSON without loading a model
(the About dialog reads it).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from importlib import metadata
from typing import Any, TextIO

from app import __version__

TOKENS = 16


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def system_info() -> dict[str, Any]:
    """Versions, CPU backend, GPU offload and folders, without loading a model."""
    from app.core.paths import app_paths
    from app.engine.backends import report

    paths = app_paths()
    rep = report()
    return {
        "inkling": __version__,
        "llama_cpp_python": _version("llama-cpp-python"),
        "llama_cpp": rep.ggml_version,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "frozen": bool(getattr(sys, "frozen", False)),
        "dynamic_backends": rep.dynamic,
        "cpu_variant": rep.cpu_variant,
        "cpu_skipped": [list(pair) for pair in rep.cpu_skipped],  # better variants that crashed here, and why
        "cpu_features": list(rep.cpu_features),
        "gpu_offload": rep.gpu_offload,
        "devices": list(rep.devices),
        "threads": os.cpu_count() or 1,
        "folders": {"data": str(paths.data), "models": str(paths.models), "config": str(paths.config),
                    "logs": str(paths.logs)},
    }


def cpu_variants_file() -> str:
    from app.core.paths import app_paths

    return str(app_paths().cpu_variants)


def _no_end_bias(llm: Any) -> tuple[tuple[int, float], ...]:
    """A logit bias against every end-of-generation token, so the reply has exactly TOKENS tokens."""
    import llama_cpp

    vocab = llm._model.vocab
    return tuple((t, -100.0) for t in range(llm.n_vocab()) if llama_cpp.llama_vocab_is_eog(vocab, t))


def run(model: str | None = None, out: TextIO | None = None, tokens: int = TOKENS) -> int:
    """The check. Prints as it goes, so a crash shows how far it got."""
    out = out or sys.stdout

    def say(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    say(f"Inkling {__version__} selftest ({'bundle' if getattr(sys, 'frozen', False) else 'Python'} "
        f"{platform.python_version()}, {platform.system()} {platform.machine()})")
    step = "loading llama.cpp"
    try:
        info = system_info()
        say(f"llama.cpp:        {info['llama_cpp']} (llama-cpp-python {info['llama_cpp_python']})")
        say(f"CPU backend:      {info['cpu_variant']}"
            f"{' (chosen at run time from the variants in this build)' if info['dynamic_backends'] else ' (linked in)'}")
        for name, why in info["cpu_skipped"]:
            say(f"skipped variant:  {name} ({why}; remembered in {cpu_variants_file()})")
        say(f"CPU features:     {' '.join(info['cpu_features']) or 'unknown'}")
        say(f"GPU offload:      {'yes' if info['gpu_offload'] else 'no'}")
        for dev in info["devices"]:
            say(f"device:           {dev}")
        for name, folder in info["folders"].items():
            say(f"{name + ' folder:':<18}{folder}")

        step = "finding the model"
        if model is None:
            from app.core.starter import starter_model_path

            model = str(starter_model_path())
        say(f"model:            {model}")
        step = "loading the model"
        from app.core.events import LoadOptions
        from app.core.sampling import SamplingSettings
        from app.engine.runtime import LlamaRuntime

        runtime = LlamaRuntime()
        t0 = time.perf_counter()
        loaded = runtime.load(model, LoadOptions(n_ctx=512))
        say(f"loaded in:        {time.perf_counter() - t0:.2f} s ({loaded.name}, {loaded.n_threads} threads, "
            f"{loaded.gpu_layers} layers on GPU)")
        step = "generating"
        settings = SamplingSettings(temperature=0.0, max_tokens=tokens, seed=1, logit_bias=_no_end_bias(runtime.llm))
        pieces: list[str] = []
        fin = runtime.complete("Once upon a time", settings, 0, lambda ev: pieces.append(ev.text))
        runtime.unload()
        t = fin.timings
        if t.generated_tokens < 1:
            raise RuntimeError(f"no token came back (finish reason {fin.reason})")
        say(f"reply:            {''.join(pieces).strip()!r}")
        say(f"speed:            {t.generated_tokens} tokens, {t.tokens_per_second:.1f} tok/s, "
            f"first token {t.first_token_ms:.0f} ms")
    except Exception as exc:  # the point is to say what failed, whatever it is
        say(f"FAILED while {step}: {exc}")
        return 1
    say("OK: this computer runs this build of Inkling.")
    return 0


def print_info(out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        out.write(json.dumps(system_info()) + "\n")
    except Exception as exc:
        out.write(json.dumps({"error": str(exc)}) + "\n")
        return 1
    return 0


def command_line() -> list[str]:
    """How to start ``inkling`` again from this process (the bundle's executable, or python -m app)."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "app"]

