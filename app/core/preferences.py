"""App preferences: one human-readable, versioned JSON file in the user config dir."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VERSION = 1


@dataclass
class Preferences:
    """What Inkling remembers between runs (window geometry lives in QSettings)."""

    model_path: str = ""
    n_ctx: int = 4096
    n_gpu_layers: int = -1
    n_threads: int = 0  # 0 = automatic
    default_preset: str = "Balanced"
    model_folders: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Preferences:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        known = {f.name for f in dataclasses.fields(cls)}
        prefs = cls(**{k: v for k, v in data.items() if k in known})
        if not isinstance(prefs.model_folders, list):
            prefs.model_folders = []
        return prefs

    def save(self, path: Path) -> None:
        data: dict[str, Any] = {"version": VERSION, **dataclasses.asdict(self)}
        tmp = path.with_suffix(".tmp")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(tmp, path)  # never leave a half-written file behind
