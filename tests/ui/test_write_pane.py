"""The Write pane with the real starter model: suggestions, alternatives, inspector, surprise, revisions."""

from __future__ import annotations

from long_reply import forced
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from ui.conftest import open_write

from app.core.sampling import SamplingSettings
from app.ui.main_window import MainWindow

STORY = "The old lighthouse keeper climbed the stairs. The sea below was restless, and"
SETTINGS = forced(SamplingSettings(temperature=0.8, max_tokens=24, seed=5))  # always 24 tokens, never empty


def _write(window: MainWindow, text: str = STORY):
    return open_write(window, text, SETTINGS)


def _continue(qtbot, pane) -> object:
    with qtbot.waitSignal(pane.suggestion_finished, timeout=60_000) as done:
        pane.continue_button.click()
    return done.args[0]


def test_continue_inserts_a_suggestion_that_accept_keeps_and_undo_removes(qtbot, window: MainWindow) -> None:
    pane = _write(window)
    fin = _continue(qtbot, pane)
    assert fin.reason in ("stop", "length") and fin.text
    assert pane.editor.has_suggestion and pane.editor.suggestion_text == fin.text
    assert pane.editor.toPlainText() == STORY + fin.text
    assert pane.editor.content() == STORY  # a pending suggestion is not part of the document
    pane.flush()
    assert window.storage.document(pane.document.id).content == STORY
    qtbot.keyClick(pane.editor, Qt.Key.Key_Tab)  # Tab accepts
    assert not pane.editor.has_suggestion
    assert pane.editor.content() == STORY + fin.text
    assert window.storage.document(pane.document.id).content == STORY + fin.text
    pane.editor.undo()  # Ctrl+Z takes the accepted suggestion back, in one step
    assert pane.editor.toPlainText() == STORY


def test_reject_removes_the_suggestion_and_leaves_no_trace(qtbot, window: MainWindow) -> None:
    pane = _write(window)
    _continue(qtbot, pane)
    qtbot.keyClick(pane.editor, Qt.Key.Key_Escape)  # Esc rejects
    assert not pane.editor.has_suggestion
    assert pane.editor.toPlainText() == STORY
    assert not pane.editor.document().isRedoAvailable()
    fin = _continue(qtbot, pane)
    assert fin.text  # never empty (forced): so the check below tells "replaced" from "added to"
    with qtbot.waitSignal(pane.suggestion_finished, timeout=60_000) as again:
        pane.regenerate_button.click()  # Regenerate replaces it
    assert pane.editor.toPlainText() == STORY + again.args[0].text
    pane.reject_button.click()
    assert pane.editor.toPlainText() == STORY


def test_three_alternatives_appear_and_one_is_inserted(qtbot, window: MainWindow) -> None:
    pane = _write(window)
    pane.alt_count.setValue(3)
    with qtbot.waitSignal(pane.alternatives_finished, timeout=120_000):
        pane.alt_button.click()
    texts = [pane.alternatives.text(i) for i in range(3)]
    assert all(texts) and len(set(texts)) == 3
    assert all(b.isEnabled() for b in pane.alternatives.buttons)
    pane.alternatives.buttons[1].click()
    assert pane.editor.content() == STORY + texts[1]
    pane.editor.undo()
    assert pane.editor.toPlainText() == STORY


def test_token_inspector_shows_plausible_alternatives_and_rewrites_from_a_pick(qtbot, window: MainWindow) -> None:
    pane = _write(window)
    fin = _continue(qtbot, pane)
    tokens = pane.inspector.tokens
    assert len(tokens) == fin.timings.generated_tokens and len(tokens) >= 5
    for tok in tokens:
        probs = [a.prob for a in tok.alternatives]
        assert len(probs) == 5 and all(0.0 <= p <= 1.0 for p in probs) and sum(probs) <= 1.0 + 1e-6
        assert tok.prob is not None and 0.0 <= tok.prob <= 1.0
    pane.inspector.select(2)
    assert pane.inspector.alternatives.count() == 5
    current = tokens[2].token_id
    pick = next(a for a in tokens[2].alternatives if a.token_id != current)
    kept = "".join(t.text for t in tokens[:2])
    with qtbot.waitSignal(pane.suggestion_finished, timeout=60_000):
        pane.inspector.choose(2, pick)
    suggestion = pane.editor.suggestion_text
    assert suggestion.startswith(kept + pick.text)
    assert pane.inspector.tokens[2].token_id == pick.token_id
    assert pane.editor.content() == STORY


def test_surprise_shading_is_computed_for_a_paragraph(qtbot, window: MainWindow) -> None:
    pane = _write(window, "First paragraph here.\nThe cat sat on the mat. Banana telescope quantum the the.\nLast.")
    cursor = pane.editor.textCursor()
    cursor.setPosition(30)
    pane.editor.setTextCursor(cursor)
    with qtbot.waitSignal(pane.surprise_ready, timeout=30_000) as scored:
        pane.surprise_button.click()
    result = scored.args[0]
    paragraph = "The cat sat on the mat. Banana telescope quantum the the."
    assert "".join(t.text for t in result.tokens) == paragraph
    assert len(pane.editor.extraSelections()) >= 8
    start = pane.editor.toPlainText().index(paragraph)
    banana = pane.editor.scored_token_at(start + paragraph.index("Banana") + 1)
    on = pane.editor.scored_token_at(start + paragraph.index(" on") + 1)
    assert banana is not None and on is not None
    assert banana.logprob < on.logprob  # "Banana" surprised the model more than "on"
    assert banana.expected  # hover shows what it expected instead


