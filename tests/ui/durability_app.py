"""A real Inkling window that streams a reply while 'typing', printing what it shows.

Run by test_durability.py, which SIGKILLs it mid-stream. Each line printed is
``<kind> <unix time> <json text>`` so the test knows what was on screen when.
The long reply is forced (max tokens plus the logit bias in INKLING_TEST_BIAS,
against every end-of-generation token): it streams until killed on any CPU.
"""

from __future__ import annotations

import json
import os
import sys
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def main() -> None:
    from app.core.sampling import SamplingSettings
    from app.main import create_main_window

    app = QApplication(sys.argv)
    window = create_main_window()
    window.show()
    chat = window.chat
    state = {"phase": "first"}

    def report() -> None:
        now = time.time()
        if chat.reply is not None:
            print("STREAM", now, json.dumps(chat.reply.text), flush=True)
        if state["phase"] == "long":
            chat.composer.insertPlainText("typing ")
            print("DRAFT", now, json.dumps(chat.composer.toPlainText()), flush=True)

    def on_finished(fin: object) -> None:
        if state["phase"] == "first":
            print("FIRST", time.time(), json.dumps(fin.text), flush=True)  # type: ignore[attr-defined]
            state["phase"] = "long"
            bias = tuple((int(t), float(b)) for t, b in json.loads(os.environ["INKLING_TEST_BIAS"]))
            chat.set_sampling(SamplingSettings(temperature=0.9, max_tokens=3000, seed=5, logit_bias=bias))
            chat.composer.setPlainText("Write a very long story about a lighthouse keeper and the sea.")
            chat.send()

    def on_loaded(_info: object) -> None:
        chat.set_sampling(SamplingSettings(temperature=0.0, max_tokens=24))
        chat.composer.setPlainText("Say hello.")
        chat.send()

    chat.reply_finished.connect(on_finished)
    window.bridge.model_loaded.connect(on_loaded)
    timer = QTimer()
    timer.timeout.connect(report)
    timer.start(50)
    app.exec()


if __name__ == "__main__":
    main()
