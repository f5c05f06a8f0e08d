"""Tools over MCP, the Qt-free half: server configs, tool specs, calls parsed from a reply, approvals, history.

- ``parse_mcp_config`` reads the ``mcpServers`` JSON that Claude Desktop, LM Studio,
  Jan and the others write (a stdio server has ``command``/``args``/``env``; an HTTP
  one has ``url``/``headers``), so their file can be imported as is.
- ``ToolSpec`` is one tool a server offers, in the OpenAI ``tools`` form a template
  or a server takes.
- ``parse_tool_calls`` finds the calls in a finished reply's text, in the forms
  models are trained on: Hermes/Qwen ``<tool_call>{json}</tool_call>``, Mistral
  ``[TOOL_CALLS][...]`` and Llama 3.x's bare JSON (``<|python_tag|>`` optional).
  A server's structured ``tool_calls`` arrive already parsed (``Finished.tool_calls``).
- ``ToolApprovals`` remembers, per chat, the tools the person said to always allow.
- ``history_entries`` turns stored tool call / result parts back into the messages a
  template or an API expects (an assistant message with ``tool_calls``, a ``tool``
  message with the result).

Nothing here runs a tool: that is ``app.engine.mcp_host.McpHost`` behind ``ToolHostPort``.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import ToolConfigError
from app.core.parts import Part, TextPart, ToolCallPart, ToolResultPart

MAX_RESULT_CHARS = 200_000
"""A tool result longer than this is refused with an error card (a model's context could not hold it anyway)."""
DEFAULT_TIMEOUT = 60.0
"""Seconds a tool may take before its call is ended as hung."""
REFUSED = "The person refused this tool call; it did not run. Answer without it."
STOPPED = "The person stopped this tool call before it finished."


@dataclass(frozen=True)
class McpServerConfig:
    """One entry of ``mcpServers``: a command to run (stdio) or a URL (streamable HTTP)."""

    name: str
    command: str = ""
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    cwd: str = ""
    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    disabled: bool = False

    @property
    def transport(self) -> str:
        return "http" if self.url else "stdio"

    def describe(self) -> str:
        """What it runs, in one line ("python server.py" or the URL)."""
        return self.url or " ".join((self.command, *self.args))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"url": self.url} if self.url else {"command": self.command, "args": list(self.args)}
        if self.env:
            data["env"] = dict(self.env)
        if self.cwd:
            data["cwd"] = self.cwd
        if self.headers:
            data["headers"] = dict(self.headers)
        if self.disabled:
            data["disabled"] = True
        return data


