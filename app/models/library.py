"""The models on this computer: the starter model, the models folder, and folders the user adds.

Each entry is described from its GGUF header, without loading it. A broken file is
listed with the reason instead of being hidden or crashing the scan. Partial
downloads (``*.part``) are never listed.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path

from app.core.errors import ModelFileError, StarterModelMissing
from app.core.gguf import GGUFHeader, read_header
from app.core.ports import ModelEntry
from app.core.starter import DISPLAY_NAME, starter_model_path

ENCODER_ARCHITECTURES = frozenset({"bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "jina-bert-v3",
                                   "modern-bert", "neo-bert", "t5encoder", "gemma-embedding"})
"""llama.cpp architectures that only embed (all-MiniLM and bge are ``bert``, nomic-embed ``nomic-bert``)."""


def model_kind(header: GGUFHeader) -> str:
    """"adapter" (a LoRA), "embedding" (an encoder, or a model whose header names its pooling and has no
    chat template, as Qwen3-Embedding does) or "chat"."""
    meta = header.metadata
    if meta.get("general.type") == "adapter":
        return "adapter"
    arch = header.architecture
    if arch in ENCODER_ARCHITECTURES or (f"{arch}.pooling_type" in meta and header.chat_template is None):
        return "embedding"
    return "chat"


def describe(path: Path, builtin: bool = False, name: str = "") -> ModelEntry:
    """An entry for one file; a file that can't be described gets ``error`` set instead of raising.

    Anything at all that goes wrong with one file stays with that file: one bad
    file must never empty the whole list.
    """
    try:
        header = read_header(path)
        return ModelEntry(
            str(path), name or header.name, header.file_size, builtin, header.architecture, header.parameters,
            header.quantization, header.context_length, header.chat_template is not None,
            kv_bytes_per_token=header.kv_bytes_per_token(), kind=model_kind(header),
        )
    except ModelFileError as exc:
        reason = exc.reason
    except Exception as exc:  # a bug or an oddity not foreseen: still only this file is broken
        reason = f"it could not be read ({type(exc).__name__}: {exc})"
    try:
        size = path.stat().st_size if path.is_file() else 0
    except OSError:
        size = 0
    return ModelEntry(str(path), name or path.stem, size, builtin, error=reason)


def other_app_folders(home: Path | None = None) -> dict[str, list[Path]]:
    """Where other apps keep GGUF files, per app (only folders that exist)."""
    import os

    home = home or Path.home()
    local = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local"))
    hf_home = Path(os.environ.get("HF_HOME", home / ".cache" / "huggingface"))
    candidates = {
        "LM Studio": [home / ".lmstudio" / "models", home / ".cache" / "lm-studio" / "models"],
        "GPT4All": [home / ".local" / "share" / "nomic.ai" / "GPT4All",
                    home / "Library" / "Application Support" / "nomic.ai" / "GPT4All", local / "nomic.ai" / "GPT4All"],
        "Jan": [home / "jan" / "models", home / ".jan" / "models"],
        "Hugging Face cache": [hf_home / "hub"],
    }
    return {app: [p for p in paths if p.is_dir()] for app, paths in candidates.items() if any(p.is_dir() for p in paths)}


def discover_other_apps(home: Path | None = None, known: Iterable[str] = ()) -> list[tuple[str, Path]]:
    """(app, file) for GGUF files other apps downloaded that Inkling does not list yet."""
    seen = {str(Path(k).resolve()) for k in known}
    found = []
    for app, folders in other_app_folders(home).items():
        for folder in folders:
            for path in sorted(folder.rglob("*.gguf")):
                real = str(path.resolve())
                if path.is_file() and real not in seen and not path.name.endswith(".part"):
                    seen.add(real)
                    found.append((app, path))
    return found


class ModelLibrary:
    """Scans for GGUF files; caches descriptions by (path, size, mtime)."""

    def __init__(self, models_dir: Path, extra_folders: Iterable[str] = ()) -> None:
        self.models_dir = models_dir
        self.extra_folders = [Path(f) for f in extra_folders]
        self._cache: dict[tuple[str, int, float], ModelEntry] = {}
        self._scan_lock = threading.Lock()  # concurrent scans wait and then hit the cache

    def files(self) -> list[Path]:
        found: list[Path] = []
        for folder in [self.models_dir, *self.extra_folders]:
            if folder.is_dir():
                found += sorted(p for p in folder.rglob("*.gguf") if p.is_file())
        return found

    def entries(self) -> list[ModelEntry]:
        with self._scan_lock:
            return self._scan()

    def _scan(self) -> list[ModelEntry]:
        out: list[ModelEntry] = []
        with contextlib.suppress(StarterModelMissing):
            out.append(self._describe(starter_model_path(), builtin=True, name=DISPLAY_NAME))
        seen = {e.path for e in out}
        for path in self.files():
            if str(path) not in seen:
                seen.add(str(path))
                out.append(self._describe(path))
        return out

    def _describe(self, path: Path, builtin: bool = False, name: str = "") -> ModelEntry:
        try:
            st = path.stat()
        except OSError:  # vanished or unreadable between the scan and now
            return describe(path, builtin, name)
        key = (str(path), st.st_size, st.st_mtime)
        if key not in self._cache:
            self._cache[key] = describe(path, builtin, name)
        return self._cache[key]

    def add_folder(self, folder: Path) -> None:
        if folder not in self.extra_folders:
            self.extra_folders.append(folder)

    def import_file(self, source: Path, copy: bool) -> Path:
        """Use a file in place, or copy it into the models folder. The file is checked first."""
        read_header(source)
        if not copy:
            self.add_folder(source.parent)
            return source
        target = self.models_dir / "imported" / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_suffix(target.suffix + ".part")
        shutil.copyfile(source, part)
        part.replace(target)
        return target

    def delete(self, path: Path) -> None:
        """Delete a file from the models folder (never the starter model or a user's own folder)."""
        path = path.resolve()
        if self.models_dir.resolve() not in path.parents:
            raise ModelFileError(str(path), "only models inside Inkling's models folder can be deleted here")
        path.unlink()
        self._cache = {k: v for k, v in self._cache.items() if k[0] != str(path)}
