"""The Train tab: teach the model your writing (a LoRA adapter), watch its losses, compare before and after.

The pane only shows and forwards: the run is a child-process job on the app's one job runner
(``JobRunnerPort``; ``TrainerPort.job`` names its target and args), whose progress (JSON
messages in ``JobProgress``) and end reach the GUI thread through ``run_job``; the
before/after comparison runs in a short-lived engine of its own. The texts are chosen in
``DocumentsBox``: files, Write's documents, source collections.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import Interrupted, JobCrashed
from app.core.jobs import JobEnded, JobEvent, JobPaused, JobProgress
from app.core.paths import file_stem
from app.core.ports import JobHandlePort, JobRunnerPort, TrainerPort
from app.ui.jobs import run_in_background, run_job
from app.ui.train.documents_box import DocumentsBox
from app.ui.train.loss_chart import LossChart

HELP = {
    "epochs": "How many times it reads all your text. More teaches more, until the validation loss rises "
              "(then it stops by itself and keeps the best epoch).",
    "rate": "How big each learning step is. Too high and the loss jumps about; too low and it learns slowly.",
    "rank": "How much the adapter can hold. 8 suits a style and vocabulary; more remembers more and trains slower.",
}

NARROW = 720  # pixels: below this the documents and the settings stack


def _explained(widget: QWidget, text: str) -> QWidget:
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(1)
    lay.addWidget(widget)
    label = QLabel(text)
    label.setWordWrap(True)
    label.setObjectName("settingHelp")
    label.setStyleSheet("color: palette(mid); font-size: 11px;")
    lay.addWidget(label)
    return box


class TrainPane(QWidget):
    status_message = Signal(str)
    session_changed = Signal()
    preview_changed = Signal()
    finished = Signal(object)  # the before/after comparison is on screen (tests wait for it)

    def __init__(self, trainer: TrainerPort, jobs: JobRunnerPort, base_model: Callable[[], str]) -> None:
        super().__init__()
        self.setObjectName("trainPane")
        self.trainer = trainer
        self.jobs = jobs
        self.base_model = base_model
        self.job: JobHandlePort | None = None
        self.paused = False
        self._started = 0.0
        self._first_done = 0
        self.record: dict[str, Any] | None = None

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        root = QVBoxLayout(body)

        self.missing = QLabel(trainer.missing())
        self.missing.setWordWrap(True)
        self.missing.setVisible(bool(trainer.missing()))
        root.addWidget(self.missing)

        self.setup = QWidget()  # documents and settings: hidden while a run goes on, so the chart has the room
        top = self._setup_layout = QBoxLayout(QBoxLayout.Direction.LeftToRight, self.setup)
        top.setContentsMargins(0, 0, 0, 0)
        self.documents = DocumentsBox(trainer.write_documents, trainer.collections)
        top.addWidget(self.documents, 1)

        settings = QGroupBox("Settings")
        form = QFormLayout(settings)
        self.name = QLineEdit("my-writing")
        form.addRow("Adapter name", self.name)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 50)
        self.epochs.setValue(3)
        form.addRow("Epochs", _explained(self.epochs, HELP["epochs"]))
        self.rate = QDoubleSpinBox()
        self.rate.setDecimals(4)
        self.rate.setRange(0.0001, 0.01)
        self.rate.setSingleStep(0.0005)
        self.rate.setValue(0.001)
        form.addRow("Learning rate", _explained(self.rate, HELP["rate"]))
        self.rank = QSpinBox()
        self.rank.setRange(1, 64)
        self.rank.setValue(8)
        form.addRow("Adapter rank", _explained(self.rank, HELP["rank"]))
        top.addWidget(settings, 1)
        root.addWidget(self.setup)

        controls = QHBoxLayout()
        self.train_button = QPushButton("Train")
        self.train_button.clicked.connect(self.start)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.setup_button = QPushButton("Settings")
        self.setup_button.setCheckable(True)
        self.setup_button.setChecked(True)
        self.setup_button.toggled.connect(lambda on: self.setup.setVisible(on))
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(60)
        self.state = QLabel("")
        for w in (self.setup_button, self.train_button, self.pause_button, self.cancel_button):
            controls.addWidget(w)
        controls.addWidget(self.progress, 1)
        root.addLayout(controls)
        root.addWidget(self.state)
        self.chart = LossChart()
        root.addWidget(self.chart, 2)

        self.result = QGroupBox("Before and after")
        rl = QVBoxLayout(self.result)
        self.perplexity = QLabel("")
        self.perplexity.setWordWrap(True)
        rl.addWidget(self.perplexity)
        sides = QHBoxLayout()
        self.before = QPlainTextEdit()
        self.after = QPlainTextEdit()
        for title, view in (("Base model", self.before), ("With the adapter", self.after)):
            view.setReadOnly(True)
            view.setMinimumWidth(120)
            col = QVBoxLayout()
            col.addWidget(QLabel(title))
            col.addWidget(view)
            sides.addLayout(col)
        rl.addLayout(sides)
        self.result.setVisible(False)
        root.addWidget(self.result, 2)
        self._set_running(False)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        """Documents above settings in a narrow pane (800x500 with the sampling panel open), side by side otherwise."""
        narrow = event.size().width() < NARROW
        self._setup_layout.setDirection(QBoxLayout.Direction.TopToBottom if narrow else QBoxLayout.Direction.LeftToRight)
        super().resizeEvent(event)

    # -- the Pane protocol: nothing to sample, preview, save or stop mid-reply -------------------

    def sampling_owner(self) -> None:
        return None

    def preview_request(self) -> None:
        return None

    def flush(self) -> None:
        pass

    def stop(self) -> None:
        pass

    # -- actions ----------------------------------------------------------------------------------

    def add_files(self, names: list[str]) -> None:
        self.documents.add_files(names)

    def out_path(self) -> Path:
        return self.trainer.adapters_folder() / f"{file_stem(self.name.text(), 'adapter')}.gguf"

    def start(self) -> None:
        if self.trainer.missing():
            self.state.setText(self.trainer.missing())
            return
        sources = self.documents.sources()
        if not sources:
            self.state.setText("Choose something to learn from: text files, documents from Write or a collection.")
            return
        self.chart.clear()
        self.chart.set_plan(1, self.epochs.value(), None)
        self.result.setVisible(False)
        self.record = None
        self._started = time.monotonic()
        self._first_done = -1
        settings = {"epochs": self.epochs.value(), "learning_rate": self.rate.value(), "rank": self.rank.value(),
                    "alpha": 2.0 * self.rank.value()}
        self.state.setText("Starting: reading the model and your text…")
        target, args = self.trainer.job(self.base_model(), str(self.out_path()), sources, settings)
        self.job = run_job(self.jobs, target, args, self._on_job_event, name="Training", context=self)
        self._set_running(True)

    def toggle_pause(self) -> None:
        if self.job is None:
            return
        self.paused = not self.paused
        (self.job.pause if self.paused else self.job.resume)()
        self.pause_button.setText("Resume" if self.paused else "Pause")
        self.state.setText("Paused after this step. Resume goes on from here." if self.paused else "Training…")

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.state.setText("Stopping… (its checkpoint is kept: Train with the same name resumes)")

    def _set_running(self, running: bool) -> None:
        self.train_button.setEnabled(not running and not self.trainer.missing())
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        if running:
            self.setup_button.setChecked(False)  # the chart gets the room; the button shows them again
        self.setup_button.setEnabled(not running)
        if not running:
            self.paused = False
            self.pause_button.setText("Pause")

    # -- the job's events -------------------------------------------------------------------------

    def _on_job_event(self, event: JobEvent) -> None:
        if isinstance(event, JobProgress):
            self._on_progress(event.done, event.total, event.message)
        elif isinstance(event, JobPaused) and event.paused:
            self.state.setText("Paused. Resume goes on from here; Cancel keeps the checkpoint.")
        elif isinstance(event, JobEnded):
            if event.error is not None:
                self._on_failed(event.error)
            else:
                self._on_trained(event.result)

    def _on_progress(self, done: int, total: int, message: str) -> None:
        event = json.loads(message)
        kind = event["kind"]
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        if kind == "start":
            self.chart.set_plan(event["steps_per_epoch"], self.epochs.value(), event["base_val"])
            self._first_done = done
            self._started = time.monotonic()
            where = (f"Resumed from the checkpoint (epoch {event['epoch'] + 1}, step {event['step']}). "
                     if event["resumed"] else "")
            if event.get("discarded"):
                where = (f"The {event.get('changed') or 'text'} changed since the checkpoint, so training starts "
                         "over (the old checkpoint is kept as checkpoint.old.npz). ")
            self.state.setText(f"{where}Training on {event['train_tokens']} tokens; {event['val_tokens']} held out.")
        elif kind == "step":
            self.chart.add_step(done, event["loss"])
            left = ""
            if done > self._first_done + 1:
                per = (time.monotonic() - self._started) / (done - self._first_done)
                left = f" · about {max(1, round(per * (total - done) / 60))} min left"
            self.state.setText(f"Epoch {event['epoch']} of {self.epochs.value()} · step {done} of {total} · "
                               f"loss {event['loss']:.3f} · {event['tokens_per_second']:.0f} tokens/s{left}")
        elif kind == "epoch":
            self.chart.add_epoch(event["epoch"], event["train_loss"], event["val_loss"], event["best"])
            self.status_message.emit(f"Epoch {event['epoch']}, train loss: {event['train_loss']:.4f}, "
                                     f"val loss: {event['val_loss']:.4f}")

    def _on_failed(self, exc: BaseException) -> None:
        self.job = None
        self._set_running(False)
        self.setup_button.setChecked(True)
        if isinstance(exc, Interrupted):
            self.state.setText("Cancelled; Train with the same name resumes from its checkpoint.")
        elif isinstance(exc, JobCrashed):  # killed, out of memory: the checkpoint on disk is still good
            self.state.setText(f"{exc} Train again with the same name: it resumes from its last checkpoint.")
        else:
            self.state.setText(str(exc))

    def _on_trained(self, record: dict[str, Any]) -> None:
        self.job = None
        self.record = record
        self._set_running(False)
        early = " (stopped early: the validation loss rose)" if record.get("stopped_early") else ""
        self.state.setText(f"Saved {Path(record['adapter']).name}: best epoch {record['best_epoch']}{early}. "
                           "Measuring it with the engine…")
        opening = " ".join(record["val_text"].split()[:12])
        base, adapter, text = record["base"], record["adapter"], record["val_text"]
        run_in_background(lambda: self.trainer.before_after(base, adapter, text, opening),
                          lambda r: self._show_before_after(r, opening), self._on_failed, context=self)

    def _show_before_after(self, r: dict[str, Any], opening: str) -> None:
        self.perplexity.setText(
            f"Perplexity of your held-out text, as the engine measures it: {r['perplexity_before']:.2f} without "
            f"the adapter, {r['perplexity_after']:.2f} with it (lower: the text looks more like what it expects). "
            f"Below, the same opening continued at temperature 0.")
        self.before.setPlainText(opening + r["continuation_before"])
        self.after.setPlainText(opening + r["continuation_after"])
        self.result.setVisible(True)
        self.state.setText(self.state.text().replace("Measuring it with the engine…", "Measured."))
        self.finished.emit(r)
