"""Read a GGUF file's header without loading the model.

Used twice: to describe models in the library (name, architecture, parameters,
quantization, context, chat template) and to reject a bad file with a clear reason
before llama.cpp sees it, since llama.cpp may kill the process on some bad input.
Pure Python, bounded reads: a garbage header cannot make it allocate gigabytes.

Every value the header is trusted for is checked for kind and range where it is
read (``_validate``): a malformed one raises ``ModelMetadataError`` naming the file
and the key, never a bare ``ValueError`` from ``int()``.
"""

from __future__ import annotations

import math
import struct
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from app.core.errors import ModelFileError, ModelMetadataError

MAGIC = b"GGUF"
_MAX_STRING = 64 * 1024 * 1024
# Bounds on the header values that size a loop or an allocation, checked before anything
# iterates over them (a file claiming 2**32 layers must be refused in microseconds, not
# after a minute of building a list of 2**32 head counts). Generous: far above any real model.
_MAX_ARRAY = 1 << 24  # numbers in one array (skipped in one seek when long)
# texts in all the header's arrays together: each is walked in Python (~0.3 µs), so this bounds the
# time too (about half a second). The most in a real model are Llama 3's 128,256 tokens + 280,147
# merges; the largest vocabularies (Gemma 3) have 262,144 tokens.
_MAX_TEXTS = 1 << 20
_MAX_TENSORS = 1 << 20  # the largest real models have a few thousand tensors
_MAX_KV = 1 << 16
MAX_LAYERS = 512  # llama.cpp's LLAMA_MAX_LAYERS: above it llama.cpp GGML_ASSERTs (kills the process)
MAX_EXPERTS = 1024  # llama.cpp's LLAMA_MAX_EXPERTS, the same
MAX_HEADS = 1 << 16  # attention heads per layer; real models have at most a few hundred
MAX_WIDTH = 1 << 24  # embedding, feed-forward, key/value lengths; real ones are below 10**6
MAX_CONTEXT = (1 << 32) - 1  # trained context in tokens: a 32-bit count in llama.cpp (real: up to ~10**7)
# the fewest bytes one item can take in the file: a count claiming more than the rest of the
# file can hold is refused before the loop, not after reading garbage for every claimed item
_MIN_KV_BYTES = 8 + 4 + 1  # key length, value type, the smallest value
_MIN_TENSOR_BYTES = 8 + 4 + 8 + 4 + 8  # name length, dimensions, one dimension, type, offset
_STRING_BYTES = 8  # a string's length field
_LENGTH = struct.Struct("<Q")
_CHUNK = 1 << 20  # bytes read at a time while walking an array of texts
_MAX_KEY = 1 << 10  # a metadata key's length; real ones are under 100 bytes (and a key is quoted in messages)
_MAX_TENSOR_NAME = 63  # ggml's GGML_MAX_NAME (64) with its terminating zero: llama.cpp refuses longer names
_KEEP_ARRAY = 64  # arrays longer than this are skipped (token lists), only counted
TOKENS = "tokenizer.ggml.tokens"
_SHAPES_KEPT = ("token_embd.weight", "output.weight")

# ggml tensor types: (elements per block, bytes per block)
_TYPE_SIZE: dict[int, tuple[int, int]] = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
    9: (32, 36), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
    15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18),
    21: (256, 110), 22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4),
    27: (1, 8), 28: (1, 8), 29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66), 39: (32, 17),
}
_TYPE_NAME = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 10: "Q2_K",
    11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS",
    19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 29: "IQ1_M", 30: "BF16",
    34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
}
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4",
}
# value types: struct format of the scalar ones
_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


