"""Model output is untrusted: HTML shows as text, nothing is loaded, links need a click and a yes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from ui.conftest import wait_for_panes
from ui.fake_engine import FakeEngine

from app.core.paths import app_paths
from app.core.preferences import Preferences
from app.core.sampling import SamplingSettings
from app.core.storage import Storage
from app.main import compose_window
from app.models.library import ModelLibrary
from app.ui.engine_bridge import EngineBridge
from app.ui.main_window import MainWindow

CODE = "```python\n" + "\n".join(f"    value_{i} = compute({i}, 'text')  # line {i}" for i in range(1200)) + "\n```\n"
HOSTILE = (
    "Here you go <img src=\"http://example.com/track.png\"> and <script>alert('x')</script>\n\n"
    "[x](file:///etc/passwd) and [site](https://example.com/page)\n\n"
    "![pic](file:///etc/passwd) ![remote](http://example.com/a.png)\n\n" + CODE
)


@pytest.fixture
def fake_window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("INKLING_HOME", str(tmp_path / "home"))
    paths = app_paths().ensure()
    storage = Storage(paths.database)
    engine = FakeEngine(HOSTILE, piece=64, delay=0.001)
    bridge = EngineBridge(engine)
    window = compose_window(paths, Preferences(), storage, bridge, ModelLibrary(paths.models))
    qtbot.addWidget(window)
    window.show()
    bridge.load("/fake.gguf")
    qtbot.waitUntil(lambda: bridge.free)
    wait_for_panes(window)  # not inside the freeze measured below
    yield window
    window.close()


def test_hostile_markdown_renders_as_text_and_loads_nothing(qtbot, fake_window: MainWindow, monkeypatch) -> None:
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toString()) or True)
    chat = fake_window.chat
    chat.set_sampling(SamplingSettings())
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    ticker = QTimer()
    ticker.timeout.connect(tick)
    ticker.start(5)
    chat.composer.setPlainText("show me")
    chat.reply_finished.connect(ticker.stop)  # measure the streaming itself
    with qtbot.waitSignal(chat.reply_finished, timeout=30_000) as done:
        chat.send()
    assert done.args[0].text == HOSTILE
    view = next(w for w in chat.transcript.widgets.values() if w.message.role == "assistant").body
    qtbot.waitUntil(lambda: view.source_text == HOSTILE and view.rendered)  # the final full render
    shown = view.toPlainText()
    assert "<script>alert('x')</script>" in shown  # raw HTML is shown as text
    assert '<img src="http://example.com/track.png">' in shown
    assert "value_1199 = compute(1199" in shown and len(CODE) > 50_000
    assert view.code_blocks and view.code_blocks[0].startswith("    value_0")
    # images were asked for by the layout and refused: nothing was read or fetched
    assert set(view.blocked_resources) == {"file:///etc/passwd", "http://example.com/a.png"}
    # a file link is refused outright, a web link needs a yes
    view.anchorClicked.emit(QUrl("file:///etc/passwd"))
    assert view.refused_links == ["file:///etc/passwd"] and not opened
    view.confirm_link = lambda url: False
    view.anchorClicked.emit(QUrl("https://example.com/page"))
    assert not opened
    view.confirm_link = lambda url: True
    view.anchorClicked.emit(QUrl("https://example.com/page"))
    assert opened == ["https://example.com/page"]
    # the event loop kept turning while 50 kB of code streamed in
    assert max(gaps) < 0.15, f"the window froze for {max(gaps) * 1000:.0f} ms"


def test_copy_code_copies_exactly_the_block(qtbot, fake_window: MainWindow) -> None:
    from PySide6.QtGui import QGuiApplication

    chat = fake_window.chat
    chat.composer.setPlainText("code please")
    with qtbot.waitSignal(chat.reply_finished, timeout=30_000):
        chat.send()
    view = next(w for w in chat.transcript.widgets.values() if w.message.role == "assistant").body
    qtbot.waitUntil(lambda: view.rendered)
    view.anchorClicked.emit(QUrl("inkling-copy:0"))
    assert QGuiApplication.clipboard().text() == CODE.split("\n", 1)[1].rsplit("\n```", 1)[0]
