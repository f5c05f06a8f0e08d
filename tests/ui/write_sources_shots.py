"""Screenshots of Write's sources sidebar showing passages, at 1280×800 and 800×500 (not a test).

    Xvfb :77 -screen 0 1280x800x24 &  DISPLAY=:77 python tests/ui/write_sources_shots.py OUT_DIR

A small collection is indexed from notes written here; the model is not loaded (nothing is generated).
At 800×500 the sidebar is folded; the shot is taken after its toolbar toggle opened it, and one before.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["INKLING_HOME"] = tempfile.mkdtemp(prefix="inkling-shots-")

from PySide6.QtWidgets import QApplication
from source_files import index_folder

from app.core.paths import app_paths
from app.main import create_main_window

NOTES = {
    "lighthouse.md": "The keeper climbs the stairs\nand lights the lamp at dusk.\n\nHe writes the log by its light.\n",
    "storms.md": "In the winter storms the lamp must burn all night; the keeper trims the wick every hour.\n",
    "supply.txt": "The supply boat comes on Thursdays with oil for the lamp, bread and letters.\n",
    "birds.md": "Gulls nest on the rocks below the tower from April.\n",
}
TEXT = ("Chapter one\n\nThe island was quiet in the evening.\n\n"
        "At dusk the old keeper went up the stairs to light the lamp, as he had every night.")


def settle(seconds: float = 0.8) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.01)


def main(out: Path) -> None:
    docs = Path(os.environ["INKLING_HOME"]) / "notes"
    docs.mkdir()
    for name, text in NOTES.items():
        (docs / name).write_text(text)
    index_folder(app_paths().ensure().sources, "island notes", docs)
    app = QApplication.instance() or QApplication(sys.argv)
    window = create_main_window(load_model=False)
    window.resize(1280, 800)
    window.show()
    write = window.write
    window.tabs.setCurrentWidget(write)
    write.sources_sidebar.reload_collections()
    write.editor.setPlainText(TEXT)
    write.editor.moveCursor(write.editor.textCursor().MoveOperation.End)
    write.editor.setFocus()
    settle()
    write.sources_sidebar.add_to_memory()
    settle()
    for size in ((1280, 800), (800, 500)):
        window.resize(*size)
        settle()
        name = f"write-sources-{size[0]}x{size[1]}"
        if not write.sources_toggle.isChecked():
            os.system(f"import -window root {out / (name + '-folded.png')}")
            write.sources_toggle.click()
            settle()
        os.system(f"import -window root {out / (name + '.png')}")
    window.close()
    app.processEvents()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
