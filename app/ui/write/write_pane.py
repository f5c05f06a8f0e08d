"""The Write pane: a thin view of the open ``DocumentSession`` and its suggestion.

The model continues the text before the cursor (filling in the middle when the
model can) as an inline suggestion. The suggestion's whole life (start, tokens,
stop, accept, reject, regenerate, rewrite from an alternative) is the session's
(app.core.document_session); this class forwards the writer's intents to it and
shows what it announces in the editor, the token inspector and the status bar.
Stop (the button, Esc, the window's Stop) ends a suggestion where it is and
keeps what was written on offer; typing over a suggestion keeps it as the
writer's text, never silently drops it. Every suggestion token carries its
probability and the top alternatives, for the inspector.

``DocumentsMixin`` (app.ui.write.documents) keeps which document is open, its
saving, revisions, export and memory; ``AlternativesMixin``
(app.ui.write.asking) the alternatives side by side, selection actions and
surprise; ``AskMixin`` (app.ui.write.ask_review) the Ask panel and proposals. Reading a long prompt (after a memory change, the whole of it) shows
its progress.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget

from app.core.alternatives import Alternatives
from app.core.document_session import UNTITLED, DocumentSession, Suggestion
from app.core.document_view import memory_block
from app.core.engine_status import EnginePhase
from app.core.events import Alternative, PromptProgress
from app.core.presets import PresetStore
from app.core.sampling import SamplingSettings
from app.core.storage import Storage
from app.ui.engine_bridge import EngineBridge, StreamHandle
from app.ui.live_engine import BridgeEngine
from app.ui.pane import PreviewRequest
from app.ui.widgets import DebouncedSaver
from app.ui.write.ask_review import AskMixin
from app.ui.write.asking import AlternativesMixin
from app.ui.write.documents import DocumentsMixin
from app.ui.write.write_view import WriteView

SAVE_DELAY_MS = 400
SAVE_MAX_AGE = 0.7  # seconds: a writer who never pauses is still saved this often
ALTERNATIVES_SHOWN = 5  # token alternatives kept for the inspector

PREVIEW_NOTHING_BEFORE = ("Nothing before the cursor yet: write something (or put the cursor after some text) "
                          "and the chart shows how the model would go on there.")


class WritePane(DocumentsMixin, AlternativesMixin, AskMixin, WriteView):
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
        self.engine = BridgeEngine(bridge, alternatives=ALTERNATIVES_SHOWN)
        self.session: DocumentSession | None = None
        self._inspected = 0  # suggestion tokens the inspector shows
        self._selection_range: tuple[int, int] | None = None
        self.export_folder = Path.home()  # where Export opens: the folder of the last export, once there is one
        self._no_alternatives = Alternatives(lambda _what: None)  # (while no document is open)
        self._alt_shown: list[int] = []  # characters of each alternative the view shows
        self._alt_ended: list[bool] = []  # which ones it shows as complete
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
        self._count_timer.timeout.connect(self._refresh_counts)
        self.bridge.status_changed.connect(self._on_bridge_status_changed)
        self.bridge.model_loaded.connect(self._on_bridge_status_changed)
        self.bridge.model_failed.connect(self._on_bridge_status_changed)
        QShortcut(QKeySequence("Ctrl+Space"), self.editor, activated=self.continue_at_cursor)
        QShortcut(QKeySequence("Ctrl+S"), self, activated=self.save_revision)
        self._connect_ask()

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

    @property
    def handle(self) -> StreamHandle | None:
        """The stream writing the suggestion (None when none is being written)."""
        s = self.session.suggestion if self.session is not None else None
        return s.stream if s is not None and s.writing else None  # type: ignore[return-value]

    @property
    def variants(self) -> Alternatives:
        """The open document's alternatives (being written, or on offer)."""
        return self.session.alternatives if self.session is not None else self._no_alternatives

    @property
    def generating(self) -> bool:
        """A suggestion or alternatives are being written."""
        return self.handle is not None or self.variants.busy

    # -- the suggestion: intents go to the session -------------------------------------

    def continue_at_cursor(self) -> None:
        if self.session is None:
            return
        self.variants.stop()
        before, after = self.editor.context_at_cursor()
        self.bottom.setCurrentWidget(self.inspector)  # the new suggestion's tokens, not older alternatives
        self.flush()  # the memory as typed goes with this request
        self.session.start_suggestion(before, after)

    def stop(self) -> None:
        """Stop what is being written; a suggestion keeps its text so far, pending (Tab accepts, Esc rejects)."""
        if self.variants.busy:
            self.variants.stop()
            self.alternatives.finish_written()
            self.status_message.emit("Alternatives stopped — the ones written so far can be used")
        if self.session is not None:
            self.session.stop_suggestion()  # its "stopped" end keeps the suggestion
        self.stop_asking()  # a proposal keeps what was proposed so far
        self._update_buttons()

    def _on_editor_escape_pressed(self) -> None:
        """Esc stops a suggestion that is being written and rejects one that has stopped."""
        if self.handle is not None:
            self.stop()
        else:
            self.reject()

    def _on_editor_typed_over(self) -> None:
        """The writer types while a suggestion is shown: it stops and becomes their text, then the key applies."""
        self.variants.stop()
        kept = self.editor.accept_suggestion(move_cursor=False)
        self._accept_in_session()
        if kept:
            self.status_message.emit("The suggestion was kept as your text (Ctrl+Z removes it)")

    def accept(self) -> None:
        if not self.editor.has_suggestion:
            return
        self.variants.stop()
        self.editor.accept_suggestion()
        self._accept_in_session()

    def _accept_in_session(self) -> None:
        """The editor shows the suggestion as text: the session saves it (and may retitle the document)."""
        if self.session is not None:
            title = self.session.title
            self.session.accept_suggestion()
            if self.session.title != title:
                self._show_title(self.session.id, self.session.title)
        self.flush()
        self._update_buttons()

    def reject(self) -> None:
        self.variants.stop()
        if self.session is not None:
            self.session.reject_suggestion()
        if self.editor.has_suggestion:  # (one the session no longer holds)
            self._clear_suggestion()
        self._update_buttons()

    def regenerate(self) -> None:
        if self.session is None or self.session.suggestion is None or not self.editor.has_suggestion:
            self.continue_at_cursor()
            return
        self.variants.stop()
        self.flush()
        self.session.regenerate_suggestion()

    def rewrite_from(self, index: int, alternative: Alternative) -> None:
        """Keep the suggestion up to token ``index``, put ``alternative`` there, and continue from it."""
        if self.session is None or not self.editor.has_suggestion:
            return
        self.variants.stop()
        self.flush()
        self.session.rewrite_from(index, alternative)

    # -- the suggestion: what the session announces --------------------------------------

    def _on_session_changed(self, session: DocumentSession, what: str) -> None:
        s = session.suggestion
        if session is not self.session:
            return
        if what.startswith("alternatives-"):
            self._on_alternatives_changed(session.alternatives, what)
        elif what == "suggestion-cleared":
            if self.editor.has_suggestion:  # rejected (an accepted one is already the writer's text)
                self._clear_suggestion()
            self._reading_done()
            self._update_buttons()
        elif s is None:
            return
        elif what == "suggestion-started":
            self._show_suggestion_from_start(s)
        elif what == "suggestion-progress" and s.progress is not None:
            self._show_reading(s.progress)
        elif what == "suggestion-text":
            self._reading_done()
            self.editor.append_suggestion(s.text[len(self.editor.suggestion_text):])
            self.inspector.add_tokens(s.tokens[self._inspected:])
            self._inspected = len(s.tokens)
        elif what == "suggestion-ended":
            self._show_suggestion_ended(s)

    def _show_suggestion_from_start(self, s: Suggestion) -> None:
        """A suggestion (re)starts at the same place: the editor and the inspector show what it keeps."""
        if self.editor.has_suggestion:
            self.editor.replace_suggestion(s.text)
        else:
            self.editor.begin_suggestion()
            self.editor.append_suggestion(s.text)
        self.inspector.set_tokens(s.tokens)
        self._inspected = len(s.tokens)
        if s.rewritten_at >= 0:
            self.inspector.select(s.rewritten_at)
        self._update_buttons()

    def _clear_suggestion(self) -> None:
        self.editor.discard_suggestion()
        self.inspector.set_tokens([])
        self._inspected = 0
        self._reading_done()

    def _show_reading(self, progress: PromptProgress) -> None:
        self.reading_label.setText(f"Reading {progress.total:,} tokens… {progress.fraction:.0%}")
        self.reading_bar.setRange(0, progress.total)
        self.reading_bar.setValue(progress.done)
        self.reading_label.show()
        self.reading_bar.show()
        self.prompt_progressed.emit(progress)

    def _show_suggestion_ended(self, s: Suggestion) -> None:
        fin = s.finished
        assert fin is not None
        self._reading_done()
        self._update_buttons()
        if s.state == "failed":
            self.status_message.emit(f"The model could not continue: {fin.error}")
            self.suggestion_finished.emit(fin)
            return
        self.memory_cost.clear()
        self.show_view(fin.view_start, fin.words_outside)
        t = fin.timings
        if s.state == "stopped" and not s.text:
            self.status_message.emit("Stopped before the model wrote anything")  # (the session then drops it)
        elif s.state == "stopped":
            self.status_message.emit(f"Stopped — the {len(s.text):,} characters written so far "
                                     "are kept as the suggestion: Tab accepts, Esc rejects")
        else:
            self.status_message.emit(f"Suggestion: {t.generated_tokens} tokens at {t.tokens_per_second:.1f} tok/s "
                                     f"({fin.reason}) — Tab accepts, Esc rejects")
        self.suggestion_finished.emit(fin)

    # -- state ---------------------------------------------------------------------------

    def _on_bridge_status_changed(self, *_: object) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        usable = self.bridge.usable  # a request made while the model loads waits for it
        streaming = self.generating
        self.stop_button.setEnabled(streaming)
        self.continue_button.setEnabled(usable)
        self.alt_button.setEnabled(usable)
        why = self.bridge.engine.capabilities.why_not("scoring")
        scorable = self.bridge.info is not None and self.bridge.status.phase is not EnginePhase.LOADING
        self.surprise_button.setEnabled(scorable and not streaming and not why)
        if why:
            self.surprise_button.setToolTip(why)
        self.accept_button.setEnabled(self.editor.has_suggestion)
        self.reject_button.setEnabled(self.editor.has_suggestion or streaming)
        self.regenerate_button.setEnabled(usable and self.editor.has_suggestion)
