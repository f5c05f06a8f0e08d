"""App preferences: one human-readable, versioned JSON file in the user config dir.

A file that can't be read (hand-edited into invalid JSON, wrong kinds of values)
is never silently overwritten: it is kept aside as ``preferences.json.bad-<time>``,
the defaults are used, and ``warning`` says so for the window to show.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
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
    warning: str = field(default="", compare=False)  # not saved: why the file on disk was not used

    @classmethod
    def load(cls, path: Path) -> Preferences:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls()
        except OSError as exc:
            prefs = cls()
            prefs.warning = f"Your preferences file {path} could not be read ({exc.strerror or exc}); defaults are used."
            return prefs
        try:
            return cls._from_data(json.loads(text))
        except (ValueError, TypeError) as exc:
            return cls._set_aside(path, exc)

    @classmethod
    def _from_data(cls, data: Any) -> Preferences:
        if not isinstance(data, dict):
            raise TypeError("the file does not hold a set of named settings")
        defaults = cls()
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name == "warning" or f.name not in data:
                continue
            value, default = data[f.name], getattr(defaults, f.name)
            if isinstance(default, list):
                ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            elif isinstance(default, int):
                ok = isinstance(value, int) and not isinstance(value, bool)
            else:
                ok = isinstance(value, type(default))
            if not ok:
                raise TypeError(f"{f.name} is {value!r}")
            values[f.name] = value
        return cls(**values)

    @classmethod
    def _set_aside(cls, path: Path, exc: Exception) -> Preferences:
        kept = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
        prefs = cls()
        try:
            os.replace(path, kept)
        except OSError:
            prefs.warning = (f"Your preferences file {path} could not be read ({exc}); defaults are used "
                             "for now, and the file was left as it is.")
            return prefs
        prefs.warning = (f"Your preferences file could not be read ({exc}). It was kept as {kept}; "
                         "Inkling uses the default preferences.")
        return prefs

    def save(self, path: Path) -> None:
        data: dict[str, Any] = {"version": VERSION, **dataclasses.asdict(self)}
        data.pop("warning", None)
        tmp = path.with_suffix(".tmp")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(tmp, path)  # never leave a half-written file behind