@dataclass
class GGUFHeader:
    """The metadata and tensor summary of a GGUF file."""

    path: Path
    version: int
    metadata: dict[str, Any]
    array_lengths: dict[str, int] = field(default_factory=dict)
    tensor_count: int = 0
    parameters: int = 0
    data_offset: int = 0
    data_size: int = 0
    file_size: int = 0
    tensor_types: dict[str, int] = field(default_factory=dict)
    tensor_shapes: dict[str, list[int]] = field(default_factory=dict)  # only token_embd / output
    duplicate_token: bytes | None = None  # the first token string that appears twice

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    @property
    def name(self) -> str:
        name = self.metadata.get("general.name")
        return str(name) if name else self.path.stem

    @property
    def context_length(self) -> int:
        return _whole(self.metadata.get(f"{self.architecture}.context_length"))

    @property
    def chat_template(self) -> str | None:
        template = self.metadata.get("tokenizer.chat_template")
        return template if isinstance(template, str) and template.strip() else None

    @property
    def quantization(self) -> str:
        file_type = self.metadata.get("general.file_type")
        if isinstance(file_type, int) and file_type in FILE_TYPES:
            return FILE_TYPES[file_type]
        if self.tensor_types:  # the type most weights use
            return max(self.tensor_types, key=self.tensor_types.__getitem__)
        return "unknown"

    @property
    def layers(self) -> int:
        return _whole(self.metadata.get(f"{self.architecture}.block_count"))

    @property
    def embedding_length(self) -> int:
        return _whole(self.metadata.get(f"{self.architecture}.embedding_length"))

    def kv_bytes_per_token(self) -> int:
        """Bytes of f16 KV cache one token of context costs (K and V, every layer)."""
        arch = self.architecture
        layers = self.layers
        heads = _per_layer(self.metadata.get(f"{arch}.attention.head_count"), layers)
        kv_heads = _per_layer(self.metadata.get(f"{arch}.attention.head_count_kv"), layers) or heads
        if not heads or not self.embedding_length:
            return 2 * layers * self.embedding_length * 2
        key_len = _whole(self.metadata.get(f"{arch}.attention.key_length"))
        value_len = _whole(self.metadata.get(f"{arch}.attention.value_length")) or key_len
        total = 0
        for head, kv in zip(heads, kv_heads, strict=False):
            if not head:
                continue
            k_dim = key_len or self.embedding_length // head
            v_dim = value_len or self.embedding_length // head
            total += kv * (k_dim + v_dim)
        return total * 2


def _whole(value: Any) -> int:
    """A validated count, or 0 when absent (or of a kind ``_validate`` allows but this can't use)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _per_layer(value: Any, layers: int) -> list[int]:
    """A head count given once or per layer, as one number per layer (at most ``MAX_LAYERS``)."""
    if isinstance(value, list):
        return [_whole(v) for v in value[:MAX_LAYERS]]
    count = _whole(value)
    return [count] * min(max(layers, 1), MAX_LAYERS) if count else []


class _Reader:
    def __init__(self, f: BinaryIO, path: Path, size: int) -> None:
        self.f, self.path, self.size = f, path, size

    def bad(self, reason: str) -> ModelFileError:
        return ModelFileError(str(self.path), reason)

    def read(self, n: int) -> bytes:
        data = self.f.read(n)
        if len(data) != n:
            raise self.bad(f"the file is truncated (it ends at byte {self.size} inside the header)")
        return data

    def fits(self, count: int, item_bytes: int) -> bool:
        """Whether ``count`` items of at least ``item_bytes`` each fit in what is left of the file."""
        return count * item_bytes <= self.size - self.f.tell()

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self, longest: int = _MAX_STRING) -> str:
        n = self.unpack("<Q")
        if n > longest or self.f.tell() + n > self.size:
            raise self.bad("the header is damaged (a text field has an impossible length)")
        return self.read(n).decode("utf-8", errors="replace")

    def strings(self, count: int, keep: bool) -> Iterator[bytes]:
        """The ``count`` texts of an array, as bytes (empty each when not ``keep``), read a chunk at a time.

        A vocabulary is read on every library scan: one ``read`` a token cost several
        times as much, and a crafted file of a million empty texts took seconds.
        """
        buf, base, pos = b"", self.f.tell(), 0  # buf holds the file's bytes from offset base
        for _ in range(count):
            if pos + 8 > len(buf):
                buf, base, pos = self._refill(buf, base, pos, 8)
            (n,) = _LENGTH.unpack_from(buf, pos)
            if n > _MAX_STRING or base + pos + 8 + n > self.size:
                raise self.bad("the header is damaged (a text field has an impossible length)")
            end = pos + 8 + n
            if end > len(buf):
                buf, base, pos = self._refill(buf, base, pos, 8 + n)
                end = pos + 8 + n
            yield buf[pos + 8:end] if keep else b""
            pos = end
        self.f.seek(base + pos)

    def _refill(self, buf: bytes, base: int, pos: int, need: int) -> tuple[bytes, int, int]:
        more = self.f.read(max(_CHUNK, need))
        buf = buf[pos:] + more
        if len(buf) < need:
            raise self.bad(f"the file is truncated (it ends at byte {self.size} inside the header)")
        return buf, base + pos, 0

    def value(self, vtype: int) -> Any:
        if vtype in _SCALAR:
            return self.unpack(_SCALAR[vtype])
        if vtype == 8:
            return self.string()
        raise self.bad(f"the header is damaged (unknown value type {vtype})")


def read_header(path: str | Path) -> GGUFHeader:
    """Parse and sanity-check a GGUF file's header; raise ModelFileError with the reason."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(str(path), "the file does not exist (was it moved or deleted?)")
    if not path.is_file():
        raise ModelFileError(str(path), "this is a folder, not a model file")
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            return _parse(_Reader(f, path, size))
    except PermissionError:
        raise ModelFileError(str(path), "Inkling is not allowed to read this file") from None
    except (ValueError, OverflowError, struct.error, MemoryError) as exc:  # never a bare ValueError
        raise ModelFileError(str(path), f"the header is damaged ({type(exc).__name__}: {exc})") from None
    except OSError as exc:
        raise ModelFileError(str(path), f"the file could not be read ({exc.strerror or exc})") from None


