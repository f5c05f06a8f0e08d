"""The Train tab with the real training job and the real engine: live losses, before/after, cancel."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.train.service import TrainingService
from app.ui.train.train_pane import TrainPane
from tests.train.conftest import needs_extra
from tests.train.corpus import journal

pytestmark = [needs_extra, pytest.mark.model]


def _pane(qtbot, tmp_path: Path, starter_path: Path, passages: int) -> TrainPane:  # type: ignore[no-untyped-def]
    text = tmp_path / "journal.txt"
    text.write_text(journal(passages), encoding="utf-8")
    pane = TrainPane(TrainingService(tmp_path / "adapters", tmp_path / "engine.log"), lambda: str(starter_path))
    qtbot.addWidget(pane)
    pane.resize(800, 500)
    pane.show()
    pane.add_files([str(text)])
    return pane


def test_training_in_the_pane_charts_the_losses_and_shows_before_and_after(
        qtbot, tmp_path: Path, starter_path: Path) -> None:  # type: ignore[no-untyped-def]
    pane = _pane(qtbot, tmp_path, starter_path, 30)
    pane.epochs.setValue(2)
    pane.rate.setValue(0.002)
    with qtbot.waitSignal(pane.finished, timeout=280_000) as done:
        pane.train_button.click()
        qtbot.waitUntil(lambda: len(pane.chart.steps) >= 1, timeout=120_000)
        assert not pane.train_button.isEnabled() and pane.cancel_button.isEnabled()
        assert "tokens/s" in pane.state.text()
    measured = done.args[0]
    assert [e[0] for e in pane.chart.epochs] == [1, 2]
    assert pane.chart.epochs[1][2] < pane.chart.epochs[0][2] < pane.chart.base_val  # validation loss falls
    assert pane.chart.best_epoch == 2 and len(pane.chart.steps) == 2 * pane.chart.steps_per_epoch
    assert measured["perplexity_after"] < measured["perplexity_before"]
    assert pane.result.isVisible()
    shown = [float(x) for x in re.findall(r"(\d+\.\d+) with it", pane.perplexity.text())]
    assert shown == [round(measured["perplexity_after"], 2)]
    opening = " ".join(pane.record["val_text"].split()[:12])
    assert pane.before.toPlainText().startswith(opening) and pane.after.toPlainText().startswith(opening)
    assert Path(pane.record["adapter"]).parent == tmp_path / "adapters"
    assert pane.train_button.isEnabled() and not pane.cancel_button.isEnabled()


def test_cancel_keeps_the_checkpoint_and_says_how_to_resume(qtbot, tmp_path: Path, starter_path: Path) -> None:  # type: ignore[no-untyped-def]
    pane = _pane(qtbot, tmp_path, starter_path, 20)
    pane.train_button.click()
    qtbot.waitUntil(lambda: len(pane.chart.steps) >= 1, timeout=120_000)
    pane.pause_button.click()
    assert pane.pause_button.text() == "Resume"
    pane.cancel_button.click()
    qtbot.waitUntil(lambda: pane.train_button.isEnabled(), timeout=60_000)
    assert "resumes from its checkpoint" in pane.state.text()
    assert (Path(str(pane.out_path()) + ".work") / "checkpoint.npz").is_file()
    assert not pane.out_path().exists()
