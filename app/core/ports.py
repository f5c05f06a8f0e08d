"""The interfaces (ports) the UI talks to. The UI never imports the engine or models packages.

Any backend that implements ``EnginePort`` (the local llama.cpp engine, a remote
OpenAI-compatible server) can drive the window.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from app.core.adapters import AdapterInfo
from app.core.announcer import Announcer
from app.core.capabilities import Capabilities
from app.core.engine_status import EngineStatus
from app.core.errors import InklingError
from app.core.events import Finished, LoadOptions, ModelInfo, ScoreResult, TokenEvent
from app.core.sampling import SamplingSettings
from app.core.tools import McpServerConfig, ToolOffer, ToolSpec

StreamEvent = TokenEvent | Finished | InklingError
Listener = Callable[[StreamEvent], None]


class PeekResult(NamedTuple):
    """The likeliest next tokens, the one shape of ``peek_async`` for every engine.

    ``candidates`` are (text, token id, logit); ``log_normaliser`` turns a logit into a
    log-probability (0.0 where the engine already gives log-probabilities, as a server does);
    ``spread`` is the standard deviation of all logits (what top-nσ measures against), None
    where the engine cannot know it.
    """

    candidates: list[tuple[str, int, float]]
    log_normaliser: float
    spread: float | None = None


class StreamPort(Protocol):
    """A running generation."""

    finished: Finished | None
    not_applied: tuple[str, ...]
    """Settings the engine did not apply to this request (a server that ignores one); () when all were."""
    note: str
    """How the request was served differently from what was asked ("" when it was not)."""

    @property
    def done(self) -> bool: ...

    @property
    def text(self) -> str: ...

    def cancel(self) -> None: ...


class EnginePort(Protocol):
    """What the window needs from an engine. Listeners are called on a background thread."""

    info: ModelInfo | None
    status: EngineStatus
    """What the engine is doing now (changed only by the engine's own thread)."""
    status_changed: Announcer[[EngineStatus]]
    """Told each new EngineStatus (idle, loading, reloading after a crash, writing, dead), on a background thread."""

    @property
    def capabilities(self) -> Capabilities:
        """What this backend can do with the loaded model (panes enable or explain from it)."""
        ...

    @property
    def pid(self) -> int | None: ...

    @property
    def parallel_sequences(self) -> int:
        """How many texts ``complete`` makes side by side in one request (1: one at a time)."""
        ...

    def start(self) -> Future[None]:
        """Start the engine in the background; the Future is done when it can take requests."""
        ...

    def load_async(self, path: str, options: LoadOptions | None = None) -> Future[ModelInfo]: ...

    def chat(self, messages: list[dict[str, str]], sampling: SamplingSettings | None = None, *,
             alternatives: int = 0, listener: Listener | None = None,
             continue_last: bool = False, tools: ToolOffer | None = None) -> StreamPort: ...

    def complete(self, prompt: str, sampling: SamplingSettings | None = None, *,
                 alternatives: int = 0, listener: Listener | None = None, suffix: str = "",
                 memory: str = "", sequences: int = 1) -> StreamPort:
        """Continue ``prompt``. ``memory`` stays in the model's view before it; ``sequences`` up to
        ``parallel_sequences`` makes that many texts side by side (events carry ``sequence``)."""
        ...

    def count_text_async(self, text: str) -> Future[int]:
        """Tokens of a plain text, as this engine counts them (no start token)."""
        ...

    def count_tokens_async(self, messages: list[dict[str, str]]) -> Future[int]:
        """Tokens of a chat's prompt as this engine renders it; with ``info.context``, what
        ``app.core.fitting`` fits a chat or a document with, above the port."""
        ...

    def score_async(self, text: str, top: int = 1) -> Future[ScoreResult]: ...

    def peek_async(self, messages: list[dict[str, str]] | None = None, prompt: str | None = None,
                   top: int = 64) -> Future[PeekResult]: ...

    def set_adapter_async(self, path: str | None, scale: float = 1.0) -> Future[AdapterInfo]:
        """Put a GGUF LoRA on the loaded model at ``scale`` (None or empty: take it off) without reloading it.

        The engine drops its cached prompt (``AdapterInfo.cache_dropped``). Fails with ``AdapterError``
        (the reason read from the adapter's metadata) for one made for another base model, and with
        ``FeatureUnavailable`` where the backend can't take one (``capabilities.adapters``)."""
        ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ModelEntry:
    """A model the user can choose: enough to list it without loading it."""

    path: str
    name: str
    size: int
    builtin: bool = False
    architecture: str = ""
    parameters: int = 0
    quantization: str = ""
    context_length: int = 0
    has_chat_template: bool = False
    error: str = ""  # non-empty: the file is broken, and why
    kv_bytes_per_token: int = 0  # from the header: what a token of context costs (for the fit badge)
    kind: str = "chat"  # from the header: "chat", "embedding" (for sources, not for chatting) or "adapter"


class ModelCatalogPort(Protocol):
    """The models on this computer."""

    def entries(self) -> list[ModelEntry]: ...


class ModelManagerPort(Protocol):
    """The model manager as the Models pane sees it (app.models.manager implements it)."""

    on_download_update: Callable[[Any], None] | None

    def entries(self) -> list[ModelEntry]: ...
    def import_file(self, path: Path, copy: bool) -> Path: ...
    def delete(self, path: Path) -> None: ...
    def add_folder(self, folder: Path) -> None: ...
    def discover(self) -> list[tuple[str, Path]]: ...
    def offline(self) -> bool: ...
    def catalog(self) -> list[Any]: ...
    def search(self, query: str, sort: str, kind: str = "chat") -> list[Any]: ...
    def repo_files(self, repo_id: str) -> Any: ...
    def fit(self, group: Any, n_ctx: int, free_vram: int = 0) -> Any: ...
    def fit_entry(self, entry: ModelEntry, n_ctx: int, free_vram: int = 0) -> Any: ...
    def recommend(self, groups: list[Any], n_ctx: int, free_vram: int = 0) -> str | None: ...
    def download(self, files: Any, group: Any, kind: str = "chat") -> list[Any]: ...
    def local_file(self, files: Any, group: Any, kind: str = "chat") -> Path | None: ...
    def embedding_choice(self) -> Any: ...
    def set_embedding_choice(self, choice: Any) -> None: ...
    def restore_downloads(self) -> list[Any]: ...
    def control(self, download_id: int, action: str) -> None: ...


class TrainerPort(Protocol):
    """What the Train pane needs: what can be trained on, the job to run, then base vs adapted.

    A source of text is an ``app.train.documents.TextSource`` (a file, a Write document, a
    collection); the job (``job()``'s target and args) runs on the ``JobRunnerPort``.
    """

    def missing(self) -> str:
        """Why training can't run here (the extra is not installed), or ''."""
        ...

    def adapters_folder(self) -> Path: ...

    def write_documents(self) -> list[Any]:
        """Write's documents as ``TextSource``s, newest first."""
        ...

    def collections(self) -> list[Any]:
        """The source collections as ``TextSource``s."""
        ...

    def job(self, base: str, out: str, sources: list[Any], settings: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The training job's target and args for ``JobRunnerPort.start``."""
        ...

    def before_after(self, base: str, adapter: str, text: str, opening: str) -> dict[str, Any]:
        """Perplexity of ``text`` and a temperature-0 continuation of ``opening``, without and with the adapter."""
        ...


class JobHandlePort(Protocol):
    """One background job in its own process (``JobRunnerPort.start``'s answer)."""

    name: str

    @property
    def done(self) -> bool:
        """The job has ended (its ``JobEnded`` was told)."""
        ...

    @property
    def paused(self) -> bool:
        """A pause was asked for and not yet undone (the job stops at its next safe point)."""
        ...

    def result(self, timeout: float | None = None) -> Any:
        """Wait for the end: the job's value, or raise its typed error (``JobCancelled``, ``JobCrashed``…)."""
        ...

    def cancel(self) -> None:
        """Ask the job to stop at its next safe point; kill its process if it has not a grace period later."""
        ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...


class JobRunnerPort(Protocol):
    """Starts long work that is not a reply (Compare, indexing, training) in a child process.

    ``target`` is ``"package.module:function"``, called in the child as ``fn(args, ctx)``
    (``ctx.progress(done, total, message)``, ``ctx.should_stop()``, ``ctx.wait_if_paused()``);
    ``on_event`` gets its ``JobEvent``s on a background thread. A crash of the child is a
    ``JobCrashed`` for that job only.
    """

    def start(self, target: str, args: dict[str, Any], on_event: Callable[[Any], None] | None = None, *,
              name: str = "") -> JobHandlePort: ...


class ToolRunPort(Protocol):
    """What a tool call gives back (``app.core.tools.ToolOutcome``): its text, and whether it failed."""

    text: str
    is_error: bool


class ToolHostPort(Protocol):
    """The MCP tool servers (``app.engine.mcp_host.McpHost``): list their tools, run a call, stop it.

    Every method returns at once with a Future; ``cancel()`` on a call's Future stops the tool.
    A failure is a typed ``ToolError`` (timeout, the server exited, not JSON, too large).
    """

    @property
    def servers(self) -> list[McpServerConfig]: ...

    problems: dict[str, str]
    """Server name -> why it did not start at the last listing."""

    def set_servers(self, servers: list[McpServerConfig]) -> None: ...

    def tools_async(self, names: list[str] | None = None) -> Future[list[ToolSpec]]: ...

    def test_async(self, name: str) -> Future[list[ToolSpec]]: ...

    def call_async(self, tool: str, arguments: dict[str, Any]) -> Future[ToolRunPort]: ...

    def close(self) -> None: ...
