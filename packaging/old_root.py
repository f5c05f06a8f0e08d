"""Build the Linux bundle inside a Debian 11 root, so it runs on glibc 2.31 and newer.

A binary needs the newest glibc symbol version it was linked against: built on this
machine (Debian 12, glibc 2.36) the bundle needed glibc 2.35 and did not start on
RHEL 9 and its clones (2.34), Debian 11 or Ubuntu 20.04 (2.31). Everything the bundle
compiles or carries from the build machine — Python and its extension modules, llama.cpp,
libomp — is therefore built in a Debian 11 ("bullseye") root made with `debootstrap`
from Debian's archive. The wheels from PyPI (PySide6, numpy…) are manylinux: older floors.

    ensure_root(dir)       debootstrap bullseye + build tools (once; ~5 min)
    ensure_python(dir)     CPython 3.11 from Debian's own source package, --enable-shared (once; ~8 min)
    build_inside(dir, …)   runs packaging/build_linux.py --host in the root, the repo and the
                           output folder bind-mounted, llama.cpp compiled with clang 16 (gcc 10,
                           bullseye's, knows neither AVX-VNNI nor AMX, which two CPU variants need)

Needs root, `debootstrap` and `mount` (Linux). Each step leaves a stamp and is skipped next time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

SUITE = "bullseye"  # Debian 11: glibc 2.31, as Ubuntu 20.04; RHEL 9 has 2.34
MIRROR = "http://deb.debian.org/debian"
PYTHON_PREFIX = "/opt/inkling-python"  # inside the root
HOST_CA = "/etc/ssl/certs/inkling-host-ca.crt"  # inside the root: a copy of this machine's CA bundle
PYTHON_SOURCE_SUITE = "bookworm"  # Debian 12 packages CPython 3.11; its source builds on bullseye
BUILD_PACKAGES = (
    # Python's own build dependencies (its optional modules: ssl, sqlite3, ctypes, lzma, bz2, readline, uuid)
    "libssl-dev", "zlib1g-dev", "libffi-dev", "libsqlite3-dev", "libbz2-dev", "liblzma-dev", "libreadline-dev",
    "uuid-dev", "libncursesw5-dev", "libgdbm-dev", "xz-utils", "dpkg-dev",
    # llama.cpp: clang 16 and its OpenMP runtime; binutils and patchelf-free tools build_linux.py uses
    "clang-16", "libomp-16-dev", "binutils", "file", "icu-devtools",
    # Qt offscreen, for the icons and the build's checks
    "libgl1", "libegl1", "libxkbcommon0", "libfontconfig1", "libdbus-1-3", "libglib2.0-0",
)
CLANG_CMAKE_ARGS = "-DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16"


def log(text: str) -> None:
    print(f"[old_root {time.strftime('%H:%M:%S')}] {text}", flush=True)


def _run(cmd: list[str], **kw: object) -> None:
    log("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True, **kw)  # type: ignore[call-overload]


def chroot(root: Path, script: str, env: dict[str, str] | None = None) -> None:
    """Run a bash script inside the root (as root, with a plain PATH and a UTF-8 locale)."""
    base = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
            "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}
    if (root / HOST_CA.lstrip("/")).exists():  # pip inside trusts what this machine trusts (a proxy's CA)
        base.update(SSL_CERT_FILE=HOST_CA, PIP_CERT=HOST_CA, REQUESTS_CA_BUNDLE=HOST_CA)
    _run(["chroot", str(root), "/bin/bash", "-euo", "pipefail", "-c", script], env={**base, **(env or {})})


def can_build() -> str | None:
    """None when this machine can make and enter a Debian 11 root; otherwise why not."""
    if os.name != "posix" or not Path("/proc/mounts").exists():
        return "needs Linux"
    if os.geteuid() != 0:
        return "needs root (debootstrap, chroot and bind mounts)"
    if not shutil.which("debootstrap"):
        return "needs debootstrap (apt-get install debootstrap)"
    return None


def ensure_root(root: Path) -> None:
    stamp = root / ".inkling-root-ready"
    if stamp.exists():
        return
    if not (root / "usr" / "bin").exists():
        log(f"making a Debian 11 root in {root} (debootstrap {SUITE}) …")
        root.mkdir(parents=True, exist_ok=True)
        _run(["debootstrap", "--variant=buildd", "--include=ca-certificates", SUITE, str(root), MIRROR])
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")  # pip and apt inside need names
    copy_trust(root)
    sources = root / "etc" / "apt" / "sources.list"
    sources.write_text(f"deb {MIRROR} {SUITE} main\ndeb-src {MIRROR} {PYTHON_SOURCE_SUITE} main\n")
    chroot(root, "apt-get update -qq && apt-get install -y -qq --no-install-recommends " + " ".join(BUILD_PACKAGES))
    stamp.write_text(SUITE + "\n")


def copy_trust(root: Path) -> None:
    """This machine's CA bundle, as a file of its own in the root: where HTTPS goes through a proxy with its
    own CA, pip inside the root must trust it as pip outside does."""
    for bundle in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"):
        if Path(bundle).is_file():
            target = root / HOST_CA.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(bundle, target)
            return


def ensure_python(root: Path) -> str:
    """CPython 3.11 built in the root (shared libpython, as PyInstaller needs); its path inside the root."""
    python = f"{PYTHON_PREFIX}/bin/python3.11"
    if (root / python.lstrip("/")).exists():
        return python
    log("building CPython 3.11 in the root from Debian's python3.11 source package (several minutes) …")
    nice = "nice -n 19 " if os.environ.get("INKLING_BUILD_NICE") else ""
    chroot(root, f"""