def _str_pairs(value: Any, what: str, name: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise ToolConfigError(f"server {name!r}: {what} must be an object of names to text")
    return tuple((str(k), str(v)) for k, v in value.items())


def parse_mcp_config(text: str) -> list[McpServerConfig]:
    """The servers of an ``mcpServers`` JSON file (Claude Desktop's, LM Studio's, Jan's: the same shape)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ToolConfigError(f"it is not valid JSON ({e.msg} at line {e.lineno})") from None
    if isinstance(data, dict) and "mcpServers" in data:
        data = data["mcpServers"]
    elif isinstance(data, dict) and "servers" in data:  # VS Code's mcp.json says "servers"
        data = data["servers"]
    if not isinstance(data, dict):
        raise ToolConfigError('it has no "mcpServers" object')
    servers = []
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise ToolConfigError(f"server {name!r} is not an object")
        url = str(entry.get("url") or entry.get("serverUrl") or "")
        command = str(entry.get("command") or "")
        if not url and not command:
            raise ToolConfigError(f'server {name!r} has neither a "command" nor a "url"')
        args = entry.get("args") or []
        if not isinstance(args, list):
            raise ToolConfigError(f'server {name!r}: "args" must be a list')
        servers.append(McpServerConfig(
            name=str(name), command=command, args=tuple(str(a) for a in args),
            env=_str_pairs(entry.get("env"), '"env"', name), cwd=str(entry.get("cwd") or ""), url=url,
            headers=_str_pairs(entry.get("headers"), '"headers"', name), disabled=bool(entry.get("disabled"))))
    return servers


def mcp_config_json(servers: list[McpServerConfig]) -> str:
    """The ``mcpServers`` JSON of ``servers`` (what ``parse_mcp_config`` reads back)."""
    return json.dumps({"mcpServers": {s.name: s.to_json() for s in servers}}, indent=2)


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool call gave back (an MCP server's or a built-in's): its text (plain, never markup), and whether
    the tool said it failed. The shape of ``ToolRunPort``."""

    text: str
    is_error: bool = False


@dataclass(frozen=True)
class ToolSpec:
    """One tool a server offers: its name, what it does, the JSON schema of its arguments."""

    server: str
    name: str
    description: str = ""
    input_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry (what chat templates and servers take)."""
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.input_schema}}


def openai_tools(specs: list[ToolSpec]) -> list[dict[str, Any]]:
    return [s.to_openai() for s in specs]


@dataclass(frozen=True)
class ToolOffer:
    """The tools a request offers the model, and whether it must call one.

    ``choice`` is OpenAI's ``tool_choice``: "auto" (the model decides), "required" (it must
    call one: locally a grammar holds it to ``<tool_call>{...}</tool_call>``) or a tool's name.
    """

    tools: tuple[dict[str, Any], ...]
    choice: str = "auto"

    @classmethod
    def of(cls, specs: list[ToolSpec], choice: str = "auto") -> ToolOffer:
        return cls(tuple(openai_tools(specs)), choice)

    @property
    def names(self) -> set[str]:
        return {str(t.get("function", {}).get("name")) for t in self.tools}

    def api_choice(self) -> Any:
        """The ``tool_choice`` field of an OpenAI request."""
        if self.choice in ("auto", "required", "none"):
            return self.choice
        return {"type": "function", "function": {"name": self.choice}}

    def forced(self) -> list[dict[str, Any]]:
        """The tools the model must choose among (none when it may answer freely)."""
        if self.choice == "required":
            return list(self.tools)
        if self.choice in ("auto", "none"):
            return []
        return [t for t in self.tools if t.get("function", {}).get("name") == self.choice]


# -- finding calls in a reply ------------------------------------------------------------

_HERMES = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
_MISTRAL = re.compile(r"\[TOOL_CALLS\]\s*(.*)$", re.S)
_MISTRAL_V11 = re.compile(r"\[TOOL_CALLS\]\s*([A-Za-z0-9_.\-]+)\s*\[ARGS\]\s*(\{.*\})", re.S)


def new_call_id() -> str:
    return "call_" + uuid.uuid4().hex[:12]


def _call_from(obj: Any) -> ToolCallPart | None:
    """A call from one decoded JSON object: {"name", "arguments" | "parameters"} (or OpenAI's "function")."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict):
        obj = {**obj["function"], "id": obj.get("id", "")}
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        return None
    args = obj.get("arguments", obj.get("parameters", {}))
    arguments = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
    return ToolCallPart(name, arguments, str(obj.get("id") or new_call_id()))


def _decoded(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


@dataclass(frozen=True)
class ParsedReply:
    """A reply split into the text the person reads and the calls the model asked for."""

    text: str
    calls: tuple[ToolCallPart, ...] = ()
    malformed: str = ""  # a call-shaped block that could not be read (said in the reply, never run)


def parse_tool_calls(text: str, known: set[str] | None = None) -> ParsedReply:
    """The tool calls in ``text`` and the text around them.

    ``known`` are the names of the tools offered: a bare JSON object (Llama 3.x) is a call
    only when it names one of them, so a reply that merely shows JSON stays text.
    """
    if "<tool_call>" in text:
        calls, bad = [], ""
        for block in _HERMES.findall(text):
            call = _call_from(_decoded(block))
            if call is None:
                bad = block
            else:
                calls.append(call)
        before = text[: text.index("<tool_call>")].rstrip()
        return ParsedReply(before, tuple(calls), bad)
    if "[TOOL_CALLS]" in text:
        before = text[: text.index("[TOOL_CALLS]")].rstrip()
        v11 = _MISTRAL_V11.search(text)
        if v11:
            call = _call_from({"name": v11.group(1), "arguments": _decoded(v11.group(2)) or {}})
            return ParsedReply(before, (call,) if call else ())
        body = _MISTRAL.search(text)
        data = _decoded(body.group(1).strip()) if body else None
        items = data if isinstance(data, list) else [data]
        calls = [c for c in (_call_from(d) for d in items) if c is not None]
        return ParsedReply(before, tuple(calls), "" if calls else (body.group(1) if body else ""))
    stripped = text.strip()
    if stripped.startswith("<|python_tag|>"):
        stripped = stripped[len("<|python_tag|>"):].strip()
    if stripped.startswith("{") and known:
        data = _decoded(stripped)
        call = _call_from(data)
        if call is not None and call.name in known:
            return ParsedReply("", (call,))
    return ParsedReply(text)


def arguments_of(call: ToolCallPart) -> dict[str, Any]:
    """A call's arguments as an object; raises ToolArgumentsError when the model wrote something else."""
    from app.core.errors import ToolArgumentsError

    data = _decoded(call.arguments or "{}")
    if not isinstance(data, dict):
        raise ToolArgumentsError(call.name, call.arguments)
    return data


# -- approvals ---------------------------------------------------------------------------

@dataclass
class ToolApprovals:
    """The tools a person said to always allow, per chat (for this run of Inkling)."""

    always: dict[int, set[str]] = field(default_factory=dict)

    def allowed(self, chat_id: int, tool: str) -> bool:
        return tool in self.always.get(chat_id, set())

    def allow_always(self, chat_id: int, tool: str) -> None:
        self.always.setdefault(chat_id, set()).add(tool)


# -- history -----------------------------------------------------------------------------

def has_tool_parts(parts: tuple[Part, ...]) -> bool:
    return any(isinstance(p, ToolCallPart | ToolResultPart) for p in parts)


def history_entries(role: str, parts: tuple[Part, ...]) -> list[dict[str, Any]]:
    """The messages a stored message with tool parts is sent back as (OpenAI's shape).

    An assistant message: its text and ``tool_calls``. A ``tool`` message: one entry per result.
    """
    text = "".join(p.text for p in parts if isinstance(p, TextPart))
    calls = [p for p in parts if isinstance(p, ToolCallPart)]
    results = [p for p in parts if isinstance(p, ToolResultPart)]
    out: list[dict[str, Any]] = []
    if role == "assistant":
        entry: dict[str, Any] = {"role": "assistant", "content": text}
        if calls:
            entry["tool_calls"] = [{"id": c.call_id, "type": "function",
                                    "function": {"name": c.name, "arguments": c.arguments}} for c in calls]
        out.append(entry)
    for r in results:
        out.append({"role": "tool", "tool_call_id": r.call_id, "name": r.name,
                    "content": f"Error: {r.content}" if r.is_error else r.content})
    return out


def hermes_system_text(tools: list[dict[str, Any]]) -> str:
    """The tool section Hermes/Qwen templates write, for a template that has none of its own."""
    lines = "\n".join(json.dumps(t, ensure_ascii=False) for t in tools)
    return ("# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
            "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
            f"{lines}\n</tools>\n\nFor each function call, return a json object with function name and arguments "
            "within <tool_call></tool_call> XML tags:\n<tool_call>\n"
            '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>')


def as_plain_messages(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    """Messages with tool calls and results written out as Hermes text, for a template without tool support.

    The tool list goes into the system message; a call becomes ``<tool_call>{json}</tool_call>`` in the
    assistant's text; a result becomes a user message in ``<tool_response>`` tags (Qwen's own convention).
    """
    out: list[dict[str, str]] = []
    if tools:
        section = hermes_system_text(tools)
        if messages and messages[0].get("role") == "system":
            out.append({"role": "system", "content": f"{messages[0].get('content') or ''}\n\n{section}".strip()})
            messages = messages[1:]
        else:
            out.append({"role": "system", "content": section})
    for m in messages:
        content = str(m.get("content") or "")
        if m.get("role") == "tool":
            out.append({"role": "user", "content": f"<tool_response>\n{content}\n</tool_response>"})
            continue
        for call in m.get("tool_calls") or ():
            fn = call.get("function", {})
            args = _decoded(fn.get("arguments") or "{}")
            payload = json.dumps({"name": fn.get("name"), "arguments": args if args is not None else {}},
                                 ensure_ascii=False)
            content = f"{content}\n<tool_call>\n{payload}\n</tool_call>".lstrip("\n")
        out.append({"role": str(m.get("role")), "content": content})
    return out


def template_takes_tools(template: str | None) -> bool:
    """Whether a chat template renders a ``tools`` list itself (Qwen, Llama 3.x, Mistral, Hermes… do)."""
    return bool(template) and re.search(r"\btools\b", template or "") is not None
