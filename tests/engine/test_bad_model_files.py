"""Bad model files get a typed error that names the file and the reason; the engine survives."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.errors import ModelFileError
from app.core.events import LoadOptions
from app.core.gguf import read_header
from app.core.paths import app_paths
from app.core.sampling import SamplingSettings
from app.engine.client import EngineClient


def _bad_files(tmp: Path, starter: Path) -> dict[str, tuple[Path, str]]:
    real = starter.read_bytes()
    files: dict[str, tuple[Path, str]] = {}
    files["missing"] = (tmp / "nowhere.gguf", "does not exist")
    (tmp / "notes.gguf").write_text("These are my notes, not a model.\n" * 20)
    files["not gguf"] = (tmp / "notes.gguf", "not a GGUF model file")
    (tmp / "half.gguf").write_bytes(real[: len(real) // 2])
    files["truncated"] = (tmp / "half.gguf", "truncated")
    (tmp / "magic.gguf").write_bytes(b"GGML" + real[4:4096])
    files["wrong magic"] = (tmp / "magic.gguf", "wrong magic")
    garbage = b"GGUF" + struct.pack("<I", 3) + struct.pack("<QQ", 5, 3) + struct.pack("<Q", 2**60) + b"\xff" * 64
    (tmp / "garbage.gguf").write_bytes(garbage)
    files["garbage header"] = (tmp / "garbage.gguf", "damaged")
    (tmp / "empty.gguf").write_bytes(b"")
    files["empty"] = (tmp / "empty.gguf", "empty")
    (tmp / "folder.gguf").mkdir()
    files["folder"] = (tmp / "folder.gguf", "folder")
    return files


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory, starter_path: Path) -> dict[str, tuple[Path, str]]:
    return _bad_files(tmp_path_factory.mktemp("bad"), starter_path)


@pytest.fixture(scope="module")
def bare_engine() -> Iterator[EngineClient]:
    client = EngineClient(log_path=app_paths().ensure().engine_log)
    yield client
    client.close()


@pytest.mark.parametrize("kind", ["missing", "not gguf", "truncated", "wrong magic", "garbage header", "empty", "folder"])
def test_header_check_names_file_and_reason(kind: str, bad_files: dict[str, tuple[Path, str]]) -> None:
    path, reason = bad_files[kind]
    with pytest.raises(ModelFileError) as caught:
        read_header(path)
    assert str(path) in str(caught.value)
    assert reason in caught.value.reason


@pytest.mark.parametrize("kind", ["missing", "not gguf", "truncated", "wrong magic", "garbage header"])
def test_engine_rejects_bad_file_and_keeps_working(kind: str, bad_files: dict[str, tuple[Path, str]],
                                                   bare_engine: EngineClient, starter_path: Path) -> None:
    path, reason = bad_files[kind]
    pid = bare_engine.pid
    with pytest.raises(ModelFileError) as caught:
        bare_engine.load(path, LoadOptions(n_ctx=512))
    assert reason in str(caught.value)
    assert bare_engine.crashes == 0
    assert pid is None or bare_engine.pid == pid  # rejected before llama.cpp saw it: no crash, no restart


def test_engine_loads_a_good_model_after_bad_ones(bare_engine: EngineClient, starter_path: Path) -> None:
    bare_engine.load(starter_path, LoadOptions(n_ctx=512))
    fin = bare_engine.complete("Hello", SamplingSettings(temperature=0, max_tokens=3)).wait()
    assert fin.timings.generated_tokens == 3


def test_header_of_the_starter_model_is_read_without_loading_it(starter_path: Path) -> None:
    header = read_header(starter_path)
    assert header.architecture == "llama"
    assert header.quantization == "Q4_1"
    assert header.context_length == 8192
    assert header.chat_template and "<|im_start|>" in header.chat_template
    assert header.data_offset + header.data_size == header.file_size
    assert header.array_lengths["tokenizer.ggml.tokens"] == 49152
