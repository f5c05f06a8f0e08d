"""Write's sources sidebar over a real collection indexed from files the test writes: a passage inserted at
the cursor as a quote with its citation (one Ctrl+Z removes it), added to the document's memory (saved,
reopened, and read by the real model before the text), and the sidebar reachable at 800×500."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from source_files import index_folder
from ui.conftest import open_write, wait_for_panes
from ui.fake_engine import FakeEngine, fake_window

from app.core.paths import app_paths
from app.core.sampling import SamplingSettings
from app.core.storage import Storage
from app.ui.main_window import MainWindow

LIGHTHOUSE = "The keeper climbs the stairs\nand lights the lamp at dusk.\n\nHe writes the log.\n"
QUOTE = ("> The keeper climbs the stairs\n> and lights the lamp at dusk.\n>\n> He writes the log.\n>\n"
         "> — lighthouse.md, line 1")
ENTRY = "“The keeper climbs the stairs and lights the lamp at dusk. He writes the log.” — lighthouse.md, line 1"
PARAGRAPH = "At dusk the old keeper went up to light the lamp."


def _collection(tmp_path: Path) -> Path:
    """A collection "notes" in the INKLING_HOME of the environment, indexed from three small files."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lighthouse.md").write_text(LIGHTHOUSE)
    (docs / "bread.md").write_text("Bread needs flour, water, salt and yeast, and time to rise.\n")
    (docs / "garden.txt").write_text("Tomatoes want sun and rain in the garden.\n")
    index_folder(app_paths().ensure().sources, "notes", docs)
    return docs


def _fake(qtbot, tmp_path: Path, monkeypatch) -> MainWindow:
    monkeypatch.setenv("INKLING_HOME", str(tmp_path / "home"))
    window = fake_window(FakeEngine("unused"))
    qtbot.addWidget(window)
    window.show()
    wait_for_panes(window)
    window.resize(1280, 800)  # (after show: a first show fits the window to the screen)
    qtbot.waitUntil(lambda: window.width() == 1280, timeout=5_000)
    window.tabs.setCurrentWidget(window.write)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    return window


def _passages_for(qtbot, window: MainWindow, docs: Path, text: str, position: int):
    """``text`` in the editor, the cursor at ``position``, and the sidebar showing lighthouse.md first."""
    write = window.write
    sidebar = write.sources_sidebar
    sidebar.reload_collections()
    assert sidebar.chooser.currentText() == "notes"
    write.editor.setPlainText(text)
    cursor = write.editor.textCursor()
    cursor.setPosition(position)
    write.editor.setTextCursor(cursor)
    qtbot.waitUntil(lambda: bool(sidebar.hits) and sidebar.hits[0].path == str(docs / "lighthouse.md"),
                    timeout=5_000)
    return sidebar


def _inside(widget: QWidget, area: QWidget) -> bool:
    top_left = widget.mapTo(area, QPoint(0, 0))
    return widget.isVisible() and widget.width() > 0 and area.rect().contains(QRect(top_left, widget.size()))


def test_insert_as_quote_puts_the_passage_and_its_citation_at_the_cursor_and_one_undo_removes_it(
        qtbot, tmp_path: Path, monkeypatch) -> None:
    window = _fake(qtbot, tmp_path, monkeypatch)
    docs = _collection(tmp_path)
    write = window.write
    text = f"Chapter one.\n\n{PARAGRAPH}\n\nThe end."
    sidebar = _passages_for(qtbot, window, docs, text, text.index("\n\nThe end."))
    write.editor.setFocus()
    QTest.keyClicks(write.editor, " Slowly.")  # the writer's own typing stays when the quote is undone
    typed = text.replace("lamp.", "lamp. Slowly.")
    assert write.editor.toPlainText() == typed

    sidebar.list.setCurrentRow(0)
    sidebar._on_list_custom_context_menu_requested(sidebar.list.visualItemRect(sidebar.list.item(0)).center())
    menu = QApplication.activePopupWidget()
    assert [a.text() for a in menu.actions()] == ["Insert as quote", "Add to memory", "Open"]
    assert [a.shortcut().toString() for a in menu.actions()] == ["Return", "Ctrl+M", "Shift+Return"]
    menu.close()

    QTest.keyClick(write.editor, Qt.Key.Key_F9)  # from the text to the passages, by keyboard
    assert sidebar.list.hasFocus()
    QTest.keyClick(sidebar.list, Qt.Key.Key_Return)  # Insert as quote
    at = typed.index("\n\nThe end.")
    quoted = typed[:at] + "\n\n" + QUOTE + typed[at:]
    assert write.editor.toPlainText() == quoted
    assert write.editor.textCursor().position() == at + 2 + len(QUOTE)  # after the quote, back in the text
    assert write.editor.hasFocus()
    assert sidebar.feedback.text() == "Quoted lighthouse.md, line 1 at the cursor (Ctrl+Z removes it)"
    assert sidebar.feedback.isVisible()
    doc_id = write.document.id
    qtbot.waitUntil(lambda: window.storage.document(doc_id).content == quoted, timeout=5_000)  # autosaved

    QTest.keyClick(write.editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert write.editor.toPlainText() == typed  # one undo: the whole quote, and only the quote
    window.close()


def test_the_sidebar_is_reachable_at_800_by_500_and_unfolds_when_the_window_grows(
        qtbot, tmp_path: Path, monkeypatch) -> None:
    window = _fake(qtbot, tmp_path, monkeypatch)
    docs = _collection(tmp_path)
    write = window.write
    sidebar = _passages_for(qtbot, window, docs, PARAGRAPH, 5)
    toggle = write.sources_toggle
    assert sidebar.width() > 0 and toggle.isChecked()

    def resize(width: int, height: int) -> None:
        window.resize(width, height)
        qtbot.waitUntil(lambda: (window.width(), window.height()) == (width, height), timeout=5_000)
        qtbot.wait(50)

    resize(800, 500)  # the narrow pane folds the side panels; the toggle stays in reach
    assert sidebar.width() == 0 and not toggle.isChecked() and _inside(toggle, window)
    resize(1280, 800)
    qtbot.waitUntil(lambda: sidebar.width() > 0, timeout=5_000)  # folded by the narrow window, back when it grows
    assert toggle.isChecked()

    resize(800, 500)
    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)  # opened at 800x500
    qtbot.waitUntil(lambda: sidebar.width() > 100, timeout=5_000)
    assert toggle.isChecked() and write.editor.width() >= 150
    for widget in (sidebar.list, sidebar.insert_button, sidebar.memory_button):
        assert _inside(widget, window), widget
    resize(1280, 800)
    assert sidebar.width() > 0
    window.close()


