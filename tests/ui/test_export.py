"""Exported documents read back as the same text (ODT via odt2txt, PDF via pdftotext)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app.ui.write.export import export_document

DOC = """# The Keeper

He climbed the tower *every* night and wrote in the **log**.

## What he kept

- a lamp
- a kettle
- the sea charts

The end.
"""
WORDS = ["The", "Keeper", "He", "climbed", "the", "tower", "every", "night", "and", "wrote", "in", "the", "log.",
         "What", "he", "kept", "a", "lamp", "a", "kettle", "the", "sea", "charts", "The", "end."]


def words(text: str) -> list[str]:
    return [w for w in re.split(r"\s+", text) if w and w not in {"•", "-", "●", "◦", "▪"}]


def run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout


@pytest.mark.skipif(shutil.which("odt2txt") is None, reason="odt2txt is not installed")
def test_odt_export_reads_back_as_the_document(qapp, tmp_path: Path) -> None:
    path = tmp_path / "keeper.odt"
    export_document(DOC, path, "The Keeper")
    assert words(run("odt2txt", str(path))) == WORDS


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext is not installed")
def test_pdf_export_reads_back_as_the_document(qapp, tmp_path: Path) -> None:
    path = tmp_path / "keeper.pdf"
    export_document(DOC, path, "The Keeper")
    assert path.read_bytes().startswith(b"%PDF")
    text = run("pdftotext", "-layout", str(path), "-")
    text = re.sub(r"^\s*\d+\s*$", "", text, flags=re.M)  # Qt numbers the pages
    assert words(text) == WORDS


def test_markdown_plain_text_and_html_exports(qapp, tmp_path: Path) -> None:
    export_document(DOC, tmp_path / "a.md")
    assert (tmp_path / "a.md").read_text(encoding="utf-8") == DOC
    export_document(DOC, tmp_path / "a.txt")
    assert words((tmp_path / "a.txt").read_text(encoding="utf-8")) == WORDS  # no # or * left
    export_document(DOC, tmp_path / "a.html", "The Keeper")
    html = (tmp_path / "a.html").read_text(encoding="utf-8")
    assert "<h1" in html and "<li" in html and "italic" in html and "<title>The Keeper</title>" in html


def test_an_unknown_format_is_a_clear_error(qapp, tmp_path: Path) -> None:
    with pytest.raises(OSError, match="unknown export format"):
        export_document(DOC, tmp_path / "a.docx")
