"""kill -9 of the whole app while a reply streams and the user types loses at most a second."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from long_reply import NEVER, end_of_generation_ids

from app.core.storage import Storage

APP = Path(__file__).with_name("durability_app.py")


def test_sigkill_while_streaming_and_typing_loses_at_most_one_second(tmp_path: Path, starter_path: Path) -> None:
    # the reply that gets killed is forced to run on (3,000 tokens, no end token): on any CPU it
    # is still streaming when the test has seen 2.5 s of it
    bias = [[t, NEVER] for t in end_of_generation_ids(str(starter_path))]
    env = {**os.environ, "INKLING_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "INKLING_TEST_BIAS": json.dumps(bias)}
    proc = subprocess.Popen([sys.executable, str(APP)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=env, text=True)
    streams: list[tuple[float, str]] = []
    drafts: list[tuple[float, str]] = []
    first = ""
    deadline = time.time() + 120
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            kind, stamp, text = line.split(" ", 2)
            value = (float(stamp), json.loads(text))
            if kind == "FIRST":
                first = value[1]
            elif kind == "STREAM" and first:
                streams.append(value)
            elif kind == "DRAFT":
                drafts.append(value)
            # kill once the long reply has streamed for more than two seconds
            if streams and drafts and streams[-1][0] - streams[0][0] > 2.5:
                break
            assert time.time() < deadline, "the app never got to streaming"
        killed_at = time.time()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(10)

    storage = Storage(tmp_path / "home" / "data" / "inkling.sqlite3")
    conv = storage.conversations()[0]
    messages = storage.messages(conv.id)
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[1].content == first and messages[1].status == "done"  # the finished reply is whole
    streamed = messages[3].content
    final_seen = streams[-1][1]
    assert final_seen.startswith(streamed)  # what was saved is what was shown
    shown_a_second_before = [text for stamp, text in streams if stamp <= killed_at - 1.0][-1]
    assert len(streamed) >= len(shown_a_second_before), (len(streamed), len(shown_a_second_before))
    draft_a_second_before = [text for stamp, text in drafts if stamp <= killed_at - 1.0][-1]
    assert drafts[-1][1].startswith(conv.draft)
    assert len(conv.draft) >= len(draft_a_second_before)
    # the next start marks the interrupted reply as stopped, text kept
    assert storage.mark_interrupted_streams() == 1
    assert storage.messages(conv.id)[3].content == streamed


def test_sigkill_while_writing_loses_at_most_one_second_of_the_document(tmp_path: Path) -> None:
    env = {**os.environ, "INKLING_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("typing_app.py"))],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    typed: list[tuple[float, str]] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            _kind, stamp, text = line.split(" ", 2)
            typed.append((float(stamp), json.loads(text)))
            if typed[-1][0] - typed[0][0] > 2.5:
                break
        killed_at = time.time()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(10)
    storage = Storage(tmp_path / "home" / "data" / "inkling.sqlite3")
    saved = storage.documents()[0].content
    assert typed[-1][1].startswith(saved)
    a_second_before = [text for stamp, text in typed if stamp <= killed_at - 1.0][-1]
    assert len(saved) >= len(a_second_before), (len(saved), len(a_second_before))
