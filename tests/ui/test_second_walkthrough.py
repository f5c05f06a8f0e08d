"""What a new user tripped over in the second walk-through, each checked through the real window.

The toolbar and the wheel, whitespace around a reworked selection, where the keys go
after Stop, the Hub's file list offline, the window at 800×500, the title after F2,
a rework cut at its length limit, status lines that go stale, and exports that start
with a shortened title.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QPlainTextEdit, QScrollArea, QWidget
from ui.conftest import open_window, open_write, rename_with_f2, send

from app.core.rework import answer_budget
from app.core.sampling import SamplingSettings
from app.ui.main_window import DOCK_WIDTH, MainWindow

NO_END = ((0, -100.0), (1, -100.0), (2, -100.0))  # SmolLM2's end-of-text / end-of-turn tokens never come
DEFAULT = (1280, 820)
SMALL = (800, 500)


def _resize(qtbot, window: MainWindow, size: tuple[int, int]) -> None:
    window.resize(*size)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size, timeout=5_000)
    qtbot.wait(50)  # the dock is fitted, and the editor's share restored, after the layout gave out the size


def _clickable(widget: QWidget, window: QWidget) -> bool:
    """Shown whole inside the window, not squeezed, and the widget a click at its centre lands on."""
    if not widget.isVisible():
        return False
    top_left = widget.mapTo(window, QPoint(0, 0))
    if not window.rect().contains(QRect(top_left, widget.size())):
        return False
    if widget.width() < widget.minimumSizeHint().width():
        return False
    hit = window.childAt(widget.mapTo(window, widget.rect().center()))
    return hit is widget or (hit is not None and widget.isAncestorOf(hit))


@pytest.fixture
def bare_window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The real window without waiting for the model (for layout checks)."""
    win = open_window(qtbot, tmp_path / "home", monkeypatch, wait_model=False)
    yield win
    win.close()


# 1 ---------------------------------------------------------------------------------------------

def test_every_write_action_is_reachable_by_mouse_at_the_default_size_and_at_800_by_500(qtbot, bare_window) -> None:
    window = bare_window
    pane = window.write
    window.sampling_dock.show()
    window.tabs.setCurrentWidget(pane)
    actions = (pane.continue_button, pane.stop_button, pane.accept_button, pane.reject_button,
               pane.regenerate_button, pane.alt_count, pane.alt_button, pane.surprise_button, pane.selection_button)
    for size in (DEFAULT, SMALL):
        _resize(qtbot, window, size)
        assert window.sampling_dock.isVisible()
        for widget in actions:
            assert _clickable(widget, window), f"{widget.objectName()} can't be clicked at {size[0]}×{size[1]}"
    menu = pane.selection_button.menu()  # Rewrite, Shorten, Expand are one click further, in a real menu
    assert [a.text() for a in menu.actions()][:3] == ["Rewrite", "Shorten", "Expand"]


# 2 ---------------------------------------------------------------------------------------------

def test_the_wheel_over_an_unfocused_slider_scrolls_the_sampling_dock_and_leaves_the_value(qtbot, bare_window) -> None:
    window = bare_window
    panel = window.sampling
    scroll = panel.findChild(QScrollArea)
    bar = scroll.verticalScrollBar()
    slider = panel.controls["typical_p"].slider
    scroll.ensureWidgetVisible(slider)
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5_000)
    bar.setValue(min(bar.value(), bar.maximum() - 1))
    window.chat.composer.setFocus()  # the person types in the chat; the pointer is over the slider
    value, settings, scrolled = slider.value(), panel.settings, bar.value()
    centre = QPointF(slider.mapTo(window, slider.rect().center()))
    QTest.wheelEvent(window.windowHandle(), centre, QPoint(0, -120))  # one notch down, as a mouse sends it
    QApplication.processEvents()
    assert slider.value() == value and panel.settings == settings, "the slider under the pointer took the wheel"
    assert panel.modified_label.text() == ""
    assert bar.value() > scrolled, "the dock did not scroll"

    slider.setFocus()  # clicked or tabbed to: now the wheel is the slider's
    centre = QPointF(slider.mapTo(window, slider.rect().center()))
    QTest.wheelEvent(window.windowHandle(), centre, QPoint(0, -120))
    QApplication.processEvents()
    assert slider.value() != value


