"""A llama GGUF as a JAX function: the base weights, frozen, plus LoRA on the attention projections.

The weights are read with the ``gguf`` package and dequantized to float32 exactly as llama.cpp
stores them, so the forward pass works in llama.cpp's layout: its q/k rows are already permuted
(``convert_hf_to_gguf`` does that) for the "normal" RoPE that rotates adjacent pairs, and a LoRA
trained here is written out with no permutation at all. Architecture: RMSNorm, RoPE (the GGUF's
``rope.freq_base`` and ``rope.dimension_count``), grouped-query attention, SwiGLU, the output
projection tied to the token embedding when the file has no ``output.weight``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import ModelFileError

# the projections a LoRA may adapt, by their GGUF names, and their (out, in) sizes from the config
TARGETS = ("attn_q", "attn_k", "attn_v", "attn_output")


@dataclass(frozen=True)
class LlamaConfig:
    """What the forward pass needs from a GGUF's metadata."""

    name: str
    architecture: str
    n_layer: int
    n_embd: int
    n_ff: int
    n_head: int
    n_head_kv: int
    n_vocab: int
    rope_base: float
    rope_dims: int
    norm_eps: float
    context_length: int
    bos: int

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def shape_of(self, target: str) -> tuple[int, int]:
        """(out, in) of a projection."""
        kv = self.n_head_kv * self.head_dim
        return {"attn_q": (self.n_embd, self.n_embd), "attn_k": (kv, self.n_embd),
                "attn_v": (kv, self.n_embd), "attn_output": (self.n_embd, self.n_embd)}[target]


def _field(reader: Any, key: str, default: Any = None) -> Any:
    f = reader.fields.get(key)
    if f is None:
        return default
    return f.contents() if hasattr(f, "contents") else f  # a gguf.GGUFReader's field, or a GGUFFile's value


