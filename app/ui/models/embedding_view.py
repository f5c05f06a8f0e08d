"""The Models pane's "Sources use" row: which embedding model turns passages and questions into vectors.

A combo of: none (keywords only), the embedding GGUFs in the library (recognised from their
headers), the chat models (a weaker fallback), and each connected server's models (its
``/v1/embeddings``). Picking one saves it through the model manager at once
(``EmbeddingChoice``); indexing reads it (``app/engine/source_jobs.index``). The Hub tab's
"Use for sources" saves a downloaded embedding model the same way, and this row shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from app.core.connections import Connection, parse_remote_ref
from app.core.ports import ModelEntry, ModelManagerPort
from app.core.sources.embedding_choice import EmbeddingChoice

NONE = "none"


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
        self._filling = False
        self.combo = QComboBox()
        self.combo.setObjectName("embeddingModelCombo")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(24)
        self.combo.setToolTip("The model that lets sources search by meaning. An embedding model (nomic-embed, "
                              "all-MiniLM, bge…) works best: find one under Get models → Embedding models. "
                              "Each collection is embedded with it on its next Update.")
        label = QLabel("Sources use:")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(label)
        layout.addWidget(self.combo, 1)
        self.combo.activated.connect(self._on_combo_activated)
        self.refill()

    def refill(self) -> None:
        """List the candidates again (the library was scanned, a server listed its models), showing the choice."""
        self._filling = True
        self.combo.clear()
        self.combo.addItem("No embedding model (keyword search only)", NONE)
        usable = [e for e in self.entries() if not e.error]
        for e in usable:
            if e.kind == "embedding":
                self.combo.addItem(f"{e.name} — embedding model", ("local", e.path, True, e.name))
        for e in usable:
            ref = parse_remote_ref(e.path)
            if ref is not None:
                self.combo.addItem(f"{e.name} — server /v1/embeddings", ("remote", e.path, False, e.name))
            elif e.kind == "chat":
                self.combo.addItem(f"{e.name} — chat model (weaker)", ("local", e.path, False, e.name))
        self._show_choice(self.manager.embedding_choice())
        self._filling = False

    def _show_choice(self, choice: EmbeddingChoice | None) -> None:
        if choice is None:
            self.combo.setCurrentIndex(0)
            return
        for i in range(1, self.combo.count()):
            data: Any = self.combo.itemData(i)
            if self._matches(data, choice):
                self.combo.setCurrentIndex(i)
                return
        self.combo.addItem(choice.words(), ("saved", "", False, ""))  # chosen but not listed (a file moved)
        self.combo.setCurrentIndex(self.combo.count() - 1)

    @staticmethod
    def _matches(data: Any, choice: EmbeddingChoice) -> bool:
        kind, path, _embedding, _name = data
        if kind == "local":
            return choice.kind == "llama" and choice.model == path
        ref = parse_remote_ref(path) if kind == "remote" else None
        return ref is not None and choice.kind == "remote" and (choice.connection, choice.model) == ref

    def choice_for(self, data: Any) -> EmbeddingChoice | None:
        """The choice an item stands for (None: keywords only)."""
        if data == NONE:
            return None
        kind, path, embedding, name = data
        if kind == "local":
            return EmbeddingChoice.local(path, embedding_model=bool(embedding), label=name)
        if kind == "remote":
            conn_id, model = parse_remote_ref(path) or ("", "")
            conn = self.connection(conn_id)
            if conn is None:
                return None
            return EmbeddingChoice.remote(conn.id, conn.base_url, model, label=name)
        return self.manager.embedding_choice()  # the saved one, unchanged

    def choose_index(self, index: int) -> None:
        """Pick item ``index`` as a person does: saved at once."""
        self.combo.setCurrentIndex(index)
        self._on_combo_activated(index)

    def _on_combo_activated(self, index: int) -> None:
        if self._filling:
            return
        choice = self.choice_for(self.combo.itemData(index))
        self.manager.set_embedding_choice(choice)
        self.status_message.emit(f"Sources now use {choice.words()} for meaning search; each collection is "
                                 "embedded with it on its next Update" if choice is not None
                                 else "Sources search by keywords only")
        self.choice_changed.emit()
