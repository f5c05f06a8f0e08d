"""Pieces of packaging/build_linux.py that need no bundle: wheel keys, one copy per library, the glibc floor
(dev.py's llama.cpp wheel keys: tests/test_dev_setup.py)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))
sys.path.insert(0, str(ROOT))

import build_linux  # noqa: E402


def test_a_portable_wheel_is_never_a_native_one() -> None:
    native = build_linux.wheel_key("0.3.36", "")
    portable = build_linux.wheel_key("0.3.36", build_linux.PORTABLE_CMAKE_ARGS)
    assert native != portable and portable.startswith("0.3.36-")
    assert "-DGGML_NATIVE=OFF" in build_linux.PORTABLE_CMAKE_ARGS and "-DGGML_CPU_ALL_VARIANTS=ON" in build_linux.PORTABLE_CMAKE_ARGS


def test_runtime_requirements_hold_no_test_tools() -> None:
    reqs = " ".join(build_linux.runtime_requirements()).lower()
    assert "pytest" not in reqs and "ruff" not in reqs and "llama-cpp-python" not in reqs and "pyside6" in reqs


def test_identical_libraries_become_one_copy(tmp_path: Path) -> None:
    lib = tmp_path / "llama_cpp" / "lib"
    lib.mkdir(parents=True)
    blob = bytes(range(256)) * 4096
    for name in ("libllama.so", "libllama.so.0", "libllama.so.0.0.1"):
        (lib / name).write_bytes(blob)
    (tmp_path / "libllama.so.0").write_bytes(blob)
    saved = build_linux.dedupe(tmp_path)
    assert saved == 3 * len(blob)
    real = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()]
    assert len(real) == 1
    for p in tmp_path.rglob("libllama*"):
        assert p.read_bytes() == blob


def test_small_identical_libraries_become_one_copy_too(tmp_path: Path) -> None:
    elf = b"\x7fELF" + bytes(range(256)) * 180  # a 46 kB library, like the wheel's libggml.so and libggml.so.0
    (tmp_path / "libggml.so").write_bytes(elf)
    (tmp_path / "libggml.so.0").write_bytes(elf)
    (tmp_path / "a.txt").write_bytes(b"same")
    (tmp_path / "b.txt").write_bytes(b"same")  # small data files are left as they are
    assert build_linux.dedupe(tmp_path) == len(elf)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_symlink()) == ["libggml.so.0"]


def test_icu_keeps_english_root_and_shared_data_only() -> None:
    items = ["root.res", "en.res", "en_GB.res", "de.res", "zh_Hant_TW.res", "res_index.res", "pool.res",
             "coll/root.res", "coll/de.res", "coll/ucadata.icu", "coll/res_index.res", "brkitr/line.brk",
             "brkitr/cjdict.dict", "ibm-943_P15A-2003.cnv", "cnvalias.icu", "nfkc.nrm", "unames.icu",
             "translit/root.res", "translit/Any_Latin.res", "zoneinfo64.res", "supplementalData.res", "curr/en.res",
             "curr/fr_CA.res", "zone/tzdbNames.res", "likelySubtags.res"]
    dropped = set(build_linux.icu_items_to_drop(items))
    assert dropped == {"de.res", "zh_Hant_TW.res", "coll/de.res", "brkitr/cjdict.dict", "ibm-943_P15A-2003.cnv",
                       "translit/Any_Latin.res", "curr/fr_CA.res"}


def test_glibc_floor_is_the_highest_version_any_binary_needs(tmp_path: Path) -> None:
    (tmp_path / "a.so").write_bytes(b"\x7fELF" + b"\0" * 12 + b"GLIBC_2.2.5\0GLIBC_2.17\0memcpy\0")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.so").write_bytes(b"\x7fELF" + b"\0" * 12 + b"GLIBC_2.34\0GLIBCXX_3.4.30\0GLIBC_2.4\0")
    (tmp_path / "notes.txt").write_bytes(b"GLIBC_2.99\0")  # not a binary
    floor, worst, need = build_linux.glibc_floor(tmp_path)
    assert floor == (2, 34) and worst == "sub/b.so" and need["a.so"] == (2, 17)
    real = Path(shutil.which("true") or "/bin/true")
    (tmp_path / "true").write_bytes(real.read_bytes())
    assert build_linux.glibc_floor(tmp_path)[2]["true"] >= (2, 2)
