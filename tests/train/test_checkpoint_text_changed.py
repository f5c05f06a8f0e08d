"""A checkpoint made for another text is set aside, not silently overwritten, and the person is told.

The decision itself on real checkpoint files (``_save``/``_checkpoint_for``), then the real training job in
this process with the starter model, stopped before its first step (it checkpoints and stops), once on a
text and again on an edited text; and what the Train pane and ``inkling train`` say about it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.core.errors import Interrupted
from tests.train.conftest import FAST, needs_extra
from tests.train.corpus import journal

pytestmark = [needs_extra]


def _checkpoint(path: Path, key: str) -> None:
    from app.train.trainer import _save

    _save(path, {"lora:x.a": np.ones((2, 2), np.float32)}, {"key": key, "epoch": 1, "step": 3})


def test_a_checkpoint_for_another_text_or_settings_is_kept_aside_and_the_reason_given(tmp_path: Path) -> None:
    from app.train.trainer import TrainSettings, _checkpoint_for

    settings = TrainSettings().key()
    ckpt = tmp_path / "checkpoint.npz"
    assert _checkpoint_for(ckpt, settings + "t1") == (None, "")  # nothing there: a fresh start, nothing to say

    _checkpoint(ckpt, settings + "t1")
    saved, changed = _checkpoint_for(ckpt, settings + "t1")
    assert changed == "" and saved is not None and saved[1]["step"] == 3 and ckpt.is_file()  # the same: resume

    saved, changed = _checkpoint_for(ckpt, settings + "t2")  # the text was edited
    assert (saved, changed) == (None, "text")
    assert not ckpt.exists()
    with np.load(tmp_path / "checkpoint.old.npz") as z:  # the old progress is still there, intact
        assert json.loads(bytes(z["__state__"]).decode())["key"] == settings + "t1"

    _checkpoint(ckpt, settings + "t2")
    other = TrainSettings(epochs=5).key()
    assert _checkpoint_for(ckpt, other + "t2") == (None, "settings")


class _StopAtOnce:
    """The job context: collects the progress events and asks the job to stop before its first step."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def progress(self, done: int, total: int, message: str) -> None:
        self.events.append(json.loads(message))

    def should_stop(self) -> bool:
        return True

    def wait_if_paused(self) -> None: ...


@pytest.mark.model
def test_training_again_on_an_edited_text_starts_over_says_so_and_keeps_the_old_checkpoint(
        qtbot, tmp_path: Path, starter_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.train.trainer import train_job

    work = tmp_path / "a.gguf.work"
    settings = {**FAST, "seq_len": 32, "batch": 2}

    def run(text: str) -> dict[str, Any]:
        ctx = _StopAtOnce()
        with pytest.raises(Interrupted):
            train_job({"base": str(starter_path), "out": str(tmp_path / "a.gguf"), "work": str(work),
                       "settings": settings, "texts": [text]}, ctx)
        return ctx.events[0]

    first = run(journal(4))
    assert first["kind"] == "start" and not first["resumed"] and not first["discarded"]
    assert (work / "checkpoint.npz").is_file()
    again = run(journal(4))  # the same text: it resumes
    assert again["resumed"] and not again["discarded"]
    first_bytes = (work / "checkpoint.npz").read_bytes()

    edited = run(journal(4) + "\nOne more line written in Write today.")
    assert not edited["resumed"] and edited["discarded"] and edited["changed"] == "text"
    assert (work / "checkpoint.old.npz").read_bytes() == first_bytes

    from app.cli_train import describe_start

    said = describe_start(edited)
    print(said)
    assert said.startswith("The text changed since the checkpoint: training starts over")
    assert "checkpoint.old.npz" in said
    assert describe_start(again).startswith("Resuming from the checkpoint")

    # the Train pane, on the job's real start event
    from app.engine.jobs import JobRunner
    from app.train.service import CANCEL_GRACE, TrainingService
    from app.ui.train.train_pane import TrainPane

    service = TrainingService(tmp_path / "adapters", tmp_path / "engine.log", database=tmp_path / "inkling.db",
                              sources=tmp_path / "sources", continuation_tokens=16)
    pane = TrainPane(service, JobRunner(grace=CANCEL_GRACE), lambda: str(starter_path))
    qtbot.addWidget(pane)
    pane._on_progress(0, 10, json.dumps(edited))
    print(pane.state.text())
    assert pane.state.text().startswith("The text changed since the checkpoint, so training starts over")
    assert "Resumed" not in pane.state.text()
    pane._on_progress(3, 10, json.dumps(again))
    assert pane.state.text().startswith("Resumed from the checkpoint")
