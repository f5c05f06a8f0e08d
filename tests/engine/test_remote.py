"""The remote backend against a real OpenAI-compatible server (llama-cpp-python's, the starter model)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import httpx
import pytest
from remote_server import API_KEY, LlamaServer

from app.core.capabilities import Capabilities
from app.core.connections import Connection, remote_ref
from app.core.errors import FeatureUnavailable, ServerAuthError
from app.core.events import Finished, TokenEvent
from app.core.sampling import SamplingSettings
from app.engine import openai_api
from app.engine.remote import RemoteEngine

pytestmark = pytest.mark.model
NO_END = ((0, -100.0), (1, -100.0), (2, -100.0))  # SmolLM2's end tokens: force the length we ask for
GREEDY = SamplingSettings(temperature=0.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0, seed=7)
HELLO = [{"role": "user", "content": "Tell me about the sea."}]


@pytest.fixture(scope="module")
def remote(llama_server: LlamaServer) -> Iterator[RemoteEngine]:
    engine = RemoteEngine(Connection.new("test box", llama_server.url, API_KEY), first_byte_timeout=60)
    engine.load_async("").result(60)
    yield engine
    engine.close()


def collect(stream: object) -> tuple[list[TokenEvent], Finished]:
    tokens = list(stream)  # type: ignore[call-overload]
    fin = stream.finished  # type: ignore[attr-defined]
    assert fin is not None
    return tokens, fin


def test_probe_reports_what_the_llama_cpp_python_server_offers(remote: RemoteEngine, llama_server: LlamaServer) -> None:
    caps = remote.probe_async(remote.model, fresh=True).result(60)
    assert caps.server == "llama-cpp-python"
    assert caps.chat and caps.raw_completion and caps.alternatives and caps.grammar
    assert not caps.scoring and "misaligned" in caps.why_not("scoring")  # its echo log-probabilities are off by one
    assert {"top_k", "min_p", "repeat_penalty", "mirostat_mode", "grammar", "seed"} <= caps.samplers
    assert "typical_p" not in caps.samplers and "banned_words" not in caps.samplers
    assert remote.info is not None and remote.info.path == remote_ref(remote.connection.id, llama_server.model)
    assert remote.info.name.startswith("SmolLM2") and remote.info.name.endswith("· test box")


def test_default_model_is_the_servers_first(remote: RemoteEngine, llama_server: LlamaServer) -> None:
    assert remote.model == llama_server.model


def test_streamed_chat_arrives_token_by_token(remote: RemoteEngine) -> None:
    settings = GREEDY.replace(max_tokens=12, logit_bias=NO_END)
    tokens, fin = collect(remote.chat(HELLO, settings))
    assert fin.reason == "length"
    assert len(tokens) >= 10  # one event per token, not one blob
    assert fin.text == "".join(t.text for t in tokens) and fin.text.strip()
    assert fin.timings.first_token_ms > 0 and fin.timings.tokens_per_second > 0


def test_raw_completion_continues_the_text_itself(remote: RemoteEngine, llama_server: LlamaServer) -> None:
    prompt = "The lighthouse keeper climbed the stairs and"
    _, fin = collect(remote.complete(prompt, GREEDY.replace(max_tokens=10, logit_bias=NO_END)))
    direct = httpx.post(f"{llama_server.url}/completions", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60,
                        json={"prompt": prompt, "max_tokens": 10, "temperature": 0, "top_k": 0, "min_p": 0,
                              "repeat_penalty": 1.0, "logit_bias": {"0": -100, "1": -100, "2": -100}})
    assert fin.text == direct.json()["choices"][0]["text"]  # no chat template around the text


def test_a_documents_memory_opens_the_prompt_on_a_server(remote: RemoteEngine, llama_server: LlamaServer) -> None:
    """The port's ``memory`` reaches a server too: the text the server reads is the memory, a blank line, the prompt."""
    memory, prompt = "  Synopsis: a lighthouse on a cold northern island.\n", "The keeper climbed the stairs and"
    _, fin = collect(remote.complete(prompt, GREEDY.replace(max_tokens=10, logit_bias=NO_END), memory=memory))

    def direct(text: str) -> str:
        body = {"prompt": text, "max_tokens": 10, "temperature": 0, "top_k": 0, "min_p": 0, "repeat_penalty": 1.0,
                "logit_bias": {"0": -100, "1": -100, "2": -100}}
        return httpx.post(f"{llama_server.url}/completions", headers={"Authorization": f"Bearer {API_KEY}"},
                          timeout=60, json=body).json()["choices"][0]["text"]

    assert direct(prompt) != direct(memory.strip() + "\n\n" + prompt)  # the memory changes what comes next
    assert fin.text == direct(memory.strip() + "\n\n" + prompt)


