"""What the main window needs from a tab: the ``Pane`` protocol, so the window wires panes by type.

A pane announces status lines, when it shows another session (another chat or
document, whose sampling settings the Sampling panel should show), and when the
text the next token would follow has changed (the next-token chart refreshes).
The window asks it for the session whose settings the Sampling panel edits and
for what the chart should look at; a pane with neither (Models) answers None.
The window's one Stop (Esc, Chat ▸ Stop generating) asks every pane to stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import SignalInstance

from app.core.sampling import SamplingSettings


class SamplingOwner(Protocol):
    """A session with its own sampling settings (ChatSession, DocumentSession)."""

    sampling: SamplingSettings
    preset: str

    def set_sampling(self, settings: SamplingSettings, preset: str = "") -> bool: ...


@dataclass(frozen=True)
class PreviewRequest:
    """What the next-token chart should look at: chat messages, or a raw prompt, and what that is in words.

    With neither messages nor a prompt, the chart shows nothing but ``about`` (why there is nothing to show).
    """

    messages: list[dict[str, str]] | None = None
    prompt: str | None = None
    about: str = ""

    @property
    def empty(self) -> bool:
        return self.messages is None and self.prompt is None


class Pane(Protocol):
    """A tab of the main window."""

    status_message: SignalInstance
    """(str) A short line for the status bar."""
    session_changed: SignalInstance
    """() Another session is shown: its settings replace the Sampling panel's."""
    preview_changed: SignalInstance
    """() The context the next token would follow may have changed."""

    def sampling_owner(self) -> SamplingOwner | None:
        """The session whose sampling settings the Sampling panel shows and edits, if any."""
        ...

    def preview_request(self) -> PreviewRequest | None:
        """What the next-token chart should show candidates for, if anything (None: a pane with no text)."""
        ...

    def flush(self) -> None:
        """Save anything pending (the window is closing)."""
        ...

    def stop(self) -> None:
        """Stop anything this pane is generating, keeping what was written (the window's one Stop)."""
        ...
