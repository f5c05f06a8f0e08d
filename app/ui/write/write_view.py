"""The Write pane's widgets and their layout, and nothing else (the behaviour is in ``WritePane``).

Left: the documents, with rename, delete, undo, export and revisions. Centre: the
toolbar (Continue, Stop, Accept, Reject, Regenerate, Alternatives, How surprising?,
Selection), the document's memory (notes the model always sees), the editor, and
the token inspector and alternatives below it; under them the counts, how much of
the text is outside the model's view, and the prompt-reading progress. Right: the
Ask panel (app.ui.write.ask_panel); a proposal's review takes the editor's place.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.rework import SELECTION_ACTIONS
from app.ui.flow_layout import flow_row
from app.ui.widgets import UndoDeleteButton
from app.ui.write.alternatives import AlternativesView
from app.ui.write.ask_panel import AskPanel, ProposalReview
from app.ui.write.editor import WriterEditor
from app.ui.write.export import FORMATS
from app.ui.write.formats import EXPORT_NAMES
from app.ui.write.inspector import TokenInspector
from app.ui.write.side_panels import SidePanels

MEMORY_HINT = ("Memory: notes the model always reads before your text, however long it gets "
               "(synopsis, characters, style). Changing it makes the model re-read everything once.")


class WriteView(QWidget):
    """Layout of the Write pane; the objectNames are the ones DESIGN.md lists."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        left = self._build_list()
        center = self._build_editor()
        self.ask_panel = AskPanel()  # right: ask for an edit, review it (app.ui.write.ask_review)
        ask_scroll = QScrollArea()  # a narrow window scrolls the panel instead of refusing to narrow
        ask_scroll.setObjectName("askScroll")
        ask_scroll.setWidget(self.ask_panel)
        ask_scroll.setWidgetResizable(True)
        ask_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(center)
        self.splitter.addWidget(ask_scroll)
        self.splitter.setStretchFactor(0, 1)  # a narrowed window narrows the list too, a third as fast
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 1)
        self.splitter.setCollapsible(1, False)
        self.splitter.setSizes([180, 640, 240])
        self.side_panels = SidePanels(self.splitter, self.toolbar)  # folded in a narrow pane, each with a toggle
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.splitter)

    def _build_list(self) -> QWidget:
        self.new_button = QPushButton("New document")
        self.new_button.setObjectName("newDocumentButton")
        self.doc_list = QListWidget()
        self.doc_list.setObjectName("documentList")
        self.doc_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.doc_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # long titles are elided
        self.rename_button = QPushButton("Rename")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setObjectName("deleteDocumentButton")
        self.undo_delete_button = UndoDeleteButton()
        self.undo_delete_button.setObjectName("undoDeleteDocumentButton")
        self.export_button = QToolButton(text="Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_button.setObjectName("exportDocumentButton")
        export_menu = QMenu(self.export_button)
        # suffix -> action: Markdown, plain text, HTML, ODT, PDF (app.ui.write.export writes them)
        self.export_actions = {suffix: export_menu.addAction(f"Export as {EXPORT_NAMES[suffix]} ({suffix})…")
                               for suffix in FORMATS}
        self.export_md_action = self.export_actions[".md"]
        self.export_txt_action = self.export_actions[".txt"]
        self.export_button.setMenu(export_menu)
        self.revisions_button = QToolButton(text="Revisions")
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
        return left

    def _build_editor(self) -> QWidget:
        self.continue_button = QPushButton("Continue")
        self.continue_button.setObjectName("continueButton")
        self.continue_button.setToolTip("The model continues at the cursor (Ctrl+Space)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("writeStopButton")
        self.stop_button.setToolTip("Stop writing; what was written so far stays as a suggestion to accept or reject (Esc)")
        self.stop_button.setEnabled(False)
        self.accept_button = QPushButton("Accept")
        self.accept_button.setObjectName("acceptButton")
        self.accept_button.setToolTip("Keep the suggestion (Tab)")
        self.reject_button = QPushButton("Reject")
        self.reject_button.setObjectName("rejectButton")
        self.reject_button.setToolTip("Remove the suggestion (Esc once it has stopped)")
        self.regenerate_button = QPushButton("Regenerate")
        self.regenerate_button.setObjectName("regenerateSuggestionButton")
        self.alt_count = QSpinBox()
        self.alt_count.setObjectName("alternativesCount")
        self.alt_count.setRange(1, 5)
        self.alt_count.setValue(3)
        self.alt_count.setToolTip("How many continuations (or reworked selections) to compare")
        self.alt_button = QPushButton("Alternatives")
        self.alt_button.setObjectName("alternativesButton")
        self.surprise_button = QPushButton("How surprising?")
        self.surprise_button.setObjectName("surpriseButton")
        self.surprise_button.setToolTip("Shade each word of this paragraph (or the selection) by how much it "
                                        "surprised the model; hover a word for what it expected")
        self.selection_button = QToolButton(text="Selection")
        self.selection_button.setObjectName("selectionActionsButton")
        self.selection_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        selection_menu = QMenu(self.selection_button)
        self.selection_actions = {name: selection_menu.addAction(name) for name in SELECTION_ACTIONS}
        selection_menu.addSeparator()
        self.draft_action = selection_menu.addAction("Draft from the selection (faster, same text)")
        self.draft_action.setObjectName("draftFromTextAction")
        self.draft_action.setCheckable(True)
        self.draft_action.setChecked(True)
        self.draft_action.setToolTip("Rewrites copy much of the selection: the model checks the selection's own "
                                     "words as guesses in one batch instead of writing them one by one")
        self.selection_button.setMenu(selection_menu)
        # a row that wraps onto a second line, not a QToolBar: a toolbar's » menu is empty for widgets added
        # with addWidget, so what did not fit could not be reached at all
        self.alt_count_label = QLabel("How many:")
        self.alt_count_label.setToolTip("How many continuations (or reworked selections) to compare")
        self.alt_count_label.setBuddy(self.alt_count)
        # "How many" and its spin box wrap together with the button they are for
        alternatives = QWidget()
        alt_row = QHBoxLayout(alternatives)
        alt_row.setContentsMargins(0, 0, 0, 0)
        alt_row.setSpacing(4)
        for w in (self.alt_count_label, self.alt_count, self.alt_button):
            alt_row.addWidget(w)
        bar = flow_row(self.continue_button, self.stop_button, self.accept_button, self.reject_button,
                       self.regenerate_button, alternatives, self.surprise_button, self.selection_button)
        bar.setObjectName("writeToolbar")
        self.toolbar = bar

        self.memory_edit = QPlainTextEdit()
        self.memory_edit.setObjectName("documentMemoryEdit")
        self.memory_edit.setPlaceholderText("Synopsis, characters, style… the model keeps these in view.")
        self.memory_edit.setToolTip(MEMORY_HINT)
        self.memory_title = QLabel("<b>Memory</b> — always in the model's view")
        self.memory_title.setToolTip(MEMORY_HINT)
        self.memory_title.setWordWrap(True)  # a narrow window wraps it instead of widening the whole window
        self.memory_cost = QLabel()
        self.memory_cost.setObjectName("memoryCostLabel")
        self.memory_cost.setWordWrap(True)
        memory_box = QWidget()
        memory_box.setObjectName("memoryPanel")
        memory_layout = QVBoxLayout(memory_box)
        memory_layout.setContentsMargins(0, 0, 0, 0)
        memory_layout.setSpacing(2)
        memory_layout.addWidget(self.memory_title)
        memory_layout.addWidget(self.memory_edit, 1)
        memory_layout.addWidget(self.memory_cost)

        self.editor = WriterEditor()
        self.counts = QLabel()
        self.counts.setObjectName("documentCounts")
        self.view_label = QLabel()
        self.view_label.setObjectName("modelViewLabel")
        self.view_label.setToolTip("The model sees the memory and the end of the text before the cursor; "
                                   "the shaded part above the marker in the editor is outside its view")
        self.reading_label = QLabel()
        self.reading_label.setObjectName("promptReadingLabel")
        self.reading_bar = QProgressBar()
        self.reading_bar.setObjectName("promptReadingProgress")
        self.reading_bar.setMaximumWidth(160)
        self.reading_bar.setTextVisible(False)
        self.reading_label.hide()
        self.reading_bar.hide()
        self.inspector = TokenInspector()
        self.alternatives = AlternativesView()
        self.bottom = QTabWidget()
        self.bottom.addTab(self.inspector, "Token inspector")
        self.bottom.addTab(self.alternatives, "Alternatives")
        center = QWidget()
        center_layout = QVBoxLayout(center)
        center_layout.setContentsMargins(0, 0, 0, 0)
        center_layout.addWidget(bar)
        self.vsplit = vsplit = QSplitter(Qt.Orientation.Vertical)
        vsplit.addWidget(memory_box)
        self.review = ProposalReview()  # the editor's place while a proposal's changes are reviewed
        self.editor_stack = QStackedWidget()
        self.editor_stack.addWidget(self.editor)
        self.editor_stack.addWidget(self.review)
        vsplit.addWidget(self.editor_stack)
        vsplit.addWidget(self.bottom)
        vsplit.setSizes([110, 430, 220])
        self._split_seen = vsplit.sizes()
        self._split_before_squeeze: list[int] | None = None  # the split a low window took in, restored when it grows
        # a low window keeps the editor the tallest part: the memory and the bottom tabs give way (they
        # scroll) instead of holding their height while the text shrinks to three lines
        memory_box.setMinimumHeight(56)  # its title and a line of notes
        self.bottom.setMinimumHeight(60)
        vsplit.installEventFilter(self)
        center_layout.addWidget(vsplit, 1)
        # counts, the model's view and prompt reading wrap onto two lines in a narrow window
        center_layout.addWidget(flow_row(self.counts, self.view_label, self.reading_label, self.reading_bar, spacing=12))
        return center

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        """A narrow pane folds the side panels away (app.ui.write.side_panels); widening brings them back."""
        super().resizeEvent(event)
        self.side_panels.pane_resized(self.width())

    def show_ask_panel(self) -> None:
        """Unfold the Ask panel (Ctrl+K, or asking from a narrow window)."""
        self.side_panels.show(2)

    def add_side_panel(self, panel: QWidget, title: str, key: str) -> QToolButton:
        """Add ``panel`` right of the Ask panel, folded with it in a narrow pane; returns its toolbar toggle."""
        return self.side_panels.add(panel, title, key)

    def show_side_panel(self, index: int) -> None:
        self.side_panels.show(index)

    def side_panel_shown(self, index: int) -> bool:
        return self.side_panels.shown(index)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.vsplit and event.type() == QEvent.Type.Resize:
            if self._split_before_squeeze is None:
                self._split_seen = self.vsplit.sizes()  # the split as it was, before this resize shares out the height
            QTimer.singleShot(0, self._keep_editor_tallest)  # after the splitter has shared out its new height
        return super().eventFilter(watched, event)

    def _keep_editor_tallest(self) -> None:
        """A low window gives the editor three fifths when it fell under half; growing again restores the split."""
        sizes = self.vsplit.sizes()
        total = sum(sizes)
        memory, editor, bottom = sizes
        if total <= 0:
            return
        if self._split_before_squeeze is not None and total >= sum(self._split_before_squeeze):
            before, self._split_before_squeeze = self._split_before_squeeze, None
            self.vsplit.setSizes([total * size // sum(before) for size in before])
            return
        if editor * 2 >= total:
            return
        if self._split_before_squeeze is None:
            self._split_before_squeeze = self._split_seen
        editor = total * 3 // 5
        rest = total - editor
        others = max(memory + bottom, 1)
        memory = rest * memory // others
        self.vsplit.setSizes([memory, editor, rest - memory])

    def show_alternatives(self) -> None:
        """Bring the alternatives forward, tall enough to read (half of the editor's and their height together)."""
        self.bottom.setCurrentWidget(self.alternatives)
        *above, editor, bottom = self.vsplit.sizes()
        if bottom < (editor + bottom) // 2:
            self.vsplit.setSizes([*above, (editor + bottom) // 2, editor + bottom - (editor + bottom) // 2])
