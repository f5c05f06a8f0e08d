"""Files dropped on a chat join a collection named after it and are indexed in the background (real job process)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication
from ui.conftest import open_window

from app.ui.sources.chat_drop import collection_name_for


def test_a_collection_name_comes_from_the_chat_title() -> None:
    assert collection_name_for("What's up? / notes", []) == "What s up notes"
    assert collection_name_for("Lamp", ["Lamp"]) == "Lamp 2"
    assert collection_name_for("???", []) == "Chat"


@pytest.mark.model
def test_files_dropped_on_a_chat_are_indexed_into_its_new_collection(qtbot, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("INKLING_HOME", str(home))
    docs = tmp_path / "docs"
    docs.mkdir()
    notes = docs / "lighthouse.md"
    notes.write_text("Every evening the keeper lights the lamp at dusk.\n")
    other = docs / "bread.txt"
    other.write_text("Bread needs flour, water, salt and yeast.\n")

    window = open_window(qtbot, home, monkeypatch)
    chat = window.chat
    chat.session.rename("Lighthouse questions")
    assert chat.sources.of(chat.session.id) == []
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(notes)), QUrl.fromLocalFile(str(other))])
    enter = QDragEnterEvent(chat.rect().center(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(chat, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(chat.rect().center()), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(chat, drop)
    assert drop.isAccepted()

    assert chat.sources.of(chat.session.id) == ["Lighthouse questions"]  # a new collection, named after the chat
    seen: list[str] = []
    qtbot.waitUntil(lambda: seen.append(chat.sources_button.text()) or chat.file_drop.job is None, timeout=60_000)
    assert chat.sources_button.text() == "Sources (1)"
    hits = chat.sources.search(["Lighthouse questions"], "When is the lamp lit?")
    assert hits and hits[0].path == str(notes.resolve())
    store = chat.sources.collections.open("Lighthouse questions")
    assert store.counts()["files"] == 2
    store.close()
    window.close()
