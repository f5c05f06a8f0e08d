"""The Train tab with the real training job on the app's job runner and the real engine: texts chosen from
Write and a source collection, live losses, before/after, pause and cancel."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMenu

from app.engine.jobs import JobRunner
from app.engine.tokenizer import VocabTokenizer
from app.train.data import passages
from app.train.service import CANCEL_GRACE, TrainingService
from app.ui.train.train_pane import TrainPane
from tests.train.conftest import indexed_collection, needs_extra, write_document
from tests.train.corpus import journal

pytestmark = [needs_extra, pytest.mark.model]


def _pane(qtbot, tmp_path: Path, starter_path: Path) -> TrainPane:  # type: ignore[no-untyped-def]
    service = TrainingService(tmp_path / "adapters", tmp_path / "engine.log", database=tmp_path / "inkling.db",
                              sources=tmp_path / "sources", continuation_tokens=16)
    pane = TrainPane(service, JobRunner(grace=CANCEL_GRACE), lambda: str(starter_path))
    qtbot.addWidget(pane)
    pane.resize(800, 500)
    pane.show()
    return pane


def _choose(menu: QMenu, text: str) -> None:
    """Open a menu's choices as a click does (they are read when it opens) and pick one."""
    menu.aboutToShow.emit()
    action = next(a for a in menu.actions() if a.text() == text)
    assert action.isEnabled()
    action.trigger()


def test_training_on_a_write_document_and_a_collection_charts_the_losses_and_shows_before_and_after(
        qtbot, tmp_path: Path, starter_path: Path) -> None:  # type: ignore[no-untyped-def]
    story = journal(3, seed=1)
    write_document(tmp_path / "inkling.db", "Ship's journal", story)
    write_document(tmp_path / "inkling.db", "Shopping list", "eggs, flour")
    logbook = journal(4, seed=2)
    indexed_collection(tmp_path / "sources", "logbooks", {"logbook.md": logbook}, tmp_path / "logs")
    pane = _pane(qtbot, tmp_path, starter_path)

    _choose(pane.documents.write_menu, "Ship's journal")
    _choose(pane.documents.collection_menu, "logbooks")
    shown = [pane.documents.list.item(i).text() for i in range(pane.documents.list.count())]
    assert shown == ["Write: Ship's journal", "Collection: logbooks"]
    pane.documents.write_menu.aboutToShow.emit()  # a chosen one can't be chosen twice
    assert not next(a for a in pane.documents.write_menu.actions() if a.text() == "Ship's journal").isEnabled()

    pane.epochs.setValue(2)
    pane.rate.setValue(0.008)
    with qtbot.waitSignal(pane.finished, timeout=280_000) as done:
        pane.train_button.click()
        qtbot.waitUntil(lambda: len(pane.chart.steps) >= 1, timeout=120_000)
        assert not pane.train_button.isEnabled() and pane.cancel_button.isEnabled()
        assert "tokens/s" in pane.state.text()
    measured = done.args[0]
    record = pane.record

    # the trainer read exactly the Write document and the collection's indexed text: every passage, no other
    expected = passages([story, logbook])
    held = [p for p in expected if p in record["val_text"]]
    assert held and "\n\n".join(held) == record["val_text"]
    tok = VocabTokenizer(starter_path)
    try:
        tokens = sum(len(tok.tokenize(p)) + 1 for p in expected)  # + BOS before each passage
    finally:
        tok.close()
    assert record["train_tokens"] + record["val_tokens"] == tokens
    assert record["documents"] == ["Write: Ship's journal", "Collection: logbooks"]

    assert [e[0] for e in pane.chart.epochs] == [1, 2]
    assert pane.chart.epochs[1][2] < pane.chart.epochs[0][2] < pane.chart.base_val  # validation loss falls
    assert pane.chart.best_epoch == 2 and len(pane.chart.steps) == 2 * pane.chart.steps_per_epoch
    assert measured["perplexity_after"] < measured["perplexity_before"]
    assert pane.result.isVisible()
    said = [float(x) for x in re.findall(r"(\d+\.\d+) with it", pane.perplexity.text())]
    assert said == [round(measured["perplexity_after"], 2)]
    opening = " ".join(record["val_text"].split()[:12])
    assert pane.before.toPlainText().startswith(opening) and pane.after.toPlainText().startswith(opening)
    assert Path(record["adapter"]).parent == tmp_path / "adapters"
    assert pane.train_button.isEnabled() and not pane.cancel_button.isEnabled()


def test_pause_then_cancel_keeps_the_checkpoint_and_says_how_to_resume(
        qtbot, tmp_path: Path, starter_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = tmp_path / "journal.txt"
    text.write_text(journal(12), encoding="utf-8")
    pane = _pane(qtbot, tmp_path, starter_path)
    pane.add_files([str(text)])
    assert pane.documents.list.item(0).text() == str(text)
    pane.train_button.click()
    pane.pause_button.click()  # at once: the job takes the pause at its first safe point, before a step
    assert pane.pause_button.text() == "Resume"
    qtbot.waitUntil(lambda: pane.state.text().startswith("Paused."), timeout=120_000)
    assert pane.chart.steps == [] and pane.chart.base_val is not None  # it started, and went no further
    pane.cancel_button.click()
    qtbot.waitUntil(lambda: pane.train_button.isEnabled(), timeout=60_000)
    assert "resumes from its checkpoint" in pane.state.text()
    assert (Path(str(pane.out_path()) + ".work") / "checkpoint.npz").is_file()
    assert not pane.out_path().exists()


def test_nothing_chosen_or_an_empty_collection_says_what_to_do(
        qtbot, tmp_path: Path, starter_path: Path) -> None:  # type: ignore[no-untyped-def]
    indexed_collection(tmp_path / "sources", "empty", {}, tmp_path / "nothing")
    pane = _pane(qtbot, tmp_path, starter_path)
    pane.train_button.click()
    assert "Choose something to learn from" in pane.state.text()
    pane.documents.write_menu.aboutToShow.emit()
    assert [a.text() for a in pane.documents.write_menu.actions()] == ["No documents in Write yet"]
    _choose(pane.documents.collection_menu, "empty")
    pane.train_button.click()
    qtbot.waitUntil(lambda: pane.train_button.isEnabled(), timeout=60_000)
    assert "no indexed text yet" in pane.state.text()