mkdir -p /build/python && cd /build/python
apt-get source --download-only python3.11 >/dev/null
rm -rf src && mkdir src && tar xf python3.11_*.orig.tar.* -C src --strip-components=1
cd src
./configure --prefix={PYTHON_PREFIX} --enable-shared --with-ensurepip=install \
    LDFLAGS=-Wl,-rpath={PYTHON_PREFIX}/lib >/dev/null
{nice}make -j"$(nproc)" >/dev/null
make install >/dev/null
cd / && rm -rf /build/python
{python} -c 'import ssl, sqlite3, ctypes, lzma, bz2, uuid, readline; print("python ok")'
""")
    return python


@contextlib.contextmanager
def mounted(root: Path, binds: dict[str, Path]) -> Iterator[None]:
    """/proc, /dev (with /dev/shm, which multiprocessing needs) and the given folders bind-mounted into the root."""
    points: list[Path] = []
    try:
        for inside, outside in {"/proc": Path("/proc"), "/dev": Path("/dev"), **binds}.items():
            target = root / inside.lstrip("/")
            target.mkdir(parents=True, exist_ok=True)
            _run(["mount", "--rbind", str(outside), str(target)])
            points.append(target)
        yield
    finally:
        for target in reversed(points):
            subprocess.run(["umount", "-R", "-l", str(target)], check=False)


def build_inside(root: Path, repo: Path, out: Path, cmake_args: str, extra: list[str]) -> int:
    """packaging/build_linux.py --host in the root: the repo at /src, the output folder at /out."""
    python = ensure_python(root)
    out.mkdir(parents=True, exist_ok=True)
    env = {"INKLING_BUILD_NICE": os.environ.get("INKLING_BUILD_NICE", ""),
           "INKLING_ALLOW_NATIVE": os.environ.get("INKLING_ALLOW_NATIVE", "")}
    args = " ".join(f"'{a}'" for a in extra)
    with mounted(root, {"/src": repo, "/out": out}):
        try:
            chroot(root, f"cd /src && {python} packaging/build_linux.py --host --out /out "
                         f"--cmake-args '{cmake_args} {CLANG_CMAKE_ARGS}' {args}", env=env)
        except subprocess.CalledProcessError as exc:
            return exc.returncode or 1
    return 0