def read_config(reader: Any, path: str | Path) -> LlamaConfig:
    arch = _field(reader, "general.architecture", "")
    if arch != "llama":
        raise ModelFileError(str(path), f"training supports llama-architecture models only; this one is {arch or 'unknown'}")
    n_embd = int(_field(reader, "llama.embedding_length"))
    n_head = int(_field(reader, "llama.attention.head_count"))
    tensors = reader.tensors  # a GGUFFile's by name, or a gguf.GGUFReader's list
    emb = tensors["token_embd.weight"] if isinstance(tensors, dict) else next(t for t in tensors
                                                                              if t.name == "token_embd.weight")
    return LlamaConfig(
        name=str(_field(reader, "general.name", Path(path).stem)),
        architecture=arch,
        n_layer=int(_field(reader, "llama.block_count")),
        n_embd=n_embd,
        n_ff=int(_field(reader, "llama.feed_forward_length")),
        n_head=n_head,
        n_head_kv=int(_field(reader, "llama.attention.head_count_kv", n_head)),
        n_vocab=int(emb.shape[1]),
        rope_base=float(_field(reader, "llama.rope.freq_base", 10000.0)),
        rope_dims=int(_field(reader, "llama.rope.dimension_count", n_embd // n_head)),
        norm_eps=float(_field(reader, "llama.attention.layer_norm_rms_epsilon", 1e-5)),
        context_length=int(_field(reader, "llama.context_length", 2048)),
        bos=int(_field(reader, "tokenizer.ggml.bos_token_id", -1)),
    )


def load_base(path: str | Path) -> tuple[LlamaConfig, dict[str, np.ndarray]]:
    """The config and the dequantized float32 weights, per-layer tensors stacked along a first axis."""
    from app.train.gguf_file import GGUFFile

    try:
        reader = GGUFFile(path)
    except (OSError, ValueError, struct.error) as exc:
        raise ModelFileError(str(path), f"it could not be read as a GGUF model ({exc})") from None
    cfg = read_config(reader, path)
    if cfg.rope_dims != cfg.head_dim:
        raise ModelFileError(str(path), "partial rotary embeddings are not supported for training")
    tensors = reader.tensors
    get = reader.dequantized

    weights: dict[str, np.ndarray] = {
        "token_embd": get("token_embd.weight"),
        "output_norm": get("output_norm.weight"),
    }
    if "output.weight" in tensors:
        weights["output"] = get("output.weight")
    for part in ("attn_norm", "ffn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up",
                 "ffn_down"):
        weights[part] = np.stack([get(f"blk.{i}.{part}.weight") for i in range(cfg.n_layer)])
    return cfg, weights


def init_lora(cfg: LlamaConfig, rank: int, targets: tuple[str, ...], seed: int = 0) -> dict[str, np.ndarray]:
    """A new adapter: A small random (Kaiming-like), B zero, so it starts as the base model."""
    rng = np.random.default_rng(seed)
    lora: dict[str, np.ndarray] = {}
    for t in targets:
        out, inp = cfg.shape_of(t)
        lora[f"{t}.a"] = (rng.standard_normal((cfg.n_layer, rank, inp)) / np.sqrt(inp)).astype(np.float32)
        lora[f"{t}.b"] = np.zeros((cfg.n_layer, out, rank), np.float32)
    return lora


def make_forward(cfg: LlamaConfig, targets: tuple[str, ...]) -> Any:
    """``forward(base, lora, scale, tokens[B, T]) -> logits[B, T, n_vocab]`` (a pure JAX function)."""
    import jax
    import jax.numpy as jnp

    hd = cfg.head_dim
    half = cfg.rope_dims // 2
    inv_freq = cfg.rope_base ** (-np.arange(half, dtype=np.float64) * 2.0 / cfg.rope_dims)
    group = cfg.n_head // cfg.n_head_kv

    def rms(x: Any, w: Any) -> Any:
        return x * jax.lax.rsqrt(jnp.mean(x * x, axis=-1, keepdims=True) + cfg.norm_eps) * w

    def rope(x: Any, cos: Any, sin: Any) -> Any:  # x [B, T, H, hd]; llama.cpp's NORM mode: adjacent pairs
        x0 = x[..., 0::2]
        x1 = x[..., 1::2]
        r0 = x0 * cos - x1 * sin
        r1 = x0 * sin + x1 * cos
        return jnp.stack([r0, r1], axis=-1).reshape(x.shape)

    def forward(base: dict[str, Any], lora: dict[str, Any], scale: Any, tokens: Any) -> Any:
        b, t = tokens.shape
        pos = jnp.arange(t, dtype=jnp.float32)
        ang = pos[:, None] * jnp.asarray(inv_freq, jnp.float32)[None, :]
        cos = jnp.cos(ang)[None, :, None, :]
        sin = jnp.sin(ang)[None, :, None, :]
        mask = jnp.tril(jnp.ones((t, t), bool))
        x = base["token_embd"][tokens]

        def proj(h: Any, layer: dict[str, Any], name: str) -> Any:
            y = h @ layer[name].T
            if name in targets:
                y = y + ((h @ layer[name + ".a"].T) @ layer[name + ".b"].T) * scale
            return y

        def block(x: Any, layer: dict[str, Any]) -> tuple[Any, None]:
            h = rms(x, layer["attn_norm"])
            q = proj(h, layer, "attn_q").reshape(b, t, cfg.n_head, hd)
            k = proj(h, layer, "attn_k").reshape(b, t, cfg.n_head_kv, hd)
            v = proj(h, layer, "attn_v").reshape(b, t, cfg.n_head_kv, hd)
            q = rope(q, cos, sin)
            k = rope(k, cos, sin)
            k = jnp.repeat(k, group, axis=2)
            v = jnp.repeat(v, group, axis=2)
            att = jnp.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(hd)
            att = jnp.where(mask[None, None], att, -1e30)
            att = jax.nn.softmax(att, axis=-1)
            o = jnp.einsum("bhqk,bkhd->bqhd", att, v).reshape(b, t, cfg.n_embd)
            x = x + proj(o, layer, "attn_output")
            h = rms(x, layer["ffn_norm"])
            ff = jax.nn.silu(h @ layer["ffn_gate"].T) * (h @ layer["ffn_up"].T)
            return x + ff @ layer["ffn_down"].T, None

        layers = {k: v for k, v in base.items() if k not in ("token_embd", "output_norm", "output")}
        layers.update(lora)
        x, _ = jax.lax.scan(jax.checkpoint(block), x, layers)
        x = rms(x, base["output_norm"])
        out = base.get("output", base["token_embd"])
        return x @ out.T

    return forward


def make_loss(cfg: LlamaConfig, targets: tuple[str, ...]) -> Any:
    """``loss(lora, base, scale, tokens[B, T], weights[B, T]) -> mean next-token cross-entropy``.

    Row i's logits predict token i+1; ``weights`` marks the real (non-padding) targets.
    """
    import jax
    import jax.numpy as jnp

    forward = make_forward(cfg, targets)

    def loss(lora: dict[str, Any], base: dict[str, Any], scale: Any, tokens: Any, weights: Any) -> Any:
        logits = forward(base, lora, scale, tokens[:, :-1])
        logp = jax.nn.log_softmax(logits, axis=-1)
        nll = -jnp.take_along_axis(logp, tokens[:, 1:, None], axis=-1)[..., 0]
        w = weights[:, 1:]
        return jnp.sum(nll * w) / jnp.maximum(jnp.sum(w), 1.0)

    return loss
