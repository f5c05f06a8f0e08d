"""The bridge over the engine switch with a real server's model: what the port declares reaches the window."""

from __future__ import annotations

import pytest
from remote_server import API_KEY, LlamaServer

from app.core.connections import Connection, remote_ref
from app.core.events import Finished
from app.core.sampling import SamplingSettings
from app.engine.client import EngineClient
from app.engine.switch import EngineSwitch
from app.ui.engine_bridge import EngineBridge

pytestmark = pytest.mark.model
NO_END = ((0, -100.0), (1, -100.0), (2, -100.0))  # SmolLM2's end tokens: force the length we ask for
GREEDY = SamplingSettings(temperature=0.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0, seed=7,
                          logit_bias=NO_END)
HELLO = [{"role": "user", "content": "Tell me about the sea."}]


def test_a_server_says_which_settings_it_did_not_apply_and_makes_one_text_at_a_time(qtbot,
                                                                                     llama_server: LlamaServer) -> None:
    server = Connection.new("test box", llama_server.url, API_KEY)
    switch = EngineSwitch(EngineClient(), lambda: [server], first_byte_timeout=60)
    bridge = EngineBridge(switch)
    try:
        with qtbot.waitSignal(bridge.model_loaded, timeout=60_000):
            bridge.load(remote_ref(server.id, ""))
        assert bridge.info is not None and switch.capabilities.remote
        notes: list[str] = []
        bridge.deviation_noted.connect(notes.append)
        handle = bridge.chat(HELLO, GREEDY.replace(max_tokens=3, typical_p=0.5, banned_words=("sea",)))
        with qtbot.waitSignal(handle.finished, timeout=60_000):
            pass
        assert notes == ["Not applied on this server: banned_words, typical_p."]

        assert bridge.parallel_sequences == 1  # so the Write pane asks for one text per request here
        finished: list[Finished] = []
        handle = bridge.complete("The lighthouse keeper", GREEDY.replace(max_tokens=4), memory="A cold island.",
                                 sequences=1)
        handle.finished.connect(finished.append)
        qtbot.waitUntil(lambda: bool(finished), timeout=60_000)
        assert finished[0].reason == "length" and finished[0].texts == () and finished[0].text
        assert notes == ["Not applied on this server: banned_words, typical_p."]  # nothing more to say
    finally:
        switch.close()
