"""Facts about this computer that decide what fits: free memory, free disk, cores."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def available_memory() -> int | None:
    """Bytes of memory available to a new program, or None where unknown."""
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/meminfo", encoding="ascii") as f:
                for line in f:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
    if sys.platform == "win32":
        import ctypes

        class _Status(ctypes.Structure):
            _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                        ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                        ("ullTotalPageFile", ctypes.c_ulonglong), ("ullAvailPageFile", ctypes.c_ulonglong),
                        ("ullTotalVirtual", ctypes.c_ulonglong), ("ullAvailVirtual", ctypes.c_ulonglong),
                        ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]

        status = _Status()
        status.dwLength = ctypes.sizeof(_Status)
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return int(status.ullAvailPhys)
        return None
    try:  # macOS and other POSIX: free pages are an underestimate, but safe
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def free_disk(path: Path) -> int:
    """Free bytes on the disk that holds ``path`` (or its nearest existing parent)."""
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


THREADS_ENV = "INKLING_THREADS"


def threads_from_env() -> int | None:
    """``INKLING_THREADS=N`` pins llama.cpp to N threads (decode and prompt), or None when unset or invalid.

    A pin turns off the automatic choice (``app.core.threads``), which otherwise follows
    measured speed: llama.cpp's threads wait for each other at every step, so one thread
    that the OS does not schedule stalls them all (two threads on two busy cores decode at
    under 1 tok/s; one thread keeps its pace). The test suite sets it to 1 so that its
    timing bounds hold on a loaded machine.
    """
    try:
        n = int(os.environ.get(THREADS_ENV, ""))
    except ValueError:
        return None
    return n if n >= 1 else None


def default_threads() -> int:
    """Decode threads: INKLING_THREADS if set; else all cores on small machines, half (≈ physical cores) on big ones.

    Unpinned, this is only where the automatic choice starts (``app.engine.threads``).
    """
    pinned = threads_from_env()
    if pinned:
        return pinned
    cores = os.cpu_count() or 1
    return cores if cores <= 4 else cores // 2


def batch_threads(decode_threads: int) -> int:
    """Prompt-reading threads: INKLING_THREADS if set, else every core (a prompt batch keeps them all busy)."""
    return threads_from_env() or os.cpu_count() or decode_threads
