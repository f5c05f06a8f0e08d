"""The Ask panel in the real window with the starter model, its answers forced by a grammar: a proposal is
reviewed change by change from the keyboard, nothing changes until a change is accepted, each accept is one
undo step and one revision, and typing while it streams is kept (or makes it stale)."""

from __future__ import annotations

from gbnf import literal
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest

from app.core.ask import AskSession
from app.core.sampling import SamplingSettings
from app.ui.main_window import MainWindow
from tests.ui.conftest import open_write

BASE = "The color of the sea was gray.\n\nA second paragraph stays.\n\nThe last line is old."
GREY = "silver-grey"  # longer than what it replaces: the changes after it must move along
EDITED = f"The colour of the sea was {GREY}.\n\nA second paragraph stays.\n\nThe last line is new and longer."
TIMEOUT = 60_000


def forced(text: str) -> SamplingSettings:
    return SamplingSettings(temperature=0.0, seed=1, grammar=literal(text))


def ask_and_wait(qtbot, pane, instruction: str) -> None:
    pane.ask(instruction)
    qtbot.waitUntil(lambda: not pane.ask_session.busy, timeout=TIMEOUT)


def key(widget, k: Qt.Key, modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(widget, k, modifiers)


def struck_and_tinted(pane) -> tuple[list[str], list[str]]:
    """The review's struck-out and underlined (proposed) runs, as a person sees them."""
    struck, added = [], []
    block = pane.review.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            frag = it.fragment()
            if frag.charFormat().fontStrikeOut():
                struck.append(frag.text())
            elif frag.charFormat().fontUnderline():
                added.append(frag.text())
            it += 1
        block = block.next()
    return struck, added


def test_a_proposal_shows_as_hunks_and_one_accept_changes_only_its_text(qtbot, window: MainWindow) -> None:
    pane = open_write(window, BASE, forced(EDITED))
    pane.flush()
    revisions = len(pane.session.revisions())
    ask_and_wait(qtbot, pane, "Use British spelling, and make the last line new.")
    [proposal] = pane.ask_session.proposals
    assert [(h.old, h.new) for h in proposal.hunks] == [("color", "colour"), ("gray", GREY),
                                                        ("old", "new and longer")]
    assert pane.review.isVisible() and pane.editor.content() == BASE  # nothing changed yet
    assert struck_and_tinted(pane) == (["color", "gray", "old"], ["colour", GREY, "new and longer"])
    revisions = len(pane.session.revisions())  # (asking kept the text before as a revision)
    key(pane.review, Qt.Key.Key_F8)  # the second change
    key(pane.review, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert pane.editor.content() == BASE.replace("gray", GREY)
    assert len(pane.session.revisions()) == revisions + 1
    assert pane.session.revisions()[0][2] == BASE.replace("gray", GREY)
    assert pane.storage.document(pane.session.id).content == BASE.replace("gray", GREY)
    key(pane.review, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # now on the third
    assert pane.editor.content() == BASE.replace("gray", GREY).replace("is old", "is new and longer")
    assert len(pane.session.revisions()) == revisions + 2
    key(pane.review, Qt.Key.Key_Backspace, Qt.KeyboardModifier.ControlModifier)  # reject the first
    assert not pane.review.isVisible()  # nothing left to decide: back to the text
    assert pane.editor.content() == EDITED.replace("colour", "color")
    pane.editor.undo()
    assert pane.editor.content() == BASE.replace("gray", GREY)  # one undo step per accept
    pane.editor.undo()
    assert pane.editor.content() == BASE


def test_rejecting_all_leaves_the_document_byte_identical(qtbot, window: MainWindow) -> None:
    pane = open_write(window, BASE, forced(EDITED))
    pane.flush()
    ask_and_wait(qtbot, pane, "Use British spelling.")
    assert len(pane.ask_session.proposals[0].hunks) == 3
    key(pane.review, Qt.Key.Key_Backspace, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    pane.flush()
    assert pane.editor.toPlainText() == BASE
    assert pane.storage.document(pane.session.id).content.encode() == BASE.encode()
    assert not pane.editor.document().isUndoAvailable()
    assert [t.role for t in AskSession(pane.storage, pane.session.id).turns] == ["user", "assistant"]


PARAGRAPH = ("The harbour town woke slowly. Fishing boats knocked against the pier while gulls argued over "
             "scraps, and the baker opened her shutters to the smell of bread and tar.")
REWORDED = ("The harbour town woke late. Fishing boats bumped against the pier while gulls fought over "
            "scraps, and the baker opened her shutters to the smell of fresh bread and tar.")
FIRST = "Keep this opening line.\n\n"


def select(pane, start: int, end: int) -> None:
    cursor = pane.editor.textCursor()
    cursor.setPosition(start)
    cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
    pane.editor.setTextCursor(cursor)


def type_while_writing(pane, position: int, text: str) -> list[str]:
    """Type ``text`` at ``position`` the first time the proposal's text grows; the proposal's state then."""
    seen: list[str] = []

    def on_change(ask: AskSession, what: str) -> None:
        if what == "proposal-text" and not seen:
            seen.append(ask.proposals[-1].state)
            cursor = pane.editor.textCursor()
            cursor.setPosition(position)
            pane.editor.setTextCursor(cursor)
            QTest.keyClicks(pane.editor, text)

    pane.ask_session.subscribe(on_change)
    return seen


def test_typing_elsewhere_while_it_streams_is_kept_and_the_proposal_still_applies(qtbot, window) -> None:
    pane = open_write(window, FIRST + PARAGRAPH, forced(REWORDED))
    select(pane, len(FIRST), len(FIRST + PARAGRAPH))
    seen = type_while_writing(pane, 0, "Typed ")
    ask_and_wait(qtbot, pane, "Reword this paragraph a little.")
    assert seen == ["writing"]
    assert pane.editor.content() == "Typed " + FIRST + PARAGRAPH
    [proposal] = pane.ask_session.proposals
    assert proposal.state == "ready" and proposal.start == len("Typed " + FIRST)
    pane.accept_all_changes()
    assert pane.editor.content() == "Typed " + FIRST + REWORDED
    pane.editor.undo()  # accept all is one step
    assert pane.editor.content() == "Typed " + FIRST + PARAGRAPH


def test_an_edit_inside_the_range_while_it_streams_makes_it_stale_not_corrupt(qtbot, window) -> None:
    pane = open_write(window, FIRST + PARAGRAPH, forced(REWORDED))
    select(pane, len(FIRST), len(FIRST + PARAGRAPH))
    inside = len(FIRST) + len("The harbour town")
    seen = type_while_writing(pane, inside, " XYZ")
    ask_and_wait(qtbot, pane, "Reword this paragraph a little.")
    assert seen == ["writing"]
    typed = FIRST + PARAGRAPH[:len("The harbour town")] + " XYZ" + PARAGRAPH[len("The harbour town"):]
    [proposal] = pane.ask_session.proposals
    assert proposal.state == "stale"
    assert pane.editor.content() == typed
    assert not pane.review.isVisible() and not pane.ask_panel.review_buttons["accept"].isEnabled()
    pane.accept_all_changes()  # nothing to accept: the text stays as the writer left it
    assert pane.editor.content() == typed
    assert "stale" in pane.ask_panel.status.text()
