"""The Write pane's controller: a view over a ``DocumentSession``, continuing at the cursor, alternatives, surprise.

The model continues the text before the cursor (filling in the middle when the
model can) as an inline suggestion. Stop (the button, Esc, the window's Stop)
ends it where it is and keeps what was written as the suggestion on offer;
typing over a suggestion keeps it as the writer's text, never silently drops it. Every suggestion token carries its
probability and the top alternatives, for the inspector. The document's state
(saved text, suggestion prompt and tokens, revisions, settings) lives in its
``DocumentSession``; the text is saved within a second of the last keystroke,
and a pending suggestion is never saved.

The document's memory goes with every continuation, before the text; the engine
answers where the model's view of a long text began, and the editor marks it.
Reading a long prompt (after a memory change, the whole of it) shows its progress.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import QFileDialog, QListWidgetItem, QWidget

from app.core.document_session import UNTITLED, DocumentSession
from app.core.document_view import memory_block
from app.core.errors import InklingError
from app.core.events import Alternative, Finished, PromptProgress, ScoreResult, TokenEvent
from app.core.paths import file_stem
from app.core.presets import PresetStore
from app.core.rework import SELECTION_ACTIONS, answer_budget, core_range, replacement
from app.core.sampling import SamplingSettings
from app.core.storage import Storage
from app.ui.engine_bridge import EngineBridge, StreamHandle
from app.ui.jobs import when_done
from app.ui.pane import PreviewRequest
from app.ui.widgets import DebouncedSaver
from app.ui.write.export import FORMATS, export_document
from app.ui.write.variants import VariantsController
from app.ui.write.write_view import EXPORT_NAMES, WriteView

SAVE_DELAY_MS = 400
SAVE_MAX_AGE = 0.7  # seconds: a writer who never pauses is still saved this often
SURPRISE_CONTEXT_CHARS = 2000  # how much of the text before a paragraph its surprise is scored after
ALTERNATIVES_SHOWN = 5  # token alternatives kept for the inspector
USABLE_STATES = ("loading", "ready", "generating")  # a request made while the model loads waits for it

PREVIEW_NOTHING_BEFORE = ("Nothing before the cursor yet: write something (or put the cursor after some text) "
                          "and the chart shows how the model would go on there.")


class WritePane(WriteView):
    """The whole Write pane over the open DocumentSession. Implements the window's ``Pane`` protocol."""

    status_message = Signal(str)
    """A short line for the status bar."""
    session_changed = Signal()
    """Another document is shown (the Sampling panel shows its settings)."""
    preview_changed = Signal()
    """The context the next token would follow may have changed."""
    suggestion_finished = Signal(object)
    """A continuation ended (Finished)."""
    alternatives_finished = Signal()
    """All requested alternatives are in."""
    surprise_ready = Signal(object)
    """Surprise scores for a paragraph arrived (ScoreResult)."""
    saved = Signal()
    """The document was written to the database."""
    memory_saved = Signal()
    """The document's memory changed and was written to the database."""
    prompt_progressed = Signal(object)
    """The engine read another batch of a continuation's prompt (a PromptProgress)."""
    title_changed = Signal(str)
    """The open document's title changed (renamed, or titled from its first line)."""

    def __init__(self, storage: Storage, bridge: EngineBridge, presets: PresetStore,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.storage = storage
        self.bridge = bridge
        self.presets = presets
        self.session: DocumentSession | None = None
        self.handle: StreamHandle | None = None
        self._selection_range: tuple[int, int] | None = None
        self.export_folder = Path.home()  # where Export opens: the folder of the last export, once there is one
        self.variants = VariantsController(self.bridge, self.alternatives)
        self._saver = DebouncedSaver(self.save, SAVE_DELAY_MS, SAVE_MAX_AGE, self)
        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(1000)
        self._memory_timer = QTimer(self)
        self._memory_timer.setSingleShot(True)
        self._memory_timer.setInterval(SAVE_DELAY_MS)
        self._connect_signals()
        docs = self.storage.documents()
        if any(self._show(DocumentSession.open(storage, presets, d.id), announce=False) for d in docs):
            self._reload_list()
        else:
            self.new_document()
        self._update_buttons()

    def _connect_signals(self) -> None:
        self.new_button.clicked.connect(self.new_document)
        self.doc_list.currentItemChanged.connect(self._on_doc_list_current_item_changed)
        self.doc_list.itemChanged.connect(self._on_doc_list_item_changed)
        self.rename_button.clicked.connect(self._on_rename_button_clicked)
        self.delete_button.clicked.connect(self.delete_document)
        self.undo_delete_button.undo_requested.connect(self.undo_delete)
        for suffix, export_action in self.export_actions.items():
            export_action.triggered.connect(lambda _=False, suffix=suffix: self.export_as(suffix))
        self.memory_edit.textChanged.connect(self._memory_timer.start)
        self._memory_timer.timeout.connect(self.save_memory)
        self.revisions_menu.aboutToShow.connect(self._fill_revisions_menu)
        self.continue_button.clicked.connect(self.continue_at_cursor)
        self.stop_button.clicked.connect(self.stop)
        self.accept_button.clicked.connect(self.accept)
        self.reject_button.clicked.connect(self.reject)
        self.regenerate_button.clicked.connect(self.regenerate)
        self.alt_button.clicked.connect(self._on_alt_button_clicked)
        for button in (self.continue_button, self.stop_button, self.accept_button, self.reject_button,
                       self.regenerate_button, self.alt_button):
            # the next key goes to the text: a clicked button that keeps focus (or hands it to its neighbour
            # when it is disabled, as Stop is once writing ends) would take a space as a press
            button.clicked.connect(self._focus_editor)
        self.surprise_button.clicked.connect(self.score_paragraph)
        for name, action in self.selection_actions.items():
            action.triggered.connect(lambda _=False, name=name: self._on_selection_action(name))
        self.editor.textChanged.connect(self._on_editor_text_changed)
        self.editor.cursorPositionChanged.connect(self.preview_changed)
        self.editor.accept_requested.connect(self.accept)
        self.editor.escape_pressed.connect(self._on_editor_escape_pressed)
        self.editor.typed_over.connect(self._on_editor_typed_over)
        self.inspector.alternative_chosen.connect(self.rewrite_from)
        self.alternatives.chosen.connect(self.use_alternative)
        self.variants.finished.connect(self._on_variants_finished)
        self.variants.failed.connect(self._on_variants_failed)
        self._count_timer.timeout.connect(self._refresh_counts)
        self.bridge.state_changed.connect(self._on_bridge_state_changed)
        QShortcut(QKeySequence("Ctrl+Space"), self.editor, activated=self.continue_at_cursor)
        QShortcut(QKeySequence("Ctrl+S"), self, activated=self.save_revision)

    # -- the Pane protocol and what the window reads -------------------------------------

    def sampling_owner(self) -> DocumentSession | None:
        return self.session

    def preview_request(self) -> PreviewRequest | None:
        """The next-token chart reads what a continuation at the cursor would: the memory, then the text in view."""
        before, _after = self.editor.context_at_cursor()
        title = self.session.title if self.session is not None else UNTITLED
        line = before.count("\n") + 1
        prompt = self._view_prompt(before)
        if not prompt.strip():  # nothing to read (and an empty prompt has no next token to ask about)
            return PreviewRequest(about=PREVIEW_NOTHING_BEFORE)
        return PreviewRequest(prompt=prompt, about=f"What could come next at the cursor in “{title}” (line {line})")

    @property
    def memory(self) -> str:
        """The open document's memory ("" with no document)."""
        return self.session.memory if self.session is not None else ""

    def _view_prompt(self, before: str) -> str:
        """What the model reads before the cursor: the memory, then the text in its view."""
        return memory_block(self.memory) + before[min(self.editor.view_start, len(before)):]

    def flush(self) -> None:
        """Save now (switching documents, closing the window)."""
        self._saver.flush()
        if self._memory_timer.isActive():
            self._memory_timer.stop()
            self.save_memory()

    @property
    def document(self) -> DocumentSession | None:
        """The open document (the same object as ``session``)."""
        return self.session

    @property
    def sampling(self) -> SamplingSettings:
        return self.session.sampling if self.session is not None else SamplingSettings()

    @property
    def preset(self) -> str:
        return self.session.preset if self.session is not None else ""

    def set_sampling(self, settings: SamplingSettings, preset: str = "") -> None:
        if self.session is not None:
            self.session.set_sampling(settings, preset)

    # -- documents -----------------------------------------------------------------------

    def _reload_list(self) -> None:
        self.doc_list.blockSignals(True)
        self.doc_list.clear()
        for doc in self.storage.documents():
            item = QListWidgetItem(doc.title)
            item.setData(Qt.ItemDataRole.UserRole, doc.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            self.doc_list.addItem(item)
            if self.session is not None and doc.id == self.session.id:
                self.doc_list.setCurrentItem(item)
        self.doc_list.blockSignals(False)

    def new_document(self) -> None:
        self.flush()
        sampling, preset = self.presets.resolve("", "")  # a new document starts on the default preset, by name
        self._show(DocumentSession.create(self.storage, sampling, preset))
        self._reload_list()
        self.editor.setFocus()

    def open_document(self, document_id: int) -> None:
        if self.session is not None and self.session.id == document_id:
            return
        self._show(DocumentSession.open(self.storage, self.presets, document_id))

    def _show(self, session: DocumentSession | None, announce: bool = True) -> bool:
        """Make ``session`` the open document and mirror it; False if there is none."""
        if session is None:
            return False
        if self.session is not None:
            self.reject()
            self.flush()
        self.session = session
        self.editor.blockSignals(True)
        self.editor.setPlainText(session.content)
        self.editor.document().clearUndoRedoStacks()
        cursor = self.editor.textCursor()
        cursor.setPosition(session.cursor)
        self.editor.setTextCursor(cursor)
        self.editor.blockSignals(False)
        self.memory_edit.blockSignals(True)
        self.memory_edit.setPlainText(session.memory)
        self.memory_edit.blockSignals(False)
        self.memory_cost.clear()
        self.show_view(0, 0)
        self.inspector.set_tokens([])
        self.alternatives.reset(0, "Alternatives appear here.")
        self.doc_list.blockSignals(True)  # this may run inside the list's own currentItemChanged
        for i in range(self.doc_list.count()):
            if self.doc_list.item(i).data(Qt.ItemDataRole.UserRole) == session.id:
                self.doc_list.setCurrentRow(i)
        self.doc_list.blockSignals(False)
        self._refresh_counts()
        if announce:
            self.session_changed.emit()
        self.preview_changed.emit()
        return True

    def rename_document(self, title: str) -> None:
        if self.session is not None and self.session.rename(title):
            self._reload_list()
            self.title_changed.emit(self.session.title)

    def delete_document(self) -> None:
        if self.session is None:
            return
        self.reject()
        self.flush()
        self.undo_delete_button.remember(self.session.id)
        self.session.delete()
        self.session = None
        docs = self.storage.documents()
        if any(self._show(DocumentSession.open(self.storage, self.presets, d.id)) for d in docs):
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
        if self.session is not None and self.session.id == doc_id:
            if self.session.rename(item.text()):
                self.title_changed.emit(self.session.title)
        elif item.text().strip():
            self.storage.update_document(doc_id, title=item.text().strip())

    def _on_rename_button_clicked(self) -> None:
        item = self.doc_list.currentItem()
        if item is not None:
            self.doc_list.editItem(item)

    # -- saving --------------------------------------------------------------------------

    def _on_editor_text_changed(self) -> None:
        if self.session is None:
            return
        self._saver.touch()
        self._count_timer.start()

    def save(self) -> None:
        if self.session is None:
            return
        title = self.session.title
        if self.session.save_text(self.editor.content(), self.editor.textCursor().position()):
            if self.session.title != title:  # still titled from its first line, which changed
                self._show_title(self.session.id, self.session.title)
                self.preview_changed.emit()  # the chart names the document it is about
            self.saved.emit()

    def _show_title(self, doc_id: int, title: str) -> None:
        for i in range(self.doc_list.count()):
            item = self.doc_list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == doc_id and item.text() != title:
                self.doc_list.blockSignals(True)
                item.setText(title)
                item.setToolTip(title)
                self.doc_list.blockSignals(False)
        self.title_changed.emit(title)

    def save_revision(self) -> None:
        self.flush()
        if self.session is None:
            return
        self.session.save_revision()
        self.status_message.emit("Revision saved")

    def restore_revision(self, revision_id: int) -> None:
        """Put an earlier version back; the current text is kept as a revision first."""
        old = self.session.revision_text(revision_id) if self.session is not None else None
        if old is None:
            return
        self.reject()
        self.save_revision()
        cursor = self.editor.textCursor()
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(old)  # an ordinary edit: Ctrl+Z brings the newer text back
        self.flush()
        self.status_message.emit("Revision restored (the text before it was kept as a revision)")

    def _fill_revisions_menu(self) -> None:
        self.revisions_menu.clear()
        save = self.revisions_menu.addAction("Save a revision now (Ctrl+S)")
        save.triggered.connect(self.save_revision)
        self.revisions_menu.addSeparator()
        if self.session is None:
            return
        for rid, created, content in self.session.revisions()[:30]:
            label = f"{datetime.fromtimestamp(created):%Y-%m-%d %H:%M:%S} — {len(content.split())} words"
            action = self.revisions_menu.addAction(f"Restore {label}")
            action.triggered.connect(lambda _=False, rid=rid: self.restore_revision(rid))

    def export_to(self, path: Path) -> bool:
        """Write the saved text to ``path`` in the format its suffix names (.md, .txt, .html, .odt, .pdf)."""
        self.flush()
        if self.session is None:
            return False
        suffix = path.suffix.lower()
        try:
            if suffix in (".md", ".txt"):  # the text as written (Markdown gets the title as a heading)
                path.write_text(self.session.export_text(markdown=suffix == ".md"), encoding="utf-8")
            else:  # laid out by Qt from the Markdown: headings, emphasis and lists survive
                export_document(self.session.export_text(markdown=True), path, self.session.title)
        except OSError as exc:
            self.status_message.emit(f"Could not export to {path}: {exc}")
            return False
        self.status_message.emit(f"Exported to {path}")
        return True

    def export_as(self, suffix: str) -> None:
        """Ask where, then export as ``suffix`` (File ▸ Export and the pane's Export menu)."""
        if self.session is None or suffix not in FORMATS:
            return
        name = self.export_file_name(suffix)
        path, _ = QFileDialog.getSaveFileName(self, f"Export as {EXPORT_NAMES[suffix]}",
                                              str(self.export_folder / name), FORMATS[suffix])
        if path:
            target = Path(path)
            if self.export_to(target if target.suffix.lower() == suffix else target.with_name(target.name + suffix)):
                self.export_folder = target.parent  # the next export opens where this one went

    def export_file_name(self, suffix: str) -> str:
        """The name Export suggests: the title, without "…" or characters a file name can't hold."""
        title = self.session.title if self.session is not None else ""
        return file_stem(title.rstrip("…"), "document") + suffix

    # -- memory and the model's view -----------------------------------------------------

    def save_memory(self) -> None:
        """Keep the memory with the document; a change means the next continuation re-reads everything."""
        if self.session is None or not self.session.set_memory(self.memory_edit.toPlainText()):
            return
        self.memory_saved.emit()
        self._estimate_reread()

    def _estimate_reread(self) -> None:
        """Say before it happens what a memory change costs: the whole prompt is read again."""
        prompt = self._view_prompt(self.editor.context_at_cursor()[0])
        if not prompt.strip():
            self.memory_cost.clear()
            return
        self.memory_cost.setText("Memory changed: the next continuation re-reads the memory and the text in view.")
        if self.bridge.state != "ready" or self.bridge.busy:
            return
        try:
            counting = self.bridge.engine.count_text_async(prompt)
        except InklingError:
            return
        when_done(counting, lambda n: self.memory_cost.setText(
            f"Memory changed: the next continuation re-reads about {n:,} tokens (the memory and the text in view)."),
            lambda _exc: None, context=self)

    def show_view(self, start: int, words_outside: int) -> None:
        """Mark where the model's view of the text begins, and say how many words lie outside it."""
        self.editor.set_view_start(start)
        self.view_label.setText(f"{words_outside:,} words outside the model's view" if words_outside else "")

    def _on_prompt_progressed(self, progress: PromptProgress) -> None:
        if self.sender() is not self.handle:
            return
        self.reading_label.setText(f"Reading {progress.total:,} tokens… {progress.fraction:.0%}")
        self.reading_bar.setRange(0, progress.total)
        self.reading_bar.setValue(progress.done)
        self.reading_label.show()
        self.reading_bar.show()
        self.prompt_progressed.emit(progress)

    def _reading_done(self) -> None:
        self.reading_label.hide()
        self.reading_bar.hide()

    def _refresh_counts(self) -> None:
        text = self.editor.content()
        words = len(text.split())
        self.counts.setText(f"{words:,} words · {len(text):,} characters")
        if self.bridge.state == "ready" and not self.bridge.busy and text:
            try:
                counting = self.bridge.engine.count_text_async(text)
            except InklingError:
                return  # the engine is gone (shut down with the window): the count is a nicety, words will do
            when_done(counting,
                      lambda n: self.counts.setText(f"{words:,} words · {n:,} tokens · {len(text):,} characters"),
                      lambda _exc: None, context=self)

    # -- continuing ----------------------------------------------------------------------

    def continue_at_cursor(self) -> None:
        if self.session is None:
            return
        if self.editor.has_suggestion:
            self.reject()
        before, after = self.editor.context_at_cursor()
        self.session.begin_suggestion(before, after)
        self.editor.begin_suggestion()
        self.inspector.set_tokens([])
        self.bottom.setCurrentWidget(self.inspector)  # the new suggestion's tokens, not older alternatives
        self._stream(before, after)

    def _stream(self, prompt: str, suffix: str) -> None:
        self.flush()  # the memory as typed goes with this request
        self.handle = self.bridge.complete(prompt, self.sampling, alternatives=ALTERNATIVES_SHOWN, suffix=suffix,
                                           memory=self.memory)
        self.handle.prompt_progressed.connect(self._on_prompt_progressed)
        self.handle.tokens_arrived.connect(self._on_suggestion_tokens)
        self.handle.finished.connect(self._on_suggestion_finished)
        self.handle.failed.connect(self._on_suggestion_failed)
        self._update_buttons()

    def _on_suggestion_tokens(self, batch: list[TokenEvent]) -> None:
        if self.sender() is not self.handle or self.session is None or self.session.suggestion is None:
            return
        self._reading_done()
        self.editor.append_suggestion("".join(t.text for t in batch))
        self.session.suggestion.add(batch)
        self.inspector.add_tokens(batch)

    def _on_suggestion_finished(self, fin: Finished) -> None:
        if self.sender() is not self.handle:
            return
        self.handle = None
        self._reading_done()
        self.memory_cost.clear()
        self.show_view(fin.view_start, fin.words_outside)
        t = fin.timings
        if fin.reason == "cancelled" and not self.editor.suggestion_text:
            self.reject()
            self.status_message.emit("Stopped before the model wrote anything")
        elif fin.reason == "cancelled":
            self.status_message.emit(f"Stopped — the {len(self.editor.suggestion_text):,} characters written so far "
                                     "are kept as the suggestion: Tab accepts, Esc rejects")
        else:
            self.status_message.emit(f"Suggestion: {t.generated_tokens} tokens at {t.tokens_per_second:.1f} tok/s "
                                     f"({fin.reason}) — Tab accepts, Esc rejects")
        self._update_buttons()
        self.suggestion_finished.emit(fin)

    def _on_suggestion_failed(self, exc: InklingError) -> None:
        if self.sender() is not self.handle:
            return
        self.handle = None
        self._reading_done()
        self._update_buttons()
        self.status_message.emit(f"The model could not continue: {exc}")
        self.suggestion_finished.emit(Finished("error", self.editor.suggestion_text, error=str(exc)))

    @property
    def generating(self) -> bool:
        """A suggestion or alternatives are being written."""
        return self.handle is not None or self.variants.busy

    def stop(self) -> None:
        """Stop what is being written; a suggestion keeps its text so far, pending (Tab accepts, Esc rejects)."""
        if self.variants.busy:
            self.variants.stop()
            self.alternatives.finish_written()
            self.status_message.emit("Alternatives stopped — the ones written so far can be used")
        if self.handle is not None:
            self.handle.cancel()  # its "cancelled" end keeps the suggestion (_on_suggestion_finished)
        self._update_buttons()

    def _on_editor_escape_pressed(self) -> None:
        """Esc stops a suggestion that is being written and rejects one that has stopped."""
        if self.handle is not None:
            self.stop()
        else:
            self.reject()

    def _on_editor_typed_over(self) -> None:
        """The writer types while a suggestion is shown: it stops and becomes their text, then the key applies."""
        self._stop()
        kept = self.editor.accept_suggestion(move_cursor=False)
        if self.session is not None:
            self.session.end_suggestion()
        self._update_buttons()
        if kept:
            self.status_message.emit("The suggestion was kept as your text (Ctrl+Z removes it)")

    def _stop(self) -> None:
        """Stop and forget the streams (their late events are ignored)."""
        self.variants.stop()
        if self.handle is not None:
            handle, self.handle = self.handle, None
            handle.cancel()
        self._reading_done()

    def accept(self) -> None:
        if not self.editor.has_suggestion:
            return
        self._stop()
        self.editor.accept_suggestion()
        if self.session is not None:
            self.session.end_suggestion()
        self.flush()
        self._update_buttons()

    def reject(self) -> None:
        self._stop()
        if self.editor.has_suggestion:
            self.editor.discard_suggestion()
            self.inspector.set_tokens([])
        if self.session is not None:
            self.session.end_suggestion()
        self._update_buttons()

    def regenerate(self) -> None:
        suggestion = self.session.suggestion if self.session is not None else None
        if not self.editor.has_suggestion or suggestion is None:
            self.continue_at_cursor()
            return
        self._stop()
        self.editor.replace_suggestion("")
        suggestion.tokens = []
        self.inspector.set_tokens([])
        self._stream(suggestion.prompt, suggestion.suffix)

    def rewrite_from(self, index: int, alternative: Alternative) -> None:
        """Keep the suggestion up to token ``index``, put ``alternative`` there, and continue from it."""
        suggestion = self.session.suggestion if self.session is not None else None
        rewritten = suggestion.rewritten_from(index, alternative) if suggestion is not None else None
        if not self.editor.has_suggestion or suggestion is None or rewritten is None:
            return
        self._stop()
        prefix, suggestion.tokens = rewritten
        self.editor.replace_suggestion(prefix)
        self.inspector.set_tokens(suggestion.tokens)
        self.inspector.select(index)
        self._stream(suggestion.prompt + prefix, suggestion.suffix)

    # -- alternatives --------------------------------------------------------------------

    def _focus_editor(self) -> None:
        self.editor.setFocus()

    def _on_alt_button_clicked(self) -> None:
        self.generate_alternatives(self.alt_count.value())

    def generate_alternatives(self, count: int) -> None:
        """``count`` continuations side by side; the chosen one goes in at the cursor."""
        self.reject()
        self._selection_range = None
        self.show_alternatives()
        self.flush()
        self.variants.generate(self.editor.context_at_cursor()[0], self.sampling, count,
                               memory=self.memory)
        self._update_buttons()

    def run_selection_action(self, name: str, start: int, end: int) -> None:
        """Ask the model (in its instruct format) to rework a selection; the results are offered, not forced.

        The whitespace at the selection's edges stays where it is (only the text between is reworked and
        replaced), and the answer may be as long as the selection asks for, not the document's Max tokens.
        """
        self.reject()
        start, end = core_range(self.editor.content(), start, end)
        text = self.editor.content()[start:end]
        if not text:
            self.status_message.emit("Select some text first")
            return
        self._selection_range = (start, end)
        self.show_alternatives()
        messages = [{"role": "system", "content": "You are a careful writing assistant."},
                    {"role": "user", "content": f"{SELECTION_ACTIONS[name]}\n\n{text}"}]
        # a rework copies much of the selection: draft from it (same text at temperature 0, fewer model passes)
        settings = self.sampling.replace(draft_from_text=self.draft_action.isChecked(),
                                         max_tokens=answer_budget(name, text))
        count = self.alt_count.value()
        choose = "“Use #1”" if count == 1 else "one"
        self.variants.rework(messages, settings, f"{name}: choose {choose} to replace the selection", count)
        self._update_buttons()

    def _on_selection_action(self, name: str) -> None:
        cursor = self.editor.textCursor()
        if not cursor.hasSelection():
            self.status_message.emit("Select some text first")
            return
        self.run_selection_action(name, cursor.selectionStart(), cursor.selectionEnd())

    def _on_variants_finished(self) -> None:
        fin = self.variants.last_finished
        if self._selection_range is not None and fin is not None and fin.timings.generated_tokens:
            t = fin.timings
            cut = ", cut off at the length limit" if fin.reason == "length" else ""
            self.status_message.emit(f"{t.generated_tokens} tokens at {t.tokens_per_second:.1f} tok/s, "
                                     f"{fin.drafted} of them drafted from the selection{cut}")
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
        self.alternatives.mark_used(index)  # the others are not inserted too
        if self._selection_range is not None:
            start, end = self._selection_range
            cursor = self.editor.textCursor()
            cursor.setPosition(start)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            cursor.insertText(replacement(text))
            self.editor.setTextCursor(cursor)
            self._selection_range = None
        else:
            self.editor.begin_suggestion()
            self.editor.append_suggestion(text)
            self.editor.accept_suggestion()
        self.flush()
        self._update_buttons()
        self.editor.setFocus()  # the next key goes to the text, not to the button that was clicked

    # -- surprise ------------------------------------------------------------------------

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
        # scored after the text before it, as the model reads it: a paragraph's first words are not
        # surprising merely because nothing came before them
        before = self.editor.content()[max(0, start - SURPRISE_CONTEXT_CHARS):start]
        when_done(self.bridge.engine.score_async(before + text, top=3),
                  lambda result: self._on_scored(start, text, len(before), result), context=self)

    def _on_scored(self, start: int, text: str, context_chars: int, result: ScoreResult) -> None:
        if self.editor.content()[start:start + len(text)] != text:
            return  # the text changed meanwhile
        offset, kept = 0, []
        for token in result.tokens:  # drop the context's tokens; one across the boundary is kept whole
            if offset + len(token.text) > context_chars:
                if not kept:
                    start -= context_chars - offset
                kept.append(token)
            offset += len(token.text)
        result = ScoreResult(tuple(kept))
        self.editor.show_surprise(start, kept)
        self.status_message.emit(f"Perplexity {result.perplexity:.1f} — darker means more surprising; hover a word")
        self.surprise_ready.emit(result)

    # -- state ---------------------------------------------------------------------------

    def _on_bridge_state_changed(self, _state: str) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        usable = self.bridge.state in USABLE_STATES
        streaming = self.generating
        self.stop_button.setEnabled(streaming)
        self.continue_button.setEnabled(usable)
        self.alt_button.setEnabled(usable)
        caps = getattr(self.bridge.engine, "capabilities", None)
        why = caps.why_not("scoring") if caps is not None else ""
        self.surprise_button.setEnabled(self.bridge.state in ("ready", "generating") and not streaming and not why)
        if why:
            self.surprise_button.setToolTip(why)
        self.accept_button.setEnabled(self.editor.has_suggestion)
        self.reject_button.setEnabled(self.editor.has_suggestion or streaming)
        self.regenerate_button.setEnabled(usable and self.editor.has_suggestion)
