"""Remote benchmark: a plain httpx streaming client vs Inkling's remote backend, same server, one run.

    python tests/bench/remote.py [--tokens 200] [--rounds 5] [--server URL --api-key K]

Without ``--server`` it starts llama-cpp-python's server with the starter model on
a free port of 127.0.0.1 (and stops it at the end), with ``--server-threads``
threads (default 1: on a 2-core machine a 2-thread server leaves no core for the
client, and any client thread that wakes stalls llama.cpp's thread barrier — that
measures contention, not the client). Each round streams the same
chat (same seed, a logit bias against the end token so every reply is exactly
``--tokens`` long) once through a plain httpx + httpx-sse client and once through
``RemoteEngine``, alternating which goes first. Prints per-round and median decode
tok/s (tokens after the first ÷ time after the first) and time to first token of
each, and the ratio Inkling / plain (target ≥ 0.97). Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import httpx_sse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from remote_server import API_KEY, start_server, stop_server

from app.core.connections import Connection
from app.core.sampling import SamplingSettings
from app.core.starter import starter_model_path
from app.engine.remote import RemoteEngine

MESSAGES = [{"role": "user", "content": "Write a long story about a lighthouse keeper and the sea."}]
NO_END = {"0": -100.0, "1": -100.0, "2": -100.0}


def _rate(stamps: list[float]) -> float:
    return (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 2 else 0.0


def plain(url: str, key: str, model: str, tokens: int, seed: int) -> tuple[float, float, int]:
    """(tok/s, first token ms, tokens) seen by a plain httpx + httpx-sse client."""
    body = {"model": model, "messages": MESSAGES, "stream": True, "max_tokens": tokens, "temperature": 0.7,
            "top_k": 40, "top_p": 0.95, "min_p": 0.05, "repeat_penalty": 1.1, "seed": seed, "logit_bias": NO_END}
    stamps = []
    with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=None) as client:
        started = time.perf_counter()
        with httpx_sse.connect_sse(client, "POST", f"{url}/chat/completions", json=body) as source:
            for sse in source.iter_sse():
                if sse.data.strip() == "[DONE]":
                    break
                chunk = json.loads(sse.data)
                if chunk["choices"] and (chunk["choices"][0].get("delta") or {}).get("content"):
                    stamps.append(time.perf_counter())
    return _rate(stamps), (stamps[0] - started) * 1000, len(stamps)


def inkling(engine: RemoteEngine, tokens: int, seed: int) -> tuple[float, float, int]:
    """The same through Inkling's remote backend (its stream, its listener thread hand-off)."""
    settings = SamplingSettings(max_tokens=tokens, seed=seed, logit_bias=tuple((int(k), v) for k, v in NO_END.items()))
    stamps = []
    started = time.perf_counter()
    for event in engine.chat(MESSAGES, settings):
        if event.text:
            stamps.append(time.perf_counter())
    return _rate(stamps), (stamps[0] - started) * 1000, len(stamps)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--server")
    parser.add_argument("--api-key", default="")
    parser.add_argument("--server-threads", type=int, default=1,
                        help="threads of the server started here (1 leaves a core for the client on a 2-core machine, "
                             "as when the server runs elsewhere)")
    args = parser.parse_args()
    server = None
    url, key = args.server, args.api_key
    if not url:
        server = start_server(starter_model_path(), Path(tempfile.mkdtemp()) / "server.log",
                              threads=args.server_threads)
        url, key = server.url, API_KEY
    engine = RemoteEngine(Connection.new("bench", url, key))
    try:
        engine.load_async("").result(120)
        print(f"server {url} ({engine.capabilities.server}), model {engine.model}, {args.tokens} tokens, "
              f"{args.rounds} rounds")
        inkling(engine, 8, 0)  # warm both paths once (connection, prompt cache)
        plain(url, key, engine.model, 8, 0)
        results: dict[str, list[tuple[float, float, int]]] = {"plain httpx": [], "Inkling remote": []}
        for r in range(args.rounds):
            order = ["plain httpx", "Inkling remote"] if r % 2 == 0 else ["Inkling remote", "plain httpx"]
            for name in order:
                run = plain(url, key, engine.model, args.tokens, 100 + r) if name == "plain httpx" else \
                    inkling(engine, args.tokens, 100 + r)
                results[name].append(run)
                print(f"  round {r + 1} {name:15s} {run[0]:7.1f} tok/s  first token {run[1]:7.0f} ms  ({run[2]} tokens)")
        med = {name: (statistics.median(x[0] for x in runs), statistics.median(x[1] for x in runs))
               for name, runs in results.items()}
        print(f"{'':2s}{'contender':16s}{'tok/s (median)':>16s}{'first token ms':>16s}")
        for name, (rate, ttft) in med.items():
            print(f"  {name:16s}{rate:16.1f}{ttft:16.0f}")
        ratio = med["Inkling remote"][0] / med["plain httpx"][0]
        print(f"  ratio Inkling / plain: {ratio:.3f} (target >= 0.97)")
    finally:
        engine.close()
        if server is not None:
            stop_server(server)


if __name__ == "__main__":
    main()
