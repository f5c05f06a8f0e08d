"""One engine port over the local engine and every connected server: the one place the backend switches.

The window holds an ``EngineSwitch`` as its engine. Loading a file path uses the
local llama.cpp engine; loading ``remote:<connection>:<model>`` uses that
connection's ``RemoteEngine``. Every other call of the port goes to whichever was loaded
last, so panes never know which kind of backend answers — they read
``capabilities`` to enable a feature or say why it is off. The local engine is
left as it is while a remote model is in use (a fault there never touches it).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.adapters import AdapterInfo
from app.core.announcer import Announcer
from app.core.capabilities import Capabilities
from app.core.connections import Connection, parse_remote_ref
from app.core.engine_status import EngineStatus
from app.core.errors import InklingError
from app.core.events import LoadOptions, ModelInfo, ScoreResult
from app.core.ports import PeekResult
from app.core.sampling import SamplingSettings

if TYPE_CHECKING:
    from app.engine.remote import RemoteEngine


class EngineSwitch:
    """Delegates the EnginePort to the local engine or to one connection's server."""

    def __init__(self, local: Any, connections: Callable[[], list[Connection]], cache_path: Path | None = None,
                 **remote_options: Any) -> None:
        self.local = local
        self._connections = connections
        self._cache_path = cache_path
        self._remote_options = remote_options
        self._remotes: dict[str, RemoteEngine] = {}
        self.active: Any = local
        self.status_changed: Announcer[[EngineStatus]] = Announcer()
        """The active backend's ``EngineStatus`` changes (a remote server publishes none yet)."""
        local.status_changed.subscribe(lambda status: self._on_backend_status(local, status))

    def _on_backend_status(self, engine: Any, status: EngineStatus) -> None:
        if engine is self.active:  # a backend out of use keeps its status to itself
            self.status_changed._announce(status)

    @property
    def status(self) -> EngineStatus:
        """What the active backend is doing."""
        return self.active.status  # type: ignore[no-any-return]

    # -- which backend -------------------------------------------------------------------

    def remote(self, connection: Connection) -> RemoteEngine:
        """The engine for ``connection`` (told about edits to it)."""
        engine = self._remotes.get(connection.id)
        if engine is None:
            from app.engine.remote import RemoteEngine  # httpx and asyncio: imported when a server is first used

            engine = RemoteEngine(connection, cache_path=self._cache_path, **self._remote_options)
            engine.status_changed.subscribe(lambda status, e=engine: self._on_backend_status(e, status))
            self._remotes[connection.id] = engine
        elif engine.connection != connection:
            engine.reconfigure(connection)
        return engine

    def update(self, connections: list[Connection]) -> None:
        """The saved connections changed: edited ones apply at once, removed ones close."""
        by_id = {c.id: c for c in connections}
        for cid in list(self._remotes):
            if cid not in by_id:
                self.forget(cid)
            else:
                self.remote(by_id[cid])

    def test_connection(self, connection: Connection) -> Future[tuple[list[str], Capabilities]]:
        """List a server's models and probe what it can do (the Models pane's Test button)."""
        return self.remote(connection).test_async()

    def forget(self, connection_id: str) -> None:
        """A connection was removed or edited: close its engine (the next use makes a new one)."""
        engine = self._remotes.pop(connection_id, None)
        if engine is not None:
            if engine is self.active:
                self.active = self.local
            engine.close()

    @property
    def capabilities(self) -> Capabilities:
        return self.active.capabilities  # type: ignore[no-any-return]

    @property
    def info(self) -> ModelInfo | None:
        return self.active.info  # type: ignore[no-any-return]

    @property
    def pid(self) -> int | None:
        return self.local.pid  # type: ignore[no-any-return]

    def start(self) -> Future[None]:
        return self.local.start()  # type: ignore[no-any-return]

    def load_async(self, path: str, options: LoadOptions | None = None) -> Future[ModelInfo]:
        ref = parse_remote_ref(str(path))
        if ref is None:
            self._switch_to(self.local)
            return self.local.load_async(path, options)  # type: ignore[no-any-return]
        connection = next((c for c in self._connections() if c.id == ref[0]), None)
        if connection is None:
            fut: Future[ModelInfo] = Future()
            fut.set_exception(InklingError("That server connection was removed. Add it again in Models → "
                                           "Connections, or choose another model."))
            return fut
        engine = self.remote(connection)
        self._switch_to(engine)
        return engine.load_async(path, options)

    def _switch_to(self, engine: Any) -> None:
        if engine is not self.active:
            self.active.cancel()
            self.active = engine
            self.status_changed._announce(self.status)

    # -- everything else goes to the active backend ------------------------------------------

    def chat(self, messages: list[dict[str, str]], sampling: SamplingSettings | None = None, *,
             alternatives: int = 0, listener: Any = None, continue_last: bool = False, tools: Any = None) -> Any:
        if tools is None:
            return self.active.chat(messages, sampling, alternatives=alternatives, listener=listener,
                                    continue_last=continue_last)
        return self.active.chat(messages, sampling, alternatives=alternatives, listener=listener,
                                continue_last=continue_last, tools=tools)

    def complete(self, prompt: str, sampling: SamplingSettings | None = None, *,
                 alternatives: int = 0, listener: Any = None, suffix: str = "", memory: str = "",
                 sequences: int = 1) -> Any:
        return self.active.complete(prompt, sampling, alternatives=alternatives, listener=listener, suffix=suffix,
                                    memory=memory, sequences=sequences)

    @property
    def parallel_sequences(self) -> int:
        """Texts the active backend makes side by side in one request (1: one at a time)."""
        return self.active.parallel_sequences  # type: ignore[no-any-return]

    def count_text_async(self, text: str) -> Future[int]:
        return self.active.count_text_async(text)  # type: ignore[no-any-return]

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        return self.active.count_tokens(messages)  # type: ignore[no-any-return]

    def count_tokens_async(self, messages: list[dict[str, str]]) -> Future[int]:
        return self.active.count_tokens_async(messages)  # type: ignore[no-any-return]

    def score_async(self, text: str, top: int = 1) -> Future[ScoreResult]:
        return self.active.score_async(text, top)  # type: ignore[no-any-return]

    def peek_async(self, messages: list[dict[str, str]] | None = None, prompt: str | None = None,
                   top: int = 64) -> Future[PeekResult]:
        return self.active.peek_async(messages=messages, prompt=prompt, top=top)  # type: ignore[no-any-return]

    def set_adapter_async(self, path: str | None, scale: float = 1.0) -> Future[AdapterInfo]:
        """The active backend takes it (a server refuses with ``FeatureUnavailable``)."""
        return self.active.set_adapter_async(path, scale)  # type: ignore[no-any-return]

    def cancel(self) -> None:
        self.active.cancel()

    def close(self) -> None:
        for engine in self._remotes.values():
            engine.close()
        self._remotes.clear()
        self.local.close()

    # Nothing else is forwarded: what only the local engine has (tokenize, unload, last_prompt,
    # crashes...) is asked of ``self.local`` by name, so a question never reaches the idle
    # local engine while a server answers.
