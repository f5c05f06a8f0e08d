"""Write benchmark: alternatives side by side, and a selection rewrite drafted from its own text.

    flock /tmp/inkling-cpu.lock python tests/bench/write.py [--rounds 5]

On a short (≈100-token) document, with the starter model:

1. 3 alternatives of 64 tokens ÷ 1 alternative of 64 tokens, wall time including reading
   the prompt. The 3 are decoded as 3 sequences in one batch per step, sharing the
   prompt's cache; one after another it would be ≈ 3. Target ≤ 1.3.
2. A selection rewrite's decode speed (tok/s) with prompt-lookup drafting ÷ without, at
   temperature 0, where the two texts must be identical. Target ≥ 1.5.

Rounds alternate the contenders (the machine's speed drifts; see FACTS.md) and the
medians are compared. Each line ends PASS or MISS against its target.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report, row

from app.core.events import LoadOptions
from app.core.sampling import SamplingSettings
from app.core.starter import starter_model_path
from app.engine.client import EngineClient

DOCUMENT = ("The harbour town woke slowly. Fishing boats knocked against the pier while gulls argued over "
            "scraps, and the baker opened her shutters to the smell of bread and tar. By nine the market was "
            "loud with voices, and old Marta sold the last of her lemons before the church bell rang. Down on "
            "the quay the fishermen mended their nets and talked about the weather, which had been strange all "
            "week, warm in the mornings and cold by the afternoon.")
SELECTION = ("By nine the market was loud with voices, and old Marta sold the last of her lemons before the "
             "church bell rang. The fishermen mended their nets on the quay, and the children ran between the "
             "stalls with bread in their hands.")


def end_tokens() -> tuple[tuple[int, float], ...]:
    import llama_cpp

    vocab = llama_cpp.Llama(model_path=str(starter_model_path()), vocab_only=True, verbose=False)
    ids = {t for t in range(vocab.n_vocab()) if llama_cpp.llama_vocab_is_eog(vocab._model.vocab, t)}
    vocab.close()
    return tuple((t, -100.0) for t in ids)


def alternatives_time(client: EngineClient, count: int, tokens: int, seed: int, no_end: tuple) -> float:
    client.complete("A different text, so the document is read again.", SamplingSettings(max_tokens=1)).wait()
    settings = SamplingSettings(temperature=0.8, max_tokens=tokens, seed=seed, logit_bias=no_end)
    started = time.perf_counter()
    fin = client.complete(DOCUMENT, settings, sequences=count).wait()
    elapsed = time.perf_counter() - started
    assert fin.timings.generated_tokens == count * tokens, fin.timings
    return elapsed


def rewrite(client: EngineClient, draft: bool) -> tuple[float, str, int]:
    messages = [{"role": "user", "content": f"Rewrite this text in plain English:\n\n{SELECTION}"}]
    settings = SamplingSettings(temperature=0.0, max_tokens=160, repeat_penalty=1.0, draft_from_text=draft)
    fin = client.chat(messages, settings).wait()
    return fin.timings.tokens_per_second, fin.text, fin.drafted


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--alternatives", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=64)
    args = parser.parse_args()
    client = EngineClient()
    client.load(starter_model_path(), LoadOptions(n_ctx=2048))
    no_end = end_tokens()
    print(f"document: {client.count_text_async(DOCUMENT).result()} tokens; {args.tokens} tokens per alternative; "
          f"{args.rounds} alternating rounds")
    ones, many, plain_speed, draft_speed = [], [], [], []
    same = True
    drafted = 0
    for r in range(args.rounds):
        ones.append(alternatives_time(client, 1, args.tokens, 10 * r, no_end))
        many.append(alternatives_time(client, args.alternatives, args.tokens, 10 * r, no_end))
        speed, plain_text, _ = rewrite(client, False)
        plain_speed.append(speed)
        speed, draft_text, drafted = rewrite(client, True)
        draft_speed.append(speed)
        same = same and draft_text == plain_text
    client.close()
    one, n = statistics.median(ones), statistics.median(many)
    ratio = n / one
    print(f"alternatives: 1 × {args.tokens} tokens {one:.2f} s, {args.alternatives} × {args.tokens} tokens {n:.2f} s; "
          f"{args.alternatives} ÷ 1 = {ratio:.2f} (target ≤ 1.30) {verdict(ratio <= 1.3)}")
    plain, drafted_speed = statistics.median(plain_speed), statistics.median(draft_speed)
    gain = drafted_speed / plain
    print(f"selection rewrite at temperature 0: {plain:.1f} tok/s plain, {drafted_speed:.1f} tok/s drafted from the "
          f"text ({drafted} tokens drafted and kept), identical text: {same}; "
          f"drafted ÷ plain = {gain:.2f} (target ≥ 1.50) {verdict(gain >= 1.5 and same)}")
    report("write", [row(f"{args.alternatives} alternatives ÷ 1 (time)", ratio, "×", "≤ 1.30", ratio <= 1.3),
                     row("rewrite drafted ÷ plain (tok/s, identical text)", gain, "×", "≥ 1.50",
                         gain >= 1.5 and same)])


if __name__ == "__main__":
    main()
