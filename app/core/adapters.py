"""LoRA adapters as data: what an adapter file says about itself, and whether it fits a model.

Read from the GGUF header alone (``app/core/gguf.py``), before llama.cpp sees the file, so an
adapter made for another base model is refused with the reason instead of failing inside
llama.cpp (or, worse, loading and writing nonsense).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.core.errors import AdapterError, ModelFileError
from app.core.gguf import GGUFHeader, read_header


@dataclass(frozen=True)
class AdapterInfo:
    """An adapter in use on the loaded model (``path`` empty: none) and its strength."""

    path: str = ""
    name: str = ""
    scale: float = 1.0
    base_name: str = ""
    cache_dropped: bool = False  # the switch made the engine forget its cached prompt


NO_ADAPTER: tuple[str, float] = ("", 1.0)
"""(path, strength) of no adapter."""


def adapter_key(path: str | Path | None, scale: float = 1.0) -> tuple[str, float]:
    """An adapter choice as one comparable value: any strength of no adapter is ``NO_ADAPTER``."""
    return (str(path), round(float(scale), 3)) if path else NO_ADAPTER


def adapter_words(info: AdapterInfo) -> str:
    """What the status bar says after a switch: which adapter, how strong, and that the cached prompt went."""
    what = f"Adapter {Path(info.path).stem} on (strength {info.scale:g})" if info.path else "Adapter off"  # as the picker names it
    return what + ("; the prompt cache was cleared" if info.cache_dropped else "")


def library_adapters(folder: Path) -> list[Path]:
    """The GGUF adapters in the library folder, by name (none when it doesn't exist yet)."""
    try:
        return sorted((p for p in folder.iterdir() if p.suffix.lower() == ".gguf" and p.is_file()),
                      key=lambda p: p.name.lower())
    except OSError:
        return []


def read_adapter(path: str | Path) -> GGUFHeader:
    """The adapter's header; ``AdapterError`` when the file is not a readable GGUF LoRA."""
    try:
        header = read_header(path)
    except ModelFileError as exc:
        raise AdapterError(str(path), f"it is not a readable GGUF file ({exc.reason})") from None
    meta = header.metadata
    if meta.get("general.type") != "adapter" or meta.get("adapter.type") != "lora":
        raise AdapterError(str(path), "it is a GGUF file but not a LoRA adapter (general.type/adapter.type say "
                                      f"{meta.get('general.type')!r}/{meta.get('adapter.type')!r})")
    return header


def check_fits(adapter: GGUFHeader, model: GGUFHeader) -> None:
    """Refuse an adapter made for another base model, saying which one it was made for."""
    meta = adapter.metadata
    path = str(adapter.path)
    arch = meta.get("general.architecture")
    if arch != model.architecture:
        raise AdapterError(path, f"it was made for a {arch} model; the loaded model is {model.architecture}")
    base = meta.get("adapter.base.name")
    sizes = {
        "layers": (meta.get("adapter.base.block_count"), model.layers),
        "width": (meta.get("adapter.base.embedding_length"), model.embedding_length),
    }
    wrong = [f"{what} {mine} vs {theirs}" for what, (mine, theirs) in sizes.items()
             if mine is not None and int(mine) != int(theirs)]
    if wrong or (base is not None and str(base) != model.name):
        made_for = f"'{base}'" if base else "another model"
        raise AdapterError(path, f"it was made for {made_for}, not for the loaded model '{model.name}'"
                                 + (f" ({', '.join(wrong)})" if wrong else "") + ". Load its base model, or "
                                 "train an adapter for this one.")
