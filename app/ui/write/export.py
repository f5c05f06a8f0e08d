"""Export a document for writers: Markdown, plain text, HTML, ODT and PDF through Qt's own writers.

The document's text is Markdown (headings with #, *emphasis*, lists with -): Qt reads
it into a QTextDocument, and QTextDocumentWriter (HTML, ODF) or QPdfWriter lays it out.
No other library is needed, and the files open in LibreOffice and any browser.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMarginsF
from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument, QTextDocumentWriter

FORMATS: dict[str, str] = {
    ".md": "Markdown (*.md)",
    ".txt": "Plain text (*.txt)",
    ".html": "Web page (*.html)",
    ".odt": "OpenDocument text (*.odt)",
    ".pdf": "PDF (*.pdf)",
}


def file_filter() -> str:
    """The save dialog's filter string, one entry per format."""
    return ";;".join(FORMATS.values())


def rich_document(markdown: str, title: str = "") -> QTextDocument:
    doc = QTextDocument()
    doc.setMarkdown(markdown)
    if title:
        doc.setMetaInformation(QTextDocument.MetaInformation.DocumentTitle, title)
    return doc


def export_document(markdown: str, path: Path, title: str = "") -> None:
    """Write ``markdown`` to ``path`` in the format its suffix names; raises OSError when it cannot."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise OSError(f"unknown export format {suffix or '(none)'}: use one of {', '.join(FORMATS)}")
    if suffix == ".md":
        path.write_text(markdown if markdown.endswith("\n") else markdown + "\n", encoding="utf-8")
        return
    doc = rich_document(markdown, title)
    if suffix == ".txt":
        path.write_text(doc.toPlainText() + "\n", encoding="utf-8")
    elif suffix == ".html":
        path.write_text(doc.toHtml(), encoding="utf-8")
    elif suffix == ".odt":
        writer = QTextDocumentWriter(str(path), b"ODF")
        if not writer.write(doc):
            raise OSError(f"Qt could not write {path} ({writer.device().errorString() if writer.device() else 'no file'})")
    else:
        pdf = QPdfWriter(str(path))
        pdf.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        pdf.setPageMargins(QMarginsF(20, 20, 20, 20), QPageLayout.Unit.Millimeter)
        pdf.setTitle(title)
        doc.print_(pdf)
        if not path.exists() or path.stat().st_size == 0:
            raise OSError(f"Qt could not write {path}")
