"""Tools through a real OpenAI-compatible server: llama-cpp-python's, streaming ``tool_calls`` deltas.

A named ``tool_choice`` makes that server constrain the model to the tool's argument
schema and stream the call as ``delta.tool_calls`` (repeating the id and name in every
delta). The test checks that the remote engine offers the tools in the request,
assembles the call from its deltas into ``Finished.tool_calls``, and that a whole tool
round trip (a real stdio MCP server) sends the result back as a ``tool`` message the
server accepts, ending in an answer.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from remote_server import API_KEY, LlamaServer

from app.core.connections import Connection
from app.core.sampling import SamplingSettings
from app.core.tools import McpServerConfig, ToolOffer
from app.engine.mcp_host import McpHost
from app.engine.remote import RemoteEngine
from app.tool_chat_cli import chat_with_tools

pytestmark = pytest.mark.model
SERVER = Path(__file__).resolve().parents[1] / "tools" / "mcp_server.py"
GREEDY = SamplingSettings(temperature=0.0, max_tokens=40, seed=3)


@pytest.fixture(scope="module")
def remote(llama_server: LlamaServer) -> Iterator[RemoteEngine]:
    engine = RemoteEngine(Connection.new("test box", llama_server.url, API_KEY), first_byte_timeout=60)
    engine.load_async("").result(60)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def host() -> Iterator[McpHost]:
    h = McpHost([McpServerConfig("test", command=sys.executable, args=(str(SERVER),))])
    yield h
    h.close()


def test_a_server_s_tool_calls_deltas_become_one_call(remote: RemoteEngine, host: McpHost) -> None:
    offer = ToolOffer.of(host.tools_async().result(60), "add")
    stream = remote.chat([{"role": "user", "content": "What is 2 plus 3?"}], GREEDY, tools=offer)
    text = "".join(e.text for e in stream)
    fin = stream.finished
    assert fin is not None and fin.reason == "stop", fin
    assert text == ""  # the call came as tool_calls, not as text
    assert len(fin.tool_calls) == 1
    call = fin.tool_calls[0]
    assert call.name == "add" and call.call_id  # the name once, though every delta repeated it
    args = json.loads(call.arguments)  # the argument pieces joined into one JSON object
    assert isinstance(args, dict) and set(args) <= {"a", "b"}


def test_a_tool_round_trip_through_the_server_ends_in_an_answer(remote: RemoteEngine, llama_server: LlamaServer,
                                                                tmp_path: Path) -> None:
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"test": {"command": sys.executable, "args": [str(SERVER)]}}}))
    out, err = io.StringIO(), io.StringIO()
    messages = [{"role": "user", "content": "What is 2 plus 3?"}]
    code = chat_with_tools(remote, messages, GREEDY, str(config), yes=True, choice="add", out=out, err=err)
    assert code == 0, err.getvalue()
    assert "inkling: tool add returned: The sum of" in err.getvalue()
    # the history the server got for the answer: the call as tool_calls, the result as a tool message
    assert messages[-2]["role"] == "assistant" and messages[-2]["tool_calls"][0]["function"]["name"] == "add"
    assert messages[-1]["role"] == "tool" and messages[-1]["content"].startswith("The sum of")
    assert messages[-1]["tool_call_id"] == messages[-2]["tool_calls"][0]["id"]
