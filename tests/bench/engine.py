"""Engine benchmark: Inkling's engine vs plain llama-cpp-python, side by side in one run.

    python tests/bench/engine.py [--model PATH] [--tokens 200] [--rounds 3]

Prints decode tok/s of plain llama-cpp-python streaming, of Inkling's engine
through the process boundary with alternatives off and with top-5 alternatives
on, and time to first token of turn 1 vs turn 10 of a growing chat. Like is
compared with like: every contender writes exactly ``--tokens`` tokens (a logit
bias rules out the end token; the counts are checked equal), and the order of
the contenders rotates every round so drift hits each alike. The ratios are of
medians from this one run: top-5 ÷ alternatives off (the budget: alternatives
cost ≤ 10%, so ≥ 0.90) and engine ÷ plain. Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import end_bias, report, row, spread

from app.core.events import LoadOptions, TokenEvent
from app.core.sampling import SamplingSettings
from app.core.starter import starter_model_path
from app.core.system import default_threads
from app.engine.client import EngineClient

PROMPT = "Chapter One\n\nThe old lighthouse keeper climbed the stairs for the last time. "
SETTINGS = dict(temperature=0.7, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.1)


def _rate(stamps: list[float]) -> float:
    return (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 2 else 0.0


def plain_decode(llm: object, tokens: int, seed: int, bias: dict[int, float]) -> tuple[float, int]:
    stamps = []
    llm.set_seed(seed)  # type: ignore[attr-defined]
    llm.reset()  # type: ignore[attr-defined]
    for chunk in llm.create_completion(PROMPT, max_tokens=tokens, stream=True, seed=seed, logit_bias=bias,  # type: ignore[attr-defined]
                                       **SETTINGS):
        if chunk["choices"][0]["finish_reason"] is None:  # one chunk a token; the last one only says why it ended
            stamps.append(time.perf_counter())
    return _rate(stamps), len(stamps)


def engine_decode(client: EngineClient, tokens: int, seed: int, alternatives: int,
                  bias: dict[int, float]) -> tuple[float, int]:
    stamps: list[float] = []

    def on_event(event: object) -> None:
        if isinstance(event, TokenEvent) and event.token_id >= 0:
            stamps.append(time.perf_counter())

    settings = SamplingSettings(max_tokens=tokens, seed=seed, logit_bias=tuple(bias.items()), **SETTINGS)
    client.complete("x", SamplingSettings(max_tokens=1)).wait()  # empty the prefix cache, like plain's reset()
    client.complete(PROMPT, settings, alternatives=alternatives, listener=on_event).wait()
    return _rate(stamps), len(stamps)


def chat_ttft(client: EngineClient, turns: int) -> list[float]:
    history = [{"role": "system", "content": "You are a helpful assistant."}]
    questions = ["Tell me about the moon.", "And the sun?", "What about Mars?", "Is Venus hot?",
                 "Describe Jupiter.", "What are Saturn's rings?", "Who found Uranus?", "Is Neptune windy?",
                 "What is Pluto?", "Which planet is largest?"]
    out = []
    settings = SamplingSettings(temperature=0.0, max_tokens=48)
    for i in range(turns):
        history.append({"role": "user", "content": questions[i % len(questions)]})
        first: list[float] = []
        started = time.perf_counter()

        def on_event(event: object, first: list[float] = first) -> None:
            if isinstance(event, TokenEvent) and not first:
                first.append(time.perf_counter())

        fin = client.chat(history, settings, listener=on_event).wait()
        out.append((first[0] if first else time.perf_counter()) - started)
        history.append({"role": "assistant", "content": fin.text})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(starter_model_path()))
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--ctx", type=int, default=2048)
    parser.add_argument("--gpu-layers", type=int, default=-1)
    args = parser.parse_args()
    threads = default_threads()
    import llama_cpp

    print(f"model {args.model}\nthreads {threads} (batch {os.cpu_count()}), n_ctx {args.ctx}, "
          f"{args.tokens} tokens a run, {args.rounds} rounds, GPU offload: {llama_cpp.llama_supports_gpu_offload()}")
    plain = llama_cpp.Llama(args.model, n_ctx=args.ctx, n_threads=threads, n_threads_batch=os.cpu_count(),
                            n_gpu_layers=args.gpu_layers, verbose=False)
    client = EngineClient()
    client.load(args.model, LoadOptions(n_ctx=args.ctx, n_threads=threads, n_gpu_layers=args.gpu_layers))
    bias = end_bias(args.model)
    contenders = {
        "plain": lambda seed: plain_decode(plain, args.tokens, seed, bias),
        "off": lambda seed: engine_decode(client, args.tokens, seed, 0, bias),
        "top5": lambda seed: engine_decode(client, args.tokens, seed, 5, bias),
    }
    for run in contenders.values():  # warm each up
        run(1)
    names = list(contenders)
    results: dict[str, list[float]] = {k: [] for k in names}
    for r in range(args.rounds):
        seed = 100 + r
        order = names[r % 3:] + names[: r % 3]  # rotate who goes first
        counts = {}
        for name in order:
            tok_s, counts[name] = contenders[name](seed)
            results[name].append(tok_s)
        if len(set(counts.values())) != 1:
            raise SystemExit(f"round {r + 1}: the contenders wrote different numbers of tokens: {counts}")
        print(f"round {r + 1} ({' → '.join(order)}): " + ", ".join(f"{k} {results[k][-1]:.1f}" for k in names)
              + f" tok/s, {counts['plain']} tokens each", flush=True)
    med = {k: statistics.median(v) for k, v in results.items()}
    plain.close()

    ttft = chat_ttft(client, 10)
    client.close()
    print(f"\n{'contender':<44}{'tok/s (median)':>16}   spread")
    print(f"{'plain llama-cpp-python create_completion':<44}{med['plain']:>16.1f}   {spread(results['plain'])}")
    print(f"{'Inkling engine, alternatives off':<44}{med['off']:>16.1f}   {spread(results['off'])}")
    print(f"{'Inkling engine, top-5 alternatives':<44}{med['top5']:>16.1f}   {spread(results['top5'])}")
    alt = med["top5"] / med["off"]
    off = med["off"] / med["plain"]
    alt_rounds = [t / o for t, o in zip(results["top5"], results["off"], strict=True)]
    off_rounds = [o / p for o, p in zip(results["off"], results["plain"], strict=True)]
    print(f"\ntop-5 alternatives ÷ alternatives off: {alt:.3f}   (budget: cost ≤ 10%, so ≥ 0.90) "
          f"{'PASS' if alt >= 0.9 else 'MISS'}   per round {spread(alt_rounds)}")
    print(f"engine (alternatives off) ÷ plain:     {off:.3f}   per round {spread(off_rounds)}")
    ratio = ttft[9] / ttft[0]
    print(f"time to first token: turn 1 {ttft[0] * 1000:.0f} ms, turn 10 {ttft[9] * 1000:.0f} ms; "
          f"turn 10 ÷ turn 1 = {ratio:.2f}   (target <= 1.2) {'PASS' if ratio <= 1.2 else 'MISS'}")
    print("all turns (ms):", [round(t * 1000) for t in ttft])
    report("engine", [
        row("plain llama-cpp-python decode", med["plain"], "tok/s", spread_text=spread(results["plain"])),
        row("engine, alternatives off", med["off"], "tok/s", spread_text=spread(results["off"])),
        row("engine, top-5 alternatives", med["top5"], "tok/s", spread_text=spread(results["top5"])),
        row("top-5 alternatives ÷ alternatives off", alt, "×", "≥ 0.90", alt >= 0.9, spread(alt_rounds)),
        row("engine ÷ plain (alternatives off)", off, "×", spread_text=spread(off_rounds)),
        row("first token, turn 10 ÷ turn 1", ratio, "×", "≤ 1.2", ratio <= 1.2),
    ])


if __name__ == "__main__":
    main()
