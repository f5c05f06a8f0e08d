"""What the window's status bar says about the engine, made from the bridge's one status and its model.

The words come from two things only: ``EngineBridge.status`` (what the engine is doing) and
``EngineBridge.info`` (which model the window shows). ``kind`` names the case for styling and tests
(empty, loading, reloading, ready, generating, error).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core.engine_status import EnginePhase
from app.core.events import ModelInfo
from app.core.ports import ModelEntry
from app.ui.engine_bridge import EngineBridge


@dataclass(frozen=True)
class StatusWords:
    """The status bar's text, its tooltip, which case it is, and whether the load bar shows."""

    text: str
    tip: str
    kind: str
    loading: bool = False


def engine_status_words(bridge: EngineBridge, entries: Sequence[ModelEntry]) -> StatusWords:
    """Say what the engine does now, and with which model, in the words of the status bar."""
    status = bridge.status
    if status.phase is EnginePhase.RELOADING:
        text = f"{status.text} ({Path(status.model).name})" if status.model else status.text
        return StatusWords(text, f"Reloading because {status.why}." if status.why else "", "reloading", True)
    if status.phase is EnginePhase.LOADING:
        return StatusWords(f"Loading {Path(status.model or bridge.loading_path).name}…", "", "loading", True)
    info = bridge.info
    if info is None:
        return (StatusWords("Model failed to load", "", "error") if bridge.load_failed
                else StatusWords("No model loaded", "", "empty"))
    busy = status.phase in (EnginePhase.READING, EnginePhase.WRITING)
    words, kind = (status.text, "generating") if busy else ("Ready", "ready")
    where, tip = _where(info, remote=bridge.engine.capabilities.remote)
    entry = next((e for e in entries if e.path == info.path), None)
    ctx = f"{info.context:,} ctx, " if info.context else ""  # a remote server may not say
    return StatusWords(f"{words} — {entry.name if entry else info.name}, {ctx}{where}", tip, kind)


def _where(info: ModelInfo, *, remote: bool) -> tuple[str, str]:
    """Where the model runs (CPU variant and threads, GPU layers, a server), and the CPU code's tooltip."""
    cpu = f"CPU ({info.cpu_variant})" if info.cpu_variant not in ("", "built-in") else "CPU"
    if info.cpu_skipped:  # a faster CPU variant crashed here: say so, the tooltip says how
        cpu = f"CPU ({info.cpu_variant}; {', '.join(info.cpu_skipped)} skipped)"
    where = f"GPU ({info.gpu_layers} layers)" if info.gpu_layers else f"{cpu}, {info.n_threads} thread{'s' if info.n_threads != 1 else ''}"
    if info.threads_automatic and not info.gpu_layers:
        where = f"{cpu}, threads automatic"  # the count follows measured speed (app.core.threads)
    if remote:
        where = f"served by a {info.architecture} server"
    tip = f"llama.cpp runs its {info.cpu_variant} CPU code" if info.cpu_variant else ""
    if info.cpu_note:
        tip += f" ({info.cpu_note})"
    return where, tip
