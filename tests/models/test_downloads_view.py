"""The downloads table: a row's Pause / Resume asks for what it offers, whatever its words have become."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app.models.downloads import Download
from app.ui.models.downloads_view import DownloadsView


def test_the_toggle_asks_for_what_it_offers_even_when_its_words_change(qtbot) -> None:
    view = DownloadsView()
    qtbot.addWidget(view)
    asked: list[tuple[int, str]] = []
    view.action_requested.connect(lambda i, action: asked.append((i, action)))
    download = Download(7, "owner/repo", "model.gguf", "main", 1000, "0" * 64, "/nowhere/model.gguf",
                        downloaded=250, status="downloading", speed=100.0)
    view.update_download(download)
    toggle = view.findChild(QPushButton, "downloadToggle7")
    assert toggle is not None and toggle.text() == "Pause"
    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)
    download.status = "paused"
    view.update_download(download)
    assert toggle.text() == "Resume"
    toggle.setText("&Resume")  # a platform theme that adds accelerators (KDE's does) rewrites a button's words
    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)
    download.status = "failed"
    view.update_download(download)
    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)  # a failed download is resumed too
    assert asked == [(7, "pause"), (7, "resume"), (7, "resume")]
