"""``inkling chat --mcp FILE [--yes]``: a chat reply that may call the tools of an ``mcpServers`` file.

Each call the model asks for is shown on stderr and run only when the person
answers "y" on the terminal (``--yes`` allows every call). The result is sent back
and the model goes on; stdout gets only the model's words (never the call's markup).
A tool's failure (timeout, a server that exits, bad JSON, too much text) is told to
the model as an error and printed on stderr; the chat still ends with an answer.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from app.core.errors import ToolConfigError, ToolError
from app.core.parts import TextPart, ToolCallPart, ToolResultPart
from app.core.sampling import SamplingSettings
from app.core.tool_turn import MAX_ROUNDS
from app.core.tools import REFUSED, ToolOffer, arguments_of, history_entries, parse_tool_calls
from app.engine.mcp_host import START_TIMEOUT, McpHost


def _ask_terminal(question: str) -> bool:
    sys.stderr.write(question)
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def chat_with_tools(client: Any, messages: list[dict[str, Any]], settings: SamplingSettings, config: str, *,
                    yes: bool = False, choice: str = "auto", out: TextIO = sys.stdout, err: TextIO = sys.stderr,
                    ask: Callable[[str], bool] = _ask_terminal) -> int:
    """Run the chat, with tool rounds, until the model answers; the exit code."""
    try:
        from app.core.tools import parse_mcp_config

        servers = parse_mcp_config(Path(config).expanduser().read_text(encoding="utf-8"))
    except OSError as exc:
        raise ToolConfigError(f"{config} can't be read ({exc.strerror or exc})") from None
    host = McpHost(servers)
    try:
        specs = host.tools_async().result(timeout=START_TIMEOUT * max(len(servers), 1) + 5)
        offer: ToolOffer | None = ToolOffer.of(specs, choice) if specs else None
        for round_ in range(MAX_ROUNDS + 1):
            stream = client.chat(messages, settings, tools=offer) if offer is not None else \
                client.chat(messages, settings)
            text = "".join(event.text for event in stream)
            fin = stream.finished
            if fin is not None and fin.reason == "error":
                print(f"inkling: {fin.error}", file=err)
                return 1
            calls = fin.tool_calls if fin is not None and fin.tool_calls else ()
            body = text
            if not calls and offer is not None:
                parsed = parse_tool_calls(text, offer.names)
                body, calls = parsed.text, parsed.calls
            if body:
                out.write(body + "\n")
                out.flush()
            if fin is not None and fin.note and round_ == 0:
                print(f"inkling: {fin.note}", file=err)
            if not calls or offer is None:
                return 0
            parts = ((TextPart(body),) if body else ()) + tuple(calls)
            messages.extend(history_entries("assistant", parts))
            for call in calls:
                messages.extend(history_entries("tool", (_run(host, call, yes, ask, err),)))
            offer = ToolOffer(offer.tools, "auto") if round_ + 1 < MAX_ROUNDS else None
        return 0
    finally:
        host.close()


def _run(host: McpHost, call: ToolCallPart, yes: bool, ask: Callable[[str], bool], err: TextIO) -> ToolResultPart:
    """One call: asked for on the terminal (unless ``yes``), run, and reported on stderr."""
    shown = call.arguments if len(call.arguments) < 300 else call.arguments[:300] + "…"
    print(f"inkling: the model asks to run the tool {call.name} with {shown}", file=err)
    if not yes and not ask("inkling: run it? [y/N] "):
        print("inkling: refused; the model is told so", file=err)
        return ToolResultPart(call.name, REFUSED, call.call_id, is_error=True)
    try:
        outcome = host.call_async(call.name, arguments_of(call)).result()
        part = ToolResultPart(call.name, outcome.text, call.call_id, is_error=outcome.is_error)
    except ToolError as exc:
        part = ToolResultPart(call.name, str(exc), call.call_id, is_error=True)
    one_line = " ".join(part.content.split())
    label = "failed" if part.is_error else "returned"
    print(f"inkling: tool {call.name} {label}: {one_line[:300]}", file=err)
    return part


