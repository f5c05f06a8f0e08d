"""One message in the transcript: who, the text, its other parts, its versions, its numbers, its actions.

The text parts are the Markdown body; every other part (thinking, tool call and result,
citation, image) is shown by its own widget from app/ui/chat/part_widgets.py, the ones
before the first text above the body and the rest below it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.parts import CitationPart, Part, TextPart
from app.core.sources.retrieval import link_citations
from app.core.storage import MessageRow
from app.ui.chat.part_factory import part_widget
from app.ui.chat.part_widgets import ThinkingWidget
from app.ui.chat.thinking_block import ThinkingBlock, thinking_summary
from app.ui.flow_layout import flow_row
from app.ui.markdown_view import MarkdownView
from app.ui.sources.passage_view import open_passage

ROLE_NAMES = {"user": "You", "assistant": "Assistant", "system": "System", "tool": "Tool"}
STATUS_NOTES = {"stopped": "stopped", "streaming": "writing…", "error": "failed"}
# how a reply ended, in words (the engine's "cancelled" is the person's "stopped")
FINISH_WORDS = {"cancelled": "stopped", "stop": "ended", "length": "length limit", "interrupted": "interrupted",
                "error": "failed"}
EMPTY_REASONS = {"stopped": "stopped before the model wrote anything",
                 "done": "the model ended its reply at once, without writing anything"}
THOUGHT_ONLY = {"stopped": "stopped while thinking, before the answer",
                "done": "the model ended after thinking, without an answer"}


def stats_text(stats: dict[str, object]) -> str:
    """'42 tokens · 48.1 tok/s · first token 210 ms · stop' from a reply's stats."""
    parts = []
    if stats.get("tokens"):
        parts.append(f"{stats['tokens']} tokens")
    if stats.get("tok_s"):
        parts.append(f"{float(stats['tok_s']):.1f} tok/s")  # type: ignore[arg-type]
    if stats.get("ttft_ms"):
        parts.append(f"first token {float(stats['ttft_ms']):.0f} ms")  # type: ignore[arg-type]
    if stats.get("finish"):
        parts.append(FINISH_WORDS.get(str(stats["finish"]), str(stats["finish"])))
    return " · ".join(parts)


