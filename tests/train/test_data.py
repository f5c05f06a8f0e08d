"""The training text: passages held out whole, and a clear message for each kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import TrainingError
from app.train.data import passages, read_documents, split_passages, windows
from tests.train.corpus import journal


def _words(text: str) -> list[int]:  # a stand-in tokenizer for the split's logic (the real one is llama.cpp's)
    return [hash(w) % 1000 for w in text.split()]


def test_validation_is_held_out_by_whole_passages() -> None:
    text = journal(20)
    split = split_passages([text], _words)
    held = split.val_text.split("\n\n")
    every = passages([text])
    assert held and all(p in every for p in held)  # whole passages, never a piece of one
    assert len(split.val) == len(held) and len(split.train) == len(every) - len(held)
    assert sorted(map(tuple, split.train + split.val)) == sorted(tuple(_words(p)) for p in every)


def test_bad_input_gets_a_message_a_person_can_act_on(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="no text to train on"):
        split_passages(["", "  \n\n "], _words)
    with pytest.raises(TrainingError, match="at least two passages"):
        split_passages(["One paragraph only, however long it may be."], _words)
    with pytest.raises(TrainingError, match="Too little text for a validation set"):
        split_passages(["A first short note.\n\nA second short note.\n\nA third."], _words)
    with pytest.raises(TrainingError, match="no such file"):
        read_documents([tmp_path / "missing.txt"])
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\xff\xd8\xff\xe0 not text")
    with pytest.raises(TrainingError, match="not UTF-8 text"):
        read_documents([binary])
    with pytest.raises(TrainingError, match="can't be read"):
        read_documents([tmp_path])  # a folder


def test_windows_put_bos_before_each_passage_and_weigh_only_real_tokens() -> None:
    rows, weights = windows([[5, 6, 7], [8, 9]], bos=1, length=4)
    assert rows.tolist() == [[1, 5, 6, 7], [1, 8, 9, 0]]
    assert weights.tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