def test_stop_mid_stream_makes_the_server_stop_generating(remote: RemoteEngine, llama_server: LlamaServer) -> None:
    before = llama_server.log().count("Disconnected from client")
    stream = remote.chat(HELLO, GREEDY.replace(max_tokens=1500, logit_bias=NO_END))
    seen = []
    for event in stream:
        seen.append(event)
        if len(seen) == 5:
            started = time.monotonic()
            stream.cancel()
    fin = stream.finished
    assert fin is not None and fin.reason == "cancelled"
    assert time.monotonic() - started < 2.0
    assert fin.text.startswith("".join(t.text for t in seen[:5]))
    deadline = time.monotonic() + 20
    while llama_server.log().count("Disconnected from client") == before and time.monotonic() < deadline:
        time.sleep(0.1)  # the server's own log is the only witness; poll it
    assert llama_server.log().count("Disconnected from client") > before
    started = time.monotonic()
    _, fin = collect(remote.chat(HELLO, GREEDY.replace(max_tokens=3, logit_bias=NO_END)))
    assert fin.reason == "length" and time.monotonic() - started < 15  # not queued behind 1,500 tokens


def test_token_alternatives_come_with_probabilities(remote: RemoteEngine) -> None:
    settings = GREEDY.replace(max_tokens=6, logit_bias=NO_END)
    for start in (lambda: remote.complete("Once upon a time", settings, alternatives=5),
                  lambda: remote.chat(HELLO, settings, alternatives=5)):
        tokens, _ = collect(start())
        assert len(tokens) >= 5
        for tok in tokens:
            assert tok.prob is not None and 0 < tok.prob <= 1
            probs = [a.prob for a in tok.alternatives]
            assert len(probs) >= 3 and probs == sorted(probs, reverse=True) and sum(probs) <= 1.0001
            assert tok.alternatives[0].text == tok.text  # greedy: the pick is the likeliest
            assert math.isclose(tok.alternatives[0].prob, tok.prob, rel_tol=1e-3)
            assert tok.alternatives[0].token_id == tok.token_id


def test_temperature_seed_and_max_tokens_reach_the_server(remote: RemoteEngine) -> None:
    hot = SamplingSettings(temperature=1.5, top_k=0, top_p=1.0, min_p=0.0, max_tokens=16, logit_bias=NO_END)
    a = collect(remote.chat(HELLO, hot.replace(seed=11)))[1]
    b = collect(remote.chat(HELLO, hot.replace(seed=11)))[1]
    c = collect(remote.chat(HELLO, hot.replace(seed=12)))[1]
    cold = collect(remote.chat(HELLO, hot.replace(temperature=0.0, seed=13)))[1]
    cold2 = collect(remote.chat(HELLO, hot.replace(temperature=0.0, seed=14)))[1]
    assert a.text == b.text and a.seed == 11  # the seed is sent
    assert a.text != c.text  # ... and used
    assert cold.text == cold2.text  # temperature 0 is greedy whatever the seed
    tokens, fin = collect(remote.complete("One, two, three,", hot.replace(max_tokens=5, seed=1)))
    assert fin.reason == "length" and len(tokens) == 5
    assert collect(remote.chat(HELLO, hot.replace(seed=None)))[1].seed is not None  # a random seed, reported


def test_a_setting_the_server_ignores_is_reported_not_applied(remote: RemoteEngine) -> None:
    settings = GREEDY.replace(max_tokens=3, typical_p=0.5, banned_words=("sea",))
    stream = remote.chat(HELLO, settings)
    assert stream.not_applied == ("banned_words", "typical_p")
    _, fin = collect(stream)
    assert fin.not_applied == ("banned_words", "typical_p")
    _, fin = collect(remote.chat(HELLO, GREEDY.replace(max_tokens=3)))  # typical_p left off: nothing to report
    assert fin.not_applied == ()


