"""``search_sources``: a chat's collections as a built-in tool, numbered on across one question's calls, its
passages becoming the citations of the reply after it; other tool names still go to the MCP host."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import Any

from source_files import QuietProgress as _Quiet

from app.core.builtin_tools import ChatToolHost
from app.core.sources.chat_sources import TOOL_INSTRUCTIONS, ChatSources
from app.core.sources.collections import Collections
from app.core.sources.indexer import index_collection
from app.core.sources.retrieval import INSTRUCTIONS
from app.core.sources.source_tool import SearchSourcesTool


class _McpHost:
    """The MCP side, recording what reaches it (only names that are not built in)."""

    def __init__(self) -> None:
        self.servers: list[Any] = []
        self.problems: dict[str, str] = {}
        self.calls: list[str] = []

    def call_async(self, tool: str, arguments: dict[str, Any]) -> Future[Any]:
        self.calls.append(tool)
        future: Future[Any] = Future()
        future.set_result("from mcp")
        return future


def _sources(tmp_path: Path) -> tuple[ChatSources, Path, Path]:
    docs = tmp_path / "docs"
    docs.mkdir()
    lamp = docs / "lighthouse.md"
    lamp.write_text("Every evening the keeper lights the lamp at dusk.\n")
    bread = docs / "bread.md"
    bread.write_text("Bread needs flour, water, salt and yeast.\n")
    (docs / "rain.md").write_text("Rain falls on the tomatoes in the garden.\n")
    collections = Collections(tmp_path / "sources")
    store = collections.open("notes", create=True)
    store.add_roots([str(docs)])
    index_collection(store, _Quiet())
    store.close()
    sources = ChatSources(collections, tmp_path / "chat-sources.json")
    sources.set(1, ["notes"])
    return sources, lamp, bread


def test_search_sources_is_offered_only_in_tool_mode_and_numbers_passages_across_a_questions_calls(
        tmp_path: Path) -> None:
    sources, lamp, bread = _sources(tmp_path)
    told: list[int] = []
    sources.subscribe(told.append)
    tool = SearchSourcesTool(sources)
    assert not tool.offered(1)  # always-on by default
    sources.set_mode(1, "tool")
    assert told == [1] and tool.offered(1) and not tool.offered(2)
    assert ChatSources(sources.collections, tmp_path / "chat-sources.json").mode_of(1) == "tool"  # kept on disk

    step = sources.before_reply(1)
    question = [{"role": "user", "content": "When is the lamp lit, and what goes in bread?"}]
    history, parts = step(question)
    assert parts == () and TOOL_INSTRUCTIONS in history[0]["content"] and INSTRUCTIONS not in history[0]["content"]

    mcp = _McpHost()
    host = ChatToolHost(mcp, [tool], chat_id=1)
    first = host.call_async("search_sources", {"query": "lamp dusk", "top_k": 1}).result()
    assert not first.is_error
    assert f"[1] {lamp}:1\nEvery evening the keeper lights the lamp at dusk." in first.text
    second = host.call_async("search_sources", {"query": "lamp bread flour", "top_k": 2}).result().text
    assert f"[1] {lamp}:1\n" in second and f"[2] {bread}:1\nBread needs flour" in second  # the lamp keeps its [1]

    _, parts = step([*question, {"role": "assistant", "content": ""}, {"role": "tool", "content": second}])
    assert [p.source for p in parts] == [f"{lamp}:1", f"{bread}:1"]  # the next reply's [1] and [2]
    _, parts = step([{"role": "user", "content": "And the rain?"}])
    assert parts == () and sources.tool_hits[1] == []  # a new question numbers from [1] again

    bad = host.call_async("search_sources", {"top_k": 2}).result()
    assert bad.is_error and "needs a \"query\"" in bad.text
    assert host.call_async("add", {"a": 1}).result() == "from mcp" and mcp.calls == ["add"]
