"""The Write pane's Ask panel (layout only) and the inline review of a proposal.

``AskPanel``: the document's short conversation, the instruction box with quick actions
and the person's saved instructions, the sections' progress, and the review row (previous
and next change, accept, reject, all) with its keyboard shortcuts written on the buttons.

``ProposalReview``: a read-only view that stands in for the editor while a proposal is
reviewed: the document's text with each open change inline — the old words struck, the
proposed words tinted — and the current change outlined. It is drawn from the document
and the proposals each time; the document itself does not change until a change is
accepted. The behaviour is in ``AskMixin`` (app.ui.write.ask_review).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QKeyEvent, QKeySequence, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.core.ask import QUICK_ACTIONS
from app.core.proposal import Proposal
from app.ui.flow_layout import flow_row

DELETED_BG, DELETED_FG = QColor("#ffebe9"), QColor("#82071e")
INSERTED_BG, INSERTED_FG = QColor("#dafbe1"), QColor("#116329")
CURRENT_OUTLINE = QColor("#0969da")
STALE_BG = QColor("#fff1c2")

SHORTCUTS = {  # what the review row does by keyboard (shown on the buttons and in their tooltips)
    "next": "F8", "previous": "Shift+F8", "accept": "Ctrl+Return", "reject": "Ctrl+Backspace",
    "accept_all": "Ctrl+Shift+Return", "reject_all": "Ctrl+Shift+Backspace", "ask": "Ctrl+K",
}


class AskPanel(QWidget):
    """Layout of the Ask panel; objectNames start with ``ask`` (tests and accessibility tools find them)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("askPanel")
        title = QLabel("<b>Ask</b> — say what to change; review before it touches the text")
        title.setWordWrap(True)
        self.transcript = QListWidget()
        self.transcript.setObjectName("askTranscript")
        self.transcript.setWordWrap(True)
        self.transcript.setMinimumHeight(40)
        self.input = QPlainTextEdit()
        self.input.setObjectName("askInput")
        self.input.setPlaceholderText("e.g. “make the opening warmer” — applies to the selection, "
                                      "or to the whole document when nothing is selected (Ctrl+Enter asks)")
        self.input.setMaximumHeight(64)
        self.ask_button = QPushButton("Ask")
        self.ask_button.setObjectName("askButton")
        self.ask_button.setToolTip(f"Propose the change (Ctrl+Enter in the box; {SHORTCUTS['ask']} jumps here)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("askStopButton")
        self.stop_button.setToolTip("Stop: what was proposed so far is kept for review")
        self.stop_button.setEnabled(False)
        self.quick_buttons = {}
        for name in QUICK_ACTIONS:
            button = QPushButton(name)
            button.setObjectName(f"askQuick{name}")
            button.setToolTip(QUICK_ACTIONS[name])
            self.quick_buttons[name] = button
        self.saved = QComboBox()
        self.saved.setObjectName("askSavedInstructions")
        self.saved.setToolTip("Your saved instructions: choose one to ask it")
        self.save_button = QPushButton("Save…")
        self.save_button.setObjectName("askSaveInstruction")
        self.save_button.setToolTip("Keep the instruction in the box under a name (e.g. “House style”)")
        self.draft_check = QCheckBox("Draft from the text")
        self.draft_check.setObjectName("askDraft")
        self.draft_check.setChecked(True)
        self.draft_check.setToolTip("An edit copies much of the text: the model checks its words as guesses in one "
                                    "batch (faster, same result)")
        self.progress_label = QLabel()
        self.progress_label.setObjectName("askProgressLabel")
        self.progress_label.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("askProgress")
        self.progress.setMaximumHeight(10)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.status = QLabel()
        self.status.setObjectName("proposalStatus")
        self.status.setWordWrap(True)
        self.review_buttons: dict[str, QPushButton] = {}
        for key, text, tip in (("previous", "◀", "Previous change"), ("next", "▶", "Next change"),
                               ("accept", "Accept", "Accept this change"), ("reject", "Reject", "Reject this change"),
                               ("accept_all", "Accept all", "Accept every open change"),
                               ("reject_all", "Reject all", "Reject every open change: the text stays as it is"),
                               ("review", "Review", "Show the changes inline again (Esc goes back to the text)")):
            button = QPushButton(text)
            button.setObjectName(f"ask{key.title().replace('_', '')}Button")
            shortcut = SHORTCUTS.get(key, "")
            button.setToolTip(f"{tip} ({shortcut})" if shortcut else tip)
            button.setEnabled(False)
            self.review_buttons[key] = button
        self.keys_hint = QLabel(f"{SHORTCUTS['next']} next · {SHORTCUTS['accept']} accept · "
                                f"{SHORTCUTS['reject']} reject · Esc back to the text")
        self.keys_hint.setObjectName("askKeysHint")
        self.keys_hint.setWordWrap(True)
        font = self.keys_hint.font()
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        self.keys_hint.setFont(font)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(title)
        layout.addWidget(self.transcript, 1)
        layout.addWidget(self.input)
        layout.addWidget(flow_row(self.ask_button, self.stop_button, *self.quick_buttons.values(), spacing=4))
        saved_row = QHBoxLayout()
        saved_row.addWidget(self.saved, 1)
        saved_row.addWidget(self.save_button)
        layout.addLayout(saved_row)
        layout.addWidget(self.draft_check)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(flow_row(*self.review_buttons.values(), spacing=4))
        layout.addWidget(self.keys_hint)


class ProposalReview(QTextEdit):
    """The document with its proposals' open changes inline (read-only; the document is not changed)."""

    leave_requested = Signal()
    """Esc, or a key that would type: back to the editor (the proposal stays on offer)."""
    undo_requested = Signal()
    """Ctrl+Z while reviewing: undo the last change in the document."""
    action_requested = Signal(str)
    """A review key was pressed: "next", "previous", "accept", "reject", "accept_all" or "reject_all" (SHORTCUTS)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("proposalReview")
        self.setReadOnly(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByKeyboard
                                     | Qt.TextInteractionFlag.TextSelectableByMouse)
        font = QFont("serif")
        font.setPointSize(12)
        self.setFont(font)
        self.spans: dict[tuple[int, int], tuple[int, int]] = {}
        """(proposal, hunk) -> where that open change is in this view."""

    def render(self, document: str, proposals: list[Proposal], current: tuple[int, int] | None) -> None:
        """Draw ``document`` with every open change of ``proposals`` inline; outline ``current``."""
        self.spans = {}
        self.clear()
        cursor = QTextCursor(self.document())
        plain = QTextCharFormat()
        at = 0
        for pi, p in sorted(enumerate(proposals), key=lambda item: item[1].start):
            if p.state == "failed" or p.start < at:
                continue
            if p.state == "stale":
                cursor.insertText(document[at:p.start], plain)
                cursor.insertText(document[p.start:p.end], _format(background=STALE_BG))
                at = p.end
                continue
            for hi, h in enumerate(p.hunks):
                if not h.open:
                    continue
                start, end = p.document_range(hi)
                if start < at or end > len(document):
                    continue
                cursor.insertText(document[at:start], plain)
                begin = cursor.position()
                if h.old:
                    cursor.insertText(h.old, _format(background=DELETED_BG, foreground=DELETED_FG, strike=True))
                if h.new:
                    cursor.insertText(h.new, _format(background=INSERTED_BG, foreground=INSERTED_FG, underline=True))
                self.spans[(pi, hi)] = (begin, cursor.position())
                at = end
        cursor.insertText(document[at:], plain)
        self._outline(current)

    def _outline(self, current: tuple[int, int] | None) -> None:
        span = self.spans.get(current) if current is not None else None
        if span is None:
            self.setExtraSelections([])
            return
        sel = QTextEdit.ExtraSelection()
        cursor = QTextCursor(self.document())
        cursor.setPosition(span[0])
        cursor.setPosition(span[1], QTextCursor.MoveMode.KeepAnchor)
        sel.cursor = cursor
        sel.format.setFontOverline(True)
        sel.format.setFontUnderline(True)
        sel.format.setUnderlineColor(CURRENT_OUTLINE)
        sel.format.setFontWeight(QFont.Weight.DemiBold)
        self.setExtraSelections([sel])
        show = QTextCursor(self.document())
        show.setPosition(span[0])
        self.setTextCursor(show)
        self.ensureCursorVisible()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        pressed = QKeySequence(event.keyCombination())
        for action, keys in SHORTCUTS.items():
            if action != "ask" and pressed.matches(QKeySequence(keys)) == QKeySequence.SequenceMatch.ExactMatch:
                self.action_requested.emit(action)
                return
        if event.key() == Qt.Key.Key_Escape:
            self.leave_requested.emit()
            return
        if event.key() == Qt.Key.Key_Z and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.undo_requested.emit()
            return
        if event.text().strip() and not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.leave_requested.emit()  # typing means writing: back to the text
            return
        super().keyPressEvent(event)


def _format(*, background: QColor, foreground: QColor | None = None, strike: bool = False,
            underline: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setBackground(background)
    if foreground is not None:
        fmt.setForeground(foreground)
    fmt.setFontStrikeOut(strike)
    fmt.setFontUnderline(underline)
    return fmt