def test_add_to_memory_is_saved_with_the_document_and_read_by_the_model_before_the_text(
        qtbot, window: MainWindow, tmp_path: Path) -> None:
    docs = _collection(tmp_path)  # (the window's INKLING_HOME is tmp_path / "home")
    pane = open_write(window, PARAGRAPH, SamplingSettings(temperature=0.0, max_tokens=1))
    sidebar = _passages_for(qtbot, window, docs, PARAGRAPH, len(PARAGRAPH))
    pane.memory_edit.setPlainText("Synopsis: a keeper alone on an island.")
    sidebar.list.setFocus()
    with qtbot.waitSignal(pane.memory_saved, timeout=5_000):
        QTest.keyClick(sidebar.list, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)  # Add to memory
    memory = f"Synopsis: a keeper alone on an island.\n\n{ENTRY}"
    assert pane.memory_edit.toPlainText() == memory  # shown where the memory is edited
    doc_id = pane.document.id
    on_disk = Storage(app_paths().database)  # another connection: it is in the file, not only in this one
    assert on_disk.document(doc_id).memory == memory
    on_disk.close()
    assert sidebar.feedback.text().startswith("Added lighthouse.md, line 1 to this document's memory")
    sidebar.add_to_memory()
    assert pane.memory_edit.toPlainText() == memory  # a second time adds nothing
    assert sidebar.feedback.text() == "lighthouse.md, line 1 is already in this document's memory"

    pane.new_document()
    assert pane.memory_edit.toPlainText() == ""
    pane.open_document(doc_id)
    assert pane.memory_edit.toPlainText() == memory
    pane.editor.moveCursor(QTextCursor.MoveOperation.End)
    with qtbot.waitSignal(pane.suggestion_finished, timeout=60_000):
        pane.continue_button.click()
    prompt = window.bridge.engine.active.last_prompt()
    assert prompt.lstrip().startswith(memory) and prompt.rstrip().endswith(PARAGRAPH)


def test_a_quote_inserted_while_a_suggestion_is_shown_keeps_the_suggestion_and_goes_after_it(
        qtbot, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("INKLING_HOME", str(tmp_path / "home"))
    window = fake_window(FakeEngine(" The wind rose."))
    qtbot.addWidget(window)
    window.show()
    wait_for_panes(window)
    window.bridge.load("/fake.gguf")
    qtbot.waitUntil(lambda: window.bridge.free, timeout=5_000)
    window.tabs.setCurrentWidget(window.write)
    docs = _collection(tmp_path)
    write = window.write
    sidebar = _passages_for(qtbot, window, docs, PARAGRAPH, len(PARAGRAPH))
    with qtbot.waitSignal(write.suggestion_finished, timeout=10_000):
        write.continue_button.click()
    assert write.editor.has_suggestion and write.editor.suggestion_text == " The wind rose."
    sidebar.insert_quote()
    suggested = PARAGRAPH + " The wind rose."
    assert not write.editor.has_suggestion  # kept as the writer's text, as typing over it does
    assert write.editor.toPlainText() == suggested + "\n\n" + QUOTE + "\n\n"
    QTest.keyClick(write.editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert write.editor.toPlainText() == suggested  # one undo takes the quote, not the kept suggestion
    window.close()
