"""The stores are the only writers and every view follows them: presets, servers and the model list.

- A preset renamed in one pane is the preset of every chat and document that used it: the Write
  pane's selector shows the new name, unmodified, and the stored document says so too (before, the
  other pane showed no preset and "(modified)", and its row kept the old name).
- A preset saved, renamed, deleted or imported anywhere shows in the selector at once (it follows
  the store's announcements, not the call that made the change).
"""

from __future__ import annotations

from app.ui.main_window import MainWindow


def _preset_shown(window: MainWindow) -> tuple[str, str]:
    panel = window.sampling
    return panel.preset_combo.currentText(), panel.modified_label.text()


def _choose(window: MainWindow, name: str) -> None:
    combo = window.sampling.preset_combo
    index = combo.findData(name)
    assert index >= 0, f"{name} is not in the preset selector"
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_a_preset_renamed_in_chat_is_renamed_for_the_document_that_uses_it(qtbot, fake_engine_window) -> None:
    window = fake_engine_window
    panel = window.sampling
    panel.controls["temperature"].slider.setValue(35)
    panel.save_preset("My style")  # Presets ▸ Save as new preset… (the dialog gives the name)
    window.tabs.setCurrentWidget(window.write)
    _choose(window, "My style")
    assert window.write.preset == "My style" and _preset_shown(window) == ("My style", "")

    window.tabs.setCurrentWidget(window.chat)
    panel.rename_preset("House style")  # Presets ▸ Rename preset…
    assert _preset_shown(window) == ("House style", "")

    window.tabs.setCurrentWidget(window.write)
    assert _preset_shown(window) == ("House style", ""), "the document still names the preset by its old name"
    assert window.write.preset == "House style"
    doc = window.write.session
    assert window.storage.document(doc.id).preset == "House style"


def test_the_selector_follows_the_store_whoever_changes_it(qtbot, fake_engine_window) -> None:
    window = fake_engine_window
    combo = window.sampling.preset_combo
    names = lambda: [combo.itemData(i) for i in range(combo.count())]  # noqa: E731
    window.presets.save("Made elsewhere", window.chat.sampling)  # not through the panel
    assert "Made elsewhere" in names()
    window.presets.rename("Made elsewhere", "Renamed elsewhere")
    assert "Renamed elsewhere" in names() and "Made elsewhere" not in names()
    window.presets.delete("Renamed elsewhere")
    assert "Renamed elsewhere" not in names()
