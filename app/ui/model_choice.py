"""The window's choice of model: the model selector, opening a GGUF file, loading and reloading.

A mixin of ``MainWindow`` (app.ui.main_window). The selector's rows come from the one
model-list Qt model; here only which row is chosen (the model loading, else the one the
window shows: ``EngineBridge.load_pending``/``loading_path`` and ``info``) and the files
opened by hand. A known-bad file is refused before anything is unloaded.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem
from PySide6.QtWidgets import QFileDialog

from app.core.gguf import read_header
from app.core.model_list import ModelListChange
from app.ui.jobs import run_in_background

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow
    _Base = MainWindow
else:
    _Base = object

OPEN_FILE = "__open__"  # the selector's last row: "Open a GGUF file…"


class ModelChoiceMixin(_Base):
    """The model selector and the ways to load a model."""

    def refresh_models(self) -> None:
        """Re-scan the local models in the background (reading GGUF headers takes time) into the model list."""
        self._fill_model_selector()  # what the list holds already (a server's models), before the scan ends
        # context=self: a scan that ends after the window is gone must not fill its deleted selector
        run_in_background(self.catalog.entries, self.model_list.set_local, context=self)

    def _on_model_list_changed(self, _change: ModelListChange) -> None:
        self._fill_model_selector()

    def _fill_model_selector(self) -> None:
        """The list's rows come from the one list model; here only the choice and a file opened by hand."""
        loading = self.bridge.loading_path if self.bridge.load_pending else ""
        current = loading or (self.bridge.info.path if self.bridge.info else self.prefs.model_path)
        self.model_selector.blockSignals(True)
        self._forget_opened_files(keep="" if any(e.path == current for e in self.entries) else current)
        index = self.model_selector.findData(current)
        if index < 0 and current and Path(current).exists():
            index = self._add_opened_file(current)
        self.model_selector.setCurrentIndex(max(index, 0))
        self.model_selector.blockSignals(False)

    def _add_opened_file(self, path: str) -> int:
        """A file opened by hand, not in the list: offered just above "Open a GGUF file…"; its selector index."""
        item = QStandardItem(Path(path).stem)
        item.setData(path, Qt.ItemDataRole.UserRole)
        item.setToolTip(path)
        self._selector_extras.insertRow(self._selector_extras.rowCount() - 1, item)
        return self.model_selector.findData(path)

    def _forget_opened_files(self, keep: str) -> None:
        """Drop the files opened by hand from the selector, but ``keep``."""
        extras = self._selector_extras
        for row in reversed(range(extras.rowCount() - 1)):  # the last row is "Open a GGUF file…"
            if extras.item(row).data(Qt.ItemDataRole.UserRole) != keep:
                extras.removeRow(row)

    def load_model(self, path: str) -> None:
        """Load ``path`` (a library entry, the remembered model, a chat's model); a known-bad file changes nothing."""
        entry = next((e for e in self.entries if e.path == path), None)
        if entry is not None and entry.error:
            self._reject_model_file(path, entry.error)
            return
        self._load_checked(path)

    def open_model_path(self, path: str) -> None:
        """A file chosen by hand is checked first (as Library ▸ Import does): a bad one unloads nothing."""
        if any(e.path == path and not e.error for e in self.entries):
            self.load_model(path)
            return
        run_in_background(lambda: read_header(path), lambda _header: self._load_checked(path),
                          lambda exc: self._reject_model_file(path, getattr(exc, "reason", str(exc))), context=self)

    def _reject_model_file(self, path: str, reason: str) -> None:
        """Say why the file can't be used; the loaded model stays loaded and selected."""
        kept = self.bridge.info.name if self.bridge.info is not None else ""
        still = f" {kept} is still loaded." if kept else ""
        self.notice.show_message(f"<b>{escape(Path(path).name)} is not a model Inkling can load:</b> "
                                 f"{escape(reason.rstrip('.'))}.{escape(still)}", topic="model-file")
        self._select_loaded_model()

    def _select_loaded_model(self) -> None:
        """Show the model that is loaded (or loading) in the selector, and no file that failed."""
        current = self.bridge.loading_path if self.bridge.load_pending else (
            self.bridge.info.path if self.bridge.info is not None else "")
        self._forget_opened_files(keep=current)  # a file opened by hand that did not load goes
        index = self.model_selector.findData(current)
        self.model_selector.setCurrentIndex(max(index, 0) if current else self.model_selector.count() - 1)

    def _load_checked(self, path: str) -> None:
        self.bridge.load(path, self.bridge.options)
        index = self.model_selector.findData(path)
        if index < 0:
            index = self._add_opened_file(path)
        self.model_selector.setCurrentIndex(index)

    def open_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a model", str(Path.home()), "GGUF models (*.gguf);;All files (*)")
        if path:
            self.open_model_path(path)

    def reload_model(self) -> None:
        loading = self.bridge.loading_path if self.bridge.load_pending or self.bridge.info is None else ""
        path = loading or (self.bridge.info.path if self.bridge.info else "")
        if path:
            self.bridge.load(path, self.bridge.options)

    def _on_model_selector_activated(self, index: int) -> None:
        data = self.model_selector.itemData(index)
        if data == OPEN_FILE:
            self.open_model_file()
            return
        if data and (self.bridge.info is None or data != self.bridge.info.path):
            self.load_model(str(data))

    def _on_choose_model_requested(self) -> None:
        self.model_selector.setFocus()
        self.model_selector.showPopup()

