"""``inkling train`` / ``perplexity`` / ``--lora`` with bad input: one clear line on stderr, exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.train.conftest import indexed_collection, needs_extra, write_document
from tests.train.test_training import _inkling

pytestmark = [needs_extra, pytest.mark.model]


def _one_line(run, *needles: str) -> None:  # type: ignore[no-untyped-def]
    assert run.returncode == 1, run.stdout
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("inkling: "), run.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_train_refuses_bad_input_with_a_reason(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    little = tmp_path / "little.txt"
    little.write_text("A first short note.\n\nA second short note.\n")
    out = str(tmp_path / "a.gguf")
    _one_line(_inkling("train", "--out", out, str(empty), home=tmp_path), "no text to train on")
    _one_line(_inkling("train", "--out", out, str(tmp_path / "gone.txt"), home=tmp_path), "gone.txt", "no such file")
    _one_line(_inkling("train", "--out", out, str(little), home=tmp_path), "Too little text for a validation set")
    assert not Path(out).exists()


def test_train_on_a_collection_or_a_write_document_refuses_what_is_not_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.paths import app_paths

    out = str(tmp_path / "a.gguf")
    nothing = _inkling("train", "--out", out, home=tmp_path)
    assert nothing.returncode == 2 and "FILE..., --collection NAME or --document TITLE" in nothing.stderr
    _one_line(_inkling("train", "--out", out, "--collection", "poems", home=tmp_path),
              "no collection named 'poems'", "inkling sources add poems")
    _one_line(_inkling("train", "--out", out, "--document", "Chapter 9", home=tmp_path),
              "no Write document titled 'Chapter 9'")
    monkeypatch.setenv("INKLING_HOME", str(tmp_path))
    paths = app_paths().ensure()
    indexed_collection(paths.sources, "notes", {"n.txt": "A first short note.\n\nA second short note.\n"},
                       tmp_path / "notes")
    write_document(paths.database, "Chapter 9", "It rained.")
    _one_line(_inkling("train", "--out", out, "--collection", "notes", "--document", "Chapter 9", home=tmp_path),
              "Too little text for a validation set")
    assert not Path(out).exists()


def test_a_garbage_adapter_is_refused_by_perplexity_and_complete(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"this is not an adapter at all")
    _one_line(_inkling("perplexity", "--lora", str(garbage), "-", stdin="Some text to measure.", home=tmp_path),
              "garbage.gguf", "not a readable GGUF file")
    _one_line(_inkling("complete", "--lora", str(garbage), "Hello", home=tmp_path), "not a readable GGUF file")
    _one_line(_inkling("perplexity", str(tmp_path / "nothing.txt"), home=tmp_path), "nothing.txt", "can't be read")
    ok = _inkling("perplexity", "-", stdin="The capital of France is Paris.", home=tmp_path)
    assert ok.returncode == 0 and ok.stdout.startswith("perplexity: "), ok.stderr
