"""The Sampling panel edits the session whose settings it shows, also while a pane without one is in view.

The Models tab has no chat or document: the panel keeps showing the session it
showed last, and a slider moved there changes that session. It once saved the
panel's settings (a document's, shown last) into the open chat instead.
"""

from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QSlider

from app.ui.main_window import MainWindow


def _slider(window: MainWindow, name: str) -> QSlider:
    slider = window.findChild(QSlider, name)
    assert slider is not None, name
    return slider


def test_a_slider_moved_on_the_models_tab_changes_the_session_the_panel_shows(qtbot, window: MainWindow) -> None:
    temperature, top_p = _slider(window, "temperatureSlider"), _slider(window, "topPSlider")
    window.tabs.setCurrentWidget(window.chat)
    temperature.setValue(20)  # the chat: 0.20, as a drag ends
    chat_settings = window.chat.sampling
    window.tabs.setCurrentWidget(window.write)
    temperature.setValue(135)  # the document: 1.35
    document = window.write.sampling_owner()
    assert document is not None

    window.tabs.setCurrentWidget(window.models)
    assert temperature.value() == 135  # the panel still shows the document's settings...
    top_p.setValue(50)  # ...so this is a change to the document

    chat = window.chat.sampling_owner()
    assert chat is not None
    assert chat.sampling == chat_settings, (
        f"the chat got the document's settings: temperature {chat.sampling.temperature}, top-p {chat.sampling.top_p}")
    stored = json.loads(window.storage.conversation(chat.id).settings)
    assert stored["temperature"] == pytest.approx(0.2) and stored["top_p"] == pytest.approx(chat_settings.top_p)
    assert document.sampling.top_p == pytest.approx(0.5) and document.sampling.temperature == pytest.approx(1.35)

    window.tabs.setCurrentWidget(window.chat)  # each keeps its own
    assert temperature.value() == 20 and top_p.value() == round(chat_settings.top_p * 100)
    window.tabs.setCurrentWidget(window.write)
    assert temperature.value() == 135 and top_p.value() == 50
