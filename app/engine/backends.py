"""Load llama.cpp's backends and say which CPU code runs (engine process and selftest only).

A portable build (``-DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON``) carries one
CPU backend per instruction-set level as a loadable module
(``libggml-cpu-haswell.so``, ``libggml-cpu-sse42.so`` …) and none linked in: until
one is loaded, llama.cpp has no backend at all and a model load fails.
llama-cpp-python 0.3.x binds none of ggml's loader, so it is called here through
ctypes. Instead of ``ggml_backend_load_all_from_path`` (which trusts the best score
blindly) each variant module is opened and asked for its ``ggml_backend_score``
for this CPU; the best one that has not been **marked bad on this computer** is
loaded with ``ggml_backend_load``, the non-CPU backends (CUDA, Vulkan …) beside it.

A variant is marked bad by the engine client when the engine dies of SIGSEGV,
SIGILL or SIGBUS in its first compute after a load and the starter model crashes
the same way (llama.cpp's AMX code does that on some Sapphire Rapids machines:
FACTS.md, third look). The marks live in ``cpu-variants.json`` in the data folder,
under a key of this CPU and this build, so a new CPU or a new llama.cpp starts
with a clean slate.

A native build (the developer venv) registers its CPU backend statically; then
nothing is loaded and the variant is reported as ``built-in``.

Test seam: ``INKLING_FAKE_CPU_VARIANTS="a,b,c"`` (best first) makes a native build
act as if it carried those variant modules: the choice, the marks and the reports
run as on a portable build, while the built-in code does the work. Together with
``INKLING_FAULT_ON_COMPUTE`` (worker.py) a test makes a chosen variant crash.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import importlib.util
import json
import os
import platform
import re
import sys
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

FAKE_VARIANTS_ENV = "INKLING_FAKE_CPU_VARIANTS"  # test seam: variant names, best first, over the built-in code
BUILT_IN = "built-in"
_choice: CpuChoice | None = None

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
    cpu_skipped: tuple[tuple[str, str], ...] = ()  # better variants not used, and why


@dataclass(frozen=True)
class CpuChoice:
    """Which CPU variant this process runs, the ones it could run, and the better ones it skipped."""

    variant: str  # "haswell", "zen4" …; "built-in" for a native build
    candidates: tuple[str, ...]  # the variants this CPU can run, best first (just "built-in" for a native build)
    skipped: tuple[tuple[str, str], ...]  # (variant, why) for better candidates marked bad here
    key: str  # this CPU and this build: where the marks are kept

    @property
    def dynamic(self) -> bool:
        return self.variant != BUILT_IN

    def next_candidate(self) -> str | None:
        """The variant to run once this one is marked bad (None: this is the last one)."""
        if self.variant not in self.candidates:
            return None
        rest = self.candidates[self.candidates.index(self.variant) + 1:]
        return rest[0] if rest else None

    @property
    def note(self) -> str:
        """One line for About, the selftest and the status bar; empty when nothing was skipped."""
        return "; ".join(f"{name} skipped: {why}" for name, why in self.skipped)


def _names() -> tuple[str, str, str, str]:
    return _LIB_NAMES.get(sys.platform, _LIB_NAMES["linux"])


def lib_dir() -> Path:
    """llama_cpp/lib, found without importing llama_cpp (the window's process asks too)."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or spec.origin is None:
        raise OSError("llama-cpp-python is not installed")
    return Path(spec.origin).resolve().parent / "lib"


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
    ggml.ggml_backend_load.argtypes = [ctypes.c_char_p]
    ggml.ggml_backend_load.restype = ctypes.c_void_p
    for name in ("ggml_backend_dev_name", "ggml_backend_dev_description"):
        getattr(ggml_base, name).restype = ctypes.c_char_p
        getattr(ggml_base, name).argtypes = [ctypes.c_void_p]
    ggml_base.ggml_backend_dev_type.restype = ctypes.c_int
    ggml_base.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
    return ggml, ggml_base


# -- the marks: variants that crashed on this CPU with this build ---------------------------------

def cpu_fingerprint() -> str:
    """This CPU's model and instruction sets, hashed (a VM moved to another host gets a new one)."""
    text = f"{platform.machine()} {platform.processor()}"
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            info = f.read(256 * 1024).split("\n\n")[0]
        text = "\n".join(ln for ln in info.splitlines() if ln.split(":")[0].strip() in ("model name", "flags"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _files_of(folder: Path | None) -> list[Path]:
    if folder is None:
        return []
    prefix, ext = _names()[2], _names()[3]
    return sorted(p for p in folder.iterdir() if p.name.startswith(prefix) and p.name.endswith(ext))


def _variant_name(path: Path) -> str:
    prefix, ext = _names()[2], _names()[3]
    return path.name[len(prefix):-len(ext)]


def build_identity(names: list[str]) -> str:
    """llama-cpp-python's version and the variant modules it carries (a rebuild with other ones is another build)."""
    try:
        version = metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"{version}-{hashlib.sha256(' '.join(sorted(names)).encode()).hexdigest()[:12]}"


def marks_path() -> Path:
    from app.core.paths import app_paths

    return app_paths().cpu_variants


def bad_variants(key: str) -> dict[str, str]:
    """The variants marked bad for ``key`` (this CPU and build): name -> why."""
    try:
        data = json.loads(marks_path().read_text(encoding="utf-8"))
        bad = data.get(key, {}).get("bad", {})
        return {str(k): str(v) for k, v in bad.items()} if isinstance(bad, dict) else {}
    except (OSError, ValueError, AttributeError):
        return {}


def mark_bad(key: str, variant: str, why: str) -> None:
    """Remember that ``variant`` crashed here, so no later engine runs it (written whole, then renamed)."""
    path = marks_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    entry = data.get(key)
    if not isinstance(entry, dict) or not isinstance(entry.get("bad"), dict):
        entry = data[key] = {"bad": {}}  # a damaged entry is replaced, not trusted
    entry["bad"][variant] = why
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# -- loading ----------------------------------------------------------------------------------

def _score(path: Path) -> int:
    """The variant's own verdict on this CPU (0: it cannot run here), as ggml's loader asks it."""
    import _ctypes

    try:
        lib = ctypes.CDLL(str(path), mode=os.RTLD_LOCAL if hasattr(os, "RTLD_LOCAL") else 0)
    except OSError:
        return 0
    try:
        fn = lib.ggml_backend_score
        fn.restype = ctypes.c_int
        fn.argtypes = []
        return int(fn())
    except AttributeError:
        return 0
    finally:
        with contextlib.suppress(Exception):  # unmapped again: only the chosen one stays in this process
            (_ctypes.dlclose if hasattr(_ctypes, "dlclose") else _ctypes.FreeLibrary)(lib._handle)


def _choose(candidates: list[str], skip: set[str], key: str) -> CpuChoice:
    bad = {**{name: "marked bad on this computer" for name in skip}, **bad_variants(key)}
    usable = [c for c in candidates if c not in bad]
    variant = usable[0] if usable else candidates[-1]  # all marked bad: the plainest one, not none at all
    better = candidates[:candidates.index(variant)]
    return CpuChoice(variant, tuple(candidates), tuple((c, bad.get(c, "")) for c in better), key)


def ensure_backends(skip: tuple[str, ...] = ()) -> CpuChoice:
    """Make sure llama.cpp has its backends before the first model load (idempotent, cheap).

    ``skip`` names variants not to run (the client's marks, should the data folder be read-only).
    """
    global _choice
    if _choice is not None:
        return _choice
    fake = [n for n in os.environ.get(FAKE_VARIANTS_ENV, "").split(",") if n.strip()]
    if fake:
        _choice = _choose([n.strip() for n in fake], set(skip), f"{cpu_fingerprint()}/{build_identity(fake)}")
        return _choice
    ggml, _ = ggml_libraries()
    if ggml.ggml_backend_reg_count():  # a native build: its CPU backend is linked in
        _choice = CpuChoice(BUILT_IN, (BUILT_IN,), (), f"{cpu_fingerprint()}/{build_identity([])}")
        return _choice
    folders = variant_dirs()
    files = _files_of(folders[0] if folders else None)
    ranked = rank_variants(files)
    if not ranked:  # no variant module runs here (or none exists): ggml's own loader, as before
        for folder in folders or [lib_dir()]:
            ggml.ggml_backend_load_all_from_path(str(folder).encode())
            if ggml.ggml_backend_dev_count():
                break
        _choice = CpuChoice(loaded_cpu_variant(), (), (), f"{cpu_fingerprint()}/{build_identity([])}")
        return _choice
    key = f"{cpu_fingerprint()}/{build_identity([p.name for p in files])}"
    choice = _choose([name for name, _ in ranked], set(skip), key)
    _load_other_backends(ggml, files[0].parent)
    names, paths = [name for name, _ in ranked], dict(ranked)
    for name in names[names.index(choice.variant):]:
        if ggml.ggml_backend_load(str(paths[name]).encode()):
            break
        choice = replace(choice, skipped=(*choice.skipped, (name, "llama.cpp could not load it")))
        nxt = choice.next_candidate()
        choice = replace(choice, variant=nxt or name)
    _choice = choice
    return choice


def rank_variants(files: list[Path]) -> list[tuple[str, Path]]:
    """The variant modules this CPU can run, best first: each one's ``ggml_backend_score`` above 0."""
    scored = [(score, _variant_name(p), p) for p in files if (score := _score(p)) > 0]
    return [(name, path) for _, name, path in sorted(scored, key=lambda t: (-t[0], t[1]))]


def _load_other_backends(ggml: Any, folder: Path) -> None:
    """CUDA, Vulkan, BLAS … modules beside the CPU variants: each loaded as ggml's own loader would."""
    prefix, ext = "lib" if sys.platform != "win32" else "", _names()[3]
    for path in sorted(folder.glob(f"{prefix}ggml-*{ext}")):
        kind = path.name[len(prefix) + len("ggml-"):-len(ext)]
        if kind == "base" or kind.startswith("cpu"):
            continue
        ggml.ggml_backend_load(str(path).encode())


def current_choice() -> CpuChoice | None:
    """The choice this process made (None before ``ensure_backends``)."""
    return _choice


def loaded_cpu_variant() -> str:
    """The CPU variant this process runs: the one chosen, or the module /proc/self/maps shows, or "built-in"."""
    if _choice is not None:
        return _choice.variant
    prefix = _names()[2]
    maps = Path("/proc/self/maps")
    if maps.is_file():
        found = re.findall(re.escape(prefix) + r"([A-Za-z0-9_.]+?)\.(?:so|dylib|dll)\b", maps.read_text(errors="replace"))
        if found:
            return found[-1]
        return BUILT_IN
    return "dynamic" if variant_dirs() else BUILT_IN


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

    choice = ensure_backends()
    ggml, ggml_base = ggml_libraries()
    version = ""
    try:
        ggml_base.ggml_version.restype = ctypes.c_char_p
        ggml_base.ggml_commit.restype = ctypes.c_char_p
        # "-dirty": llama-cpp-python's source package is not a clean git checkout of llama.cpp, which
        # says nothing about this build that a person could act on
        commit = ggml_base.ggml_commit().decode().removesuffix("-dirty")
        version = f"ggml {ggml_base.ggml_version().decode()} ({commit})"
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
        ggml_version=version, dynamic=bool(variant_dirs()) or choice.dynamic, cpu_variant=choice.variant,
        cpu_features=features, gpu_offload=bool(llama_cpp.llama_supports_gpu_offload()), devices=tuple(devices),
        cpu_skipped=choice.skipped,
    )
