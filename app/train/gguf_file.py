"""A GGUF file's metadata and tensors, read fast enough to start training without a wait.

``gguf.GGUFReader`` builds a numpy view for every element of every metadata array, and a
model's tokenizer has about 100,000 of them (tokens, scores, merges): 3.7 s of the 6 s it took
to open the starter model, paid again by each training run and each resume. Training needs
the scalar metadata and the tensors only, so this reader steps over arrays without building
them; tensors are views of one memory map, dequantized by ``gguf.quants`` as before.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]  # GGUF order: the fastest-varying dimension first
    type: int  # a ``gguf.GGMLQuantizationType`` value
    offset: int  # from the start of the tensor data


class GGUFFile:
    """``fields`` (scalar and string metadata; arrays are skipped), ``tensors`` by name, ``data(name)``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._map = np.memmap(self.path, mode="r")
        buf = memoryview(self._map)
        if bytes(buf[:4]) != b"GGUF":
            raise ValueError("not a GGUF file (no GGUF magic)")
        version, n_tensors, n_kv = struct.unpack_from("<IQQ", buf, 4)
        if version < 2:
            raise ValueError(f"GGUF version {version} is too old")
        pos = 24
        self.fields: dict[str, Any] = {}
        for _ in range(n_kv):
            key, pos = _string(buf, pos)
            (kind,), pos = struct.unpack_from("<I", buf, pos), pos + 4
            value, pos = _value(buf, pos, kind)
            if value is not _SKIPPED:
                self.fields[key] = value
        self.tensors: dict[str, TensorInfo] = {}
        for _ in range(n_tensors):
            name, pos = _string(buf, pos)
            (n_dims,), pos = struct.unpack_from("<I", buf, pos), pos + 4
            dims = struct.unpack_from(f"<{n_dims}Q", buf, pos)
            pos += 8 * n_dims
            kind, offset = struct.unpack_from("<IQ", buf, pos)
            pos += 12
            self.tensors[name] = TensorInfo(name, tuple(int(d) for d in dims), int(kind), int(offset))
        align = int(self.fields.get("general.alignment", 32))
        self._start = -(-pos // align) * align

    def data(self, name: str) -> np.ndarray:
        """The tensor's raw data as ``gguf.quants.dequantize`` takes it (rows of bytes, or floats)."""
        import gguf

        info = self.tensors[name]
        qtype = gguf.GGMLQuantizationType(info.type)
        block, size = gguf.GGML_QUANT_SIZES[qtype]
        count = int(np.prod(info.shape))
        start = self._start + info.offset
        raw = self._map[start:start + count // block * size]
        if qtype in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
            return raw.view(np.float32 if qtype == gguf.GGMLQuantizationType.F32 else np.float16)
        return raw.reshape(-1, info.shape[0] // block * size)

    def dequantized(self, name: str) -> np.ndarray:
        """Float32, shaped as numpy sees it (the GGUF shape reversed)."""
        import gguf

        info = self.tensors[name]
        flat = gguf.quants.dequantize(self.data(name), gguf.GGMLQuantizationType(info.type))
        return np.ascontiguousarray(flat.reshape(tuple(reversed(info.shape))), dtype=np.float32)


_SKIPPED = object()


def _string(buf: memoryview, pos: int) -> tuple[str, int]:
    (n,) = struct.unpack_from("<Q", buf, pos)
    return bytes(buf[pos + 8:pos + 8 + n]).decode("utf-8", "replace"), pos + 8 + n


def _value(buf: memoryview, pos: int, kind: int) -> tuple[Any, int]:
    if kind in _SCALARS:
        fmt = _SCALARS[kind]
        return struct.unpack_from(fmt, buf, pos)[0], pos + struct.calcsize(fmt)
    if kind == _STRING:
        return _string(buf, pos)
    if kind == _ARRAY:
        item, count = struct.unpack_from("<IQ", buf, pos)
        pos += 12
        if item in _SCALARS:  # fixed size: one jump
            return _SKIPPED, pos + count * struct.calcsize(_SCALARS[item])
        if item == _STRING:  # each string carries its length: jump from one to the next
            length = struct.Struct("<Q").unpack_from
            for _ in range(count):
                pos += 8 + length(buf, pos)[0]
            return _SKIPPED, pos
        for _ in range(count):  # nested arrays
            _, pos = _value(buf, pos, item)
        return _SKIPPED, pos
    raise ValueError(f"unknown GGUF metadata type {kind}")
