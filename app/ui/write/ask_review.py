"""The Write pane's Ask: asking for an edit, and reviewing the proposal change by change.

A mixin of ``WritePane`` (app.ui.write.write_pane). The conversation and the
proposals are the open document's ``AskSession`` (app.core.ask); this part forwards
the person's intents to it and shows what it announces: the conversation and the
sections' progress in the ``AskPanel``, the range being proposed (or gone stale) tinted
in the editor, and — once proposals are ready — the ``ProposalReview`` in the editor's
place, with every open change inline.

Keyboard first: F8 / Shift+F8 go to the next / previous change, Ctrl+Return accepts
it, Ctrl+Backspace rejects it, with Shift for all of them; Esc goes back to the text
(the proposals stay on offer; Review or F8 returns). Every accept is one edit of the
document — one undo step — and a revision. Edits the writer makes while a proposal
streams move it (before it) or make it stale (inside it); the document's
``contentsChange`` tells the session exactly what changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import QInputDialog, QTextEdit

from app.core.ask import QUICK_ACTIONS, AskSession
from app.core.document_session import DocumentSession
from app.core.proposal import Edit, Proposal
from app.ui.write.ask_panel import SHORTCUTS, STALE_BG

if TYPE_CHECKING:
    from app.ui.write.write_pane import WritePane

    _Base = WritePane
else:
    _Base = object

DEFAULT_CONTEXT = 2048  # tokens, when no model is loaded yet (the request then waits for one)
WRITING_BG = QColor("#eaf2ff")


class AskMixin(_Base):
    """Ask for an edit; review, accept and reject its changes."""

    ask_session: AskSession | None = None
    _current: tuple[int, int] | None = None
    _applying_edit = False

    def _connect_ask(self) -> None:
        panel = self.ask_panel
        panel.ask_button.clicked.connect(self._on_ask_button_clicked)
        panel.stop_button.clicked.connect(self.stop_asking)
        for name, button in panel.quick_buttons.items():
            button.clicked.connect(lambda _=False, name=name: self.ask(QUICK_ACTIONS[name]))
        panel.saved.activated.connect(self._on_saved_activated)
        panel.save_button.clicked.connect(self._on_save_instruction_clicked)
        actions = {"next": self.next_change, "previous": self.previous_change, "accept": self.accept_change,
                   "reject": self.reject_change, "accept_all": self.accept_all_changes,
                   "reject_all": self.reject_all_changes, "review": self.review_changes}
        for key, action in actions.items():
            panel.review_buttons[key].clicked.connect(action)
        self._review_actions = actions
        self.review.action_requested.connect(self._on_review_action_requested)  # the keys, while reviewing
        for keys, widget, action, context in (
                (SHORTCUTS["next"], self.editor, self.review_changes, Qt.ShortcutContext.WidgetShortcut),
                (SHORTCUTS["ask"], self, self._on_ask_shortcut, Qt.ShortcutContext.WidgetWithChildrenShortcut),
                ("Ctrl+Return", panel.input, self._on_ask_button_clicked, Qt.ShortcutContext.WidgetShortcut)):
            shortcut = QShortcut(QKeySequence(keys), widget)
            shortcut.setContext(context)
            shortcut.activated.connect(action)
        self.review.leave_requested.connect(self.leave_review)
        self.review.undo_requested.connect(self._on_review_undo_requested)
        self.editor.document().contentsChange.connect(self._on_document_contents_change)
        self._fill_saved()

    # -- which document ------------------------------------------------------------------------

    def _show_ask(self, session: DocumentSession) -> None:
        """The open document changed: its own conversation, no proposals on screen."""
        if self.ask_session is not None:
            self.ask_session.stop()
        self.ask_session = AskSession(self.storage, session.id, self.engine)
        self.ask_session.subscribe(self._on_ask_changed)
        self._current = None
        self.ask_panel.transcript.clear()
        for turn in self.ask_session.turns:
            self._add_turn_item(turn.role, turn.text)
        self.leave_review()
        self._show_ask_state()

    # -- asking ----------------------------------------------------------------------------------

    def _on_ask_button_clicked(self) -> None:
        self.ask(self.ask_panel.input.toPlainText())

    def ask(self, instruction: str) -> None:
        """Ask for ``instruction`` on the selection, or on the whole document when nothing is selected."""
        if self.session is None or self.ask_session is None or not instruction.strip():
            return
        self.reject()  # a suggestion on offer is not part of the text being edited
        self.variants.stop()
        self.flush()
        self.session.save_revision()  # the text before the proposal, to go back to
        cursor = self.editor.textCursor()
        text = self.editor.content()
        start, end = (cursor.selectionStart(), cursor.selectionEnd()) if cursor.hasSelection() else (0, len(text))
        info = self.bridge.info
        self.editor.clear_surprise()
        self.ask_session.forget_settled()
        self.ask_session.ask(instruction, text, start, end, settings=self.sampling,
                             context_tokens=info.context if info is not None else DEFAULT_CONTEXT,
                             memory=self.memory, draft=self.ask_panel.draft_check.isChecked())
        self.ask_panel.input.clear()

    def _on_ask_shortcut(self) -> None:
        self.show_ask_panel()
        self.ask_panel.input.setFocus()

    def stop_asking(self) -> None:
        if self.ask_session is not None:
            self.ask_session.stop()

    def _on_saved_activated(self, index: int) -> None:
        instruction = self.ask_panel.saved.itemData(index)
        if instruction:
            self.ask(instruction)

    def _on_save_instruction_clicked(self) -> None:
        instruction = self.ask_panel.input.toPlainText().strip()
        if not instruction:
            self.status_message.emit("Write the instruction in the box first, then save it")
            return
        name, ok = QInputDialog.getText(self, "Save instruction", "Name (e.g. Tighten, House style):")
        if ok and name.strip() and self.ask_session is not None:
            self.ask_session.save_instruction(name, instruction)
            self._fill_saved()

    def _fill_saved(self) -> None:
        combo = self.ask_panel.saved
        combo.clear()
        saved = self.storage.saved_instructions()
        combo.addItem("Saved instructions…" if saved else "No saved instructions yet", "")
        for name, instruction in saved.items():
            combo.addItem(name, instruction)

    # -- what the session announces --------------------------------------------------------------

    def _on_ask_changed(self, ask: AskSession, what: str) -> None:
        if ask is not self.ask_session:
            return
        if what == "ask-turn":
            turn = ask.turns[-1]
            self._add_turn_item(turn.role, turn.text)
        elif what == "ask-finished" and self._open_changes():
            self.review_changes()
        elif what == "proposal-changed" and self.review.isVisible() and not self._open_changes():
            self.leave_review()
        self._show_ask_state()

    def _add_turn_item(self, role: str, text: str) -> None:
        self.ask_panel.transcript.addItem(("You: " if role == "user" else "Inkling: ") + text)
        self.ask_panel.transcript.scrollToBottom()

    def _show_ask_state(self) -> None:
        """The panel's progress, status and buttons; the editor's tints; the review, if shown."""
        ask, panel = self.ask_session, self.ask_panel
        busy = ask is not None and ask.busy
        panel.stop_button.setEnabled(busy)
        done, total = ask.progress if ask is not None else (0, 0)
        panel.progress.setVisible(busy and total > 1)
        panel.progress.setRange(0, max(total, 1))
        panel.progress.setValue(done)
        proposals = ask.proposals if ask is not None else []
        writing = next((p for p in proposals if p.state == "writing"), None)
        if writing is not None:
            where = f"{writing.label}: " if writing.label else ""
            panel.progress_label.setText(f"{where}proposing… {len(writing.hunks)} change(s) so far"
                                         + (f" · {done} of {total} sections done" if total > 1 else ""))
        else:
            panel.progress_label.setText(f"{done} of {total} sections proposed" if total > 1 else "")
        opened, stale = self._open_changes(), [p for p in proposals if p.state == "stale"]
        notes = []
        if opened:
            at = opened.index(self._current) + 1 if self._current in opened else 0
            notes.append(f"Change {at} of {len(opened)}" if at else f"{len(opened)} change(s) to review")
        if stale:
            notes.append(f"{len(stale)} proposal(s) went stale: the text under them changed — ask again")
        panel.status.setText(" · ".join(notes))
        for key in ("previous", "next", "accept", "reject", "accept_all", "reject_all"):
            panel.review_buttons[key].setEnabled(bool(opened))
        panel.review_buttons["review"].setEnabled(bool(opened) and not self.review.isVisible())
        self._tint_editor(proposals)
        if self.review.isVisible():
            self.review.render(self.editor.toPlainText(), proposals, self._current)

    def _tint_editor(self, proposals: list[Proposal]) -> None:
        """The range a proposal is being written for, and stale ones, tinted in the editor."""
        selections = []
        for p in proposals:
            if p.state not in ("writing", "stale"):
                continue
            sel = QTextEdit.ExtraSelection()
            cursor = QTextCursor(self.editor.document())
            length = len(self.editor.toPlainText())
            cursor.setPosition(min(p.start, length))
            cursor.setPosition(min(p.end, length), QTextCursor.MoveMode.KeepAnchor)
            sel.cursor = cursor
            sel.format.setBackground(STALE_BG if p.state == "stale" else WRITING_BG)
            if p.state == "stale":
                sel.format.setToolTip("Stale: the text changed under this proposal — ask again")
            selections.append(sel)
        if proposals:  # (with none, the editor's own shading — surprise — is left alone)
            self.editor.setExtraSelections(selections)

    # -- the writer edits the document ---------------------------------------------------------

    def _on_document_contents_change(self, position: int, removed: int, added: int) -> None:
        if self._applying_edit or self.ask_session is None or not self.ask_session.proposals:
            return
        self.ask_session.document_edited(position, removed, added, self.editor.toPlainText())

    # -- review ------------------------------------------------------------------------------------

    def _open_changes(self) -> list[tuple[int, int]]:
        """Every open change that can be accepted now, in the document's order: (proposal, hunk)."""
        ask = self.ask_session
        if ask is None:
            return []
        found = [(p.document_range(hi)[0], pi, hi) for pi, p in enumerate(ask.proposals) if p.reviewable
                 for hi in p.open_hunks]
        return [(pi, hi) for _, pi, hi in sorted(found)]

    def review_changes(self) -> None:
        """Show the open changes inline in the editor's place, at the current (or first) one."""
        opened = self._open_changes()
        if not opened:
            return
        if self._current not in opened:
            self._current = opened[0]
        self.editor_stack.setCurrentWidget(self.review)
        self.review.setFocus()
        self._show_ask_state()

    def leave_review(self) -> None:
        """Back to the text; the proposals stay on offer."""
        if self.editor_stack.currentWidget() is not self.editor:
            self.editor_stack.setCurrentWidget(self.editor)
            self.editor.setFocus()
        self._show_ask_state()

    def _step(self, by: int) -> None:
        opened = self._open_changes()
        if not opened:
            return
        at = opened.index(self._current) if self._current in opened else -by if by > 0 else 0
        self._current = opened[(at + by) % len(opened)]
        if not self.review.isVisible():
            self.review_changes()
        self._show_ask_state()

    def next_change(self) -> None:
        self._step(1)

    def previous_change(self) -> None:
        self._step(-1)

    def _after_decision(self, position: int) -> None:
        """The next open change after the one decided (or the first), or back to the text when none is left."""
        opened = self._open_changes()
        self._current = opened[min(position, len(opened) - 1)] if opened else None
        if not opened:
            self.leave_review()
        self._show_ask_state()
        if self.review.isVisible():
            self.review.setFocus()

    def accept_change(self) -> None:
        """Accept the current change: one edit of the document (one undo step) and a revision."""
        opened = self._open_changes()
        if self._current not in opened or self.ask_session is None:
            return
        at = opened.index(self._current)
        pi, hi = self._current
        self.ask_session.accept(self.ask_session.proposals[pi], hi, self._apply_edit)
        self._saved_revision()
        self._after_decision(at)

    def reject_change(self) -> None:
        opened = self._open_changes()
        if self._current not in opened or self.ask_session is None:
            return
        at = opened.index(self._current)
        pi, hi = self._current
        self.ask_session.reject(self.ask_session.proposals[pi], hi)
        self._after_decision(at)

    def accept_all_changes(self) -> None:
        """Accept every open change: one undo step and one revision for all of them."""
        ask = self.ask_session
        if ask is None or not self._open_changes():
            return
        block = QTextCursor(self.editor.document())
        block.beginEditBlock()
        try:
            for pi, hi in self._open_changes():
                ask.accept(ask.proposals[pi], hi, self._apply_edit)
        finally:
            block.endEditBlock()
        self._saved_revision()
        self._after_decision(0)

    def reject_all_changes(self) -> None:
        """Every open change is rejected: the document stays exactly as it is."""
        if self.ask_session is not None:
            self.ask_session.reject_all()
        self._after_decision(0)

    def _apply_edit(self, edit: Edit) -> None:
        cursor = QTextCursor(self.editor.document())
        self._applying_edit = True
        try:
            cursor.beginEditBlock()
            cursor.setPosition(edit.start)
            cursor.setPosition(edit.end, QTextCursor.MoveMode.KeepAnchor)
            cursor.insertText(edit.text)
            cursor.endEditBlock()
        finally:
            self._applying_edit = False

    def _saved_revision(self) -> None:
        self.flush()
        if self.session is not None:
            self.session.save_revision()
        self.status_message.emit("Change accepted — Ctrl+Z undoes it; a revision was kept")

    def _on_review_action_requested(self, action: str) -> None:
        self._review_actions[action]()

    def _on_review_undo_requested(self) -> None:
        self.editor.undo()
        self.flush()
        self._show_ask_state()

