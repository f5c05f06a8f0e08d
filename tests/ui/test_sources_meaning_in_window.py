"""The window's chat searches a collection by meaning too, with the real starter model as the embedding model.

The question shares no word with the passage that answers it, so keywords alone
can't find that passage; the question's vector comes from a child process
(app/engine/query_embedder.py) and the fused search puts the passage in the prompt.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from source_files import QuietProgress as _Quiet
from ui.conftest import open_window

from app.core.parts import CitationPart
from app.core.paths import app_paths
from app.core.sampling import SamplingSettings
from app.core.sources.collections import Collections
from app.core.sources.indexer import index_collection
from app.core.starter import starter_model_path
from app.engine.embedding import make_embedder

ANSWER = "At nightfall [1]."
PASSAGE = "At nightfall the guardian climbs up and ignites the beacon."


@pytest.mark.model
def test_the_windows_chat_finds_a_passage_by_meaning_that_keywords_miss(qtbot, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    home = tmp_path / "home"
    monkeypatch.setenv("INKLING_HOME", str(home))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tower.txt").write_text(PASSAGE + "\n")
    (docs / "bread.txt").write_text("Flour, water, salt and yeast make a dough that needs hours to rise.\n")
    spec = {"kind": "llama", "model": str(starter_model_path()), "pooling": "prompt-last", "max_chars": 800}
    store = Collections(app_paths().ensure().sources).open("notes", create=True)
    store.add_roots([str(docs)])
    store.set_meta("embedder_spec", json.dumps(spec))
    embedder = make_embedder(spec)
    try:
        index_collection(store, _Quiet(), embedder=embedder)
    finally:
        embedder.close()  # type: ignore[union-attr]
    question = "When does the keeper light the lamp?"
    assert store.has_vectors()
    assert all("beacon" not in h.text for h in store.search(question, None, mode="keyword"))  # keywords miss it
    store.close()

    window = open_window(qtbot, home, monkeypatch)
    chat = window.chat
    assert chat.sources is not None
    chat.sources.set(chat.session.id, ["notes"])
    chat.sources_button.set_chat(chat.session.id)
    started = time.perf_counter()
    chat.sources.search(["notes"], question)  # the first question starts the child and loads the model
    cold = time.perf_counter() - started
    chat.set_sampling(SamplingSettings(temperature=0.0, max_tokens=20, grammar=f'root ::= "{ANSWER}"'))
    chat.composer.setPlainText(question)
    qtbot.mouseClick(chat.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.storage.messages(chat.session.id)[-1].status == "done", timeout=90_000)

    message = window.storage.messages(chat.session.id)[-1]
    citations = [p for p in message.parts if isinstance(p, CitationPart)]
    assert any("ignites the beacon" in c.quote for c in citations), [c.quote for c in citations]
    assert all(c.found_by == "keywords and meaning" for c in citations), [c.found_by for c in citations]
    prompt = window.bridge.engine.active.last_prompt()
    assert "ignites the beacon" in prompt
    widget = chat.transcript.widgets[message.id]
    qtbot.waitUntil(lambda: widget.body.rendered, timeout=10_000)
    shown = [w.title.text() for w in widget.part_widgets if w.objectName() == "part-citation"]
    assert shown and all(t.endswith("· found by keywords and meaning") for t in shown), shown  # said under the reply
    started = time.perf_counter()
    for _ in range(5):
        chat.sources.search(["notes"], question)
    warm = (time.perf_counter() - started) / 5
    print(f"\nquery embedding in the child process: first search {cold * 1000:.0f} ms, then {warm * 1000:.0f} ms each")
    window.close()
