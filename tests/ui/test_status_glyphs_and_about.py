"""What the window says once a generation ends, glyphs a font can draw, and an About box that shows every row."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QFontMetrics, QTextCursor
from PySide6.QtWidgets import QApplication, QLabel
from ui.conftest import open_window

from app.core.sampling import SamplingSettings
from app.ui.about import AboutDialog
from app.ui.main_window import MainWindow

NO_END = ((0, -100.0), (1, -100.0), (2, -100.0))  # SmolLM2's end-of-text / end-of-turn tokens never come


def test_the_status_bar_says_how_a_reply_ended_not_writing(qtbot, window: MainWindow) -> None:
    chat = window.chat
    chat.set_sampling(SamplingSettings(temperature=0.9, max_tokens=8, seed=3, logit_bias=NO_END))
    chat.composer.setPlainText("Say something.")
    with qtbot.waitSignal(chat.reply_finished, timeout=60_000):
        chat.send_button.click()
    shown = window.statusBar().currentMessage()
    assert "Writing" not in shown, f"the status bar still says {shown!r} after the reply ended"
    assert "8 tokens" in shown, shown

    chat.set_sampling(SamplingSettings(temperature=0.9, max_tokens=2000, seed=3, logit_bias=NO_END))
    chat.composer.setPlainText("Go on, at length.")
    chat.send_button.click()
    qtbot.waitUntil(lambda: chat.reply is not None and len(chat.reply.text) > 20, timeout=60_000)
    with qtbot.waitSignal(chat.reply_finished, timeout=10_000):
        window.stop_generating()
    shown = window.statusBar().currentMessage()
    assert "Writing" not in shown and "Stopped" in shown, f"after Stop the status bar says {shown!r}"


def test_the_status_bar_says_how_a_suggestion_ended(qtbot, window: MainWindow) -> None:
    pane = window.write
    window.tabs.setCurrentWidget(pane)
    pane.set_sampling(SamplingSettings(temperature=0.9, max_tokens=6, seed=3, logit_bias=NO_END))
    pane.editor.setPlainText("The sea below was restless, and")
    pane.editor.moveCursor(QTextCursor.MoveOperation.End)
    with qtbot.waitSignal(pane.suggestion_finished, timeout=60_000):
        pane.continue_button.click()
    shown = window.statusBar().currentMessage()
    assert "Writing" not in shown and shown.startswith("Suggestion: 6 tokens"), shown


@pytest.fixture
def bare_window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    win = open_window(qtbot, tmp_path / "home", monkeypatch, wait_model=False)
    yield win
    win.close()


def _unrenderable(text: str, metrics: QFontMetrics) -> list[str]:
    return [ch for ch in text if not ch.isspace() and not metrics.inFontUcs4(ord(ch))]


def test_a_code_cards_copy_link_uses_only_characters_its_font_has(qtbot, bare_window: MainWindow) -> None:
    storage = bare_window.storage
    conv = storage.create_conversation("code")
    user = storage.add_message(conv.id, None, "user", "code please")
    storage.add_message(conv.id, user.id, "assistant", "```python\nprint(1)\n```")
    bare_window.chat.open_conversation(conv.id)
    view = next(w for w in bare_window.chat.transcript.widgets.values() if w.message.role == "assistant").body
    qtbot.waitUntil(lambda: view.rendered, timeout=10_000)
    doc = view.document()
    header = next(doc.findBlockByNumber(i) for i in range(doc.blockCount()) if "Copy" in doc.findBlockByNumber(i).text())
    it = header.begin()
    links = []
    while not it.atEnd():
        fragment = it.fragment()
        if fragment.charFormat().isAnchor():
            links.append(fragment)
        it += 1
    assert links, "the card has no Copy link"
    for fragment in links:
        font = fragment.charFormat().font()
        missing = _unrenderable(fragment.text(), QFontMetrics(font))
        assert not missing, f"{fragment.text()!r}: {font.family()} has no glyph for {missing} (a missing-glyph box)"


def test_every_about_row_gets_the_height_its_wrapped_text_needs(qtbot, bare_window: MainWindow) -> None:
    bare_window.show_about()
    dialog = bare_window.findChild(AboutDialog, "aboutDialog")
    assert dialog is not None
    qtbot.waitUntil(lambda: not dialog.fields["cpu_variant"].text().startswith("asking"), timeout=30_000)
    # what a real answer looks like on a modern CPU: long enough to wrap
    dialog._fill({"llama_cpp": "b1234 (0.3.36)", "cpu_variant": "x86-64 AVX-512",
                  "cpu_features": ["SSE3", "SSSE3", "AVX", "AVX_VNNI", "AVX2", "F16C", "FMA", "BMI2",
                                   "AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16", "AMX_INT8"],
                  "dynamic_backends": True, "gpu_offload": False})
    dialog.fields["model"].setText("SmolLM2-135M-Instruct (/home/someone/.local/share/inkling/models/"
                                   "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/smollm2-135m-instruct-q4_1.gguf)")
    for width in (dialog.width(), 420):
        dialog.resize(width, dialog.height())
        QApplication.processEvents()
        qtbot.wait(50)
        for label in dialog.findChildren(QLabel):
            if not label.wordWrap() or not label.isVisible():
                continue
            needed = label.heightForWidth(label.width())
            assert needed <= label.height(), (
                f"{label.objectName() or label.text()[:30]!r} is cut off at a {dialog.width()} px wide dialog: "
                f"its text needs {needed} px, it has {label.height()} px")


def test_about_names_the_model_as_the_window_does_and_llama_cpp_without_dirty(qtbot, window: MainWindow) -> None:
    """The selector says "SmolLM2 135M Instruct (starter)"; About said the GGUF's own "Smollm2 135M 8k Lc100K Mix1
    Ep2". And "-dirty" (llama-cpp-python's source is no clean git checkout) told a person nothing."""
    qtbot.waitUntil(lambda: window.bridge.info is not None, timeout=60_000)
    window.show_about()
    dialog = window.findChild(AboutDialog, "aboutDialog")
    assert dialog is not None
    selector_name = window.model_selector.currentText()
    shown = dialog.fields["model"].text()
    assert shown.startswith("SmolLM2 135M Instruct (starter)") and "starter" in selector_name, (shown, selector_name)
    qtbot.waitUntil(lambda: not dialog.fields["llama_cpp"].text().startswith("asking"), timeout=30_000)
    assert "dirty" not in dialog.fields["llama_cpp"].text()
