"""dev.py builds llama.cpp without its AMX path, and reuses a built wheel only under its exact key.

On some AMX CPUs (Sapphire Rapids and later) a native llama.cpp build crashes on the
first decode (FACTS.md, third look); pip's wheel cache would hand such a wheel to
every later set-up, whatever CMAKE_ARGS said.
"""

from __future__ import annotations

import importlib.util
import os
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
def test_amx_only_on_request_and_the_persons_own_flags_keep_the_no_amx_flags(monkeypatch):
    monkeypatch.setattr(dev, "compiler_knows_amx", lambda env: True)
    assert dev.llama_cmake_args({"INKLING_AMX": "1"}) == ""
    assert dev.llama_cmake_args({"CMAKE_ARGS": "-DGGML_AMX_INT8=ON"}) == "-DGGML_AMX_INT8=ON"
    # someone who turns AMX off themselves still gets the flags that matter for a native build
    args = shlex.split(dev.llama_cmake_args({"CMAKE_ARGS": "-DGGML_AMX_INT8=OFF"}))
    assert "-DCMAKE_CXX_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" in args
    assert args.count("-DGGML_AMX_INT8=OFF") == 1
    # their own compiler flags are kept, with ours after them; the C++ flags (AMX code is C++) get them too
    args = shlex.split(dev.llama_cmake_args({"CMAKE_ARGS": '"-DCMAKE_C_FLAGS=-O3 -g"'}))
    assert "-DCMAKE_C_FLAGS=-O3 -g -mno-amx-tile -mno-amx-int8 -mno-amx-bf16" in args
    assert "-DCMAKE_CXX_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" in args


@x86
def test_a_compiler_that_cannot_name_amx_gets_no_amx_flags(tmp_path):
    """GCC and Clang before 11 reject -mno-amx-* (and cannot emit AMX): the flags would only break the build."""
    old_cc = tmp_path / "cc"
    old_cc.write_text('#!/bin/sh\ncase "$*" in *amx*) echo "unrecognized option" >&2; exit 1;; esac\nexit 0\n')
    old_cc.chmod(0o755)
    args = dev.llama_cmake_args({"CC": str(old_cc)})
    assert "-mno-amx" not in args
    assert "-DGGML_AMX_INT8=OFF" in args


def _gcc_knows_sapphirerapids() -> bool:
    if not shutil.which("gcc"):
        return False
    return subprocess.run(["gcc", "-march=sapphirerapids", *dev.NO_AMX_CFLAGS.split(), "-x", "c", "-E", "/dev/null"],
                          capture_output=True).returncode == 0


@x86
@pytest.mark.skipif(not _gcc_knows_sapphirerapids(), reason="needs gcc 11 or newer")
def test_the_flags_leave_amx_out_even_where_march_native_would_bring_it(tmp_path):
    """GGML_NATIVE compiles with -march=native; on an AMX CPU that defines __AMX_INT8__, which turns on
    ggml's AMX matrix code. The flags dev.py adds must win over -march whichever comes first."""
    source = tmp_path / "t.c"
    source.write_text("int main(void) { return 0; }\n")
    flags = next(a.split("=", 1)[1] for a in shlex.split(dev.llama_cmake_args({})) if a.startswith("-DCMAKE_CXX_FLAGS="))

    def macros(*cmd: str) -> str:
        return subprocess.run(["gcc", *cmd, "-dM", "-E", str(source)], capture_output=True, text=True, check=True).stdout

    assert "__AMX_INT8__" in macros("-march=sapphirerapids")  # the CPU class that crashes
    assert "__AMX_INT8__" not in macros(*flags.split(), "-march=sapphirerapids")
    assert "__AMX_INT8__" not in macros("-march=sapphirerapids", *flags.split())


