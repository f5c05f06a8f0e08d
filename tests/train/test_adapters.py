"""Adapters on the loaded model: switched without a reload, refused when made for another model."""

from __future__ import annotations

import dataclasses
import os
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.core.engine_status import EnginePhase
from app.core.errors import AdapterError
from app.core.events import LoadOptions
from app.core.sampling import SamplingSettings
from app.engine.client import EngineClient
from tests.train.conftest import needs_extra, random_adapter

pytestmark = [needs_extra, pytest.mark.model]

GREEDY = SamplingSettings().replace(temperature=0.0, max_tokens=12, seed=1)
OPENING = "The old lighthouse keeper opened the door and"


def _text(client: EngineClient) -> str:
    stream = client.complete(OPENING, GREEDY)
    return "".join(event.text for event in stream)


def test_two_adapters_switch_on_one_loaded_model_without_a_reload(
        base: tuple[Any, dict[str, np.ndarray]], starter_path: Path, tmp_path: Path) -> None:
    cfg, _ = base
    first, second = tmp_path / "first.gguf", tmp_path / "second.gguf"
    random_adapter(cfg, first, starter_path, seed=11, strength=0.3)
    random_adapter(cfg, second, starter_path, seed=22, strength=0.3)
    client = EngineClient(log_path=tmp_path / "engine.log")
    phases: list[EnginePhase] = []
    try:
        client.load(starter_path, LoadOptions(n_ctx=512))
        plain = _text(client)
        pid = client.pid
        client.status_changed.subscribe(lambda status: phases.append(status.phase))
        info = client.set_adapter(first, 1.0)
        assert info.cache_dropped and info.base_name == cfg.name
        with_first = _text(client)
        client.set_adapter(second, 1.0)
        with_second = _text(client)
        client.set_adapter(first, 0.0)  # strength 0: the base model again
        at_zero = _text(client)
        client.set_adapter(first, 1.0)
        again = _text(client)
        client.set_adapter(None)
        off = _text(client)
        assert client.pid == pid, "a switch must not restart the engine"
        assert EnginePhase.LOADING not in phases and EnginePhase.RELOADING not in phases, phases
        print(f"\nbase: {plain!r}\nfirst: {with_first!r}\nsecond: {with_second!r}")
        assert len({plain, with_first, with_second}) == 3
        assert at_zero == plain and off == plain and again == with_first

        # a crash's reload puts the adapter back on
        client.set_adapter(second, 1.0)
        os.kill(pid, signal.SIGKILL)
        assert _text(client) == with_second
        assert client.pid != pid
    finally:
        client.close()


def test_an_adapter_for_another_model_and_a_garbage_file_are_refused_with_the_reason(
        base: tuple[Any, dict[str, np.ndarray]], starter_path: Path, tmp_path: Path) -> None:
    cfg, _ = base
    other = tmp_path / "other.gguf"
    random_adapter(dataclasses.replace(cfg, name="Tinyllama 1.1B Chat"), other, starter_path, seed=3)
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"GGUF" + os.urandom(300))
    model_file = starter_path  # a model, not an adapter
    client = EngineClient(log_path=tmp_path / "engine.log")
    try:
        client.load(starter_path, LoadOptions(n_ctx=512))
        plain = _text(client)
        with pytest.raises(AdapterError) as refused:
            client.set_adapter(other, 1.0)
        assert "made for 'Tinyllama 1.1B Chat'" in str(refused.value) and cfg.name in str(refused.value)
        with pytest.raises(AdapterError, match="not a readable GGUF file"):
            client.set_adapter(garbage, 1.0)
        with pytest.raises(AdapterError, match="not a LoRA adapter"):
            client.set_adapter(model_file, 1.0)
        assert _text(client) == plain  # nothing changed on the model
        assert client.adapter is None
    finally:
        client.close()
