"""A stored message made of typed parts shows each kind by its own widget, in the real window.

The text part below looks like thinking and a tool call on purpose: the pane shows the
parts it was given and never parses the model's words to find more.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QLabel, QWidget
from ui.conftest import open_window

from app.core.parts import CitationPart, ImagePart, TextPart, ThinkingPart, ToolCallPart, ToolResultPart
from app.ui.main_window import MainWindow

LOOKALIKE = "The keeper is **Mr. Weir**.\n\n<think>not a part</think> Tool call: fake [1] Not a citation"


@pytest.fixture
def bare_window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    win = open_window(qtbot, tmp_path / "home", monkeypatch, wait_model=False)
    yield win
    win.close()


def test_each_kind_of_part_is_shown_by_its_own_widget(qtbot, bare_window: MainWindow, tmp_path: Path) -> None:
    picture = QImage(40, 20, QImage.Format.Format_RGB32)
    picture.fill(QColor("teal"))
    assert picture.save(str(tmp_path / "lamp.png"))
    parts = (ThinkingPart("They ask who keeps the lamp; look it up."),
             ToolCallPart("lookup", '{"q": "keeper"}', "c1"), ToolResultPart("lookup", "Weir, since 1901", "c1"),
             TextPart(LOOKALIKE),
             CitationPart("Harbour log", "log.txt", "Weir, keeper"), ImagePart(str(tmp_path / "lamp.png"), "the lamp"))
    storage = bare_window.storage
    conv = storage.create_conversation("parts")
    user = storage.add_message(conv.id, None, "user", "Who keeps the lamp?")
    storage.add_message(conv.id, user.id, "assistant", parts=parts)
    bare_window.chat.open_conversation(conv.id)
    widget = next(w for w in bare_window.chat.transcript.widgets.values() if w.message.role == "assistant")
    qtbot.waitUntil(lambda: widget.body.rendered, timeout=10_000)

    before = [w.objectName() for w in widget.parts_before.findChildren(QWidget) if w.objectName().startswith("part-")]
    after = [w.objectName() for w in widget.parts_after.findChildren(QWidget) if w.objectName().startswith("part-")]
    assert before == ["part-thinking", "part-tool_call", "part-tool_result"]  # the parts before the text, above it
    assert after == ["part-citation", "part-image"]
    # the text is the Markdown body, lookalikes and all, and nothing in it became a part
    assert widget.body.source_text == LOOKALIKE
    assert "not a part" in widget.body.toPlainText() and "Mr. Weir" in widget.body.toPlainText()
    assert len(widget.findChildren(QWidget, "part-thinking")) == 1
    assert len(widget.findChildren(QWidget, "part-citation")) == 1

    thinking = widget.findChild(QWidget, "part-thinking")
    toggle = thinking.findChild(QWidget, "thinkingToggle")
    text = thinking.findChild(QLabel, "thinkingText")
    assert toggle.text() == "Thinking" and text.isHidden()  # collapsed at first
    toggle.click()
    assert text.isVisible() and text.text() == "They ask who keeps the lamp; look it up."
    dim, body = text.palette().color(text.foregroundRole()), widget.body.palette().color(widget.body.foregroundRole())
    assert dim.lightness() > body.lightness()  # dimmed beside the answer

    call = widget.findChild(QWidget, "part-tool_call")
    assert call.findChild(QLabel, "partTitle").text() == "Tool call: lookup"
    assert call.findChild(QLabel, "toolArguments").text() == '{"q": "keeper"}'
    result = widget.findChild(QWidget, "part-tool_result")
    assert result.findChild(QLabel, "partTitle").text() == "Tool result: lookup"
    assert result.findChild(QLabel, "toolContent").text() == "Weir, since 1901"
    citation = widget.findChild(QWidget, "part-citation")
    assert citation.findChild(QLabel, "partTitle").text() == "[1] Harbour log — log.txt"
    assert citation.findChild(QLabel, "citationQuote").text() == "“Weir, keeper”"
    image = widget.findChild(QWidget, "part-image")
    assert not image.findChild(QLabel, "imagePicture").pixmap().isNull()

    # a text-only message has no part widgets at all
    plain = next(w for w in bare_window.chat.transcript.widgets.values() if w.message.role == "user")
    assert plain.part_widgets == [] and plain.parts_before.isHidden() and plain.parts_after.isHidden()


def test_streaming_text_into_a_reply_keeps_its_thinking(qtbot, bare_window: MainWindow) -> None:
    storage = bare_window.storage
    conv = storage.create_conversation("streaming")
    user = storage.add_message(conv.id, None, "user", "Count.")
    reply = storage.add_message(conv.id, user.id, "assistant", status="streaming",
                                parts=(ThinkingPart("Count to three."), TextPart("")))
    bare_window.chat.open_conversation(conv.id)
    widget = bare_window.chat.transcript.widgets[reply.id]
    thinking = widget.findChild(QWidget, "part-thinking")
    assert thinking is not None and widget.body.source_text == ""
    for text in ("One", "One, two", "One, two, three."):
        widget.set_streaming_text(text)
    assert widget.message.parts == (ThinkingPart("Count to three."), TextPart("One, two, three."))
    assert widget.findChild(QWidget, "part-thinking") is thinking  # not rebuilt while text streams
    storage.update_message(reply.id, content="One, two, three.", status="done")  # what a reply's end saves
    saved = storage.messages(conv.id)[-1]
    assert saved.parts == (ThinkingPart("Count to three."), TextPart("One, two, three."))
    widget.update_message(saved)
    assert widget.findChild(QWidget, "part-thinking") is thinking and widget.body.source_text == "One, two, three."
