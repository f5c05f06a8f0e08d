"""An engine with the real starter model, shared by a module's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.events import LoadOptions
from app.core.paths import app_paths
from app.engine.client import EngineClient


def make_engine(model: Path, n_ctx: int = 2048, **options: Any) -> EngineClient:
    client = EngineClient(log_path=app_paths().ensure().engine_log)
    client.load(model, LoadOptions(n_ctx=n_ctx, **options))
    return client


@pytest.fixture(scope="module")
def engine(starter_path: Path) -> Iterator[EngineClient]:
    client = make_engine(starter_path)
    yield client
    client.close()
