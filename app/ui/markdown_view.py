"""A read-only Markdown view for untrusted model text.

- Raw HTML is not interpreted (``MarkdownNoHTML``): ``<script>`` shows as text.
- No resource is ever loaded: images (remote or ``file://``) become a placeholder.
- Links open only on a click, only for http(s), and only after the user confirms.
- Fenced code is monospace and highlighted, with a "Copy code" link per block.
- The widget grows to its content, so a transcript is one scrolling column.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRegularExpression, QSize, Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QCursor,
    QDesktopServices,
    QFont,
    QGuiApplication,
    QImage,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import QFrame, QMessageBox, QSizePolicy, QTextBrowser, QToolTip, QWidget

from app.core.markdown import COPY_SCHEME, prepare, safe_link, stable_boundary

INCREMENTAL_FROM = 4000  # characters: beyond this a streaming reply is rendered piece by piece

FEATURES = QTextDocument.MarkdownFeature(
    QTextDocument.MarkdownFeature.MarkdownDialectGitHub.value | QTextDocument.MarkdownFeature.MarkdownNoHTML.value
)
_KEYWORDS = (r"\b(def|class|return|if|elif|else|for|while|in|import|from|as|with|try|except|finally|raise|"
             r"lambda|yield|None|True|False|and|or|not|is|pass|break|continue|function|const|let|var|new|"
             r"public|private|static|void|int|float|char|struct|fn|impl|match|pub|use|async|await)\b")


class CodeHighlighter(QSyntaxHighlighter):
    """Light highlighting of keywords, strings, numbers and comments inside code blocks only."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)

        def fmt(color: str, bold: bool = False) -> QTextCharFormat:
            f = QTextCharFormat()
            f.setForeground(QColor(color))
            if bold:
                f.setFontWeight(QFont.Weight.Bold)
            return f

        self.rules = [
            (QRegularExpression(_KEYWORDS), fmt("#8250df", True)),
            (QRegularExpression(r"\b\d+(\.\d+)?\b"), fmt("#0550ae")),
            (QRegularExpression(r"\"[^\"\n]*\"|'[^'\n]*'"), fmt("#0a3069")),
            (QRegularExpression(r"(#|//).*$"), fmt("#6e7781")),
        ]

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt override
        if not self.currentBlock().blockFormat().hasProperty(QTextFormat.Property.BlockCodeFence):
            return
        for regex, style in self.rules:
            it = regex.globalMatch(text)
            while it.hasNext():
                m = it.next()
                self.setFormat(m.capturedStart(), m.capturedLength(), style)


class MarkdownView(QTextBrowser):
    """Renders one message's Markdown safely and sizes itself to fit."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)  # long code lines scroll
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.viewport().setAutoFillBackground(False)
        self.blocked_resources: list[str] = []
        self.opened_links: list[str] = []
        self.refused_links: list[str] = []
        self.code_blocks: list[str] = []
        self.source_text = ""
        self._stream: list | None = None  # [source chars rendered as Markdown, doc position after them, plain tail]
        self._partial = False
        self.confirm_link: Callable[[str], bool] = self._ask_to_open
        self._highlighter = CodeHighlighter(self.document())
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self.anchorClicked.connect(self._on_self_anchor_clicked)

    def set_markdown_text(self, text: str) -> None:
        """Render the whole text (a finished message)."""
        self._stream = None
        if text == self.source_text and not self._partial:
            return
        self._partial = False
        self.source_text = text
        prepared = prepare(text)
        self.code_blocks = prepared.code_blocks
        self.document().setMarkdown(prepared.markdown, FEATURES)
        self._fit_height()

    def set_streaming_text(self, text: str) -> None:
        """Show a reply that is still growing, at a cost that does not grow with its length.

        Short replies are simply re-rendered. Past INCREMENTAL_FROM characters,
        finished paragraphs are appended once as Markdown and the growing tail is
        appended as plain text, only the new characters each time; the final
        ``set_markdown_text`` renders the whole reply properly once.
        """
        if len(text) < INCREMENTAL_FROM or not text.startswith(self.source_text):
            self.set_markdown_text(text)
            self._partial = True
            return
        cursor = QTextCursor(self.document())
        if self._stream is None:  # switch to incremental: render the finished part once
            boundary = stable_boundary(text)
            prepared = prepare(text[:boundary])
            self.code_blocks = prepared.code_blocks
            self.document().setMarkdown(prepared.markdown, FEATURES)
            cursor.movePosition(QTextCursor.MoveOperation.End)
            self._stream = [boundary, cursor.position(), ""]  # source chars kept, doc position, tail shown
        kept, position, tail = self._stream
        boundary = stable_boundary(text)
        if boundary > kept:  # another paragraph finished: replace the plain tail by its Markdown
            cursor.setPosition(position)
            cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
            prepared = prepare(text[kept:boundary], first_index=len(self.code_blocks))
            self.code_blocks += prepared.code_blocks
            cursor.insertBlock()
            cursor.insertMarkdown(prepared.markdown, FEATURES)
            cursor.movePosition(QTextCursor.MoveOperation.End)
            kept, position, tail = boundary, cursor.position(), ""
        new_tail = text[kept:]
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if new_tail.startswith(tail):
            cursor.insertText(new_tail[len(tail):], self._plain_format())
        else:
            cursor.setPosition(position)
            cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
            cursor.insertText(new_tail, self._plain_format())
        self._stream = [kept, position, new_tail]
        self.source_text = text
        self._partial = True

    def _plain_format(self) -> QTextCharFormat:
        fmt = QTextCharFormat()
        if self.source_text.count("```") % 2:  # inside a code block: look like code already
            fmt.setFontFamilies(["monospace"])
        return fmt

    def set_plain(self, text: str) -> None:
        self._stream = None
        self._partial = False
        self.source_text = text
        self.code_blocks = []
        self.setPlainText(text)
        self._fit_height()

    def loadResource(self, kind: int, url: QUrl | str) -> object:  # noqa: N802 - Qt override
        """Never load anything a model's text points at."""
        self.blocked_resources.append(url.toString() if isinstance(url, QUrl) else str(url))
        placeholder = QImage(QSize(16, 16), QImage.Format.Format_ARGB32)
        placeholder.fill(QColor("#d0d7de"))
        return placeholder

    def _fit_height(self, *_: object) -> None:
        doc = self.document()
        width = self.viewport().width() or 600
        if doc.textWidth() != width:  # setting it re-lays out the whole document: only when it changed
            doc.setTextWidth(width)
        height = int(doc.size().height()) + 4
        if self.horizontalScrollBar().maximum() > 0:
            height += self.horizontalScrollBar().sizeHint().height()
        if self.height() != height:
            self.setFixedHeight(height)

    def resizeEvent(self, event: object) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._fit_height()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(400, self.height())

    def _on_self_anchor_clicked(self, url: QUrl) -> None:
        target = url.toString()
        if url.scheme() == COPY_SCHEME:
            index = int(url.path() or 0)
            if 0 <= index < len(self.code_blocks):
                QGuiApplication.clipboard().setText(self.code_blocks[index])
            return
        if not safe_link(target):
            self.refused_links.append(target)
            QToolTip.showText(QCursor.pos(), f"Inkling only opens web links; this one was not opened:\n{target}", self)
            return
        if self.confirm_link(target):
            self.opened_links.append(target)
            QDesktopServices.openUrl(url)

    def _ask_to_open(self, target: str) -> bool:
        answer = QMessageBox.question(self, "Open link?", f"Open this link in your browser?\n\n{target}")
        return answer == QMessageBox.StandardButton.Yes
