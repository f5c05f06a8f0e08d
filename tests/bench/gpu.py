"""GPU offload benchmark: the same model on the CPU and fully offloaded, side by side in one run.

    python tests/bench/gpu.py [--model PATH] [--tokens 256] [--rounds 5]

Needs a llama-cpp-python built with a GPU backend (``CMAKE_ARGS="-DGGML_CUDA=on"`` or
Metal); on a CPU-only build it says so and exits 0 (nothing to compare).

Through Inkling's engine (the child process, as the app runs it), for each round and
in alternating order:

- the model loaded with ``n_gpu_layers=0`` (CPU, the machine's default threads) and
  with ``n_gpu_layers=-1`` (every layer on the GPU), each streaming the same prompt
  for exactly ``--tokens`` tokens (a logit bias against end-of-generation);
- plain llama-cpp-python in this process with every layer on the GPU: the baseline
  for the engine's own overhead on a GPU, where tokens come ~10× faster and a
  per-token cost in Inkling would show.

It prints what the engine reports after each load (GPU offload supported, layers on
the GPU out of the model's), the median tok/s of each, their ratios and spreads.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.core.events import LoadOptions, TokenEvent  # noqa: E402
from app.core.sampling import SamplingSettings  # noqa: E402
from app.core.starter import starter_model_path  # noqa: E402
from app.engine.client import EngineClient  # noqa: E402

PROMPT = "Chapter One\n\nThe old lighthouse keeper climbed the stairs for the last time. "


def end_bias(model: str) -> tuple[tuple[int, float], ...]:
    """Every end-of-generation token made impossible, so each contender writes exactly the same count."""
    import llama_cpp

    llm = llama_cpp.Llama(model, vocab_only=True, verbose=False)
    vocab = llm._model.vocab
    ids = tuple((t, -1e9) for t in range(llm.n_vocab()) if llama_cpp.llama_vocab_is_eog(vocab, t))
    llm.close()
    return ids


def spread(values: list[float]) -> str:
    return f"min {min(values):.1f} · max {max(values):.1f}" if values else ""


def engine_round(client: EngineClient, settings: SamplingSettings) -> tuple[float, int]:
    stamps: list[float] = []

    def on_event(event: object) -> None:
        if isinstance(event, TokenEvent) and event.token_id >= 0:
            stamps.append(time.perf_counter())

    client.complete("x", SamplingSettings(max_tokens=1)).wait()  # a cold prefix cache each round
    fin = client.complete(PROMPT, settings, listener=on_event).wait()
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 2 else 0.0
    return rate, fin.timings.generated_tokens


def plain_round(llm: object, settings: SamplingSettings, bias: dict[int, float]) -> tuple[float, int]:
    stamps: list[float] = []
    llm.reset()  # type: ignore[attr-defined]
    for _ in llm.create_completion(PROMPT, max_tokens=settings.max_tokens, temperature=settings.temperature,  # type: ignore[attr-defined]
                                   top_k=settings.top_k, top_p=settings.top_p, min_p=settings.min_p,
                                   repeat_penalty=settings.repeat_penalty, seed=settings.seed, logit_bias=bias,
                                   stream=True):
        stamps.append(time.perf_counter())
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 2 else 0.0
    return rate, len(stamps)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    import llama_cpp

    if not llama_cpp.llama_supports_gpu_offload():
        print("This llama-cpp-python build has no GPU backend: nothing to compare (build it with "
              "CMAKE_ARGS=\"-DGGML_CUDA=on\" on a machine with an NVIDIA GPU).")
        print("BENCH-JSON " + json.dumps({"bench": "gpu", "rows": [], "skipped": "no GPU backend"}))
        return 0

    model = args.model or str(starter_model_path())
    bias = end_bias(model)
    settings = SamplingSettings(temperature=0.7, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.1,
                                max_tokens=args.tokens, seed=7, logit_bias=bias)

    cpu = EngineClient()
    gpu = EngineClient()
    info_cpu = cpu.load(model, LoadOptions(n_ctx=2048, n_gpu_layers=0))
    info_gpu = gpu.load(model, LoadOptions(n_ctx=2048, n_gpu_layers=-1))
    for label, info in (("CPU", info_cpu), ("GPU", info_gpu)):
        print(f"engine, {label} load: gpu_offload_supported={info.gpu_offload_supported} "
              f"gpu_layers={info.gpu_layers} threads={info.n_threads} model={info.name}")
    t0 = time.perf_counter()
    plain = llama_cpp.Llama(model, n_ctx=2048, n_gpu_layers=-1, verbose=True)  # its log says how many layers went to the GPU
    print(f"plain llama-cpp-python, GPU load: {time.perf_counter() - t0:.2f} s")
    plain_bias = dict(bias)

    rates: dict[str, list[float]] = {"engine CPU": [], "engine GPU": [], "plain GPU": []}
    counts: dict[str, set[int]] = {k: set() for k in rates}
    contenders = [("engine CPU", lambda: engine_round(cpu, settings)),
                  ("engine GPU", lambda: engine_round(gpu, settings)),
                  ("plain GPU", lambda: plain_round(plain, settings, plain_bias))]
    engine_round(gpu, settings)  # warm-up: the first GPU decode compiles/uploads kernels
    plain_round(plain, settings, plain_bias)
    for r in range(args.rounds):
        order = contenders[r % 3:] + contenders[:r % 3]
        for name, fn in order:
            rate, n = fn()
            rates[name].append(rate)
            counts[name].add(n)
        print(f"round {r + 1}: " + "  ".join(f"{k} {v[-1]:.1f}" for k, v in rates.items()), flush=True)
    cpu.close()
    gpu.close()
    plain.close()

    med = {k: statistics.median(v) for k, v in rates.items()}
    print()
    print(f"{'contender':<14}{'median tok/s':>14}  spread            tokens each")
    for k, v in rates.items():
        print(f"{k:<14}{med[k]:>14.1f}  {spread(v):<18}{sorted(counts[k])}")
    ratio_gpu_cpu = med["engine GPU"] / med["engine CPU"] if med["engine CPU"] else 0.0
    ratio_engine_plain = med["engine GPU"] / med["plain GPU"] if med["plain GPU"] else 0.0
    print(f"engine GPU ÷ engine CPU:   {ratio_gpu_cpu:.2f}")
    print(f"engine GPU ÷ plain GPU:    {ratio_engine_plain:.2f}")
    offloaded = info_gpu.gpu_offload_supported and info_gpu.gpu_layers != 0
    print("offload: " + ("every layer on the GPU" if offloaded else "NOT offloaded"))
    rows = [
        {"metric": "engine GPU tok/s", "value": round(med["engine GPU"], 1), "unit": "tok/s", "target": "",
         "ok": None, "spread": spread(rates["engine GPU"])},
        {"metric": "engine CPU tok/s", "value": round(med["engine CPU"], 1), "unit": "tok/s", "target": "",
         "ok": None, "spread": spread(rates["engine CPU"])},
        {"metric": "GPU ÷ CPU (engine)", "value": round(ratio_gpu_cpu, 2), "unit": "×", "target": "> 1",
         "ok": ratio_gpu_cpu > 1, "spread": ""},
        {"metric": "engine ÷ plain (GPU)", "value": round(ratio_engine_plain, 3), "unit": "×", "target": "",
         "ok": None, "spread": ""},
    ]
    print("BENCH-JSON " + json.dumps({"bench": "gpu", "rows": rows}))
    return 0 if offloaded else 1


if __name__ == "__main__":
    sys.exit(main())
