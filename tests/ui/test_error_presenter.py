"""The one error presenter shows an error's words as text: markup in a message (a file name) is not rendered."""

from __future__ import annotations

from PySide6.QtGui import QTextDocumentFragment

from app.core.errors import InklingError
from app.ui.errors import ErrorPresenter, NoticeBar


def test_markup_in_an_error_message_is_shown_as_written(qtbot) -> None:
    bar = NoticeBar()
    qtbot.addWidget(bar)
    presenter = ErrorPresenter(bar)
    written = 'Could not read <b>Tom & Jerry\'s "notes"</b>.gguf <img src="http://example.com/x.png">'
    presenter.present(InklingError(written))
    qtbot.waitUntil(bar.isVisible, timeout=5_000)
    shown = QTextDocumentFragment.fromHtml(bar.label.text()).toPlainText()
    assert written in shown, shown
    presenter.present(ValueError("x < y & y > z"))  # an unexpected error's words too
    qtbot.waitUntil(lambda: "x < y & y > z" in QTextDocumentFragment.fromHtml(bar.label.text()).toPlainText(),
                    timeout=5_000)
