"""One numeric setting as a labelled slider + spin box, with a reset button and plain-words help."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QGridLayout, QLabel, QSlider, QSpinBox, QToolButton, QWidget

from app.core.sampling import LIMITS


class NumberControl(QWidget):
    """Slider and spin box kept in step; emits ``value_changed`` once per user change."""

    value_changed = Signal(str, float)
    """(field name, new value)."""

    def __init__(self, field: str, label: str, default: float, *, decimals: int = 2, step: float = 0.01,
                 slider_name: str = "", spin_name: str = "", low: float | None = None, high: float | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = field
        self.default = default
        self.decimals = decimals
        limits = LIMITS[field]
        self.low = limits.low if low is None else low
        self.high = limits.high if high is None else high
        self.scale = 10**decimals
        self._build(label, limits.help, step, slider_name, spin_name)
        self._connect_signals()
        self.set_value(default)

    def _build(self, label: str, help_text: str, step: float, slider_name: str, spin_name: str) -> None:
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 2, 0, 2)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(0)
        self.label = QLabel(f"<b>{label}</b>")
        self.label.setWordWrap(True)  # a narrow Sampling dock wraps "Frequency penalty" rather than clipping
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimumWidth(40)
        self.slider.setRange(int(self.low * self.scale), int(self.high * self.scale))
        if self.decimals:
            self.spin: QSpinBox | QDoubleSpinBox = QDoubleSpinBox()
            self.spin.setDecimals(self.decimals)
            self.spin.setSingleStep(step)
        else:
            self.spin = QSpinBox()
            self.spin.setSingleStep(int(step) or 1)
        self.spin.setRange(self.low, self.high)  # type: ignore[arg-type]
        self.spin.setKeyboardTracking(False)
        self.spin.setMinimumWidth(64)
        if slider_name:
            self.slider.setObjectName(slider_name)
        if spin_name:
            self.spin.setObjectName(spin_name)
        self.reset_button = QToolButton(text="↺")
        self.reset_button.setToolTip(f"Reset to {self.default:g}")
        self.reset_button.setAutoRaise(True)
        self.help = QLabel(help_text)
        self.help.setWordWrap(True)
        self.help.setObjectName("settingHelp")
        tip = f"{label}: {help_text}"
        for w in (self.label, self.slider, self.spin):
            w.setToolTip(tip)
        grid.addWidget(self.label, 0, 0)
        grid.addWidget(self.slider, 0, 1)
        grid.addWidget(self.spin, 0, 2)
        grid.addWidget(self.reset_button, 0, 3)
        grid.addWidget(self.help, 1, 0, 1, 4)
        grid.setColumnStretch(1, 1)

    def _connect_signals(self) -> None:
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        self.spin.valueChanged.connect(self._on_spin_value_changed)
        self.reset_button.clicked.connect(self._on_reset_button_clicked)

    def set_default(self, value: float, source: str = "") -> None:
        """What ↺ goes back to (the preset's value, not the app's), and its tooltip says which."""
        self.default = value
        self.reset_button.setToolTip(f"Reset to {value:g}{f' ({source})' if source else ''}")

    def _on_reset_button_clicked(self) -> None:
        self._apply(self.default)

    def value(self) -> float:
        return float(self.spin.value())

    def set_value(self, value: float) -> None:
        """Show a value without emitting (programmatic changes, e.g. a preset)."""
        for w in (self.slider, self.spin):
            w.blockSignals(True)
        self.spin.setValue(value if self.decimals else int(value))  # type: ignore[arg-type]
        self.slider.setValue(round(value * self.scale))
        for w in (self.slider, self.spin):
            w.blockSignals(False)

    def _apply(self, value: float) -> None:
        self.set_value(value)
        self.value_changed.emit(self.field, self.value())

    def _on_slider_value_changed(self, raw: int) -> None:
        self._apply(raw / self.scale)

    def _on_spin_value_changed(self, value: float) -> None:
        self._apply(float(value))
