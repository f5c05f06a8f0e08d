"""The engine process can't hang or crash-loop the app: a frozen engine is replaced, a crash that
repeats gets a verdict, and a CPU variant that crashes is marked bad and replaced by the next one.

The crashes are real native deaths of the engine process: ``INKLING_FAULT_ON_COMPUTE`` (a test
seam in app/engine/worker.py) makes it kill itself with SIGSEGV at the first compute after a load,
as llama.cpp's AMX code does on some CPUs, and ``INKLING_FAKE_CPU_VARIANTS`` (app/engine/backends.py)
makes this native build act as a portable one that carries those CPU variants.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core.errors import BuildCrashes, EngineCrashed
from app.core.events import LoadOptions
from app.core.paths import app_paths
from app.core.sampling import SamplingSettings
from app.engine.client import ACK_TIMEOUT, EngineClient
from app.engine.stream import Stream

SHORT = SamplingSettings(temperature=0.0, max_tokens=4)
VARIANTS = "sapphirerapids,zen4,haswell"  # best first, as ggml would score them on an AMX CPU


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder of its own: the marks of one test must not leak into another."""
    monkeypatch.setenv("INKLING_HOME", str(tmp_path / "home"))
    app_paths().ensure()
    return tmp_path / "home"


def _client(model: Path) -> EngineClient:
    client = EngineClient()
    client.load(model, LoadOptions(n_ctx=512))
    return client


