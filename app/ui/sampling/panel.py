"""The Sampling pane: every sampler as a control people understand, presets, load-time options.

The panel owns no engine: it emits the settings it shows, and draws the
next-token picture from candidates the main window fetches for the current
context. Moving a slider re-computes the picture locally (no engine round trip).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import InvalidSetting
from app.core.events import LoadOptions
from app.core.presets import PresetChange, PresetStore
from app.core.sampling import SamplingSettings
from app.core.sampling_math import Candidate, picture
from app.core.system import threads_from_env
from app.ui.sampling.chart import CHART_LEGEND, NextTokenChart
from app.ui.sampling.controls import NumberControl
from app.ui.wheel_guard import guard_wheel

# field, label, decimals, step, slider objectName, spin objectName, (low, high) override
NUMBER_ROWS: list[tuple[str, str, int, float, str, str, tuple[float, float] | None]] = [
    ("temperature", "Temperature", 2, 0.05, "temperatureSlider", "temperatureSpin", None),
    ("top_k", "Top-k", 0, 1, "topKSlider", "topKSpin", None),
    ("top_p", "Top-p", 2, 0.01, "topPSlider", "topPSpin", None),
    ("min_p", "Min-p", 2, 0.01, "minPSlider", "minPSpin", None),
    ("typical_p", "Typical-p", 2, 0.01, "typicalPSlider", "typicalPSpin", None),
    ("repeat_penalty", "Repeat penalty", 2, 0.01, "repeatPenaltySlider", "repeatPenaltySpin", None),
    ("repeat_last_n", "Penalty window", 0, 8, "repeatLastNSlider", "repeatLastNSpin", (0, 1024)),
    ("presence_penalty", "Presence penalty", 2, 0.05, "presencePenaltySlider", "presencePenaltySpin", None),
    ("frequency_penalty", "Frequency penalty", 2, 0.05, "frequencyPenaltySlider", "frequencyPenaltySpin", None),
    ("max_tokens", "Max tokens", 0, 16, "maxTokensSlider", "maxTokensSpin", (1, 8192)),
]
# against repetition and for variety: llama.cpp's DRY, XTC and top-nσ samplers
MODERN_ROWS: list[tuple[str, str, int, float, str]] = [
    ("dry_multiplier", "DRY strength", 2, 0.05, "dryMultiplierSpin"),
    ("dry_base", "DRY growth", 2, 0.05, "dryBaseSpin"),
    ("dry_allowed_length", "DRY allowed repeat", 0, 1, "dryAllowedLengthSpin"),
    ("dry_penalty_last_n", "DRY look-back", 0, 64, "dryPenaltyLastNSpin"),
    ("xtc_probability", "XTC chance", 2, 0.05, "xtcProbabilitySpin"),
    ("xtc_threshold", "XTC threshold", 2, 0.01, "xtcThresholdSpin"),
    ("top_n_sigma", "Top-nσ", 2, 0.1, "topNSigmaSpin"),
]
INTEGER_FIELDS = ("top_k", "repeat_last_n", "max_tokens", "mirostat_mode", "dry_allowed_length", "dry_penalty_last_n")
PANEL_MIN_WIDTH = 300  # with a 480 px pane beside it, the window still fits 800 px
DRY_DETAILS = ("dry_base", "dry_allowed_length", "dry_penalty_last_n")
MIROSTAT_ROWS = [("mirostat_tau", "Mirostat target (tau)", 2, 0.1), ("mirostat_eta", "Mirostat speed (eta)", 2, 0.01)]


class SamplingPanel(QWidget):
    """Shows and edits SamplingSettings; emits every change."""

    settings_changed = Signal(object, str)
    """(SamplingSettings, preset name) after any change the user made or a preset was chosen."""
    reload_requested = Signal(object)
    """Reload the model with these LoadOptions."""

    CHART_NOTE = "The model's top candidates for the next token, and how your settings reshape them."

    def __init__(self, presets: PresetStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
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

        preset_row = QHBoxLayout()
        self.preset_combo = QComboBox()
        self.preset_combo.setObjectName("presetSelector")
        self.preset_combo.setToolTip("Presets: named sets of sampling settings")
        self.modified_label = QLabel()
        self.modified_label.setObjectName("presetModifiedLabel")
        self.preset_menu_button = QToolButton(text="Presets")
        self.preset_menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.preset_menu_button)
        self.save_action = menu.addAction("Save as new preset…")
        self.update_action = menu.addAction("Save changes to this preset")
        self.rename_action = menu.addAction("Rename preset…")
        self.delete_action = menu.addAction("Delete preset")
        menu.addSeparator()
        self.import_action = menu.addAction("Import presets (JSON)…")
        self.export_action = menu.addAction("Export presets (JSON)…")
        self.preset_menu_button.setMenu(menu)
        preset_row.addWidget(QLabel("Preset:"))
        preset_row.addWidget(self.preset_combo, 1)
        preset_row.addWidget(self.modified_label)
        preset_row.addWidget(self.preset_menu_button)
        col.addLayout(preset_row)

        chart_box = QGroupBox("What could come next")
        chart_layout = QVBoxLayout(chart_box)
        self.chart_context = QLabel()  # which text the bars are about: the chat's draft, Write's cursor
        self.chart_context.setObjectName("chartContext")
        self.chart_context.setWordWrap(True)
        self.chart = NextTokenChart()
        self.chart_legend = QLabel(CHART_LEGEND)
        self.chart_legend.setObjectName("chartLegend")
        self.chart_legend.setWordWrap(True)
        self.chart_note = QLabel(self.CHART_NOTE)
        self.chart_note.setWordWrap(True)
        self.chart_note.setObjectName("settingHelp")
        chart_layout.addWidget(self.chart_context)
        chart_layout.addWidget(self.chart)
        chart_layout.addWidget(self.chart_legend)
        chart_layout.addWidget(self.chart_note)
        col.addWidget(chart_box)

        sampling_box = QGroupBox("Sampling: how the next token is chosen")
        sampling_layout = QVBoxLayout(sampling_box)
        defaults = SamplingSettings()
        for field, label, decimals, step, slider_name, spin_name, bounds in NUMBER_ROWS:
            low, high = bounds if bounds else (None, None)
            control = NumberControl(field, label, getattr(defaults, field), decimals=decimals, step=step,
                                    slider_name=slider_name, spin_name=spin_name, low=low, high=high)
            self.controls[field] = control
            sampling_layout.addWidget(control)

        self.mirostat_combo = QComboBox()
        self.mirostat_combo.setObjectName("mirostatModeCombo")
        self.mirostat_combo.addItems(["Off", "Mirostat 1", "Mirostat 2"])
        self.mirostat_combo.setToolTip("Mirostat steers how surprising the text is, instead of top-k/top-p.")
        mirostat_help = QLabel("<b>Mirostat</b> — keeps the text's surprise near a target; "
                               "replaces top-k, top-p and min-p when on.")
        mirostat_help.setWordWrap(True)
        sampling_layout.addWidget(mirostat_help)
        sampling_layout.addWidget(self.mirostat_combo)
        for field, label, decimals, step in MIROSTAT_ROWS:
            control = NumberControl(field, label, getattr(defaults, field), decimals=decimals, step=step,
                                    spin_name=field.replace("_", "") + "Spin")
            self.controls[field] = control
            sampling_layout.addWidget(control)

        modern_help = QLabel("<b>Against repetition and sameness</b> — DRY stops the text from copying passages it "
                             "already contains; XTC now and then sets the most obvious choices aside; top-nσ keeps "
                             "only clearly plausible tokens, even at a high temperature.")
        modern_help.setWordWrap(True)
        sampling_layout.addWidget(modern_help)
        for field, label, decimals, step, spin_name in MODERN_ROWS:
            control = NumberControl(field, label, getattr(defaults, field), decimals=decimals, step=step,
                                    spin_name=spin_name, high=4096 if field == "dry_penalty_last_n" else None)
            self.controls[field] = control
            sampling_layout.addWidget(control)
        self.dry_breakers_edit = QLineEdit()
        self.dry_breakers_edit.setObjectName("dryBreakersEdit")
        self.dry_breakers_edit.setToolTip("DRY: a repeat ends at any of these (JSON list of strings, e.g. [\"\\n\", \":\"]).")
        breakers_row = QHBoxLayout()
        breakers_row.addWidget(QLabel("<b>DRY breakers</b>"))
        breakers_row.addWidget(self.dry_breakers_edit, 1)
        sampling_layout.addLayout(breakers_row)

        seed_row = QHBoxLayout()
        self.random_seed_check = QCheckBox("Random seed")
        self.random_seed_check.setObjectName("randomSeedCheck")
        self.seed_spin = QSpinBox()
        self.seed_spin.setObjectName("seedSpin")
        self.seed_spin.setRange(0, 2_147_483_647)
        self.seed_spin.setToolTip("The same seed with the same settings and text gives the same reply.")
        self.dice_button = QToolButton(text="New seed")  # words: a dice emoji is a missing-glyph box on many systems
        self.dice_button.setObjectName("seedDiceButton")
        self.dice_button.setToolTip("Pick a new fixed seed")
        seed_label_row = QHBoxLayout()  # two rows: one would make the dock wider than a small window allows
        seed_label_row.addWidget(QLabel("<b>Seed</b>"))
        seed_label_row.addWidget(self.random_seed_check, 1)
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(self.dice_button)
        sampling_layout.addLayout(seed_label_row)
        sampling_layout.addLayout(seed_row)
        seed_help = QLabel("Random gives a different reply each time; a fixed seed repeats a reply exactly.")
        seed_help.setWordWrap(True)
        seed_help.setObjectName("settingHelp")
        sampling_layout.addWidget(seed_help)
        col.addWidget(sampling_box)

        limits_box = QGroupBox("Limits and constraints")
        form = QFormLayout(limits_box)
        self.stop_edit = QPlainTextEdit()
        self.stop_edit.setObjectName("stopStringsEdit")
        self.stop_edit.setPlaceholderText("One stop string per line, e.g. ###")
        self.stop_edit.setFixedHeight(54)
        self.stop_edit.setToolTip("The reply ends as soon as it would contain one of these.")
        form.addRow("Stop strings", self.stop_edit)
        self.banned_edit = QLineEdit()
        self.banned_edit.setObjectName("bannedWordsEdit")
        self.banned_edit.setPlaceholderText("comma-separated words the model must not start")
        self.banned_edit.setToolTip("Words the model may not use (their first token is banned).")
        form.addRow("Banned words", self.banned_edit)
        self.constraint_combo = QComboBox()
        self.constraint_combo.setObjectName("constraintModeCombo")
        self.constraint_combo.addItems(["None", "JSON schema", "Grammar (GBNF)"])
        self.constraint_edit = QPlainTextEdit()
        self.constraint_edit.setObjectName("constraintEdit")
        self.constraint_edit.setFixedHeight(80)
        self.constraint_edit.setPlaceholderText('e.g. {"type": "object", "properties": {"name": {"type": "string"}}}')
        form.addRow("Constrain output", self.constraint_combo)
        form.addRow("", self.constraint_edit)
        self.constraint_error = QLabel()
        self.constraint_error.setObjectName("constraintError")
        self.constraint_error.setWordWrap(True)
        form.addRow("", self.constraint_error)
        col.addWidget(limits_box)

        load_box = QGroupBox("Model loading (reload to apply)")
        load_form = QFormLayout(load_box)
        self.ctx_spin = QSpinBox()
        self.ctx_spin.setObjectName("contextLengthSpin")
        self.ctx_spin.setRange(256, 131072)
        self.ctx_spin.setSingleStep(256)
        self.ctx_spin.setToolTip("How many tokens the model can see at once. More needs more memory.")
        self.gpu_spin = QSpinBox()
        self.gpu_spin.setObjectName("gpuLayersSpin")
        self.gpu_spin.setRange(-1, 999)
        self.gpu_spin.setSpecialValueText("all")
        self.threads_spin = QSpinBox()
        self.threads_spin.setObjectName("threadsSpin")
        self.threads_spin.setRange(0, 256)
        pinned = threads_from_env()
        # "automatic" is true only where the engine tunes the count; INKLING_THREADS pins it (app.engine.threads)
        self.threads_spin.setSpecialValueText(f"{pinned} (INKLING_THREADS)" if pinned else "automatic")
        self.threads_spin.setToolTip(
            "How many CPU threads llama.cpp uses. Automatic measures decode speed while the model writes: "
            "it uses fewer threads while other programs keep the cores busy and more when they are idle. "
            "A number pins it.")
        self.reload_button = QPushButton("Reload model to apply")
        self.reload_button.setObjectName("reloadModelButton")
        load_form.addRow("Context length", self.ctx_spin)
        load_form.addRow("GPU layers", self.gpu_spin)
        self.gpu_note = QLabel()  # why GPU layers is off, in words on the panel (not only in a tooltip)
        self.gpu_note.setObjectName("gpuLayersNote")
        self.gpu_note.setWordWrap(True)
        self.gpu_note.hide()
        load_form.addRow("", self.gpu_note)
        load_form.addRow("CPU threads", self.threads_spin)
        load_form.addRow(self.reload_button)
        col.addWidget(load_box)
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
        if settings is not None:
            self.show_settings(settings, name)
            self.settings_changed.emit(self.settings, self.preset)

    def _on_preset_combo_activated(self, index: int) -> None:
        self.choose_preset(str(self.preset_combo.itemData(index)))

    def _sync_preset_label(self) -> None:
        index = self.preset_combo.findData(self.preset)
        self.preset_combo.blockSignals(True)
        self.preset_combo.setCurrentIndex(index)
        self.preset_combo.blockSignals(False)
        base = self.store.get(self.preset)
        modified = base is None or base != self.settings
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
        self.preset = self.store.save(name, self.settings)
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
        self._updating = False
        self._text_timer.stop()
        self._sync_preset_label()
        self._refresh_picture()

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
