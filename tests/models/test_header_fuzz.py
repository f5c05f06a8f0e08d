"""A seeded fuzz of GGUF headers: huge counts, lengths and values in random places.

The starter model's header is written again with one number in it replaced by a
huge or random one: a count of metadata entries or tensors, an array's length, a
text's length, a value (block count, head counts…), a tensor's dimensions. The
weights behind the header are a sparse file of zeros (zeros read as empty texts,
the costliest garbage for a reader that walks a claimed count). Every such file
must be described or refused within a second of CPU time (wall time on a loaded
machine also counts other programs' turns, so it only has a generous bound), and
refused only with the typed ``ModelFileError``: never a hang, a ``MemoryError`` or
another exception.

``PYTHONPATH=.:tests python tests/models/test_header_fuzz.py [N] [SEED]`` runs a longer fuzz by hand
and prints the slowest cases.
"""

from __future__ import annotations

import random
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import gguf_tools as g

from app.core.errors import ModelFileError
from app.core.gguf import read_header
from app.core.memory import memory_needed_for
from app.models.library import describe

RANDOM_CASES_IN_THE_SUITE = 20  # with the sweep, some seconds; the hand-run fuzz does hundreds
SLOWEST_ALLOWED_CPU_S = 1.0  # the claim: reading or refusing a header is a second's work at most
SLOWEST_ALLOWED_WALL_S = 10.0  # a hang or a walk of a claimed 2**64 entries still fails this
HUGE = (2**31 - 1, 2**32 - 1, 2**32, 2**63 - 1, 2**64 - 1, 2**40, 2**24 + 1, 2**20 + 1, 513, 1025)


@dataclass(frozen=True)
class Slot:
    """Where one number sits in the written header, its struct format, and what it is."""

    offset: int
    fmt: str
    what: str


def _header(model: g.GGUF) -> tuple[bytearray, list[Slot]]:
    """The header's bytes (magic to tensor descriptions) and the numbers a fuzz may replace."""
    out = bytearray(b"GGUF")
    slots: list[Slot] = []

    def num(fmt: str, value: int | float, what: str, keep: bool = True) -> None:
        if keep:
            slots.append(Slot(len(out), fmt, what))
        out.extend(struct.pack(fmt, value))

    def text(raw: bytes, what: str, keep: bool = True) -> None:
        num("<Q", len(raw), f"{what} (text length)", keep)
        out.extend(raw)

    num("<I", model.version, "version")
    num("<Q", model.n_tensors, "tensor count")
    num("<Q", len(model.metadata), "metadata count")
    for key, (vtype, value) in model.metadata.items():
        text(key.encode(), key)
        num("<I", vtype, f"{key} (value type)")
        if vtype == g.ARRAY:
            itype, items = value
            num("<I", itype, f"{key} (item type)")
            num("<Q", len(items), f"{key} (array length)")
            for i, item in enumerate(items):
                keep = i < 3  # a few items of each array, not all 49,152 tokens
                if itype == g.STRING:
                    text(item.encode("utf-8", errors="surrogateescape"), f"{key}[{i}]", keep)
                else:
                    num(g._SCALAR[itype], item, f"{key}[{i}]", keep)
        elif vtype == g.STRING:
            text(value.encode("utf-8", errors="surrogateescape"), key)
        else:
            num(g._SCALAR[vtype], value, key)
    info, pos = model.tensor_info, 0
    for t in range(model.n_tensors):
        start = len(out)
        (n,) = struct.unpack_from("<Q", info, pos)
        slots.append(Slot(start, "<Q", f"tensor {t} (name length)"))
        (n_dims,) = struct.unpack_from("<I", info, pos + 8 + n)
        slots.append(Slot(start + 8 + n, "<I", f"tensor {t} (dimensions)"))
        for d in range(n_dims):
            slots.append(Slot(start + 12 + n + 8 * d, "<Q", f"tensor {t} (dimension {d})"))
        slots.append(Slot(start + 12 + n + 8 * n_dims + 4, "<Q", f"tensor {t} (offset)"))
        size = 8 + n + 4 + 8 * n_dims + 4 + 8
        out.extend(info[pos:pos + size])
        pos += size
    return out, slots


def _replacement(rng: random.Random, fmt: str) -> int | float:
    if fmt in ("<f", "<d"):
        return rng.choice([float("inf"), float("nan"), 1e30, -1e30, 2.0**40])
    if fmt == "<?":
        return rng.choice([0, 1])
    bits = struct.calcsize(fmt) * 8
    signed = fmt[1].islower()
    top = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    value = rng.choice([*HUGE, rng.randrange(top + 1), top, rng.randrange(2**16)])
    return value & top if value > top else value


def _metadata(slots: list[Slot]) -> list[Slot]:
    return [s for s in slots if not s.what.startswith("tensor ") or s.what == "tensor count"]


def sizing(slots: list[Slot]) -> list[Slot]:
    """The counts and whole-number values of the metadata (not texts' lengths, not array items)."""
    return [s for s in _metadata(slots) if ("(" not in s.what or "array length" in s.what)
            and "[" not in s.what and s.fmt not in ("<f", "<d", "<?")]