def test_sampling_is_mapped_to_each_servers_names() -> None:
    settings = SamplingSettings(top_k=0, min_p=0.1, repeat_penalty=1.2, json_schema='{"type": "object"}', seed=3)
    vllm = Capabilities(server="vllm", samplers=openai_api.samplers_of("vllm"))
    params, off = openai_api.sampling_params(settings, vllm)
    assert params["repetition_penalty"] == 1.2 and params["top_k"] == -1 and params["guided_json"] == {"type": "object"}
    assert "repeat_penalty" not in params and off == ()
    llama = Capabilities(server="llama.cpp", samplers=openai_api.samplers_of("llama.cpp"))
    params, _ = openai_api.sampling_params(settings.replace(mirostat_mode=2, json_schema=""), llama)
    assert params["mirostat"] == 2 and params["repeat_penalty"] == 1.2 and params["typical_p"] == 1.0
    modern = SamplingSettings(dry_multiplier=0.8, dry_penalty_last_n=256, dry_sequence_breakers=("\n", ":"),
                              xtc_probability=0.5, xtc_threshold=0.1, top_n_sigma=1.0)
    params, off = openai_api.sampling_params(modern, llama)  # llama.cpp's server takes every DRY / XTC / top-nσ knob
    assert off == () and params["dry_multiplier"] == 0.8 and params["dry_penalty_last_n"] == 256
    assert params["dry_sequence_breakers"] == ["\n", ":"] and params["xtc_probability"] == 0.5
    assert params["xtc_threshold"] == 0.1 and params["top_n_sigma"] == 1.0
    _, off = openai_api.sampling_params(modern, Capabilities(server="llama-cpp-python",
                                                             samplers=openai_api.samplers_of("llama-cpp-python")))
    assert {"dry_multiplier", "dry_penalty_last_n", "xtc_probability", "top_n_sigma"} <= set(off)  # it takes none
    openai = Capabilities(server="openai", samplers=openai_api.samplers_of("openai"))
    params, off = openai_api.sampling_params(settings, openai)
    assert set(off) == {"json_schema", "min_p", "repeat_penalty"}
    assert "min_p" not in params and params["seed"] == 3


def test_scoring_and_next_token_peek_use_the_servers_logprobs(remote: RemoteEngine) -> None:
    text = "The cat sat on the mat."
    with pytest.raises(FeatureUnavailable, match="misaligned"):  # the probe found this server's echo unusable
        remote.score_async(text, top=3).result(60)
    saved = remote.capabilities
    remote.capabilities = saved.overridden({"scoring": True})  # the user's badge override is obeyed
    try:
        result = remote.score_async(text, top=3).result(60)
    finally:
        remote.capabilities = saved
    assert "".join(t.text for t in result.tokens) == text
    assert result.tokens[0].logprob is None and all(t.logprob is not None and t.logprob <= 0 for t in result.tokens[1:])
    candidates, lse, spread = remote.peek_async(messages=HELLO, top=10).result(60)  # the port's one PeekResult
    assert lse == 0.0 and spread is None and len(candidates) == 10
    assert [c[2] for c in candidates] == sorted((c[2] for c in candidates), reverse=True)
    assert 0.5 < sum(math.exp(c[2]) for c in candidates) <= 1.0001


def test_features_the_server_lacks_say_why(remote: RemoteEngine) -> None:
    saved = remote.capabilities
    try:
        remote.capabilities = saved.overridden({"scoring": False})
        with pytest.raises(FeatureUnavailable, match="Turned off"):
            remote.score_async("x").result(10)
    finally:
        remote.capabilities = saved


def test_a_wrong_key_is_a_clear_401_that_never_shows_the_key(llama_server: LlamaServer) -> None:
    key = "sk-wrong-5e3a9b1c"
    engine = RemoteEngine(Connection.new("box", llama_server.url, key))
    try:
        with pytest.raises(ServerAuthError) as info:
            engine.load_async("").result(30)
        assert "401" in str(info.value) and "API key" in str(info.value)
        assert key not in str(info.value) and key not in repr(info.value.args)
    finally:
        engine.close()
