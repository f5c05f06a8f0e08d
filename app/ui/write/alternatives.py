"""Several continuations side by side; pick one to put into the document."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

CUT_OFF_NOTE = "stopped at the length limit: the text may end mid-sentence"


class AlternativesView(QWidget):
    """Columns of candidate texts, each with a button to use it."""

    chosen = Signal(int)
    """The user picked column i."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alternativesView")
        self.columns: list[QPlainTextEdit] = []
        self.buttons: list[QPushButton] = []
        self.used = -1  # the column that went into the document (-1: none yet)
        self.cut_off: set[int] = set()  # the columns that stopped at the length limit
        self.title = QLabel("Alternatives appear here: choose how many, then “Alternatives”.")
        self.title.setWordWrap(True)
        self._row = QHBoxLayout()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addLayout(self._row, 1)

    def reset(self, count: int, title: str = "") -> None:
        for w in self.columns + self.buttons:
            w.setParent(None)
            w.deleteLater()
        self.columns, self.buttons = [], []
        self.used = -1
        self.cut_off = set()
        for child in list(self._row.children()):
            child.setParent(None)
        self.title.setText(title or f"{count} alternatives — pick one to insert it at the cursor")
        for i in range(count):
            col = QVBoxLayout()
            text = QPlainTextEdit()
            text.setReadOnly(True)
            text.setObjectName(f"alternative{i + 1}")
            button = QPushButton(f"Use #{i + 1}")
            button.setEnabled(False)
            button.clicked.connect(lambda _=False, i=i: self._on_use_clicked(i))
            col.addWidget(text, 1)
            col.addWidget(button)
            self._row.addLayout(col)
            self.columns.append(text)
            self.buttons.append(button)

    def _on_use_clicked(self, index: int) -> None:
        self.chosen.emit(index)

    def append(self, index: int, text: str) -> None:
        column = self.columns[index]
        column.moveCursor(column.textCursor().MoveOperation.End)
        column.insertPlainText(text)

    def finish(self, index: int, cut_off: bool = False) -> None:
        """Text ``index`` is complete and can be used; ``cut_off``: it stopped at the length limit, and says so."""
        if index >= len(self.buttons):
            return
        if cut_off:
            self.cut_off.add(index)
            self.buttons[index].setText(f"Use #{index + 1} (cut off)")
            self.buttons[index].setToolTip(CUT_OFF_NOTE)
            self.columns[index].setToolTip(CUT_OFF_NOTE)
            if CUT_OFF_NOTE not in self.title.text():
                self.title.setText(f"{self.title.text()} — {CUT_OFF_NOTE}")
        if self.used < 0:
            self.buttons[index].setEnabled(True)

    def finish_written(self) -> None:
        """Stopped: every column with text so far can be used."""
        for i, column in enumerate(self.columns):
            if column.toPlainText():
                self.finish(i)

    def mark_used(self, index: int) -> None:
        """Column ``index`` went into the document: no other can be inserted as well."""
        self.used = index
        for i, button in enumerate(self.buttons):
            button.setEnabled(False)
            cut = " (cut off)" if i in self.cut_off else ""
            button.setText(f"Used #{i + 1}{cut}" if i == index else f"Use #{i + 1}{cut}")
        self.title.setText(f"#{index + 1} was used — make new alternatives to choose again")

    def text(self, index: int) -> str:
        return self.columns[index].toPlainText()
