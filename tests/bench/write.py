"""Write benchmark: 3 alternatives of 64 tokens ÷ 1, for a document of about 1,500 tokens.

    python tests/bench/write.py [--alternatives 3] [--tokens 64]

The alternatives run one after another through the real engine; the document
(the shared prompt) is evaluated once and reused from the cache, so the ratio
should be well under 3.
"""

from __future__ import annotations

import argparse
import statistics
import time

from app.core.events import LoadOptions
from app.core.sampling import SamplingSettings
from app.core.starter import starter_model_path
from app.engine.client import EngineClient

PARAGRAPH = ("The harbour town woke slowly. Fishing boats knocked against the pier while gulls argued over "
             "scraps, and the baker opened her shutters to the smell of bread and tar. ")


def run(client: EngineClient, document: str, count: int, tokens: int, seed: int) -> float:
    client.complete("reset", SamplingSettings(max_tokens=1)).wait()  # a cold cache for the document
    started = time.perf_counter()
    for i in range(count):
        client.complete(document, SamplingSettings(temperature=0.8, max_tokens=tokens, seed=seed + i)).wait()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alternatives", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    client = EngineClient()
    client.load(starter_model_path(), LoadOptions(n_ctx=4096))
    document = PARAGRAPH * 40
    print(f"document: {len(client.tokenize(document))} tokens; {args.tokens} tokens per alternative")
    ones, many = [], []
    for r in range(args.rounds):
        ones.append(run(client, document, 1, args.tokens, 10 * r))
        many.append(run(client, document, args.alternatives, args.tokens, 10 * r))
    client.close()
    one, n = statistics.median(ones), statistics.median(many)
    print(f"1 alternative: {one:.2f} s   {args.alternatives} alternatives: {n:.2f} s")
    print(f"{args.alternatives} ÷ 1 = {n / one:.2f}   (target: well under {args.alternatives}; "
          f"without prompt reuse it would be ~{args.alternatives})")


if __name__ == "__main__":
    main()
