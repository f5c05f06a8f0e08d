"""Sampling presets: the built-in ones plus the user's own, saved in SQLite, with validated import/export.

``PresetStore`` is also where a chat's or document's settings are *resolved*:
its own saved settings if they are readable, else its preset's, else the
default preset's. Sessions are built with resolved settings, so a pane never
has to ask anyone what its settings are after it has been created.

``PresetStore`` is the only writer of saved presets. After every change it
announces a ``PresetChange`` to its subscribers (the Sampling pane's selector,
the window that keeps open chats and documents on a renamed preset's new name).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from app.core.announcer import Announcer
from app.core.errors import InvalidSetting
from app.core.sampling import BUILTIN_PRESETS, SamplingSettings
from app.core.storage import Storage

EXPORT_FORMAT = "inkling-presets"
MAX_NAME = 80


class PresetImportError(InvalidSetting):
    """A presets file could not be imported; nothing from it was saved."""

    title = "These presets can't be imported"


@dataclass(frozen=True)
class PresetChange:
    """What a change did: ``names`` saved, renamed (``old`` → the one name) or deleted."""

    kind: Literal["saved", "renamed", "deleted"]
    names: tuple[str, ...]
    old: str = ""


class PresetStore(Announcer[[PresetChange]]):
    """Built-in presets (read-only) and user presets (in the database), by name.

    ``subscribe(listener)`` is told a ``PresetChange`` after every save, rename, delete and import.
    """

    def __init__(self, storage: Storage, default: str = "Balanced") -> None:
        super().__init__()
        self.storage = storage
        self.default = default

    @staticmethod
    def builtin_names() -> set[str]:
        return {p.name for p in BUILTIN_PRESETS}

    def is_builtin(self, name: str) -> bool:
        return name in self.builtin_names()

    def all(self) -> dict[str, SamplingSettings]:
        """Every preset, built-in first; a user preset that no longer validates is left out."""
        out = {p.name: p.settings for p in BUILTIN_PRESETS}
        for name, data in self.storage.presets().items():
            if name in out:
                continue
            try:
                out[name] = SamplingSettings.from_dict(data)
            except (InvalidSetting, TypeError, ValueError):
                continue
        return out

    def get(self, name: str) -> SamplingSettings | None:
        return self.all().get(name)

    def resolve(self, saved: str, preset: str) -> tuple[SamplingSettings, str]:
        """Settings saved with a chat or document (JSON text), else its preset's, else the default's."""
        own = SamplingSettings.from_saved(saved)
        presets = self.all()
        if own is not None:
            if preset not in presets:  # settings saved without a preset's name: name the preset they equal
                preset = next((name for name in (self.default, *presets) if presets.get(name) == own), preset)
            return own, preset
        if preset not in presets:
            preset = self.default if self.default in presets else BUILTIN_PRESETS[0].name
        return presets[preset], preset

    # -- changes -------------------------------------------------------------------------

    def _check_name(self, name: str) -> str:
        name = name.strip()
        if not name:
            raise InvalidSetting("A preset needs a name")
        if len(name) > MAX_NAME:
            raise InvalidSetting(f"A preset name can be at most {MAX_NAME} characters long")
        if self.is_builtin(name):
            raise InvalidSetting(f"“{name}” is a built-in preset; choose another name")
        return name

    def save(self, name: str, settings: SamplingSettings) -> str:
        """Save (or overwrite) a user preset; returns the name as stored."""
        name = self._check_name(name)
        settings.validate()
        self.storage.save_preset(name, settings.to_dict())
        self._announce(PresetChange("saved", (name,)))
        return name

    def rename(self, old: str, new: str) -> str:
        """Rename a user preset; the chats and documents that used it use it under its new name."""
        new = self._check_name(new)
        if self.is_builtin(old):
            raise InvalidSetting(f"“{old}” is a built-in preset and can't be renamed")
        if new in self.all():
            raise InvalidSetting(f"There is already a preset called “{new}”")
        self.storage.rename_preset(old, new)
        self._announce(PresetChange("renamed", (new,), old))
        return new

    def delete(self, name: str) -> None:
        if self.is_builtin(name):
            raise InvalidSetting(f"“{name}” is a built-in preset and can't be deleted")
        self.storage.delete_preset(name)
        self._announce(PresetChange("deleted", (name,)))

    # -- files ---------------------------------------------------------------------------

    def export_json(self) -> str:
        """The user's presets as a file another Inkling can import (built-ins are not included)."""
        data = {name: s.to_dict() for name, s in self.all().items() if not self.is_builtin(name)}
        return json.dumps({"format": EXPORT_FORMAT, "version": 1, "presets": data}, indent=2, ensure_ascii=False)

    def parse(self, text: str) -> dict[str, SamplingSettings]:
        """Read an exported presets file; PresetImportError says what is wrong, and nothing is kept."""
        try:
            data: Any = json.loads(text)
        except ValueError as exc:
            raise PresetImportError(f"The file is not valid JSON ({exc})") from None
        if isinstance(data, dict) and "presets" in data:
            if data.get("format", EXPORT_FORMAT) != EXPORT_FORMAT:
                raise PresetImportError("The file is not an Inkling presets file")
            data = data["presets"]
        if not isinstance(data, dict) or not data:
            raise PresetImportError("The file has no presets in it")
        parsed: dict[str, SamplingSettings] = {}
        for name, values in data.items():
            if not isinstance(values, dict):
                raise PresetImportError(f"Preset “{name}” is not a set of settings")
            try:
                clean = self._check_name(str(name))
                parsed[clean] = SamplingSettings.from_dict(values)
            except (InvalidSetting, TypeError, ValueError) as exc:
                raise PresetImportError(f"Preset “{name}”: {exc}") from None
        return parsed

    def import_json(self, text: str) -> list[str]:
        """Import every preset of a file, or none of them; returns the names saved."""
        parsed = self.parse(text)
        for name, settings in parsed.items():
            self.storage.save_preset(name, settings.to_dict())
        self._announce(PresetChange("saved", tuple(parsed)))
        return list(parsed)