# 3 and 8 ---------------------------------------------------------------------------------------

def _rework(qtbot, window: MainWindow, text: str, start: int, end: int, action: str,
            settings: SamplingSettings) -> None:
    pane = open_write(window, text, settings)
    pane.draft_action.setChecked(False)
    pane.alt_count.setValue(1)
    cursor = pane.editor.textCursor()
    cursor.setPosition(start)
    cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
    pane.editor.setTextCursor(cursor)
    with qtbot.waitSignal(pane.alternatives_finished, timeout=120_000):
        pane.selection_actions[action].trigger()


def test_a_reworked_paragraph_keeps_the_whitespace_around_it(qtbot, window: MainWindow) -> None:
    first = "The lighthouse keeper climbed the stairs every night."
    rest = "\n\nThe sea below was restless."
    # a triple-click selects the paragraph and its paragraph break
    _rework(qtbot, window, first + rest, 0, len(first) + 1, "Shorten", SamplingSettings(temperature=0.0, max_tokens=24))
    pane = window.write
    answer = pane.alternatives.text(0).strip()
    assert answer
    pane.alternatives.buttons[0].click()
    assert pane.editor.content() == answer + rest  # the blank line is still there, nothing glued on

    text = "It was dusk. The wind rose."
    start = text.index(" The")  # a selection that starts with a space
    _rework(qtbot, window, text, start, len(text), "Rewrite", SamplingSettings(temperature=0.0, max_tokens=24))
    answer = pane.alternatives.text(0).strip()
    assert answer
    pane.alternatives.buttons[0].click()
    assert pane.editor.content() == "It was dusk. " + answer


def test_a_rework_follows_the_selection_length_and_says_when_it_was_cut(qtbot, window: MainWindow) -> None:
    selection = "The wind rose."
    endless = SamplingSettings(temperature=0.0, max_tokens=2000, logit_bias=NO_END)  # never ends by itself
    _rework(qtbot, window, selection, 0, len(selection), "Shorten", endless)
    pane = window.write
    fin = pane.variants.last_finished
    assert fin is not None and fin.reason == "length"
    assert fin.timings.generated_tokens == answer_budget("Shorten", selection) < 2000  # not the document's 2,000
    assert "length limit" in pane.alternatives.title.text()
    assert "cut off" in pane.alternatives.buttons[0].text()


# 4 ---------------------------------------------------------------------------------------------

def test_after_stop_accept_and_reject_the_keys_go_to_the_text(qtbot, window: MainWindow) -> None:
    pane = open_write(window, "Once upon a time, in a quiet valley,", SamplingSettings())
    window.activateWindow()
    pane.editor.setFocus()
    for button, ending in ((pane.stop_button, "stop"), (pane.accept_button, "accept"), (pane.reject_button, "reject")):
        endless = button is pane.stop_button
        pane.set_sampling(SamplingSettings(temperature=0.0, max_tokens=400 if endless else 6, logit_bias=NO_END))
        with qtbot.waitSignal(pane.suggestion_finished, timeout=60_000) as finished:
            pane.continue_button.click()
            if button is pane.stop_button:
                qtbot.waitUntil(lambda: bool(pane.editor.suggestion_text), timeout=60_000)
                QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        if button is not pane.stop_button:
            assert finished.args[0].reason in ("stop", "length")
            QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        typed = f" typed after {ending}"
        QTest.keyClicks(QApplication.focusWidget(), typed)
        assert QApplication.focusWidget() is pane.editor, f"after {ending} the keys go to {QApplication.focusWidget()}"
        assert typed in pane.editor.content()


# 5 ---------------------------------------------------------------------------------------------

