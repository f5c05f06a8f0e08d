"""Model text keeps its line breaks, and code is a card with its language and a Copy link."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QGuiApplication, QTextFormat
from ui.conftest import open_window

CODE = 'def greet(name):\n    return f"Hello, {name}!"'
REPLY = ("Here it is, one line per step:\nfirst read the name\nthen greet\n\n"
         f"```python\n{CODE}\n```\n\nDone.")


@pytest.fixture
def window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    win = open_window(qtbot, tmp_path / "home", monkeypatch, wait_model=False)
    yield win
    win.close()


def _open_reply(qtbot, window, text: str):
    storage = window.storage
    conv = storage.create_conversation("code")
    user = storage.add_message(conv.id, None, "user", "code please")
    storage.add_message(conv.id, user.id, "assistant", text)
    window.chat.open_conversation(conv.id)
    view = next(w for w in window.chat.transcript.widgets.values() if w.message.role == "assistant").body
    qtbot.waitUntil(lambda: view.rendered, timeout=10_000)
    return view


def test_single_newlines_in_model_text_stay_line_breaks(qtbot, window) -> None:
    view = _open_reply(qtbot, window, REPLY)
    lines = view.toPlainText().replace("\u2028", "\n").split("\n")
    assert "first read the name" in lines and "then greet" in lines  # not run together into one line


def test_code_is_a_card_with_its_language_and_copy(qtbot, window) -> None:
    view = _open_reply(qtbot, window, REPLY)
    doc = view.document()
    blocks = [doc.findBlockByNumber(i) for i in range(doc.blockCount())]
    header = next(b for b in blocks if "Copy" in b.text())
    assert "python" in header.text()  # the language label
    code = [b for b in blocks if b.blockFormat().hasProperty(QTextFormat.Property.BlockCodeFence)]
    assert [b.text() for b in code] == CODE.split("\n")  # indentation kept
    assert blocks[0].blockFormat().background().style() == Qt.BrushStyle.NoBrush  # the text is on the page
    assert all(b.blockFormat().background().style() != Qt.BrushStyle.NoBrush for b in [header, *code])  # a box
    assert code[0].blockNumber() == header.blockNumber() + 1  # the label sits on the card
    fragment = next(it.fragment() for it in _fragments(header) if it.fragment().text().strip().endswith("Copy"))
    href = fragment.charFormat().anchorHref()
    assert href.startswith("inkling-copy:")
    view.anchorClicked.emit(QUrl(href))
    assert QGuiApplication.clipboard().text() == CODE


def _fragments(block):
    it = block.begin()
    while not it.atEnd():
        yield it
        it += 1
