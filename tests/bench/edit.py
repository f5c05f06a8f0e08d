"""Ask benchmark: time to a full proposal for a 300-word selection rewrite, with and without drafting.

    flock /tmp/inkling-cpu.lock python tests/bench/edit.py [--rounds 3] [--model FILE.gguf]

The Write pane's Ask, outside the window: an ``AskSession`` asks the real engine (through
``PumpedEngine``) to rewrite a 300-word selection of a longer document, and the clock runs
from the question to the finished proposal (its hunks computed). Drafting from the text
(prompt-lookup: the selection's own words checked as guesses in one batch) is on for one
contender and off for the other; at temperature 0 both must propose the same text. (The
starter model does not rewrite 300 words faithfully: it copies sentences, comments and
repeats itself up to the answer's length limit. Forcing a known answer with a grammar is
no way out here: the grammar lets the model spell the answer in other tokens than the
selection's, and then the drafts, taken from the selection's tokens, never match.) The
contenders alternate (AB, BA, …) so the machine's drift hits both; the line gives the
medians, their spread and the median per-round ratio (target: drafting ≥ 1.3× faster).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report, row, spread

from app.core.ask import AskSession
from app.core.events import LoadOptions
from app.core.sampling import SamplingSettings
from app.core.starter import starter_model_path
from app.engine.client import EngineClient
from app.engine.pumped import PumpedEngine

SENTENCES = [
    "The harbour town woke slowly under a grey sky.", "Fishing boats knocked against the old stone pier.",
    "Gulls argued over scraps near the market stalls.", "The baker opened her shutters to the smell of bread.",
    "By nine the square was loud with voices and carts.", "Old Marta sold the last of her lemons before noon.",
    "Down on the quay the fishermen mended their nets.", "They talked about the weather, which had been strange.",
    "It was warm in the mornings and cold by the afternoon.", "Children ran between the stalls with bread in hand.",
    "A dog slept in the shade of the church wall.", "The bell rang twice, and the pigeons rose together.",
]


def selection(words: int = 300) -> str:
    out: list[str] = []
    i = 0
    while len(" ".join(out).split()) < words:
        out.append(SENTENCES[i % len(SENTENCES)].replace("The ", "The " if i % 3 else "Then the ", 1))
        i += 1
    return " ".join(" ".join(out).split()[:words]).rstrip(".,") + "."


def proposal_time(client: EngineClient, document: str, start: int, end: int,
                  draft: bool) -> tuple[float, str, tuple[int, int]]:
    pumped = PumpedEngine(client)
    ask = AskSession(None, 0, pumped)
    settings = SamplingSettings(temperature=0.0, repeat_penalty=1.0, seed=1)
    client.complete("Something else, so the next prompt is read again.", SamplingSettings(max_tokens=1)).wait()
    began = time.perf_counter()
    ask.ask("Rewrite this text so it reads better. Keep its meaning.", document, start, end, settings=settings,
            context_tokens=client.info.context, draft=draft)
    assert pumped.run_until(lambda: not ask.busy, timeout=600)
    elapsed = time.perf_counter() - began
    [proposal] = ask.proposals
    assert proposal.state == "ready", proposal.state
    fin = ask.last_finished
    return elapsed, proposal.text, (fin.timings.generated_tokens, fin.drafted) if fin else (0, 0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    model = args.model or starter_model_path()
    chosen = selection()
    before, after = "A note before the selection.\n\n", "\n\nA note after it."
    document = before + chosen + after
    client = EngineClient()
    client.load(model, LoadOptions(n_ctx=4096))
    print(f"model: {model.name}; selection: {len(chosen.split())} words, "
          f"{client.count_text_async(chosen).result()} tokens; {args.rounds} rounds, alternating")
    plain, drafted, texts, tokens = [], [], {False: [], True: []}, []
    for r in range(args.rounds):
        for draft in ((False, True) if r % 2 == 0 else (True, False)):
            seconds, text, n = proposal_time(client, document, len(before), len(before) + len(chosen), draft)
            (drafted if draft else plain).append(seconds)
            texts[draft].append(text)
            tokens.append(n)
    client.close()
    ratios = [p / d for p, d in zip(plain, drafted, strict=True)]
    ratio = statistics.median(ratios)
    same = texts[False] == texts[True]
    print(f"time to a full proposal without drafting: median {statistics.median(plain):.2f} s ({spread(plain)})")
    print(f"time to a full proposal with drafting:    median {statistics.median(drafted):.2f} s ({spread(drafted)})")
    print(f"without ÷ with, per round: median {ratio:.2f} ({spread(ratios)}); the same text both ways: {same}; "
          f"{statistics.median(t for t, _ in tokens):.0f} tokens proposed, "
          f"{statistics.median(d for _, d in tokens if d):.0f} of them drafted (target ≥ 1.30) {'PASS' if ratio >= 1.3 and same else 'MISS'}")
    report("edit", [
        row("proposal time, 300-word rewrite, no drafting", statistics.median(plain), "s", spread_text=spread(plain)),
        row("proposal time, 300-word rewrite, drafting", statistics.median(drafted), "s", spread_text=spread(drafted)),
        row("drafting speed-up (without ÷ with)", ratio, "×", "≥ 1.30", ratio >= 1.3 and same, spread(ratios)),
    ])


if __name__ == "__main__":
    main()
