"""A passage removed from a reply's "Sources used" is not in the prompt of the regenerated reply (real starter model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from source_files import index_folder
from ui.conftest import open_window

from app.core.parts import CitationPart
from app.core.paths import app_paths
from app.core.sampling import SamplingSettings

ANSWER = "At dusk [1]."


@pytest.mark.model
def test_a_passage_left_out_is_not_in_the_regenerated_replys_prompt(qtbot, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("INKLING_HOME", str(home))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lighthouse.md").write_text("Every evening the keeper lights the lamp at dusk.\n")
    (docs / "diary.md").write_text("The old keeper said the lamp was lit late in winter.\n")
    index_folder(app_paths().ensure().sources, "notes", docs)

    window = open_window(qtbot, home, monkeypatch)
    chat = window.chat
    chat.sources.set(chat.session.id, ["notes"])
    chat.sources_button.set_chat(chat.session.id)
    chat.set_sampling(SamplingSettings(temperature=0.0, max_tokens=20, grammar=f'root ::= "{ANSWER}"'))
    chat.composer.setPlainText("When does the keeper light the lamp?")
    qtbot.mouseClick(chat.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.storage.messages(chat.session.id)[-1].status == "done", timeout=90_000)
    prompt = window.bridge.engine.active.last_prompt()
    assert "lights the lamp at dusk" in prompt and "lit late in winter" in prompt

    message = window.storage.messages(chat.session.id)[-1]
    widget = chat.transcript.widgets[message.id]
    cards = [w for w in widget.part_widgets if w.objectName() == "part-citation"]
    dusk = next(w for w in cards if "lights the lamp at dusk" in w.part.quote)
    qtbot.mouseClick(dusk.remove_button, Qt.MouseButton.LeftButton)  # "× Leave out"
    assert not dusk.remove_button.isEnabled()
    qtbot.mouseClick(chat.regen_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (m := window.storage.messages(chat.session.id)[-1]).id != message.id
                    and m.status == "done", timeout=90_000)

    prompt = window.bridge.engine.active.last_prompt()
    assert "lights the lamp at dusk" not in prompt, "the passage left out is still in the prompt"
    assert "lit late in winter" in prompt  # the other one is still read
    again = window.storage.messages(chat.session.id)[-1]
    quotes = [p.quote for p in again.parts if isinstance(p, CitationPart)]
    assert quotes and all("lights the lamp at dusk" not in q for q in quotes), quotes
    window.close()
