"""A real Inkling window where someone types into the Write pane without pausing.

Run by test_durability.py, which SIGKILLs it. Prints ``TYPED <unix time> <json text>``.
"""

from __future__ import annotations

import json
import sys
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def main() -> None:
    from app.main import create_main_window

    app = QApplication(sys.argv)
    window = create_main_window(load_model=False)
    window.show()
    pane = window.write  # type: ignore[attr-defined]
    window.tabs.setCurrentWidget(pane)
    words = iter(f"word{i} " for i in range(100_000))

    def type_some() -> None:
        pane.editor.insertPlainText(next(words))
        print("TYPED", time.time(), json.dumps(pane.editor.content()), flush=True)

    timer = QTimer()
    timer.timeout.connect(type_some)
    timer.start(40)
    app.exec()


if __name__ == "__main__":
    main()
