"""A model served elsewhere, behind the same engine port as the local one.

``RemoteEngine`` speaks the OpenAI-compatible HTTP API (llama.cpp's server,
llama-cpp-python's, vLLM, Ollama, LM Studio): ``/v1/chat/completions`` and
``/v1/completions``, streamed as server-sent events (httpx + httpx-sse). All I/O
runs on one asyncio loop in a background thread, so no caller blocks:

- **Stop closes the stream.** ``cancel()`` cancels the request's task; closing
  the connection is what tells the server to stop generating.
- **Faults are typed, and nothing is lost.** Unreachable host, TLS failure, no
  first byte in time, a stall mid-reply (a watchdog), 401/403, 404, 429 with the
  server's retry time, 5xx, a line that is not JSON, the connection dropping: each
  ends the stream with its own error from ``app.core.errors``; the tokens that
  arrived stay in the stream's text. Secrets never appear in a message.
- **Capabilities are probed, not guessed** (``probe``): the models list,
  llama.cpp's ``/props``, Ollama's ``/api/show``, LM Studio's ``/api/v0/models``,
  and one-token requests that show whether probabilities really come back and
  whether ``/v1/completions`` and ``echo`` exist. Results are cached per model.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import random
import ssl
import threading
import time
import weakref
from collections.abc import Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import httpx
import httpx_sse

from app.core.adapters import AdapterInfo
from app.core.announcer import Announcer
from app.core.capabilities import Capabilities
from app.core.connections import Connection, parse_remote_ref, public_url, remote_ref, scrub, short_model_name
from app.core.engine_status import EnginePhase, EngineStatus, publish_status
from app.core.errors import (
    FeatureUnavailable,
    InklingError,
    NoModelLoaded,
    RemoteError,
    RemoteModelMissing,
    ServerDisconnected,
    ServerError,
    ServerProtocolError,
    ServerTimeout,
    ServerTLSError,
    ServerUnreachable,
)
from app.core.events import Alternative, Finished, LoadOptions, ModelInfo, ScoredToken, ScoreResult, Timings, TokenEvent
from app.core.ports import PeekResult
from app.core.sampling import SamplingSettings
from app.core.tools import ToolOffer
from app.engine import openai_api as api
from app.engine.stream import Listener, Stream

FALLBACK_NOTE = ("This server has no raw completion (/v1/completions), so the text was sent as the start of an "
                 "assistant reply in a chat instead; the model sees it through its chat template.")


log = logging.getLogger(__name__)


class RemoteEngine:
    """One connection's server as an EnginePort; ``load_async`` picks (and probes) a model there."""

    def __init__(self, connection: Connection, *, cache_path: Path | None = None, connect_timeout: float = 10.0,
                 first_byte_timeout: float = 120.0, stall_timeout: float = 30.0) -> None:
        self.connection = connection
        self.cache_path = cache_path
        self.connect_timeout = connect_timeout
        self.first_byte_timeout = first_byte_timeout
        self.stall_timeout = stall_timeout
        self.info: ModelInfo | None = None
        self.model = ""
        self.capabilities = Capabilities(server="openai")
        self._vocab: dict[str, int] = {}
        self._model_records: list[dict[str, Any]] = []
        self._echo_misaligned = False
        self._probed: Capabilities | None = None  # what the probe found, before the user's overrides
        self._memory_cache: dict[str, Any] = {}
        self._counts: dict[str, int] = {}  # token counts of texts on the chosen model (fitting asks often)
        self._templates: dict[tuple[str, bool], tuple[int, int]] = {}  # what the chat template adds, per model
        self._active: Stream | None = None
        self._requests: weakref.WeakKeyDictionary[Stream, Future[None]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.status = EngineStatus()  # changed only on this engine's event-loop thread
        self.status_changed: Announcer[[EngineStatus]] = Announcer()
        """Told each new ``status`` (loading, reading the prompt, writing, idle), on the event-loop thread."""

    def _publish(self, phase: EnginePhase, model: str = "") -> None:
        publish_status(self, EngineStatus(phase, model))

    def _publish_idle(self) -> None:
        """Idle with the chosen model, or "dead" (nothing to answer with) while none is chosen."""
        if self.info is not None:
            self._publish(EnginePhase.IDLE, self.info.path)
        else:
            self._publish(EnginePhase.DEAD)

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return None

    @property
    def label(self) -> str:
        return self.connection.label

    @property
    def root(self) -> str:
        """The server's address without ``/v1`` (where /props and /api/... live)."""
        return self.connection.base_url.removesuffix("/v1")

    def start(self) -> Future[None]:
        """Start the I/O thread (it also starts on the first request); the Future is already done."""
        with self._lock:
            if self._thread is None:
                self._ready.clear()
                self._thread = threading.Thread(target=self._run_loop, name="inkling-remote", daemon=True)
                self._thread.start()
        self._ready.wait()
        started: Future[None] = Future()
        started.set_result(None)
        return started

    parallel_sequences = 1  # a server makes one text per request here

    def _run_loop(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._client = self._make_client()
        self._loop = loop
        self._ready.set()
        loop.run_forever()
        loop.close()

    def _make_client(self) -> httpx.AsyncClient:
        headers = {"Accept": "application/json"}
        headers.update(dict(self.connection.headers))
        if self.connection.api_key:
            headers["Authorization"] = f"Bearer {self.connection.api_key}"
        return httpx.AsyncClient(
            headers=headers, follow_redirects=False,
            timeout=httpx.Timeout(connect=self.connect_timeout, read=None, write=30.0, pool=30.0),
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=4))

    def reconfigure(self, connection: Connection) -> None:
        """The user edited the connection: new address, key or headers apply to the next request."""
        old, self.connection = self.connection, connection
        if (old.base_url, old.api_key, old.headers) != (connection.base_url, connection.api_key, connection.headers):
            self._model_records = []
            self._counts, self._templates = {}, {}  # maybe another server: count afresh
            if self._loop is not None:
                self._submit(self._swap_client())  # runs before any later request on the same loop
        if self.model and self._probed is not None:
            self.capabilities = self._probed.overridden(dict(connection.overrides))
        if self.info is not None and not self.capabilities.context:  # the context the user gives, for fitting
            self.info = dataclasses.replace(self.info, context=connection.context)

    async def _swap_client(self) -> None:
        old, self._client = self._client, self._make_client()
        if old is not None:
            await old.aclose()

    def test_async(self) -> Future[tuple[list[str], Capabilities]]:
        """List the server's models and probe the current (or first) one afresh."""
        async def test() -> tuple[list[str], Capabilities]:
            models = await self._list_models()
            if not models:
                raise RemoteModelMissing(self.label, "the server answers but lists no models.")
            model = self.model if self.model in models else models[0]
            caps = await self._probe_cached(model, fresh=True)
            if model == self.model:
                self.capabilities = caps
            return models, caps
        return self._submit(self._guard(test()))

    def close(self) -> None:
        """Stop any stream, close the connections and the I/O thread."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop, self._thread = None, None
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(5.0)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5.0)

    async def _shutdown(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def _submit(self, coro: Coroutine[Any, Any, Any]) -> Future[Any]:
        self.start()
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    # -- models -------------------------------------------------------------------------

    def list_models_async(self) -> Future[list[str]]:
        return self._submit(self._guard(self._list_models()))

    def probe_async(self, model: str, *, fresh: bool = True) -> Future[Capabilities]:
        """What the server can do with ``model`` (cached per model; ``fresh`` asks again)."""
        return self._submit(self._guard(self._probe_cached(model, fresh)))

    def load_async(self, path: str, options: LoadOptions | None = None) -> Future[ModelInfo]:
        """Choose ``path`` (a ``remote:`` reference or a model id) on this server and probe it."""
        ref = parse_remote_ref(path)
        model = ref[1] if ref is not None else path
        return self._submit(self._guard(self._load(model)))

    async def _load(self, model: str) -> ModelInfo:
        self._publish(EnginePhase.LOADING, remote_ref(self.connection.id, model) if model else "")
        try:
            return await self._load_model(model)
        finally:
            self._publish_idle()

    async def _load_model(self, model: str) -> ModelInfo:
        models = await self._list_models()
        if not model:
            if not models:
                raise RemoteModelMissing(self.label, "the server lists no models.")
            model = models[0]
        elif models and model not in models:
            raise RemoteModelMissing(self.label, f"the model {model} is not served there. The server has: "
                                                 f"{', '.join(short_model_name(m) for m in models[:5])}.")
        if model != self.model:
            self._counts.clear()  # another tokenizer
        self.model = model
        caps = await self._probe_cached(model, fresh=False)
        self.capabilities = caps
        self.info = ModelInfo(
            path=remote_ref(self.connection.id, model), name=f"{short_model_name(model)} · {self.label}",
            architecture=caps.server, parameters=0, quantization="", file_size=0, context_trained=caps.context,
            context=caps.context or self.connection.context, vocab_size=0, has_chat_template=True, chat_template_note="",
            gpu_offload_supported=False, gpu_layers=0, n_threads=0)
        return self.info

    async def _list_models(self) -> list[str]:
        data = await self._json("GET", f"{self.connection.base_url}/models")
        items = data.get("data", data.get("models", [])) if isinstance(data, dict) else []
        self._model_records = [m for m in items if isinstance(m, dict)]
        return [str(m.get("id") or m.get("name")) for m in self._model_records if m.get("id") or m.get("name")]

    # -- generation ---------------------------------------------------------------------

    def chat(self, messages: list[dict[str, str]], sampling: SamplingSettings | None = None, *,
             alternatives: int = 0, listener: Listener | None = None, continue_last: bool = False,
             tools: ToolOffer | None = None) -> Stream:
        settings = sampling or SamplingSettings()
        params, not_applied = api.sampling_params(settings, self.capabilities)
        body: dict[str, Any] = {"model": self.model, "messages": list(messages), "stream": True, **params}
        if tools is not None and tools.tools:
            body.update(tools=list(tools.tools), tool_choice=tools.api_choice())
        if continue_last and messages and messages[-1].get("role") == "assistant":
            body.update(self._prefill_fields())
        return self._start(body, "chat", settings, alternatives, listener, not_applied, "")

    def complete(self, prompt: str, sampling: SamplingSettings | None = None, *,
                 alternatives: int = 0, listener: Listener | None = None, suffix: str = "",
                 memory: str = "", sequences: int = 1) -> Stream:
        """Raw continuation via /v1/completions; on a chat-only server, chat with the text as assistant prefill.

        ``memory`` opens the prompt. ``sequences`` above ``parallel_sequences`` (1) still makes one text.
        """
        if memory.strip():
            prompt = memory.strip() + "\n\n" + prompt
        settings = sampling or SamplingSettings()
        params, not_applied = api.sampling_params(settings, self.capabilities)
        if not self.capabilities.raw_completion:
            body = {"model": self.model, "messages": [{"role": "assistant", "content": prompt}], "stream": True,
                    **params, **self._prefill_fields()}
            return self._start(body, "chat", settings, alternatives, listener, not_applied, FALLBACK_NOTE)
        body = {"model": self.model, "prompt": prompt, "stream": True, **params}
        if suffix:
            body["suffix"] = suffix
        return self._start(body, "completions", settings, alternatives, listener, not_applied, "")

    def _prefill_fields(self) -> dict[str, Any]:
        # vLLM continues the last message only when told; llama.cpp's server does it by itself
        return {"continue_final_message": True, "add_generation_prompt": False} if self.capabilities.server == "vllm" else {}

    def _start(self, body: dict[str, Any], endpoint: str, settings: SamplingSettings, alternatives: int,
               listener: Listener | None, not_applied: tuple[str, ...], note: str) -> Stream:
        caps = self.capabilities
        if settings.seed is None and "seed" in caps.samplers:
            body["seed"] = random.randrange(2**31)  # reported back, so a reply can be reproduced
        k = min(alternatives, caps.max_alternatives) if caps.alternatives else 0
        if k > 0:
            if endpoint == "chat":
                body.update(logprobs=True, top_logprobs=k)
            else:
                body["logprobs"] = k
        body.update(self.connection.extra)
        stream = Stream(self._cancel_stream, listener, not_applied=not_applied, note=note)
        self.cancel()  # one stream at a time, like the local engine
        with self._lock:
            self._active = stream
        if not self.model:
            stream._deliver(NoModelLoaded())
            return stream
        self._requests[stream] = self._submit(self._run_stream(stream, endpoint, body))
        return stream

    def _cancel_stream(self, stream: Stream) -> None:
        """Stop: the request's task is cancelled, which closes the connection."""
        stream.cancel_requested = True
        request = self._requests.get(stream)
        if request is not None:
            request.cancel()

    def cancel(self) -> None:
        with self._lock:
            active = self._active
        if active is not None and not active.done:
            active.cancel()

    async def _run_stream(self, stream: Stream, endpoint: str, body: dict[str, Any]) -> None:
        url = f"{self.connection.base_url}/{endpoint}/completions" if endpoint == "chat" else \
            f"{self.connection.base_url}/completions"
        parse = api.chat_tokens if endpoint == "chat" else api.completion_tokens
        marks = api.ReasoningMarks()  # a server's separate reasoning, put back between thinking markers
        started = time.perf_counter()
        first = 0.0
        count = 0
        reason = ""
        usage: dict[str, Any] = {}
        calls = api.ToolCallDeltas()  # a server's structured tool calls, assembled from their deltas

        def finished(why: str, error: str = "") -> Finished:
            now = time.perf_counter()
            timings = Timings(prompt_tokens=int(usage.get("prompt_tokens", 0) or 0),
                              prompt_evaluated=int(usage.get("prompt_tokens", 0) or 0),
                              generated_tokens=int(usage.get("completion_tokens", 0) or count),
                              generation_ms=(now - first) * 1000 if first else 0.0,
                              first_token_ms=(first - started) * 1000 if first else 0.0)
            return Finished(why, stream.text, timings, seed=body.get("seed"), not_applied=stream.not_applied,  # type: ignore[arg-type]
                            note=stream.note, error=error, tool_calls=calls.parts())

        loop = asyncio.get_running_loop()
        model = self.info.path if self.info is not None else ""
        self._publish(EnginePhase.READING, model)  # a server says nothing while it reads: until the first token
        try:
            # the watchdog: first_byte_timeout until the first event (connecting included), then stall_timeout
            async with asyncio.timeout(self.first_byte_timeout) as watchdog, \
                    httpx_sse.aconnect_sse(self._http(), "POST", url, json=body) as source:
                response = source.response
                if response.status_code != 200:
                    raw = await response.aread()
                    raise api.http_error(self.label, response.status_code, response.reason_phrase, raw,
                                         dict(response.headers), self.model)
                async for sse in source.aiter_sse():
                    if first:
                        watchdog.reschedule(loop.time() + self.stall_timeout)
                    if sse.data.strip() == "[DONE]":
                        break
                    chunk = self._decode(sse.data)
                    if chunk.get("usage"):
                        usage = chunk["usage"]
                    for choice in chunk.get("choices") or []:
                        if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                            continue
                        text, tokens = parse(choice)
                        reasoning = marks.reasoning(api.chat_reasoning(choice)) if endpoint == "chat" else ""
                        if reasoning:
                            stream._deliver(TokenEvent(reasoning, api.intern_id(self._vocab, reasoning)))
                        marked = marks.content(text)
                        if marked != text:  # the answer begins: the thinking's close goes before it
                            stream._deliver(TokenEvent(marked[: len(marked) - len(text)], -1))
                        if calls.add(choice) and not first:
                            first = time.perf_counter()
                            self._publish(EnginePhase.WRITING, model)
                            watchdog.reschedule(loop.time() + self.stall_timeout)
                        if text or tokens or reasoning:
                            if not first:
                                first = time.perf_counter()
                                self._publish(EnginePhase.WRITING, model)
                                watchdog.reschedule(loop.time() + self.stall_timeout)
                            count += (max(1, len(tokens)) if text else 0) + bool(reasoning)
                            for event in self._token_events(text, tokens):
                                stream._deliver(event)
                        if choice.get("finish_reason"):
                            reason = "length" if choice["finish_reason"] == "length" else "stop"
                            calls.finished = calls.finished or choice["finish_reason"] == "tool_calls"
            if not reason:  # llama-cpp-python's server does this to a stream when another request arrives
                raise ServerDisconnected(self.label, "the server ended the reply early without saying why (some "
                                                     "servers cut a reply off when another request arrives). What "
                                                     "arrived is kept.")
            stream._deliver(finished(reason))  # type: ignore[arg-type]
        except asyncio.CancelledError:
            stream._deliver(finished("cancelled"))
        except TimeoutError:
            if first:
                stream._deliver(ServerTimeout(self.label, f"the reply stalled: nothing arrived for "
                                                          f"{self.stall_timeout:g} s after {count} tokens. What "
                                                          "arrived is kept; try again."))
            else:
                stream._deliver(ServerTimeout(self.label, f"no answer within {self.first_byte_timeout:g} s. The "
                                                          "server may be busy or the prompt very long; try again."))
        except InklingError as exc:
            stream._deliver(self._scrubbed(exc))
        except Exception as exc:  # httpx and httpx-sse failures become typed errors
            stream._deliver(self._scrubbed(self._transport_error(exc, started_streaming=bool(first))))
        finally:
            with self._lock:
                if self._active is stream:
                    self._active = None
                last = self._active is None  # a newer stream has published its own status
            if last:
                self._publish_idle()

    def _decode(self, data: str) -> dict[str, Any]:
        try:
            chunk = json.loads(data)
        except ValueError:
            shown = data.strip()[:80]
            raise ServerProtocolError(self.label, f"the server sent a line that is not JSON ({shown!r}). What "
                                                  "arrived before it is kept.") from None
        if not isinstance(chunk, dict):
            raise ServerProtocolError(self.label, "the server sent a reply that is not a JSON object.")
        if "error" in chunk and not chunk.get("choices"):
            raise ServerError(self.label, f"the server reported an error mid-reply: "
                                          f"{api.server_message(data.encode())}. What arrived is kept.")
        return chunk

    def _token_events(self, text: str, tokens: list[tuple[str, float | None, list[tuple[str, float]]]]) -> list[TokenEvent]:
        vocab = self._vocab

        def alts(items: list[tuple[str, float]]) -> tuple[Alternative, ...]:
            return tuple(Alternative(t, api.intern_id(vocab, t), p) for t, p in items)

        if tokens and "".join(t for t, _, _ in tokens) == text:
            return [TokenEvent(t, api.intern_id(vocab, t), p, alts(a)) for t, p, a in tokens]
        if tokens:
            _, p, a = tokens[0]
            return [TokenEvent(text, api.intern_id(vocab, text), p, alts(a))]
        return [TokenEvent(text, api.intern_id(vocab, text))] if text else []

    # -- probabilities, scoring, counting ---------------------------------------------------

    def set_adapter_async(self, path: str | None, scale: float = 1.0) -> Future[AdapterInfo]:
        """Refused: a server loads its own adapters; Inkling can't put one on the model it runs."""
        fut: Future[AdapterInfo] = Future()
        if not path:
            fut.set_result(AdapterInfo())  # "none" is what a server's model already has, as far as Inkling knows
        else:
            fut.set_exception(FeatureUnavailable("adapters", self.capabilities.why_not("adapters")))
        return fut

    def peek_async(self, messages: list[dict[str, str]] | None = None, prompt: str | None = None,
                   top: int = 64) -> Future[PeekResult]:
        """The likeliest next tokens as (text, id, log-probability), 0.0 (they are normalised), no spread."""
        return self._submit(self._guard(self._peek(messages, prompt, top)))

    async def _peek(self, messages: list[dict[str, str]] | None, prompt: str | None,
                    top: int) -> PeekResult:
        import math

        caps = self.capabilities
        self._require_model()
        if not caps.alternatives:
            raise FeatureUnavailable("alternatives", caps.why_not("alternatives"))
        k = max(1, min(top, caps.max_alternatives))
        if messages is not None or not caps.raw_completion:
            msgs = messages if messages is not None else [{"role": "assistant", "content": prompt or ""}]
            body = {"model": self.model, "messages": msgs, "max_tokens": 1, "temperature": 0, "logprobs": True,
                    "top_logprobs": k, **self.connection.extra}
            data = await self._json("POST", f"{self.connection.base_url}/chat/completions", body)
            _, tokens = api.chat_tokens(self._first_choice(data, chat=True))
        else:
            body = {"model": self.model, "prompt": prompt or "", "max_tokens": 1, "temperature": 0, "logprobs": k,
                    **self.connection.extra}
            data = await self._json("POST", f"{self.connection.base_url}/completions", body)
            _, tokens = api.completion_tokens(self._first_choice(data, chat=False))
        if not tokens or not tokens[0][2]:
            raise FeatureUnavailable("alternatives", "The server sent no token probabilities for this request.")
        return PeekResult([(t, api.intern_id(self._vocab, t), math.log(max(p, 1e-30))) for t, p in tokens[0][2]], 0.0)

    def _first_choice(self, data: Any, *, chat: bool) -> dict[str, Any]:
        choices = data.get("choices") if isinstance(data, dict) else None
        if not choices or not isinstance(choices[0], dict):
            raise ServerProtocolError(self.label, "the server's answer has no choices.")
        choice = dict(choices[0])
        if chat and "message" in choice:
            choice["delta"] = choice["message"]
        return choice

    def score_async(self, text: str, top: int = 1) -> Future[ScoreResult]:
        return self._submit(self._guard(self._score(text, top)))

    async def _score(self, text: str, top: int) -> ScoreResult:
        import math

        caps = self.capabilities
        self._require_model()
        if not caps.scoring:
            raise FeatureUnavailable("scoring", caps.why_not("scoring"))
        body = {"model": self.model, "prompt": text, "max_tokens": 1, "temperature": 0, "echo": True,
                "logprobs": max(1, min(top, caps.max_alternatives)), **self.connection.extra}
        data = await self._json("POST", f"{self.connection.base_url}/completions", body)
        choice = self._first_choice(data, chat=False)
        lp = choice.get("logprobs") or {}
        offsets = lp.get("text_offset") or []
        _, tokens = api.completion_tokens(choice)
        scored = []
        for i, (tok, prob, alts) in enumerate(tokens):
            if i < len(offsets) and offsets[i] >= len(text):
                break  # the generated token after the text
            expected = tuple(Alternative(t, api.intern_id(self._vocab, t), p) for t, p in alts[:top])
            logprob = math.log(prob) if prob else None
            scored.append(ScoredToken(tok, api.intern_id(self._vocab, tok), logprob if i else None, expected))
        return ScoreResult(tuple(scored))

    def count_text_async(self, text: str) -> Future[int]:
        """Tokens of ``text`` (no start token): the server's tokenizer where it has one, else an estimate."""
        return self._submit(self._guard(self._count(text)))

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        return self.count_tokens_async(messages).result()

    def count_tokens_async(self, messages: list[dict[str, str]]) -> Future[int]:
        """Tokens of a chat's prompt on this server (what ``app.core.fitting`` fits a long chat with).

        No OpenAI-compatible server counts a *chat* (its template is applied inside), so this is
        each message's text counted by the server's tokenizer (``_count``) plus what the template
        adds, measured once per model from the ``usage.prompt_tokens`` of two one-token chats
        (``_template_cost``): exact for templates that wrap each message the same way (ChatML,
        Llama 3, Gemma…). A server that reports no usage gets the estimate of 4 tokens a message.
        """
        msgs = [dict(m) for m in messages]

        async def count() -> int:
            system = bool(msgs) and msgs[0].get("role") == "system"
            base, per_message = await self._template_cost(system)
            texts = [await self._count(m.get("content", "")) for m in msgs]
            return base + per_message * len(msgs) + sum(texts)
        return self._submit(self._guard(count()))

    async def _count(self, text: str) -> int:
        """Tokens of ``text``, counted by the server's tokenizer, or estimated where it has none.

        llama.cpp's server has ``/tokenize``, llama-cpp-python's ``/extras/tokenize/count``,
        vLLM ``/tokenize``; Ollama, LM Studio and OpenAI proper have none, so there it is
        about four characters a token (an estimate, said so here and nowhere exact). A
        tokenizer that adds a start token counts it once in ``""``, which is taken off.
        """
        if not text:
            return 0
        cache = self._counts
        if text in cache:
            return cache[text]
        exact = await self._tokenizer_count(text)
        if exact is None:
            return max(1, round(len(text) / 4))  # the estimate: no tokenizer on this server
        if "" not in cache:
            cache[""] = await self._tokenizer_count("") or 0
        if len(cache) > 4096:
            cache.clear()
        cache[text] = count = max(exact - cache.get("", 0), 0)
        return count

    async def _tokenizer_count(self, text: str) -> int | None:
        """The server tokenizer's count of ``text`` (start token included where it adds one), None without one."""
        server = self.capabilities.server
        with contextlib.suppress(RemoteError, KeyError, TypeError, ValueError):
            if server == "llama-cpp-python":
                data = await self._json("POST", f"{self.root}/extras/tokenize/count", {"input": text, "model": self.model})
                return int(data["count"])
            if server == "llama.cpp":
                data = await self._json("POST", f"{self.root}/tokenize", {"content": text})
                return len(data["tokens"])
            if server == "vllm":
                data = await self._json("POST", f"{self.root}/tokenize", {"model": self.model, "prompt": text})
                return int(data.get("count", len(data.get("tokens", []))))
        return None

    async def _template_cost(self, system: bool) -> tuple[int, int]:
        """(tokens the chat template adds once, tokens it adds per message), measured once per model.

        The prompt of [user] and of [user, assistant, user] (each "Hi"), with a system message
        first when the chat has one (a template may add a default system prompt otherwise),
        as the server's ``usage.prompt_tokens`` counts them. Without usage: (0, 4), an estimate.
        """
        key = (self.model, system)
        known = self._templates.get(key)
        if known is not None:
            return known
        head = [{"role": "system", "content": "Hi"}] if system else []
        one = [*head, {"role": "user", "content": "Hi"}]
        three = [*one, {"role": "assistant", "content": "Hi"}, {"role": "user", "content": "Hi"}]
        cost = (0, 4)
        try:
            p1, p3 = await self._prompt_tokens(one), await self._prompt_tokens(three)
        except RemoteError:
            p1 = p3 = 0
        if p1 and p3 > p1:
            hi = await self._count("Hi")
            per_message = round((p3 - p1 - 2 * hi) / 2)
            cost = (p1 - len(one) * (hi + per_message), per_message)
        self._templates[key] = cost
        return cost

    async def _prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        body = {"model": self.model, "messages": messages, "max_tokens": 1, "temperature": 0, **self.connection.extra}
        data = await self._json("POST", f"{self.connection.base_url}/chat/completions", body)
        usage = data.get("usage") if isinstance(data, dict) else None
        return int((usage or {}).get("prompt_tokens") or 0)

    def _require_model(self) -> None:
        if not self.model:
            raise NoModelLoaded()

    # -- probe ----------------------------------------------------------------------------

    async def _probe_cached(self, model: str, fresh: bool) -> Capabilities:
        cache = self._read_cache()
        key = f"{self.connection.base_url}|{model}"
        if not fresh and key in cache:
            caps = Capabilities.from_dict(cache[key])
        else:
            caps = await self._probe(model)
            cache[key] = caps.to_dict()
            self._write_cache(cache)
        if model == self.model or not self.model:
            self._probed = caps
        return caps.overridden(dict(self.connection.overrides))

    async def _probe(self, model: str) -> Capabilities:
        if not self._model_records:
            await self._list_models()
        record = next((m for m in self._model_records if m.get("id") == model), {})
        server, context = "openai", 0
        if record.get("owned_by") == "vllm":
            server = "vllm"
            context = int(record.get("max_model_len") or 0)
        elif record.get("owned_by") == "me" and "permissions" in record:
            server = "llama-cpp-python"
        props = await self._try_json("GET", f"{self.root}/props")
        if isinstance(props, dict) and ("default_generation_settings" in props or "chat_template" in props):
            server = "llama.cpp"
            settings = props.get("default_generation_settings") or {}
            context = int(settings.get("n_ctx") or props.get("n_ctx") or 0)
        if server == "openai":
            show = await self._try_json("POST", f"{self.root}/api/show", {"model": model})
            if isinstance(show, dict) and "model_info" in show:
                server = "ollama"
                info = show.get("model_info") or {}
                context = int(next((v for k, v in info.items() if k.endswith("context_length")), 0) or 0)
        if server == "openai":
            listing = await self._try_json("GET", f"{self.root}/api/v0/models")
            if isinstance(listing, dict) and isinstance(listing.get("data"), list):
                server = "lmstudio"
                entry = next((m for m in listing["data"] if isinstance(m, dict) and m.get("id") == model), {})
                context = int(entry.get("loaded_context_length") or entry.get("max_context_length") or 0)
        notes: list[tuple[str, str]] = []
        self._echo_misaligned = False
        chat_alts = await self._probe_chat(model)
        raw, comp_alts, scoring = await self._probe_completions(model)
        if not raw:
            notes.append(("raw_completion", "This server has no /v1/completions: Write continues your text through "
                                            "chat with the document as the start of the reply."))
        alternatives = chat_alts and (comp_alts or not raw)
        if not alternatives:
            notes.append(("alternatives", "This server accepts the request but sends no token probabilities, so "
                                          "alternatives, the token inspector and the next-token chart are off."))
        if not scoring and self._echo_misaligned:
            notes.append(("scoring", "This server's log-probabilities for a given text are misaligned by one token "
                                     "(a known llama-cpp-python server bug), so surprise shading is off."))
        elif not scoring:
            notes.append(("scoring", "This server can't score a given text (no echo with log-probabilities), "
                                     "so surprise shading is off."))
        grammar = server in ("llama.cpp", "llama-cpp-python", "vllm")
        if not grammar:
            notes.append(("grammar", "This server takes no grammar or JSON schema."))
        return Capabilities(chat=True, raw_completion=raw, alternatives=alternatives, scoring=scoring,
                            grammar=grammar, max_alternatives=api.MAX_ALTERNATIVES.get(server, 20),
                            samplers=api.samplers_of(server), context=context, server=server, notes=tuple(notes))

    async def _probe_chat(self, model: str) -> bool:
        body = {"model": model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1, "temperature": 0,
                "logprobs": True, "top_logprobs": 3}
        try:
            data = await self._json("POST", f"{self.connection.base_url}/chat/completions", body)
        except ServerError:
            return False
        _, tokens = api.chat_tokens(self._first_choice(data, chat=True))
        return bool(tokens and tokens[0][2])

    async def _probe_completions(self, model: str) -> tuple[bool, bool, bool]:
        """(raw completion exists, probabilities come back, echo scores the prompt correctly).

        A counting sequence is near-certain after its first numbers, so correctly aligned
        log-probabilities of its last tokens are close to 0. llama-cpp-python 0.3's server
        scores each echoed token with the prediction for the *next* position; that shows
        up here as very unlikely tokens, and scoring is then reported as off.
        """
        prompt = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12"
        body = {"model": model, "prompt": prompt, "max_tokens": 1, "temperature": 0, "logprobs": 3, "echo": True}
        url = f"{self.connection.base_url}/completions"
        try:
            data = await self._json("POST", url, body)
        except RemoteModelMissing:
            return False, False, False  # 404: no such endpoint
        except ServerError as exc:
            if "404" in exc.message or "405" in exc.message:
                return False, False, False
            body.pop("echo")
            try:
                data = await self._json("POST", url, body)
            except ServerError:
                return False, False, False
            _, tokens = api.completion_tokens(self._first_choice(data, chat=False))
            return True, bool(tokens and tokens[0][2]), False
        choice = self._first_choice(data, chat=False)
        _, tokens = api.completion_tokens(choice)
        echoed = str(choice.get("text", "")).startswith(prompt) and len(tokens) >= 8
        if echoed:
            tail = sorted(p or 0.0 for _, p, _ in tokens[-7:-1])  # the prompt's last tokens, not the generated one
            self._echo_misaligned = tail[len(tail) // 2] < 0.1
            echoed = not self._echo_misaligned
        return True, bool(tokens and any(t[2] for t in tokens)), echoed

    def _read_cache(self) -> dict[str, Any]:
        if self.cache_path is None:
            return self._memory_cache
        try:
            data = json.loads(self.cache_path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _write_cache(self, cache: dict[str, Any]) -> None:
        if self.cache_path is None:
            self._memory_cache = cache
            return
        with contextlib.suppress(OSError):
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            self.cache_path.write_text(json.dumps(cache, indent=1), encoding="utf-8")

    # -- HTTP -------------------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        assert self._client is not None
        return self._client

    async def _json(self, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        try:
            async with asyncio.timeout(self.first_byte_timeout):
                response = await self._http().request(method, url, json=body)
        except TimeoutError:
            raise ServerTimeout(self.label, f"no answer within {self.first_byte_timeout:g} s.") from None
        except InklingError:
            raise
        except Exception as exc:
            raise self._transport_error(exc, started_streaming=False) from None
        if response.status_code != 200:
            raise api.http_error(self.label, response.status_code, response.reason_phrase, response.content,
                                 dict(response.headers), str((body or {}).get("model", self.model)))
        try:
            return response.json()
        except ValueError:
            raise ServerProtocolError(self.label, f"{public_url(url)} did not answer with JSON.") from None

    async def _try_json(self, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        """A request that is allowed to fail (probing for one kind of server)."""
        try:
            async with asyncio.timeout(min(5.0, self.first_byte_timeout)):
                response = await self._http().request(method, url, json=body)
            return response.json() if response.status_code == 200 else None
        except Exception:
            return None

    async def _guard(self, coro: Coroutine[Any, Any, Any]) -> Any:
        try:
            return await coro
        except InklingError as exc:
            raise self._scrubbed(exc) from None
        except Exception as exc:
            raise self._scrubbed(self._transport_error(exc, started_streaming=False)) from None

    def _transport_error(self, exc: BaseException, *, started_streaming: bool) -> InklingError:
        where = public_url(self.connection.base_url)
        if _is_tls(exc):
            return ServerTLSError(self.label, f"the secure connection to {where} failed ({_reason(exc)}). Check "
                                              "the address (http:// or https://) and the server's certificate.")
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
            return ServerUnreachable(self.label, f"can't connect to {where} ({_reason(exc)}). Check the address "
                                                 "and that the server is running.")
        if isinstance(exc, httpx_sse.SSEError):
            return ServerProtocolError(self.label, f"the server did not answer with an event stream ({_reason(exc)}).")
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.NetworkError)):
            if started_streaming:
                return ServerDisconnected(self.label, "the server closed the connection part-way through the reply "
                                                      "(it may have crashed or restarted). What arrived is kept.")
            return ServerDisconnected(self.label, f"the server closed the connection ({_reason(exc)}).")
        if isinstance(exc, httpx.TimeoutException):
            return ServerTimeout(self.label, f"the server did not answer in time ({_reason(exc)}).")
        if isinstance(exc, httpx.HTTPError):
            return ServerError(self.label, f"the request failed ({_reason(exc)}).")
        return ServerError(self.label, f"unexpected failure: {type(exc).__name__}: {exc}")

    def _scrubbed(self, exc: InklingError) -> InklingError:
        hidden = self.connection.secrets
        if isinstance(exc, RemoteError) and hidden:
            exc.message = scrub(exc.message, hidden)
            exc.args = (exc.args[0], exc.message, *exc.args[2:])
        return exc


def _is_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "CERTIFICATE" in str(seen).upper() or "SSL" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:160]
