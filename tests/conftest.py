"""Shared fixtures: an isolated INKLING_HOME, the starter model, offscreen Qt, no network."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import llama_cpp  # noqa: F401  (before anything imports numpy: with a CUDA build, the other order crashes a model load)
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
# llama.cpp with one thread (the engine, the test server and the self-test inherit it): with two
# threads a step waits for both, and on a machine whose cores are busy elsewhere decode falls
# under 1 tok/s (FACTS.md); one thread keeps the suite's timing bounds on a loaded 2-core machine
os.environ.setdefault("INKLING_THREADS", "1")

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session", autouse=True)
def inkling_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("inkling-home")
    os.environ["INKLING_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def starter_path() -> Path:
    from app.core.starter import starter_model_path

    return starter_model_path()


from remote_server import llama_server  # noqa: E402, F401  (one real OpenAI-compatible server per session)