def _kill(pid: int | None) -> None:
    """Make sure a frozen engine dies even when the test failed (a stopped child would hang pytest's exit)."""
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _gone(pid: int, timeout: float = 10.0) -> bool:
    """The process no longer exists: killed *and* reaped (a zombie still answers signal 0)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


# -- a frozen engine -----------------------------------------------------------------------------

def test_stream_wait_honours_its_timeout_without_a_listener() -> None:
    stream = Stream(lambda _s: None)  # nothing ever arrives
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        stream.wait(timeout=0.3)
    assert time.monotonic() - started < 5


def test_an_engine_frozen_while_idle_is_replaced_and_the_request_answered(starter_path: Path, home: Path) -> None:
    client = _client(starter_path)
    frozen = None
    try:
        assert client.complete("The capital of France is", SHORT).wait(timeout=60).text
        frozen = client.pid
        assert frozen is not None
        os.kill(frozen, signal.SIGSTOP)  # a wedged driver, a swap storm: alive, and reading nothing
        started = time.monotonic()
        fin = client.complete("The capital of France is", SHORT).wait(timeout=60)
        elapsed = time.monotonic() - started
        print(f"\nanswered {elapsed:.1f} s after the frozen engine was sent the request (ACK_TIMEOUT {ACK_TIMEOUT} s)")
        assert fin.reason == "length" and fin.text
        assert elapsed < 20, f"a frozen engine held the request for {elapsed:.1f} s"
        assert client.pid not in (None, frozen)
        assert _gone(frozen), "the frozen engine was not killed and reaped"
    finally:
        _kill(frozen)
        client.close()


def test_a_request_too_big_for_the_pipe_does_not_hang_on_a_frozen_engine(starter_path: Path, home: Path) -> None:
    # 2 MB fits no pipe or socket buffer: the write itself would block forever on an engine that reads nothing
    client = _client(starter_path)
    frozen = None
    try:
        text = "word " * 400_000
        expected = client.count_text_async(text).result(timeout=60)
        frozen = client.pid
        assert frozen is not None
        os.kill(frozen, signal.SIGSTOP)
        started = time.monotonic()
        assert client.count_text_async(text).result(timeout=60) == expected
        assert time.monotonic() - started < 20
        assert client.pid != frozen and _gone(frozen)
    finally:
        _kill(frozen)
        client.close()


# -- a crash that repeats gets a verdict ------------------------------------------------------------

def test_the_starter_crashing_twice_gives_the_build_verdict_and_no_third_restart(
        starter_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INKLING_FAULT_ON_COMPUTE", "segv")  # this build's CPU code crashes, whatever the model
    client = _client(starter_path)
    try:
        with pytest.raises(BuildCrashes) as caught:
            client.complete("Once upon a time", SHORT).wait(timeout=120)
        message = str(caught.value)
        assert message.startswith("This build of llama.cpp crashes on this computer (SIGSEGV"), message
        assert "portable Inkling bundle" in message and "-DGGML_AMX_INT8=OFF" in message
        assert "`inkling selftest`" in message and "python3 dev.py" in message
        assert message.count(". ") == 0, "the verdict is one sentence"
        assert client.crashes == 2  # the first crash, and the one more try that proved it
        with pytest.raises(BuildCrashes):
            client.chat([{"role": "user", "content": "Hello"}], SHORT).wait(timeout=60)
        assert client.crashes == 2 and client.pid is None  # no third engine was started
    finally:
        client.close()


def test_identical_crashes_with_two_models_give_the_verdict(starter_path: Path, home: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other-model.gguf"
    shutil.copyfile(starter_path, other)  # another file: another model, as far as the client can tell
    monkeypatch.setenv("INKLING_FAULT_ON_COMPUTE", "segv")
    client = _client(other)
    try:
        with pytest.raises(BuildCrashes) as caught:
            client.complete("Once upon a time", SHORT).wait(timeout=120)
        assert "other-model.gguf and " + starter_path.name in str(caught.value)  # the starter crashed the same way
        assert client.crashes == 2
        assert client.wanted is not None and client.wanted[0] == str(other)  # the starter's test load changed nothing
    finally:
        client.close()


def test_a_crash_of_one_model_stays_that_models_error(starter_path: Path, home: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "broken-model.gguf"
    shutil.copyfile(starter_path, other)
    monkeypatch.setenv("INKLING_FAULT_ON_COMPUTE", "segv:broken-model.gguf")  # only this model crashes
    client = _client(other)
    try:
        with pytest.raises(EngineCrashed) as caught:
            client.complete("Once upon a time", SHORT).wait(timeout=120)
        assert not isinstance(caught.value, BuildCrashes)
        assert "stopped unexpectedly: it crashed (segmentation fault)" in str(caught.value)
        assert client.verdict is None
        client.load(starter_path, LoadOptions(n_ctx=512))
        assert client.complete("The capital of France is", SHORT).wait(timeout=60).text  # the build is fine
    finally:
        client.close()


# -- a CPU variant that crashes is marked bad -----------------------------------------------------

def test_a_crashing_cpu_variant_is_skipped_and_remembered(starter_path: Path, home: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INKLING_FAKE_CPU_VARIANTS", VARIANTS)
    monkeypatch.setenv("INKLING_FAULT_ON_COMPUTE", "segv:sapphirerapids")  # the best-scored variant faults
    client = _client(starter_path)
    try:
        assert client.cpu.variant == "sapphirerapids"
        fin = client.complete("The capital of France is", SHORT).wait(timeout=120)
        assert fin.reason == "length" and fin.text  # answered, on the next variant
        assert client.cpu.variant == "zen4" and client.verdict is None
        assert client.info is not None and client.info.cpu_variant == "zen4"
        assert client.info.cpu_skipped == ("sapphirerapids",)
        assert "sapphirerapids skipped: it crashed (SIGSEGV) in its first compute" in client.info.cpu_note
    finally:
        client.close()
    marks = json.loads(app_paths().cpu_variants.read_text())
    assert [list(entry["bad"]) for entry in marks.values()] == [["sapphirerapids"]]

    again = _client(starter_path)  # the app started again: the verdict holds without a new crash
    try:
        assert again.complete("The capital of France is", SHORT).wait(timeout=60).text
        assert again.crashes == 0 and again.cpu.variant == "zen4"
    finally:
        again.close()

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-m", "app", "selftest", "--tokens", "2"], capture_output=True, text=True,
                          env=env, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "CPU backend:      zen4" in done.stdout
    assert "skipped variant:  sapphirerapids (it crashed (SIGSEGV)" in done.stdout, done.stdout
    info = subprocess.run([sys.executable, "-m", "app", "selftest", "--info"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert json.loads(info.stdout.strip().splitlines()[-1])["cpu_skipped"][0][0] == "sapphirerapids"


def test_when_every_variant_crashes_the_verdict_comes_and_names_them(starter_path: Path, home: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INKLING_FAKE_CPU_VARIANTS", "zen4,sse42")
    monkeypatch.setenv("INKLING_FAULT_ON_COMPUTE", "segv")
    client = _client(starter_path)
    try:
        with pytest.raises(BuildCrashes) as caught:
            client.complete("Once upon a time", SHORT).wait(timeout=180)
        assert "every CPU variant it could run" in str(caught.value)
        assert client.crashes == 4  # two to prove each variant, then nothing more
    finally:
        client.close()


@pytest.mark.skipif(shutil.which("cc") is None or sys.platform != "linux", reason="builds small modules with cc")
def test_variant_modules_are_ranked_by_their_own_score_for_this_cpu(tmp_path: Path) -> None:
    # what a portable build's loader does with its libggml-cpu-*.so files, through the same ctypes path:
    # each module is opened and asked its ggml_backend_score; 0 means "cannot run here"
    from app.engine.backends import _choose, rank_variants

    for name, score in (("sse42", 5), ("haswell", 20), ("sapphirerapids", 40), ("armv9", 0)):
        src = tmp_path / f"{name}.c"
        src.write_text(f"int ggml_backend_score(void) {{ return {score}; }}\n")
        subprocess.run(["cc", "-shared", "-fPIC", "-o", str(tmp_path / f"libggml-cpu-{name}.so"), str(src)], check=True)
    files = sorted(tmp_path.glob("libggml-cpu-*.so"))
    ranked = rank_variants(files)
    assert [name for name, _ in ranked] == ["sapphirerapids", "haswell", "sse42"]
    choice = _choose([name for name, _ in ranked], {"sapphirerapids"}, "key")
    assert choice.variant == "haswell" and choice.next_candidate() == "sse42"
    assert [name for name, _ in choice.skipped] == ["sapphirerapids"]
