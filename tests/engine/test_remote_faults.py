"""Faults between Inkling and a server: each a clear typed error, the partial reply kept, the next request fine.

A fault-injecting proxy (tests/fault_proxy.py) sits in front of the real server.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fault_proxy import FaultProxy
from remote_server import API_KEY, LlamaServer, free_port

from app.core.connections import Connection
from app.core.errors import (
    InklingError,
    RateLimited,
    RemoteModelMissing,
    ServerDisconnected,
    ServerError,
    ServerProtocolError,
    ServerTimeout,
    ServerTLSError,
    ServerUnreachable,
)
from app.core.sampling import SamplingSettings
from app.engine.remote import FALLBACK_NOTE, RemoteEngine

pytestmark = pytest.mark.model
LONG = SamplingSettings(temperature=0.0, top_k=0, min_p=0.0, repeat_penalty=1.0, max_tokens=400,
                        logit_bias=((0, -100.0), (1, -100.0), (2, -100.0)))
SHORT = LONG.replace(max_tokens=4)
HELLO = [{"role": "user", "content": "Tell me about the sea."}]


@pytest.fixture(scope="module")
def proxy(llama_server: LlamaServer) -> Iterator[FaultProxy]:
    p = FaultProxy(llama_server.url.removesuffix("/v1"))
    yield p
    p.close()


@pytest.fixture
def remote(proxy: FaultProxy) -> Iterator[RemoteEngine]:
    proxy.reset()
    engine = RemoteEngine(Connection.new("flaky", proxy.url, API_KEY), first_byte_timeout=30, stall_timeout=1.5)
    engine.load_async("").result(60)
    yield engine
    engine.close()
    proxy.reset()
    proxy.wait_idle()


def broken_reply(engine: RemoteEngine) -> tuple[str, InklingError]:
    """Stream a long reply that the proxy breaks: (what arrived, the error)."""
    stream = engine.chat(HELLO, LONG)
    with pytest.raises(InklingError) as info:
        stream.wait(60)
    return stream.text, info.value


def works_again(engine: RemoteEngine, proxy: FaultProxy) -> None:
    proxy.reset()
    fin = engine.chat(HELLO, SHORT).wait(60)
    assert fin.reason == "length" and fin.text


def test_server_dying_mid_stream_keeps_the_partial_reply(remote: RemoteEngine, proxy: FaultProxy) -> None:
    proxy.reset(mode="die", after=4)
    text, error = broken_reply(remote)
    assert isinstance(error, ServerDisconnected) and "part-way" in str(error) and "kept" in str(error)
    assert text.strip()  # the tokens before the drop are still there
    works_again(remote, proxy)


def test_a_garbage_sse_line_is_a_clear_error(remote: RemoteEngine, proxy: FaultProxy) -> None:
    proxy.reset(mode="garbage", after=3)
    text, error = broken_reply(remote)
    assert isinstance(error, ServerProtocolError) and "not JSON" in str(error)
    assert text.strip()
    works_again(remote, proxy)


def test_a_stalled_stream_is_caught_by_the_watchdog(remote: RemoteEngine, proxy: FaultProxy) -> None:
    proxy.reset(mode="stall", after=3)
    started = time.monotonic()
    text, error = broken_reply(remote)
    assert isinstance(error, ServerTimeout) and "stalled" in str(error) and "kept" in str(error)
    assert time.monotonic() - started < 20
    assert text.strip()
    works_again(remote, proxy)


def test_no_first_byte_in_time_is_a_timeout(proxy: FaultProxy) -> None:
    engine = RemoteEngine(Connection.new("slow", proxy.url, API_KEY), first_byte_timeout=30)
    try:
        engine.load_async("").result(60)
        engine.first_byte_timeout = 1.0
        proxy.reset(mode="slow", delay=4.0)
        with pytest.raises(ServerTimeout, match="no answer within 1 s"):
            engine.chat(HELLO, SHORT).wait(30)
        engine.first_byte_timeout = 30
        works_again(engine, proxy)
    finally:
        engine.close()
        proxy.reset()
        proxy.wait_idle()


def test_a_model_the_server_no_longer_has_is_a_404_error(remote: RemoteEngine, proxy: FaultProxy) -> None:
    proxy.reset(mode="status", status=404,
                body=b'{"error": {"message": "The model `gone` does not exist.", "code": "model_not_found"}}')
    _, error = broken_reply(remote)
    assert isinstance(error, RemoteModelMissing) and "404" in str(error) and "does not exist" in str(error)
    works_again(remote, proxy)


def test_rate_limit_says_when_to_retry(remote: RemoteEngine, proxy: FaultProxy) -> None:
    proxy.reset(mode="status", status=429, headers={"Retry-After": "7"}, body=b'{"error": {"message": "slow down"}}')
    _, error = broken_reply(remote)
    assert isinstance(error, RateLimited) and error.retry_after == 7 and "try again in 7 s" in str(error)
    works_again(remote, proxy)


def test_a_server_error_5xx_is_reported_with_what_it_said(remote: RemoteEngine, proxy: FaultProxy) -> None:
    proxy.reset(mode="status", status=503, body=b'{"error": {"message": "overloaded, key sk-test-8c1f2e7d"}}')
    _, error = broken_reply(remote)
    assert isinstance(error, ServerError) and "503" in str(error) and "overloaded" in str(error)
    assert API_KEY not in str(error)  # a server echoing the key does not put it on screen
    works_again(remote, proxy)


def test_an_unreachable_host_is_a_clear_error() -> None:
    engine = RemoteEngine(Connection.new("nowhere", f"http://127.0.0.1:{free_port()}/v1", API_KEY))
    try:
        with pytest.raises(ServerUnreachable, match=r"can't connect to http://127\.0\.0\.1"):
            engine.load_async("").result(30)
    finally:
        engine.close()


def test_a_tls_failure_is_a_clear_error(llama_server: LlamaServer) -> None:
    engine = RemoteEngine(Connection.new("tls", llama_server.url.replace("http://", "https://"), API_KEY))
    try:
        with pytest.raises(ServerTLSError, match="secure connection"):
            engine.load_async("").result(30)
    finally:
        engine.close()


def test_write_on_a_chat_only_server_continues_through_chat_and_says_so(proxy: FaultProxy) -> None:
    proxy.reset(no_completions=True)
    engine = RemoteEngine(Connection.new("chat only", proxy.url, API_KEY))
    try:
        engine.load_async("").result(60)
        caps = engine.capabilities
        assert not caps.raw_completion and not caps.scoring and "/v1/completions" in caps.why_not("raw_completion")
        stream = engine.complete("The lighthouse keeper", SHORT)
        fin = stream.wait(60)
        assert fin.reason == "length" and fin.text and fin.note == FALLBACK_NOTE
        assert stream.note == FALLBACK_NOTE  # known before the first token, for the pane to show
    finally:
        engine.close()
        proxy.reset(no_completions=False)
        proxy.wait_idle()


def test_the_real_server_killed_mid_stream_keeps_the_partial_reply_and_a_restart_answers(
        starter_path, tmp_path) -> None:
    """Not a simulated drop: the server process itself dies part-way through a reply."""
    from remote_server import start_server, stop_server

    server = start_server(starter_path, tmp_path / "doomed.log", threads=1)
    engine = RemoteEngine(Connection.new("doomed", server.url, API_KEY), first_byte_timeout=30, stall_timeout=5)
    try:
        engine.load_async("").result(60)
        arrived: list[str] = []
        stream = engine.chat(HELLO, LONG, listener=lambda e: arrived.append(getattr(e, "text", "")))
        deadline = time.monotonic() + 60
        while len(arrived) < 8 and time.monotonic() < deadline and not stream.done:
            time.sleep(0.02)  # polling a plain list filled by the backend's thread
        assert len(arrived) >= 8 and not stream.done, "the reply never got going"
        server.proc.kill()
        server.proc.wait(10)
        with pytest.raises(InklingError) as info:
            stream.wait(30)
        assert isinstance(info.value, ServerDisconnected | ServerUnreachable), repr(info.value)
        assert API_KEY not in str(info.value)
        assert stream.text.strip() and stream.text.startswith("".join(arrived[:8]))  # the partial reply is kept
        server = start_server(starter_path, tmp_path / "again.log", threads=1, port=server.port)
        fin = engine.chat(HELLO, SHORT).wait(60)
        assert fin.reason == "length" and fin.text
    finally:
        engine.close()
        stop_server(server)
