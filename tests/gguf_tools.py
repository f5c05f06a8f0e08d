"""A small GGUF reader/writer for tests: rewrite a real model's header, keep its weights.

Independent of ``app.core.gguf`` on purpose, so the app's reader is tested against
files made without it. ``patched_copy(src, dst, edit)`` parses ``src``'s header,
lets ``edit`` change the metadata (a dict key -> (type, value), in file order),
and writes ``dst`` with the same tensors and weights behind the new header.
"""

from __future__ import annotations

import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, FLOAT64 = 4, 5, 6, 7, 8, 9, 10, 12
_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}

Value = tuple[int, Any]  # (value type, value); an array is (ARRAY, (item type, [items]))


@dataclass
class GGUF:
    version: int
    metadata: dict[str, Value]
    n_tensors: int
    tensor_info: bytes  # the tensor descriptions, copied as they are
    data_offset: int  # where the weights start in the source file

    def get(self, key: str) -> Any:
        vtype, value = self.metadata[key]
        return value[1] if vtype == ARRAY else value


def _read_str(f: BinaryIO) -> bytes:
    (n,) = struct.unpack("<Q", f.read(8))
    return f.read(n)


def _read_value(f: BinaryIO, vtype: int) -> Any:
    if vtype == STRING:
        return _read_str(f).decode("utf-8", errors="surrogateescape")
    if vtype == ARRAY:
        (itype,) = struct.unpack("<I", f.read(4))
        (count,) = struct.unpack("<Q", f.read(8))
        return itype, [_read_value(f, itype) for _ in range(count)]
    fmt = _SCALAR[vtype]
    return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]


def read(path: Path) -> GGUF:
    with path.open("rb") as f:
        assert f.read(4) == b"GGUF"
        version, n_tensors, n_kv = struct.unpack("<IQQ", f.read(20))
        metadata: dict[str, Value] = {}
        for _ in range(n_kv):
            key = _read_str(f).decode()
            (vtype,) = struct.unpack("<I", f.read(4))
            metadata[key] = (vtype, _read_value(f, vtype))
        start = f.tell()
        for _ in range(n_tensors):
            _read_str(f)
            (n_dims,) = struct.unpack("<I", f.read(4))
            f.read(8 * n_dims + 4 + 8)
        tensor_info = _bytes_between(path, start, f.tell())
        alignment = metadata.get("general.alignment", (UINT32, 32))[1]
        data_offset = -(-f.tell() // alignment) * alignment
    return GGUF(version, metadata, n_tensors, tensor_info, data_offset)


def _bytes_between(path: Path, start: int, end: int) -> bytes:
    with path.open("rb") as f:
        f.seek(start)
        return f.read(end - start)


def _write_str(out: BinaryIO, text: str | bytes) -> None:
    raw = text if isinstance(text, bytes) else text.encode("utf-8", errors="surrogateescape")
    out.write(struct.pack("<Q", len(raw)) + raw)


def _write_value(out: BinaryIO, vtype: int, value: Any) -> None:
    if vtype == STRING:
        _write_str(out, value)
    elif vtype == ARRAY:
        itype, items = value
        out.write(struct.pack("<IQ", itype, len(items)))
        for item in items:
            _write_value(out, itype, item)
    else:
        out.write(struct.pack(_SCALAR[vtype], value))


def write(src: Path, model: GGUF, dst: Path) -> None:
    """Write ``model``'s header followed by ``src``'s weights (realigned)."""
    with dst.open("wb") as out:
        out.write(b"GGUF" + struct.pack("<IQQ", model.version, model.n_tensors, len(model.metadata)))
        for key, (vtype, value) in model.metadata.items():
            _write_str(out, key)
            out.write(struct.pack("<I", vtype))
            _write_value(out, vtype, value)
        out.write(model.tensor_info)
        alignment = model.metadata.get("general.alignment", (UINT32, 32))[1]
        out.write(b"\0" * (-out.tell() % alignment))
        with src.open("rb") as f:
            f.seek(model.data_offset)
            shutil.copyfileobj(f, out, 4 * 1024 * 1024)


_cache: dict[Path, GGUF] = {}


def patched_copy(src: Path, dst: Path, edit: Callable[[GGUF], None]) -> Path:
    """Copy ``src`` to ``dst`` with ``edit`` applied to a fresh copy of its header."""
    if src not in _cache:
        _cache[src] = read(src)
    base = _cache[src]
    model = GGUF(base.version, {k: (t, (v[0], list(v[1])) if t == ARRAY else v) for k, (t, v) in base.metadata.items()},
                 base.n_tensors, base.tensor_info, base.data_offset)
    edit(model)
    write(src, model, dst)
    return dst