class MessageWidget(QFrame):
    """A message bubble. It only shows and asks; the chat controller decides."""

    version_requested = Signal(int, int)
    """(message id, step): show the previous (-1) or next (+1) version."""
    edit_submitted = Signal(int, str)
    """(message id, new text): save an edited version."""
    regenerate_requested = Signal(int)
    """Make a new version of this reply."""
    continue_requested = Signal(int)
    """Make this reply longer."""
    action_requested = Signal(str)
    """An error action: 'reload' or 'choose-model'."""
    passage_removed = Signal(str)
    """(source ``path:line``) a "Sources used" passage to leave out of the next reply."""

    def __init__(self, message: MessageRow, version: tuple[int, int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = message
        self._note = ""
        self._shown_parts: tuple[Part, ...] = ()
        self.part_widgets: list[QWidget] = []
        self.opened_passage: QWidget | None = None
        self.setObjectName(f"message-{message.role}")
        self.setProperty("role", message.role)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._build(version)
        self._connect_signals()
        self.update_message(message)

    def _build(self, version: tuple[int, int]) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(2)
        header = QHBoxLayout()
        self.role_label = QLabel(f"<b>{ROLE_NAMES.get(self.message.role, self.message.role)}</b>")
        self.prev_button = QToolButton(text="‹")
        self.prev_button.setToolTip("Previous version")
        self.version_label = QLabel()
        self.next_button = QToolButton(text="›")
        self.next_button.setToolTip("Next version")
        self.status_label = QLabel()
        self.status_label.setObjectName("messageStatus")
        self.status_label.setWordWrap(True)  # "42 tokens · 48.1 tok/s · …" wraps in a narrow bubble
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        header.addWidget(self.role_label)
        header.addWidget(self.prev_button)
        header.addWidget(self.version_label)
        header.addWidget(self.next_button)
        header.addWidget(self.status_label, 1)
        layout.addLayout(header)
        self.set_version(version)

        self.parts_before = self._parts_box("partsBefore")
        layout.addWidget(self.parts_before)
        self.body = MarkdownView(self)
        layout.addWidget(self.body)
        self.parts_after = self._parts_box("partsAfter")
        layout.addWidget(self.parts_after)
        self.editor = QPlainTextEdit(self)
        self.editor.hide()
        layout.addWidget(self.editor)

        self.error_row = QWidget(self)
        error_layout = QHBoxLayout(self.error_row)
        error_layout.setContentsMargins(0, 0, 0, 0)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setObjectName("messageError")
        self.reload_button = QPushButton("Reload model")
        self.choose_button = QPushButton("Choose model")
        error_layout.addWidget(self.error_label, 1)
        error_layout.addWidget(self.reload_button)
        error_layout.addWidget(self.choose_button)
        self.error_row.hide()
        layout.addWidget(self.error_row)

        self.copy_button = QToolButton(text="Copy")
        self.edit_button = QToolButton(text="Edit")
        self.save_button = QPushButton("Save version")
        self.cancel_button = QPushButton("Cancel")
        self.regen_button = QToolButton(text="Regenerate")
        self.continue_button = QToolButton(text="Continue")
        for b in (self.copy_button, self.edit_button, self.regen_button, self.continue_button):
            b.setAutoRaise(True)
        buttons = [self.copy_button, self.edit_button, self.save_button, self.cancel_button]
        if self.message.role == "assistant":
            buttons += [self.regen_button, self.continue_button]
        else:
            self.regen_button.hide()
            self.continue_button.hide()
        self.save_button.hide()
        self.cancel_button.hide()
        # a narrow bubble wraps its buttons onto a second line rather than cutting Continue off
        self.actions_row = flow_row(*buttons, spacing=2)
        layout.addWidget(self.actions_row)

    def _parts_box(self, name: str) -> QWidget:
        box = QWidget(self)
        box.setObjectName(name)
        box_layout = QVBoxLayout(box)
        box_layout.setContentsMargins(0, 0, 0, 0)
        box_layout.setSpacing(2)
        box.hide()
        return box

    def _show_parts(self, parts: tuple[Part, ...]) -> None:
        """One widget per part that is not text, in order, by kind; rebuilt only when the parts change."""
        others = tuple(p for p in parts if not isinstance(p, TextPart))
        if others == self._shown_parts:
            return
        self._shown_parts = others
        for widget in self.part_widgets:
            widget.setParent(None)
            widget.deleteLater()
        self.part_widgets = []
        first_text = next((i for i, p in enumerate(parts) if isinstance(p, TextPart)), len(parts))
        citations = 0
        for i, part in enumerate(parts):
            if isinstance(part, TextPart):
                continue
            citations += isinstance(part, CitationPart)
            box = self.parts_before if i < first_text else self.parts_after
            widget = part_widget(part, citations, box)
            if hasattr(widget, "remove_requested"):
                widget.remove_requested.connect(self.passage_removed)
            box.layout().addWidget(widget)
            self.part_widgets.append(widget)
        for box in (self.parts_before, self.parts_after):
            box.setVisible(box.layout().count() > 0)

    def _connect_signals(self) -> None:
        self.body.citation_clicked.connect(self._on_body_citation_clicked)
        self.prev_button.clicked.connect(self._on_prev_button_clicked)
        self.next_button.clicked.connect(self._on_next_button_clicked)
        self.copy_button.clicked.connect(self._on_copy_button_clicked)
        self.edit_button.clicked.connect(self.start_edit)
        self.save_button.clicked.connect(self._on_save_clicked)
        self.cancel_button.clicked.connect(self.end_edit)
        self.regen_button.clicked.connect(self._on_regen_button_clicked)
        self.continue_button.clicked.connect(self._on_continue_button_clicked)
        self.reload_button.clicked.connect(self._on_reload_button_clicked)
        self.choose_button.clicked.connect(self._on_choose_button_clicked)

    # slots return nothing: PySide6 mishandles a lambda slot's return value (a refcount abort at exit)
    def _on_body_citation_clicked(self, number: int) -> None:
        citations = [p for p in self.message.parts if isinstance(p, CitationPart)]
        if 1 <= number <= len(citations):
            self.opened_passage = open_passage(citations[number - 1], self)

    def _on_prev_button_clicked(self) -> None:
        self.version_requested.emit(self.message.id, -1)

    def _on_next_button_clicked(self) -> None:
        self.version_requested.emit(self.message.id, 1)

    def _on_copy_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.body.source_text)

    def _on_regen_button_clicked(self) -> None:
        self.regenerate_requested.emit(self.message.id)

    def _on_continue_button_clicked(self) -> None:
        self.continue_requested.emit(self.message.id)

    def _on_reload_button_clicked(self) -> None:
        self.action_requested.emit("reload")

    def _on_choose_button_clicked(self) -> None:
        self.action_requested.emit("choose-model")

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt override
        # polished by now: the style sheet has given the bubble its colour, which the text's view takes
        # (polishing here, not while the widget is built, keeps that work out of opening a long chat)
        self.body.paint_background(self.palette().color(self.backgroundRole()))
        super().showEvent(event)  # type: ignore[arg-type]

    def set_version(self, version: tuple[int, int]) -> None:
        index, count = version
        multiple = count > 1
        for w in (self.prev_button, self.version_label, self.next_button):
            w.setVisible(multiple)
        self.version_label.setText(f"{index}/{count}")
        self.prev_button.setEnabled(index > 1)
        self.next_button.setEnabled(index < count)

    def update_message(self, message: MessageRow) -> None:
        self.message = message
        if message.role == "user":
            self.body.set_plain(message.content)
        else:
            # [n] becomes a link only where every citation is a passage of a local file (Sources)
            cites = [p for p in message.parts if isinstance(p, CitationPart)]
            cited = len(cites) if cites and all(p.source.startswith("/") for p in cites) else 0
            self.body.set_markdown_text(link_citations(message.content, cited) if cited else message.content)
        self._show_parts(message.parts)
        self._label_thinking()
        self.refresh_status()

    def _label_thinking(self) -> None:
        """A saved reply's thinking says how long it took ("Thought for 3 s · 42 tokens")."""
        stats = self.message.stats
        for widget in self.part_widgets:
            if isinstance(widget, ThinkingWidget) and not (isinstance(widget, ThinkingBlock) and widget.live):
                widget.toggle.setText(thinking_summary(int(stats.get("thinking_tokens", 0) or 0),
                                                       float(stats.get("thinking_ms", 0) or 0) / 1000))

    @property
    def thinking_block(self) -> ThinkingBlock | None:
        """The streaming reply's thinking block (None before any thinking arrived)."""
        return next((w for w in self.part_widgets if isinstance(w, ThinkingBlock)), None)

    def set_streaming_thinking(self, text: str, tokens: int, ms: float) -> None:
        """The reply's thinking so far, in a block above the answer that counts while it grows."""
        block = self.thinking_block
        if block is None:
            block = ThinkingBlock(parent=self.parts_before)
            self.parts_before.layout().insertWidget(0, block)
            self.part_widgets.insert(0, block)
            self.parts_before.show()
        block.show_live(text, tokens, ms / 1000)

    def fold_thinking(self, tokens: int, ms: float) -> None:
        """The answer began: the live thinking folds to one line."""
        for widget in self.part_widgets:
            if isinstance(widget, ThinkingBlock) and widget.live:
                widget.fold(tokens, ms / 1000)

    def set_streaming_text(self, text: str) -> None:
        self.message.set_text(text)
        self.body.set_streaming_text(text)

    def set_note(self, note: str) -> None:
        """A passing state of a reply being made (e.g. "Reading the prompt… 45%"); "" goes back to the status."""
        self._note = note
        self.refresh_status()

    def refresh_status(self) -> None:
        m = self.message
        if self._note and m.status == "streaming":
            self.status_label.setText(self._note)
            return
        parts = [stats_text(m.stats)] if m.role == "assistant" else []
        note = STATUS_NOTES.get(m.status)
        finish = str(m.stats.get("finish", ""))
        if note and FINISH_WORDS.get(finish, finish) != note:  # "stopped", once
            parts.append(note)
        if m.role == "assistant" and not m.content and m.status in EMPTY_REASONS \
                and not any(p.kind in ("tool_call", "tool_result") for p in m.parts):  # (a tool call wrote that)
            thought = any(p.kind == "thinking" for p in m.parts)
            parts.append(THOUGHT_ONLY[m.status] if thought else EMPTY_REASONS[m.status])  # an empty reply says why
        self.status_label.setText(" · ".join(p for p in parts if p))
        error = str(m.stats.get("error", "")) if m.status == "error" else ""
        self.error_label.setText(error)
        self.error_row.setVisible(bool(error))
        busy = m.status == "streaming"
        for b in (self.edit_button, self.regen_button, self.continue_button):
            b.setEnabled(not busy)

    def start_edit(self) -> None:
        self.editor.setPlainText(self.message.content)
        self.editor.setMinimumHeight(min(400, max(80, self.body.height())))
        self.body.hide()
        self.editor.show()
        self.editor.setFocus()
        for b in (self.edit_button, self.copy_button, self.regen_button, self.continue_button):
            b.hide()
        self.save_button.show()
        self.cancel_button.show()

    def end_edit(self) -> None:
        self.editor.hide()
        self.body.show()
        self.save_button.hide()
        self.cancel_button.hide()
        self.edit_button.show()
        self.copy_button.show()
        if self.message.role == "assistant":
            self.regen_button.show()
            self.continue_button.show()

    def _on_save_clicked(self) -> None:
        text = self.editor.toPlainText()
        self.end_edit()
        if text.strip() and text != self.message.content:
            self.edit_submitted.emit(self.message.id, text)

