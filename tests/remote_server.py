"""A real OpenAI-compatible server for the tests: llama-cpp-python's own, with the starter model.

One server per test session (it starts in a few seconds), on a free port of
127.0.0.1, with an API key so that a wrong key gets a real 401. Its output goes
to a log file the tests read (it prints "disconnected" when a client closes a
stream, which is how a test sees that Stop reached the server).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.core.system import default_threads

API_KEY = "sk-test-8c1f2e7d"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LlamaServer:
    """A running ``python -m llama_cpp.server``."""

    url: str  # the API root, ending in /v1
    port: int
    model: str  # the model id the server lists (its file path)
    log_path: Path
    proc: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def start_server(model: Path, log_path: Path, api_key: str = API_KEY, threads: int | None = None,
                 port: int | None = None, n_ctx: int = 2048, extra: tuple[str, ...] = ()) -> LlamaServer:
    import httpx

    port = port or free_port()
    threads = threads or default_threads()  # INKLING_THREADS=1 in the suite (conftest)
    log = open(log_path, "wb")  # noqa: SIM115 - the server writes to it until it ends
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(threads), "--n_threads_batch", str(threads), "--api_key", api_key, *extra],
        stdout=log, stderr=subprocess.STDOUT, env=env)
    log.close()
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}):\n{log_path.read_text()[-2000:]}")
        try:
            r = httpx.get(f"{url}/models", headers={"Authorization": f"Bearer {api_key}"}, timeout=2)
            if r.status_code == 200:
                return LlamaServer(url, port, r.json()["data"][0]["id"], log_path, proc)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)  # waiting for another process to listen: nothing to signal on
    proc.kill()
    raise RuntimeError("the server did not start within 120 s")


def stop_server(server: LlamaServer) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(5)


@pytest.fixture(scope="session")
def llama_server(starter_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    server = start_server(starter_path, tmp_path_factory.mktemp("llama-server") / "server.log")
    yield server
    stop_server(server)
