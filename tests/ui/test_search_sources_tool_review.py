"""``search_sources`` as the review of the Sources code asked: it runs off the GUI thread (the window keeps
going while a slow search runs), and only in a chat that offers it: there a call of that name is the built-in's
and runs without a card; elsewhere it is an MCP tool's like any other, asked for and sent to the MCP host.

Real parts: a collection in SQLite indexed from files the test writes (its vectors from a small hashing
embedder, beside the real llama.cpp one), the real ``ChatSources`` and ``SearchSourcesTool``, the real main
window's Chat pane with the real ``ChatTools`` and ``McpHost``."""

from __future__ import annotations

import threading
import zlib
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QTimer
from source_files import QuietProgress as _Quiet
from ui.conftest import wait_for_panes
from ui.fake_engine import FakeEngine, fake_window

from app.core.builtin_tools import ChatToolHost
from app.core.paths import app_paths
from app.core.sources.chat_sources import ChatSources
from app.core.sources.collections import Collections
from app.core.sources.indexer import index_collection
from app.core.sources.source_tool import SEARCH_SOURCES, SearchSourcesTool
from app.core.tool_store import ToolStore
from app.engine.mcp_host import McpHost
from app.main import add_tools


class _Words:
    """A small embedder: each word hashed into 64 dimensions (the same vectors for the same words)."""

    name = "hashed-words"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, zlib.crc32(word.encode()) % 64] += 1.0
        return out


class _SlowWords(_Words):
    """The same embedder, slow to answer (as a query embedder starting its process): it waits for ``gate``."""

    def __init__(self, gate: threading.Event) -> None:
        self.gate = gate
        self.threads: list[threading.Thread] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.threads.append(threading.current_thread())
        self.gate.wait(3)  # (bounded: with the search on the GUI thread, the test fails instead of hanging)
        return super().embed(texts)


class _McpHost:
    """The MCP side, recording what reaches it."""

    def __init__(self) -> None:
        self.servers: list[Any] = []
        self.problems: dict[str, str] = {}
        self.calls: list[str] = []

    def call_async(self, tool: str, arguments: dict[str, Any]) -> Future[Any]:
        self.calls.append(tool)
        future: Future[Any] = Future()
        future.set_result("from mcp")
        return future


def _sources(tmp_path: Path, root: Path) -> tuple[ChatSources, Path]:
    docs = tmp_path / "docs"
    docs.mkdir()
    lamp = docs / "lighthouse.md"
    lamp.write_text("Every evening the keeper lights the lamp at dusk.\n")
    (docs / "bread.md").write_text("Bread needs flour, water, salt and yeast.\n")
    collections = Collections(root)
    store = collections.open("notes", create=True)
    store.add_roots([str(docs)])
    index_collection(store, _Quiet(), embedder=_Words())
    assert store.has_vectors()
    store.close()
    return ChatSources(collections, tmp_path / "chat-sources.json"), lamp


def test_a_slow_search_sources_call_leaves_the_gui_thread_free(qtbot, tmp_path: Path) -> None:
    sources, lamp = _sources(tmp_path, tmp_path / "sources")
    sources.set(1, ["notes"])
    sources.set_mode(1, "tool")
    gate = threading.Event()
    slow = _SlowWords(gate)
    sources.embedder = slow
    host = ChatToolHost(_McpHost(), [SearchSourcesTool(sources)], chat_id=1)
    ticks: list[int] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()

    stopped = host.call_async(SEARCH_SOURCES, {"query": "keeper lamp dusk", "top_k": 1})  # on the GUI thread
    assert not stopped.done()  # the search goes on elsewhere
    assert stopped.cancel() and stopped.cancelled()  # Stop while it runs: the turn records the stop at once
    future = host.call_async(SEARCH_SOURCES, {"query": "keeper lamp dusk", "top_k": 1})
    assert not future.done()
    qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=2_000)  # and the window's timers keep ticking meanwhile
    assert not future.done()
    gate.set()
    qtbot.waitUntil(future.done, timeout=10_000)
    timer.stop()
    outcome = future.result()
    assert not outcome.is_error, outcome.text
    assert f"[1] {lamp}:1\nEvery evening the keeper lights the lamp at dusk." in outcome.text
    assert slow.threads and threading.main_thread() not in slow.threads


def test_a_search_sources_call_where_the_built_in_is_not_offered_goes_to_the_mcp_host(tmp_path: Path) -> None:
    sources, _lamp = _sources(tmp_path, tmp_path / "sources")
    sources.set(1, ["notes"])
    sources.set_mode(1, "tool")
    sources.set(2, ["notes"])  # chat 2 reads the collection before every reply: no built-in tool offered
    mcp = _McpHost()
    tool = SearchSourcesTool(sources)
    assert tool.offered(1) and not tool.offered(2)
    assert ChatToolHost(mcp, [tool], chat_id=2).call_async(SEARCH_SOURCES, {"query": "lamp"}).result() == "from mcp"
    assert mcp.calls == [SEARCH_SOURCES]
    here = ChatToolHost(mcp, [tool], chat_id=1).call_async(SEARCH_SOURCES, {"query": "lamp"}).result()
    assert "[1] " in here.text and mcp.calls == [SEARCH_SOURCES]  # the built-in, where offered


def test_search_sources_runs_without_a_card_only_in_chats_that_offer_it(qtbot, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("INKLING_HOME", str(tmp_path / "home"))
    window = fake_window(FakeEngine("unused"))
    qtbot.addWidget(window)
    window.show()
    wait_for_panes(window)
    paths = app_paths()
    sources = window.chat.sources
    _sources(tmp_path, paths.sources)
    store = ToolStore(paths.tool_servers)
    tools = add_tools(window, store, McpHost(store.servers))
    chat = window.chat.session.id
    assert not tools.approvals.allowed(chat, SEARCH_SOURCES)  # no collections: not offered, so asked for
    sources.set(chat, ["notes"])
    sources.set_mode(chat, "tool")
    assert tools.approvals.allowed(chat, SEARCH_SOURCES)  # offered: the built-in reads only what was given
    assert [t["function"]["name"] for t in tools._turns[chat].offer.tools] == [SEARCH_SOURCES]
    sources.set_mode(chat, "always")  # not offered any more: a call of that name is an MCP tool's, asked for
    assert not tools.approvals.allowed(chat, SEARCH_SOURCES)
    window.close()
