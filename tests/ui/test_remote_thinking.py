"""A server's separate reasoning (``delta.reasoning_content``) in the window, through the fault proxy.

A real ``llama_cpp.server`` with the starter model answers; the proxy in front of
it (tests/fault_proxy.py) plays a thinking model's server by sending the first
pieces of the reply as ``reasoning_content`` deltas, as llama-server and vLLM do.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_proxy import FaultProxy
from remote_server import API_KEY, LlamaServer
from ui.conftest import open_window, send
from ui.test_thinking_window import _spy_live_blocks

from app.core.connections import ConnectionStore, remote_ref
from app.core.paths import app_paths
from app.core.sampling import SamplingSettings
from app.core.thinking import split_text
from app.engine.openai_api import ReasoningMarks, chat_reasoning
from app.ui.main_window import MainWindow

pytestmark = pytest.mark.model
# long enough to think and answer (no end-of-text token), the same every time
LONG = SamplingSettings(temperature=0.0, top_k=0, min_p=0.0, repeat_penalty=1.0, max_tokens=14,
                        logit_bias=((0, -100.0), (1, -100.0), (2, -100.0)))


@pytest.fixture(scope="module")
def proxy(llama_server: LlamaServer) -> Iterator[FaultProxy]:
    p = FaultProxy(llama_server.url.removesuffix("/v1"))
    yield p
    p.close()


@pytest.fixture
def remote_window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, proxy: FaultProxy,
                  llama_server: LlamaServer) -> Iterator[MainWindow]:
    proxy.reset()
    monkeypatch.setenv("INKLING_HOME", str(tmp_path / "home"))
    paths = app_paths().ensure()
    conn = ConnectionStore(paths.connections, paths.connection_secrets).add("thinker", proxy.url, API_KEY)
    window = open_window(qtbot, tmp_path / "home", monkeypatch)
    ref = remote_ref(conn.id, llama_server.model)
    window.load_model(ref)
    qtbot.waitUntil(lambda: window.bridge.free and window.bridge.info is not None
                    and window.bridge.info.path == ref, timeout=60_000)
    window.tabs.setCurrentWidget(window.chat)
    window.chat.set_sampling(LONG, "Balanced")
    yield window
    window.close()
    proxy.reset()
    proxy.wait_idle()


def test_reasoning_deltas_become_the_reply_s_thinking_and_the_answer_follows(qtbot, remote_window: MainWindow,
                                                                              proxy: FaultProxy,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    live = _spy_live_blocks(monkeypatch)
    proxy.reset(reasoning_first=6)
    fin = send(qtbot, remote_window, "Tell me about the sea.")
    thinking, answer = split_text(fin.text)
    assert fin.reason == "length" and thinking and answer
    # the block filled while the reasoning arrived, before any of the answer
    assert len(live) >= 2 and all(shown_open and not answer_then for _, shown_open, answer_then in live)
    assert live[-1][0].startswith("Thinking… 6 tokens")
    saved = remote_window.storage.messages(remote_window.chat.conversation.id)[-1]
    assert [p.kind for p in saved.parts] == ["thinking", "text"]
    assert saved.parts[0].text == thinking and saved.content == answer
    assert saved.stats["thinking_tokens"] == 6


def test_a_drop_during_the_reasoning_keeps_the_thinking_and_says_why(qtbot, remote_window: MainWindow,
                                                                      proxy: FaultProxy) -> None:
    proxy.reset(reasoning_first=100, mode="die", after=5)
    fin = send(qtbot, remote_window, "Tell me about the sea.")
    assert fin.reason == "error" and "part-way" in fin.error
    saved = remote_window.storage.messages(remote_window.chat.conversation.id)[-1]
    assert saved.status == "error" and "part-way" in saved.stats["error"]
    assert [p.kind for p in saved.parts] == ["thinking"] and saved.parts[0].text.strip()
    bubble = remote_window.chat.transcript.widgets[saved.id]
    assert bubble.error_label.text() == saved.stats["error"]
    assert "stopped while thinking" not in bubble.status_label.text()
    assert [w.objectName() for w in bubble.part_widgets] == ["part-thinking"]


def test_the_reasoning_fields_servers_use() -> None:
    assert chat_reasoning({"delta": {"reasoning_content": "hm"}}) == "hm"
    assert chat_reasoning({"delta": {"reasoning": "hm"}}) == "hm"  # LM Studio, Ollama
    assert chat_reasoning({"delta": {"content": "hi"}}) == ""
    marks = ReasoningMarks()
    text = marks.reasoning("a") + marks.reasoning("b") + marks.content("") + marks.content("Hi") + marks.content("!")
    assert split_text(text) == ("ab", "Hi!")


def test_the_think_switch_goes_to_a_server_as_a_template_variable() -> None:
    from app.core.capabilities import Capabilities
    from app.engine.openai_api import samplers_of, sampling_params

    caps = Capabilities(server="llama.cpp", samplers=samplers_of("llama.cpp"))
    params, not_applied = sampling_params(SamplingSettings(thinking=False, thinking_budget=64), caps)
    assert params["chat_template_kwargs"] == {"enable_thinking": False}
    assert not_applied == ("thinking_budget",)  # the server keeps its own (--reasoning-budget)
    params, not_applied = sampling_params(SamplingSettings(), caps)
    assert "chat_template_kwargs" not in params and not_applied == ()
