"""A grammar that holds a model to one tool call: ``<tool_call>{"name": …, "arguments": {…}}</tool_call>``.

What ``tool_choice: "required"`` (or a tool's name) means for the local engine, as
llama.cpp's server and llama-cpp-python do it: the call's JSON is generated from the
tools' argument schemas, so even a small model that was never taught tools calls one
correctly. The Hermes tags make the call readable by ``app.core.tools.parse_tool_calls``
whatever the model's own format.
"""

from __future__ import annotations

import json
from typing import Any

from app.core.errors import InvalidSetting


def tool_call_grammar(tools: list[dict[str, Any]]) -> str:
    """GBNF for one call to one of ``tools`` (OpenAI ``tools`` entries), in Hermes tags."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    choices = []
    for tool in tools:
        fn = tool.get("function", {})
        params = fn.get("parameters") or {"type": "object", "properties": {}}
        params = {k: v for k, v in params.items() if k != "title"}
        choices.append({"type": "object", "properties": {"name": {"const": fn.get("name")}, "arguments": params},
                        "required": ["name", "arguments"]})
    schema = choices[0] if len(choices) == 1 else {"anyOf": choices}
    try:
        body = json_schema_to_gbnf(json.dumps(schema))
    except Exception as exc:
        raise InvalidSetting(f"a tool's argument schema could not be turned into a grammar: {exc}") from None
    body = body.replace("root ::=", "call ::=", 1)
    return f'root ::= "<tool_call>\\n" call "\\n</tool_call>"\n{body}'
