"""Write ▸ Export: the window's File ▸ Export document menu and the pane's Export menu write every format,
and an ODT and a PDF of a document with headings, emphasis and a list read back as its text."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QMenu

DOC = """# The Keeper

He climbed the tower *every* night and wrote in the **log**.

## What he kept

- a lamp
- a kettle
- the sea charts

The end."""
WORDS = ["The", "Keeper", "He", "climbed", "the", "tower", "every", "night", "and", "wrote", "in", "the", "log.",
         "What", "he", "kept", "a", "lamp", "a", "kettle", "the", "sea", "charts", "The", "end."]


@pytest.fixture
def window(fake_engine_window):
    return fake_engine_window


def words(text: str) -> list[str]:
    return [w for w in re.split(r"\s+", text) if w and w not in {"•", "-", "●", "◦", "▪"}]


def read_back(path: Path) -> list[str]:
    if path.suffix == ".odt":
        text = subprocess.run(["odt2txt", str(path)], check=True, capture_output=True, text=True, timeout=60).stdout
    else:
        text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True,
                              timeout=60).stdout
        text = re.sub(r"^\s*\d+\s*$", "", text, flags=re.M)  # Qt numbers the pages
    return words(text)


def _file_menu_export(window, label: str):
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    export = next(a.menu() for a in file_menu.actions() if a.text() == "Export document")
    return next(a for a in export.actions() if a.text().startswith(label))


def _answer_save_dialog(monkeypatch: pytest.MonkeyPatch, path: Path) -> list[str]:
    asked: list[str] = []

    def fake_dialog(_parent, caption, _start, kind):
        asked.append(f"{caption} | {kind}")
        return str(path), kind

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_dialog))
    return asked


@pytest.mark.skipif(not (shutil.which("odt2txt") and shutil.which("pdftotext")), reason="odt2txt/pdftotext missing")
@pytest.mark.parametrize(("label", "suffix"), [("as ODT", ".odt"), ("as PDF", ".pdf")])
def test_file_export_document_writes_a_file_that_reads_back_as_the_document(qtbot, window, tmp_path, monkeypatch,
                                                                           label, suffix) -> None:
    pane = window.write
    pane.editor.setPlainText(DOC)
    pane.rename_document("The Keeper")
    target = tmp_path / f"keeper{suffix}"
    asked = _answer_save_dialog(monkeypatch, target)
    _file_menu_export(window, label).trigger()
    assert asked and asked[0].startswith(f"Export as {label[3:]}")
    assert window.tabs.currentWidget() is pane
    assert target.stat().st_size > 0
    assert read_back(target) == WORDS


def test_the_panes_export_menu_offers_all_five_formats_and_writes_each(qtbot, window, tmp_path, monkeypatch) -> None:
    pane = window.write
    pane.editor.setPlainText(DOC)
    pane.rename_document("The Keeper")
    menu: QMenu = pane.export_button.menu()
    labels = [a.text() for a in menu.actions()]
    assert labels == ["Export as Markdown (.md)…", "Export as plain text (.txt)…", "Export as HTML (.html)…",
                      "Export as ODT (.odt)…", "Export as PDF (.pdf)…"]
    for action, suffix in zip(menu.actions(), (".md", ".txt", ".html", ".odt", ".pdf"), strict=True):
        target = tmp_path / f"doc{suffix}"
        _answer_save_dialog(monkeypatch, target)
        action.trigger()
        assert target.stat().st_size > 0, suffix
    assert (tmp_path / "doc.md").read_text(encoding="utf-8") == DOC  # it has its own heading: none added
    html = (tmp_path / "doc.html").read_text(encoding="utf-8")
    assert "<h1" in html and "<li" in html and "<title>The Keeper</title>" in html
    assert (tmp_path / "doc.pdf").read_bytes().startswith(b"%PDF")


def test_a_failed_export_says_so_and_loses_nothing(qtbot, window, tmp_path, monkeypatch) -> None:
    pane = window.write
    pane.editor.setPlainText(DOC)
    messages: list[str] = []
    pane.status_message.connect(messages.append)
    assert not pane.export_to(tmp_path / "no-such-folder" / "doc.odt")
    assert messages and messages[-1].startswith("Could not export")
    assert pane.editor.content() == DOC
