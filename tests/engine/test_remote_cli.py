"""``inkling chat/complete --server``: the reply on stdout; any fault one line on stderr and exit code 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from remote_server import API_KEY, LlamaServer, free_port

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[2]


def inkling(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=120,
                          env=env, cwd=ROOT)


def test_chat_and_complete_through_a_server(llama_server: LlamaServer) -> None:
    out = inkling("chat", "--server", llama_server.url, "--api-key", API_KEY, "--max-tokens", "8",
                  "--temperature", "0", "Say hello.")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() and "Traceback" not in out.stderr
    out = inkling("complete", "--server", llama_server.url, "--api-key", API_KEY, "--model", llama_server.model,
                  "--max-tokens", "6", "--temperature", "0", "The sea is")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("The sea is") and len(out.stdout.strip()) > len("The sea is")


@pytest.mark.parametrize("case", ["wrong key", "nobody there", "not a url"])
def test_a_fault_is_one_line_and_exit_code_1(llama_server: LlamaServer, case: str) -> None:
    url = {"wrong key": llama_server.url, "nobody there": f"http://127.0.0.1:{free_port()}/v1",
           "not a url": "ftp://example"}[case]
    out = inkling("chat", "--server", url, "--api-key", "sk-wrong-key-77", "Hi")
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("inkling: "), out.stderr
    assert "Traceback" not in out.stderr and "sk-wrong-key-77" not in out.stderr
    expected = {"wrong key": "API key", "nobody there": "can't connect", "not a url": "not an http"}[case]
    assert expected in lines[0]
