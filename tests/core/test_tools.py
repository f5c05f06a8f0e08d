"""The Qt-free half of tools: reading mcpServers files, finding calls in a reply, the history forms."""

from __future__ import annotations

import json

import pytest

from app.core.errors import ToolConfigError
from app.core.parts import TextPart, ToolCallPart, ToolResultPart
from app.core.tool_store import ToolStore
from app.core.tools import (
    ToolOffer,
    as_plain_messages,
    history_entries,
    mcp_config_json,
    parse_mcp_config,
    parse_tool_calls,
    template_takes_tools,
)

CLAUDE_DESKTOP = """{
  "mcpServers": {
    "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"]},
    "weather": {"command": "uv", "args": ["run", "weather.py"], "env": {"API_KEY": "k"}},
    "remote": {"url": "http://127.0.0.1:8000/mcp", "headers": {"Authorization": "Bearer t"}}
  }
}"""


def test_claude_desktop_s_file_is_read_as_is() -> None:
    servers = parse_mcp_config(CLAUDE_DESKTOP)
    assert [s.name for s in servers] == ["filesystem", "weather", "remote"]
    fs, weather, remote = servers
    assert fs.transport == "stdio" and fs.command == "npx" and fs.args[-1] == "/Users/me/Desktop"
    assert dict(weather.env) == {"API_KEY": "k"}
    assert remote.transport == "http" and dict(remote.headers) == {"Authorization": "Bearer t"}
    assert parse_mcp_config(mcp_config_json(servers)) == servers  # written back, read back the same


@pytest.mark.parametrize(("text", "words"), [
    ("{not json", "not valid JSON"),
    ('{"mcpServers": []}', "no \"mcpServers\" object"),
    ('{"mcpServers": {"x": {"args": []}}}', "neither"),
    ('{"mcpServers": {"x": {"command": "a", "args": "b"}}}', "must be a list"),
])
def test_a_bad_file_says_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(ToolConfigError, match=words):
        parse_mcp_config(text)


def test_hermes_qwen_calls_are_found_and_the_text_before_kept() -> None:
    reply = ('Let me check.\n<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n</tool_call>\n'
             '<tool_call>{"name": "word_count", "arguments": {"text": "a b"}}</tool_call>')
    parsed = parse_tool_calls(reply)
    assert parsed.text == "Let me check."
    assert [(c.name, json.loads(c.arguments)) for c in parsed.calls] == [("add", {"a": 2, "b": 3}),
                                                                          ("word_count", {"text": "a b"})]
    assert all(c.call_id for c in parsed.calls)


def test_mistral_and_llama_3_calls_are_found() -> None:
    mistral = parse_tool_calls('[TOOL_CALLS] [{"name": "add", "arguments": {"a": 1, "b": 2}, "id": "abc123xyz"}]')
    assert [(c.name, c.call_id) for c in mistral.calls] == [("add", "abc123xyz")]
    v11 = parse_tool_calls('[TOOL_CALLS]add[ARGS]{"a": 1, "b": 2}')
    assert v11.calls[0].name == "add" and json.loads(v11.calls[0].arguments) == {"a": 1, "b": 2}
    llama = parse_tool_calls('<|python_tag|>{"name": "add", "parameters": {"a": 1, "b": 2}}', {"add"})
    assert llama.calls[0].name == "add" and json.loads(llama.calls[0].arguments) == {"a": 1, "b": 2}


def test_json_that_names_no_offered_tool_stays_text() -> None:
    text = '{"name": "Ada", "parameters": {"age": 36}}'
    assert parse_tool_calls(text, {"add"}).calls == () and parse_tool_calls(text, {"add"}).text == text
    assert parse_tool_calls("Just words.").calls == ()


def test_a_call_and_its_result_go_back_in_the_api_s_shapes_and_as_hermes_text() -> None:
    call = ToolCallPart("add", '{"a": 2, "b": 3}', "call_1")
    entries = history_entries("assistant", (TextPart("Let me add."), call))
    entries += history_entries("tool", (ToolResultPart("add", "5", "call_1"),))
    assert entries[0]["tool_calls"][0] == {"id": "call_1", "type": "function",
                                           "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'}}
    assert entries[1] == {"role": "tool", "tool_call_id": "call_1", "name": "add", "content": "5"}
    offer = ToolOffer(({"type": "function", "function": {"name": "add", "parameters": {}}},), "auto")
    plain = as_plain_messages([{"role": "user", "content": "2+3?"}, *entries], list(offer.tools))
    assert plain[0]["role"] == "system" and "<tools>" in plain[0]["content"] and '"add"' in plain[0]["content"]
    assert plain[2]["content"].endswith('<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n</tool_call>')
    assert plain[3] == {"role": "user", "content": "<tool_response>\n5\n</tool_response>"}


def test_which_templates_take_tools() -> None:
    assert template_takes_tools("{% if tools %}{{ tools | tojson }}{% endif %}")
    assert not template_takes_tools("{% for message in messages %}{{ message['content'] }}{% endfor %}")


def test_the_store_keeps_servers_and_per_chat_switches(tmp_path) -> None:
    path = tmp_path / "mcp.json"
    store = ToolStore(path)
    heard: list[str] = []
    store.subscribe(lambda _s, what: heard.append(what))
    assert store.import_text(CLAUDE_DESKTOP) == ["filesystem", "weather", "remote"]
    store.set_enabled(7, "weather", False)
    assert store.enabled_for(7) == ["filesystem", "remote"] and store.enabled_for(8) == ["filesystem", "weather", "remote"]
    again = ToolStore(path)
    assert again.enabled_for(7) == ["filesystem", "remote"]
    assert [s.name for s in parse_mcp_config(path.read_text())] == ["filesystem", "weather", "remote"]  # still Claude's shape
    assert heard == ["servers", "chats"]
