"""One Stop for every generation, and Send during a reply, through the real window and the real model.

Write: Stop (its button, Esc, the window's Stop) keeps what was written as a
pending suggestion; typing keeps it as the writer's text. Chat: Send gives its
place to Stop while a reply is written, and a message sent with Enter waits its
turn, so no reply is cut off, left "writing…" or empty without a reason.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from ui.conftest import open_write

from app.core.sampling import SamplingSettings
from app.ui.main_window import MainWindow

STORY = "The old lighthouse keeper climbed the stairs. The sea below was restless, and"
NO_END = ((0, -100.0), (1, -100.0), (2, -100.0))  # SmolLM2's end-of-text / end-of-turn tokens never come
ENDLESS = SamplingSettings(temperature=0.9, max_tokens=2000, seed=3, logit_bias=NO_END)


def _write(window: MainWindow):
    return open_write(window, STORY, ENDLESS)


def _stream_some(qtbot, pane, chars: int = 30) -> None:
    pane.continue_button.click()
    qtbot.waitUntil(lambda: len(pane.editor.suggestion_text) >= chars, timeout=60_000)


def test_write_stop_button_keeps_the_text_so_far_as_a_pending_suggestion(qtbot, window: MainWindow) -> None:
    pane = _write(window)
    stop = window.findChild(QPushButton, "writeStopButton")
    assert stop is not None and not stop.isEnabled()
    _stream_some(qtbot, pane)
    assert stop.isEnabled()
    with qtbot.waitSignal(pane.suggestion_finished, timeout=10_000) as done:
        qtbot.mouseClick(stop, Qt.MouseButton.LeftButton)
    assert done.args[0].reason == "cancelled"
    written = pane.editor.suggestion_text
    assert written and pane.editor.has_suggestion, "Stop threw the suggestion away"
    assert pane.editor.toPlainText() == STORY + written  # still shown, still only offered
    assert pane.editor.content() == STORY
    assert not stop.isEnabled() and pane.accept_button.isEnabled() and pane.reject_button.isEnabled()
    qtbot.keyClick(pane.editor, Qt.Key.Key_Tab)  # the writer accepts it
    assert pane.editor.content() == STORY + written


def test_esc_and_the_windows_stop_stop_a_suggestion_and_keep_it(qtbot, window: MainWindow) -> None:
    pane = _write(window)
    stop_action = window.findChild(type(window.menuBar().actions()[0]), "stopAction")
    assert stop_action is not None and stop_action.shortcut().toString() == "Esc"  # the menu shows its key
    _stream_some(qtbot, pane)
    assert stop_action.isEnabled()
    with qtbot.waitSignal(pane.suggestion_finished, timeout=10_000) as done:
        qtbot.keyClick(pane.editor, Qt.Key.Key_Escape)
    assert done.args[0].reason == "cancelled"
    assert pane.editor.has_suggestion and pane.editor.suggestion_text, "Esc threw the suggestion away"
    qtbot.keyClick(pane.editor, Qt.Key.Key_Escape)  # once it has stopped, Esc rejects it
    assert not pane.editor.has_suggestion and pane.editor.toPlainText() == STORY

    _stream_some(qtbot, pane)
    with qtbot.waitSignal(pane.suggestion_finished, timeout=10_000) as done:
        stop_action.trigger()  # Chat ▸ Stop generating, while Write is in view
    assert done.args[0].reason == "cancelled"
    assert pane.editor.has_suggestion and pane.editor.toPlainText() == STORY + pane.editor.suggestion_text
    qtbot.waitUntil(lambda: not stop_action.isEnabled(), timeout=5_000)


def test_typing_while_a_suggestion_streams_keeps_it_as_the_writers_text(qtbot, window: MainWindow) -> None:
    pane = _write(window)
    _stream_some(qtbot, pane)
    written = pane.editor.suggestion_text
    qtbot.keyClicks(pane.editor, "!")
    assert not pane.editor.has_suggestion
    qtbot.wait(300)  # tokens still on their way are not added to the writer's text
    text = pane.editor.content()
    assert text.startswith(STORY + written), "typing discarded the suggestion"
    assert text.endswith("!") and "Ctrl+Z" in window.statusBar().currentMessage()


def test_send_during_a_reply_waits_its_turn_and_no_reply_is_cut_off_or_empty(qtbot, window: MainWindow) -> None:
    """The window's short check on the real model; the rules themselves are tested in core, in milliseconds
    (tests/core/test_chat_turn.py: a Send that waits, Stop, a failure, saving)."""
    chat = window.chat
    chat.set_sampling(SamplingSettings(temperature=0.9, max_tokens=8, seed=3, logit_bias=NO_END))
    chat.composer.setPlainText("Hello there.")
    qtbot.mouseClick(chat.send_button, Qt.MouseButton.LeftButton)
    assert chat.reply is not None  # being written from the moment Send is pressed
    assert not chat.send_button.isVisible() and chat.stop_button.isVisible() and chat.stop_button.isEnabled()
    chat.composer.setPlainText("And a second question?")
    qtbot.keyClick(chat.composer, Qt.Key.Key_Return)
    assert chat.composer.toPlainText() == "" and chat.turn is not None and chat.turn.waiting == "And a second question?"
    assert "sent when this reply ends" in window.statusBar().currentMessage()
    conversation = chat.conversation.id

    def replies():
        return [m for m in window.storage.messages(conversation) if m.role == "assistant"]

    qtbot.waitUntil(lambda: len(replies()) == 2 and chat.reply is None
                    and all(m.status != "streaming" for m in replies()), timeout=30_000)
    messages = window.storage.messages(conversation)
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[2].content == "And a second question?"
    for reply in replies():
        assert reply.status == "done" and reply.content, (reply.status, reply.content, reply.stats)
        assert reply.stats["tokens"] == 8 and reply.stats["finish"] == "length"
    assert chat.send_button.isVisible() and not chat.stop_button.isVisible()
    labels = [w.status_label.text() for w in chat.transcript.widgets.values()]
    assert not any("writing" in label for label in labels), labels


def test_a_reply_left_writing_opens_as_stopped_and_an_empty_reply_says_why(qtbot, window: MainWindow) -> None:
    storage = window.storage
    conversation = storage.create_conversation(title="Left behind")
    question = storage.add_message(conversation.id, None, "user", "Hi")
    left = storage.add_message(conversation.id, question.id, "assistant", "Half a rep", status="streaming")
    again = storage.add_message(conversation.id, left.id, "user", "Again?")
    empty = storage.add_message(conversation.id, again.id, "assistant", "", stats={"tokens": 0, "finish": "stop"})
    window.chat.list_model.reload()
    window.chat.open_conversation(conversation.id)
    status = window.chat.transcript.widgets[left.id].status_label.text()
    assert "writing" not in status and "stopped" in status, status
    assert storage.messages(conversation.id)[1].status == "stopped"
    assert "without writing anything" in window.chat.transcript.widgets[empty.id].status_label.text()
