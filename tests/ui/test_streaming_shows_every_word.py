"""A streaming reply shows every word as it arrives, not line by line.

The renderer cuts text into blocks of whole lines; the line still being written
(a reply's first line, or a new paragraph's) belongs to no block until it ends.
It must still be on screen: a one-line reply once showed nothing until it was over.
"""

from __future__ import annotations

import pytest
from long_reply import forced
from ui.conftest import send

from app.core.sampling import SamplingSettings
from app.ui.main_window import MainWindow
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


def test_the_real_reply_is_on_screen_at_every_render_while_it_streams(qtbot, window: MainWindow) -> None:
    """Each time the chat pane renders the reply so far, all of it is in the view (not only its whole lines)."""
    chat = window.chat
    chat.set_sampling(forced(SamplingSettings(temperature=0.0, max_tokens=48, seed=1)))
    behind: list[tuple[int, int, str]] = []
    renders = [0]
    original = chat._render_streaming

    def render() -> None:
        original()
        reply = chat.reply
        if reply is None:
            return
        body = reply.widget.body
        text = body.source_text
        renders[0] += 1
        if "`" not in text and text[body.shown_end:].strip():  # (a fence line may wait for its end)
            behind.append((body.shown_end, len(text), text[body.shown_end:]))

    chat._render_streaming = render
    fin = send(qtbot, window, "Tell me about lighthouses.")
    assert fin.timings.generated_tokens == 48
    assert renders[0] >= 2, "the reply was rendered fewer than twice while it streamed"
    assert not behind, f"renders that showed less than the reply so far (shown, given, missing): {behind[:3]}"
