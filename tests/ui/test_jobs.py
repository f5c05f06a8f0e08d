"""Background jobs report progress on the GUI thread, in order, before their outcome (Compare's bar)."""

from __future__ import annotations

import threading

import shiboken6
from PySide6.QtCore import QObject

from app.ui.jobs import run_in_background


def test_a_jobs_progress_reaches_the_gui_thread_in_order_before_its_result(qtbot) -> None:
    gui = threading.get_ident()
    events: list[tuple[str, object, bool]] = []  # (what, value, on the GUI thread)
    worker: list[int] = []

    def job(progress) -> str:
        worker.append(threading.get_ident())
        for i in range(5):
            progress(i)
        return "done"

    run_in_background(job, lambda v: events.append(("result", v, threading.get_ident() == gui)),
                      on_progress=lambda v: events.append(("progress", v, threading.get_ident() == gui)))
    qtbot.waitUntil(lambda: any(what == "result" for what, _v, _g in events), timeout=10_000)
    assert worker and worker[0] != gui
    assert events == [*(("progress", i, True) for i in range(5)), ("result", "done", True)]


def test_progress_for_a_closed_widget_is_dropped(qtbot) -> None:
    owner = QObject()
    started, release, ended = threading.Event(), threading.Event(), threading.Event()
    seen: list[object] = []

    def job(progress) -> None:
        started.set()
        release.wait(10)
        progress(1)
        ended.set()

    run_in_background(job, context=owner, on_progress=seen.append)
    assert started.wait(10)
    owner.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(owner), timeout=5_000)
    release.set()
    assert ended.wait(10)
    qtbot.wait(100)  # the progress was posted before the job ended: this delivers it
    assert seen == []
