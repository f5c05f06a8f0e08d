"""A read-only Markdown view for untrusted model text.

- Raw HTML is not interpreted (``MarkdownNoHTML``): ``<script>`` shows as text.
- No resource is ever loaded: images (remote or ``file://``) become a placeholder.
- Links open only on a click, only for http(s), and only after the user confirms.
- Fenced code is a card: its language, a "Copy" link, monospace highlighted lines.
- Single newlines of the model's text stay line breaks.
- No text can freeze the window: the text is cut into blocks (``app.core.markdown``)
  and rendered block by block within a shared time budget per event-loop turn;
  blocks too big for Qt's Markdown renderer are shown as plain text.
- The widget grows to its content, so a transcript is one scrolling column.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QObject, QRegularExpression, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QCursor,
    QDesktopServices,
    QFont,
    QGuiApplication,
    QImage,
    QSyntaxHighlighter,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import QFrame, QMessageBox, QSizePolicy, QTextBrowser, QToolTip, QWidget

from app.core.markdown import (
    COPY_SCHEME,
    MARKDOWN_MAX_CHARS,
    Block,
    BlockSplitter,
    cut_long_lines,
    fits_markdown,
    keep_line_breaks,
    safe_link,
)

INCREMENTAL_FROM = 4000  # characters: a reply longer than this gets its final render a turn after it ends
PIECE = 4000  # characters of plain text or code appended per step (~4 ms of layout here)
TURN_BUDGET_S = 0.010  # rendering time shared by all views per event-loop turn

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


class _Scheduler(QObject):
    """One time budget per event-loop turn, shared by every view that still has text to render.

    A view asks for work; the first views render at once while the turn's budget
    lasts, the rest continue on the next turns (a zero timer runs once per turn,
    after input and paint events), so rendering never holds a frame for long.
    """

    def __init__(self) -> None:
        super().__init__()
        self._views: list[MarkdownView] = []
        self._spent = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._on_timer_timeout)

    def request(self, view: MarkdownView) -> None:
        if view not in self._views:
            self._views.append(view)
        self._run()
        self._timer.start()  # also starts the next turn's budget afresh

    def _on_timer_timeout(self) -> None:
        self._spent = 0.0
        self._run()
        if self._views:
            self._timer.start()

    def _run(self) -> None:
        started = time.perf_counter()
        while self._views and self._spent + time.perf_counter() - started < TURN_BUDGET_S:
            view = self._views[0]
            # a view not on screen yet waits (its showEvent asks again): its width is not known, and
            # laying its text out at a guessed width would only have to be done again
            if not shiboken6.isValid(view) or not view.isVisible() or not view.render_step():
                self._views.pop(0)
        self._spent += time.perf_counter() - started


_scheduler: _Scheduler | None = None


def _schedule(view: MarkdownView) -> None:
    global _scheduler
    if _scheduler is None or not shiboken6.isValid(_scheduler):
        _scheduler = _Scheduler()
    _scheduler.request(view)


@dataclass
class _Shown:
    """A block as the document shows it: from ``position``; ``chars`` of its display text so far."""

    index: int
    position: int
    final: bool = False
    plain: bool = True
    chars: int = 0
    column: int = 0


class MarkdownView(QTextBrowser):
    """Renders one message's Markdown safely, in bounded steps, and sizes itself to fit."""

    citation_clicked = Signal(int)
    """A ``cite:n`` link (a reply's ``[n]`` citing a source passage) was clicked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)  # long code lines scroll
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.viewport().setAutoFillBackground(False)  # the bubble shows through, until paint_background
        self.document().setUndoRedoEnabled(False)  # read-only: an undo history would only cost time and memory
        self.blocked_resources: list[str] = []
        self.opened_links: list[str] = []
        self.refused_links: list[str] = []
        self.code_blocks: list[str] = []
        self.source_text = ""
        self._splitter = BlockSplitter()
        self._shown: list[_Shown] = []
        self._plain_mode = False
        # the growing last line that no block holds yet, shown as plain text until its line ends
        self._tail_pos = -1  # where it starts in the document (-1: none shown)
        self._tail_for = ""  # the source text it was shown for
        self._tail_end = 0  # where it ends in the source text
        self.confirm_link: Callable[[str], bool] = self._ask_to_open
        self._highlighter = CodeHighlighter(self.document())
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self.anchorClicked.connect(self._on_self_anchor_clicked)

    def paint_background(self, color: QColor) -> None:
        """Fill the text's background with ``color`` (its bubble's) instead of showing what lies under it.

        An opaque view is repainted alone as a reply streams in; a see-through one made Qt paint the
        bubble, the transcript's column and its viewport under it first, at every render.
        """
        viewport = self.viewport()
        palette = viewport.palette()
        palette.setColor(viewport.backgroundRole(), color)
        viewport.setPalette(palette)
        viewport.setAutoFillBackground(True)

    @property
    def rendered(self) -> bool:
        """The text is final and all of it is on screen."""
        blocks = self._splitter.blocks
        return self._splitter.finished and len(self._shown) == len(blocks) and all(s.final for s in self._shown)

    def set_markdown_text(self, text: str) -> None:
        """Show a finished message (rendered now, or over the next turns if it is long)."""
        if text == self.source_text and self._splitter.finished and not self._plain_mode:
            return
        self._take(text, plain=False)
        self._splitter.finish(text)
        _schedule(self)

    def set_streaming_text(self, text: str) -> None:
        """Show a reply that is still growing; each step costs what the new text costs."""
        self._take(text, plain=False)
        _schedule(self)

    def set_plain(self, text: str) -> None:
        """Show text as it is, never as Markdown (a person's own message)."""
        if text == self.source_text and self._plain_mode:
            return
        self._restart(plain=True)
        self.source_text = text
        self._splitter.blocks.append(Block("plain", 0, len(text), complete=True))
        self._splitter.finished = True
        _schedule(self)

    def _take(self, text: str, plain: bool) -> None:
        """Bring the splitter up to ``text``; drop what is shown of blocks that changed."""
        if plain != self._plain_mode or not text.startswith(self.source_text):
            self._restart(plain)
        elif self._splitter.finished and text != self.source_text:  # a finished reply grows again (Continue)
            old = self._splitter.blocks
            self._splitter = BlockSplitter()
            self._splitter.feed(text)
            new = self._splitter.blocks
            keep = 0
            for shown in self._shown:
                i = shown.index
                if not shown.final or i >= len(new) or not new[i].complete or _key(new[i]) != _key(old[i]):
                    break
                keep += 1
            self._clear_from(keep)
        self.source_text = text
        self._splitter.feed(text)

    def _restart(self, plain: bool) -> None:
        self._plain_mode = plain
        self._tail_pos = -1
        self._splitter = BlockSplitter()
        self._shown = []
        self.code_blocks = []
        self.source_text = ""
        self.document().clear()

    def _clear_from(self, keep: int) -> None:
        """Take blocks ``keep`` and after off the document."""
        if keep < len(self._shown):
            self._cut_from(self._shown[keep].position)  # the tail, if shown, came after them
            del self._shown[keep:]
            blocks = self._splitter.blocks
            self.code_blocks = self.code_blocks[: sum(1 for s in self._shown if blocks[s.index].kind == "code")]

    def _end_cursor(self) -> QTextCursor:
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        return cursor

    @property
    def shown_end(self) -> int:
        """How many characters of ``source_text`` the document shows now (a person sees them once painted)."""
        if self._tail_pos >= 0:
            return self._tail_end
        if not self._shown:
            return 0
        shown = self._shown[-1]
        block = self._splitter.blocks[shown.index]
        return block.end if shown.final else block.start + shown.chars

    def render_step(self) -> bool:
        """Do one bounded piece of rendering; False when nothing is left to do for now.

        One edit block for the whole step: redrawing the growing paragraph takes it off and puts it
        back, and laid out between the two the view shrank and grew again, which re-laid out the
        bubble and the transcript around it twice at every render of a streaming reply.
        """
        cursor = QTextCursor(self.document())
        cursor.beginEditBlock()
        try:
            return self._step()
        finally:
            cursor.endEditBlock()

    def _step(self) -> bool:
        if self._tail_pos >= 0:
            if self._tail_for is self.source_text and not self._splitter.finished:
                return False  # nothing new since the tail was shown (blocks were all done then)
            self._remove_tail()
        if self._render_block():
            return True
        return self._show_tail()

    def _tail(self) -> str:
        """The end of a reply still streaming that no block holds yet: a first line, or a new paragraph's.

        The splitter reads whole lines only, so without this a one-line reply would show nothing until it
        ended, and each new paragraph would appear only once its line was complete.
        """
        splitter, text = self._splitter, self.source_text
        if splitter.finished or splitter.fed >= len(text):
            return ""
        last = splitter.blocks[-1] if splitter.blocks else None
        if last is not None and not last.complete and (last.kind == "code" or last.end >= len(text)):
            return ""  # the open block shows it (or, in code, it may be the closing fence)
        return text[splitter.fed: splitter.fed + PIECE]

    def _show_tail(self) -> bool:
        tail = self._tail()
        if not tail:
            return False
        cursor = self._end_cursor()
        self._tail_pos, self._tail_for = cursor.position(), self.source_text
        self._tail_end = self._splitter.fed + len(tail)
        if self._shown:
            cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
        self._append(_Shown(-1, cursor.position()), tail, code=False)
        return True

    def _remove_tail(self) -> None:
        self._cut_from(self._tail_pos)

    def _cut_from(self, position: int) -> None:
        """Take everything from ``position`` to the end off the document (a shown tail with it)."""
        cursor = QTextCursor(self.document())
        cursor.setPosition(position)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        self._tail_pos = -1

    def _render_block(self) -> bool:
        """Render the next piece of the blocks; False when they are all shown as far as they go."""
        blocks = self._splitter.blocks
        if self._shown and not self._shown[-1].final:
            shown = self._shown[-1]
        elif len(self._shown) < len(blocks):
            shown = self._open(len(self._shown))
        else:
            return False
        block = blocks[shown.index]
        size = block.end - block.start
        if block.kind == "text" and size <= MARKDOWN_MAX_CHARS:
            source = self.source_text[block.start:block.end]
            if fits_markdown(source):
                changed = shown.plain or shown.chars != len(source)
                if changed:
                    self._clear_from(len(self._shown) - 1)
                    shown = self._open(shown.index)
                    shown.plain, shown.chars = False, len(source)
                    self._end_cursor().insertMarkdown(keep_line_breaks(source), FEATURES)
                shown.final = block.complete
                return changed or shown.final
        if not shown.plain:  # it outgrew the Markdown budget: show it as plain text from its start
            self._clear_from(len(self._shown) - 1)
            shown = self._open(shown.index)
        end = block.end - 1 if block.end > block.start and self.source_text[block.end - 1] == "\n" else block.end
        if block.start + shown.chars < end:
            piece = self.source_text[block.start + shown.chars: min(end, block.start + shown.chars + PIECE)]
            self._append(shown, piece, code=block.kind == "code")
            if block.kind == "code":
                self.code_blocks[-1] = self.source_text[block.start: block.start + shown.chars]
            return True
        if block.complete:
            shown.final = True
            return True
        return False

    def _open(self, index: int) -> _Shown:
        """Start showing block ``index`` at the end of the document."""
        cursor = self._end_cursor()
        shown = _Shown(index, cursor.position())
        self._shown.append(shown)
        if index:
            cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
        block = self._splitter.blocks[index]
        if block.kind == "code":
            self._insert_code_header(cursor, block.language or "code", len(self.code_blocks))
            self.code_blocks.append("")
        return shown

    def _append(self, shown: _Shown, text: str, code: bool) -> None:
        cursor = self._end_cursor()
        pieces, shown.column = cut_long_lines(text, shown.column)
        block_format, char_format = _code_formats() if code else (QTextBlockFormat(), QTextCharFormat())
        cursor.beginEditBlock()  # one layout pass for the whole piece, not one per line
        if code and shown.chars == 0:
            cursor.insertBlock(block_format, char_format)
        for i, piece in enumerate(pieces):
            if i:
                cursor.insertBlock(block_format, char_format)
            if piece:
                cursor.insertText(piece, char_format)
        cursor.endEditBlock()
        shown.chars += len(text)

    def _insert_code_header(self, cursor: QTextCursor, language: str, index: int) -> None:
        block_format = QTextBlockFormat()
        block_format.setBackground(QColor("#e6eaef"))
        block_format.setTopMargin(4)
        block_format.setLeftMargin(0)
        label = QTextCharFormat()
        label.setForeground(QColor("#57606a"))
        label.setFontPointSize(max(7.0, self.font().pointSizeF() - 1))
        cursor.setBlockFormat(block_format)
        cursor.insertText(f" {language}    ", label)
        link = QTextCharFormat(label)
        link.setAnchor(True)
        link.setAnchorHref(f"{COPY_SCHEME}:{index}")
        link.setForeground(QColor("#0969da"))
        cursor.insertText("Copy", link)  # words: "⧉" is a missing-glyph box in common fonts
        cursor.insertText(" ", label)

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

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)  # type: ignore[arg-type]
        if not self.rendered:
            _schedule(self)

    def resizeEvent(self, event: object) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._fit_height()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(400, self.height())

    def _on_self_anchor_clicked(self, url: QUrl) -> None:
        target = url.toString()
        if url.scheme() == "cite":
            if url.path().isdigit():
                self.citation_clicked.emit(int(url.path()))
            return
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


def _key(block: Block) -> tuple[str, int, int, str, bool]:
    return block.kind, block.start, block.end, block.language, block.complete


def _code_formats() -> tuple[QTextBlockFormat, QTextCharFormat]:
    """A code line: a grey band (the card), no wrapping, monospace, marked for the highlighter."""
    block_format = QTextBlockFormat()
    block_format.setBackground(QColor("#f6f8fa"))
    block_format.setNonBreakableLines(True)
    block_format.setProperty(QTextFormat.Property.BlockCodeFence, "`")
    char_format = QTextCharFormat()
    char_format.setFontFamilies(["monospace"])
    char_format.setFontFixedPitch(True)
    return block_format, char_format
