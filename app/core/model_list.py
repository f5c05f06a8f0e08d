"""The models a person can choose, as one list: the local library, then each server's models.

``ModelList`` is the one source the model selector, the Models pane's library
table and Compare's list show. It is fed by whoever scans (the library scan, run
by the window at start and by the Models pane after an import, a download, a
delete or a new folder) and by the connection store (each server's models), and
it announces what was added and removed, so a downloaded or imported model
appears everywhere at once and nobody keeps a copy of the list.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.announcer import Announcer
from app.core.ports import ModelEntry


@dataclass(frozen=True)
class ModelListChange:
    """Entries that left and entries that joined (an entry whose details changed is in both)."""

    added: tuple[ModelEntry, ...]
    removed: tuple[ModelEntry, ...]


class ModelList(Announcer[[ModelListChange]]):
    """Local models (as last scanned) followed by remote ones (as their servers last listed them)."""

    def __init__(self, local: list[ModelEntry] | None = None, remote: list[ModelEntry] | None = None) -> None:
        super().__init__()
        self._local = list(local or [])
        self._remote = list(remote or [])

    @property
    def entries(self) -> list[ModelEntry]:
        return self._local + self._remote

    @property
    def local(self) -> list[ModelEntry]:
        """The models on this computer, in the library's order."""
        return list(self._local)

    def get(self, path: str) -> ModelEntry | None:
        """The entry for a file path or a remote reference; None if it is not listed."""
        return next((e for e in self.entries if e.path == path), None)

    def set_local(self, entries: list[ModelEntry]) -> ModelListChange | None:
        """The library was scanned: these are the local models now. Returns what was announced."""
        return self._replace(entries, remote=False)

    def set_remote(self, entries: list[ModelEntry]) -> ModelListChange | None:
        """The servers' models now (from the saved connections). Returns what was announced."""
        return self._replace(entries, remote=True)

    def _replace(self, entries: list[ModelEntry], *, remote: bool) -> ModelListChange | None:
        before = self._remote if remote else self._local
        if entries == before:
            return None  # a scan that found the same: nothing to redraw
        change = ModelListChange(added=tuple(e for e in entries if e not in before),
                                 removed=tuple(e for e in before if e not in entries))
        if remote:
            self._remote = list(entries)
        else:
            self._local = list(entries)
        self._announce(change)
        return change
