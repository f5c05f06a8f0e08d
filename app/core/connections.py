"""Connections to model servers elsewhere (OpenAI-compatible APIs), saved as data.

A connection is a name, a base URL, an optional API key, optional extra headers
and optional "extra JSON" passed through with every request. The API key and the
header values are secrets: they live in their own file that only the user can
read (0600), never in ``connections.json``, logs, exports or error messages.

A remote model is referred to as ``remote:<connection id>:<model id>`` wherever a
local model would be a file path (a chat remembers it, the selector lists it).

``ConnectionStore`` is the only writer of the saved connections: the Servers tab
forwards what the person asked for (add, edit, remove, a badge override, the
outcome of a test) and renders what the store announces, and the window follows
the same announcements to list each server's models.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from app.core.announcer import Announcer
from app.core.capabilities import Capabilities
from app.core.errors import InvalidSetting, StorageError
from app.core.ports import ModelEntry

REF_PREFIX = "remote:"


def remote_ref(connection_id: str, model_id: str) -> str:
    """How a remote model is named where a local one is a path."""
    return f"{REF_PREFIX}{connection_id}:{model_id}"


def parse_remote_ref(ref: str) -> tuple[str, str] | None:
    """(connection id, model id) of a remote reference; None for a local path."""
    if not ref.startswith(REF_PREFIX):
        return None
    conn, sep, model = ref[len(REF_PREFIX):].partition(":")
    return (conn, model) if sep and conn else None


def normalise_url(url: str) -> str:
    """The API root: ``http://host:8000`` and ``http://host:8000/v1/`` both become ``http://host:8000/v1``."""
    url = url.strip()
    if not url:
        raise InvalidSetting("Enter the server's address, like http://localhost:8000/v1")
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidSetting(f"{public_url(url)} is not an http:// or https:// address")
    if parts.username or parts.password:
        raise InvalidSetting("Put the API key in the key field, not in the address")
    path = parts.path.rstrip("/")
    if not path.endswith("/v1"):
        path += "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def public_url(url: str) -> str:
    """An address safe to show: no user name, password or query string."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        return "(unreadable address)"


def short_model_name(model_id: str) -> str:
    """A model id as a person reads it (llama-cpp-python's server names models by their file path)."""
    return model_id.rsplit("/", 1)[-1] if model_id.endswith(".gguf") else model_id


@dataclass(frozen=True)
class Connection:
    """One server. ``overrides`` are the user's capability badges (feature -> on/off)."""

    id: str
    name: str
    base_url: str
    api_key: str = field(default="", repr=False)
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    extra_json: str = ""
    overrides: tuple[tuple[str, bool], ...] = ()
    models: tuple[str, ...] = ()  # what the server listed when last asked (shown without asking again)
    context: int = 0  # the server's context in tokens, as the user gave it (0: unknown); a server that says wins

    def __post_init__(self) -> None:
        if self.extra_json.strip():
            try:
                extra = json.loads(self.extra_json)
            except ValueError as exc:
                raise InvalidSetting(f"The extra JSON is not valid JSON: {exc}") from None
            if not isinstance(extra, dict):
                raise InvalidSetting("The extra JSON must be an object, like {\"top_a\": 0.1}")

    @property
    def label(self) -> str:
        return self.name or public_url(self.base_url)

    @property
    def extra(self) -> dict[str, Any]:
        return json.loads(self.extra_json) if self.extra_json.strip() else {}

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every value that must never be shown or written outside the secrets file."""
        return tuple(s for s in (self.api_key, *(v for _, v in self.headers)) if len(s) >= 4)

    def replace(self, **changes: Any) -> Connection:
        return dataclasses.replace(self, **changes)

    @staticmethod
    def new(name: str, base_url: str, api_key: str = "", headers: dict[str, str] | None = None,
            extra_json: str = "") -> Connection:
        return Connection(secrets.token_hex(4), name.strip(), normalise_url(base_url), api_key.strip(),
                          tuple((headers or {}).items()), extra_json.strip())


def scrub(text: str, hidden: tuple[str, ...]) -> str:
    """``text`` with every secret replaced by dots (for messages built from a server's answer)."""
    for value in hidden:
        if value:
            text = text.replace(value, "•••")
    return text


HIDDEN = "•••"  # how a saved header value is shown back in a form (and means "keep it" when sent back)


def parse_headers(text: str, base: Connection | None = None) -> dict[str, str]:
    """Headers written one per line as ``Name: value``; a value left as ``•••`` keeps ``base``'s."""
    headers: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise InvalidSetting(f"Write each header as 'Name: value' (not {line.strip()[:40]!r})")
        value = value.strip()
        if value == HIDDEN and base is not None:  # unchanged: the saved value is kept
            value = dict(base.headers).get(name.strip(), "")
        headers[name.strip()] = value
    return headers


@dataclass(frozen=True)
class ConnectionsChange:
    """What changed, for the connection with ``id``."""

    kind: Literal["added", "edited", "removed", "tested", "test_failed"]
    id: str


class ConnectionStore(Announcer[[ConnectionsChange]]):
    """The saved connections (``connections.json`` plus a 0600 secrets file beside it) and what tests found.

    Every change goes through :meth:`add`, :meth:`edit`, :meth:`remove`, :meth:`override`,
    :meth:`tested` or :meth:`test_failed`; each writes the files first (a failed write raises
    ``StorageError`` and changes nothing) and then announces a ``ConnectionsChange``.
    What the last test found (``capabilities``) and why it failed (``failures``) are kept
    for this run only.
    """

    def __init__(self, path: Path, secrets_path: Path) -> None:
        super().__init__()
        self.path = path
        self.secrets_path = secrets_path
        self._connections: list[Connection] | None = None  # read when first asked for
        self.capabilities: dict[str, Capabilities] = {}  # what the last test found, per connection id
        self.failures: dict[str, str] = {}  # why the last test failed, per connection id (until one succeeds)

    # -- what is saved -------------------------------------------------------------------

    @property
    def connections(self) -> list[Connection]:
        if self._connections is None:
            self._connections = self.load()
        return list(self._connections)

    def get(self, connection_id: str) -> Connection | None:
        return next((c for c in self.connections if c.id == connection_id), None)

    # -- changes -------------------------------------------------------------------------

    def add(self, name: str, base_url: str, api_key: str = "", headers: str = "", extra_json: str = "") -> Connection:
        """A new connection from what the person typed (``headers``: one ``Name: value`` a line)."""
        conn = Connection.new(name, base_url, api_key, parse_headers(headers), extra_json)
        self._commit([*self.connections, conn], ConnectionsChange("added", conn.id))
        return conn

    def edit(self, connection_id: str, name: str, base_url: str, api_key: str = "", headers: str = "",
             extra_json: str = "") -> Connection:
        """Change a connection; an empty key and headers left as ``•••`` keep what was saved.

        The models it listed are kept while the address stays the same; its last test's
        findings are dropped when anything that reaches the server changed.
        """
        base = self._existing(connection_id)
        key = api_key.strip() or base.api_key
        fresh = Connection.new(name, base_url, key, parse_headers(headers, base), extra_json)
        same_server = fresh.base_url == base.base_url
        conn = base.replace(name=fresh.name, base_url=fresh.base_url, api_key=key, headers=fresh.headers,
                            extra_json=fresh.extra_json, models=base.models if same_server else ())
        if _reach(conn) != _reach(base):
            self.capabilities.pop(conn.id, None)
        self._commit([conn if c.id == conn.id else c for c in self.connections], ConnectionsChange("edited", conn.id))
        return conn

    def remove(self, connection_id: str) -> None:
        self._commit([c for c in self.connections if c.id != connection_id], ConnectionsChange("removed", connection_id),
                     forget=connection_id)

    def override(self, connection_id: str, feature: str, on: bool) -> None:
        """The person's badge: use ``on`` for ``feature`` whatever the probe found."""
        conn = self._existing(connection_id)
        overrides = dict(conn.overrides)
        overrides[feature] = on
        if connection_id in self.capabilities:
            self.capabilities[connection_id] = self.capabilities[connection_id].overridden({feature: on})
        conn = conn.replace(overrides=tuple(overrides.items()))
        self._commit([conn if c.id == conn.id else c for c in self.connections],
                     ConnectionsChange("edited", connection_id))

    def tested(self, tested: Connection, models: list[str], capabilities: Capabilities) -> bool:
        """A test of ``tested`` (the connection as it was sent) succeeded; False if it no longer applies.

        A result for a connection removed, or edited to reach another server, since the
        test began is dropped: its models belong to the server that was asked.
        """
        conn = self._current(tested)
        if conn is None:
            return False
        self.capabilities[conn.id] = capabilities
        self.failures.pop(conn.id, None)
        change = ConnectionsChange("tested", conn.id)
        if tuple(models) != conn.models:
            conn = conn.replace(models=tuple(models))
            self._commit([conn if c.id == conn.id else c for c in self.connections], change)
        else:
            self._announce(change)
        return True

    def test_failed(self, tested: Connection, reason: str) -> bool:
        """A test of ``tested`` failed (``reason`` is shown as is); False if it no longer applies."""
        conn = self._current(tested)
        if conn is None:
            return False
        self.failures[conn.id] = reason
        self._announce(ConnectionsChange("test_failed", conn.id))
        return True

    def _existing(self, connection_id: str) -> Connection:
        conn = self.get(connection_id)
        if conn is None:
            raise InvalidSetting("That connection was removed")
        return conn

    def _current(self, tested: Connection) -> Connection | None:
        conn = self.get(tested.id)
        return conn if conn is not None and _reach(conn) == _reach(tested) else None

    def _commit(self, connections: list[Connection], change: ConnectionsChange, forget: str = "") -> None:
        try:
            self.save(connections)
        except OSError as exc:
            raise StorageError(f"Could not save the connections: {exc.strerror or exc}") from None
        self._connections = connections
        if forget:
            self.capabilities.pop(forget, None)
            self.failures.pop(forget, None)
        self._announce(change)

    # -- files ---------------------------------------------------------------------------

    def load(self) -> list[Connection]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        try:
            hidden = json.loads(self.secrets_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            hidden = {}
        out = []
        for item in data.get("connections", []):
            try:
                secret = hidden.get(item["id"], {})
                out.append(Connection(
                    id=str(item["id"]), name=str(item.get("name", "")), base_url=str(item["base_url"]),
                    api_key=str(secret.get("api_key", "")),
                    headers=tuple((str(k), str(v)) for k, v in secret.get("headers", [])),
                    extra_json=str(item.get("extra_json", "")),
                    overrides=tuple((str(k), bool(v)) for k, v in item.get("overrides", [])),
                    models=tuple(str(m) for m in item.get("models", [])),
                    context=int(item.get("context", 0) or 0),
                ))
            except (KeyError, TypeError, ValueError, InvalidSetting):
                continue  # one damaged entry does not lose the others
        return out

    def save(self, connections: list[Connection]) -> None:
        public = {"version": 1, "connections": [
            {"id": c.id, "name": c.name, "base_url": c.base_url, "extra_json": c.extra_json,
             "overrides": [list(o) for o in c.overrides], "models": list(c.models),
             **({"context": c.context} if c.context else {})} for c in connections]}
        hidden = {c.id: {"api_key": c.api_key, "headers": [list(h) for h in c.headers]} for c in connections}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _write_private(self.secrets_path, json.dumps(hidden, indent=2))
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(public, indent=2), encoding="utf-8")
        os.replace(tmp, self.path)


def _reach(conn: Connection) -> tuple[object, ...]:
    """What decides which server answers, and how: a test's result holds while these stay the same."""
    return conn.base_url, conn.api_key, conn.headers, conn.extra_json


def _write_private(path: Path, text: str) -> None:
    """Write a file only the user can read, created so from the start (no window where it is 0644)."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o600)  # an older tmp file may have had wider bits
    os.replace(tmp, path)


def remote_entries(connections: list[Connection]) -> list[ModelEntry]:
    """Each connection's models as the model selector lists them ("model-id · name")."""
    return [ModelEntry(path=remote_ref(c.id, m), name=f"{short_model_name(m)} · {c.label}", size=0)
            for c in connections for m in c.models]
