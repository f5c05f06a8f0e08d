"""The fit badge and the engine's load refusal are one estimate: on the same file they agree to the byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import InsufficientMemory
from app.core.events import LoadOptions
from app.core.gguf import read_header
from app.core.memory import OVERHEAD, effective_context
from app.engine import runtime
from app.models.fit import fit_for_file
from app.models.library import ModelLibrary, describe
from app.models.manager import ModelManager


def test_the_fit_badge_and_the_load_refusal_agree_on_the_same_file(starter_path: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    n_ctx = 2048
    badge = fit_for_file(starter_path, n_ctx, free_ram=10 * 1024**3)
    header = read_header(starter_path)
    assert badge.needed == header.file_size + header.kv_bytes_per_token() * effective_context(n_ctx, 8192) + OVERHEAD

    # one byte short: the badge says it won't fit, and the engine refuses with the same number
    monkeypatch.setattr(runtime, "available_memory", lambda: badge.needed - 1)
    assert fit_for_file(starter_path, n_ctx, free_ram=badge.needed - 1).verdict == "won't fit"
    with pytest.raises(InsufficientMemory) as caught:
        runtime.LlamaRuntime().load(str(starter_path), LoadOptions(n_ctx=n_ctx))
    assert caught.value.needed == badge.needed

    # exactly enough: the badge does not say "won't fit", and the engine loads it
    monkeypatch.setattr(runtime, "available_memory", lambda: badge.needed)
    assert fit_for_file(starter_path, n_ctx, free_ram=badge.needed).verdict != "won't fit"
    rt = runtime.LlamaRuntime()
    try:
        assert rt.load(str(starter_path), LoadOptions(n_ctx=n_ctx)).context == n_ctx
    finally:
        rt.unload()

    # the library's badge, for the file and for its listed entry, is the same number
    manager = ModelManager(ModelLibrary(tmp_path / "models"))
    assert manager.fit_file(starter_path, n_ctx).needed == badge.needed
    assert manager.fit_entry(describe(starter_path), n_ctx).needed == badge.needed


def test_a_context_longer_than_the_model_was_trained_for_is_counted_as_the_engine_loads_it(starter_path: Path) -> None:
    trained = read_header(starter_path).context_length
    assert fit_for_file(starter_path, 10 * trained, None).needed == fit_for_file(starter_path, trained, None).needed
