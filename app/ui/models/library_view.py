"""The Library tab: the models on this computer (the one model list), and adding, using and deleting them.

The table shows ``LocalModels`` over the window's ``ModelListModel``; a scan runs in
the background and feeds the ``ModelList``, which tells every view at once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import InklingError
from app.core.ports import ModelEntry, ModelManagerPort
from app.ui.flow_layout import flow_row
from app.ui.jobs import run_in_background
from app.ui.model_list_model import LocalModels


class LibraryView(QWidget):
    """The library table and its buttons; every file operation runs in the background."""

    use_model_requested = Signal(str)
    """Load this model file."""
    rescan_requested = Signal()
    """The files changed (an import, a delete, a new folder): scan the library again."""
    status_message = Signal(str)
    """A short line for the status bar."""

    def __init__(self, manager: ModelManagerPort, models: LocalModels, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self.models = models
        self.ask_copy: Callable[[Path], bool | None] = self._ask_copy
        self._build()
        self._connect_signals()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.table = QTableView()
        self.table.setObjectName("modelLibraryView")
        self.table.setModel(self.models)
        header = self.table.horizontalHeader()
        for column in range(7):  # the details fit their text (the size with its fit badge on one line)
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(7, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.use_button = QPushButton("Use this model")
        self.use_button.setObjectName("useModelButton")
        self.import_button = QPushButton("Import GGUF file…")
        self.folder_button = QPushButton("Add folder…")
        self.discover_button = QPushButton("Find models from other apps…")
        self.discover_button.setObjectName("discoverModelsButton")
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setObjectName("deleteModelButton")
        row = flow_row(self.use_button, self.import_button, self.folder_button, self.discover_button,
                       self.delete_button)  # wraps in a narrow window instead of cutting buttons
        hint = QLabel("Drop .gguf files here to add them. Files are read from the GGUF header, without loading them.")
        hint.setObjectName("settingHelp")
        hint.setWordWrap(True)
        layout.addWidget(row)
        layout.addWidget(self.table, 1)
        layout.addWidget(hint)

    def _connect_signals(self) -> None:
        self.use_button.clicked.connect(self._on_use_button_clicked)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        self.import_button.clicked.connect(self._on_import_button_clicked)
        self.folder_button.clicked.connect(self._on_folder_button_clicked)
        self.discover_button.clicked.connect(self.discover)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)

    def selected_entry(self) -> ModelEntry | None:
        return self.models.entry(self.table.currentIndex().row())

    def _on_use_button_clicked(self) -> None:
        entry = self.selected_entry()
        if entry is not None and not entry.error:
            self.use_model_requested.emit(entry.path)

    def _on_table_double_clicked(self, index: QModelIndex) -> None:
        self.table.selectRow(index.row())
        self._on_use_button_clicked()

    def import_files(self, paths: list[Path]) -> None:
        for path in paths:
            copy = self.ask_copy(path)
            if copy is None:
                continue
            run_in_background(lambda p=path, c=copy: self.manager.import_file(p, c),
                              lambda target: (self.status_message.emit(f"Added {Path(target).name}"),
                                              self.rescan_requested.emit()), context=self)

    def _on_import_button_clicked(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Import GGUF models", str(Path.home()), "GGUF models (*.gguf)")
        self.import_files([Path(p) for p in paths])

    def _on_folder_button_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of models", str(Path.home()))
        if folder:
            self.manager.add_folder(Path(folder))
            self.rescan_requested.emit()

    def _ask_copy(self, path: Path) -> bool | None:
        box = QMessageBox(QMessageBox.Icon.Question, "Add model",
                          f"Add {path.name}?\n\nUse it where it is, or copy it into Inkling's models folder?", parent=self)
        in_place = box.addButton("Use in place", QMessageBox.ButtonRole.AcceptRole)
        copy = box.addButton("Copy", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        if box.clickedButton() is in_place:
            return False
        if box.clickedButton() is copy:
            return True
        return None

    def _on_delete_button_clicked(self) -> None:
        entry = self.selected_entry()
        if entry is None or entry.builtin:
            return
        answer = QMessageBox.question(self, "Delete model", f"Delete {Path(entry.path).name} from disk?")
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_model(Path(entry.path))

    def delete_model(self, path: Path) -> None:
        try:
            self.manager.delete(path)
        except (InklingError, OSError) as exc:
            self.status_message.emit(f"Not deleted: {exc}")
            return
        self.rescan_requested.emit()

    def discover(self) -> None:
        def done(found: list[tuple[str, Path]]) -> None:
            if not found:
                self.status_message.emit("No GGUF models from LM Studio, GPT4All, Jan or the Hugging Face cache found")
                return
            listing = "\n".join(f"{app}: {path}" for app, path in found[:20])
            answer = QMessageBox.question(self, "Models from other apps",
                                          f"Found {len(found)} model files:\n\n{listing}\n\nAdd their folders to Inkling "
                                          "(the files stay where they are)?")
            if answer == QMessageBox.StandardButton.Yes:
                for folder in {path.parent for _, path in found}:
                    self.manager.add_folder(folder)
                self.rescan_requested.emit()

        run_in_background(self.manager.discover, done, context=self)
