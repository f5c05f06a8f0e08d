"""The one error presenter: a non-blocking notice bar at the top of the window.

Typed InklingErrors show their own title and message; anything else is an
unexpected error with its type, logged with its traceback. ``sys.excepthook`` and
``threading.excepthook`` are routed here, so nothing fails silently and no error
kills the window.
"""

from __future__ import annotations

import html
import logging
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QWidget

from app.core.errors import InklingError, Interrupted

log = logging.getLogger("inkling")
NOTICE_MAX_HEIGHT = 96  # px: about five lines


class NoticeBar(QFrame):
    """A dismissible message with an optional action button, shown at the top of the window."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action = QPushButton()
        self.action.hide()
        close = QPushButton("✕")
        close.setFlat(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        # a long message in a small window scrolls inside the bar instead of pushing the pane off the screen
        scroll = QScrollArea()
        scroll.setObjectName("noticeScroll")
        scroll.setWidget(self.label)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMaximumHeight(NOTICE_MAX_HEIGHT)
        scroll.setSizeAdjustPolicy(QScrollArea.SizeAdjustPolicy.AdjustToContents)
        scroll.viewport().setAutoFillBackground(False)
        self.label.setAutoFillBackground(False)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.action)
        layout.addWidget(close)
        self._callback: Callable[[], None] | None = None
        self.topic = ""  # what the message shown is about ("" for anything)
        self.action.clicked.connect(self._on_action_clicked)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_message(self, text: str, *, level: str = "error", action: str = "",
                     callback: Callable[[], None] | None = None, timeout_ms: int = 0, topic: str = "") -> None:
        """Show ``text``; a ``topic`` (e.g. "model") lets ``clear`` take it away when its problem is gone."""
        self.topic = topic
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self.label.setText(text)
        self._callback = callback
        self.action.setText(action)
        self.action.setVisible(bool(action and callback))
        self.show()
        if timeout_ms:
            self._timer.start(timeout_ms)
        else:
            self._timer.stop()

    def clear(self, topic: str) -> None:
        """The problem behind the message about ``topic`` is gone: hide it (a message about anything else stays)."""
        if self.topic == topic:
            self.hide()

    def _on_action_clicked(self) -> None:
        callback = self._callback
        self.hide()
        if callback is not None:
            callback()


class ErrorPresenter(QObject):
    """Shows errors in a NoticeBar; safe to call from any thread."""

    error_reported = Signal(object)
    """An error reached the presenter (any thread); shown on the GUI thread."""

    def __init__(self, bar: NoticeBar) -> None:
        super().__init__(bar)
        self.bar = bar
        self.shown: list[str] = []
        self.error_reported.connect(self._on_self_error_reported)

    def present(self, exc: BaseException) -> None:
        self.error_reported.emit(exc)

    def _on_self_error_reported(self, exc: BaseException) -> None:
        if isinstance(exc, Interrupted):
            return
        if isinstance(exc, InklingError):
            text = f"<b>{exc.title}.</b> {html.escape(str(exc))}"
            log.warning("%s: %s", exc.title, exc)
        else:
            text = f"<b>Unexpected error.</b> {html.escape(type(exc).__name__ + ': ' + str(exc))} (details in the log)"
            log.error("unexpected error", exc_info=(type(exc), exc, exc.__traceback__))
        self.shown.append(text)
        self.bar.show_message(text)

    def install_hooks(self) -> None:
        """Route uncaught exceptions from any thread here instead of killing the app."""

        def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
            if issubclass(kind, KeyboardInterrupt):
                sys.__excepthook__(kind, exc, tb)
                return
            traceback.print_exception(kind, exc, tb)
            self.present(exc)

        sys.excepthook = hook
        threading.excepthook = lambda args: hook(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)
