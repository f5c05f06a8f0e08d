"""The Sampling panel's adapter picker: which LoRA the open chat or document uses, and how strongly.

A combo of the adapters in the library folder (``models/adapters``), "None" and "Add adapter
file…", and a strength slider from 0 to 2. It only says what the person picked
(``chosen``); the window puts the adapter on the loaded model and, once the engine took it,
shows it here as the session's choice (``show_choice``). A refusal leaves the previous choice
in view.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from app.core.adapters import library_adapters

ADD = "\x00add"  # the combo item that asks for a file
STRENGTH_STEPS = 100  # slider steps per unit of strength


class _ListingCombo(QComboBox):
    """A combo that lists the library again each time it opens (a training may have added an adapter)."""

    def __init__(self, before_popup: Callable[[], None]) -> None:
        super().__init__()
        self._before_popup = before_popup

    def showPopup(self) -> None:  # noqa: N802 - Qt's name
        self._before_popup()
        super().showPopup()


class AdapterPicker(QGroupBox):
    """Combo + strength slider; emits ``chosen(path, strength)`` ("" is none)."""

    chosen = Signal(str, float)

    def __init__(self, folder: Path | None, parent: QWidget | None = None) -> None:
        super().__init__("Adapter", parent)
        self.setObjectName("adapterBox")
        self.folder = folder
        self.path, self.scale = "", 1.0  # the choice in view (the session's)
        self.ask_file: Callable[[], str] = self._ask_file
        self._updating = False
        self.combo = _ListingCombo(self.refill)
        self.combo.setObjectName("adapterCombo")
        self.combo.setToolTip("A LoRA adapter changes how the loaded model writes, without loading another model. "
                              "Each chat and document keeps its own.")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("adapterStrength")
        self.slider.setRange(0, 2 * STRENGTH_STEPS)
        self.slider.setToolTip("How strongly the adapter acts: 0 is the base model, 1 as trained, up to 2")
        self.strength_label = QLabel()
        self.strength_label.setObjectName("adapterStrengthLabel")
        self.strength_label.setMinimumWidth(32)
        self.note = QLabel()
        self.note.setObjectName("adapterNote")
        self.note.setWordWrap(True)
        self.note.hide()
        row = QHBoxLayout()
        row.addWidget(QLabel("Strength"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.strength_label)
        col = QVBoxLayout(self)
        col.setContentsMargins(6, 4, 6, 4)
        col.addWidget(self.combo)
        col.addLayout(row)
        col.addWidget(self.note)
        self._slider_timer = QTimer(self)  # a drag switches once, when it settles
        self._slider_timer.setSingleShot(True)
        self._slider_timer.setInterval(350)
        self._slider_timer.timeout.connect(self._on_slider_settled)
        self.combo.activated.connect(self._on_combo_activated)
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        self.show_choice("", 1.0)

    # -- what is shown ----------------------------------------------------------------

    def refill(self) -> None:
        """List the library's adapters again (a training may have added one), keeping the choice in view."""
        self._updating = True
        self.combo.clear()
        self.combo.addItem("None", "")
        found = library_adapters(self.folder) if self.folder is not None else []
        for path in found:
            self.combo.addItem(path.stem, str(path))
        if self.path and all(str(p) != self.path for p in found):
            self.combo.addItem(Path(self.path).stem, self.path)  # a file added from elsewhere
            self.combo.setItemData(self.combo.count() - 1, self.path, Qt.ItemDataRole.ToolTipRole)
        self.combo.addItem("Add adapter file…", ADD)
        self.combo.setCurrentIndex(max(0, self.combo.findData(self.path)))
        self._updating = False

    def show_choice(self, path: str, scale: float) -> None:
        """Show a session's adapter without emitting anything."""
        self.path, self.scale = path, float(scale)
        self.refill()
        self._updating = True
        self.slider.setValue(round(self.scale * STRENGTH_STEPS))
        self._updating = False
        self._slider_timer.stop()
        self._show_strength()

    def set_available(self, available: bool, why: str = "") -> None:
        """Off, with the reason shown, where the backend can't take an adapter (a server)."""
        self.combo.setEnabled(available)
        self.slider.setEnabled(available and bool(self.path))
        self.note.setText(why)
        self.note.setVisible(not available and bool(why))

    def _show_strength(self) -> None:
        self.strength_label.setText(f"{self.slider.value() / STRENGTH_STEPS:.2f}")
        self.slider.setEnabled(self.combo.isEnabled() and bool(self.path))

    # -- what the person does ---------------------------------------------------------

    def choose(self, path: str, scale: float | None = None) -> None:
        """Ask for ``path`` ("" for none) at ``scale`` (the slider's when None), as picking it does."""
        self.chosen.emit(path, self.slider.value() / STRENGTH_STEPS if scale is None else float(scale))

    def _on_combo_activated(self, index: int) -> None:
        data = self.combo.itemData(index)
        if data == ADD:
            data = self.ask_file()
            self.combo.setCurrentIndex(max(0, self.combo.findData(self.path)))  # until the engine took it
            if not data:
                return
        if data != self.path:
            self.choose(str(data))

    def _ask_file(self) -> str:
        start = str(self.folder) if self.folder is not None and self.folder.is_dir() else ""
        path, _ = QFileDialog.getOpenFileName(self, "Add a LoRA adapter", start, "GGUF adapters (*.gguf)")
        return path

    def _on_slider_value_changed(self, _value: int) -> None:
        self.strength_label.setText(f"{self.slider.value() / STRENGTH_STEPS:.2f}")
        if not self._updating and self.path:
            self._slider_timer.start()

    def _on_slider_settled(self) -> None:
        if abs(self.slider.value() / STRENGTH_STEPS - self.scale) > 1e-9:
            self.choose(self.path)
