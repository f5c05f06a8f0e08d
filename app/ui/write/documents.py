"""The Write pane's documents: the list, opening and creating, renaming, deleting, saving, revisions,
export, the memory with the model's view of a long text, and passages from the sources sidebar
quoted into the text or added to the memory.

A mixin of ``WritePane`` (app.ui.write.write_pane), which shows the suggestion;
this part decides which ``DocumentSession`` is open and mirrors it into the
editor, the memory box and the list. The text is saved within a second of the
last keystroke, and a pending suggestion is never saved.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QFileDialog, QListWidgetItem

from app.core.document_session import DocumentSession
from app.core.errors import InklingError
from app.core.paths import file_stem
from app.core.sources.quoting import citation, memory_entry, memory_with, quote_insertion
from app.core.sources.store import Hit
from app.ui.jobs import when_done
from app.ui.write.export import FORMATS, export_document
from app.ui.write.write_view import EXPORT_NAMES

if TYPE_CHECKING:
    from app.ui.write.write_pane import WritePane

    _Base = WritePane
else:
    _Base = object


class DocumentsMixin(_Base):
    """Which document is open, its list, its saving, revisions, export and memory."""

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
        session.subscribe(self._on_session_changed)
        session.use_engine(self.engine)
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
        self._show_ask(session)
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
        session = DocumentSession.undelete(self.storage, self.presets, doc_id)
        if self.session is None or self.session.id != doc_id:
            self._show(session)
        self._reload_list()

    def _on_doc_list_current_item_changed(self, current: QListWidgetItem | None, _prev: object) -> None:
        if current is not None:
            self.open_document(int(current.data(Qt.ItemDataRole.UserRole)))

    def _on_doc_list_item_changed(self, item: QListWidgetItem) -> None:
        doc_id = int(item.data(Qt.ItemDataRole.UserRole))
        if self.session is not None and self.session.id == doc_id:
            if self.session.rename(item.text()):
                self.title_changed.emit(self.session.title)
        else:  # another document's row: its session renames it
            other = DocumentSession.open(self.storage, self.presets, doc_id)
            if other is not None:
                other.rename(item.text())

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
        if not self.bridge.free:
            return
        try:
            counting = self.bridge.count_text_async(prompt)
        except InklingError:
            return
        when_done(counting, lambda n: self.memory_cost.setText(
            f"Memory changed: the next continuation re-reads about {n:,} tokens (the memory and the text in view)."),
            lambda _exc: None, context=self)

    def show_view(self, start: int, words_outside: int) -> None:
        """Mark where the model's view of the text begins, and say how many words lie outside it."""
        self.editor.set_view_start(start)
        self.view_label.setText(f"{words_outside:,} words outside the model's view" if words_outside else "")

    def _reading_done(self) -> None:
        self.reading_label.hide()
        self.reading_bar.hide()

    def _refresh_counts(self) -> None:
        text = self.editor.content()
        words = len(text.split())
        self.counts.setText(f"{words:,} words · {len(text):,} characters")
        if self.bridge.free and text:
            try:
                counting = self.bridge.count_text_async(text)
            except InklingError:
                return  # the engine is gone (shut down with the window): the count is a nicety, words will do
            when_done(counting,
                      lambda n: self.counts.setText(f"{words:,} words · {n:,} tokens · {len(text):,} characters"),
                      lambda _exc: None, context=self)

    # -- passages from the sources sidebar (app.ui.sources.write_sidebar) ----------------

    def insert_quote(self, hit: Hit) -> str:
        """Quote ``hit`` with its citation at the cursor as its own paragraph, one undo step; say what was done."""
        if self.session is None:
            return ""
        if self.editor_stack.currentWidget() is not self.editor:
            return self._said("Finish reviewing the proposed changes first, then insert the quote")
        if self.editor.has_suggestion:  # a suggestion on screen becomes the writer's text, as typing does
            self._on_editor_typed_over()
        cursor = self.editor.textCursor()
        position = max(cursor.position(), cursor.anchor())  # after a selection, never over it
        before, after = self.editor.text_around(position)
        self.editor.insert_at(position, quote_insertion(before, after, hit))
        self.editor.setFocus()
        return self._said(f"Quoted {citation(hit)} at the cursor (Ctrl+Z removes it)")

    def add_to_memory(self, hit: Hit) -> str:
        """Append ``hit`` with its citation to the memory box and save it with the document now."""
        if self.session is None:
            return ""
        memory = self.memory_edit.toPlainText()
        added = memory_with(memory, memory_entry(hit))
        if added == memory:
            return self._said(f"{citation(hit)} is already in this document's memory")
        cursor = QTextCursor(self.memory_edit.document())
        cursor.beginEditBlock()  # one Ctrl+Z in the memory box takes it out again
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(added)
        cursor.endEditBlock()
        self.memory_edit.setTextCursor(cursor)
        self.memory_edit.ensureCursorVisible()
        self._memory_timer.stop()
        self.save_memory()
        return self._said(f"Added {citation(hit)} to this document's memory: the model reads it before every "
                          "continuation")

    def _said(self, line: str) -> str:
        self.status_message.emit(line)
        return line
