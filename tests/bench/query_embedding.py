"""The latency a chat's question adds in the window when it is embedded in the child process.

Run: ``PYTHONPATH=. python tests/bench/query_embedding.py`` (the starter model, prompt-last pooling).
Prints the first call (start the process, load the model) and the p50/max of later calls.
"""

from __future__ import annotations

import time

from app.core.starter import starter_model_path
from app.engine.query_embedder import QueryEmbedderProcess


def main() -> None:
    spec = {"kind": "llama", "model": str(starter_model_path()), "pooling": "prompt-last", "max_chars": 800}
    process = QueryEmbedderProcess()
    embedder = process.for_spec(spec)
    try:
        started = time.perf_counter()
        embedder.embed(["When does the keeper light the lamp?"])
        cold = time.perf_counter() - started
        times = []
        for i in range(20):
            started = time.perf_counter()
            embedder.embed([f"When does keeper number {i} light the lamp in the tower?"])
            times.append(time.perf_counter() - started)
        times.sort()
        print(f"first question (start + load): {cold * 1000:.0f} ms; "
              f"later: p50 {times[10] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms")
    finally:
        process.close()


if __name__ == "__main__":
    main()
