"""The window's adapter switching: the Sampling panel's picker, the engine bridge, the status bar, errors.

A pick goes to the engine at once (on the loaded model, no reload); only when the engine took
it does it become the open session's choice, and the status bar says the adapter is on and
the prompt cache was cleared. A refusal (an adapter for another base model, a file that is
not one, a server) goes to the error presenter with its reason, and the previous choice stays.
With no model yet, the choice is kept and put on before the first request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.core.adapters import AdapterInfo, adapter_words
from app.core.errors import FeatureUnavailable
from app.core.events import ModelInfo

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

STATUS_MS = 8000


class AdapterWiring:
    """Connects the picker to the bridge for one window."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        panel, bridge = window.sampling, window.bridge
        panel.adapter_requested.connect(self.request)
        bridge.adapter_switched.connect(self._on_switched)
        bridge.adapter_refused.connect(window.presenter.present)
        bridge.model_loaded.connect(self._on_model_loaded)

    def request(self, path: str, scale: float) -> None:
        """The person picked ``path`` ("" none) at ``scale`` for the session in view."""
        window = self.window
        panel, bridge = window.sampling, window.bridge
        before = (panel.settings.adapter, panel.settings.adapter_scale)
        caps = bridge.engine.capabilities
        if path and not caps.adapters:
            panel.adapter_picker.show_choice(*before)
            window.presenter.present(FeatureUnavailable("adapters", caps.why_not("adapters")))
            return
        if not bridge.usable:  # no model yet: kept, and put on before the first request
            panel.apply_adapter(path, scale)
            window.statusBar().showMessage("The adapter goes on when a model is loaded", STATUS_MS)
            return
        bridge.switch_adapter(path, scale, on_success=lambda _info: panel.apply_adapter(path, scale),
                              on_failure=lambda _exc: panel.adapter_picker.show_choice(*before))

    def _on_switched(self, info: AdapterInfo) -> None:
        self.window.statusBar().showMessage(adapter_words(info), STATUS_MS)

    def _on_model_loaded(self, _info: ModelInfo) -> None:
        caps = self.window.bridge.engine.capabilities
        self.window.sampling.adapter_picker.set_available(caps.adapters, caps.why_not("adapters"))
