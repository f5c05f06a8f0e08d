"""Load llama.cpp's backends and say which CPU code runs (engine process and selftest only).

A portable build (``-DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON``) carries one
CPU backend per instruction-set level as a loadable module
(``libggml-cpu-haswell.so``, ``libggml-cpu-sse42.so`` …) and none linked in: until
``ggml_backend_load_all_from_path`` runs, llama.cpp has no backend at all and a
model load fails. llama-cpp-python 0.3.x does not bind that function, so it is
called here through ctypes, with the folder that holds the modules (ggml's own
default searches the folder of the *executable*, which is Python's). ggml scores
each variant against this CPU and loads the best one.

A native build (the developer venv) registers its CPU backend statically; then
nothing is loaded and the variant is reported as ``built-in``.
"""

from __future__ import annotations

import ctypes
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_loaded: bool = False

_LIB_NAMES = {
    "linux": ("libggml.so", "libggml-base.so", "libggml-cpu-", ".so"),
    "darwin": ("libggml.dylib", "libggml-base.dylib", "libggml-cpu-", ".so"),
    "win32": ("ggml.dll", "ggml-base.dll", "ggml-cpu-", ".dll"),
}


@dataclass(frozen=True)
class BackendReport:
    """What llama.cpp runs on in this process."""

    ggml_version: str  # ggml's version and commit: which llama.cpp this is
    dynamic: bool  # backends were loaded as modules (a portable build)
    cpu_variant: str  # e.g. "haswell", "sse42"; "built-in" for a native build
    cpu_features: tuple[str, ...]  # the instruction sets the loaded CPU backend uses
    gpu_offload: bool
    devices: tuple[str, ...]  # "CPU: …", "CUDA0: …"


def _names() -> tuple[str, str, str, str]:
    return _LIB_NAMES.get(sys.platform, _LIB_NAMES["linux"])


def lib_dir() -> Path:
    import llama_cpp

    return Path(llama_cpp.__file__).resolve().parent / "lib"


def variant_dirs() -> list[Path]:
    """Folders holding CPU variant modules: llama_cpp/lib, or the ``bin`` that a wheel's install left beside it."""
    prefix, ext = _names()[2], _names()[3]
    base = lib_dir()
    found = []
    for folder in (base, base.parent.parent / "bin", base.parent.parent / "lib"):
        if folder.is_dir() and any(p.name.startswith(prefix) and p.name.endswith(ext) for p in folder.iterdir()):
            found.append(folder)
    return found


def _loaded_path(stem: str) -> str | None:
    """The file of ``stem`` (e.g. "libggml") that this process already mapped, if /proc tells.

    A wheel turns the symlinks libggml.so -> .so.0 into copies; opening another copy by path
    would load a second libggml with its own, empty backend registry that llama.cpp never sees.
    """
    maps = Path("/proc/self/maps")
    if not maps.is_file():
        return None
    pattern = re.compile(re.escape(stem) + r"\.so(?:\.[\d.]+)?$")
    for line in maps.read_text(errors="replace").splitlines():
        fields = line.split(maxsplit=5)  # address perms offset dev inode path (the path may hold spaces)
        if len(fields) == 6 and pattern.match(Path(fields[5]).name):
            return fields[5]
    return None


def ggml_libraries() -> tuple[Any, Any]:
    """(libggml, libggml-base) as llama.cpp itself uses them, with the backend functions typed."""
    import llama_cpp  # noqa: F401 - maps libllama and with it the libggml llama.cpp uses

    base = lib_dir()
    ggml = ctypes.CDLL(_loaded_path("libggml") or str(base / _names()[0]))
    ggml_base = ctypes.CDLL(_loaded_path("libggml-base") or str(base / _names()[1]))
    ggml.ggml_backend_reg_count.restype = ctypes.c_size_t
    ggml.ggml_backend_dev_count.restype = ctypes.c_size_t
    ggml.ggml_backend_dev_get.restype = ctypes.c_void_p
    ggml.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
    ggml.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
    ggml.ggml_backend_load_all_from_path.restype = None
    for name in ("ggml_backend_dev_name", "ggml_backend_dev_description"):
        getattr(ggml_base, name).restype = ctypes.c_char_p
        getattr(ggml_base, name).argtypes = [ctypes.c_void_p]
    ggml_base.ggml_backend_dev_type.restype = ctypes.c_int
    ggml_base.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
    return ggml, ggml_base


