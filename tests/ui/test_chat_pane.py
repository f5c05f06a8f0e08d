"""The Chat pane driven like a person would, with the real starter model."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from long_reply import forced
from PySide6.QtCore import Qt
from ui.conftest import open_window, rename_with_f2, send

from app.core.sampling import SamplingSettings
from app.ui.main_window import MainWindow

SHORT = SamplingSettings(temperature=0.0, max_tokens=40)
LONG = forced(SamplingSettings(temperature=0.9, max_tokens=1500, seed=3))  # still streaming when stopped or killed


def _assistant_widgets(window: MainWindow) -> list:
    return [w for w in window.chat.transcript.widgets.values() if w.message.role == "assistant"]


def test_send_streams_a_reply_into_the_transcript(qtbot, window: MainWindow) -> None:
    window.chat.set_sampling(SHORT)
    batches: list[int] = []
    window.chat.composer.setPlainText("Name three colours.")
    # the reply's stream starts once the chat is fitted into the context (off the GUI thread): watch it from its start
    def watch(busy: bool) -> None:
        if busy:
            window.bridge.active.tokens_arrived.connect(lambda batch: batches.append(len(batch)))

    window.bridge.busy_changed.connect(watch)
    with qtbot.waitSignal(window.chat.reply_finished, timeout=60_000) as done:
        window.chat.send_button.click()
    fin = done.args[0]
    assert fin.reason in ("stop", "length") and fin.text.strip()
    assert sum(batches) >= 3  # it arrived in pieces, not at once
    widget = _assistant_widgets(window)[-1]
    assert widget.body.source_text == fin.text
    assert "tok/s" in widget.status_label.text()
    assert window.chat.composer.toPlainText() == ""
    saved = window.storage.messages(window.chat.conversation.id)
    assert [m.role for m in saved] == ["user", "assistant"] and saved[1].status == "done"
    assert window.chat.conversation.title == "Name three colours."  # automatic title
    assert "Context" in window.context_status.text()


def test_stop_keeps_the_partial_reply_marked_stopped(qtbot, window: MainWindow) -> None:
    window.chat.set_sampling(LONG)
    window.chat.composer.setPlainText("Tell me a very long story about a lighthouse.")
    with qtbot.waitSignal(window.chat.reply_finished, timeout=60_000) as done:
        window.chat.send_button.click()
        qtbot.waitUntil(lambda: window.chat.reply is not None and len(window.chat.reply.text) > 40, timeout=30_000)
        assert window.chat.stop_button.isEnabled()
        qtbot.keyClick(window.chat.composer, Qt.Key.Key_Escape)  # Esc stops
    fin = done.args[0]
    assert fin.reason == "cancelled"
    saved = window.storage.messages(window.chat.conversation.id)[-1]
    assert saved.status == "stopped" and len(saved.content) > 40
    widget = _assistant_widgets(window)[-1]
    assert "stopped" in widget.status_label.text() or "cancelled" in widget.status_label.text()
    assert widget.body.source_text == saved.content
    assert not window.chat.stop_button.isEnabled()


def test_regenerate_and_edit_make_versions_the_arrows_switch(qtbot, window: MainWindow) -> None:
    window.chat.set_sampling(SamplingSettings(temperature=1.0, max_tokens=30, seed=1))
    first = send(qtbot, window, "Say something about cats.")
    window.chat.set_sampling(SamplingSettings(temperature=1.0, max_tokens=30, seed=2))
    with qtbot.waitSignal(window.chat.reply_finished, timeout=60_000) as regen:
        qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)  # Ctrl+R
    second = regen.args[0]
    reply = _assistant_widgets(window)[-1]
    assert reply.version_label.text() == "2/2" and reply.prev_button.isEnabled()
    reply.prev_button.click()
    reply = _assistant_widgets(window)[-1]
    assert reply.version_label.text() == "1/2"
    assert reply.body.source_text == first.text
    reply.next_button.click()
    assert _assistant_widgets(window)[-1].body.source_text == second.text

    user = next(w for w in window.chat.transcript.widgets.values() if w.message.role == "user")
    user.edit_button.click()
    user.editor.setPlainText("Say something about dogs.")
    with qtbot.waitSignal(window.chat.reply_finished, timeout=60_000):
        user.save_button.click()
    user = next(w for w in window.chat.transcript.widgets.values() if w.message.role == "user")
    assert user.body.source_text == "Say something about dogs." and user.version_label.text() == "2/2"
    user.prev_button.click()
    user = next(w for w in window.chat.transcript.widgets.values() if w.message.role == "user")
    assert user.body.source_text == "Say something about cats."
    assert _assistant_widgets(window)[-1].version_label.text() == "2/2"  # the cat branch kept both replies
    all_messages = window.storage.messages(window.chat.conversation.id)
    assert len(all_messages) == 5  # nothing erased: 2 questions, 3 replies


def test_a_new_window_over_the_same_home_shows_everything_again(qtbot, tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "home"
    first = open_window(qtbot, home, monkeypatch)
    first.chat.set_sampling(SHORT)
    send(qtbot, first, "What is the capital of France?")
    send(qtbot, first, "And of Italy?")
    first.chat.system_edit.setText("You are a geography teacher.")
    first.chat.system_edit.editingFinished.emit()
    first.chat.composer.setPlainText("an unsent draft")
    texts = [w.body.source_text for w in first.chat.transcript.widgets.values()]
    conversation_id = first.chat.conversation.id
    first.close()

    second = open_window(qtbot, home, monkeypatch)
    assert second.chat.conversation.id == conversation_id
    assert [w.body.source_text for w in second.chat.transcript.widgets.values()] == texts
    assert second.chat.system_edit.text() == "You are a geography teacher."
    assert second.chat.composer.toPlainText() == "an unsent draft"
    assert second.chat.list_model.rowCount() == 1
    second.close()


def test_conversations_new_rename_search_delete_and_undo(qtbot, window: MainWindow) -> None:
    chat = window.chat
    chat.set_sampling(SHORT)
    send(qtbot, window, "Tell me about volcanoes.")
    volcano = chat.conversation.id
    qtbot.mouseClick(chat.new_button, Qt.MouseButton.LeftButton)
    assert chat.conversation.id != volcano and not chat.path
    send(qtbot, window, "Recommend a book.")
    rename_with_f2(qtbot, window, "Reading list")
    assert next(r.title for r in chat.list_model.rows) == "Reading list"
    window.storage.update_conversation(volcano, title="Geography homework")  # the word is now only in a message
    chat.search_edit.setText("volcano")  # searches contents as well as titles
    assert [r.id for r in chat.list_model.rows] == [volcano]
    assert "volcano" not in chat.list_model.rows[0].title.lower()
    chat.search_edit.setText("reading")  # and titles
    assert [r.title for r in chat.list_model.rows] == ["Reading list"]
    chat.search_edit.clear()
    chat.delete_conversation(volcano)
    assert volcano not in [r.id for r in chat.list_model.rows]
    assert chat.undo_delete_button.isVisible()
    chat.undo_delete_button.click()
    assert volcano in [r.id for r in chat.list_model.rows]
    assert chat.conversation.id == volcano and chat.path


def test_export_and_import_round_trip(qtbot, window: MainWindow, tmp_path: Path) -> None:
    window.chat.set_sampling(SHORT)
    window.chat.system_edit.setText("Be brief.")
    send(qtbot, window, "What is 2 + 2?")
    send(qtbot, window, "And 3 + 3?")
    original = [(m.role, m.content) for m in window.chat.path]
    window.chat.export_to(tmp_path / "chat.json")
    window.chat.export_to(tmp_path / "chat.md")
    markdown = (tmp_path / "chat.md").read_text()
    assert "What is 2 + 2?" in markdown and "Be brief." in markdown
    data = json.loads((tmp_path / "chat.json").read_text())
    assert data["messages"] == [{"role": r, "content": c} for r, c in original]
    before = window.chat.conversation.id
    window.chat.import_from(tmp_path / "chat.json")
    assert window.chat.conversation.id != before
    assert [(m.role, m.content) for m in window.chat.path] == original
    assert window.chat.conversation.system_prompt == "Be brief."
    with pytest.raises(ValueError):
        (tmp_path / "bad.json").write_text('{"hello": 1}')
        window.chat.import_from(tmp_path / "bad.json")


def test_killing_the_engine_mid_reply_shows_an_error_and_the_next_message_is_answered(qtbot, window: MainWindow) -> None:
    window.chat.set_sampling(LONG)
    window.chat.composer.setPlainText("Write a long essay about rivers.")
    with qtbot.waitSignal(window.chat.reply_finished, timeout=60_000) as done:
        window.chat.send_button.click()
        qtbot.waitUntil(lambda: window.chat.reply is not None and len(window.chat.reply.text) > 20, timeout=30_000)
        os.kill(window.engine.pid, signal.SIGKILL)
    assert done.args[0].reason == "error"
    widget = _assistant_widgets(window)[-1]
    assert widget.error_row.isVisible()
    assert "stopped unexpectedly" in widget.error_label.text()
    assert widget.reload_button.isVisible() and widget.choose_button.isVisible()
    assert len(widget.body.source_text) > 20  # the partial text is kept
    window.chat.set_sampling(SHORT)
    fin = send(qtbot, window, "Are you back?")
    assert fin.reason in ("stop", "length") and fin.text.strip()
    assert window.isVisible()


def test_enter_sends_and_shift_enter_adds_a_line(qtbot, window: MainWindow) -> None:
    window.chat.set_sampling(SHORT)
    composer = window.chat.composer
    composer.setFocus()
    qtbot.keyClicks(composer, "first line")
    qtbot.keyClick(composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer, "second line")
    assert composer.toPlainText() == "first line\nsecond line"
    with qtbot.waitSignal(window.chat.reply_finished, timeout=60_000):
        qtbot.keyClick(composer, Qt.Key.Key_Return)
    assert window.chat.path[0].content == "first line\nsecond line"


def test_continue_makes_a_reply_longer_in_place(qtbot, window: MainWindow) -> None:
    window.chat.set_sampling(forced(SamplingSettings(temperature=0.0, max_tokens=12)))
    first = send(qtbot, window, "Tell me about the history of Rome.")
    assert first.reason == "length"
    reply = _assistant_widgets(window)[-1]
    with qtbot.waitSignal(window.chat.reply_finished, timeout=60_000) as more:
        reply.continue_button.click()
    assert more.args[0].timings.generated_tokens > 0
    saved = window.storage.messages(window.chat.conversation.id)
    assert len(saved) == 2  # the same reply grew; no new message
    assert saved[1].content.startswith(first.text) and len(saved[1].content) > len(first.text)
    assert _assistant_widgets(window)[-1].body.source_text == saved[1].content
