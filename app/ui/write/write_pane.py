"""The Write pane's controller: documents, continuing at the cursor, alternatives, inspector, surprise.

The model continues the text before the cursor (filling in the middle when the
model can) as an inline suggestion. Every suggestion token carries its
probability and the top alternatives, for the inspector. The document is saved
within a second of the last keystroke; a pending suggestion is never saved.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import InklingError
from app.core.events import Alternative, Finished, ScoreResult, TokenEvent
from app.core.sampling import SamplingSettings
from app.core.storage import DocumentRow, Storage
from app.ui.engine_bridge import EngineBridge, StreamHandle
from app.ui.jobs import when_done
from app.ui.widgets import DebouncedSaver, UndoDeleteButton
from app.ui.write.alternatives import AlternativesView
from app.ui.write.editor import WriterEditor
from app.ui.write.inspector import TokenInspector
from app.ui.write.variants import VariantsController

SAVE_DELAY_MS = 400
SAVE_MAX_AGE = 0.7  # seconds: a writer who never pauses is still saved this often
REVISION_EVERY = 120.0  # seconds of editing between automatic revisions
ALTERNATIVES_SHOWN = 5  # token alternatives kept for the inspector
SELECTION_ACTIONS = {
    "Rewrite": "Rewrite the following text so it reads better. Keep its meaning. Reply with the rewritten text only.",
    "Shorten": "Shorten the following text to about half its length. Reply with the shortened text only.",
    "Expand": "Expand the following text with more detail, in the same voice. Reply with the expanded text only.",
    "Continue in this style": "Continue the following text in exactly the same style. Reply with the continuation only.",
}


class WritePane(QWidget):
    """The whole Write pane."""

    status_message = Signal(str)
    """A short line for the status bar."""
    sampling_loaded = Signal(object, str)
    """A document with its own (SamplingSettings | None, preset) was opened."""
    suggestion_finished = Signal(object)
    """A continuation ended (Finished)."""
    alternatives_finished = Signal()
    """All requested alternatives are in."""
    surprise_ready = Signal(object)
    """Surprise scores for a paragraph arrived (ScoreResult)."""
    saved = Signal()
    """The document was written to the database."""

    def __init__(self, storage: Storage, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.storage = storage
        self.bridge = bridge
        self.sampling = SamplingSettings()
        self.preset = ""
        self.document: DocumentRow | None = None
        self.handle: StreamHandle | None = None
        self.suggestion_tokens: list[TokenEvent] = []
        self._prompt = ""
        self._suffix = ""
        self._revision_at = time.monotonic()
        self._selection_range: tuple[int, int] | None = None
        self._build()
        self._connect_signals()
        self._reload_list()
        docs = self.storage.documents()
        if docs:
            self.open_document(docs[0].id)
        else:
            self.new_document()

    # -- layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.new_button = QPushButton("New document")
        self.new_button.setObjectName("newDocumentButton")
        self.doc_list = QListWidget()
        self.doc_list.setObjectName("documentList")
        self.doc_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.rename_button = QPushButton("Rename")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setObjectName("deleteDocumentButton")
        self.undo_delete_button = UndoDeleteButton()
        self.undo_delete_button.setObjectName("undoDeleteDocumentButton")
        self.export_button = QToolButton(text="Export ▾")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        export_menu = QMenu(self.export_button)
        self.export_md_action = export_menu.addAction("Export as Markdown (.md)…")
        self.export_txt_action = export_menu.addAction("Export as plain text (.txt)…")
        self.export_button.setMenu(export_menu)
        self.revisions_button = QToolButton(text="Revisions ▾")
        self.revisions_button.setObjectName("revisionsButton")
        self.revisions_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.revisions_menu = QMenu(self.revisions_button)
        self.revisions_button.setMenu(self.revisions_menu)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.new_button)
        left_layout.addWidget(self.doc_list, 1)
        row = QHBoxLayout()
        row.addWidget(self.rename_button)
        row.addWidget(self.delete_button)
        left_layout.addLayout(row)
        left_layout.addWidget(self.undo_delete_button)
        row2 = QHBoxLayout()
        row2.addWidget(self.export_button)
        row2.addWidget(self.revisions_button)
        left_layout.addLayout(row2)

        self.continue_button = QPushButton("Continue")
        self.continue_button.setObjectName("continueButton")
        self.continue_button.setToolTip("The model continues at the cursor (Ctrl+Space)")
        self.accept_button = QPushButton("Accept")
        self.accept_button.setObjectName("acceptButton")
        self.accept_button.setToolTip("Keep the suggestion (Tab)")
        self.reject_button = QPushButton("Reject")
        self.reject_button.setObjectName("rejectButton")
        self.reject_button.setToolTip("Remove the suggestion (Esc)")
        self.regenerate_button = QPushButton("Regenerate")
        self.regenerate_button.setObjectName("regenerateSuggestionButton")
        self.alt_count = QSpinBox()
        self.alt_count.setObjectName("alternativesCount")
        self.alt_count.setRange(1, 5)
        self.alt_count.setValue(3)
        self.alt_count.setToolTip("How many continuations to compare")
        self.alt_button = QPushButton("Alternatives")
        self.alt_button.setObjectName("alternativesButton")
        self.surprise_button = QPushButton("How surprising?")
        self.surprise_button.setObjectName("surpriseButton")
        self.surprise_button.setToolTip("Shade each word of this paragraph (or the selection) by how much it "
                                        "surprised the model; hover a word for what it expected")
        self.selection_button = QToolButton(text="Selection ▾")
        self.selection_button.setObjectName("selectionActionsButton")
        self.selection_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        selection_menu = QMenu(self.selection_button)
        self.selection_actions = {name: selection_menu.addAction(name) for name in SELECTION_ACTIONS}
        self.selection_button.setMenu(selection_menu)
        bar = QHBoxLayout()
        for w in (self.continue_button, self.accept_button, self.reject_button, self.regenerate_button):
            bar.addWidget(w)
        bar.addSpacing(12)
        bar.addWidget(self.alt_count)
        bar.addWidget(self.alt_button)
        bar.addSpacing(12)
        bar.addWidget(self.surprise_button)
        bar.addWidget(self.selection_button)
        bar.addStretch(1)

        self.editor = WriterEditor()
        self.counts = QLabel()
        self.counts.setObjectName("documentCounts")
        self.inspector = TokenInspector()
        self.alternatives = AlternativesView()
        self.variants = VariantsController(self.bridge, self.alternatives)
        self.bottom = QTabWidget()
        self.bottom.addTab(self.inspector, "Token inspector")
        self.bottom.addTab(self.alternatives, "Alternatives")
        center = QWidget()
        center_layout = QVBoxLayout(center)
        center_layout.setContentsMargins(0, 0, 0, 0)
        center_layout.addLayout(bar)
        vsplit = QSplitter(Qt.Orientation.Vertical)
        vsplit.addWidget(self.editor)
        vsplit.addWidget(self.bottom)
        vsplit.setSizes([520, 220])
        center_layout.addWidget(vsplit, 1)
        center_layout.addWidget(self.counts)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(center)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([200, 820])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.splitter)
        self._saver = DebouncedSaver(self.save, SAVE_DELAY_MS, SAVE_MAX_AGE, self)
        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(1000)
        self._update_buttons()

    def _connect_signals(self) -> None:
        self.new_button.clicked.connect(self.new_document)
        self.doc_list.currentItemChanged.connect(self._on_doc_list_current_item_changed)
        self.doc_list.itemChanged.connect(self._on_doc_list_item_changed)
        self.rename_button.clicked.connect(self._on_rename_button_clicked)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        self.undo_delete_button.undo_requested.connect(self.undo_delete)
        self.export_md_action.triggered.connect(self._on_export_md)
        self.export_txt_action.triggered.connect(self._on_export_txt)
        self.revisions_menu.aboutToShow.connect(self._fill_revisions_menu)
        self.continue_button.clicked.connect(self.continue_at_cursor)
        self.accept_button.clicked.connect(self.accept)
        self.reject_button.clicked.connect(self.reject)
        self.regenerate_button.clicked.connect(self.regenerate)
        self.alt_button.clicked.connect(self._on_alt_button_clicked)
        self.surprise_button.clicked.connect(self.score_paragraph)
        for name, action in self.selection_actions.items():
            action.triggered.connect(lambda _=False, name=name: self._on_selection_action(name))
        self.editor.textChanged.connect(self._on_editor_text_changed)
        self.editor.accept_requested.connect(self.accept)
        self.editor.reject_requested.connect(self.reject)
        self.inspector.alternative_chosen.connect(self.rewrite_from)
        self.alternatives.chosen.connect(self.use_alternative)
        self.variants.finished.connect(self._on_variants_finished)
        self.variants.failed.connect(self._on_variants_failed)
        self._count_timer.timeout.connect(self._refresh_counts)
        self.bridge.state_changed.connect(self._on_bridge_state_changed)
        QShortcut(QKeySequence("Ctrl+Space"), self.editor, activated=self.continue_at_cursor)
        QShortcut(QKeySequence("Ctrl+S"), self, activated=self.save_revision)

    # -- documents --------------------------------------------------------------------------

    def _reload_list(self) -> None:
        self.doc_list.blockSignals(True)
        self.doc_list.clear()
        for doc in self.storage.documents():
            item = QListWidgetItem(doc.title)
            item.setData(Qt.ItemDataRole.UserRole, doc.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            self.doc_list.addItem(item)
            if self.document is not None and doc.id == self.document.id:
                self.doc_list.setCurrentItem(item)
        self.doc_list.blockSignals(False)

    def new_document(self) -> None:
        self.flush()
        doc = self.storage.create_document()
        self.storage.update_document(doc.id, settings=json.dumps(self.sampling.to_dict()), preset=self.preset)
        self.document = None
        self.open_document(doc.id)
        self._reload_list()
        self.editor.setFocus()

    def open_document(self, document_id: int) -> None:
        if self.document is not None and self.document.id == document_id:
            return
        self.flush()
        doc = self.storage.document(document_id)
        if doc is None:
            return
        self.document = doc
        self.editor.blockSignals(True)
        self.editor.setPlainText(doc.content)
        self.editor.document().clearUndoRedoStacks()
        cursor = self.editor.textCursor()
        cursor.setPosition(min(doc.cursor, len(doc.content)))
        self.editor.setTextCursor(cursor)
        self.editor.blockSignals(False)
        self.inspector.set_tokens([])
        self.alternatives.reset(0, "Alternatives appear here.")
        self._revision_at = time.monotonic()
        for i in range(self.doc_list.count()):
            if self.doc_list.item(i).data(Qt.ItemDataRole.UserRole) == document_id:
                self.doc_list.blockSignals(True)
                self.doc_list.setCurrentRow(i)
                self.doc_list.blockSignals(False)
        self.sampling_loaded.emit(SamplingSettings.from_saved(doc.settings), doc.preset)
        self._refresh_counts()

    def rename_document(self, title: str) -> None:
        if self.document is not None and title.strip():
            self.storage.update_document(self.document.id, title=title.strip())
            self.document.title = title.strip()
            self._reload_list()

    def delete_document(self) -> None:
        if self.document is None:
            return
        self.reject()
        self.flush()
        self.undo_delete_button.remember(self.document.id)
        self.storage.delete_document(self.document.id)
        self.document = None
        docs = self.storage.documents()
        if docs:
            self.open_document(docs[0].id)
            self._reload_list()
        else:
            self.new_document()
        self.status_message.emit("Document deleted — Undo delete brings it back")

    def undo_delete(self, doc_id: int) -> None:
        self.storage.undelete_document(doc_id)
        self.open_document(doc_id)
        self._reload_list()

    def _on_doc_list_current_item_changed(self, current: QListWidgetItem | None, _prev: object) -> None:
        if current is not None:
            self.open_document(int(current.data(Qt.ItemDataRole.UserRole)))

    def _on_doc_list_item_changed(self, item: QListWidgetItem) -> None:
        doc_id = int(item.data(Qt.ItemDataRole.UserRole))
        if item.text().strip():
            self.storage.update_document(doc_id, title=item.text().strip())
            if self.document is not None and self.document.id == doc_id:
                self.document.title = item.text().strip()

    def _on_rename_button_clicked(self) -> None:
        item = self.doc_list.currentItem()
        if item is not None:
            self.doc_list.editItem(item)

    def _on_delete_button_clicked(self) -> None:
        self.delete_document()

    # -- saving -----------------------------------------------------------------------------

    def _on_editor_text_changed(self) -> None:
        if self.document is None:
            return
        self._saver.touch()
        self._count_timer.start()

    def save(self) -> None:
        if self.document is None:
            return
        content = self.editor.content()
        cursor = self.editor.textCursor().position()
        if content != self.document.content:
            self.storage.update_document(self.document.id, content=content, cursor=cursor)
            self.document.content = content
            if time.monotonic() - self._revision_at > REVISION_EVERY:
                self.save_revision()
            self.saved.emit()

    def flush(self) -> None:
        """Save now (switching documents, closing the window)."""
        self._saver.flush()

    def save_revision(self) -> None:
        self.flush()
        if self.document is None:
            return
        revisions = self.storage.revisions(self.document.id)
        if not revisions or revisions[0][2] != self.document.content:
            self.storage.add_revision(self.document.id, self.document.content)
        self._revision_at = time.monotonic()
        self.status_message.emit("Revision saved")

    def restore_revision(self, revision_id: int) -> None:
        """Put an earlier version back; the current text is kept as a revision first."""
        if self.document is None:
            return
        old = next((r for r in self.storage.revisions(self.document.id) if r[0] == revision_id), None)
        if old is None:
            return
        self.reject()
        self.save_revision()
        cursor = self.editor.textCursor()
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(old[2])  # an ordinary edit: Ctrl+Z brings the newer text back
        self.flush()
        self.status_message.emit("Revision restored (the text before it was kept as a revision)")

    def _fill_revisions_menu(self) -> None:
        self.revisions_menu.clear()
        save = self.revisions_menu.addAction("Save a revision now (Ctrl+S)")
        save.triggered.connect(self.save_revision)
        self.revisions_menu.addSeparator()
        if self.document is None:
            return
        for rid, created, content in self.storage.revisions(self.document.id)[:30]:
            label = f"{datetime.fromtimestamp(created):%Y-%m-%d %H:%M:%S} — {len(content.split())} words"
            action = self.revisions_menu.addAction(f"Restore {label}")
            action.triggered.connect(lambda _=False, rid=rid: self.restore_revision(rid))

    def export_to(self, path: Path) -> None:
        self.flush()
        text = self.editor.content()
        if path.suffix.lower() == ".md" and self.document is not None and not text.lstrip().startswith("#"):
            text = f"# {self.document.title}\n\n{text}"
        path.write_text(text, encoding="utf-8")
        self.status_message.emit(f"Exported to {path}")

    def _export(self, suffix: str, kind: str) -> None:
        if self.document is None:
            return
        name = "".join(c if c.isalnum() or c in " -_" else "_" for c in self.document.title).strip() or "document"
        path, _ = QFileDialog.getSaveFileName(self, "Export document", str(Path.home() / f"{name}{suffix}"), kind)
        if path:
            self.export_to(Path(path))

    def _on_export_md(self) -> None:
        self._export(".md", "Markdown (*.md)")

    def _on_export_txt(self) -> None:
        self._export(".txt", "Plain text (*.txt)")

    def _refresh_counts(self) -> None:
        text = self.editor.content()
        words = len(text.split())
        self.counts.setText(f"{words:,} words · {len(text):,} characters")
        if self.bridge.state == "ready" and not self.bridge.busy and text:
            when_done(self.bridge.engine.count_text_async(text),
                      lambda n: self.counts.setText(f"{words:,} words · {n:,} tokens · {len(text):,} characters"),
                      lambda _exc: None, context=self)

    # -- continuing -------------------------------------------------------------------------

    def set_sampling(self, settings: SamplingSettings, preset: str = "") -> None:
        self.sampling, self.preset = settings, preset
        if self.document is not None:
            data = json.dumps(settings.to_dict())
            if data != self.document.settings or preset != self.document.preset:
                self.document.settings, self.document.preset = data, preset
                self.storage.update_document(self.document.id, settings=data, preset=preset)

    def preview_context(self) -> str:
        """The text the next-token chart should look at: everything before the cursor."""
        return self.editor.context_at_cursor()[0]

    def continue_at_cursor(self) -> None:
        if self.editor.has_suggestion:
            self.reject()
        before, after = self.editor.context_at_cursor()
        self._prompt, self._suffix = before, after
        self.editor.begin_suggestion()
        self.suggestion_tokens = []
        self.inspector.set_tokens([])
        self._stream(before, after)

    def _stream(self, prompt: str, suffix: str) -> None:
        self.handle = self.bridge.complete(prompt, self.sampling, alternatives=ALTERNATIVES_SHOWN, suffix=suffix)
        self.handle.tokens_arrived.connect(self._on_suggestion_tokens)
        self.handle.finished.connect(self._on_suggestion_finished)
        self.handle.failed.connect(self._on_suggestion_failed)
        self._update_buttons()

    def _on_suggestion_tokens(self, batch: list[TokenEvent]) -> None:
        if self.sender() is not self.handle:
            return
        self.editor.append_suggestion("".join(t.text for t in batch))
        self.suggestion_tokens += [t for t in batch if t.token_id >= 0]
        self.inspector.add_tokens(batch)

    def _on_suggestion_finished(self, fin: Finished) -> None:
        if self.sender() is not self.handle:
            return
        self.handle = None
        t = fin.timings
        self.status_message.emit(f"Suggestion: {t.generated_tokens} tokens at {t.tokens_per_second:.1f} tok/s "
                                 f"({fin.reason}) — Tab accepts, Esc rejects")
        self._update_buttons()
        self.suggestion_finished.emit(fin)

    def _on_suggestion_failed(self, exc: InklingError) -> None:
        if self.sender() is not self.handle:
            return
        self.handle = None
        self._update_buttons()
        self.status_message.emit(f"The model could not continue: {exc}")
        self.suggestion_finished.emit(Finished("error", self.editor.suggestion_text, error=str(exc)))

    def _stop(self) -> None:
        self.variants.stop()
        if self.handle is not None:
            handle, self.handle = self.handle, None
            handle.cancel()

    def accept(self) -> None:
        if not self.editor.has_suggestion:
            return
        self._stop()
        self.editor.accept_suggestion()
        self.flush()
        self._update_buttons()

    def reject(self) -> None:
        self._stop()
        if self.editor.has_suggestion:
            self.editor.discard_suggestion()
            self.inspector.set_tokens([])
        self._update_buttons()

    def regenerate(self) -> None:
        if not self.editor.has_suggestion:
            self.continue_at_cursor()
            return
        self._stop()
        self.editor.replace_suggestion("")
        self.suggestion_tokens = []
        self.inspector.set_tokens([])
        self._stream(self._prompt, self._suffix)

    def rewrite_from(self, index: int, alternative: Alternative) -> None:
        """Keep the suggestion up to token ``index``, put ``alternative`` there, and continue from it."""
        if not self.editor.has_suggestion or not 0 <= index < len(self.suggestion_tokens):
            return
        self._stop()
        kept = self.suggestion_tokens[:index]
        old = self.suggestion_tokens[index]
        chosen = TokenEvent(alternative.text, alternative.token_id, alternative.prob, old.alternatives)
        prefix = "".join(t.text for t in kept) + alternative.text
        self.editor.replace_suggestion(prefix)
        self.suggestion_tokens = [*kept, chosen]
        self.inspector.set_tokens(self.suggestion_tokens)
        self.inspector.select(index)
        self._stream(self._prompt + prefix, self._suffix)

    # -- alternatives ----------------------------------------------------------------------------

    def _on_alt_button_clicked(self) -> None:
        self.generate_alternatives(self.alt_count.value())

    def generate_alternatives(self, count: int) -> None:
        """``count`` continuations side by side; the chosen one goes in at the cursor."""
        self.reject()
        self._selection_range = None
        self.bottom.setCurrentWidget(self.alternatives)
        self.variants.generate(self.editor.context_at_cursor()[0], self.sampling, count)
        self._update_buttons()

    def run_selection_action(self, name: str, start: int, end: int) -> None:
        """Ask the model (in its instruct format) to rework a selection; the result is offered, not forced."""
        self.reject()
        text = self.editor.content()[start:end]
        self._selection_range = (start, end)
        self.bottom.setCurrentWidget(self.alternatives)
        messages = [{"role": "system", "content": "You are a careful writing assistant."},
                    {"role": "user", "content": f"{SELECTION_ACTIONS[name]}\n\n{text}"}]
        self.variants.rework(messages, self.sampling, f"{name}: choose “Use #1” to replace the selection")
        self._update_buttons()

    def _on_selection_action(self, name: str) -> None:
        cursor = self.editor.textCursor()
        if not cursor.hasSelection():
            self.status_message.emit("Select some text first")
            return
        self.run_selection_action(name, cursor.selectionStart(), cursor.selectionEnd())

    def _on_variants_finished(self) -> None:
        self._update_buttons()
        self.alternatives_finished.emit()

    def _on_variants_failed(self, message: str) -> None:
        self.status_message.emit(f"Alternatives stopped: {message}")
        self._update_buttons()

    def use_alternative(self, index: int) -> None:
        """Insert the chosen text: a replacement for the selection it was made for, or at the cursor."""
        text = self.alternatives.text(index)
        if not text:
            return
        self.variants.stop()
        if self._selection_range is not None:
            start, end = self._selection_range
            cursor = self.editor.textCursor()
            cursor.setPosition(start)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            cursor.insertText(text)
            self._selection_range = None
        else:
            self.editor.begin_suggestion()
            self.editor.append_suggestion(text)
            self.editor.accept_suggestion()
        self.flush()
        self._update_buttons()

    # -- surprise ----------------------------------------------------------------------------------

    def score_paragraph(self) -> None:
        """Score the selection, or the paragraph at the cursor, and shade it by surprise."""
        self.reject()
        cursor = self.editor.textCursor()
        if cursor.hasSelection():
            start, end = cursor.selectionStart(), cursor.selectionEnd()
        else:
            block = cursor.block()
            start, end = block.position(), block.position() + block.length() - 1
        text = self.editor.content()[start:end]
        if not text.strip():
            self.status_message.emit("Put the cursor in a paragraph (or select text) to score it")
            return
        self.status_message.emit("Scoring…")
        when_done(self.bridge.engine.score_async(text, top=3),
                  lambda result: self._on_scored(start, text, result), context=self)

    def _on_scored(self, start: int, text: str, result: ScoreResult) -> None:
        if self.editor.content()[start:start + len(text)] != text:
            return  # the text changed meanwhile
        self.editor.show_surprise(start, list(result.tokens))
        self.status_message.emit(f"Perplexity {result.perplexity:.1f} — darker means more surprising; hover a word")
        self.surprise_ready.emit(result)

    # -- state -------------------------------------------------------------------------------------

    def _on_bridge_state_changed(self, _state: str) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        ready = self.bridge.state in ("ready", "generating")
        streaming = self.handle is not None or self.variants.busy
        self.continue_button.setEnabled(ready)
        self.alt_button.setEnabled(ready)
        caps = getattr(self.bridge.engine, "capabilities", None)
        why = caps.why_not("scoring") if caps is not None else ""
        self.surprise_button.setEnabled(ready and not streaming and not why)
        if why:
            self.surprise_button.setToolTip(why)
        self.accept_button.setEnabled(self.editor.has_suggestion)
        self.reject_button.setEnabled(self.editor.has_suggestion or streaming)
        self.regenerate_button.setEnabled(ready and self.editor.has_suggestion)
