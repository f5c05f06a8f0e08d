"""The built Linux bundle, tarball and .deb (packaging/build_linux.py), run as a user would run them.

Runs only with INKLING_BUNDLE_CHECK=1 (``.ci/run`` sets it up: it builds first); the bundle is
taken from INKLING_BUILD_DIR (default build/linux). Every test starts the frozen executable,
never ``python -m app``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("INKLING_BUILD_DIR", ROOT / "build" / "linux")).resolve()  # absolute: the bootloader compares
BUNDLE = BUILD / "dist" / "inkling"
EXE = BUNDLE / "inkling"

pytestmark = pytest.mark.skipif(os.environ.get("INKLING_BUNDLE_CHECK") != "1",
                                reason="bundle checks run with INKLING_BUNDLE_CHECK=1 after packaging/build_linux.py")


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(INKLING_HOME=str(home), QT_QPA_PLATFORM="offscreen", **extra)
    return env


def _report() -> dict:
    return json.loads((BUILD / "build-report.json").read_text())


def test_the_bundle_is_built_and_small_enough() -> None:
    assert EXE.is_file() and os.access(EXE, os.X_OK)
    size = sum(p.lstat().st_size for p in BUNDLE.rglob("*") if p.is_file() or p.is_symlink())
    assert size <= 250e6, f"bundle is {size / 1e6:.0f} MB"
    names = {p.name for p in BUNDLE.rglob("*")}
    assert not {"pytest", "_pytest", "pygments", "pytestqt"} & names
    real = {}
    for p in (BUNDLE / "_internal" / "llama_cpp" / "lib").iterdir():
        if not p.is_symlink():
            real.setdefault(p.read_bytes()[:65536] + str(p.stat().st_size).encode(), []).append(p.name)
    assert all(len(v) == 1 for v in real.values()), [v for v in real.values() if len(v) > 1]
    variants = [p.name for p in (BUNDLE / "_internal" / "llama_cpp" / "lib").glob("libggml-cpu-*.so")]
    assert any("sse42" in v for v in variants) and any("haswell" in v for v in variants), variants
    assert not any("sapphirerapids" in v for v in variants), "the AMX variant crashes on AMX CPUs (FACTS.md)"
    report = _report()
    print(f"\nbundle {size / 1e6:.0f} MB, tarball {report.get('tarball_bytes', 0) / 1e6:.0f} MB, "
          f".deb {report.get('deb_bytes', 0) / 1e6:.0f} MB, glibc floor {report['glibc_floor']}")


def test_the_executable_chats_headless(tmp_path: Path) -> None:
    started = time.monotonic()
    proc = subprocess.Popen([str(EXE), "chat", "--max-tokens", "12", "--stats", "Say hello."], env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    first = proc.stdout.read(1)
    first_output = time.monotonic() - started
    out, err = proc.communicate(timeout=300)
    text = (first + out).decode()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert text.strip(), err.decode()[-2000:]
    assert "tok/s" in err.decode()
    print(f"\nlaunch → first reply text {first_output:.2f} s; {err.decode().strip().splitlines()[-1]}")


def test_selftest_passes(tmp_path: Path) -> None:
    out = subprocess.run([str(EXE), "selftest"], env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "OK: this computer runs this build" in out.stdout
    print("\n" + out.stdout)


@pytest.mark.parametrize("cpu", ["Haswell", "Nehalem"])
def test_selftest_passes_on_an_older_cpu(tmp_path: Path, cpu: str) -> None:
    qemu = shutil.which("qemu-x86_64")
    if not qemu:
        pytest.skip("qemu-user is not installed (apt-get install qemu-user)")
    # PyInstaller's bootloader re-executes itself to set LD_LIBRARY_PATH, and qemu-user does not follow an
    # execve (the re-run would be native): hand it the environment of the re-executed process
    internal = str(BUNDLE / "_internal")
    expected = {"Haswell": "haswell", "Nehalem": "sse42"}[cpu]
    # which level the re-executed process has depends on PyInstaller's version (0 before, 1 in 6.22): with the
    # wrong one the bootloader re-executes itself natively and names this machine's variant, never `expected`
    for level in ("1", "0"):
        env = _env(tmp_path, LD_LIBRARY_PATH=internal, _PYI_APPLICATION_HOME_DIR=internal, _PYI_ARCHIVE_FILE=str(EXE),
                   _PYI_PARENT_PROCESS_LEVEL=level)
        out = subprocess.run([qemu, "-cpu", cpu, str(EXE), "selftest", "--tokens", "4"], env=env,
                             capture_output=True, text=True, timeout=900)
        assert out.returncode == 0, out.stdout + out.stderr[-3000:]
        backend = next(line for line in out.stdout.splitlines() if line.startswith("CPU backend:"))
        if expected in backend:
            break
    assert expected in backend, out.stdout
    print(f"\n{cpu}:\n{out.stdout}")


def test_the_window_opens_under_x(tmp_path: Path) -> None:
    display = os.environ.get("INKLING_TEST_DISPLAY")
    if not display or not shutil.which("xdotool"):
        pytest.skip("set INKLING_TEST_DISPLAY to an X server (Xvfb) and install xdotool")
    env = _env(tmp_path, DISPLAY=display)
    env.pop("QT_QPA_PLATFORM")
    started = time.monotonic()
    proc = subprocess.Popen([str(EXE)], env=env)
    try:
        found = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name", "Inkling$"], env=env,
                               capture_output=True, text=True, timeout=120)
        window_s = time.monotonic() - started
        assert found.stdout.strip(), found.stderr
        prefs = tmp_path / "config" / "preferences.json"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (prefs.exists() and json.loads(prefs.read_text()).get("model_path")):
            time.sleep(0.1)
        loaded_s = time.monotonic() - started
        assert prefs.exists(), "the starter model never loaded"
        print(f"\nlaunch → window {window_s:.2f} s, → model loaded {loaded_s:.2f} s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _unpack(tmp_path: Path) -> Path:
    tarball = Path(_report()["tarball"])
    target = tmp_path / "Downloads with space"
    target.mkdir()
    with tarfile.open(tarball) as tar:
        tar.extractall(target, filter="tar")
    return next(target.iterdir())


def test_install_from_the_tarball_and_open_a_gguf_with_it(tmp_path: Path) -> None:
    from bundle.test_install_script import _exec_argv

    tree = _unpack(tmp_path)
    prefix, data = tmp_path / "my apps" / "local", tmp_path / "xdg-data"
    env = _env(tmp_path / "home", HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(data),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    subprocess.run(["sh", str(tree / "install.sh"), "--prefix", str(prefix)], env=env, check=True, timeout=300)
    desktop = data / "applications" / "inkling.desktop"
    check = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
    assert check.returncode == 0 and "error" not in check.stdout, check.stdout
    query = subprocess.run(["xdg-mime", "query", "default", "application/x-gguf"], capture_output=True, text=True,
                           env={**env, "XDG_DATA_DIRS": f"{data}:/usr/share"})
    assert query.stdout.strip() == "inkling.desktop"
    from app.core.starter import starter_model_path

    model = tmp_path / "models here" / "Opened with Inkling.gguf"
    model.parent.mkdir()
    model.symlink_to(starter_model_path())
    argv = _exec_argv(desktop, [str(model)])
    assert argv[0] == str(prefix / "lib" / "inkling" / "inkling")
    app = subprocess.Popen(argv, env=env)
    try:
        prefs = tmp_path / "home" / "config" / "preferences.json"
        deadline = time.monotonic() + 180
        loaded = ""
        while time.monotonic() < deadline and loaded != str(model):
            if prefs.exists():
                loaded = json.loads(prefs.read_text() or "{}").get("model_path", "")
            time.sleep(0.2)
        assert loaded == str(model)
    finally:
        app.terminate()
        app.wait(timeout=30)
    subprocess.run(["sh", str(prefix / "lib" / "inkling" / "uninstall.sh")], env=env, check=True, timeout=120)
    assert not desktop.exists()


def test_the_deb_holds_the_bundle_and_desktop_files() -> None:
    deb = _report().get("deb")
    if not deb:
        pytest.skip("no .deb was built")
    listing = subprocess.run(["dpkg-deb", "--contents", deb], capture_output=True, text=True, check=True).stdout
    for path in ("./usr/lib/inkling/inkling", "./usr/bin/inkling", "./usr/share/applications/inkling.desktop",
                 "./usr/share/mime/packages/inkling-gguf.xml", "./usr/share/icons/hicolor/256x256/apps/inkling.png"):
        assert path in listing, path
    info = subprocess.run(["dpkg-deb", "--field", deb, "Depends"], capture_output=True, text=True, check=True).stdout
    assert f"libc6 (>= {_report()['glibc_floor']})" in info


def test_the_bundle_is_portable_to_rhel9() -> None:
    """glibc floor ≤ 2.34 (RHEL 9 and its clones), as the build says when it calls a bundle portable."""
    report = _report()
    floor = tuple(int(x) for x in report["glibc_floor"].split("."))
    assert floor <= (2, 34), f"the bundle needs glibc {report['glibc_floor']}: {report.get('glibc_above_target')}"
    assert report["portable"] is True


def _old_root_module():
    spec = importlib.util.spec_from_file_location("old_root", ROOT / "packaging" / "old_root.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_selftest_passes_in_a_debian_11_root() -> None:
    """The bundle in a bare Debian 11 (glibc 2.31) root that the build made: nothing of the build machine's."""
    old_root = _old_root_module()
    why_not = old_root.can_build()
    if why_not:
        pytest.skip(f"a Debian 11 root {why_not}")
    check_root = _report().get("check_root")
    if not check_root or not (Path(check_root) / "usr" / "bin").exists():
        pytest.skip("the bundle was built with --host: no Debian 11 root to run it in")
    root = Path(check_root)
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"  # found here: the command's own PATH is the root's
    ldd = subprocess.run([chroot, str(root), "ldd", "--version"], capture_output=True, text=True).stdout
    assert "2.31" in ldd.splitlines()[0], ldd
    shutil.rmtree(root / "tmp" / "inkling-home", ignore_errors=True)
    with old_root.mounted(root, {"/opt/inkling": BUNDLE}):
        out = subprocess.run([chroot, str(root), "/opt/inkling/inkling", "selftest", "--tokens", "8"],
                             env={"PATH": "/usr/bin:/bin", "INKLING_HOME": "/tmp/inkling-home", "LANG": "C.UTF-8"},
                             capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    assert "OK: this computer runs this build" in out.stdout
    print(f"\nDebian 11 root ({ldd.splitlines()[0]}):\n{out.stdout}")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v", "-s"]))

