"""Where Inkling keeps its files: one module, with the ``INKLING_HOME`` override.

With ``INKLING_HOME=<dir>`` every folder lives under ``<dir>`` (tests, portable
installs); otherwise the platform's user folders from platformdirs are used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "Inkling"


@dataclass(frozen=True)
class AppPaths:
    """The folders Inkling writes to. Call :meth:`ensure` before writing."""

    data: Path
    config: Path
    logs: Path
    cache: Path

    @property
    def database(self) -> Path:
        return self.data / "inkling.sqlite3"

    @property
    def models(self) -> Path:
        return self.data / "models"

    @property
    def downloads(self) -> Path:
        return self.data / "downloads"

    @property
    def preferences(self) -> Path:
        return self.config / "preferences.json"

    @property
    def connections(self) -> Path:
        """Remote servers the user connected (no secrets: those are in ``connection_secrets``)."""
        return self.config / "connections.json"

    @property
    def connection_secrets(self) -> Path:
        """API keys and header values of the connections; written readable by the user only (0600)."""
        return self.config / "connection-secrets.json"

    @property
    def tool_servers(self) -> Path:
        """The MCP tool servers (an ``mcpServers`` file, as Claude Desktop writes it) and which chats use them."""
        return self.config / "mcp.json"

    @property
    def cpu_variants(self) -> Path:
        """llama.cpp CPU variants that crashed on this computer (app/engine/backends.py keeps it)."""
        return self.data / "cpu-variants.json"

    @property
    def sources(self) -> Path:
        """Source collections: one SQLite index per collection (app/core/sources/collections.py)."""
        return self.data / "sources"

    @property
    def engine_log(self) -> Path:
        return self.logs / "engine.log"

    def ensure(self) -> AppPaths:
        for folder in (self.data, self.config, self.logs, self.cache, self.models, self.downloads):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def app_paths() -> AppPaths:
    """The folders for this run, honouring ``INKLING_HOME``."""
    home = os.environ.get("INKLING_HOME")
    if home:
        root = Path(home).expanduser().resolve()
        return AppPaths(root / "data", root / "config", root / "logs", root / "cache")
    import platformdirs

    return AppPaths(
        Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
    )


def file_stem(title: str, fallback: str) -> str:
    """A file name (without suffix) for a title: letters, digits, spaces, '-' and '_' kept, anything else
    ("…", "/", ":") dropped, with no stray '_' or space at its ends; ``fallback`` when nothing is left."""
    kept = "".join(c if c.isalnum() or c in " -_" else " " for c in title)
    stem = " ".join(kept.split()).strip(" -_")
    return stem or fallback
