"""A fake Hub on 127.0.0.1 serving the real starter model and some misbehaving repos."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from models.fake_hub import FakeFile, FakeHub, FakeRepo

TINY = random.Random(7).randbytes(4 * 1024 * 1024)


@pytest.fixture
def hub(starter_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    repos = [
        FakeRepo("TestOrg/SmolLM2-135M-GGUF", [
            FakeFile("SmolLM2-135M-Instruct-Q4_1.gguf", source=starter_path),
            FakeFile("SmolLM2-135M-Instruct-Q8_0.gguf", data=random.Random(1).randbytes(3 * 1024 * 1024)),
            FakeFile("README.md", data=b"# SmolLM2 GGUF\n"),
        ], downloads=500, likes=3),
        FakeRepo("TestOrg/Tiny-GGUF", [FakeFile("tiny-Q4_K_M.gguf", data=TINY)], downloads=100, likes=50),
        FakeRepo("TestOrg/Corrupt-GGUF", [FakeFile("bad-Q4_K_M.gguf", data=TINY[:1_000_000],
                                                   advertised_sha="0" * 64)], downloads=1, likes=1),
        FakeRepo("secret/private-GGUF", [], status=401),
        FakeRepo("TestOrg/Gated-GGUF", [FakeFile("gated-Q4_K_M.gguf", data=TINY[:300_000])], token="hf_test_token"),
        FakeRepo("broken/server-GGUF", [], status=500),
    ]
    with FakeHub(repos) as fake:
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        yield fake