def test_offline_a_curated_models_files_say_they_cant_be_listed(qtbot, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")  # never resolves: offline, at once
    window = open_window(qtbot, tmp_path / "home", monkeypatch, wait_model=False)
    pane = window.models
    window.tabs.setCurrentWidget(pane)
    pane.tabs.setCurrentIndex(1)
    assert pane.results_view.count() > 0  # the curated models
    pane.results_view.setCurrentRow(0)
    repo = pane.results_view.item(0).data(Qt.ItemDataRole.UserRole)
    qtbot.waitUntil(lambda: not pane.repo_label.text().startswith("Loading"), timeout=15_000)
    assert repo in pane.repo_label.text() and "can't be listed" in pane.repo_label.text()
    assert pane.offline_row.isVisible()
    window.close()


# 6 ---------------------------------------------------------------------------------------------

def test_at_800_by_500_the_writer_and_the_servers_form_stay_usable(qtbot, bare_window) -> None:
    window = bare_window
    window.sampling_dock.show()
    pane = window.write
    window.tabs.setCurrentWidget(pane)
    _resize(qtbot, window, DEFAULT)
    qtbot.waitUntil(lambda: pane.editor.height() > 0, timeout=5_000)
    roomy = pane.vsplit.sizes()
    _resize(qtbot, window, SMALL)
    editor, memory, bottom = pane.vsplit.sizes()[1], pane.vsplit.sizes()[0], pane.vsplit.sizes()[2]
    line = pane.editor.fontMetrics().lineSpacing()
    assert editor >= memory and editor >= bottom, pane.vsplit.sizes()
    assert pane.editor.viewport().height() >= 6 * line, f"the editor shows {pane.editor.viewport().height() // line} lines"
    _resize(qtbot, window, DEFAULT)  # room again: the memory and the bottom tabs get their height back
    qtbot.waitUntil(lambda: pane.vsplit.sizes()[2] >= roomy[2] - 2 and pane.vsplit.sizes()[0] >= roomy[0] - 2,
                    timeout=5_000)
    _resize(qtbot, window, SMALL)

    servers = window.connections
    window.tabs.setCurrentWidget(window.models)
    tabs = window.models.tabs
    tabs.setCurrentIndex(next(i for i in range(tabs.count()) if tabs.tabText(i) == "Servers"))
    qtbot.waitUntil(servers.url_edit.isVisible, timeout=5_000)
    qtbot.wait(50)
    area = servers.findChild(QScrollArea, "connectionFormArea")
    for field in (servers.name_edit, servers.url_edit, servers.key_edit, servers.extra_edit, servers.headers_edit):
        assert field.width() >= 150, f"{field.objectName()} is {field.width()} px wide"
        hint = field.minimumSizeHint() if isinstance(field, QPlainTextEdit) else field.sizeHint()
        needed = min(hint.height(), field.maximumHeight())
        assert field.height() >= needed, f"{field.objectName()} is {field.height()} px high"
        assert isinstance(field, QLineEdit | QPlainTextEdit)
    for widget in (servers.test_button, servers.remove_button, servers.status, *servers.badges.values()):
        area.ensureWidgetVisible(widget)
        QApplication.processEvents()
        top_left = widget.mapTo(area.viewport(), QPoint(0, 0))
        assert area.viewport().rect().contains(QRect(top_left, widget.size())), widget.objectName() or widget.text()
        assert widget.width() >= widget.minimumSizeHint().width()


# 7 ---------------------------------------------------------------------------------------------

def test_f2_rename_names_the_window_keeps_the_row_selected_and_names_the_export(qtbot, window: MainWindow,
                                                                                monkeypatch) -> None:
    chat = window.chat
    rename_with_f2(qtbot, window, "Trip planning")
    qtbot.waitUntil(lambda: window.windowTitle() == "Trip planning — Inkling", timeout=5_000)
    row = chat.list_model.row_of(chat.session.id)
    assert chat.list_view.selectionModel().isSelected(chat.list_model.index(row)), "the renamed row lost its selection"
    assert chat.session.title == "Trip planning"
    assert window.storage.conversation(chat.session.id).title == "Trip planning"
    offered: list[str] = []

    def save_dialog(_parent: object, _caption: str, suggested: str, _filter: str) -> tuple[str, str]:
        offered.append(suggested)
        return "", ""  # cancelled: only the offered name is looked at

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    window._on_export_chat()  # File ▸ Export chat… offers the new name
    assert Path(offered[0]).name == "Trip planning.md", offered

    send(qtbot, window, "Say hi.")  # the first reply names a new chat, but not one the person has named
    assert chat.session.title == "Trip planning" and window.windowTitle() == "Trip planning — Inkling"


# 9 ---------------------------------------------------------------------------------------------

def test_the_chats_status_follows_the_chat_the_version_and_the_pane(qtbot, window: MainWindow) -> None:
    chat = window.chat
    chat.set_sampling(SamplingSettings(temperature=0.0, max_tokens=8, logit_bias=NO_END))
    send(qtbot, window, "Say hi.")
    first = window.context_status.text()
    assert first and window.context_status.isVisible() and window.speed_status.text()
    chat.set_sampling(SamplingSettings(temperature=0.0, max_tokens=20, logit_bias=NO_END))
    with qtbot.waitSignal(chat.reply_finished, timeout=60_000):
        chat.regenerate_last()
    second = window.context_status.text()
    assert second != first  # 8 more tokens in this version
    reply = chat.path[-1].id
    chat.switch_version(reply, -1)
    assert window.context_status.text() == first and chat.context_label.text()

    chat.new_conversation()
    assert window.context_status.text() == "" and chat.context_label.text() == ""
    chat.open_conversation(next(r.id for r in chat.list_model.rows if r.id != chat.session.id))
    assert window.context_status.text() == first and chat.context_label.text().startswith("Context:")

    window.tabs.setCurrentWidget(window.write)
    assert not window.context_status.isVisible() and not window.speed_status.isVisible()
    window.tabs.setCurrentWidget(window.chat)
    assert window.context_status.isVisible()


def test_a_failed_server_test_says_so_in_the_list(qtbot, bare_window) -> None:
    servers = bare_window.connections
    servers.name_edit.setText("nowhere")
    servers.url_edit.setText("http://127.0.0.1:9/v1")  # the discard port: nothing answers
    with qtbot.waitSignal(servers.test_finished, timeout=30_000) as done:
        servers.add_button.click()
    assert done.args[1] is False
    text = servers.list_view.item(0).text()
    assert "not tested yet" not in text and "failed" in text, text


# 10 --------------------------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext is not installed")
def test_an_export_starts_with_the_text_not_its_shortened_title(qtbot, bare_window, tmp_path: Path, monkeypatch) -> None:
    pane = bare_window.write
    bare_window.tabs.setCurrentWidget(pane)
    first = "The lighthouse keeper climbed the winding stone stairs every single night"
    pane.editor.setPlainText(first + ".\n\nThe sea below was restless.")
    pane.flush()
    assert pane.session.title.endswith("…")  # titled from the first line, shortened
    offered: list[str] = []
    answers = iter([str(tmp_path / "keeper.pdf"), ""])

    def save_dialog(_parent: object, _caption: str, suggested: str, _filter: str) -> tuple[str, str]:
        offered.append(suggested)
        return next(answers), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    pane.export_as(".pdf")  # the person keeps the offered name, in another folder
    name = Path(offered[0]).name
    assert name == "The lighthouse keeper climbed the winding stone.pdf", name  # no "_" where the "…" was
    text = subprocess.run(["pdftotext", str(tmp_path / "keeper.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert text.lstrip().startswith(first) and "…" not in text, text[:200]
    pane.export_as(".odt")  # the next export opens where the last one went, not in the home folder
    assert Path(offered[1]).parent == tmp_path, offered[1]


# also seen -------------------------------------------------------------------------------------

def test_reset_goes_back_to_the_chats_preset_and_dry_details_wait_for_its_strength(qtbot, bare_window) -> None:
    panel = bare_window.sampling
    panel.choose_preset("Creative")
    temperature = panel.controls["temperature"]
    temperature.spin.setValue(0.3)
    temperature.reset_button.click()
    assert temperature.value() == pytest.approx(1.1) and panel.modified_label.text() == ""  # Creative's, not 0.7
    assert "Creative" in temperature.reset_button.toolTip()

    panel.controls["dry_multiplier"].spin.setValue(0.0)
    details = [panel.controls[f] for f in ("dry_base", "dry_allowed_length", "dry_penalty_last_n")]
    assert not any(c.isEnabled() for c in details) and not panel.dry_breakers_edit.isEnabled()
    panel.controls["dry_multiplier"].spin.setValue(0.8)
    assert all(c.isEnabled() for c in details) and panel.dry_breakers_edit.isEnabled()

    assert "INKLING_THREADS" in panel.threads_spin.specialValueText()  # the suite pins 1: not "automatic"


def test_small_things_new_document_search_without_hits_the_count_label_and_a_growing_dock(qtbot, bare_window) -> None:
    window = bare_window
    new_document = next(a for a in window.menuBar().actions()[0].menu().actions() if a.text() == "New document")
    before = window.write.session.id
    window.write.editor.setPlainText("Something, so that a new document is really new.")
    new_document.trigger()
    assert window.tabs.currentWidget() is window.write and window.write.session.id != before

    chat = window.chat
    window.tabs.setCurrentWidget(chat)
    chat.search_edit.setText("zebra crossings")
    assert chat.list_model.rowCount() == 0 and chat.no_match_label.isVisible()
    assert "zebra crossings" in chat.no_match_label.text()
    chat.search_edit.clear()
    assert not chat.no_match_label.isVisible()

    label = window.write.alt_count_label
    assert label.buddy() is window.write.alt_count and label.text()

    dock = window.sampling_dock  # (the offscreen screen is 800 px wide: the window opened narrow, the dock too)
    dock.show()
    for size in (DEFAULT, SMALL, DEFAULT):
        _resize(qtbot, window, size)
        if size == SMALL:
            qtbot.waitUntil(lambda: dock.width() < DOCK_WIDTH - 20, timeout=5_000)
        else:  # the window grew back: so does the dock, to the width it had
            qtbot.waitUntil(lambda: dock.width() >= DOCK_WIDTH - 2, timeout=5_000)


def test_selection_actions_give_as_many_results_as_asked_and_a_new_continue_shows_its_tokens(
        qtbot, window: MainWindow) -> None:
    text = "It was dusk. The wind rose."
    settings = SamplingSettings(temperature=0.9, max_tokens=6, logit_bias=NO_END)
    pane = open_write(window, text, settings)
    pane.draft_action.setChecked(False)
    pane.alt_count.setValue(2)
    cursor = pane.editor.textCursor()
    cursor.setPosition(0)
    cursor.setPosition(len(text), QTextCursor.MoveMode.KeepAnchor)
    pane.editor.setTextCursor(cursor)
    with qtbot.waitSignal(pane.alternatives_finished, timeout=120_000):
        pane.selection_actions["Rewrite"].trigger()
    assert len(pane.alternatives.columns) == 2 and all(pane.alternatives.text(i) for i in range(2))
    assert pane.bottom.currentWidget() is pane.alternatives
    pane.editor.moveCursor(QTextCursor.MoveOperation.End)
    with qtbot.waitSignal(pane.suggestion_finished, timeout=60_000):
        pane.continue_button.click()
    assert pane.bottom.currentWidget() is pane.inspector


def test_a_stopped_replys_header_says_stopped_once(qtbot, window: MainWindow) -> None:
    chat = window.chat
    chat.set_sampling(SamplingSettings(temperature=0.9, max_tokens=2000, seed=3, logit_bias=NO_END))
    chat.composer.setPlainText("Tell me a long story.")
    with qtbot.waitSignal(chat.reply_finished, timeout=60_000):
        chat.send_button.click()
        qtbot.waitUntil(lambda: chat.reply is not None and bool(chat.reply.text), timeout=60_000)
        chat.stop()
    label = chat.transcript.widgets[chat.path[-1].id].status_label.text()
    assert label.count("stopped") == 1 and "cancelled" not in label, label
