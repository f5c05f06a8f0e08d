"""install.sh / uninstall.sh from the tarball layout, into temporary folders (a stand-in bundle: no PyInstaller needed)."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))

import build_linux  # noqa: E402


def _tarball_tree(tmp: Path) -> Path:
    """What build_linux.make_tarball lays out, with a shell script as the `inkling` executable."""
    tree = tmp / "inkling-0.1.0-linux-x86_64"
    bundle = tree / "inkling"
    (bundle / "_internal").mkdir(parents=True)
    exe = bundle / "inkling"
    exe.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$INKLING_TEST_ARGS"\n')
    exe.chmod(0o755)
    icons = tmp / "icons"
    icons.mkdir()
    for size in build_linux.ICON_SIZES:
        (icons / f"inkling-{size}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    build_linux.stage_share(tree / "share", icons)
    for script in ("install.sh", "uninstall.sh"):
        shutil.copy(ROOT / "packaging" / "linux" / script, tree / script)
    return tree


def _exec_argv(desktop: Path, files: list[str]) -> list[str]:
    """The command a desktop launches for "Open with" these files (Desktop Entry spec quoting, %F)."""
    parser = configparser.RawConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(desktop, encoding="utf-8")
    value = parser["Desktop Entry"]["Exec"].replace("\\\\", "\\")  # the string-level escape first
    words: list[str] = []
    word, quoted, started, i = "", False, False, 0
    while i < len(value):
        c = value[i]
        if quoted and c == "\\" and i + 1 < len(value) and value[i + 1] in '"`$\\':
            word, i = word + value[i + 1], i + 2
            continue
        if c == '"':
            quoted, started = not quoted, True
        elif c == " " and not quoted:
            if started or word:
                words.append(word)
            word, started = "", False
        else:
            word += c
        i += 1
    if started or word:
        words.append(word)
    argv: list[str] = []
    for w in words:
        argv.extend(files if w == "%F" else [w])
    return argv


@pytest.fixture
def installed(tmp_path: Path) -> dict[str, Path]:
    tree = _tarball_tree(tmp_path / "unpacked")
    prefix = tmp_path / "with space" / "prefix"
    data = tmp_path / "xdg-data"  # xdg-mime itself splits XDG_DATA_DIRS on spaces
    env = {**os.environ, "HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(data),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    out = subprocess.run(["sh", str(tree / "install.sh"), "--prefix", str(prefix)], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return {"prefix": prefix, "data": data, "env": env, "tmp": tmp_path}  # type: ignore[dict-item]


def test_install_puts_entry_icons_and_mime_type_under_the_data_folder(installed: dict) -> None:
    data, prefix = installed["data"], installed["prefix"]
    desktop = data / "applications" / "inkling.desktop"
    text = desktop.read_text()
    assert f'Exec="{prefix}/lib/inkling/inkling" %F' in text  # quoted: the path has a space
    assert "Icon=inkling" in text and "MimeType=application/x-gguf;" in text
    for size in build_linux.ICON_SIZES:
        assert (data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "inkling.png").is_file()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / "inkling.svg").is_file()
    xml = (data / "mime" / "packages" / "inkling-gguf.xml").read_text()
    assert 'type="application/x-gguf"' in xml and 'pattern="*.gguf"' in xml and 'value="GGUF"' in xml
    assert (prefix / "bin" / "inkling").resolve() == (prefix / "lib" / "inkling" / "inkling").resolve()
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
        assert check.returncode == 0 and "error" not in check.stdout.lower(), check.stdout


def test_the_entry_opens_a_file_from_a_path_with_spaces(installed: dict) -> None:
    desktop = installed["data"] / "applications" / "inkling.desktop"
    model = installed["tmp"] / "my models" / "A model.gguf"
    model.parent.mkdir()
    model.write_bytes(b"GGUF")
    args_file = installed["tmp"] / "args.txt"
    argv = _exec_argv(desktop, [str(model)])
    subprocess.run(argv, env={**installed["env"], "INKLING_TEST_ARGS": str(args_file)}, check=True, timeout=60)
    assert args_file.read_text().splitlines() == [str(model)]


def test_a_desktop_path_with_quotes_and_dollars_survives(tmp_path: Path) -> None:
    tree = _tarball_tree(tmp_path / "unpacked")
    prefix = tmp_path / 'odd "name" $HOME `x`'
    env = {**os.environ, "HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(tmp_path / "data")}
    subprocess.run(["sh", str(tree / "install.sh"), "--prefix", str(prefix)], env=env, check=True,
                   capture_output=True, timeout=120)
    argv = _exec_argv(tmp_path / "data" / "applications" / "inkling.desktop", ["x.gguf"])
    assert argv == [str(prefix / "lib" / "inkling" / "inkling"), "x.gguf"]


def test_uninstall_removes_what_install_added(installed: dict) -> None:
    prefix, data = installed["prefix"], installed["data"]
    out = subprocess.run(["sh", str(prefix / "lib" / "inkling" / "uninstall.sh")], env=installed["env"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert not (prefix / "lib" / "inkling").exists() and not (prefix / "bin" / "inkling").exists()
    assert not (data / "applications" / "inkling.desktop").exists()
    assert not (data / "mime" / "packages" / "inkling-gguf.xml").exists()
    assert not list((data / "icons").rglob("inkling.*"))


@pytest.mark.skipif(not shutil.which("xdg-mime") or not shutil.which("update-mime-database"),
                    reason="xdg-utils / shared-mime-info not installed")
def test_gguf_files_are_a_mime_type_that_inkling_opens(installed: dict) -> None:
    env = {**installed["env"], "XDG_DATA_DIRS": f"{installed['data']}:/usr/share"}
    model = installed["tmp"] / "m.gguf"
    model.write_bytes(b"GGUF\x03\x00\x00\x00")
    kind = subprocess.run(["xdg-mime", "query", "filetype", str(model)], env=env, capture_output=True, text=True)
    assert kind.stdout.strip() == "application/x-gguf", kind
    default = subprocess.run(["xdg-mime", "query", "default", "application/x-gguf"], env=env, capture_output=True,
                             text=True)
    assert default.stdout.strip() == "inkling.desktop", default
