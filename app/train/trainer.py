"""LoRA training of a llama GGUF on a person's documents, as a job in its own process.

``train_job(args, ctx)`` is the job (the shape of ``app/engine/jobs.py``: ``ctx.progress``,
``ctx.should_stop``, ``ctx.wait_if_paused``). Each epoch: shuffled windows of the training
passages, AdamW on the LoRA only, then the validation loss on the held-out passages; the best
epoch's adapter is written as GGUF (``export.write_lora``); training stops early when the
validation loss rises. A checkpoint (adapter, optimizer state, position, history) is written
atomically every ``checkpoint_every`` steps and at each epoch's end, and a job started again
with the same work folder, settings and text resumes from it: a quit or a kill costs at most the
steps since the last checkpoint. One made for another text or other settings is set aside as
``checkpoint.old.npz`` and the start event says so (``discarded``, ``changed``).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import CheckpointNotSaved, Interrupted
from app.train import data
from app.train.documents import gather
from app.train.export import write_lora
from app.train.model import TARGETS, init_lora, load_base, make_loss


@dataclass(frozen=True)
class TrainSettings:
    """What a person may choose (the defaults suit a small model and a few pages of text)."""

    epochs: int = 3
    learning_rate: float = 1e-3
    rank: int = 8
    alpha: float = 16.0
    seq_len: int = 128
    batch: int = 4
    weight_decay: float = 0.0
    targets: tuple[str, ...] = TARGETS
    seed: int = 0
    patience: int = 1  # epochs the validation loss may rise before training stops
    checkpoint_every: int = 10  # steps

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def _save(path: Path, arrays: dict[str, np.ndarray], state: dict[str, Any] | None = None) -> None:
    """Write ``path`` atomically (a temporary file renamed over it): a full disk leaves the one before intact."""
    tmp = path.with_name(path.name + ".tmp.npz")
    try:
        if state is not None:
            arrays = {"__state__": np.frombuffer(json.dumps(state).encode(), np.uint8), **arrays}
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CheckpointNotSaved(str(path.parent), exc) from None


def _full(rows: np.ndarray, weights: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A batch padded to ``size`` rows of weight 0: one shape, so the step is compiled once, not per short batch."""
    if len(rows) == size:
        return rows, weights
    pad = size - len(rows)
    return (np.concatenate([rows, np.zeros((pad, rows.shape[1]), rows.dtype)]),
            np.concatenate([weights, np.zeros((pad, weights.shape[1]), weights.dtype)]))


def _use_compile_cache(folder: str | None) -> None:
    """Keep jax's compiled steps on disk: a resumed run (or the next one) skips the compile (2-3 s for the starter model, more for a bigger one)."""
    import jax

    if folder and not os.environ.get("JAX_COMPILATION_CACHE_DIR"):  # the environment's choice wins
        Path(folder).mkdir(parents=True, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)  # the validation pass too (~0.5 s)


def _load(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    if not path.exists():
        return None
    try:
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files if k != "__state__"}
            state = json.loads(bytes(z["__state__"]).decode())
        return arrays, state
    except Exception:  # a checkpoint cut short: start over rather than fail
        return None


def _checkpoint_for(ckpt: Path, key: str) -> tuple[tuple[dict[str, np.ndarray], dict[str, Any]] | None, str]:
    """The checkpoint to resume from (None: start over), and what changed if one was set aside.

    A checkpoint made with other settings or another text is not resumed: its held-out passages,
    its steps per epoch and its best validation loss belong to the other text, so its losses and
    its early stop would compare numbers that measure different things. It is not overwritten
    either: it is renamed ``checkpoint.old.npz`` (the one before it there is replaced), and the
    second value says why ("settings" or "text"; "" when nothing was set aside) so the caller can
    tell the person that training starts over. The key is ``TrainSettings.key()`` (16 characters)
    followed by the text's hash. A checkpoint that cannot be read is simply replaced, as before.
    """
    saved = _load(ckpt)
    if saved is None:
        return None, ""
    old_key = str(saved[1].get("key", ""))
    if old_key == key:
        return saved, ""
    os.replace(ckpt, ckpt.with_name("checkpoint.old.npz"))
    return None, "text" if old_key[:16] == key[:16] else "settings"


