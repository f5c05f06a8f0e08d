"""The Train tab: teach the model your writing (a LoRA adapter), watch its losses, compare before and after.

The pane only shows and forwards: the run is a job in its own process (``TrainerPort.start``),
whose progress arrives as JSON messages on a reader thread and is re-emitted onto the GUI
thread; the before/after comparison runs in a short-lived engine of its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import InklingError, Interrupted, TrainingError
from app.core.paths import file_stem
from app.core.ports import TrainerPort, TrainingJobPort
from app.ui.jobs import run_in_background
from app.ui.train.loss_chart import LossChart

HELP = {
    "epochs": "How many times it reads all your text. More teaches more, until the validation loss rises "
              "(then it stops by itself and keeps the best epoch).",
    "rate": "How big each learning step is. Too high and the loss jumps about; too low and it learns slowly.",
    "rank": "How much the adapter can hold. 8 suits a style and vocabulary; more remembers more and trains slower.",
}


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
    progressed = Signal(int, int, str)  # from the job's reader thread, queued onto the GUI thread
    finished = Signal(object)  # the before/after comparison is on screen (tests wait for it)

    def __init__(self, trainer: TrainerPort, base_model: Callable[[], str]) -> None:
        super().__init__()
        self.setObjectName("trainPane")
        self.trainer = trainer
        self.base_model = base_model
        self.job: TrainingJobPort | None = None
        self.paused = False
        self._started = 0.0
        self._first_done = 0
        self.record: dict[str, Any] | None = None
        self.progressed.connect(self._on_progress)

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
        top = QHBoxLayout(self.setup)
        top.setContentsMargins(0, 0, 0, 0)
        docs = QGroupBox("Your documents")
        dl = QVBoxLayout(docs)
        self.files = QListWidget()
        self.files.setMinimumHeight(48)
        self.files.setMaximumHeight(110)
        dl.addWidget(self.files)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add text files…")
        self.add_button.clicked.connect(self._add_files)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(lambda: [self.files.takeItem(self.files.row(i))
                                                    for i in self.files.selectedItems()])
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        dl.addLayout(row)
        note = QLabel("Paragraphs are the passages; some whole passages are held out to measure it on text it "
                      "has not seen.")
        note.setWordWrap(True)
        dl.addWidget(note)
        top.addWidget(docs, 1)

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

    def _add_files(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "Text to learn from", "", "Text files (*.txt *.md);;All files (*)")
        self.add_files(names)

    def add_files(self, names: list[str]) -> None:
        for n in names:
            self.files.addItem(n)

    def out_path(self) -> Path:
        return self.trainer.adapters_folder() / f"{file_stem(self.name.text(), 'adapter')}.gguf"

    def start(self) -> None:
        from app.train.data import read_documents  # plain Python: no extra needed to read files

        if self.trainer.missing():
            self.state.setText(self.trainer.missing())
            return
        files = [self.files.item(i).text() for i in range(self.files.count())]
        try:
            if not files:
                raise TrainingError("Add at least one text file to learn from.")
            texts = read_documents(files)
        except InklingError as exc:
            self.state.setText(str(exc))
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
        self.job = self.trainer.start(self.base_model(), str(self.out_path()), files, texts, settings,
                                      self.progressed.emit)
        self._set_running(True)
        job = self.job

        def outcome() -> dict[str, Any] | None:  # a cancel is an outcome here, not a failure to hide
            try:
                return job.result()
            except Interrupted:
                return None

        run_in_background(outcome, self._on_trained, self._on_failed, context=self)

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
        self.state.setText("Cancelled; Train with the same name resumes from its checkpoint."
                           if isinstance(exc, Interrupted) or "stopped" in str(exc) else str(exc))

    def _on_trained(self, record: dict[str, Any] | None) -> None:
        if record is None:
            self._on_failed(Interrupted())
            return
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
