"""Tools over MCP in the real window: the starter model calls a real stdio MCP server, after the person allows it.

The model is forced, never trusted: the tool call by ``tool_choice`` (a grammar built
from the tool's argument schema holds it to ``<tool_call>{...}</tool_call>``), the
answer after the result by a GBNF grammar. What the tests check is Inkling's part:
the card waits for approval, nothing runs before it, the result (or the refusal, or
a fault) is shown as plain text and is in the prompt of the model's next reply.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from app.core.parts import ToolCallPart, ToolResultPart
from app.core.sampling import SamplingSettings
from app.core.tools import REFUSED
from app.ui.chat.part_widgets import ToolResultWidget
from app.ui.chat.tool_card import ToolCard
from app.ui.main_window import MainWindow

SERVER = Path(__file__).resolve().parents[1] / "tools" / "mcp_server.py"
ANSWER = 'root ::= "The tool said " [a-z ]{1,20} "."'


def write_tool_config(config_dir: Path, log: Path) -> Path:
    """``mcp.json`` in the app's config folder, in Claude Desktop's shape, naming the test server."""
    config = config_dir / "mcp.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps({"mcpServers": {"test": {
        "command": sys.executable, "args": [str(SERVER)], "env": {"INKLING_TEST_TOOL_LOG": str(log)}}}}))
    return config


@pytest.fixture
def tool_window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from ui.conftest import open_window

    home = tmp_path / "home"
    log = tmp_path / "tool-calls.log"
    monkeypatch.setenv("INKLING_HOME", str(home))
    from app.core.paths import app_paths

    write_tool_config(app_paths().config, log)
    window = open_window(qtbot, home, monkeypatch)
    window.tool_log = log  # type: ignore[attr-defined]
    chat = window.chat
    assert chat.tools is not None
    qtbot.waitUntil(lambda: chat.turn.tools is not None and chat.turn.tools.offer is not None, timeout=30_000)
    yield window
    window.close()


def ask(qtbot, window: MainWindow, question: str, tool: str) -> ToolCard:
    """Send ``question`` with the model forced to call ``tool``; the card that waits for the person."""
    chat = window.chat
    chat.tools.set_first_choice(tool)
    chat.set_sampling(SamplingSettings(temperature=0.0, max_tokens=80, seed=1))
    chat.composer.setPlainText(question)
    qtbot.mouseClick(chat.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: chat.tools.card_for(chat.session) is not None
                    and chat.tools.card_for(chat.session).buttons.isVisible(), timeout=60_000)
    card = chat.tools.card_for(chat.session)
    chat.set_sampling(SamplingSettings(temperature=0.0, max_tokens=40, seed=1, grammar=ANSWER))  # the answer, forced
    return card


def answered(window: MainWindow) -> bool:
    """The model's reply after the tool's message has ended."""
    path = window.chat.session.path
    return (len(path) >= 2 and path[-1].role == "assistant" and path[-2].role == "tool"
            and path[-1].status == "done" and window.chat.reply is None)


def result_of(window: MainWindow) -> ToolResultPart:
    tool_message = window.chat.session.path[-2]
    part = tool_message.parts[0]
    assert isinstance(part, ToolResultPart)
    return part


def test_a_tool_runs_only_after_approval_and_its_result_goes_back_to_the_model(qtbot, tool_window: MainWindow) -> None:
    chat = tool_window.chat
    card = ask(qtbot, tool_window, "What is 2 plus 3? Use the add tool.", "add")
    call = card.part
    assert isinstance(call, ToolCallPart) and call.name == "add"
    args = json.loads(call.arguments)
    assert set(args) == {"a", "b"}
    assert card.arguments.text() and '"a"' in card.arguments.text()
    # the starter model's template has no tool section: the chat says so instead of hiding it
    notice = chat.transcript.findChild(QLabel, "transcriptNotice")
    assert notice is not None and notice.isVisible() and "no tool section" in notice.text()
    status = chat.transcript.widgets[chat.session.path[-1].id].status_label.text()
    assert "without writing anything" not in status, status  # a reply that is a tool call wrote that call
    qtbot.wait(300)
    assert not tool_window.tool_log.exists(), "the tool ran before the person allowed it"

    qtbot.mouseClick(card.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: answered(tool_window), timeout=60_000)

    assert tool_window.tool_log.read_text().split() == ["add", str(args["a"]), str(args["b"])]
    result = result_of(tool_window)
    expected = f"The sum of {args['a']} and {args['b']} is {args['a'] + args['b']}. <b>bold?</b>"
    assert not result.is_error and result.content == expected
    widget = chat.transcript.widgets[chat.session.path[-2].id].findChildren(ToolResultWidget)[0]
    assert widget.content.textFormat() == Qt.TextFormat.PlainText and widget.content.text() == expected
    # the model's next reply was written with the result in its prompt, as a tool response
    prompt = tool_window.engine.local.last_prompt()
    assert "<tool_response>" in prompt and expected in prompt
    assert "<tool_call>" in prompt and '"name": "add"' in prompt
    assert chat.session.path[-1].content.startswith("The tool said ")
    # the stored call is a part of the reply, not text in it
    reply = chat.session.path[-3]
    assert any(isinstance(p, ToolCallPart) for p in reply.parts) and "<tool_call>" not in reply.content


def test_a_refused_call_does_not_run_and_the_model_is_told(qtbot, tool_window: MainWindow) -> None:
    card = ask(qtbot, tool_window, "What is 4 plus 4? Use the add tool.", "add")
    qtbot.mouseClick(card.refuse_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: answered(tool_window), timeout=60_000)
    assert not tool_window.tool_log.exists()
    result = result_of(tool_window)
    assert result.is_error and result.content == REFUSED
    assert REFUSED in tool_window.engine.local.last_prompt()


@pytest.mark.parametrize(("tool", "words"), [
    ("hang", "did not answer within"),
    ("crash", "stopped in the middle of the call"),
    ("garbage", "not valid JSON"),
    ("huge", "MB of text"),
])
def test_a_failing_tool_gets_a_clear_card_and_the_chat_goes_on(qtbot, tool_window: MainWindow, tool: str,
                                                              words: str) -> None:
    chat = tool_window.chat
    chat.tools.host.timeout = 4.0
    card = ask(qtbot, tool_window, f"Please call {tool}.", tool)
    qtbot.mouseClick(card.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: answered(tool_window), timeout=90_000)
    result = result_of(tool_window)
    assert result.is_error and words in result.content, result.content
    widget = chat.transcript.widgets[chat.session.path[-2].id].findChildren(ToolResultWidget)[0]
    assert widget.title.text().startswith("Tool failed") and words in widget.content.text()
    assert result.content in tool_window.engine.local.last_prompt()  # the model was told what went wrong
    # and the next message works: the same server runs a good call
    card = ask(qtbot, tool_window, "Now add 1 and 1 with the add tool.", "add")
    qtbot.mouseClick(card.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: answered(tool_window), timeout=60_000)
    assert not result_of(tool_window).is_error and "The sum of" in result_of(tool_window).content


def test_stop_ends_a_running_tool_and_the_turn(qtbot, tool_window: MainWindow) -> None:
    from app.core.tools import STOPPED

    chat = tool_window.chat
    chat.tools.host.timeout = 600.0  # only Stop can end this call
    card = ask(qtbot, tool_window, "Please call hang.", "hang")
    qtbot.mouseClick(card.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: chat.turn.tools.running, timeout=10_000)
    chat.stop()
    qtbot.waitUntil(lambda: chat.session.path[-1].role == "tool", timeout=20_000)
    result = result_of_last(tool_window)
    assert result.is_error and result.content == STOPPED
    qtbot.wait(500)
    assert chat.session.path[-1].role == "tool" and chat.reply is None  # the model was not asked to go on


def result_of_last(window: MainWindow) -> ToolResultPart:
    part = window.chat.session.path[-1].parts[0]
    assert isinstance(part, ToolResultPart)
    return part
