"""Through the real window: new items start on the default preset, the chart follows the pane and cursor,
documents are titled from their first line.

- A new chat or document shows the default preset by name, and "(modified)" only after a real change
  (before, a new chat inherited the chat in view's edited settings and showed "(modified)").
- The next-token chart answers "what would the model write next, here": in Write it follows the cursor
  and a document switch (checked against the engine's own answer for the text before the cursor); on
  Models and in a chat with nothing typed it shows no bars but a note; a legend explains its marks.
- Documents are titled from their first line until renamed, and Compare's picker lists those titles.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from ui.conftest import send

from app.core.sampling import SamplingSettings
from app.ui.main_window import MainWindow

SHORT = SamplingSettings(temperature=0.0, max_tokens=4)


def _preset_shown(window: MainWindow) -> tuple[str, str]:
    panel = window.sampling
    return panel.preset_combo.currentText(), panel.modified_label.text()


def test_a_new_chat_and_a_new_document_start_on_the_default_preset_unmodified(qtbot, window: MainWindow) -> None:
    panel, chat = window.sampling, window.chat
    default = window.presets.default
    assert _preset_shown(window) == (default, "")
    panel.controls["temperature"].slider.setValue(150)  # a real change
    assert _preset_shown(window) == (default, "(modified)")
    panel.controls["temperature"].slider.setValue(round(window.presets.get(default).temperature * 100))
    assert _preset_shown(window) == (default, "")  # changed back: not modified
    chat.set_sampling(SHORT)
    send(qtbot, window, "Hi.")
    chat.new_button.click()
    assert chat.session.is_empty
    assert _preset_shown(window) == (default, "")
    assert chat.preset == default and chat.sampling == window.presets.get(default)

    window.tabs.setCurrentWidget(window.write)
    panel.controls["top_p"].slider.setValue(50)
    assert _preset_shown(window) == (default, "(modified)")
    window.write.new_button.click()
    assert _preset_shown(window) == (default, "")
    assert window.write.preset == default and window.write.sampling == window.presets.get(default)


def _top(window: MainWindow, prompt: str) -> list[str]:
    """The engine's own likeliest next tokens for ``prompt`` (what the chart must show)."""
    from app.ui.sampling.chart import token_label

    candidates, _lse, _sigma = window.engine.peek_async(prompt=prompt, top=64).result(timeout=60)
    return [token_label(text) for text, _id, _logit in candidates[:5]]


def _chart_top(window: MainWindow) -> list[str]:
    return [label for label, _b, _a in window.sampling.chart.rows()[:5]]


def _put_cursor(pane, position: int) -> None:
    cursor = pane.editor.textCursor()
    cursor.setPosition(position)
    pane.editor.setTextCursor(cursor)


def test_the_chart_follows_the_write_cursor_and_document_and_says_what_it_shows(qtbot, window: MainWindow) -> None:
    panel, write = window.sampling, window.write
    legend = panel.chart_legend.text()
    for mark in ("✕", "∅", "�", "␣", "↵"):
        assert mark in legend, mark
    window.chat.composer.clear()
    qtbot.waitUntil(lambda: not panel.chart.rows() and "Type a message" in panel.chart.message, timeout=10_000)

    window.tabs.setCurrentWidget(write)
    story = "The cat sat on the mat.\nThe dog ran to the"
    write.editor.setPlainText(story)
    write.editor.moveCursor(QTextCursor.MoveOperation.End)
    write.flush()
    at_end = _top(window, story)
    qtbot.waitUntil(lambda: _chart_top(window) == at_end, timeout=30_000)
    assert panel.chart_legend.isVisible()
    assert "“The cat sat on the mat.”" in panel.chart_context.text() and "line 2" in panel.chart_context.text()

    middle = story.index(" on the mat")
    after_cat = _top(window, story[:middle])
    assert after_cat != at_end
    _put_cursor(write, middle)  # the cursor moves: the chart follows it
    qtbot.waitUntil(lambda: _chart_top(window) == after_cat, timeout=30_000)
    assert "line 1" in panel.chart_context.text()

    first = write.document.id
    write.new_document()  # another document: the chart is about its text now
    other = "Dear Sir,\nI write to"
    write.editor.setPlainText(other)
    write.editor.moveCursor(QTextCursor.MoveOperation.End)
    in_letter = _top(window, other)
    qtbot.waitUntil(lambda: _chart_top(window) == in_letter, timeout=30_000)
    write.open_document(first)
    qtbot.waitUntil(lambda: _chart_top(window) == _top(window, write.editor.context_at_cursor()[0]), timeout=30_000)

    window.tabs.setCurrentWidget(window.models)  # no text here: no bars from another pane
    qtbot.waitUntil(lambda: not panel.chart.rows(), timeout=10_000)
    assert "Chat and Write" in panel.chart.message


def test_documents_are_titled_from_their_first_line_until_renamed_and_compare_lists_them(qtbot,
                                                                                         window: MainWindow) -> None:
    write = window.write
    window.tabs.setCurrentWidget(write)
    write.editor.setPlainText("# A letter to Grandmother\n\nDear Gran, the garden is full of")
    write.flush()
    assert write.document.title == "A letter to Grandmother"
    assert write.doc_list.currentItem().text() == "A letter to Grandmother"
    assert window.storage.document(write.document.id).title == "A letter to Grandmother"
    cursor = write.editor.textCursor()
    cursor.setPosition(len("# A letter to "))
    cursor.insertText("my ")
    write.flush()
    assert write.doc_list.currentItem().text() == "A letter to my Grandmother"  # it follows the first line

    item = write.doc_list.currentItem()
    item.setText("Letters")  # renamed in the list (F2 / double-click): the name sticks
    write.editor.moveCursor(QTextCursor.MoveOperation.Start)
    write.editor.insertPlainText("Draft: ")
    write.flush()
    assert write.document.title == "Letters" and window.storage.document(write.document.id).title == "Letters"

    write.new_document()
    write.editor.setPlainText("Shopping list\neggs, flour")
    write.flush()
    window.tabs.setCurrentWidget(window.models)
    models = window.models
    models.tabs.setCurrentIndex(next(i for i in range(models.tabs.count()) if models.tabs.tabText(i) == "Compare"))
    titles = [models.compare_source.itemText(i) for i in range(models.compare_source.count())]
    assert "Letters" in titles and "Shopping list" in titles and "Untitled" not in titles
    assert models.compare_source.findData(write.document.id, Qt.ItemDataRole.UserRole) >= 0


def test_an_empty_document_says_what_the_chart_needs_not_the_chats_note(qtbot, window: MainWindow) -> None:
    panel, write = window.sampling, window.write
    window.chat.composer.clear()
    qtbot.waitUntil(lambda: "Type a message" in panel.chart.message, timeout=10_000)
    window.tabs.setCurrentWidget(write)  # a new, empty document: nothing before the cursor
    assert write.editor.content() == ""
    qtbot.waitUntil(lambda: "Type a message" not in panel.chart.message, timeout=10_000)
    assert not panel.chart.rows() and "cursor" in panel.chart.message, panel.chart.message
