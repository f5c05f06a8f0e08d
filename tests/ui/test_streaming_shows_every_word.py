"""A streaming reply shows every word as it arrives, not line by line.

The renderer cuts text into blocks of whole lines; the line still being written
(a reply's first line, or a new paragraph's) belongs to no block until it ends.
It must still be on screen: a one-line reply once showed nothing until it was over.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from long_reply import forced
from ui.conftest import open_window, send
from ui.fake_engine import FakeEngine, fake_window

import app.ui.chat.chat_pane as chat_pane_module
from app.core.sampling import SamplingSettings
from app.ui.chat.chat_pane import ChatPane
from app.ui.engine_bridge import FRAME_MS
from app.ui.markdown_view import MarkdownView


@pytest.fixture
def view(qtbot) -> MarkdownView:
    v = MarkdownView()
    qtbot.addWidget(v)
    v.resize(600, 200)
    v.show()
    qtbot.waitExposed(v)
    return v


def shows(view: MarkdownView, text: str) -> str:
    view.set_streaming_text(text)
    return view.toPlainText()


def test_a_first_line_shows_word_by_word(view: MarkdownView) -> None:
    assert shows(view, "Hello") == "Hello"
    assert shows(view, "Hello wor") == "Hello wor"
    assert view.shown_end == len("Hello wor")
    assert shows(view, "Hello world, how are") == "Hello world, how are"
    view.set_markdown_text("Hello world, how are you?")
    assert view.toPlainText() == "Hello world, how are you?"
    assert view.rendered and view.shown_end == len("Hello world, how are you?")


def test_a_new_paragraph_shows_before_its_line_ends(view: MarkdownView) -> None:
    first = "The keeper climbed the stairs.\n\n"
    assert shows(view, first + "At the top he").endswith("At the top he")
    assert shows(view, first + "At the top he found a bottle").endswith("At the top he found a bottle")
    assert view.toPlainText().count("The keeper climbed the stairs.") == 1, "the first paragraph was shown twice"
    assert shows(view, first + "At the top he found a bottle.\nInside").endswith("Inside")
    view.set_markdown_text(first + "At the top he found a bottle.\nInside was a note.")
    assert view.toPlainText().split("\n") == ["The keeper climbed the stairs.", "At the top he found a bottle.",
                                              "Inside was a note."]


def test_the_line_being_written_becomes_markdown_once_it_ends(view: MarkdownView) -> None:
    assert shows(view, "A **bold** wo") == "A **bold** wo"  # as written, until the line is whole
    assert shows(view, "A **bold** word\nNext") == "A bold word\nNext"
    assert shows(view, "A **bold** word\n- one\n- tw").endswith("tw")


def test_a_code_fence_being_written_is_not_shown_as_text(view: MarkdownView) -> None:
    text = "Here:\n\n```python\nprint(1)\n"
    shows(view, text + "``")  # perhaps the closing fence: the card must not flash backquotes
    assert "``" not in view.toPlainText() and "print(1)" in view.toPlainText()
    shows(view, text + "```\n\nDone")
    assert view.toPlainText().endswith("Done")


Renders = dict[str, int]
Behind = list[tuple[str, int, int, str]]


def _watch_renders(monkeypatch: pytest.MonkeyPatch) -> tuple[Renders, Behind]:
    """Count the chat pane's renders by path, and note each that showed less than the reply so far.

    The pane renders at once when a batch comes a frame after the last render, else from its frame
    timer. The check wraps the method on the class before the window is built, so the timer (bound
    when the pane is made) calls the checked method too; a frame four times the bridge's (as a render
    4x slower than a frame would set) makes a batch that comes a bridge frame after a render wait for
    the timer.
    """
    behind: Behind = []
    renders: Renders = {"at once": 0, "timer": 0}
    original = ChatPane._render_streaming

    @functools.wraps(original)  # PySide6 connects a bound method by its name: it must keep the original's
    def render(pane: ChatPane) -> None:
        original(pane)
        reply = pane.reply
        if reply is None:
            return
        path = "timer" if pane.sender() is pane._render_timer else "at once"
        renders[path] += 1
        body, text = reply.widget.body, reply.text
        if "`" not in text and text[body.shown_end:].strip():  # (a fence line may wait for its end)
            behind.append((path, body.shown_end, len(text), text[body.shown_end:]))

    monkeypatch.setattr(ChatPane, "_render_streaming", render)
    monkeypatch.setattr(chat_pane_module, "FRAME_MS", 4 * FRAME_MS)
    return renders, behind


ONE_LINE = " ".join(f"word{i}" for i in range(60))  # ~400 characters on one line, no line ever ends


def test_a_reply_at_a_steady_rate_is_on_screen_at_every_render_by_either_path(qtbot, tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A scripted engine streams three characters every 10 ms, for over a second: batches come every
    bridge frame (50 ms), well inside the pane's 200 ms frame, so after each render at once the next
    waits for the timer, on any machine. Both paths must show the whole one-line reply so far."""
    renders, behind = _watch_renders(monkeypatch)
    monkeypatch.setenv("INKLING_HOME", str(tmp_path / "home"))
    engine = FakeEngine(ONE_LINE, piece=3, delay=0.01)
    window = fake_window(engine)
    qtbot.addWidget(window)
    window.show()
    try:
        window.bridge.load("/fake.gguf")
        qtbot.waitUntil(lambda: window.bridge.free)
        window.chat.composer.setPlainText("Say it all on one line.")
        with qtbot.waitSignal(window.chat.reply_finished, timeout=30_000) as done:
            window.chat.send()
    finally:
        window.close()
    assert done.args[0].text == ONE_LINE
    assert renders["timer"] >= 1 and renders["at once"] >= 1, f"a path was never taken: {renders}"
    assert not behind, f"renders that showed less than the reply so far (path, shown, given, missing): {behind[:3]}"


def test_the_real_reply_is_on_screen_at_every_render_while_it_streams(qtbot, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The same with the real model: which path each render takes depends on the machine's speed (below
    ~5 tok/s every batch comes a frame after the last render), so only their sum is asserted."""
    renders, behind = _watch_renders(monkeypatch)
    window = open_window(qtbot, tmp_path / "home", monkeypatch)
    try:
        window.chat.set_sampling(forced(SamplingSettings(temperature=0.0, max_tokens=48, seed=1)))
        fin = send(qtbot, window, "Tell me about lighthouses.")
    finally:
        window.close()
    assert fin.timings.generated_tokens == 48
    assert sum(renders.values()) >= 2, f"too few renders while it streamed: {renders}"
    assert not behind, f"renders that showed less than the reply so far (path, shown, given, missing): {behind[:3]}"
