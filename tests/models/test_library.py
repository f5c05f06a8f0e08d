"""The local library: metadata without loading, import, delete, corrupt files, other apps' models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.core.errors import ModelFileError
from app.models.library import ModelLibrary, discover_other_apps


def test_the_starter_model_is_described_without_loading_it(tmp_path: Path) -> None:
    code = ("from app.models.library import ModelLibrary; from pathlib import Path; import sys;"
            f"e = ModelLibrary(Path({str(tmp_path)!r})).entries()[0];"
            "print(e.builtin, e.architecture, e.parameters, e.quantization, e.context_length, e.has_chat_template,"
            " 'llama_cpp' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "llama", "134515008", "Q4_1", "8192", "True", "False"]


def test_import_in_place_or_by_copy_and_delete(tmp_path: Path, starter_path: Path) -> None:
    library = ModelLibrary(tmp_path / "models")
    (tmp_path / "models").mkdir()
    in_place = library.import_file(starter_path, copy=False)
    assert in_place == starter_path
    copied = library.import_file(starter_path, copy=True)
    assert copied.parent == tmp_path / "models" / "imported" and copied.stat().st_size == starter_path.stat().st_size
    assert copied in library.files()
    library.delete(copied)
    assert not copied.exists() and copied not in library.files()
    with pytest.raises(ModelFileError):
        library.delete(starter_path)  # never outside Inkling's own folder


def test_a_corrupt_file_is_flagged_not_crashed_on(tmp_path: Path, starter_path: Path) -> None:
    folder = tmp_path / "models" / "someone" / "broken"
    folder.mkdir(parents=True)
    (folder / "half.gguf").write_bytes(starter_path.read_bytes()[:5_000_000])
    (folder / "text.gguf").write_text("not a model")
    (folder / "ok.gguf.part").write_bytes(b"partial")
    entries = {Path(e.path).name: e for e in ModelLibrary(tmp_path / "models").entries()}
    assert "truncated" in entries["half.gguf"].error
    assert "not a GGUF" in entries["text.gguf"].error
    assert "ok.gguf.part" not in entries
    with pytest.raises(ModelFileError):
        ModelLibrary(tmp_path / "models").import_file(folder / "half.gguf", copy=True)


def test_models_other_apps_downloaded_are_found(tmp_path: Path, starter_path: Path) -> None:
    lm = tmp_path / ".cache" / "lm-studio" / "models" / "org" / "repo"
    hf = tmp_path / ".cache" / "huggingface" / "hub" / "models--org--repo" / "snapshots" / "abc"
    for folder in (lm, hf):
        folder.mkdir(parents=True)
        (folder / "model-Q4_K_M.gguf").symlink_to(starter_path)
    found = discover_other_apps(tmp_path)
    assert [app for app, _ in found] == ["LM Studio"]  # the HF cache entry is the same file: listed once
    assert discover_other_apps(tmp_path, known=[str(starter_path)]) == []
