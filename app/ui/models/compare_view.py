"""Compare: which model knows your text best (perplexity), one child-process job per model.

Each model is measured by ``app/engine/evaluate.py``'s ``perplexity_job`` in a process
of its own, one after the other: the bar moves as each model is done, Cancel stops
the one running and skips the rest, and a model whose process crashes fails only its
own row (with the crash report as its reason).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.events import PerplexityRow
from app.core.jobs import JobEnded, JobEvent
from app.core.ports import JobHandlePort, JobRunnerPort
from app.core.storage import Storage
from app.ui.jobs import run_job
from app.ui.model_list_model import ComparableModels

PERPLEXITY_JOB = "app.engine.evaluate:perplexity_job"  # a job target is a name: the UI imports no engine code


class CompareView(QWidget):
    """The Compare tab: a text, the models to try, a bar, and the perplexity table."""

    comparison_finished = Signal(list)
    """The comparison ended (done or cancelled): the PerplexityRows shown, best first."""
    status_message = Signal(str)
    """A short line for the status bar."""

    def __init__(self, storage: Storage, models: ComparableModels, jobs: JobRunnerPort,
                 n_ctx: Callable[[], int], library_name: Callable[[str], str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.storage = storage
        self.models = models
        self.jobs = jobs
        self.n_ctx = n_ctx
        self.library_name = library_name
        self.job: JobHandlePort | None = None  # the model being measured
        self._queue: list[str] = []
        self._rows: list[PerplexityRow] = []
        self._text = ""
        self._build()
        self._connect_signals()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        intro = QLabel("Which model knows your subject best? Perplexity is how surprised a model is by your text, on "
                       "average (lower is better) — the validation loss of the GPT papers, on your own writing.")
        intro.setWordWrap(True)
        self.source = QComboBox()
        self.source.setObjectName("compareSource")
        self.text = QPlainTextEdit()
        self.text.setObjectName("compareText")
        self.text.setPlaceholderText("…or paste text here")
        self.text.setMaximumHeight(120)
        self.model_view = QListView()
        self.model_view.setObjectName("compareModels")
        self.model_view.setModel(self.models)
        self.model_view.setMaximumHeight(120)  # the bar and the table stay in view; a long list scrolls
        self.button = QPushButton("Compare")
        self.button.setObjectName("compareButton")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("compareCancelButton")
        self.cancel_button.hide()
        self.progress = QProgressBar()
        self.progress.setObjectName("compareProgress")
        self.progress.setFormat("%v of %m models")
        self.progress.hide()
        self.table = QTableWidget(0, 4)
        self.table.setObjectName("compareTable")
        self.table.setHorizontalHeaderLabels(["Model", "Perplexity", "Bits per token", "Tokens"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)  # results, not a form
        buttons = QHBoxLayout()
        buttons.addWidget(self.button)
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.cancel_button)
        layout.addWidget(intro)
        layout.addWidget(QLabel("Text: a document from Write"))
        layout.addWidget(self.source)
        layout.addWidget(self.text)
        layout.addWidget(QLabel("Models:"))
        layout.addWidget(self.model_view)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)

    def _connect_signals(self) -> None:
        self.button.clicked.connect(self.compare)
        self.cancel_button.clicked.connect(self.cancel)

    def refresh_sources(self) -> None:
        """The documents by their titles (as Write lists them), keeping the one chosen."""
        chosen = self.source.currentData()
        self.source.clear()
        self.source.addItem("(the text below)", None)
        for doc in self.storage.documents():
            self.source.addItem(doc.title, doc.id)
        self.source.setCurrentIndex(max(self.source.findData(chosen), 0))

    @property
    def running(self) -> bool:
        return self.job is not None

    def compare(self) -> None:
        """Measure each checked model in turn, each in a job of its own."""
        if self.running:
            return
        doc_id = self.source.currentData()
        doc = self.storage.document(doc_id) if doc_id is not None else None
        text = doc.content if doc is not None else self.text.toPlainText()
        paths = self.models.checked_paths()
        if not text.strip() or not paths:
            self.status_message.emit("Choose a text and at least one model to compare")
            return
        self._text, self._queue, self._rows = text, list(paths), []
        self.button.setEnabled(False)
        self.cancel_button.show()
        self.progress.setRange(0, len(paths))
        self.progress.setValue(0)
        self.progress.show()
        self.table.setRowCount(0)
        self._start_next()

    def cancel(self) -> None:
        """Stop the model being measured and skip the rest; the rows measured so far stay."""
        if self.job is None:
            return
        self._queue.clear()
        self.job.cancel()

    def _start_next(self) -> None:
        if not self._queue:
            self._finish()
            return
        path = self._queue.pop(0)
        name = self.library_name(path) or path
        self.status_message.emit(f"Comparing: measuring {name}…")
        self.job = run_job(self.jobs, PERPLEXITY_JOB, {"path": path, "text": self._text, "n_ctx": self.n_ctx()},
                           lambda event, p=path: self._on_job_event(p, event), name=f"Measuring {name}",
                           context=self)

    def _on_job_event(self, path: str, event: JobEvent) -> None:
        if not isinstance(event, JobEnded):
            return  # the bar counts models; a model's own steps are short
        self.job = None
        if event.cancelled:
            self._finish(cancelled=True)
            return
        if event.error is not None:  # its process crashed or failed: this row only
            row = PerplexityRow(path, self.library_name(path) or path, math.nan, math.nan, 0, str(event.error))
        else:
            row = event.result
        self._rows.append(row)
        self.progress.setValue(len(self._rows))
        self._show_rows()
        self._start_next()

    def _finish(self, cancelled: bool = False) -> None:
        self.button.setEnabled(True)
        self.cancel_button.hide()
        self.progress.hide()
        if cancelled:
            self.status_message.emit(f"Comparison cancelled after {len(self._rows)} of {self.progress.maximum()} "
                                     "models")
        else:
            self.status_message.emit(f"Compared {len(self._rows)} models")
        rows = sorted(self._rows, key=lambda r: (math.isnan(r.perplexity), r.perplexity))
        self._show_rows()
        self.comparison_finished.emit(rows)

    def _show_rows(self) -> None:
        rows = sorted(self._rows, key=lambda r: (math.isnan(r.perplexity), r.perplexity))
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            ok = not math.isnan(row.perplexity)
            name = self.library_name(row.path) or row.name  # the name the Library shows, not the GGUF's own
            values = [name + ("" if ok else f" — {row.error}"), f"{row.perplexity:.2f}" if ok else "—",
                      f"{row.bits_per_token:.2f}" if ok else "—", str(row.tokens)]
            for c, v in enumerate(values):
                item = QTableWidgetItem(v)
                item.setToolTip(row.error or row.path)
                self.table.setItem(r, c, item)
