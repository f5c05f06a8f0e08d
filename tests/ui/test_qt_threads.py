"""Emitting Qt signals from worker threads must be sound: the engine streams from one.

PySide6 6.12.0 over-releases ``True`` (what ``emit`` returns) on every emit; on
Python 3.11 the app then aborts after a few thousand streamed tokens ("bool_dealloc:
deallocating True or False"). From Python 3.12 ``True`` is immortal: that
over-release does no harm there, and ``sys.getrefcount(True)`` can't show one.
What can break on every Python is the ownership of the objects that cross an emit,
so the first test counts those exactly (the value sent, the slot's own result,
each fresh value freed once delivered); the second keeps the ``True`` check where
it means something (3.11).
"""

from __future__ import annotations

import gc
import sys
import threading
import weakref

import pytest
from PySide6.QtCore import QObject, Signal


class _Payload:
    """A mortal object: its reference count is real on every Python."""


class _Sender(QObject):
    ping = Signal(object)

    def __init__(self, result: object) -> None:
        super().__init__()
        self.received = 0
        self.result = result
        self.ping.connect(self._on_self_ping)

    def _on_self_ping(self, _value: object) -> object:
        self.received += 1
        return self.result  # a slot's result goes back through PySide, which must not keep or drop it


def _emit_from_a_thread(sender: _Sender, values: list[object], qapp: object) -> None:
    def worker() -> None:
        for value in values:
            sender.ping.emit(value)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    qapp.processEvents()  # type: ignore[attr-defined]  # the queued deliveries run here


def test_values_sent_from_a_python_thread_keep_exact_refcounts(qapp: object) -> None:
    result, shared = _Payload(), _Payload()
    sender = _Sender(result)
    fresh = [_Payload() for _ in range(250)]
    alive = [weakref.ref(p) for p in fresh]
    result_before, shared_before = sys.getrefcount(result), sys.getrefcount(shared)

    _emit_from_a_thread(sender, [shared] * 250 + fresh, qapp)
    del fresh
    gc.collect()

    assert sender.received == 500
    assert sys.getrefcount(shared) == shared_before, "an emitted value's count changed: PySide6 leaks or over-releases"
    assert sys.getrefcount(result) == result_before, "a slot's result count changed: PySide6 leaks or over-releases"
    assert not any(ref() is not None for ref in alive), "values delivered across threads were never freed (a leak)"


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="True is immortal from Python 3.12: an over-release of it "
                                                        "does no harm there and its count cannot show one")
def test_emitting_from_a_python_thread_keeps_true_alive(qapp: object) -> None:
    sender = _Sender(None)
    before = sys.getrefcount(True)
    _emit_from_a_thread(sender, list(range(200)), qapp)  # few enough that a bad build fails here, not aborts
    assert sender.received == 200
    assert sys.getrefcount(True) >= before - 20, "this PySide6 build over-releases True on emit (6.12.0 did)"
