"""The chat's "Think" switch and thinking budget, beside the context meter.

Shown only where they mean something: a local model whose chat template names
thinking markers or reads ``enable_thinking``, or a server (which may think; the
switch goes to it as ``chat_template_kwargs``). The switch is enabled where the
template can turn thinking off; the budget where the local engine enforces it.
Both are the open chat's settings (``SamplingSettings.thinking`` and
``thinking_budget``), saved with the chat like its other settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from app.core.events import ModelInfo

if TYPE_CHECKING:
    from app.ui.chat.chat_pane import ChatPane

NO_LIMIT = "no limit"


class ThinkControls(QWidget):
    """"Think" and "Thinking budget" for the open chat; hidden for a model that does not think."""

    def __init__(self, pane: ChatPane) -> None:
        super().__init__(pane)
        self.pane = pane
        self.setObjectName("thinkControls")
        self.think_box = QCheckBox("Think")
        self.think_box.setObjectName("thinkSwitch")
        self.think_box.setToolTip("Let the model reason before it answers (its template's enable_thinking)")
        self.budget_box = QSpinBox()
        self.budget_box.setObjectName("thinkingBudget")
        self.budget_box.setRange(-1, 32768)
        self.budget_box.setSingleStep(64)
        self.budget_box.setSpecialValueText(NO_LIMIT)  # shown for -1
        self.budget_box.setSuffix(" tokens")
        self.budget_box.setToolTip("After this many tokens of thinking the model is made to answer (0: at once)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addStretch(1)
        layout.addWidget(self.think_box)
        layout.addWidget(QLabel("Budget:"))
        layout.addWidget(self.budget_box)
        self.hide()
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.think_box.toggled.connect(self._on_think_box_toggled)
        self.budget_box.valueChanged.connect(self._on_budget_box_value_changed)
        self.pane.bridge.model_loaded.connect(self._on_bridge_model_loaded)
        self.pane.conversation_changed.connect(self._on_pane_conversation_changed)

    def show_for(self, info: ModelInfo | None, remote: bool) -> None:
        """Show the controls for this model, with the open chat's values."""
        thinks = info is not None and (remote or bool(info.thinking_markers) or info.think_switch)
        self.setVisible(thinks)
        self.think_box.setEnabled(remote or (info is not None and info.think_switch))
        self.budget_box.setEnabled(not remote)
        if remote:
            self.budget_box.setToolTip("A server applies its own thinking budget (llama-server's --reasoning-budget)")
        self._show_values()

    def _show_values(self) -> None:
        settings = self.pane.sampling
        for widget, value in ((self.think_box, settings.thinking), (self.budget_box, settings.thinking_budget)):
            widget.blockSignals(True)
            if isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            else:
                widget.setValue(int(value))
            widget.blockSignals(False)

    def _on_bridge_model_loaded(self, info: ModelInfo) -> None:
        self.show_for(info, self.pane.bridge.engine.capabilities.remote)

    def _on_pane_conversation_changed(self, _conversation_id: int) -> None:
        self._show_values()

    def _on_think_box_toggled(self, on: bool) -> None:
        self._change(thinking=on)

    def _on_budget_box_value_changed(self, value: int) -> None:
        self._change(thinking_budget=value)

    def _change(self, **changes: object) -> None:
        self.pane.set_sampling(self.pane.sampling.replace(**changes), self.pane.preset)
        self.pane.session_changed.emit()  # the Sampling panel shows (and edits from) the settings as they are now
