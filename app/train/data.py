"""The training text: documents into passages, whole passages held out for validation, token windows.

Validation is held out by whole passages (never random tokens of a passage the model trains
on), so the validation loss says how the adapter does on text it has not seen.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core.errors import TrainingError

MIN_VAL_TOKENS = 64  # fewer held-out tokens than this make the validation loss noise
MIN_TRAIN_TOKENS = 128


def read_documents(paths: list[str | Path]) -> list[str]:
    """The text of each file; ``TrainingError`` naming a file that can't be read."""
    texts = []
    for p in paths:
        try:
            texts.append(Path(p).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TrainingError(f"{p}: no such file.") from None
        except UnicodeDecodeError:
            raise TrainingError(f"{p}: not UTF-8 text (training reads plain text files).") from None
        except OSError as exc:
            raise TrainingError(f"{p}: can't be read ({exc.strerror or exc}).") from None
    return texts


def passages(texts: list[str], min_chars: int = 200) -> list[str]:
    """Paragraphs (split at blank lines), neighbours joined until each has ``min_chars``."""
    out: list[str] = []
    for text in texts:
        current = ""
        for para in re.split(r"\n\s*\n", text):
            para = para.strip()
            if not para:
                continue
            current = f"{current}\n\n{para}" if current else para
            if len(current) >= min_chars:
                out.append(current)
                current = ""
        if current:
            out.append(current)
    return out


@dataclass(frozen=True)
class Split:
    train: list[list[int]]  # tokens of each training passage
    val: list[list[int]]
    val_text: str  # the held-out passages as one text (what the engine's perplexity reads)


def split_passages(texts: list[str], tokenize, val_fraction: float = 0.15, seed: int = 0) -> Split:
    """Tokenize the passages and hold out whole ones (about ``val_fraction`` of the tokens)."""
    ps = passages(texts)
    if not ps:
        raise TrainingError("There is no text to train on: the documents are empty.")
    if len(ps) < 2:
        raise TrainingError("Too little text for a validation set: training needs at least two passages "
                            "(paragraphs separated by a blank line), one of them held out.")
    toks = [tokenize(p) for p in ps]
    order = list(range(len(ps)))
    random.Random(seed).shuffle(order)
    total = sum(len(t) for t in toks)
    val_idx: list[int] = []
    held = 0
    for i in order:
        if held >= max(MIN_VAL_TOKENS, val_fraction * total) or len(val_idx) >= len(ps) - 1:
            break
        val_idx.append(i)
        held += len(toks[i])
    train_idx = [i for i in range(len(ps)) if i not in set(val_idx)]
    train_tokens = sum(len(toks[i]) for i in train_idx)
    if held < MIN_VAL_TOKENS or train_tokens < MIN_TRAIN_TOKENS:
        raise TrainingError(f"Too little text for a validation set: {total} tokens in all; training needs at "
                            f"least {MIN_TRAIN_TOKENS} to train on and {MIN_VAL_TOKENS} held out. Add more text.")
    val_idx.sort()
    return Split([toks[i] for i in train_idx], [toks[i] for i in val_idx],
                 "\n\n".join(ps[i] for i in val_idx))


def windows(passage_tokens: list[list[int]], bos: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``length`` tokens (BOS before each passage, as the engine scores a text) and their weights."""
    stream: list[int] = []
    for t in passage_tokens:
        stream.extend(([bos] if bos >= 0 else []) + t)
    n = max(1, -(-len(stream) // length))
    rows = np.zeros((n, length), np.int32)
    weights = np.zeros((n, length), np.float32)
    for r in range(n):
        part = stream[r * length:(r + 1) * length]
        rows[r, :len(part)] = part
        weights[r, :len(part)] = 1.0
    return rows, weights
