"""The Models pane's "Sources use" row: which embedding model turns passages and questions into vectors.

A combo of: none chosen, then what ``app.core.sources.embedding_choice.candidates`` offers (the
embedding GGUFs in the library, each connected server's models through its ``/v1/embeddings``,
the chat models as a weaker stand-in). Picking one saves it through the model manager at once;
indexing reads it (``app/engine/source_jobs.index``). The Hub tab's "Use for sources" saves a
downloaded embedding model the same way, and this row shows it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from app.core.connections import Connection
from app.core.ports import ModelEntry, ModelManagerPort
from app.core.sources.embedding_choice import EmbeddingChoice, candidates


class EmbeddingPicker(QWidget):
    """One row: "Sources use: [model ▾]"."""

    choice_changed = Signal()
    """The person chose another embedding model (already saved)."""
    status_message = Signal(str)
    """A short line for the status bar."""

    def __init__(self, manager: ModelManagerPort, entries: Callable[[], list[ModelEntry]],
                 connection: Callable[[str], Connection | None] = lambda _id: None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("embeddingPicker")
        self.manager = manager
        self.entries = entries
        self.connection = connection
        self.choices: list[EmbeddingChoice | None] = []  # what each combo row stands for
        self.combo = QComboBox()
        self.combo.setObjectName("embeddingModelCombo")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(24)
        self.combo.setToolTip("The model that lets sources search by meaning. An embedding model (nomic-embed, "
                              "all-MiniLM, bge…) works best: find one under Get models → Embedding models. "
                              "Each collection is embedded with it on its next Update.")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Sources use:"))
        layout.addWidget(self.combo, 1)
        self.combo.activated.connect(self._on_combo_activated)
        self.refill()

    def refill(self) -> None:
        """List the candidates again (the library was scanned, a server listed its models), showing the choice."""
        saved = self.manager.embedding_choice()
        self.combo.clear()
        self.choices = [None]
        self.combo.addItem("None chosen (a new collection: keyword search only)")
        for label, choice in candidates(self.entries(), self.connection):
            self.choices.append(choice)
            self.combo.addItem(label)
        if saved is not None and all(c is None or c.spec() != saved.spec() for c in self.choices):
            self.choices.append(saved)  # chosen but not listed now (a file moved, a server removed)
            self.combo.addItem(saved.words())
        self.combo.setCurrentIndex(next((i for i, c in enumerate(self.choices)
                                         if c is not None and saved is not None and c.spec() == saved.spec()), 0))

    def choose_index(self, index: int) -> None:
        """Pick row ``index`` as a person does: saved at once."""
        self.combo.setCurrentIndex(index)
        self._on_combo_activated(index)

    def _on_combo_activated(self, index: int) -> None:
        choice = self.choices[index]
        self.manager.set_embedding_choice(choice)
        self.status_message.emit(f"Sources now use {choice.words()} for meaning search; each collection is "
                                 "embedded with it on its next Update" if choice is not None
                                 else "No embedding model chosen: a new collection is searched by keywords only")
        self.choice_changed.emit()
