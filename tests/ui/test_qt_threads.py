"""Emitting Qt signals from worker threads must be sound: the engine streams from one.

PySide6 6.12.0 over-releases ``True`` on every such emit and the app aborts after
a few thousand streamed tokens; this test catches a Qt upgrade that brings it back.
"""

from __future__ import annotations

import sys
import threading

from PySide6.QtCore import QObject, Signal


class _Sender(QObject):
    ping = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.received = 0
        self.ping.connect(self._on_self_ping)

    def _on_self_ping(self, _value: object) -> None:
        self.received += 1


def test_signals_emitted_from_a_python_thread_keep_refcounts_intact(qapp: object) -> None:
    sender = _Sender()
    before = sys.getrefcount(True)

    def worker() -> None:
        for i in range(3000):
            sender.ping.emit(i)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    qapp.processEvents()  # type: ignore[attr-defined]
    assert sender.received == 3000
    assert sys.getrefcount(True) >= before - 50, "this PySide6 build corrupts refcounts on cross-thread emit"
