"""The Sampling panel's sections, each built onto the panel: presets, the chart, samplers, limits, loading.

One function per box, so ``panel.py`` keeps only the panel's behaviour. Each puts the
widgets it makes on the panel under their usual names (``panel.temperature``'s
control in ``panel.controls``, ``panel.stop_edit``…) and returns the box or row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
)

from app.core.sampling import SamplingSettings
from app.core.system import threads_from_env
from app.ui.sampling.chart import CHART_LEGEND, NextTokenChart
from app.ui.sampling.controls import NumberControl

if TYPE_CHECKING:
    from app.ui.sampling.panel import SamplingPanel

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


def preset_row(panel: SamplingPanel) -> QHBoxLayout:
    """The preset selector, the "modified" mark and the Presets menu."""
    preset_row = QHBoxLayout()
    panel.preset_combo = QComboBox()
    panel.preset_combo.setObjectName("presetSelector")
    panel.preset_combo.setToolTip("Presets: named sets of sampling settings")
    panel.modified_label = QLabel()
    panel.modified_label.setObjectName("presetModifiedLabel")
    panel.preset_menu_button = QToolButton(text="Presets")
    panel.preset_menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    menu = QMenu(panel.preset_menu_button)
    panel.save_action = menu.addAction("Save as new preset…")
    panel.update_action = menu.addAction("Save changes to this preset")
    panel.rename_action = menu.addAction("Rename preset…")
    panel.delete_action = menu.addAction("Delete preset")
    menu.addSeparator()
    panel.import_action = menu.addAction("Import presets (JSON)…")
    panel.export_action = menu.addAction("Export presets (JSON)…")
    panel.preset_menu_button.setMenu(menu)
    preset_row.addWidget(QLabel("Preset:"))
    preset_row.addWidget(panel.preset_combo, 1)
    preset_row.addWidget(panel.modified_label)
    preset_row.addWidget(panel.preset_menu_button)
    return preset_row


def chart_box(panel: SamplingPanel) -> QGroupBox:
    """What could come next: the next-token chart, its legend and what it is about."""
    chart_box = QGroupBox("What could come next")
    chart_layout = QVBoxLayout(chart_box)
    panel.chart_context = QLabel()  # which text the bars are about: the chat's draft, Write's cursor
    panel.chart_context.setObjectName("chartContext")
    panel.chart_context.setWordWrap(True)
    panel.chart = NextTokenChart()
    panel.chart_legend = QLabel(CHART_LEGEND)
    panel.chart_legend.setObjectName("chartLegend")
    panel.chart_legend.setWordWrap(True)
    panel.chart_note = QLabel(panel.CHART_NOTE)
    panel.chart_note.setWordWrap(True)
    panel.chart_note.setObjectName("settingHelp")
    chart_layout.addWidget(panel.chart_context)
    chart_layout.addWidget(panel.chart)
    chart_layout.addWidget(panel.chart_legend)
    chart_layout.addWidget(panel.chart_note)
    return chart_box


def sampling_box(panel: SamplingPanel) -> QGroupBox:
    """Every sampler as a control: the classic ones, Mirostat, DRY / XTC / top-nσ, the seed."""
    sampling_box = QGroupBox("Sampling: how the next token is chosen")
    sampling_layout = QVBoxLayout(sampling_box)
    defaults = SamplingSettings()
    for field, label, decimals, step, slider_name, spin_name, bounds in NUMBER_ROWS:
        low, high = bounds if bounds else (None, None)
        control = NumberControl(field, label, getattr(defaults, field), decimals=decimals, step=step,
                                slider_name=slider_name, spin_name=spin_name, low=low, high=high)
        panel.controls[field] = control
        sampling_layout.addWidget(control)

    panel.mirostat_combo = QComboBox()
    panel.mirostat_combo.setObjectName("mirostatModeCombo")
    panel.mirostat_combo.addItems(["Off", "Mirostat 1", "Mirostat 2"])
    panel.mirostat_combo.setToolTip("Mirostat steers how surprising the text is, instead of top-k/top-p.")
    mirostat_help = QLabel("<b>Mirostat</b> — keeps the text's surprise near a target; "
                           "replaces top-k, top-p and min-p when on.")
    mirostat_help.setWordWrap(True)
    sampling_layout.addWidget(mirostat_help)
    sampling_layout.addWidget(panel.mirostat_combo)
    for field, label, decimals, step in MIROSTAT_ROWS:
        control = NumberControl(field, label, getattr(defaults, field), decimals=decimals, step=step,
                                spin_name=field.replace("_", "") + "Spin")
        panel.controls[field] = control
        sampling_layout.addWidget(control)

    modern_help = QLabel("<b>Against repetition and sameness</b> — DRY stops the text from copying passages it "
                         "already contains; XTC now and then sets the most obvious choices aside; top-nσ keeps "
                         "only clearly plausible tokens, even at a high temperature.")
    modern_help.setWordWrap(True)
    sampling_layout.addWidget(modern_help)
    for field, label, decimals, step, spin_name in MODERN_ROWS:
        control = NumberControl(field, label, getattr(defaults, field), decimals=decimals, step=step,
                                spin_name=spin_name, high=4096 if field == "dry_penalty_last_n" else None)
        panel.controls[field] = control
        sampling_layout.addWidget(control)
    panel.dry_breakers_edit = QLineEdit()
    panel.dry_breakers_edit.setObjectName("dryBreakersEdit")
    panel.dry_breakers_edit.setToolTip("DRY: a repeat ends at any of these (JSON list of strings, e.g. [\"\\n\", \":\"]).")
    breakers_row = QHBoxLayout()
    breakers_row.addWidget(QLabel("<b>DRY breakers</b>"))
    breakers_row.addWidget(panel.dry_breakers_edit, 1)
    sampling_layout.addLayout(breakers_row)

    seed_row = QHBoxLayout()
    panel.random_seed_check = QCheckBox("Random seed")
    panel.random_seed_check.setObjectName("randomSeedCheck")
    panel.seed_spin = QSpinBox()
    panel.seed_spin.setObjectName("seedSpin")
    panel.seed_spin.setRange(0, 2_147_483_647)
    panel.seed_spin.setToolTip("The same seed with the same settings and text gives the same reply.")
    panel.dice_button = QToolButton(text="New seed")  # words: a dice emoji is a missing-glyph box on many systems
    panel.dice_button.setObjectName("seedDiceButton")
    panel.dice_button.setToolTip("Pick a new fixed seed")
    seed_label_row = QHBoxLayout()  # two rows: one would make the dock wider than a small window allows
    seed_label_row.addWidget(QLabel("<b>Seed</b>"))
    seed_label_row.addWidget(panel.random_seed_check, 1)
    seed_row.addWidget(panel.seed_spin, 1)
    seed_row.addWidget(panel.dice_button)
    sampling_layout.addLayout(seed_label_row)
    sampling_layout.addLayout(seed_row)
    seed_help = QLabel("Random gives a different reply each time; a fixed seed repeats a reply exactly.")
    seed_help.setWordWrap(True)
    seed_help.setObjectName("settingHelp")
    sampling_layout.addWidget(seed_help)
    return sampling_box


def limits_box(panel: SamplingPanel) -> QGroupBox:
    """Stop strings, banned words, and a JSON schema or grammar the output must follow."""
    limits_box = QGroupBox("Limits and constraints")
    form = QFormLayout(limits_box)
    panel.stop_edit = QPlainTextEdit()
    panel.stop_edit.setObjectName("stopStringsEdit")
    panel.stop_edit.setPlaceholderText("One stop string per line, e.g. ###")
    panel.stop_edit.setFixedHeight(54)
    panel.stop_edit.setToolTip("The reply ends as soon as it would contain one of these.")
    form.addRow("Stop strings", panel.stop_edit)
    panel.banned_edit = QLineEdit()
    panel.banned_edit.setObjectName("bannedWordsEdit")
    panel.banned_edit.setPlaceholderText("comma-separated words the model must not start")
    panel.banned_edit.setToolTip("Words the model may not use (their first token is banned).")
    form.addRow("Banned words", panel.banned_edit)
    panel.constraint_combo = QComboBox()
    panel.constraint_combo.setObjectName("constraintModeCombo")
    panel.constraint_combo.addItems(["None", "JSON schema", "Grammar (GBNF)"])
    panel.constraint_edit = QPlainTextEdit()
    panel.constraint_edit.setObjectName("constraintEdit")
    panel.constraint_edit.setFixedHeight(80)
    panel.constraint_edit.setPlaceholderText('e.g. {"type": "object", "properties": {"name": {"type": "string"}}}')
    form.addRow("Constrain output", panel.constraint_combo)
    form.addRow("", panel.constraint_edit)
    panel.constraint_error = QLabel()
    panel.constraint_error.setObjectName("constraintError")
    panel.constraint_error.setWordWrap(True)
    form.addRow("", panel.constraint_error)
    return limits_box


def load_box(panel: SamplingPanel) -> QGroupBox:
    """Load-time options (context, GPU layers, threads) and the reload button."""
    load_box = QGroupBox("Model loading (reload to apply)")
    load_form = QFormLayout(load_box)
    panel.ctx_spin = QSpinBox()
    panel.ctx_spin.setObjectName("contextLengthSpin")
    panel.ctx_spin.setRange(256, 131072)
    panel.ctx_spin.setSingleStep(256)
    panel.ctx_spin.setToolTip("How many tokens the model can see at once. More needs more memory.")
    panel.gpu_spin = QSpinBox()
    panel.gpu_spin.setObjectName("gpuLayersSpin")
    panel.gpu_spin.setRange(-1, 999)
    panel.gpu_spin.setSpecialValueText("all")
    panel.threads_spin = QSpinBox()
    panel.threads_spin.setObjectName("threadsSpin")
    panel.threads_spin.setRange(0, 256)
    pinned = threads_from_env()
    # "automatic" is true only where the engine tunes the count; INKLING_THREADS pins it (app.engine.threads)
    panel.threads_spin.setSpecialValueText(f"{pinned} (INKLING_THREADS)" if pinned else "automatic")
    panel.threads_spin.setToolTip(
        "How many CPU threads llama.cpp uses. Automatic measures decode speed while the model writes: "
        "it uses fewer threads while other programs keep the cores busy and more when they are idle. "
        "A number pins it.")
    panel.reload_button = QPushButton("Reload model to apply")
    panel.reload_button.setObjectName("reloadModelButton")
    load_form.addRow("Context length", panel.ctx_spin)
    load_form.addRow("GPU layers", panel.gpu_spin)
    panel.gpu_note = QLabel()  # why GPU layers is off, in words on the panel (not only in a tooltip)
    panel.gpu_note.setObjectName("gpuLayersNote")
    panel.gpu_note.setWordWrap(True)
    panel.gpu_note.hide()
    load_form.addRow("", panel.gpu_note)
    load_form.addRow("CPU threads", panel.threads_spin)
    load_form.addRow(panel.reload_button)
    return load_box