def test_a_revision_restores_and_the_newer_text_is_kept(qtbot, window: MainWindow) -> None:
    pane = _write(window, "Draft one.")
    pane.save_revision()
    pane.editor.setPlainText("Draft two, much better.")
    pane.flush()
    revisions = window.storage.revisions(pane.document.id)
    assert revisions[0][2] == "Draft one."
    pane.restore_revision(revisions[0][0])
    assert pane.editor.content() == "Draft one."
    assert window.storage.document(pane.document.id).content == "Draft one."
    assert any(r[2] == "Draft two, much better." for r in window.storage.revisions(pane.document.id))
    pane.editor.undo()
    assert pane.editor.content() == "Draft two, much better."


def test_documents_new_rename_delete_undo_and_export(qtbot, window: MainWindow, tmp_path) -> None:
    pane = _write(window, "Chapter one.")
    first = pane.document.id
    pane.rename_document("My novel")
    pane.new_document()
    assert pane.document.id != first and pane.editor.content() == ""
    pane.editor.setPlainText("Notes.")
    pane.flush()
    assert pane.doc_list.count() == 2
    pane.open_document(first)
    assert pane.editor.content() == "Chapter one."
    pane.delete_document()
    assert pane.doc_list.count() == 1
    pane.undo_delete_button.click()
    assert pane.document.id == first and pane.doc_list.count() == 2
    pane.export_to(tmp_path / "novel.md")
    pane.export_to(tmp_path / "novel.txt")
    assert (tmp_path / "novel.md").read_text() == "# My novel\n\nChapter one."
    assert (tmp_path / "novel.txt").read_text() == "Chapter one."


def test_a_selection_action_offers_a_rewrite_that_replaces_the_selection(qtbot, window: MainWindow) -> None:
    text = "Intro line.\nThe weather today is very very nice and sunny and warm and bright outside.\nOutro line."
    pane = _write(window, text)
    pane.set_sampling(SamplingSettings(temperature=0.0, max_tokens=40))
    start = text.index("The weather")
    end = text.index("outside.") + len("outside.")
    pane.run_selection_action("Shorten", start, end)
    qtbot.waitUntil(lambda: pane.handle is None and pane.alternatives.buttons and pane.alternatives.buttons[0].isEnabled(),
                    timeout=60_000)
    offered = pane.alternatives.text(0)
    assert offered.strip()
    assert pane.editor.content() == text  # nothing changes until the writer says so
    pane.alternatives.buttons[0].click()
    assert pane.editor.content() == text[:start] + offered + text[end:]
    pane.editor.undo()
    assert pane.editor.content() == text


def test_alternatives_after_an_unused_rework_go_in_at_the_cursor_not_over_the_old_selection(qtbot, window: MainWindow) -> None:
    text = "Keep this sentence exactly as it is. And this one too."
    pane = _write(window, text)
    pane.set_sampling(SamplingSettings(temperature=0.8, max_tokens=8, seed=1))
    pane.run_selection_action("Rewrite", 0, 36)
    qtbot.waitUntil(lambda: not pane.variants.busy, timeout=60_000)
    pane.editor.moveCursor(QTextCursor.MoveOperation.End)
    with qtbot.waitSignal(pane.alternatives_finished, timeout=60_000):
        pane.generate_alternatives(2)
    chosen = pane.alternatives.text(1)
    pane.alternatives.buttons[1].click()
    assert pane.editor.content() == text + chosen  # the first sentence is untouched


def test_continue_with_the_cursor_mid_document_writes_there_and_keeps_what_follows(qtbot, window: MainWindow,
                                                                                   monkeypatch) -> None:
    before = "Dear Anna,\n\nThank you for the lovely"
    after = " that you sent me last week.\n\nLove, Tom"
    pane = _write(window, before + after)
    cursor = pane.editor.textCursor()
    cursor.setPosition(len(before))
    pane.editor.setTextCursor(cursor)
    asked: list[tuple[str, str]] = []
    complete = window.bridge.complete
    monkeypatch.setattr(window.bridge, "complete",
                        lambda prompt, settings, **kw: asked.append((prompt, kw.get("suffix", ""))) or complete(prompt, settings, **kw))
    fin = _continue(qtbot, pane)
    assert asked == [(before, after)]  # the engine sees both sides of the cursor
    assert fin.text and pane.editor.toPlainText() == before + fin.text + after
    assert pane.editor.content() == before + after  # pending: not yet part of the document
    qtbot.keyClick(pane.editor, Qt.Key.Key_Tab)
    assert pane.editor.content() == before + fin.text + after