def _parse(r: _Reader) -> GGUFHeader:
    if r.size == 0:
        raise r.bad("the file is empty")
    head = r.f.read(4)
    if head != MAGIC:
        if len(head) < 4:
            raise r.bad("the file is too short to be a GGUF model")
        if head[:4] in (b"ggml", b"ggjt", b"ggmf", b"lmgg", b"tjgg"):
            raise r.bad("this is an old GGML model; convert it to GGUF or download a GGUF version")
        raise r.bad("this is not a GGUF model file (wrong magic number)")
    version = r.unpack("<I")
    if version not in (2, 3):
        raise r.bad(f"GGUF version {version} is not supported (only 2 and 3)")
    n_tensors = r.unpack("<Q")
    n_kv = r.unpack("<Q")
    if n_tensors > _MAX_TENSORS or n_kv > _MAX_KV or not r.fits(n_kv, _MIN_KV_BYTES) \
            or not r.fits(n_tensors, _MIN_TENSOR_BYTES):
        raise r.bad("the header is damaged (impossible tensor or metadata count)")

    metadata: dict[str, Any] = {}
    array_lengths: dict[str, int] = {}
    duplicate: bytes | None = None
    texts = 0  # in arrays so far
    for _ in range(n_kv):
        key = r.string(_MAX_KEY)
        vtype = r.unpack("<I")
        if vtype == 9:
            itype = r.unpack("<I")
            count = r.unpack("<Q")
            width = struct.calcsize(_SCALAR[itype]) if itype in _SCALAR else _STRING_BYTES
            if count > _MAX_ARRAY:
                raise ModelMetadataError(str(r.path), key, f"claims {count:,} items; at most {_MAX_ARRAY:,} are allowed")
            texts += count if itype == 8 else 0
            if texts > _MAX_TEXTS:
                raise ModelMetadataError(str(r.path), key, f"claims {count:,} texts, more than the {_MAX_TEXTS:,} "
                                                           "a header may hold in all")
            if not r.fits(count, width):
                raise ModelMetadataError(str(r.path), key, f"claims {count:,} items, more than the file can hold "
                                                           f"(it ends at byte {r.size:,}: the file is truncated or corrupt)")
            array_lengths[key] = count
            if itype == 8 and key == TOKENS:
                items, duplicate = _token_strings(r, count)
            elif itype == 8:
                items = [raw.decode("utf-8", errors="replace") for raw in r.strings(count, True)] \
                    if count <= _KEEP_ARRAY else deque(r.strings(count, False), maxlen=0)
            elif itype in _SCALAR:
                raw = r.read(width * count) if count <= _KEEP_ARRAY else r.f.seek(width * count, 1)
                items = list(struct.unpack(f"<{count}{_SCALAR[itype][1]}", raw)) if count <= _KEEP_ARRAY else []
            else:
                raise r.bad(f"the header is damaged (array {key!r} of unsupported type {itype})")
            if count <= _KEEP_ARRAY:
                metadata[key] = items
        else:
            metadata[key] = r.value(vtype)

    parameters = 0
    end = 0
    types: dict[str, int] = {}
    shapes: dict[str, list[int]] = {}
    for _ in range(n_tensors):
        name = r.string(_MAX_TENSOR_NAME)
        n_dims = r.unpack("<I")
        if not 1 <= n_dims <= 8:
            raise r.bad(f"the header is damaged (tensor {name!r} has {n_dims} dimensions)")
        dims = [r.unpack("<Q") for _ in range(n_dims)]
        ttype = r.unpack("<I")
        offset = r.unpack("<Q")
        if name in _SHAPES_KEPT:
            shapes[name] = dims
        elements = 1
        for d in dims:
            elements *= d
        parameters += elements
        type_name = _TYPE_NAME.get(ttype, f"type{ttype}")
        if n_dims >= 2:
            types[type_name] = types.get(type_name, 0) + elements
        if ttype in _TYPE_SIZE:
            block, nbytes = _TYPE_SIZE[ttype]
            end = max(end, offset + (elements // block) * nbytes)

    alignment = metadata.get("general.alignment", 32)
    if not isinstance(alignment, int) or alignment <= 0:
        alignment = 32
    data_offset = -(-r.f.tell() // alignment) * alignment
    if data_offset + end > r.size:
        missing = data_offset + end - r.size
        raise r.bad(
            f"the file is truncated: {missing:,} bytes of weights are missing "
            "(an unfinished download or copy?)"
        )
    header = GGUFHeader(
        path=r.path, version=version, metadata=metadata, array_lengths=array_lengths,
        tensor_count=n_tensors, parameters=parameters, data_offset=data_offset,
        data_size=end, file_size=r.size, tensor_types=types, tensor_shapes=shapes,
        duplicate_token=duplicate,
    )
    _validate(header)
    return header


def _token_strings(r: _Reader, count: int) -> tuple[list[str], bytes | None]:
    """Read the token list (kept only if short) and find the first string that appears twice.

    llama.cpp dies on a vocabulary with duplicate strings, so every token is read.
    Compared as bytes, as llama.cpp does.
    """
    seen: set[bytes] = set()
    duplicate: bytes | None = None
    kept: list[str] = []
    for raw in r.strings(count, True):
        if duplicate is None:
            if raw in seen:
                duplicate = raw
            seen.add(raw)
        if count <= _KEEP_ARRAY:
            kept.append(raw.decode("utf-8", errors="replace"))
    return kept, duplicate


def _describe_value(value: Any) -> str:
    if isinstance(value, bool):
        return f"a yes/no value ({value})"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "infinite" if value > 0 else "minus infinity"
        return f"a fraction ({value:g})"
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:20] + "…"
        return f"the text {shown!r}"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _validate(h: GGUFHeader) -> None:
    """Refuse every header value llama.cpp would choke on, naming the file and the key."""
    path = str(h.path)
    meta = h.metadata

    def bad(key: str, problem: str) -> ModelMetadataError:
        return ModelMetadataError(path, key, problem)

    arch_value = meta.get("general.architecture")
    if arch_value is not None and not isinstance(arch_value, str):
        raise bad("general.architecture", f"is {_describe_value(arch_value)} where a name belongs")
    arch = h.architecture

    def count(key: str, minimum: int, maximum: int, per_layer: bool = False) -> int | list[int] | None:
        if key in h.array_lengths and not per_layer:
            raise bad(key, "is a list where one whole number belongs")
        if h.array_lengths.get(key, 0) > MAX_LAYERS:
            raise bad(key, f"lists {h.array_lengths[key]:,} values, one per layer; llama.cpp allows "
                           f"at most {MAX_LAYERS} layers")
        value = meta.get(key)
        if value is None:
            return None
        if per_layer and isinstance(value, list):
            for item in value:
                if isinstance(item, bool) or not isinstance(item, int) or item < 0:
                    raise bad(key, f"holds {_describe_value(item)} where whole numbers belong")
                if item > maximum:
                    raise bad(key, f"holds {item:,}; it can be at most {maximum:,}")
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad(key, f"is {_describe_value(value)} where a whole number belongs")
        if value < minimum:
            raise bad(key, f"is {value}; it must be at least {minimum}")
        if value > maximum:
            raise bad(key, f"is {value:,}; it can be at most {maximum:,}")
        return value

    count(f"{arch}.context_length", 1, MAX_CONTEXT)
    embedding = count(f"{arch}.embedding_length", 1, MAX_WIDTH)
    count(f"{arch}.block_count", 1, MAX_LAYERS)
    heads = count(f"{arch}.attention.head_count", 1, MAX_HEADS, per_layer=True)
    count(f"{arch}.attention.head_count_kv", 1, MAX_HEADS, per_layer=True)
    key_length = count(f"{arch}.attention.key_length", 1, MAX_WIDTH)
    count(f"{arch}.attention.value_length", 1, MAX_WIDTH)
    count(f"{arch}.feed_forward_length", 1, MAX_WIDTH, per_layer=True)
    experts = count(f"{arch}.expert_count", 0, MAX_EXPERTS) or 0
    # one number or one per layer (llama.cpp reads either); above the experts there are, llama.cpp GGML_ASSERTs
    used_key = f"{arch}.expert_used_count"
    used = count(used_key, 0, MAX_EXPERTS, per_layer=True)
    if used is not None or used_key not in h.array_lengths:  # (a list of more than _KEEP_ARRAY is only counted)
        most_used = max(used, default=0) if isinstance(used, list) else used or 0
        if most_used > experts:
            raise bad(used_key, f"says {most_used} experts are used but the model has {experts} "
                                f"({arch}.expert_count)")
        if experts and not most_used:
            raise bad(used_key, f"is missing or 0 for a model of {experts} experts")
    vocab_key = count(f"{arch}.vocab_size", 1, _MAX_ARRAY)
    if isinstance(heads, int) and isinstance(embedding, int) and key_length is None and embedding % heads:
        raise bad(f"{arch}.attention.head_count",
                  f"is {heads}, which does not divide the embedding size ({embedding})")

    if TOKENS in meta or TOKENS in h.array_lengths:
        if TOKENS not in h.array_lengths:
            raise bad(TOKENS, f"is {_describe_value(meta[TOKENS])} where the list of tokens belongs")
        n_tokens = h.array_lengths[TOKENS]
        if n_tokens == 0:
            raise bad(TOKENS, "is empty")
        embd = h.tensor_shapes.get("token_embd.weight")
        vocab = vocab_key if isinstance(vocab_key, int) else (embd[1] if embd and len(embd) >= 2 else None)
        if vocab is not None and n_tokens != vocab:
            raise bad(TOKENS, f"lists {n_tokens:,} tokens but the vocabulary has {vocab:,}")
        for key in ("tokenizer.ggml.scores", "tokenizer.ggml.token_type"):
            if key in h.array_lengths and h.array_lengths[key] != n_tokens:
                raise bad(key, f"has {h.array_lengths[key]:,} entries for {n_tokens:,} tokens")
            if key in meta and key not in h.array_lengths:
                raise bad(key, f"is {_describe_value(meta[key])} where a list belongs")
        if h.duplicate_token is not None:
            shown = h.duplicate_token.decode("utf-8", errors="replace")[:40]
            raise bad(TOKENS, f"lists the token {shown!r} twice")
    template = meta.get("tokenizer.chat_template")
    if template is not None and not isinstance(template, str):
        raise bad("tokenizer.chat_template", f"is {_describe_value(template)} where a template text belongs")
