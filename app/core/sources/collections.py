"""Named source collections: one index file each in the sources folder.

A collection is a name a person chose and the folders and files they added; its
index is ``<sources>/<name>.sqlite3``. Names are kept to what is safe as a file
name on every system, so a name is also its file.
"""

from __future__ import annotations

import re
from pathlib import Path

from app.core.errors import SourceError
from app.core.sources.store import SourceStore

_NAME = re.compile(r"^[\w][\w .-]{0,63}$")


class Collections:
    """The collections in one folder: list, open (creating), remove."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path_of(self, name: str) -> Path:
        if not _NAME.match(name) or name.endswith((".", " ")):
            raise SourceError(f"{name!r} can't be a collection's name: use letters, digits, spaces, '.', '-' or '_' "
                              "(at most 64).")
        return self.folder / f"{name}.sqlite3"

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.sqlite3"))

    def exists(self, name: str) -> bool:
        return self.path_of(name).exists()

    def open(self, name: str, create: bool = False) -> SourceStore:
        path = self.path_of(name)
        if not create and not path.exists():
            known = ", ".join(self.names()) or "none yet"
            raise SourceError(f"There is no collection named {name!r} (collections: {known}). "
                              f"Add one with: inkling sources add {name} FOLDER")
        return SourceStore(path)

    def remove(self, name: str) -> None:
        path = self.path_of(name)
        for p in (path, Path(str(path) + "-wal"), Path(str(path) + "-shm")):
            p.unlink(missing_ok=True)
