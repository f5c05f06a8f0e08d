"""Engine benchmark: Inkling's engine vs plain llama-cpp-python, side by side in one run.

    python tests/bench/engine.py [--model PATH] [--tokens 200] [--rounds 3]

Prints decode tok/s of plain llama-cpp-python streaming, of Inkling's engine
through the process boundary with alternatives off and with top-5 alternatives
on, their ratios, and time to first token of turn 1 vs turn 10 of a growing
chat. Rounds alternate between the contenders so drift hits each alike; the
median is reported. Run it on a quiet machine: a busy core halves decode speed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from app.core.events import LoadOptions, TokenEvent
from app.core.sampling import SamplingSettings
from app.core.starter import starter_model_path
from app.core.system import default_threads
from app.engine.client import EngineClient

PROMPT = "Chapter One\n\nThe old lighthouse keeper climbed the stairs for the last time. "
SETTINGS = dict(temperature=0.7, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.1)


def _rate(stamps: list[float]) -> float:
    return (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 2 else 0.0


def plain_decode(llm: object, tokens: int, seed: int) -> float:
    stamps = []
    llm.set_seed(seed)  # type: ignore[attr-defined]
    llm.reset()  # type: ignore[attr-defined]
    for _ in llm.create_completion(PROMPT, max_tokens=tokens, stream=True, seed=seed, **SETTINGS):  # type: ignore[attr-defined]
        stamps.append(time.perf_counter())
    return _rate(stamps)


def engine_decode(client: EngineClient, tokens: int, seed: int, alternatives: int) -> float:
    stamps: list[float] = []

    def on_event(event: object) -> None:
        if isinstance(event, TokenEvent) and event.token_id >= 0:
            stamps.append(time.perf_counter())

    settings = SamplingSettings(max_tokens=tokens, seed=seed, **SETTINGS)
    client.complete("x", SamplingSettings(max_tokens=1)).wait()  # empty the prefix cache, like plain's reset()
    client.complete(PROMPT, settings, alternatives=alternatives, listener=on_event).wait()
    return _rate(stamps)


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
    parser.add_argument("--rounds", type=int, default=3)
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
    plain_decode(plain, 16, 1)  # warm both up
    engine_decode(client, 16, 1, 0)

    results: dict[str, list[float]] = {"plain": [], "off": [], "top5": []}
    for r in range(args.rounds):
        seed = 100 + r
        results["plain"].append(plain_decode(plain, args.tokens, seed))
        results["off"].append(engine_decode(client, args.tokens, seed, 0))
        results["top5"].append(engine_decode(client, args.tokens, seed, 5))
    med = {k: statistics.median(v) for k, v in results.items()}
    plain.close()

    ttft = chat_ttft(client, 10)
    client.close()
    print(f"\n{'contender':<44}{'tok/s (median)':>16}   runs")
    print(f"{'plain llama-cpp-python create_completion':<44}{med['plain']:>16.1f}   {[round(x, 1) for x in results['plain']]}")
    print(f"{'Inkling engine, alternatives off':<44}{med['off']:>16.1f}   {[round(x, 1) for x in results['off']]}")
    print(f"{'Inkling engine, top-5 alternatives':<44}{med['top5']:>16.1f}   {[round(x, 1) for x in results['top5']]}")
    off, top5 = med["off"] / med["plain"], med["top5"] / med["plain"]
    print(f"\nengine ÷ plain, alternatives off: {off:.3f}   (target >= 0.97) {'PASS' if off >= 0.97 else 'MISS'}")
    print(f"engine ÷ plain, top-5 alternatives: {top5:.3f}   (target >= 0.90) {'PASS' if top5 >= 0.9 else 'MISS'}")
    ratio = ttft[9] / ttft[0]
    print(f"time to first token: turn 1 {ttft[0] * 1000:.0f} ms, turn 10 {ttft[9] * 1000:.0f} ms; "
          f"turn 10 ÷ turn 1 = {ratio:.2f}   (target <= 1.2) {'PASS' if ratio <= 1.2 else 'MISS'}")
    print("all turns (ms):", [round(t * 1000) for t in ttft])


if __name__ == "__main__":
    main()
