"""The GUI-side handle on the engine process: one owner, one explicit state.

``EngineClient`` runs every request through one **supervisor** thread, which alone
owns the engine process and the client's state (``EngineState``):

    DEAD    --spawn-------------------> IDLE      (first request, or after any death)
    IDLE    --load / automatic reload--> LOADING  --result/error--> IDLE
    IDLE    --chat, complete, score…---> RUNNING  --done/result/error--> IDLE
    LOADING | RUNNING | IDLE --engine died (crash, kill on stop, OOM, reader died)--> DEAD

Requests queue up and run one at a time, so a message sent while a model loads
waits for the load and then runs. The client remembers what should be loaded
(``wanted``) and, before the next request after any death, starts a new engine and
loads it again. The rules that make it always come back:

- **Stop is instant.** ``cancel()`` sets a shared flag that the engine checks
  between tokens and that llama.cpp's abort callback checks inside a prompt. If
  the request has not ended ``CANCEL_GRACE`` seconds later the engine is killed,
  the request ends as stopped, and the next request gets a fresh engine with the
  model reloaded. A queued request that is cancelled is never sent.
- **A crash is an error, never a dead window.** A request that was running when
  the engine died fails with ``EngineCrashed``, quoting what llama.cpp wrote to
  the engine log during that request only.
- **A request that never started is retried.** The engine acknowledges each
  request when it takes it; one that died before the acknowledgement (the engine
  was killed while idle and the client could not see it yet) runs again on the
  new engine. A load — also the automatic reload — is retried once before the file
  is blamed, and the automatic reload never forgets the model.
- **A frozen engine is found out.** No acknowledgement within ``ACK_TIMEOUT``
  seconds of sending (counted from the engine's "ready" for a new one) means it is
  wedged (a stopped process, a hung driver, a swap storm): it is killed and the
  request runs on a new engine, as for a death before the acknowledgement.
- **The CPU code proves itself.** A native crash (SIGSEGV, SIGILL, SIGBUS) in the
  first compute after a load is judged, not looped on (``_judge_native_crash``):
  if the starter model crashes the same way on the same CPU code (tried once more
  for the starter itself, or loaded for the test when another model crashed), the
  CPU variant is marked bad for this CPU and build (backends.mark_bad) and the
  request runs on the next-best variant; with none left the client gives its
  verdict, ``BuildCrashes``, and starts no engine again. A crash of one model
  only stays that model's error.
- **A failed load costs nothing that worked.** The engine unloads before it loads,
  but the client keeps the model loaded before as ``wanted`` (and its ``info``),
  so the next request loads it again: a bad file never leaves "no model".
- **The reader's death kills the engine**, so an engine is never left unread.
- **One stream at a time.** Starting a stream cancels the streams before it.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import logging
import multiprocessing as mp
import os
import queue
import tempfile
import threading
import time
from concurrent.futures import Future
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any

from app.core.adapters import AdapterInfo
from app.core.announcer import Announcer
from app.core.capabilities import LOCAL, Capabilities
from app.core.engine_status import CRASHED, STOPPED, EnginePhase, EngineStatus, publish_status
from app.core.errors import BuildCrashes, EngineCrashed, InklingError, Interrupted, NoModelLoaded
from app.core.events import AdapterSlot, Finished, LoadOptions, ModelInfo, ScoreResult, Timings
from app.core.ports import PeekResult
from app.core.sampling import SamplingSettings
from app.core.tools import ToolOffer
from app.engine.backends import mark_bad
from app.engine.crash import (
    FIRST_COMPUTE,
    LATER_COMPUTE,
    NATIVE_SIGNALS,
    CrashJudge,
    crash_message,
    file_size,
    log_errors,
    wedged_message,
)
from app.engine.requests import Call, Died, EngineProcess, EngineState, Request
from app.engine.stream import Listener, Stream, StreamEvent
from app.engine.worker import COMPUTE_OPS

__all__ = ["ACK_TIMEOUT", "CANCEL_GRACE", "EngineClient", "EngineState", "Listener", "Stream", "StreamEvent"]

PREVIEW_OPS = frozenset({"peek"})  # requests that only preview: a generation replaces them
CANCEL_GRACE = 0.8  # seconds the engine gets to stop by itself before it is killed
# seconds a live engine gets to acknowledge a request: it does so before it runs anything, so even a
# loaded 2-core machine answers in milliseconds; past this it is wedged (a stopped process, a hung driver)
ACK_TIMEOUT = 4.0
START_TIMEOUT = 120.0  # seconds a new engine gets to import llama.cpp and say "ready" (a cold disk, a busy machine)
SMALL_MESSAGE = 32 * 1024  # a request this small fits the pipe's buffer: sending it never blocks
log = logging.getLogger(__name__)


class EngineClient:
    """Talks to one engine process; restarts it and reloads the model after any death. Thread-safe."""

    def __init__(self, log_path: Path | None = None) -> None:
        self._mp = mp.get_context("spawn")
        self._flag = self._mp.RawArray(ctypes.c_char, 2)
        self._own_log = log_path is None
        if log_path is None:  # the crash reason is read from the engine's log, so it always has one
            fd, name = tempfile.mkstemp(prefix="inkling-engine-", suffix=".log")
            os.close(fd)
            log_path = Path(name)
        self._log_path = str(log_path)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._requests: queue.SimpleQueue[Request | None] = queue.SimpleQueue()
        self._events: queue.SimpleQueue[tuple[int, str, int, Any]] = queue.SimpleQueue()
        self._queued: list[Request] = []  # sent to the supervisor, not ended
        self._inflight: Request | None = None
        self._engine: EngineProcess | None = None
        self._gens = itertools.count(1)
        self._closed = False
        self.state = EngineState.DEAD
        self.status = EngineStatus()  # what the window shows; changed only by the supervisor thread
        self.status_changed: Announcer[[EngineStatus]] = Announcer()
        """Told every new ``status``, on the supervisor thread (subscribe before the first request)."""
        self._death_why = ""  # why the last engine died (CRASHED or STOPPED): said while reloading
        self.wanted: tuple[str, LoadOptions] | None = None  # the model to (re)load after any death
        self.info: ModelInfo | None = None
        self.adapter: AdapterSlot | None = None  # the LoRA on the wanted model, put back after a reload
        self.crashes = 0  # deaths nobody asked for
        self.verdict: BuildCrashes | None = None  # once given, no engine is started again
        self.cpu: Any = None  # the last engine's backends.CpuChoice: which CPU variant runs, which were skipped
        self._judge = CrashJudge()
        self._bad_variants: set[str] = set()  # marked bad by this client (also if the data folder is read-only)
        self._supervisor = threading.Thread(target=self._supervise, name="inkling-engine-supervisor", daemon=True)
        self._supervisor.start()

    # -- public API ----------------------------------------------------------------

    @property
    def capabilities(self) -> Capabilities:
        """The local engine can do everything (a remote server reports less)."""
        return LOCAL

    @property
    def pid(self) -> int | None:
        engine = self._engine
        if engine is None or engine.dead or not engine.proc.is_alive():
            return None
        return engine.proc.pid

    def start(self) -> Future[None]:
        """Start the engine process now, in the background (it also starts on the first request)."""
        return self._call("ping")  # answered once the engine runs and has imported llama.cpp

    def close(self) -> None:
        """Shut the engine down (politely, then by force); waiting requests fail."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._requests.put(None)
        self._events.put((0, "close", 0, None))
        self._supervisor.join(10.0)
        if self._own_log:
            with contextlib.suppress(OSError):
                os.unlink(self._log_path)

    def load(self, path: str | Path, options: LoadOptions | None = None) -> ModelInfo:
        """Load a model (blocking; call from a background job). Raises a typed error."""
        return self.load_async(path, options).result()

    def load_async(self, path: str | Path, options: LoadOptions | None = None) -> Future[ModelInfo]:
        return self._call("load", path=str(path), options=options or LoadOptions())

    def unload(self) -> None:
        self._call("unload").result()

    def chat(self, messages: list[dict[str, str]], sampling: SamplingSettings | None = None, *,
             alternatives: int = 0, listener: Listener | None = None, continue_last: bool = False,
             tools: ToolOffer | None = None) -> Stream:
        """Stream a reply; ``continue_last`` extends the last (assistant) message instead; ``tools`` are offered."""
        return self._stream("chat", listener, messages=list(messages), sampling=sampling or SamplingSettings(),
                            alternatives=alternatives, continue_last=continue_last, tools=tools)

    def complete(self, prompt: str, sampling: SamplingSettings | None = None, *,
                 alternatives: int = 0, listener: Listener | None = None, suffix: str = "",
                 memory: str = "", sequences: int = 1) -> Stream:
        """Stream a continuation of ``prompt``; with ``suffix``, fill in between where the model can.

        ``memory`` stays in the model's view before the text however long it is;
        ``sequences`` > 1 makes that many texts side by side (events carry ``sequence``).
        """
        return self._stream("complete", listener, prompt=prompt, sampling=sampling or SamplingSettings(),
                            alternatives=alternatives, suffix=suffix, memory=memory, sequences=sequences)

    parallel_sequences = 4  # texts ``complete`` can make side by side (the engine's MAX_SEQUENCES)

    def last_prompt(self) -> str:
        """The prompt of the last generation as the model saw it (after fitting it into the context)."""
        return self._call("last_prompt").result()

    def score(self, text: str, top: int = 1) -> ScoreResult:
        return self.score_async(text, top).result()

    def score_async(self, text: str, top: int = 1) -> Future[ScoreResult]:
        """Per-token log-probabilities of ``text``; ``cancel()`` on the Future stops it."""
        return self._call("score", text=text, top=top)

    def peek_async(self, messages: list[dict[str, str]] | None = None, prompt: str | None = None,
                   top: int = 64) -> Future[PeekResult]:
        """The likeliest next tokens for a chat or a text, with the log-normaliser and the logits' spread.

        The spread is the standard deviation of the logits over the whole vocabulary (what
        top-nσ measures against).
        """
        return self._call("peek", messages=messages, prompt=prompt, top=top)

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        return self.count_tokens_async(messages).result()

    def count_tokens_async(self, messages: list[dict[str, str]]) -> Future[int]:
        """Tokens of a chat's prompt. Counting a chat is a reply's first step (``app.core.fitting``),
        so, like the reply, it never waits behind the next-token chart's peek."""
        self._cancel_previews()
        return self._call("count_chat", messages=list(messages))

    def count_text_async(self, text: str) -> Future[int]:
        return self._call("count_text", text=text)

    def set_adapter_async(self, path: str | Path | None, scale: float = 1.0) -> Future[AdapterInfo]:
        """Put a GGUF LoRA on the loaded model (None: take it off) without reloading the model.

        Refused with ``AdapterError`` (the reason from its metadata) if it was made for another
        model. The engine forgets its cached prompt; the adapter stays on after a crash's reload.
        """
        return self._call("adapter", path=str(path) if path else "", scale=float(scale))

    def set_adapter(self, path: str | Path | None, scale: float = 1.0) -> AdapterInfo:
        return self.set_adapter_async(path, scale).result()

    def tokenize(self, text: str) -> list[tuple[int, str]]:
        return self._call("tokenize", text=text).result()

    def cancel(self) -> None:
        """Stop every stream that is running or waiting (no-op when none is)."""
        with self._lock:
            streams = [r for r in [self._inflight, *self._queued] if r is not None and r.stream is not None]
        for req in streams:
            self._cancel_request(req)

    def cancel_stream(self, stream: Stream) -> None:
        with self._lock:
            req = next((r for r in [self._inflight, *self._queued] if r is not None and r.stream is stream), None)
        if req is not None:
            self._cancel_request(req)

    # -- requests --------------------------------------------------------------------

    def _call(self, op: str, **args: Any) -> Call:
        fut = Call(self._cancel_request)
        req = Request(op, args, next(self._ids), future=fut)
        fut._request = req
        self._enqueue(req)
        return fut

    def _stream(self, op: str, listener: Listener | None, **args: Any) -> Stream:
        stream = Stream(self.cancel_stream, listener)
        self.cancel()  # one stream at a time: a new one replaces the ones before it
        self._cancel_previews()
        self._enqueue(Request(op, args, next(self._ids), stream=stream))
        return stream

    def _cancel_previews(self) -> None:
        """A generation never waits behind the next-token chart's peek.

        A pasted long text makes the chart read it all (seconds on a CPU, with no progress to
        show); the reply sent meanwhile waited for that read and then found its prompt cached,
        so it showed "writing…" and never "Reading the prompt… N%". The chart asks again when
        the engine is free.
        """
        with self._lock:
            peeks = [r for r in [self._inflight, *self._queued] if r is not None and r.op in PREVIEW_OPS]
        for req in peeks:
            self._cancel_request(req)

    def _enqueue(self, req: Request) -> None:
        with self._lock:
            if self._closed:
                raise EngineCrashed("The engine has been shut down.")
            self._queued.append(req)
        self._requests.put(req)

    def _cancel_request(self, req: Request) -> None:
        with self._lock:
            if req.ended or req.cancel_requested:
                return
            req.cancel_requested = True
            if req.stream is not None:
                req.stream.cancel_requested = True
            running = req is self._inflight
            if running:
                self._flag[0] = b"\x01"
        if running:
            self._events.put((0, "cancel", req.id, None))  # the supervisor kills it after the grace
        else:
            self._end_cancelled(req)  # still queued: it will never be sent

    def _end(self, req: Request, result: Any = None, error: BaseException | None = None) -> None:
        """Deliver a request's outcome, exactly once."""
        with self._lock:
            if req.ended:
                return
            req.ended = True
            if req in self._queued:
                self._queued.remove(req)
        if req.stream is not None:
            req.stream._deliver(error if error is not None else result)  # type: ignore[arg-type]
        elif req.future is not None:
            if error is not None:
                req.future.set_exception(error)
            else:
                req.future.set_result(result)

    def _end_cancelled(self, req: Request) -> None:
        if req.stream is not None:
            self._end(req, Finished("cancelled", req.stream.text, Timings()))
        else:
            self._end(req, error=Interrupted())

    # -- the supervisor: the one owner of the engine and the state ----------------------

    def _supervise(self) -> None:
        while True:
            req = self._requests.get()
            if req is None:
                break
            if req.ended:
                continue  # cancelled or failed while queued: never sent
            try:
                self._run(req)
            except Exception as exc:  # a bug here must not strand the caller
                log.exception("engine supervisor failed on %s", req.op)
                self._end(req, error=EngineCrashed(f"The engine client failed: {exc}"))
            engine = self._engine
            alive = engine is not None and not engine.dead
            self._publish(EnginePhase.IDLE if alive else EnginePhase.DEAD, self.wanted[0] if self.wanted else "")
        self._shutdown()

    def _publish(self, phase: EnginePhase, model: str = "", why: str = "") -> None:
        """Set ``status`` and tell the subscribers (supervisor thread only; an unchanged status is not told)."""
        publish_status(self, EngineStatus(phase, model, why))

    def _run(self, req: Request) -> None:
        if self._closed:
            self._end(req, error=EngineCrashed("The engine has been shut down."))
            return
        self._drain_events()  # notice an engine that died while idle
        if req.op == "unload" and (self._engine is None or self._engine.dead):
            self.wanted, self.info = None, None
            self._end(req, None)
            return
        if self.verdict is not None and (self._engine is None or self._engine.dead):
            self._end(req, error=self.verdict)  # this build crashes here: starting it again only crashes again
            return
        attempt = 0
        while True:
            attempt += 1
            try:
                self._ensure_ready(req)
            except InklingError as exc:
                self._end(req, error=exc)
                return
            if req.ended:
                return
            try:
                self._send_and_wait(req)
                return
            except Died as died:
                if req.cancel_requested:
                    self._end_cancelled(req)
                    return
                if self._closed:
                    self._end(req, error=EngineCrashed("The engine has been shut down."))
                    return
                if req.op in COMPUTE_OPS and died.exitcode in NATIVE_SIGNALS and died.model is not None:
                    try:
                        if self._judge_native_crash(died):
                            continue  # on the next CPU variant, or once more to be sure of the starter
                    except BuildCrashes as verdict:
                        self._end(req, error=verdict)
                        return
                    self._end(req, error=EngineCrashed(died.message))
                    return
                retry = req.op == "load" or not died.started
                if attempt == 1 and retry:
                    log.warning("engine died during %s (%s); retrying on a new engine", req.op, died.message)
                    continue
                if req.op == "load":
                    engine_gone = self._engine
                    if engine_gone is not None:
                        engine_gone.model = None  # twice in a row: the file is to blame; what worked stays wanted
                self._end(req, error=EngineCrashed(died.message))
                return

    # -- native crashes: the CPU code proves itself ----------------------------------------

    def _judge_native_crash(self, died: Died) -> bool:
        """A native crash with a model loaded: True to run the request again, False to fail it as that model's.

        Raises the verdict (BuildCrashes) when the build crashes here and no other CPU variant is left.
        """
        assert died.exitcode is not None and died.model is not None
        code, model = died.exitcode, died.model
        operation = FIRST_COMPUTE if died.first_compute else LATER_COMPUTE
        starter = _starter_path()
        self._judge.note(model, code, operation)
        if not self._judge.build_at_fault(code, operation, starter):
            if not died.first_compute:
                return False  # mid-reply, once: the next request restarts, as for any crash
            if (model, code) in self._judge.model_at_fault:
                return False
            if starter is not None and os.path.realpath(model) == os.path.realpath(starter):
                log.warning("the starter model crashed (%s) in its first compute; trying once more", NATIVE_SIGNALS[code])
                return True
            if starter is None or self._probe(starter) != code:
                self._judge.model_at_fault.add((model, code))
                return False  # the starter runs where this model crashed: the model's own error
            self._judge.note(starter, code, operation)
        cpu = self.cpu
        nxt = cpu.next_candidate() if cpu is not None else None
        if nxt is not None:
            why = f"it crashed ({NATIVE_SIGNALS[code].split(',')[0]}) in its {operation} on this computer"
            log.warning("CPU variant %s %s; trying %s", cpu.variant, why, nxt)
            self._bad_variants.add(cpu.variant)
            with contextlib.suppress(OSError):
                mark_bad(cpu.key, cpu.variant, why)
            self._judge.forget()
            return died.first_compute  # again, unless the reply had begun: the next request runs on the next one
        names = tuple(Path(m).name for m in self._judge.models(code, operation))
        self.verdict = BuildCrashes(NATIVE_SIGNALS[code], operation, cpu.variant if cpu is not None else "", names)
        log.error("%s", self.verdict)
        raise self.verdict

    def _probe(self, starter: str) -> int | None:
        """Load the starter model on a new engine and compute once: the exit code if it crashes natively."""
        wanted, info = self.wanted, self.info  # the probe's load must not change what the person chose
        try:
            self._spawn()
            load = Request("load", {"path": starter, "options": LoadOptions(n_ctx=512)}, next(self._ids),
                           future=Future())
            self._send_and_wait(load, automatic=True)
            assert load.future is not None
            if load.future.exception() is not None:
                return None
            probe = Request("complete", {"prompt": "Hello", "sampling": SamplingSettings(temperature=0.0, max_tokens=1),
                                         "alternatives": 0}, next(self._ids), future=Future())
            self._send_and_wait(probe)
            return None
        except Died as died:
            return died.exitcode if died.first_compute and died.exitcode in NATIVE_SIGNALS else None
        except InklingError:
            return None
        finally:
            self.wanted, self.info = wanted, info

    def _ensure_ready(self, req: Request) -> None:
        """A live engine, with the wanted model loaded unless ``req`` needs no model."""
        engine = self._engine
        dead = engine is None or engine.dead or not engine.proc.is_alive()
        if dead and engine is not None and self.wanted is not None and req.op not in ("load", "unload", "ping"):
            self._publish(EnginePhase.RELOADING, self.wanted[0], self._death_why)  # the spawn is part of the reload
        if dead:
            self._spawn()
        if req.op in ("load", "unload", "ping"):
            return
        wanted = self.wanted
        if wanted is None:
            raise NoModelLoaded()
        assert self._engine is not None
        if self._engine.model == wanted:
            return
        # the automatic reload: retried once, and the model is never forgotten
        for attempt in (1, 2):
            reload = Request("load", {"path": wanted[0], "options": wanted[1]}, next(self._ids), future=Future())
            try:
                self._send_and_wait(reload, automatic=True)
            except Died as died:
                if req.cancel_requested:
                    return
                if attempt == 2:
                    raise EngineCrashed(died.message) from None
                self._spawn()
                continue
            assert reload.future is not None
            exc = reload.future.exception()
            if exc is not None:
                raise exc
            if self.adapter is not None:  # the adapter goes back on with its model
                again = Request("adapter", {"path": self.adapter.path, "scale": self.adapter.scale}, next(self._ids),
                                future=Future())
                self._send_and_wait(again, automatic=True)
            return

    def _spawn(self) -> None:
        from app.engine.worker import engine_main

        if self._closed:
            raise EngineCrashed("The engine has been shut down.")
        old = self._engine
        if old is not None and not old.dead:
            self._kill(old)
            self._wait_dead(old)
        parent, child = self._mp.Pipe()
        self._flag[0] = b"\x00"
        skip = tuple(sorted(self._bad_variants))
        proc = self._mp.Process(target=engine_main, args=(child, self._flag, self._log_path, skip),
                                name="inkling-engine", daemon=True)
        try:
            proc.start()
        except OSError as exc:
            raise EngineCrashed(f"The model engine could not be started: {exc}") from None
        child.close()
        engine = EngineProcess(proc, parent, next(self._gens))
        self._engine = engine
        self.state = EngineState.IDLE
        threading.Thread(target=self._read, args=(engine,), name="inkling-engine-reader", daemon=True).start()

    def _send_and_wait(self, req: Request, automatic: bool = False) -> None:
        """Send ``req`` and wait for its outcome; raise Died if the engine dies (or is found wedged) first.

        A new engine is sent the request once it says "ready"; from the sending, it has
        ACK_TIMEOUT seconds to acknowledge it before it is killed as wedged.
        """
        engine = self._engine
        assert engine is not None
        with self._lock:
            if req.ended:
                return
            self._inflight = req
            self._flag[0] = b"\x00"
        self.state = EngineState.LOADING if req.op == "load" else EngineState.RUNNING
        if req.op == "load":
            if automatic:
                self._publish(EnginePhase.RELOADING, req.args["path"], self._death_why)
            else:
                self._publish(EnginePhase.LOADING, req.args["path"])
        elif req.stream is not None:
            self._publish(EnginePhase.WRITING, self.wanted[0] if self.wanted else "")
        req.log_offset = file_size(self._log_path)
        started = sent = False
        kill_at: float | None = None
        ack_by: float | None = engine.spawned_at + START_TIMEOUT
        first_compute = req.op in COMPUTE_OPS and not engine.computed
        try:
            if engine.ready:
                self._send(engine, req)
                sent, ack_by = True, time.monotonic() + ACK_TIMEOUT
            while True:
                deadlines = [t for t in (kill_at, None if started else ack_by) if t is not None]
                timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
                try:
                    gen, kind, rid, payload = self._events.get(timeout=timeout)
                except queue.Empty:
                    now = time.monotonic()
                    if kill_at is not None and now >= kill_at:
                        engine.killed_on_purpose = True  # the grace is over: stop it the hard way
                        self._kill(engine)
                        kill_at = None
                    if not started and ack_by is not None and now >= ack_by:
                        log.warning("the engine did not take %s in time; killing it as wedged", req.op)
                        engine.wedged = True
                        self._kill(engine)  # SIGKILL ends a stopped process too; the reader reaps it
                        ack_by = None
                    continue
                if kind == "close":
                    engine.killed_on_purpose = True
                    self._kill(engine)
                    continue
                if kind == "cancel":
                    if rid == req.id and not sent:
                        self._end_cancelled(req)  # the engine never saw it
                        return
                    if rid == req.id and kill_at is None:
                        kill_at = time.monotonic() + CANCEL_GRACE
                    continue
                if gen != engine.gen:
                    continue  # from an engine that is gone
                if kind == "ready":
                    if not sent:
                        self._send(engine, req)
                        sent, ack_by = True, time.monotonic() + ACK_TIMEOUT
                    continue
                if kind == "died":
                    self._on_died(engine, payload)
                    model = engine.model_died_with
                    raise Died(started, self._crash_message(req, engine, automatic), engine.exitcode,
                               first_compute and started and not engine.computed, model)
                if rid != req.id:
                    continue
                if kind == "started":
                    started = True
                    continue
                if req.op in COMPUTE_OPS:
                    engine.computed = True
                self._finish(req, engine, kind, payload, automatic)
                return
        finally:
            with self._lock:
                self._inflight = None
            if not engine.dead:
                self.state = EngineState.IDLE

    def _send(self, engine: EngineProcess, req: Request) -> None:
        """Write ``req`` to the engine's pipe; a big one under a watchdog, since a frozen engine never reads it."""
        data = bytes(ForkingPickler.dumps({"id": req.id, "op": req.op, **req.args}))
        watchdog = None
        if len(data) > SMALL_MESSAGE:
            watchdog = threading.Timer(ACK_TIMEOUT, self._kill_wedged, (engine,))
            watchdog.daemon = True
            watchdog.start()
        try:
            # a dead pipe: the reader reports the death. TypeError: the reader closed the connection
            # (its handle is None) between two chunks of a big write, after the watchdog's kill
            with contextlib.suppress(OSError, ValueError, TypeError):
                engine.conn.send_bytes(data)
        finally:
            if watchdog is not None:
                watchdog.cancel()

    def _kill_wedged(self, engine: EngineProcess) -> None:
        engine.wedged = True
        self._kill(engine)

    def _finish(self, req: Request, engine: EngineProcess, kind: str, payload: Any, automatic: bool = False) -> None:
        """The engine answered ``req``: update what is loaded, then tell the caller."""
        if req.op == "load":
            wanted = (req.args["path"], req.args["options"])
            if kind == "result":
                engine.model = wanted
                engine.computed = False  # its first compute is still to come
                self.wanted, self.info = wanted, payload
                if not automatic:
                    self.adapter = None  # a model chosen anew starts without an adapter
            else:  # the engine is left empty; the model wanted before stays wanted (the next request reloads it)
                engine.model = None
        elif req.op == "unload":
            engine.model = None
            self.wanted, self.info = None, None
            self.adapter = None
        elif req.op == "adapter" and kind == "result":
            self.adapter = AdapterSlot(req.args["path"], req.args["scale"]) if req.args["path"] else None
        if kind == "error":
            if req.stream is not None and req.cancel_requested and isinstance(payload, Interrupted):
                self._end_cancelled(req)
            else:
                self._end(req, error=payload)
        else:
            self._end(req, payload)

    def _on_died(self, engine: EngineProcess, exitcode: int | None) -> None:
        engine.dead = True
        engine.model_died_with = engine.model[0] if engine.model is not None else None
        engine.model = None
        engine.exitcode = exitcode
        self.state = EngineState.DEAD
        self._death_why = STOPPED if engine.killed_on_purpose or engine.wedged else CRASHED
        if not engine.killed_on_purpose and not self._closed:
            self.crashes += 1
        self._publish(EnginePhase.DEAD, engine.model_died_with or "")

    def _drain_events(self) -> None:
        """Handle what arrived while no request was in flight (an engine that died while idle)."""
        engine = self._engine
        while True:
            try:
                gen, kind, _rid, payload = self._events.get_nowait()
            except queue.Empty:
                return
            if engine is not None and kind == "died" and gen == engine.gen and not engine.dead:
                self._on_died(engine, payload)

    def _kill(self, engine: EngineProcess) -> None:
        with contextlib.suppress(Exception):
            engine.proc.kill()

    def _wait_dead(self, engine: EngineProcess) -> None:
        """Wait for the reader to report ``engine``'s death (it always does)."""
        deadline = time.monotonic() + 5.0
        while not engine.dead and time.monotonic() < deadline:
            try:
                gen, kind, _rid, payload = self._events.get(timeout=0.1)
            except queue.Empty:
                continue
            if kind == "died" and gen == engine.gen:
                self._on_died(engine, payload)

    def _shutdown(self) -> None:
        engine = self._engine
        if engine is not None and not engine.dead:
            engine.killed_on_purpose = True
            with contextlib.suppress(OSError, ValueError):
                engine.conn.send({"id": 0, "op": "shutdown"})
            engine.proc.join(2.0)
            self._kill(engine)
            engine.proc.join(2.0)
        self.state = EngineState.DEAD
        self._publish(EnginePhase.DEAD)
        with self._lock:
            left = list(self._queued)
        for req in left:
            self._end(req, error=EngineCrashed("The engine has been shut down."))

    # -- the reader: one per engine process ----------------------------------------------

    def _read(self, engine: EngineProcess) -> None:
        """Turn the engine's messages into events; tokens go straight to their stream."""
        exitcode: int | None = None
        try:
            while True:
                try:
                    kind, rid, payload = engine.conn.recv()
                except (EOFError, OSError):
                    break
                if kind == "ready":
                    engine.cpu = payload["cpu"]
                    self.cpu = engine.cpu
                    engine.ready = True  # before the event: the supervisor may look at the flag first
                    self._events.put((engine.gen, kind, rid, None))
                elif kind == "token":
                    engine.computed = True  # a token or a prompt step came back: the model's graph ran
                    req = self._inflight
                    if req is not None and req.id == rid and req.stream is not None:
                        req.stream._deliver(payload)
                else:
                    self._events.put((engine.gen, kind, rid, payload))
        except BaseException:
            log.exception("the engine reader failed; stopping the engine")
        finally:
            # the reader's death kills the engine: an engine nobody reads must not live on
            self._kill(engine)
            with contextlib.suppress(Exception):
                engine.proc.join(5.0)
                exitcode = engine.proc.exitcode
            with contextlib.suppress(Exception):
                engine.conn.close()
            self._events.put((engine.gen, "died", 0, exitcode))

    # -- crash messages ------------------------------------------------------------------

    def _crash_message(self, req: Request, engine: EngineProcess, automatic: bool) -> str:
        if engine.wedged:
            return wedged_message(ACK_TIMEOUT)
        return crash_message(req.op, req.args.get("path", "the model"), engine.exitcode,
                             log_errors(self._log_path, req.log_offset), automatic)


def _starter_path() -> str | None:
    """The starter model's file, the model known to run (None when it is not installed)."""
    from app.core.starter import starter_model_path

    try:
        return str(starter_model_path())
    except InklingError:
        return None
