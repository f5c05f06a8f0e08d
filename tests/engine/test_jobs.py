"""Child-process jobs: progress in order, cancel (cooperative, then by force), pause, and a crash report."""

from __future__ import annotations

import threading
import time

import pytest

from app.core.errors import JobCancelled, JobCrashed, JobFailed, ModelFileError
from app.core.jobs import JobEnded, JobPaused, JobProgress
from app.engine.jobs import start_job

TARGETS = "tests.engine.job_targets"


class Recorder:
    """Collects a job's events (told on its reader thread) and lets a test wait for one."""

    def __init__(self) -> None:
        self.events: list[object] = []
        self._cv = threading.Condition()

    def __call__(self, event: object) -> None:
        with self._cv:
            self.events.append(event)
            self._cv.notify_all()

    def wait_for(self, predicate, timeout: float = 60.0) -> None:
        with self._cv:
            assert self._cv.wait_for(lambda: predicate(self.events), timeout), self.events

    def of(self, kind: type) -> list:
        with self._cv:
            return [e for e in self.events if isinstance(e, kind)]


def test_a_job_reports_its_progress_in_order_then_its_result() -> None:
    seen = Recorder()
    job = start_job(f"{TARGETS}:count", {"n": 5}, seen)
    assert job.result(timeout=60) == 50
    seen.wait_for(lambda ev: any(isinstance(e, JobEnded) for e in ev))
    assert seen.of(JobProgress) == [JobProgress(i, 5, f"step {i}") for i in range(1, 6)]
    assert seen.events[-1] == JobEnded(result=50)
    assert job.done


def test_a_cancelled_job_stops_at_its_next_safe_point_and_ends_cancelled() -> None:
    seen = Recorder()
    job = start_job(f"{TARGETS}:count", {"n": 100_000, "step_s": 0.01}, seen, name="Counting", grace=120)
    seen.wait_for(lambda ev: len(ev) >= 3)
    job.cancel()
    with pytest.raises(JobCancelled, match="Counting was cancelled"):
        job.result(timeout=30)  # well inside the grace: it stopped on its own, not by the kill
    assert seen.events[-1].cancelled
    assert len(seen.of(JobProgress)) < 100_000


def test_a_job_that_ignores_cancel_is_killed_after_the_grace() -> None:
    seen = Recorder()
    job = start_job(f"{TARGETS}:forever", {}, seen, grace=0.5)
    seen.wait_for(lambda ev: len(ev) >= 1)
    job.cancel()
    with pytest.raises(JobCancelled):
        job.result(timeout=30)


def test_a_job_that_aborts_ends_with_a_crash_report_naming_the_signal_and_its_last_words() -> None:
    seen = Recorder()
    job = start_job(f"{TARGETS}:abort", {}, seen, name="Scoring model.gguf")
    with pytest.raises(JobCrashed) as caught:
        job.result(timeout=60)
    crash = caught.value
    assert crash.exit_code == -6 and crash.signal_name == "SIGABRT"
    assert "GGML_ASSERT(n_tokens <= n_batch) failed" in crash.stderr_tail
    message = str(crash)
    assert message.startswith("Scoring model.gguf stopped unexpectedly: it aborted (SIGABRT).")
    assert "Its last words: GGML_ASSERT(n_tokens <= n_batch) failed" in message
    assert "Fatal Python error: Aborted" in crash.stderr_tail  # faulthandler's trace is kept for the log
    assert seen.of(JobProgress) == [JobProgress(1, 2, "about to fail")]  # what it said before it died arrived


def test_a_paused_job_waits_until_resumed_then_finishes() -> None:
    seen = Recorder()
    job = start_job(f"{TARGETS}:count", {"n": 400, "step_s": 0.005}, seen)
    seen.wait_for(lambda ev: len(ev) >= 2)
    job.pause()
    seen.wait_for(lambda ev: JobPaused(True) in ev)
    steps = len(seen.of(JobProgress))
    time.sleep(0.5)  # paused: no step may be taken meanwhile (not a timing bound: any step at all is wrong)
    assert len(seen.of(JobProgress)) == steps and job.paused and not job.done
    job.resume()
    assert job.result(timeout=60) == 4000
    assert JobPaused(False) in seen.events
    assert [e.done for e in seen.of(JobProgress)] == list(range(1, 401))


def test_a_typed_error_crosses_as_is_and_a_bug_becomes_job_failed() -> None:
    with pytest.raises(ModelFileError, match="not a GGUF file"):
        start_job(f"{TARGETS}:typed_failure", {"path": "/x.gguf"}).result(timeout=60)
    with pytest.raises(JobFailed, match="bug failed: KeyError: 'b'"):
        start_job(f"{TARGETS}:bug", {}).result(timeout=60)