def ensure_backends() -> None:
    """Make sure llama.cpp has its backends before the first model load (idempotent, cheap)."""
    global _loaded
    if _loaded:
        return
    ggml, _ = ggml_libraries()
    if ggml.ggml_backend_reg_count() == 0:  # a dynamic-backend build: nothing registered yet
        for folder in variant_dirs() or [lib_dir()]:
            ggml.ggml_backend_load_all_from_path(str(folder).encode())
            if ggml.ggml_backend_dev_count():
                break
    _loaded = True


def loaded_cpu_variant() -> str:
    """The CPU variant module this process mapped (from /proc/self/maps on Linux), or "built-in"."""
    prefix = _names()[2]
    maps = Path("/proc/self/maps")
    if maps.is_file():
        found = re.findall(re.escape(prefix) + r"([A-Za-z0-9_.]+?)\.(?:so|dylib|dll)\b", maps.read_text(errors="replace"))
        if found:
            return found[-1]
        return "built-in"
    return "dynamic" if variant_dirs() else "built-in"


def _cpu_features(ggml: Any) -> tuple[str, ...]:
    """The CPU backend's own list of the instruction sets it was built to use (value "1")."""
    ggml.ggml_backend_reg_by_name.restype = ctypes.c_void_p
    ggml.ggml_backend_reg_by_name.argtypes = [ctypes.c_char_p]
    reg = ggml.ggml_backend_reg_by_name(b"CPU")
    if not reg:
        return ()
    base = ctypes.CDLL(_loaded_path("libggml-base") or str(lib_dir() / _names()[1]))
    base.ggml_backend_reg_get_proc_address.restype = ctypes.c_void_p
    base.ggml_backend_reg_get_proc_address.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    fn = base.ggml_backend_reg_get_proc_address(reg, b"ggml_backend_get_features")
    if not fn:
        return ()

    class Feature(ctypes.Structure):
        _fields_ = [("name", ctypes.c_char_p), ("value", ctypes.c_char_p)]

    get = ctypes.CFUNCTYPE(ctypes.POINTER(Feature), ctypes.c_void_p)(fn)
    feats = get(ctypes.c_void_p(reg))
    out = []
    i = 0
    while feats[i].name:
        name, value = feats[i].name.decode(), (feats[i].value or b"").decode()
        if value == "1":
            out.append(name)
        i += 1
    return tuple(out)


def report() -> BackendReport:
    """Load the backends if needed, then describe them."""
    import llama_cpp

    ensure_backends()
    ggml, ggml_base = ggml_libraries()
    version = ""
    try:
        ggml_base.ggml_version.restype = ctypes.c_char_p
        ggml_base.ggml_commit.restype = ctypes.c_char_p
        version = f"ggml {ggml_base.ggml_version().decode()} ({ggml_base.ggml_commit().decode()})"
    except (AttributeError, OSError):
        version = "unknown"
    devices = []
    for i in range(ggml.ggml_backend_dev_count()):
        dev = ggml.ggml_backend_dev_get(i)
        devices.append(f"{ggml_base.ggml_backend_dev_name(dev).decode()}: "
                       f"{(ggml_base.ggml_backend_dev_description(dev) or b'').decode().strip()}")
    try:
        features = _cpu_features(ggml)
    except (AttributeError, OSError, ValueError):
        features = ()
    return BackendReport(
        ggml_version=version, dynamic=bool(variant_dirs()), cpu_variant=loaded_cpu_variant(),
        cpu_features=features, gpu_offload=bool(llama_cpp.llama_supports_gpu_offload()), devices=tuple(devices),
    )
