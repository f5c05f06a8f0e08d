"""A chat that reads a collection, with the real starter model: the prompt holds the numbered passages,
the reply's [1] is a link, and the link opens the cited passage in its file, at its line, highlighted."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor
from source_files import index_folder
from ui.conftest import open_window

from app.core.parts import CitationPart
from app.core.paths import app_paths
from app.core.sampling import SamplingSettings

ANSWER = "The keeper lights the lamp at dusk [1]."


def _anchor_point(view: object, href: str) -> QPoint:
    """Where on screen the link ``href`` is drawn in a text view."""
    doc = view.document()  # type: ignore[attr-defined]
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            frag = it.fragment()
            if frag.charFormat().anchorHref() == href:
                cursor = QTextCursor(doc)
                cursor.setPosition(frag.position() + 1)
                return view.cursorRect(cursor).center()  # type: ignore[attr-defined]
            it += 1
        block = block.next()
    raise AssertionError(f"no link {href} in the reply")


@pytest.mark.model
def test_a_reply_cites_its_source_and_the_link_opens_the_passage(qtbot, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("INKLING_HOME", str(home))
    docs = tmp_path / "docs"
    docs.mkdir()
    lighthouse = docs / "lighthouse.md"
    lighthouse.write_text("# The lighthouse\n\n" + "Waves break on the rocks below the tower. " * 30 + "\n\n"
                          "Every evening the keeper climbs the stairs and lights the lamp at dusk.\n")
    (docs / "bread.md").write_text("Bread needs flour, water, salt and yeast, and time to rise.\n")
    for i in range(20):
        (docs / f"note{i}.txt").write_text(f"Note {i} about gardening, tomatoes and rain.\n")
    index_folder(app_paths().ensure().sources, "notes", docs)

    window = open_window(qtbot, home, monkeypatch)
    chat = window.chat
    assert chat.sources is not None
    chat.sources.set(chat.session.id, ["notes"])
    chat.sources_button.set_chat(chat.session.id)
    assert chat.sources_button.text() == "Sources (1)"
    chat.set_sampling(SamplingSettings(temperature=0.0, max_tokens=40, grammar=f'root ::= "{ANSWER}"'))
    chat.composer.setPlainText("When does the keeper light the lamp?")
    qtbot.mouseClick(chat.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.storage.messages(chat.session.id)[-1].status == "done", timeout=90_000)

    message = window.storage.messages(chat.session.id)[-1]
    assert message.content == ANSWER
    citations = [p for p in message.parts if isinstance(p, CitationPart)]
    first = citations[0]
    assert first.source.startswith(f"{lighthouse}:") and "lights the lamp at dusk" in first.quote
    prompt = window.bridge.engine.active.last_prompt()
    assert f"[1] {first.source}\n" in prompt and "lights the lamp at dusk" in prompt
    assert "cite them by its number" in prompt or "by its number in square brackets" in prompt

    widget = chat.transcript.widgets[message.id]
    qtbot.waitUntil(lambda: widget.body.rendered, timeout=10_000)
    assert len([w for w in widget.part_widgets if w.objectName() == "part-citation"]) == len(citations)  # Sources used
    qtbot.mouseClick(widget.body.viewport(), Qt.MouseButton.LeftButton, pos=_anchor_point(widget.body, "cite:1"))
    qtbot.waitUntil(lambda: widget.opened_passage is not None, timeout=5_000)
    dialog = widget.opened_passage
    assert dialog.path == str(lighthouse) and dialog.isVisible()
    assert dialog.highlighted.strip().endswith("lights the lamp at dusk.")
    line = int(first.source.rsplit(":", 1)[1])
    assert dialog.text.textCursor().blockNumber() == line - 1  # the view is at the passage's line
    window.close()
