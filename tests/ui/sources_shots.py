"""Screenshots of sources at work (not a test): the Sources panel reacting to files changed on disk, and a
chat where the model searched its sources with the search_sources tool, at 1280×800 and 800×500.

    Xvfb :74 -screen 0 1280x800x24 &  DISPLAY=:74 python tests/ui/sources_shots.py OUT_DIR

The starter model is forced by grammars: first the tool call, then the answer that cites [1].
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["INKLING_HOME"] = tempfile.mkdtemp(prefix="inkling-shots-")

from PySide6.QtWidgets import QApplication, QDialog
from source_files import index_folder

from app.core.paths import app_paths
from app.core.sampling import SamplingSettings
from app.main import create_main_window

CALL = ('root ::= "<tool_call>\\n{\\"name\\": \\"search_sources\\", \\"arguments\\": {\\"query\\": '
        '\\"keeper lamp dusk\\", \\"top_k\\": 3}}\\n</tool_call>"')
ANSWER = "Every evening at dusk the keeper climbs the stairs and lights the lamp [1]."


def wait(condition, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        QApplication.processEvents()
        time.sleep(0.01)


def settle() -> None:
    for _ in range(30):
        QApplication.processEvents()
        time.sleep(0.01)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    docs = Path(tempfile.mkdtemp(prefix="inkling-docs-"))
    (docs / "lighthouse.md").write_text("# The lighthouse\n\n" + "Waves break on the rocks below the tower. " * 2
                                        + "\n\nEvery evening the keeper climbs the stairs and lights the lamp at "
                                        "dusk.\n")
    for i in range(40):
        (docs / f"note{i:02d}.md").write_text(f"Note {i} about gardening, tomatoes and rain.\n")
    index_folder(app_paths().ensure().sources, "Lighthouse notes", docs)

    app = QApplication.instance() or QApplication(sys.argv)
    window = create_main_window()
    window.resize(1280, 800)
    window.show()
    wait(lambda: window.bridge.free)
    chat = window.chat
    indexing = chat.sources_indexing
    chat.sources_button.manage()
    dialog = chat.findChild(QDialog, "sourcesWindow")
    dialog.move(260, 160)
    panel = dialog.panel
    indexing.start()
    wait(lambda: (indexing.watched("Lighthouse notes") or None) is not None
         and bool(indexing.watched("Lighthouse notes").files))
    settle()

    def hold(name: str, report: dict) -> None:  # hold the row still for the pictures, part way through
        if report.get("files_done", 0) >= 100 and not indexing.job(name).paused:
            indexing.pause(name)

    indexing.progressed.connect(hold)
    # a change on disk: 1,500 new notes and one deleted, no click
    for i in range(1500):
        (docs / f"new{i:04d}.md").write_text(f"A new note {i} about the harbour, the ferry and the tide.\n" * 40)
    (docs / "note00.md").unlink()
    wait(lambda: panel.progress_label.text().startswith("Paused · A change on disk was noticed · Reading"))
    indexing.progressed.disconnect(hold)
    settle()
    os.system(f"import -window root {out / 'sources-change-1280x800.png'}")
    dialog.resize(800, 500)
    settle()
    dialog.grab().save(str(out / "sources-change-800x500.png"))
    indexing.resume("Lighthouse notes")
    wait(lambda: panel.job is None)
    settle()
    dialog.grab().save(str(out / "sources-change-done-800x500.png"))
    dialog.hide()

    # a chat where the model searched its sources with the tool
    session = chat.session
    chat.sources.set(session.id, ["Lighthouse notes"])
    chat.sources_button.set_chat(session.id)
    chat.sources_button.set_mode("tool")
    wait(lambda: chat.turn.tools.offer is not None)

    def answer_after_the_tool(_session: object, what: str) -> None:
        if what == "tool-result":
            session.set_sampling(SamplingSettings(temperature=0.0, max_tokens=60, grammar=f'root ::= "{ANSWER}"'))

    session.subscribe(answer_after_the_tool)
    chat.tools.set_first_choice("search_sources")
    chat.set_sampling(SamplingSettings(temperature=0.0, max_tokens=80, grammar=CALL))
    chat.composer.setPlainText("When does the keeper light the lamp?")
    chat.send_button.click()
    wait(lambda: len(session.path) >= 4 and session.path[-1].status == "done" and chat.reply is None)
    settle()
    card = chat.transcript.widgets[session.path[-3].id]  # the reply that called the tool: its card
    for size in ((1280, 800), (800, 500)):
        window.resize(*size)
        settle()
        chat.transcript.scroll_to_bottom()
        settle()
        window.grab().save(str(out / f"tool-chat-{size[0]}x{size[1]}.png"))
        chat.transcript.ensureWidgetVisible(card, 0, 0)
        chat.transcript.verticalScrollBar().setValue(card.y())
        settle()
        window.grab().save(str(out / f"tool-card-{size[0]}x{size[1]}.png"))
    window.close()
    app.processEvents()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
