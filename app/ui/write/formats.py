"""The export formats the Write pane offers, by file suffix, in words.

Apart from the pane so that the window's File ▸ Export document menu can list them
before the pane is built.
"""

from __future__ import annotations

EXPORT_NAMES = {".md": "Markdown", ".txt": "plain text", ".html": "HTML", ".odt": "ODT", ".pdf": "PDF"}
