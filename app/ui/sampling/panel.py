"""The Sampling pane: every sampler as a control people understand, presets, load-time options.

The panel owns no engine: it emits the settings it shows, and draws the
next-token picture from candidates the main window fetches for the current
context. Moving a slider re-computes the picture locally (no engine round trip).
Its boxes are built in ``sections.py``; this module is the panel's behaviour.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import InvalidSetting
from app.core.events import LoadOptions
from app.core.presets import PresetChange, PresetStore
from app.core.sampling import SamplingSettings
from app.core.sampling_math import Candidate, picture
from app.ui.sampling import sections
from app.ui.sampling.adapter_box import AdapterPicker
from app.ui.sampling.controls import NumberControl
from app.ui.sampling.sections import DRY_DETAILS, INTEGER_FIELDS, MIROSTAT_ROWS, NUMBER_ROWS, PANEL_MIN_WIDTH
from app.ui.wheel_guard import guard_wheel

__all__ = ["NUMBER_ROWS", "SamplingPanel"]


class SamplingPanel(QWidget):
    """Shows and edits SamplingSettings; emits every change."""

    settings_changed = Signal(object, str)
    """(SamplingSettings, preset name) after any change the user made or a preset was chosen."""
    reload_requested = Signal(object)
    """Reload the model with these LoadOptions."""
    adapter_requested = Signal(str, float)
    """The person picked an adapter (path, "" for none) and strength; ``apply_adapter`` once the engine took it."""

    CHART_NOTE = "The model's top candidates for the next token, and how your settings reshape them."

    def __init__(self, presets: PresetStore, parent: QWidget | None = None, adapters_folder: Path | None = None) -> None:
        super().__init__(parent)
        self.adapter_picker = AdapterPicker(adapters_folder)
        self.setObjectName("samplingPanel")
        self.store = presets
        self.settings = SamplingSettings()
        self.preset = presets.default
        self.controls: dict[str, NumberControl] = {}
        self._candidates: list[Candidate] = []
        self._lse = 0.0
        self._sigma: float | None = None
        self._updating = False
        self._build()
        self._connect_signals()
        self._reload_presets()
        self.show_settings(self.settings, self.preset)
        presets.subscribe(self._on_store_changed)  # the selector follows the store, whoever changed it

    # -- layout -----------------------------------------------------------------------

    def _build(self) -> None:
        inner = QWidget()
        col = QVBoxLayout(inner)
        col.setContentsMargins(6, 6, 6, 6)
        col.addLayout(sections.preset_row(self))
        col.addWidget(self.adapter_picker)
        col.addWidget(sections.chart_box(self))
        col.addWidget(sections.sampling_box(self))
        col.addWidget(sections.limits_box(self))
        col.addWidget(sections.load_box(self))
        col.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumWidth(PANEL_MIN_WIDTH)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self._wheel_guard = guard_wheel(inner)  # scrolling the pane never moves the slider under the pointer
        self._text_timer = QTimer(self)
        self._text_timer.setSingleShot(True)
        self._text_timer.setInterval(400)

    def _connect_signals(self) -> None:
        for control in self.controls.values():
            control.value_changed.connect(self._on_control_value_changed)
        self.mirostat_combo.currentIndexChanged.connect(self._on_mirostat_combo_index_changed)
        self.random_seed_check.toggled.connect(self._on_seed_changed)
        self.seed_spin.valueChanged.connect(self._on_seed_changed)
        self.dice_button.clicked.connect(self._on_dice_button_clicked)
        self.preset_combo.activated.connect(self._on_preset_combo_activated)
        for edit in (self.stop_edit, self.constraint_edit):
            edit.textChanged.connect(self._text_timer.start)
        self.banned_edit.textChanged.connect(self._text_timer.start)
        self.dry_breakers_edit.textChanged.connect(self._text_timer.start)
        self.constraint_combo.currentIndexChanged.connect(self._text_timer.start)
        self._text_timer.timeout.connect(self._on_text_fields_changed)
        self.save_action.triggered.connect(self._on_save_preset)
        self.update_action.triggered.connect(self._on_update_preset)
        self.rename_action.triggered.connect(self._on_rename_preset)
        self.delete_action.triggered.connect(self._on_delete_preset)
        self.import_action.triggered.connect(self._on_import_presets)
        self.export_action.triggered.connect(self._on_export_presets)
        self.reload_button.clicked.connect(self._on_reload_button_clicked)
        self.adapter_picker.chosen.connect(self.adapter_requested)

    def _show_dry_enabled(self, strength: float) -> None:
        """DRY's growth, allowed repeat, look-back and breakers mean something only while its strength is above 0."""
        for field in DRY_DETAILS:
            self.controls[field].setEnabled(strength > 0)
            self.controls[field].setToolTip("" if strength > 0 else "Used only when DRY strength is above 0")
        self.dry_breakers_edit.setEnabled(strength > 0)

    def _on_mirostat_combo_index_changed(self, index: int) -> None:
        self._show_mirostat_enabled(index)
        self._on_control_value_changed("mirostat_mode", index)

    def _show_mirostat_enabled(self, mode: int) -> None:
        """tau and eta mean something only while Mirostat is on."""
        for field, *_ in MIROSTAT_ROWS:
            self.controls[field].setEnabled(mode != 0)
            self.controls[field].setToolTip("" if mode else "Used only when Mirostat is on")

    def _on_reload_button_clicked(self) -> None:
        self.reload_requested.emit(self.load_options())

    # -- presets --------------------------------------------------------------------------

    def presets(self) -> dict[str, SamplingSettings]:
        return self.store.all()

    def _reload_presets(self) -> None:
        self.preset_combo.blockSignals(True)
        self.preset_combo.clear()
        for name in self.presets():
            self.preset_combo.addItem(name, name)
        self.preset_combo.blockSignals(False)
        self._sync_preset_label()

    def _on_store_changed(self, change: PresetChange) -> None:
        """Presets were saved, renamed or deleted (here or anywhere): show the store's list again."""
        if change.kind == "renamed" and self.preset == change.old:
            self.preset = change.names[0]
        self._reload_presets()

    def choose_preset(self, name: str) -> None:
        settings = self.store.get(name)
        if settings is not None:  # a preset is how to sample; the session's adapter stays
            self.show_settings(settings.replace(adapter=self.settings.adapter,
                                                adapter_scale=self.settings.adapter_scale), name)
            self.settings_changed.emit(self.settings, self.preset)

    def _on_preset_combo_activated(self, index: int) -> None:
        self.choose_preset(str(self.preset_combo.itemData(index)))

    def _sync_preset_label(self) -> None:
        index = self.preset_combo.findData(self.preset)
        self.preset_combo.blockSignals(True)
        self.preset_combo.setCurrentIndex(index)
        self.preset_combo.blockSignals(False)
        base = self.store.get(self.preset)
        modified = base is None or base != self.settings.replace(adapter=base.adapter, adapter_scale=base.adapter_scale)
        reset_to = base if base is not None else SamplingSettings()  # ↺ goes back to the preset in use
        source = f"the “{self.preset}” preset" if base is not None else "the app's default"
        for field, control in self.controls.items():
            control.set_default(getattr(reset_to, field), source)
        self.modified_label.setText("(modified)" if modified else "")
        builtin = self.store.is_builtin(self.preset)
        self.update_action.setEnabled(not builtin and index >= 0)
        self.rename_action.setEnabled(not builtin and index >= 0)
        self.delete_action.setEnabled(not builtin and index >= 0)

    def save_preset(self, name: str) -> None:
        if not name.strip():
            return
        self.preset = self.store.save(name, self.settings.replace(adapter="", adapter_scale=1.0))
        self._sync_preset_label()
        self.settings_changed.emit(self.settings, self.preset)

    def _on_save_preset(self) -> None:
        name, ok = QInputDialog.getText(self, "Save preset", "Name for these settings:")
        if ok:
            self.save_preset(name)

    def _on_update_preset(self) -> None:
        self.save_preset(self.preset)

    def rename_preset(self, new: str) -> None:
        self.preset = self.store.rename(self.preset, new)
        self.settings_changed.emit(self.settings, self.preset)

    def _on_rename_preset(self) -> None:
        name, ok = QInputDialog.getText(self, "Rename preset", "New name:", text=self.preset)
        if ok:
            self.rename_preset(name)

    def delete_preset(self) -> None:
        if not self.store.is_builtin(self.preset):
            self.store.delete(self.preset)
            self.preset = ""
            self._sync_preset_label()
            self.settings_changed.emit(self.settings, self.preset)

    def _on_delete_preset(self) -> None:
        self.delete_preset()

    def export_presets(self, path: Path) -> None:
        path.write_text(self.store.export_json(), encoding="utf-8")

    def import_presets(self, path: Path) -> int:
        """Import a presets file (all of it or nothing); PresetImportError says what is wrong."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidSetting(f"{path.name} could not be read: {exc}") from None
        names = self.store.import_json(text)
        return len(names)

    def _on_export_presets(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export presets", "presets.json", "JSON (*.json)")
        if path:
            self.export_presets(Path(path))

    def _on_import_presets(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import presets", "", "JSON (*.json)")
        if path:
            self.import_presets(Path(path))

    # -- values -----------------------------------------------------------------------------

    def show_settings(self, settings: SamplingSettings, preset: str = "") -> None:
        """Show settings (a preset, or a conversation's own) without emitting changes."""
        self._updating = True
        self.settings, self.preset = settings, preset
        for field, control in self.controls.items():
            control.set_value(getattr(settings, field))
        self.mirostat_combo.setCurrentIndex(int(settings.mirostat_mode))
        self._show_mirostat_enabled(int(settings.mirostat_mode))
        self._show_dry_enabled(settings.dry_multiplier)
        self.random_seed_check.setChecked(settings.seed is None)
        self.seed_spin.setEnabled(settings.seed is not None)
        if settings.seed is not None:
            self.seed_spin.setValue(int(settings.seed))
        self.stop_edit.setPlainText("\n".join(settings.stop))
        self.banned_edit.setText(", ".join(settings.banned_words))
        self.dry_breakers_edit.setText(json.dumps(list(settings.dry_sequence_breakers)))
        if settings.json_schema:
            self.constraint_combo.setCurrentIndex(1)
            self.constraint_edit.setPlainText(settings.json_schema)
        elif settings.grammar:
            self.constraint_combo.setCurrentIndex(2)
            self.constraint_edit.setPlainText(settings.grammar)
        else:
            self.constraint_combo.setCurrentIndex(0)
            self.constraint_edit.clear()
        self.constraint_edit.setEnabled(self.constraint_combo.currentIndex() > 0)
        self.adapter_picker.show_choice(settings.adapter, settings.adapter_scale)
        self._updating = False
        self._text_timer.stop()
        self._sync_preset_label()
        self._refresh_picture()

    def apply_adapter(self, path: str, scale: float) -> None:
        """The engine took the adapter: it becomes the shown session's choice (saved with it)."""
        self.adapter_picker.show_choice(path, scale)
        self._change(adapter=path, adapter_scale=round(float(scale), 3))

    def _change(self, **changes: Any) -> None:
        try:
            settings = self.settings.replace(**changes)
        except InvalidSetting as exc:
            self.constraint_error.setText(str(exc))
            return
        self.constraint_error.clear()
        if settings == self.settings:
            return
        self.settings = settings
        self._sync_preset_label()
        self._refresh_picture()
        self.settings_changed.emit(self.settings, self.preset)

    def _on_control_value_changed(self, field: str, value: float) -> None:
        if self._updating:
            return
        integer = field in INTEGER_FIELDS
        self._change(**{field: int(value) if integer else round(float(value), 4)})
        if field == "dry_multiplier":
            self._show_dry_enabled(self.settings.dry_multiplier)

    def _on_seed_changed(self, *_: object) -> None:
        if self._updating:
            return
        random_seed = self.random_seed_check.isChecked()
        self.seed_spin.setEnabled(not random_seed)
        self._change(seed=None if random_seed else int(self.seed_spin.value()))

    def _on_dice_button_clicked(self) -> None:
        self.random_seed_check.setChecked(False)
        self.seed_spin.setValue(random.randrange(2**31))

    def _on_text_fields_changed(self) -> None:
        if self._updating:
            return
        mode = self.constraint_combo.currentIndex()
        self.constraint_edit.setEnabled(mode > 0)
        text = self.constraint_edit.toPlainText().strip() if mode else ""
        try:
            breakers = json.loads(self.dry_breakers_edit.text() or "[]")
            if not isinstance(breakers, list) or not all(isinstance(b, str) for b in breakers):
                raise ValueError
        except ValueError:
            self.constraint_error.setText('DRY breakers: write a JSON list of strings, e.g. ["\\n", ":", "*"]')
            return
        self._change(
            dry_sequence_breakers=tuple(breakers),
            stop=tuple(line for line in self.stop_edit.toPlainText().split("\n") if line),
            banned_words=tuple(w.strip() for w in self.banned_edit.text().split(",") if w.strip()),
            json_schema=text if mode == 1 else "", grammar=text if mode == 2 else "",
        )

    # -- load options ---------------------------------------------------------------------

    def show_load_options(self, options: LoadOptions, gpu_available: bool) -> None:
        self.ctx_spin.setValue(options.n_ctx)
        self.gpu_spin.setValue(options.n_gpu_layers)
        self.threads_spin.setValue(options.n_threads or 0)
        self.gpu_spin.setEnabled(gpu_available)
        why = "" if gpu_available else "This llama.cpp build has no GPU support (CPU only); see README for CUDA/Metal."
        self.gpu_spin.setToolTip(why or "How many layers run on the GPU (all is fastest).")
        self.gpu_note.setText(why)
        self.gpu_note.setVisible(bool(why))

    def load_options(self) -> LoadOptions:
        return LoadOptions(n_ctx=self.ctx_spin.value(), n_gpu_layers=self.gpu_spin.value(),
                           n_threads=self.threads_spin.value() or None)

    # -- the picture ---------------------------------------------------------------------

    def set_candidates(self, candidates: list[tuple[str, int, float]], log_normaliser: float,
                       logit_sigma: float | None = None) -> None:
        """The next-token candidates; ``logit_sigma`` (the spread of all logits) lets the chart picture top-nσ."""
        self._candidates = [Candidate(t, i, logit) for t, i, logit in candidates]
        self._lse = log_normaliser
        self._sigma = logit_sigma
        self._refresh_picture()

    def show_preview_context(self, about: str) -> None:
        """Say which text the chart is about (empty: none)."""
        self.chart_context.setText(about)
        self.chart_context.setVisible(bool(about))

    def clear_candidates(self, note: str) -> None:
        """No candidates to show (another pane, nothing typed, the model busy): the chart says why instead."""
        self._candidates = []
        self.chart.set_picture(None, note)
        self.chart_note.setText(self.CHART_NOTE)

    def _refresh_picture(self) -> None:
        if not self._candidates:
            self.chart.set_picture(None, self.chart.message)
            self.chart_note.setText(self.CHART_NOTE)
            return
        pic = picture(self._candidates, self._lse, self.settings, self._sigma)
        self.chart.set_picture(pic)
        self.chart_note.setText(" ".join((self.CHART_NOTE, *pic.notes)))
