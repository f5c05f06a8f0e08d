"""The training text: passages held out whole, and a clear message for each kind of bad input."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from app.core.errors import TrainingError
from app.train.data import passages, read_documents, split_passages, windows
from tests.train.conftest import indexed_collection, write_document
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


def test_a_collections_indexed_passages_are_stitched_back_into_each_files_text(tmp_path: Path) -> None:
    from app.train.documents import collection_texts

    # long enough to be cut into overlapping passages (1,000 characters, 150 of overlap)
    notes = "A first line\nright below it.\n\n" + journal(10, seed=3) + "\nA last line."
    indexed_collection(tmp_path / "sources", "notes", {"a.md": notes, "b.txt": journal(2, seed=4)}, tmp_path / "docs")
    from app.core.sources.collections import Collections

    store = Collections(tmp_path / "sources").open("notes")
    chunks = store.counts()["chunks"]
    store.close()
    assert chunks > 5  # the text was cut, with overlaps
    assert collection_texts(tmp_path / "sources", "notes") == [notes.strip(), journal(2, seed=4).strip()]


def test_write_documents_and_collections_are_read_like_files(tmp_path: Path) -> None:
    from app.train.documents import TextSource, find_write_document, gather, write_documents

    db = tmp_path / "inkling.db"
    first = write_document(db, "Chapter one", "It was a dark night.\n\nThe lamp went out.")
    write_document(db, "Chapter two", "Morning came.")
    indexed_collection(tmp_path / "sources", "letters", {"l.txt": "Dear Ann,\n\nall is well."}, tmp_path / "l")
    assert [t for _, t in write_documents(db)] == ["Chapter two", "Chapter one"]
    chosen = [find_write_document(db, "Chapter one"), TextSource.collection(tmp_path / "sources", "letters")]
    assert chosen[0] == TextSource.write(db, first, "Chapter one")
    assert gather(chosen) == ["It was a dark night.\n\nThe lamp went out.", "Dear Ann,\n\nall is well."]


def test_a_missing_document_or_collection_gets_a_message_a_person_can_act_on(tmp_path: Path) -> None:
    from app.train.documents import TextSource, find_write_document, gather

    db = tmp_path / "inkling.db"
    doc = write_document(db, "Draft", "Some words.")
    with pytest.raises(TrainingError, match="no Write document titled 'Drafts' \\(documents: 'Draft'\\)"):
        find_write_document(db, "Drafts")
    with pytest.raises(TrainingError, match="is gone"):
        gather([TextSource.write(db, doc + 1, "Lost")])
    with pytest.raises(TrainingError, match="no collection named 'poems'"):
        gather([TextSource.collection(tmp_path / "sources", "poems")])
    indexed_collection(tmp_path / "sources", "empty", {}, tmp_path / "nothing")
    with pytest.raises(TrainingError, match="has no indexed text yet"):
        gather([TextSource.collection(tmp_path / "sources", "empty")])


@pytest.mark.skipif(importlib.util.find_spec("gguf") is None, reason="the training extra is not installed")
def test_the_fast_gguf_reader_gives_the_metadata_and_tensors_gguf_reader_gives(tmp_path: Path) -> None:
    import gguf
    import numpy as np

    from app.train.gguf_file import GGUFFile

    path = tmp_path / "tiny.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_string("general.name", "Tiny")
    w.add_uint32("llama.block_count", 2)
    w.add_float32("llama.rope.freq_base", 10000.0)
    w.add_token_list(["<s>", "hello", "wörld"] * 50)  # an array of strings: stepped over
    w.add_array("tokenizer.ggml.scores", [0.5] * 150)
    rng = np.random.default_rng(0)
    plain = rng.standard_normal((3, 64)).astype(np.float32)
    quant = rng.standard_normal((4, 64)).astype(np.float32)
    w.add_tensor("plain.weight", plain)
    w.add_tensor("quant.weight", gguf.quants.quantize(quant, gguf.GGMLQuantizationType.Q8_0),
                 raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    mine, theirs = GGUFFile(path), gguf.GGUFReader(str(path))
    assert mine.fields["general.name"] == "Tiny" and mine.fields["llama.block_count"] == 2
    assert "tokenizer.ggml.tokens" not in mine.fields
    for t in theirs.tensors:
        ref = gguf.quants.dequantize(t.data, t.tensor_type).reshape([int(d) for d in reversed(t.shape)])
        assert np.array_equal(mine.dequantized(t.name), ref), t.name
    assert np.array_equal(mine.dequantized("plain.weight"), plain)
    with pytest.raises(ValueError, match="not a GGUF file"):
        GGUFFile(Path(__file__))
