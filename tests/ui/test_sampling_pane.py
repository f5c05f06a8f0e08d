"""The Sampling pane: controls drive the requests, presets drive the controls, the chart follows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ui.fake_engine import FakeEngine

from app.core.paths import app_paths
from app.core.preferences import Preferences
from app.core.sampling import BUILTIN_PRESETS
from app.core.storage import Storage
from app.main import compose_window
from app.models.library import ModelLibrary
from app.ui.engine_bridge import EngineBridge
from app.ui.sampling.panel import NUMBER_ROWS


@pytest.fixture
def fake(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("INKLING_HOME", str(tmp_path / "home"))
    paths = app_paths().ensure()
    storage = Storage(paths.database)
    engine = FakeEngine("Once upon a time.", piece=4, delay=0.001)
    bridge = EngineBridge(engine)
    window = compose_window(paths, Preferences(), storage, bridge, ModelLibrary(paths.models))
    qtbot.addWidget(window)
    window.show()
    bridge.load("/fake.gguf")
    qtbot.waitUntil(lambda: bridge.free)
    yield window, engine
    window.close()


def test_moving_the_temperature_slider_changes_the_next_chat_and_completion(qtbot, fake) -> None:
    window, engine = fake
    slider = window.findChild(type(window.sampling.controls["temperature"].slider), "temperatureSlider")
    assert slider is not None
    slider.setValue(135)  # what a drag ends with
    window.chat.composer.setPlainText("Hi")
    with qtbot.waitSignal(window.chat.reply_finished, timeout=10_000):
        window.chat.send_button.click()
    assert engine.requests[-1][0] == "chat" and engine.requests[-1][1].temperature == pytest.approx(1.35)

    window.tabs.setCurrentWidget(window.write)
    slider.setValue(25)
    window.write.editor.setPlainText("Once")
    with qtbot.waitSignal(window.write.suggestion_finished, timeout=10_000):
        window.write.continue_button.click()
    assert engine.requests[-1][0] == "complete" and engine.requests[-1][1].temperature == pytest.approx(0.25)
    # each keeps its own: back in Chat the panel shows the chat's temperature again
    window.tabs.setCurrentWidget(window.chat)
    assert window.sampling.controls["temperature"].value() == pytest.approx(1.35)
    stored = json.loads(window.storage.conversation(window.chat.conversation.id).settings)
    assert stored["temperature"] == pytest.approx(1.35)


def test_switching_presets_updates_every_control(qtbot, fake) -> None:
    window, _ = fake
    panel = window.sampling
    for preset in BUILTIN_PRESETS:
        index = panel.preset_combo.findData(preset.name)
        panel.preset_combo.setCurrentIndex(index)
        panel.preset_combo.activated.emit(index)
        for field, *_ in NUMBER_ROWS:
            assert panel.controls[field].value() == pytest.approx(getattr(preset.settings, field)), (preset.name, field)
        assert panel.random_seed_check.isChecked() == (preset.settings.seed is None)
        assert panel.modified_label.text() == ""
        assert window.chat.sampling == preset.settings
    panel.controls["top_k"].spin.setValue(7)
    assert panel.modified_label.text() == "(modified)"
    assert window.chat.sampling.top_k == 7


def test_the_chart_changes_when_temperature_changes(qtbot, fake) -> None:
    window, _ = fake
    panel = window.sampling
    panel.set_candidates([(" the", 1, 5.0), (" a", 2, 4.0), (" an", 3, 3.0), (" one", 4, 1.0)], 5.5)
    cold = [round(a, 4) for _, _, a in panel.chart.rows()]
    panel.controls["temperature"].slider.setValue(150)
    hot = [round(a, 4) for _, _, a in panel.chart.rows()]
    assert cold != hot
    assert hot[0] < cold[0]  # a higher temperature flattens the distribution
    before = [round(b, 4) for _, b, _ in panel.chart.rows()]
    assert all(0 < b < 1 for b in before) and sum(before) <= 1
    panel.controls["temperature"].slider.setValue(0)
    assert [a for _, _, a in panel.chart.rows()] == [1.0, 0.0, 0.0, 0.0]  # greedy


def test_the_chart_is_fed_by_the_engine_for_the_current_chat(qtbot, fake) -> None:
    window, _ = fake
    window.chat.composer.setPlainText("Tell me a story.")  # the chart is about the reply to what is typed
    window.refresh_preview()
    qtbot.waitUntil(lambda: bool(window.sampling.chart.rows()), timeout=5_000)
    assert window.sampling.chart.rows()[0][0] == "␣a"


def test_user_presets_save_rename_delete_export_import(qtbot, fake, tmp_path: Path) -> None:
    window, _ = fake
    panel = window.sampling
    panel.controls["min_p"].spin.setValue(0.2)
    panel.save_preset("My style")
    assert panel.preset_combo.currentData() == "My style" and panel.modified_label.text() == ""
    panel.rename_preset("House style")
    assert "House style" in panel.presets() and "My style" not in panel.presets()
    panel.export_presets(tmp_path / "presets.json")
    panel.delete_preset()
    assert "House style" not in panel.presets()
    assert panel.import_presets(tmp_path / "presets.json") == 1
    assert panel.presets()["House style"].min_p == pytest.approx(0.2)
    with pytest.raises(Exception, match="built-in"):
        panel.save_preset("Balanced")


def test_load_options_are_apart_and_gpu_layers_say_why_when_unavailable(qtbot, fake) -> None:
    window, _ = fake
    panel = window.sampling
    panel.show_load_options(window.bridge.options, gpu_available=False)
    assert not panel.gpu_spin.isEnabled() and "no GPU" in panel.gpu_spin.toolTip()
    panel.ctx_spin.setValue(2048)
    with qtbot.waitSignal(panel.reload_requested) as asked:
        panel.reload_button.click()
    assert asked.args[0].n_ctx == 2048


def test_every_control_explains_itself_and_resets(qtbot, fake) -> None:
    window, _ = fake
    window.sampling.mirostat_combo.setCurrentIndex(0)
    assert not window.sampling.controls["mirostat_tau"].isEnabled()  # tau/eta mean nothing while mirostat is off
    window.sampling.mirostat_combo.setCurrentIndex(2)  # so that every control can be operated
    window.sampling.controls["dry_multiplier"].spin.setValue(0.8)  # (DRY's details too; its strength goes last)
    for control in sorted(window.sampling.controls.values(), key=lambda c: c.field == "dry_multiplier"):
        assert len(control.help.text()) > 20
        control.spin.setValue(control.high)
        control.reset_button.click()
        assert control.value() == pytest.approx(control.default)


def test_a_bad_json_schema_is_shown_not_applied(qtbot, fake) -> None:
    window, _ = fake
    panel = window.sampling
    panel.constraint_combo.setCurrentIndex(1)
    panel.constraint_edit.setPlainText("{not json")
    qtbot.waitUntil(lambda: "not valid JSON" in panel.constraint_error.text(), timeout=3_000)
    assert panel.settings.json_schema == ""
    panel.constraint_edit.setPlainText('{"type": "object"}')
    qtbot.waitUntil(lambda: panel.settings.json_schema == '{"type": "object"}', timeout=3_000)
    assert panel.constraint_error.text() == ""


def test_mirostat_is_shown_honestly_in_the_chart(qtbot, fake) -> None:
    window, _ = fake
    panel = window.sampling
    panel.set_candidates([(" the", 1, 5.0), (" a", 2, 4.0), (" an", 3, 3.0), (" one", 4, 1.0)], 5.5)
    panel.controls["top_k"].spin.setValue(1)
    assert [a for _, _, a in panel.chart.rows()][1:] == [0.0, 0.0, 0.0]  # top-k 1 leaves one candidate
    assert "Mirostat" not in panel.chart_note.text()
    panel.mirostat_combo.setCurrentIndex(2)
    after = [a for _, _, a in panel.chart.rows()]
    assert all(a > 0 for a in after)  # under mirostat the engine skips top-k: the chart must not cut by it
    assert "not pictured" in panel.chart_note.text() and "Mirostat" in panel.chart_note.text()
    panel.mirostat_combo.setCurrentIndex(0)
    assert "Mirostat" not in panel.chart_note.text()