def _largest(fmt: str) -> int:
    bits = struct.calcsize(fmt) * 8
    return 2 ** (bits - 1) - 1 if fmt[1].islower() else 2**bits - 1


def _write_case(rng: random.Random, base: bytearray, slots: list[Slot], data_size: int, dst: Path,
                only: Slot | None = None) -> str:
    """A copy of the header with numbers replaced, and zeros for the weights; says what changed.

    ``only``: that number, set to the largest its type holds. Otherwise one or two numbers
    at random, mostly of the metadata (most numbers are the tensors'; most bugs, the metadata's).
    """
    out = bytearray(base)
    changed = []
    pool = _metadata(slots) if rng.random() < 0.7 else slots
    for slot in [only] if only else rng.sample(pool, rng.choice([1, 1, 1, 2])):
        value = _largest(slot.fmt) if only else _replacement(rng, slot.fmt)
        struct.pack_into(slot.fmt, out, slot.offset, value)
        changed.append(f"{slot.what} = {value}")
    with dst.open("wb") as f:
        f.write(out)
        f.write(b"\0" * (-len(out) % 32))
        f.truncate(f.tell() + data_size)  # sparse: no 98 MB written per case
    return "; ".join(changed)


def _check(path: Path) -> tuple[float, float, str]:
    """Read the header as the library and the engine's load do: the slowest step's CPU and wall seconds, the outcome."""
    started, cpu = time.perf_counter(), time.process_time()
    try:
        header = read_header(path)
        header.kv_bytes_per_token()
        memory_needed_for(header, 0)
        outcome = "read"
    except ModelFileError as exc:
        outcome = f"refused: {exc.reason}"
    header_s, header_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    entry = describe(path)
    library_s, library_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert not entry.error.startswith("it could not be read"), entry.error  # the library's catch-all for bugs
    return max(header_cpu, library_cpu), max(header_s, library_s), outcome


def fuzz(starter: Path, folder: Path, count: int, seed: int,
         sweep: bool = True) -> list[tuple[float, float, str, str]]:
    """(CPU seconds, wall seconds, what changed, outcome) for malformed headers, the most CPU first.

    With ``sweep``, first every count and whole number of the metadata at its type's
    largest value, one at a time; then ``count`` random cases.
    """
    model = g.read(starter)
    base, slots = _header(model)
    data_size = starter.stat().st_size - model.data_offset
    rng = random.Random(seed)
    results = []
    cases: list[Slot | None] = [*(sizing(slots) if sweep else []), *[None] * count]
    for i, only in enumerate(cases):
        path = folder / f"fuzz-{i}.gguf"
        what = _write_case(rng, base, slots, data_size, path, only)
        cpu, wall, outcome = _check(path)
        results.append((cpu, wall, what, outcome))
        path.unlink()
    return sorted(results, reverse=True)


def test_the_unchanged_header_writes_a_readable_model(starter_path: Path, tmp_path: Path) -> None:
    model = g.read(starter_path)
    base, slots = _header(model)
    assert len(slots) > 1000  # every tensor's numbers and the metadata's
    path = tmp_path / "same.gguf"
    path.write_bytes(bytes(base) + b"\0" * (-len(base) % 32))
    with path.open("r+b") as f:
        f.truncate(starter_path.stat().st_size)
    assert path.read_bytes()[: model.data_offset] == starter_path.read_bytes()[: model.data_offset]
    assert read_header(path).layers == read_header(starter_path).layers


def test_no_malformed_header_takes_a_second_or_raises_anything_but_the_typed_error(starter_path: Path,
                                                                                  tmp_path: Path) -> None:
    results = fuzz(starter_path, tmp_path, RANDOM_CASES_IN_THE_SUITE, seed=20)
    cpu, _wall, what, outcome = results[0]
    wall, wall_what = max((w, what) for _c, w, what, _o in results)
    print(f"{len(results)} cases: the most CPU {cpu * 1000:.0f} ms ({what}); the slowest by the clock "
          f"{wall * 1000:.0f} ms ({wall_what})")
    assert cpu < SLOWEST_ALLOWED_CPU_S, f"{cpu:.2f} s of CPU for {what} ({outcome})"
    assert wall < SLOWEST_ALLOWED_WALL_S, f"{wall:.2f} s for {wall_what}"
    refused = [w for _c, _s, w, o in results if o.startswith("refused")]
    assert len(refused) >= len(results) // 2 and any("llama.block_count" in w for w in refused)


if __name__ == "__main__":
    import tempfile

    from app.core.starter import starter_model_path

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        found = fuzz(starter_model_path(), Path(tmp), n, seed)
    print(f"{len(found)} cases ({n} random) in {time.perf_counter() - started:.1f} s; "
          f"{sum(o.startswith('refused') for _c, _s, _w, o in found)} refused; the most CPU:")
    for cpu, seconds, what, outcome in found[:8]:
        print(f"  {cpu * 1000:7.1f} ms CPU ({seconds * 1000:.1f} ms)  {what}  →  {outcome[:100]}")
