"""`inkling selftest` in one process, the CPU backend report, and what an engine killed by SIGILL says."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core.errors import EngineCrashed
from app.core.events import LoadOptions
from app.core.sampling import SamplingSettings
from app.engine.client import EngineClient, EngineState


def _selftest(*args: str) -> tuple[int, str]:
    """Run `inkling selftest` as a person would, in its own process.

    Not in the test process: the self-test loads llama.cpp's CPU backends there, and a
    later in-process ``Llama`` of another test would then meet a second backend registry.
    """
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-m", "app", "selftest", *args], capture_output=True, text=True,
                          env=env, timeout=240)
    return done.returncode, done.stdout + done.stderr


def test_selftest_loads_the_starter_model_generates_and_reports(starter_path: Path) -> None:
    code, text = _selftest("--tokens", "8")
    assert code == 0, text
    for line in ("llama.cpp:", "CPU backend:", "GPU offload:", "data folder:", "models folder:", "logs folder:"):
        assert line in text, text
    assert "8 tokens" in text and "tok/s" in text  # exactly the tokens asked for: no early end of text
    assert str(starter_path) in text
    assert text.rstrip().endswith("OK: this computer runs this build of Inkling.")


def test_selftest_fails_with_a_plain_reason(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    code, text = _selftest("--model", str(bad))
    assert code == 1
    assert "FAILED while loading the model" in text
    assert "Traceback" not in text


def test_backend_report_names_the_cpu_code_in_use() -> None:
    code = ("from app.engine.backends import report; r = report(); "
            "print(repr((r.cpu_variant, r.ggml_version, list(r.devices), r.dynamic)))")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    cpu_variant, ggml_version, devices, dynamic = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert cpu_variant  # "built-in" in a native build, "haswell"/"sse42"/… in a portable one
    assert ggml_version.startswith("ggml ")
    assert any(d.startswith("CPU") for d in devices), devices
    if dynamic:
        assert cpu_variant not in ("built-in", "dynamic")


def _wait(cond, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline
        time.sleep(0.005)


def test_sigill_during_load_names_the_cpu_not_the_file(starter_path: Path) -> None:
    client = EngineClient()
    try:
        client.start().result(timeout=60)
        loading = client.load_async(starter_path, LoadOptions(n_ctx=512))
        killed: set[int] = set()
        # what a CPU without AVX2/AVX-512 does to a native build, to the load and to its retry
        while not loading.done() and len(killed) < 2:
            pid = client.pid
            if pid is not None and pid not in killed and client.state is EngineState.LOADING:
                os.kill(pid, signal.SIGILL)
                killed.add(pid)
            time.sleep(0.002)
        if len(killed) < 2:
            pytest.skip("a load finished before the signal arrived")
        with pytest.raises(EngineCrashed) as caught:
            loading.result(timeout=60)
        assert "uses CPU instructions this computer lacks" in str(caught.value)
        assert "damaged" not in str(caught.value)
    finally:
        client.close()


def test_sigill_mid_reply_names_the_cpu(starter_path: Path) -> None:
    client = EngineClient()
    try:
        client.load(starter_path, LoadOptions(n_ctx=512))
        stream = client.complete("Once upon a time", SamplingSettings(temperature=0.8, max_tokens=2000, seed=7))
        events = iter(stream)
        next(events)
        os.kill(client.pid, signal.SIGILL)
        with pytest.raises(EngineCrashed) as caught:
            for _ in events:
                pass
        assert "uses CPU instructions this computer lacks" in str(caught.value)
        assert "damaged" not in str(caught.value)
    finally:
        client.close()
