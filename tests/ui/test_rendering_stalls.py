"""No shape of model output freezes the window: streaming, finishing or opening it.

Each shape below once stalled the GUI thread for seconds (up to minutes) in one
``setMarkdown``. Measured here through the real window's transcript with a 5 ms
heartbeat timer: the longest gap between beats is the longest frozen frame.

The bound is on the GUI thread's own work (its CPU time between two beats), which is
what the renderer controls: on a machine whose cores are busy elsewhere the same work
also waits for the CPU, so the wall-clock gap gets a looser bound that still catches a
thread that blocks (waits on a lock, a pipe, a sleep) rather than computes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from PySide6.QtCore import QTimer
from ui.conftest import open_window

from app.core.storage import MessageRow
from app.ui.main_window import MainWindow

FROZEN_MS = 100  # GUI-thread CPU time in one stretch: a person notices; the design aims at ~20 ms
WAITED_MS = 400  # wall clock, which also counts the time a loaded machine gives other programs

SHAPES: dict[str, tuple[str, Callable[[str], bool]]] = {
    "a 1 MB line without spaces": ("x" * 1_000_000, lambda shown: shown.count("x") == 1_000_000),
    "a 20,000-row table": ("| n | cell | more |\n|---|---|---|\n"
                           + "".join(f"| {i} | cell {i} | more {i} |\n" for i in range(20_000)),
                           lambda shown: "cell 19999" in shown and "more 0" in shown),
    "a 20,000-item numbered list": ("".join(f"{i + 1}. item number {i}\n" for i in range(20_000)),
                                    lambda shown: "item number 19999" in shown),
    # (a line too long to lay out is shown cut into display lines: the checks join them again)
    "emphasis runs": ("a*" * 30_000, lambda shown: shown.replace("\n", "") == "a*" * 30_000),
    "bracket runs": ("[" * 100_000 + "x" + "]" * 100_000,
                     lambda shown: shown.replace("\n", "") == "[" * 100_000 + "x" + "]" * 100_000),
    "a wide nested list": ("".join(f"- item {i}\n  - sub {i}\n    - subsub {i}\n      - deeper {i}\n"
                                   for i in range(5_000)), lambda shown: "deeper 4999" in shown),
    "a 1 MB unclosed code block": ("```python\n" + "".join(f"value_{i} = compute({i}, 'text')  # line {i}\n"
                                                          for i in range(22_000)),
                                   lambda shown: "value_21999 = compute(21999" in shown),
    "a 10,000-line blockquote": ("".join(f"> quoted line {i} of a long blockquote\n" for i in range(10_000)),
                                 lambda shown: "quoted line 9999 of" in shown),
}


class Heartbeat:
    """A 5 ms timer; the longest gap between its beats is the longest frozen frame.

    ``stop`` returns the longest gap twice, in ms: as GUI-thread CPU time (the work that
    froze the window) and as wall-clock time (that work plus waiting for a busy CPU).
    """

    def __init__(self) -> None:
        self.longest_cpu = self.longest_wall = 0.0
        self._last_cpu, self._last_wall = time.thread_time(), time.perf_counter()
        self._timer = QTimer()
        self._timer.timeout.connect(self._beat)
        self._timer.start(5)

    def _beat(self) -> None:
        cpu, wall = time.thread_time(), time.perf_counter()  # the timer fires on the GUI thread
        self.longest_cpu = max(self.longest_cpu, cpu - self._last_cpu)
        self.longest_wall = max(self.longest_wall, wall - self._last_wall)
        self._last_cpu, self._last_wall = cpu, wall

    def stop(self) -> tuple[float, float]:
        self._beat()
        self._timer.stop()
        return self.longest_cpu * 1000, self.longest_wall * 1000


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory: pytest.TempPathFactory):
    mp = pytest.MonkeyPatch()

    class _Bot:  # open_window only registers the window for closing; this fixture closes it itself
        def addWidget(self, _w: object) -> None:  # noqa: N802 - pytest-qt's name
            pass

    win = open_window(_Bot(), tmp_path_factory.mktemp("home"), mp, wait_model=False)
    win.resize(1100, 760)
    yield win
    win.close()
    mp.undo()


@pytest.mark.parametrize("shape", list(SHAPES))
def test_opening_a_chat_with_this_reply_never_freezes_the_window(qtbot, qapp, window: MainWindow, shape: str) -> None:
    text, all_there = SHAPES[shape]
    storage = window.storage
    conv = storage.create_conversation(f"open {shape}")
    user = storage.add_message(conv.id, None, "user", "show me")
    storage.add_message(conv.id, user.id, "assistant", text)
    window.tabs.setCurrentWidget(window.chat)
    qapp.processEvents()  # let the window settle before measuring
    beat = Heartbeat()
    window.chat.open_conversation(conv.id)
    view = _reply_view(window)
    qtbot.waitUntil(lambda: view.rendered, timeout=120_000)
    frozen, waited = beat.stop()
    assert all_there(view.toPlainText()), "some of the text is missing"
    assert frozen < FROZEN_MS, f"opening {shape} froze the window for {frozen:.0f} ms of work"
    assert waited < WAITED_MS, f"opening {shape} froze the window for {waited:.0f} ms (wall clock)"


@pytest.mark.parametrize("shape", list(SHAPES))
def test_streaming_and_finishing_this_reply_never_freezes_the_window(qtbot, qapp, window: MainWindow,
                                                                     shape: str) -> None:
    text, all_there = SHAPES[shape]
    window.tabs.setCurrentWidget(window.chat)
    transcript = window.chat.transcript
    widget = transcript.append(MessageRow(10**9, 0, None, "assistant", "", "streaming", {}, 0.0))
    qapp.processEvents()
    steps, sent = 100, [0]

    def stream() -> None:  # what the chat pane does each frame while tokens arrive, then at the end
        sent[0] += 1
        if sent[0] < steps:
            widget.set_streaming_text(text[: len(text) * sent[0] // steps])
        else:
            feeder.stop()
            widget.update_message(MessageRow(10**9, 0, None, "assistant", text, "done", {}, 0.0))

    beat = Heartbeat()
    feeder = QTimer()
    feeder.timeout.connect(stream)
    feeder.start(16)
    qtbot.waitUntil(lambda: widget.body.source_text == text and widget.body.rendered, timeout=120_000)
    frozen, waited = beat.stop()
    shown = widget.body.toPlainText()
    transcript.remove([10**9])
    assert all_there(shown), "some of the text is missing"
    assert frozen < FROZEN_MS, f"streaming {shape} froze the window for {frozen:.0f} ms of work"
    assert waited < WAITED_MS, f"streaming {shape} froze the window for {waited:.0f} ms (wall clock)"


def _reply_view(window: MainWindow):
    return next(w for w in window.chat.transcript.widgets.values() if w.message.role == "assistant").body


def test_a_finished_reply_that_grows_again_keeps_its_rendered_start(qtbot) -> None:
    """Continue appends to a finished reply: only its last block is drawn again."""
    from app.ui.markdown_view import MarkdownView

    view = MarkdownView()
    qtbot.addWidget(view)
    view.show()
    view.set_markdown_text("# Title\n\nFirst paragraph.\n\nSecond")
    qtbot.waitUntil(lambda: view.rendered)
    first = view.document().findBlockByNumber(0)
    view.set_streaming_text("# Title\n\nFirst paragraph.\n\nSecond and more")
    view.set_markdown_text("# Title\n\nFirst paragraph.\n\nSecond and more words.")
    qtbot.waitUntil(lambda: view.rendered)
    assert view.document().findBlockByNumber(0).text() == first.text() == "Title"
    assert view.toPlainText().endswith("Second and more words.")
