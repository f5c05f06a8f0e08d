"""What the engine is doing, as one value every view can show: ``EngineStatus``.

The engine client's supervisor thread is the only one that changes it, and it
announces each change (``Announcer``) to its subscribers, on that thread; the
window's bridge takes it onto the GUI thread. It tells an automatic reload
after a crash from writing, which a window that only knew "busy" could not.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


class EnginePhase(enum.Enum):
    """One step of the engine's life, as a person would name it."""

    DEAD = "dead"  # no engine process: not started yet, or it died and nothing asked for it since
    IDLE = "idle"  # an engine runs and waits for a request
    LOADING = "loading"  # loading a model someone chose
    RELOADING = "reloading"  # loading the model again on its own, after the engine died
    READING = "reading"  # reading a prompt (for a remote server: waiting for its first token)
    WRITING = "writing"  # generating, scoring or counting: running a request on the model


@dataclass(frozen=True)
class EngineStatus:
    """The engine's phase, the model it concerns ("" when none), and for a reload why it happens."""

    phase: EnginePhase = EnginePhase.DEAD
    model: str = ""
    why: str = ""

    @property
    def text(self) -> str:
        """A short sentence for the status bar and the reply being made."""
        if self.phase is EnginePhase.RELOADING:
            return "Reloading the model after a crash…" if self.why == CRASHED else "Reloading the model…"
        return {EnginePhase.DEAD: "No engine running", EnginePhase.IDLE: "Ready",
                EnginePhase.LOADING: "Loading the model…", EnginePhase.READING: "Reading the prompt…",
                EnginePhase.WRITING: "Writing…"}[self.phase]


CRASHED = "the engine crashed"  # why a reload happens: a death nobody asked for
STOPPED = "the engine was stopped by force"  # a Stop that did not end in time, or a frozen engine killed


def publish_status(engine: Any, status: EngineStatus) -> None:
    """Set ``engine.status`` and announce it on ``engine.status_changed``, unless it is unchanged.

    Called on the one thread that owns the engine's status; a listener's bug must not stop the engine.
    """
    if status == engine.status:
        return
    engine.status = status
    try:
        engine.status_changed._announce(status)
    except Exception:
        log.exception("an engine status listener failed")