def train_job(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Train; return the training record.

    ``args``: base, out, work, settings (a dict), cache (jax's compile cache, optional), and the text:
    ``sources`` (``TextSource``s as dicts, read here, in the job's process) and/or ``texts`` (plain
    strings); ``names`` labels plain texts. A checkpoint is resumed only for the same settings and the
    same text (else the held-out passages could differ from the ones it held out before).
    """
    sources = list(args.get("sources", []))
    texts = gather(sources) + list(args.get("texts", []))  # before jax: a bad choice fails at once

    import jax
    import jax.numpy as jnp
    import optax

    from app.engine.tokenizer import VocabTokenizer

    _use_compile_cache(args.get("cache"))
    s = TrainSettings(**{**args.get("settings", {}), "targets": tuple(args.get("settings", {}).get("targets", TARGETS))})
    base_path, out = str(args["base"]), Path(args["out"])
    work = Path(args["work"])
    work.mkdir(parents=True, exist_ok=True)
    tok = VocabTokenizer(base_path)
    split = data.split_passages(texts, tok.tokenize, seed=s.seed)
    bos = tok.bos
    tok.close()
    train_rows, train_w = data.windows(split.train, bos, s.seq_len + 1)
    val_rows, val_w = data.windows(split.val, bos, s.seq_len + 1)
    cfg, base_np = load_base(base_path)
    base = {k: jnp.asarray(v) for k, v in base_np.items()}
    del base_np
    scale = s.alpha / s.rank
    loss_fn = make_loss(cfg, s.targets)
    # the rate is state, not a constant of the compiled step: one compile serves every learning rate
    opt = optax.inject_hyperparams(optax.adamw)(learning_rate=s.learning_rate, weight_decay=s.weight_decay)

    @jax.jit
    def step(lora: Any, opt_state: Any, base: Any, tokens: Any, weights: Any) -> Any:
        loss, grads = jax.value_and_grad(loss_fn)(lora, base, scale, tokens, weights)
        updates, opt_state = opt.update(grads, opt_state, lora)
        return optax.apply_updates(lora, updates), opt_state, loss

    @jax.jit
    def evaluate(lora: Any, base: Any, tokens: Any, weights: Any) -> Any:
        return loss_fn(lora, base, scale, tokens, weights) * jnp.sum(weights[:, 1:])

    def val_loss(lora: Any) -> float:
        total = count = 0.0
        for i in range(0, len(val_rows), s.batch):
            r, w = _full(val_rows[i:i + s.batch], val_w[i:i + s.batch], s.batch)
            total += float(evaluate(lora, base, jnp.asarray(r), jnp.asarray(w)))
            count += float(w[:, 1:].sum())
        return total / max(count, 1.0)

    lora = {k: jnp.asarray(v) for k, v in init_lora(cfg, s.rank, s.targets, s.seed).items()}
    opt_state = opt.init(lora)
    treedef = jax.tree_util.tree_structure(opt_state)
    steps_per_epoch = -(-len(train_rows) // s.batch)
    ckpt = work / "checkpoint.npz"
    key = s.key() + hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    state: dict[str, Any] = {"key": key, "epoch": 0, "step": 0, "history": [], "steps": [],
                             "best_val": None, "best_epoch": 0, "rises": 0, "base_val": None}
    resumed = False
    saved, discarded = _checkpoint_for(ckpt, key)
    if saved is not None:
        arrays, state = saved
        lora = {k[5:]: jnp.asarray(v) for k, v in arrays.items() if k.startswith("lora:")}
        leaves = [jnp.asarray(arrays[f"opt:{i}"]) for i in range(len(jax.tree_util.tree_leaves(opt_state)))]
        opt_state = jax.tree_util.tree_unflatten(treedef, leaves)
        resumed = True

    def checkpoint() -> None:
        arrays = {f"lora:{k}": np.asarray(v) for k, v in lora.items()}
        arrays.update({f"opt:{i}": np.asarray(v) for i, v in enumerate(jax.tree_util.tree_leaves(opt_state))})
        _save(ckpt, arrays, state)

    def tell(kind: str, **values: Any) -> None:
        done = state["epoch"] * steps_per_epoch + state["step"]
        ctx.progress(done, s.epochs * steps_per_epoch, json.dumps({"kind": kind, **values}))

    if state["base_val"] is None:
        state["base_val"] = val_loss({k: v * 0 if k.endswith(".b") else v for k, v in lora.items()})
    tell("start", resumed=resumed, discarded=bool(discarded), changed=discarded, epoch=state["epoch"],
         step=state["step"], steps_per_epoch=steps_per_epoch, train_tokens=int(train_w.sum()),
         val_tokens=int(val_w.sum()), base_val=state["base_val"])
    started = time.perf_counter()
    tokens_done = 0
    while state["epoch"] < s.epochs:
        epoch = state["epoch"]
        order = np.random.default_rng(s.seed + epoch).permutation(len(train_rows))
        losses = state.setdefault("epoch_losses", [])
        while state["step"] < steps_per_epoch:
            ctx.wait_if_paused()
            if ctx.should_stop():
                checkpoint()
                raise Interrupted()
            idx = order[state["step"] * s.batch:(state["step"] + 1) * s.batch]
            r, w = _full(train_rows[idx], train_w[idx], s.batch)
            lora, opt_state, loss = step(lora, opt_state, base, jnp.asarray(r), jnp.asarray(w))
            loss = float(loss)
            tokens_done += int(w[:, 1:].sum())
            losses.append(loss)
            state["steps"].append([epoch * steps_per_epoch + state["step"] + 1, loss])
            state["step"] += 1
            elapsed = time.perf_counter() - started
            tell("step", epoch=epoch + 1, loss=loss, tokens_per_second=tokens_done / max(elapsed, 1e-9))
            if state["step"] % s.checkpoint_every == 0:
                checkpoint()
        train_loss = float(np.mean(losses)) if losses else float("nan")
        val = val_loss(lora)
        state["history"].append({"epoch": epoch + 1, "train_loss": train_loss, "val_loss": val})
        best = state["best_val"] is None or val < state["best_val"]
        if best:
            state["best_val"], state["best_epoch"], state["rises"] = val, epoch + 1, 0
            _save(work / "best.npz", {k: np.asarray(v) for k, v in lora.items()})
        else:
            state["rises"] += 1
        state["epoch"] += 1
        state["step"] = 0
        state["epoch_losses"] = []
        checkpoint()
        tell("epoch", epoch=epoch + 1, train_loss=train_loss, val_loss=val, best=best)
        if state["rises"] > s.patience - 1 and not best:
            state["stopped_early"] = True
            break
    with np.load(work / "best.npz") as z:
        best_lora = {k: z[k] for k in z.files}
    record = {"base": base_path, "settings": asdict(s), "history": state["history"],
              "best_epoch": state["best_epoch"], "base_val_loss": state["base_val"],
              "train_tokens": int(train_w.sum()), "val_tokens": int(val_w.sum()),
              "stopped_early": bool(state.get("stopped_early")),
              "documents": [src["label"] for src in sources] + list(args.get("names", []))}
    write_lora(out, cfg, best_lora, s.alpha, base_path, record)
    record["adapter"] = str(out)
    record["val_text"] = split.val_text
    return record
