"""Write pane, real starter model: the document's memory, the model's view of a long text, the re-read a
memory change costs, and rewrites that draft from the selection."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QPlainTextEdit
from ui.conftest import open_write

from app.core.events import LoadOptions, PromptProgress
from app.core.sampling import SamplingSettings
from app.ui.main_window import MainWindow
from app.ui.write.editor import VIEW_MARKER_COLOR

GREEDY = SamplingSettings(temperature=0.0, max_tokens=6, repeat_penalty=1.0)
MEMORY = "Synopsis: Tomas keeps the lighthouse on Grey Island. Style: plain, past tense."


def long_text(paragraphs: int) -> str:
    """Distinct numbered paragraphs (~40 tokens each), so any window of it is recognisable."""
    return "".join(f"Paragraph {i}: the keeper wrote in log number {i} that the sea was calm and the lamp "
                   f"burned until dawn over the rocks of the island.\n\n" for i in range(paragraphs))


def _pane(window: MainWindow, text: str, settings: SamplingSettings = GREEDY):
    return open_write(window, text, settings)


def _continue(qtbot, pane):
    with qtbot.waitSignal(pane.suggestion_finished, timeout=120_000) as done:
        pane.continue_button.click()
    fin = done.args[0]
    assert fin.reason in ("stop", "length"), fin
    return fin


def _small_context(qtbot, window: MainWindow, n_ctx: int = 1024) -> None:
    window.bridge.load(window.bridge.loading_path, LoadOptions(n_ctx=n_ctx))
    qtbot.waitUntil(lambda: window.bridge.free and window.bridge.info is not None
                    and window.bridge.info.context == n_ctx, timeout=60_000)


def test_memory_typed_in_its_panel_is_saved_with_the_document_and_opens_the_models_prompt(qtbot, window) -> None:
    pane = _pane(window, "The keeper climbed the stairs.")
    memory_edit = window.findChild(QPlainTextEdit, "documentMemoryEdit")
    assert memory_edit is pane.memory_edit and memory_edit.isVisible()
    with qtbot.waitSignal(pane.memory_saved, timeout=5_000):
        qtbot.keyClicks(memory_edit, MEMORY)
    doc_id = pane.document.id
    assert window.storage.document(doc_id).memory == MEMORY
    _continue(qtbot, pane)
    prompt = window.bridge.engine.active.last_prompt()
    assert prompt.lstrip().startswith(MEMORY) and prompt.rstrip().endswith("The keeper climbed the stairs.")
    pane.reject()
    pane.new_document()  # another document has its own (empty) memory; the first keeps its own
    assert memory_edit.toPlainText() == ""
    pane.open_document(doc_id)
    assert memory_edit.toPlainText() == MEMORY


def test_a_long_document_marks_where_the_models_view_begins_and_counts_the_words_outside(qtbot, window) -> None:
    _small_context(qtbot, window)
    text = long_text(60)  # ~2,400 tokens in a 1,024-token context
    pane = _pane(window, text)
    pane.memory_edit.setPlainText(MEMORY)
    fin = _continue(qtbot, pane)
    start = fin.view_start
    assert 0 < start < len(text) and text[start - 2:start] == "\n\n"  # the view begins at a paragraph
    outside = len(text[:start].split())
    assert fin.words_outside == outside
    assert pane.view_label.text() == f"{outside:,} words outside the model's view"
    assert pane.editor.view_start == start
    prompt = window.bridge.engine.active.last_prompt()
    first_seen = text[start:].split(":")[0]  # "Paragraph N"
    assert prompt.lstrip().startswith(MEMORY) and first_seen in prompt
    assert text[:start].strip().split("\n\n")[-1] not in prompt  # the paragraph before the view is not seen

    # the editor draws the marker: scroll it into view, then read the editor's pixels
    cursor = pane.editor.textCursor()
    cursor.setPosition(start)
    pane.editor.setTextCursor(cursor)
    pane.editor.centerCursor()
    QApplication.processEvents()
    y = pane.editor.view_marker_y()
    assert y is not None and 10 < y < pane.editor.viewport().height()
    image = pane.editor.viewport().grab().toImage()
    assert image.pixelColor(2, int(y) - 6) == VIEW_MARKER_COLOR  # the shaded margin above the marker
    assert image.pixelColor(2, int(y) + 8) != VIEW_MARKER_COLOR  # and none below it, in the model's view


def test_a_short_document_has_no_marker(qtbot, window) -> None:
    pane = _pane(window, long_text(2))
    fin = _continue(qtbot, pane)
    assert fin.view_start == 0 and pane.editor.view_start == 0 and pane.view_label.text() == ""
    assert pane.editor.view_marker_y() is None


def test_changing_the_memory_says_what_it_will_re_read_and_shows_the_reading(qtbot, window) -> None:
    text = long_text(14)  # ~560 tokens: read in several batches
    pane = _pane(window, text)
    _continue(qtbot, pane)
    pane.reject()
    again = _continue(qtbot, pane)  # the text is cached now: almost nothing is read again
    pane.reject()
    assert again.timings.prompt_evaluated < 16

    with qtbot.waitSignal(pane.memory_saved, timeout=5_000):
        pane.memory_edit.setPlainText(MEMORY)
    qtbot.waitUntil(lambda: "tokens" in pane.memory_cost.text(), timeout=10_000)
    told = int(pane.memory_cost.text().split("about ")[1].split(" tokens")[0].replace(",", ""))
    assert pane.memory_cost.text().startswith("Memory changed: the next continuation re-reads about")

    shown: list[tuple[str, bool, PromptProgress]] = []
    pane.prompt_progressed.connect(lambda p: shown.append((pane.reading_label.text(), pane.reading_label.isVisible(), p)))
    fin = _continue(qtbot, pane)
    assert fin.timings.prompt_evaluated >= 0.95 * fin.timings.prompt_tokens  # everything was read again
    assert abs(told - fin.timings.prompt_evaluated) <= 16  # and the estimate said so beforehand
    assert len(shown) >= 2, shown
    total = fin.timings.prompt_evaluated
    for label, visible, progress in shown:
        assert visible and label.startswith(f"Reading {total:,} tokens… ") and progress.total == total
    assert [p.done for _, _, p in shown] == sorted(p.done for _, _, p in shown)
    assert not pane.reading_label.isVisible() and pane.memory_cost.text() == ""  # gone once it has been read


REPEATED = ("The keeper climbed the tower every night. He lit the lamp, wiped the glass and watched the sea. "
            "Ships passed far out, and none of them ever stopped.")


def test_a_rewrite_drafts_from_the_selection_and_writes_the_same_text(qtbot, window) -> None:
    text = "Notes.\n" + REPEATED + "\nEnd."
    pane = _pane(window, text, SamplingSettings(temperature=0.0, max_tokens=60, repeat_penalty=1.0))
    start, end = text.index(REPEATED), text.index(REPEATED) + len(REPEATED)
    results = {}
    # the first, cold read of a prompt can round differently from later cached ones (FACTS.md): read it once first
    for drafting in (False, True, False):
        pane.draft_action.setChecked(drafting)
        with qtbot.waitSignal(pane.alternatives_finished, timeout=120_000):
            pane.run_selection_action("Rewrite", start, end)
        results[drafting] = (pane.variants.last_finished, pane.alternatives.text(0))
    (on, on_text), (off, off_text) = results[True], results[False]
    assert on.drafted > 0 and off.drafted == 0
    assert on_text == off_text and on_text.strip()  # drafting never changes the text at temperature 0