@pytest.mark.skipif(os.environ.get("INKLING_AMX") == "1", reason="built with AMX on request")
def test_installed_llama_cpp_has_no_amx_path():
    """The build this suite runs on: llama.cpp's system info names AMX only when its AMX code was compiled in
    (so this can fail only on an AMX CPU, the one where it matters)."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode()
    assert "AMX" not in info, info


def test_one_llama_cpp_python_version_everywhere():
    sys.path.insert(0, str(ROOT / "packaging"))
    try:
        import build_linux
    finally:
        sys.path.remove(str(ROOT / "packaging"))
    import llama_cpp

    assert dev.llama_version() == build_linux.llama_version() == llama_cpp.__version__


def test_a_wheel_key_changes_with_flags_and_cpu_but_not_with_the_kernel(monkeypatch):
    base = dev.llama_wheel_key(dev.llama_cmake_args({}))
    assert dev.llama_wheel_key(dev.llama_cmake_args({})) == base  # stable
    assert dev.llama_wheel_key(dev.llama_cmake_args({"CMAKE_ARGS": "-DGGML_CUDA=on"})) != base
    monkeypatch.setattr(dev.platform, "platform", lambda *a, **k: "Linux-9.9.9-another-kernel")
    assert dev.llama_wheel_key(dev.llama_cmake_args({})) == base
    # a native wheel is tuned to its CPU: another CPU gets another key
    monkeypatch.setattr(dev, "cpu_fingerprint", lambda: "sse2 sse4_2")
    assert dev.llama_wheel_key(dev.llama_cmake_args({})) != base
    # a portable build (GGML_NATIVE=OFF) runs anywhere: the CPU is not part of its key
    portable = dev.llama_cmake_args({"CMAKE_ARGS": "-DGGML_NATIVE=OFF"})
    other_cpu = dev.llama_wheel_key(portable)
    monkeypatch.setattr(dev, "cpu_fingerprint", lambda: "sse2")
    assert dev.llama_wheel_key(portable) == other_cpu


def test_cpu_fingerprint_is_instruction_sets_only(monkeypatch, tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("model name\t: Some CPU\nflags\t\t: fpu avx2 amx_int8 constant_tsc sse4_2\n"
                    "bugs\t\t: spectre_v1\nmicrocode\t: 0xa0011d1\n")
    real_path = dev.Path
    monkeypatch.setattr(dev, "Path", lambda p: real_path(info) if p == "/proc/cpuinfo" else real_path(p))
    assert dev.cpu_fingerprint() == "amx_int8 avx2 fpu sse4_2"


def test_install_builds_once_per_key_without_pips_cache_then_reuses(monkeypatch, tmp_path):
    calls: list[list[str]] = []

    def run(cmd, check=False, env=None, **kw):
        calls.append([str(c) for c in cmd])
        if "wheel" in cmd:
            folder = Path(cmd[cmd.index("-w") + 1])
            (folder / f"llama_cpp_python-{dev.llama_version()}-py3-none-linux_x86_64.whl").write_bytes(b"wheel")
            assert env["CMAKE_ARGS"] == args
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(dev.subprocess, "run", run)
    monkeypatch.setattr(dev, "INSTALLED_KEY", tmp_path / "installed-key")
    monkeypatch.setattr(dev, "wheel_cache_dir", lambda py: tmp_path / "cache")
    args = dev.llama_cmake_args({})
    dev.install_llama("py", ["pip", "install"], args)
    build = next(c for c in calls if "wheel" in c)
    assert "--no-cache-dir" in build and "--no-binary" in build
    key_folder = tmp_path / "cache" / dev.llama_wheel_key(args)
    assert build[build.index("-w") + 1] == str(key_folder)
    assert calls[-1][-1].startswith(str(key_folder)) and "--force-reinstall" in calls[-1]
    calls.clear()
    dev.install_llama("py", ["pip", "install"], args)  # installed under this key: nothing to do
    assert calls == []
    dev.INSTALLED_KEY.unlink()  # a new venv: the cached wheel is installed, nothing is built
    dev.install_llama("py", ["pip", "install"], args)
    assert not any("wheel" in c for c in calls) and calls[-1][-1].startswith(str(key_folder))
    calls.clear()
    args = dev.llama_cmake_args({"CMAKE_ARGS": "-DGGML_CUDA=on"})  # other flags: built again, elsewhere
    dev.install_llama("py", ["pip", "install"], args)
    assert any("wheel" in c for c in calls)
    assert dev.INSTALLED_KEY.read_text() == dev.llama_wheel_key(args)


def test_wheel_cache_lives_in_pips_cache_folder(tmp_path):
    """Emptying pip's cache (PIP_CACHE_DIR, as a newcomer has) empties Inkling's llama.cpp wheels too."""
    env_py = sys.executable
    res = subprocess.run([env_py, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import dev; "
                          "print(dev.wheel_cache_dir(sys.executable))", str(ROOT)],
                         capture_output=True, text=True, check=True, env={"PIP_CACHE_DIR": str(tmp_path), "PATH": ""})
    assert Path(res.stdout.strip()) == tmp_path / "inkling-llama-wheels"
