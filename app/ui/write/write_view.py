"""The Write pane's widgets and their layout, and nothing else (the behaviour is in ``WritePane``).

Left: the documents, with rename, delete, undo, export and revisions. Centre: the
toolbar (Continue, Stop, Accept, Reject, Regenerate, Alternatives, How surprising?,
Selection), the editor, and the token inspector and alternatives below it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMenu,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.widgets import UndoDeleteButton
from app.ui.write.alternatives import AlternativesView
from app.ui.write.editor import WriterEditor
from app.ui.write.inspector import TokenInspector

SELECTION_ACTIONS = {
    "Rewrite": "Rewrite the following text so it reads better. Keep its meaning. Reply with the rewritten text only.",
    "Shorten": "Shorten the following text to about half its length. Reply with the shortened text only.",
    "Expand": "Expand the following text with more detail, in the same voice. Reply with the expanded text only.",
    "Continue in this style": "Continue the following text in exactly the same style. Reply with the continuation only.",
}


class WriteView(QWidget):
    """Layout of the Write pane; the objectNames are the ones DESIGN.md lists."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        left = self._build_list()
        center = self._build_editor()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(center)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([200, 820])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.splitter)

    def _build_list(self) -> QWidget:
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
        for w in (self.continue_button, self.stop_button, self.accept_button, self.reject_button, self.regenerate_button):
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
        return center
