"""Screenshots of a reply's thinking: while it streams and folded, at 1280×800 and 800×500 (not a test).

    Xvfb :73 -screen 0 1280x800x24 &  DISPLAY=:73 python tests/ui/thinking_shots.py OUT_DIR

The starter model, in a copy with a Qwen3-like template, is made to think by a grammar.
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
from thinking_model import thinking_copy

from app.core.sampling import SamplingSettings
from app.core.starter import starter_model_path
from app.main import create_main_window
from app.ui.chat.thinking_block import ThinkingBlock

ANSWER = "The lamp is lit at dusk, when the last of the daylight fades over the water."
GRAMMAR = f'root ::= [a-z ,.]{{300,600}} "\\n</think>\\n\\n" "{ANSWER}"'


def wait(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        QApplication.processEvents()
        time.sleep(0.01)


def main(out: Path) -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    window = create_main_window()
    window.show()
    wait(lambda: window.bridge.free)
    path = str(thinking_copy(starter_model_path(), Path(os.environ["INKLING_HOME"]) / "thinking.gguf"))
    window.load_model(path)
    wait(lambda: window.bridge.free and window.bridge.info.path == path)
    taken: dict[str, bool] = {}
    original = ThinkingBlock.show_live

    def show_live(self: ThinkingBlock, text: str, tokens: int, seconds: float) -> None:
        original(self, text, tokens, seconds)
        name = f"live-{window.width()}x{window.height()}"
        if tokens >= 40 and name not in taken:
            taken[name] = True
            window.grab().save(str(out / f"{name}.png"))

    ThinkingBlock.show_live = show_live  # type: ignore[method-assign]
    for size in ((1280, 800), (800, 500)):
        window.resize(*size)
        window.chat.new_conversation()
        window.chat.set_sampling(SamplingSettings(temperature=0.8, seed=7, max_tokens=400, grammar=GRAMMAR), "")
        window.chat.composer.setPlainText("When is the lighthouse lamp lit?")
        window.chat.send_button.click()
        wait(lambda: window.chat.reply is None and window.chat.turn is not None and not window.chat.turn.busy)
        for _ in range(20):
            QApplication.processEvents()
            time.sleep(0.01)
        window.grab().save(str(out / f"folded-{size[0]}x{size[1]}.png"))
        os.system(f"import -window root {out / f'root-{size[0]}x{size[1]}.png'}")  # what the X server shows
    window.close()
    app.processEvents()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
