"""dev.py builds llama.cpp without its AMX path, and reuses a built wheel only under its exact key.

On some AMX CPUs (Sapphire Rapids and later) a native llama.cpp build crashes on the
first decode (FACTS.md, third look); pip's wheel cache would hand such a wheel to
every later set-up, whatever CMAKE_ARGS said.
"""

from __future__ import annotations

import importlib.util
import platform
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
x86 = pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="AMX is an x86 feature")


def _dev():
    spec = importlib.util.spec_from_file_location("inkling_dev", ROOT / "dev.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dev = _dev()


@x86
def test_default_build_turns_amx_off_and_keeps_the_persons_flags():
    args = shlex.split(dev.llama_cmake_args({"CMAKE_ARGS": "-DGGML_CUDA=on"}))
    assert args[0] == "-DGGML_CUDA=on"
    assert {"-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"} <= set(args)
    assert "-DCMAKE_C_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" in args
    assert "-DCMAKE_CXX_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" in args


@x86
def test_amx_only_on_request_or_when_the_person_set_it():
    assert dev.llama_cmake_args({"INKLING_AMX": "1"}) == ""
    assert dev.llama_cmake_args({"CMAKE_ARGS": "-DGGML_AMX_INT8=ON"}) == "-DGGML_AMX_INT8=ON"
    mine = '"-DCMAKE_C_FLAGS=-O3"'
    assert "-mno-amx" not in dev.llama_cmake_args({"CMAKE_ARGS": mine})  # their compiler flags win
    assert "-DGGML_AMX_INT8=OFF" in dev.llama_cmake_args({"CMAKE_ARGS": mine})


@x86
@pytest.mark.skipif(not shutil.which("gcc"), reason="needs gcc")
def test_the_flags_leave_amx_out_even_where_march_native_would_bring_it(tmp_path):
    """GGML_NATIVE compiles with -march=native; on an AMX CPU that defines __AMX_INT8__, which turns on
    ggml's AMX matrix code. The flags dev.py adds must win over -march whichever comes first."""
    source = tmp_path / "t.c"
    source.write_text("int main(void) { return 0; }\n")
    flags = next(a.split("=", 1)[1] for a in shlex.split(dev.llama_cmake_args({})) if a.startswith("-DCMAKE_C_FLAGS="))

    def macros(*cmd: str) -> str:
        return subprocess.run(["gcc", *cmd, "-dM", "-E", str(source)], capture_output=True, text=True, check=True).stdout

    assert "__AMX_INT8__" in macros("-march=sapphirerapids")  # the CPU class that crashes
    assert "__AMX_INT8__" not in macros(*flags.split(), "-march=sapphirerapids")
    assert "__AMX_INT8__" not in macros("-march=sapphirerapids", *flags.split())


def test_installed_llama_cpp_has_no_amx_path():
    """The build this suite runs on: llama.cpp's system info names AMX only when its AMX code was compiled in."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode()
    assert "AMX" not in info, info


def test_a_wheel_is_reused_only_under_its_exact_key(monkeypatch):
    base = dev.llama_wheel_key(dev.llama_cmake_args({}))
    assert dev.llama_wheel_key(dev.llama_cmake_args({})) == base  # stable
    assert dev.llama_wheel_key(dev.llama_cmake_args({"CMAKE_ARGS": "-DGGML_CUDA=on"})) != base
    assert dev.llama_wheel_key(dev.llama_cmake_args({"INKLING_AMX": "1"})) != base or platform.machine() not in (
        "x86_64", "AMD64")
    # a native wheel is tuned to its CPU: another CPU gets another key
    monkeypatch.setattr(dev, "cpu_fingerprint", lambda: "model name : another CPU\nflags : sse2")
    assert dev.llama_wheel_key(dev.llama_cmake_args({})) != base
    # a portable build (GGML_NATIVE=OFF) runs anywhere: the CPU is not part of its key
    portable = dev.llama_cmake_args({"CMAKE_ARGS": "-DGGML_NATIVE=OFF"})
    other_cpu = dev.llama_wheel_key(portable)
    monkeypatch.setattr(dev, "cpu_fingerprint", lambda: "model name : a third CPU")
    assert dev.llama_wheel_key(portable) == other_cpu


def test_wheel_cache_lives_in_pips_cache_folder(tmp_path):
    """Emptying pip's cache (PIP_CACHE_DIR, as a newcomer has) empties Inkling's llama.cpp wheels too."""
    env_py = sys.executable
    res = subprocess.run([env_py, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import dev; "
                          "print(dev.wheel_cache_dir(sys.executable))", str(ROOT)],
                         capture_output=True, text=True, check=True, env={"PIP_CACHE_DIR": str(tmp_path), "PATH": ""})
    assert Path(res.stdout.strip()) == tmp_path / "inkling-llama-wheels"
