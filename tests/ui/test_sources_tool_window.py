"""A chat whose sources are a tool: the real starter model calls ``search_sources``, the tool's result holds the
numbered passages of the real collection, and the reply's [1] opens the passage it cites.

The model is forced, never trusted: its call by a grammar that pins the whole
``<tool_call>`` (the call is offered with ``tool_choice`` "search_sources", as the Tools
tests do; a sampling grammar takes the place of the one built from the tool's schema so
that the query, too, is the test's), and its answer after the result by another grammar.
What the test checks is Inkling's part: the tool is offered only in tool mode, it runs
without a card to approve, its result is the store's passages with their numbers, they
are in the model's next prompt, and the answer's citation opens the right passage.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from source_files import index_folder
from ui.conftest import open_window
from ui.test_sources_in_chat import _anchor_point

from app.core.parts import CitationPart, ToolCallPart, ToolResultPart
from app.core.paths import app_paths
from app.core.sampling import SamplingSettings
from app.core.sources.retrieval import INSTRUCTIONS
from app.ui.chat.tool_card import ToolCard

QUERY = "keeper lamp dusk"
CALL = ('root ::= "<tool_call>\\n{\\"name\\": \\"search_sources\\", \\"arguments\\": {\\"query\\": \\"' + QUERY
        + '\\", \\"top_k\\": 3}}\\n</tool_call>"')
ANSWER = "The keeper lights the lamp at dusk [1]."


@pytest.mark.model
def test_the_model_searches_the_chats_sources_with_a_tool_and_its_citation_opens_the_passage(
        qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("INKLING_HOME", str(home))
    docs = tmp_path / "docs"
    docs.mkdir()
    lighthouse = docs / "lighthouse.md"
    lighthouse.write_text("# The lighthouse\n\n" + "Waves break on the rocks below the tower. " * 30 + "\n\n"
                          "Every evening the keeper climbs the stairs and lights the lamp at dusk.\n")
    (docs / "bread.md").write_text("Bread needs flour, water, salt and yeast, and time to rise.\n")
    for i in range(8):
        (docs / f"note{i}.txt").write_text(f"Note {i} about gardening, tomatoes and rain.\n")
    index_folder(app_paths().ensure().sources, "notes", docs)

    window = open_window(qtbot, home, monkeypatch)
    chat = window.chat
    session = chat.session
    chat.sources.set(session.id, ["notes"])
    chat.sources_button.set_chat(session.id)
    qtbot.wait(200)
    assert chat.turn.tools.offer is None  # always-on: no tool offered
    button = chat.sources_button
    button.menu_.aboutToShow.emit()  # the menu as it opens: the chat's collections, then how it reads them
    modes = {a.objectName(): a for a in button.menu_.actions() if a.objectName().startswith("sourcesMode-")}
    assert modes["sourcesMode-always"].isChecked() and not modes["sourcesMode-tool"].isChecked()
    assert modes["sourcesMode-tool"].text() == "Let the model search them (a tool)"
    modes["sourcesMode-tool"].trigger()
    assert chat.sources.mode_of(session.id) == "tool" and "search_sources" in button.toolTip()
    qtbot.waitUntil(lambda: chat.turn.tools.offer is not None and chat.turn.tools.offer.names == {"search_sources"},
                    timeout=10_000)

    def answer_after_the_tool(_session: object, what: str) -> None:
        if what == "tool-result":  # the answer, forced, before the reply after the result starts
            session.set_sampling(SamplingSettings(temperature=0.0, max_tokens=40, grammar=f'root ::= "{ANSWER}"'))

    session.subscribe(answer_after_the_tool)
    chat.tools.set_first_choice("search_sources")
    chat.set_sampling(SamplingSettings(temperature=0.0, max_tokens=80, grammar=CALL))
    chat.composer.setPlainText("When does the keeper light the lamp?")
    qtbot.mouseClick(chat.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(session.path) >= 4 and session.path[-2].role == "tool"
                    and session.path[-1].status == "done" and chat.reply is None, timeout=90_000)

    call_message, tool_message, message = session.path[-3:]
    call = next(p for p in call_message.parts if isinstance(p, ToolCallPart))
    assert call.name == "search_sources" and json.loads(call.arguments) == {"query": QUERY, "top_k": 3}
    result = tool_message.parts[0]
    assert isinstance(result, ToolResultPart) and not result.is_error
    first_block = re.split(r"\n\n(?=\[\d+\] /)", result.content)[1]  # the passages, each under "[n] path:line"
    assert first_block.startswith(f"[1] {lighthouse}:") and first_block.endswith("lights the lamp at dusk."), \
        result.content
    card = chat.transcript.widgets[call_message.id].findChildren(ToolCard)[0]
    assert not card.buttons.isVisible()  # a built-in search of the chat's own sources asks no approval

    # the model's prompt held the passages with their numbers, as the tool's answer, and no always-on sources
    prompt = window.bridge.engine.active.last_prompt()
    assert "<tool_response>" in prompt and first_block in prompt
    assert INSTRUCTIONS not in prompt and "search_sources" in prompt

    assert message.content == ANSWER
    citations = [p for p in message.parts if isinstance(p, CitationPart)]
    assert citations and citations[0].source == first_block.split("\n")[0].removeprefix("[1] ")
    widget = chat.transcript.widgets[message.id]
    qtbot.waitUntil(lambda: widget.body.rendered, timeout=10_000)
    qtbot.mouseClick(widget.body.viewport(), Qt.MouseButton.LeftButton, pos=_anchor_point(widget.body, "cite:1"))
    qtbot.waitUntil(lambda: widget.opened_passage is not None, timeout=5_000)
    dialog = widget.opened_passage
    assert dialog.path == str(lighthouse) and dialog.isVisible()
    assert dialog.highlighted.strip().endswith("lights the lamp at dusk.")
    window.close()


def test_the_tool_call_grammar_holds_a_model_to_a_search_sources_call() -> None:
    """With ``tool_choice`` "search_sources" and no grammar of the test's, the engine builds one from the schema."""
    from llama_cpp import LlamaGrammar

    from app.core.sources.source_tool import SEARCH_SOURCES_SPEC
    from app.engine.tool_grammar import tool_call_grammar

    gbnf = tool_call_grammar([SEARCH_SOURCES_SPEC.to_openai()])
    assert '\\"search_sources\\"' in gbnf and "query" in gbnf
    LlamaGrammar.from_string(gbnf, verbose=False)  # llama.cpp parses it
