"""Thinking in the window with the real starter model, made to think by a grammar.

The chat shows the thinking as a block above the answer, open and counting while
the model thinks, folded once the answer starts; the next turn's prompt (the
engine's own record of what it read) has no thinking in it; Write inserts only
the answer.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from thinking_model import ANSWER, CHAT_THINK_THEN_ANSWER
from ui.conftest import open_write, send

from app.core.parts import ThinkingPart
from app.core.sampling import SamplingSettings
from app.ui.chat.part_widgets import ThinkingWidget
from app.ui.chat.thinking_block import ThinkingBlock
from app.ui.main_window import MainWindow

THINK = SamplingSettings(temperature=0, max_tokens=80, grammar=CHAT_THINK_THEN_ANSWER)


def _spy_live_blocks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool, str]]:
    """What each live render of a thinking block showed: (its header, open?, the answer's text then)."""
    seen: list[tuple[str, bool, str]] = []
    original = ThinkingBlock.show_live

    def show_live(self: ThinkingBlock, text: str, tokens: int, seconds: float) -> None:
        original(self, text, tokens, seconds)
        bubble = self.parentWidget().parentWidget()
        seen.append((self.toggle.text(), self.expanded and self.text.isVisibleTo(bubble), bubble.body.source_text))

    monkeypatch.setattr(ThinkingBlock, "show_live", show_live)
    return seen


def test_the_chat_shows_thinking_in_a_block_and_never_sends_it_back(qtbot, window: MainWindow,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    live = _spy_live_blocks(monkeypatch)
    chat = window.chat
    window.tabs.setCurrentWidget(chat)
    chat.set_sampling(THINK, "Balanced")
    fin = send(qtbot, window, "When is the lamp lit?")
    assert fin.reason == "stop"

    # while it thought: a block, open, counting, above an answer not yet begun
    assert live and live[0][1] and live[0][0].startswith("Thinking… ") and " tokens, " in live[0][0]
    assert all(answer == "" for _, _, answer in live)

    saved = window.storage.messages(chat.conversation.id)[-1]
    assert [p.kind for p in saved.parts] == ["thinking", "text"] and saved.content == ANSWER
    thinking = saved.parts[0].text
    assert len(thinking) >= 10 and "<think>" not in thinking
    assert 0 < saved.stats["thinking_tokens"] < saved.stats["tokens"] + saved.stats["thinking_tokens"]

    bubble = chat.transcript.widgets[saved.id]
    blocks = [w for w in bubble.part_widgets if isinstance(w, ThinkingWidget)]
    assert len(blocks) == 1 and blocks[0].part == ThinkingPart(thinking)
    assert not blocks[0].toggle.isChecked() and not blocks[0].text.isVisibleTo(bubble)  # folded
    assert blocks[0].toggle.text().startswith("Thought") and f"{saved.stats['thinking_tokens']} tokens" in \
        blocks[0].toggle.text()
    assert bubble.body.source_text == ANSWER
    blocks[0].toggle.click()  # a click opens it (shown once Qt has laid the new bubble out)
    qtbot.waitUntil(lambda: blocks[0].text.isVisibleTo(bubble), timeout=5_000)
    assert blocks[0].text.text() == thinking

    exported = Path(window.storage.path).parent / "chat.md"
    chat.export_to(exported)  # what File ▸ Export chat… writes: the answer, not the thinking
    assert ANSWER in exported.read_text() and thinking not in exported.read_text()
    assert not window.export_thinking.isChecked()
    chat.export_to(exported, thinking=True)  # "Include thinking in chat exports" chosen
    assert f"> **Thinking:** {thinking}" in exported.read_text()

    chat.set_sampling(SamplingSettings(temperature=0, max_tokens=4), "Balanced")
    send(qtbot, window, "And at dawn?")
    prompt = window.engine.local.last_prompt()
    assert ANSWER in prompt and "And at dawn?" in prompt
    assert thinking not in prompt and "think>" not in prompt


def test_write_inserts_only_the_answer(qtbot, window: MainWindow) -> None:
    pane = open_write(window, "The keeper asks: when is the lamp lit?\n", THINK)
    with qtbot.waitSignal(pane.suggestion_finished, timeout=60_000) as done:
        pane.continue_button.click()
    assert "<think>" in done.args[0].text  # the model did think
    assert pane.editor.suggestion_text == ANSWER
    # the token inspector shows every token, the thinking's too (each with its probability and alternatives)
    assert "".join(t.text for t in pane.inspector.tokens).startswith("<think>\n")
    pane.accept()
    assert pane.editor.content() == "The keeper asks: when is the lamp lit?\n" + ANSWER
    assert window.storage.document(pane.document.id).content == "The keeper asks: when is the lamp lit?\n" + ANSWER


def test_the_think_switch_and_budget_show_for_a_model_that_thinks(qtbot, window: MainWindow, tmp_path) -> None:
    from thinking_model import thinking_copy

    chat = window.chat
    controls = chat.think_controls
    assert not controls.isVisibleTo(chat)  # the starter model's template does not think
    path = str(thinking_copy(Path(window.bridge.info.path), tmp_path / "thinking.gguf"))
    window.load_model(path)
    qtbot.waitUntil(lambda: window.bridge.free and window.bridge.info.path == path, timeout=60_000)
    assert controls.isVisibleTo(chat) and controls.think_box.isEnabled() and controls.think_box.isChecked()
    assert controls.budget_box.text() == "no limit"
    controls.budget_box.setValue(64)
    controls.think_box.click()  # off: the template writes an empty thinking and the model answers at once
    assert chat.sampling.thinking is False and chat.sampling.thinking_budget == 64
    assert window.sampling.settings.thinking is False  # the Sampling panel edits from the same settings
    chat.set_sampling(chat.sampling.replace(temperature=0, max_tokens=12, grammar=f'root ::= "{ANSWER}"'), "")
    send(qtbot, window, "When is the lamp lit?")
    assert window.engine.local.last_prompt().endswith("<think>\n\n</think>\n\n")
    saved = window.storage.messages(chat.conversation.id)[-1]
    assert [p.kind for p in saved.parts] == ["text"] and saved.content == ANSWER
