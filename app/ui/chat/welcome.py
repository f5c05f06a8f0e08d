"""The first-run welcome at the top of the Chat pane: what Inkling is and where to start."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from app.core.storage import Storage
from app.ui.flow_layout import flow_row

TEXT = (
    "<h3>Welcome to Inkling</h3>"
    "<p>Chat and write with a language model that runs on this computer. Nothing you type leaves it: "
    "no account, no cloud, no network needed.</p>"
    "<p>Inkling comes with a small <b>starter model</b> (SmolLM2 135M), so you can type below right away. "
    "It is quick but not very clever; a bigger model answers much better.</p>"
)


def is_first_run(storage: Storage) -> bool:
    """Nothing has been said yet in any chat."""
    return not any(storage.messages(c.id) for c in storage.conversations())


class WelcomePanel(QFrame):
    """Shown until the first message is sent or the user closes it."""

    models_requested = Signal()
    open_file_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomePanel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.text = text = QLabel(TEXT)
        text.setWordWrap(True)
        text.setObjectName("welcomeText")
        self.models_button = QPushButton("Get a bigger model")
        self.models_button.setObjectName("welcomeModelsButton")
        self.models_button.setToolTip("Find and download GGUF models in the Models pane")
        self.open_button = QPushButton("Open a GGUF file…")
        self.open_button.setObjectName("welcomeOpenButton")
        self.open_button.setToolTip("Use a model file you already have")
        self.close_button = QPushButton("Got it")
        self.close_button.setObjectName("welcomeCloseButton")
        row = flow_row(self.models_button, self.open_button, self.close_button)  # wraps in a narrow window
        # in a short window the welcome scrolls instead of being cut mid-line (the window can stay 500 px high)
        self.inner = QWidget()
        layout = QVBoxLayout(self.inner)
        layout.addWidget(text)
        layout.addWidget(row)
        self.scroll = QScrollArea()
        self.scroll.setObjectName("welcomeScroll")
        self.scroll.setWidget(self.inner)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(1, 1, 1, 1)
        outer.addWidget(self.scroll)
        self._width = -1
        self.models_button.clicked.connect(self.models_requested)
        self.open_button.clicked.connect(self.open_file_requested)
        self.close_button.clicked.connect(self.hide)

    def _whole_height(self) -> int:
        width = self.scroll.viewport().width() if self.width() > 0 else self.inner.sizeHint().width()
        return self.inner.heightForWidth(width) + 2 * self.frameWidth() + 2

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """Tall enough for the whole text at the current width; it scrolls only when the window is short."""
        return QSize(self.inner.sizeHint().width(), self._whole_height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(self.inner.minimumSizeHint().width(), min(self._whole_height(), 4 * self.fontMetrics().lineSpacing()))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self.width() != self._width:  # the text wraps differently: the layout asks the height again
            self._width = self.width()
            self.updateGeometry()


def install_welcome(chat: QWidget, storage: Storage) -> WelcomePanel | None:
    """Put the welcome above the chat transcript on a first run; it hides once a reply has come."""
    if not is_first_run(storage):
        return None
    transcript: QWidget = chat.transcript  # type: ignore[attr-defined]
    holder = transcript.parentWidget()
    layout = holder.layout() if holder is not None else None
    index = layout.indexOf(transcript) if layout is not None else -1
    if index < 0:
        return None
    panel = WelcomePanel(holder)
    layout.insertWidget(index, panel)  # type: ignore[union-attr]
    chat.reply_finished.connect(lambda *_: panel.hide())  # type: ignore[attr-defined]
    return panel
