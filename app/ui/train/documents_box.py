"""The Train tab's "Your documents": text files, Write's own documents and source collections, in one list.

Each row carries its ``TextSource`` (``Qt.UserRole``); the training job reads them all the
same way. The Write and collection buttons open a menu built when it opens, so a document
written or a collection indexed since the tab was built is there.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.train.documents import TextSource


class DocumentsBox(QGroupBox):
    """The chosen texts; ``sources()`` is what the run trains on."""

    changed = Signal()
    """A text was added or removed."""

    def __init__(self, write_documents: Callable[[], list[TextSource]],
                 collections: Callable[[], list[TextSource]], parent: QWidget | None = None) -> None:
        super().__init__("Your documents", parent)
        self._write_documents = write_documents
        self._collections = collections
        lay = QVBoxLayout(self)
        self.list = QListWidget()
        self.list.setObjectName("trainDocuments")
        self.list.setMinimumHeight(48)
        self.list.setMaximumHeight(110)
        self.list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        lay.addWidget(self.list)
        row = QHBoxLayout()
        self.add_button = QPushButton("Files…")
        self.add_button.setToolTip("Plain text files (.txt, .md); paragraphs separated by blank lines")
        self.write_button = QPushButton("From Write")
        self.write_button.setObjectName("trainFromWrite")
        self.write_menu = QMenu(self.write_button)
        self.write_button.setMenu(self.write_menu)
        self.collection_button = QPushButton("Collection")
        self.collection_button.setObjectName("trainFromCollection")
        self.collection_menu = QMenu(self.collection_button)
        self.collection_button.setMenu(self.collection_menu)
        self.remove_button = QPushButton("Remove")
        for w in (self.add_button, self.write_button, self.collection_button, self.remove_button):
            row.addWidget(w)
        row.addStretch(1)
        lay.addLayout(row)
        note = QLabel("Paragraphs are the passages; some whole passages are held out to measure it on text it "
                      "has not seen.")
        note.setWordWrap(True)
        lay.addWidget(note)
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.remove_button.clicked.connect(self.remove_selected)
        self.write_menu.aboutToShow.connect(self._on_write_menu_about_to_show)
        self.collection_menu.aboutToShow.connect(self._on_collection_menu_about_to_show)

    # -- what is chosen -------------------------------------------------------------------------

    def sources(self) -> list[TextSource]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def add(self, source: TextSource) -> None:
        """Add one text (once: choosing it again changes nothing)."""
        if source in self.sources():
            return
        item = QListWidgetItem(source.label)
        item.setData(Qt.ItemDataRole.UserRole, source)
        item.setToolTip(source.ref if source.kind == "file" else source.label)
        self.list.addItem(item)
        self.changed.emit()

    def add_files(self, names: list[str]) -> None:
        for name in names:
            self.add(TextSource.file(name))

    def remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))
        self.changed.emit()

    # -- the buttons --------------------------------------------------------------------------

    def _on_add_button_clicked(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "Text to learn from", "", "Text files (*.txt *.md);;All files (*)")
        self.add_files(names)

    def _fill(self, menu: QMenu, choices: list[TextSource], empty: str) -> None:
        menu.clear()
        chosen = set(self.sources())
        for source in choices:
            action = menu.addAction(source.label.split(": ", 1)[-1])
            action.setEnabled(source not in chosen)
            action.triggered.connect(lambda _=False, s=source: self.add(s))
        if not choices:
            menu.addAction(empty).setEnabled(False)

    def _on_write_menu_about_to_show(self) -> None:
        self._fill(self.write_menu, self._write_documents(), "No documents in Write yet")

    def _on_collection_menu_about_to_show(self) -> None:
        self._fill(self.collection_menu, self._collections(), "No collections yet (add one from Chat's Sources)")
