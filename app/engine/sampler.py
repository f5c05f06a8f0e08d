"""Maps SamplingSettings onto a llama.cpp sampler chain.

The chain follows llama.cpp's own order (penalties, DRY, grammar, top-nσ, top-k,
typical, top-p, min-p, XTC, temperature, dist) so that speed and behaviour match
the plain binding and llama.cpp's server, plus a logit-bias stage for banned
tokens. A stage that is off is left out of the chain, not added as a no-op.
"""

from __future__ import annotations

from typing import Any

from app.core.errors import InvalidSetting
from app.core.sampling import SamplingSettings


def build_sampler(llm: Any, settings: SamplingSettings, seed: int, bias: dict[int, float]) -> Any:
    """A fresh sampler chain for one request (llama_cpp imported lazily: engine process only)."""
    import llama_cpp
    from llama_cpp import _internals
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    s = settings
    sampler = _internals.LlamaSampler()
    if bias:
        sampler.add_logit_bias(llm.n_vocab(), bias)
    sampler.add_penalties(
        n_vocab=llm.n_vocab(),
        penalty_last_n=int(s.repeat_last_n),
        penalty_repeat=float(s.repeat_penalty),
        penalty_freq=float(s.frequency_penalty),
        penalty_present=float(s.presence_penalty),
    )
    sampler.dry_stage = None
    if s.dry_multiplier > 0.0:
        # llama.cpp's library clamps -1 to 0 (= off); only its server resolves -1 to the context size
        last_n = int(s.dry_penalty_last_n) if s.dry_penalty_last_n >= 0 else llm.n_ctx()
        sampler.add_dry(llm._model, float(s.dry_multiplier), float(s.dry_base), int(s.dry_allowed_length),
                        last_n, list(s.dry_sequence_breakers))
        sampler.dry_stage = llama_cpp.llama_sampler_chain_n(sampler.sampler) - 1
    grammar = s.grammar
    if s.json_schema:
        try:
            grammar = json_schema_to_gbnf(s.json_schema)
        except Exception as exc:  # the converter raises plain ValueError/KeyError on odd schemas
            raise InvalidSetting(f"the JSON schema could not be turned into a grammar: {exc}") from None
    if grammar:
        # llama.cpp returns NULL for a grammar it cannot parse; adding NULL to the
        # chain would crash the engine, so check before adding.
        stage = llama_cpp.llama_sampler_init_grammar(llm._model.vocab, grammar.encode("utf-8"), b"root")
        if not stage:
            raise InvalidSetting("the grammar could not be parsed (check its GBNF syntax; the root rule must be named 'root')")
        llama_cpp.llama_sampler_chain_add(sampler.sampler, stage)
    sampler.grammar_stage = llama_cpp.llama_sampler_chain_n(sampler.sampler) - 1 if grammar else None
    if s.temperature <= 0.0:
        sampler.add_greedy()
    elif s.mirostat_mode == 1:
        sampler.add_temp(float(s.temperature))
        sampler.add_mirostat(llm.n_vocab(), seed, float(s.mirostat_tau), float(s.mirostat_eta), 100)
    elif s.mirostat_mode == 2:
        sampler.add_temp(float(s.temperature))
        sampler.add_mirostat_v2(seed, float(s.mirostat_tau), float(s.mirostat_eta))
    else:
        if s.top_n_sigma > 0.0:
            sampler.add_top_n_sigma(float(s.top_n_sigma))
        if s.top_k > 0:
            sampler.add_top_k(int(s.top_k))
        sampler.add_typical(float(s.typical_p), 1)
        sampler.add_top_p(float(s.top_p), 1)
        sampler.add_min_p(float(s.min_p), 1)
        if s.xtc_probability > 0.0:
            sampler.add_xtc(float(s.xtc_probability), float(s.xtc_threshold), 1, seed)
        sampler.add_temp(float(s.temperature))
        sampler.add_dist(seed)
    return sampler


def prime_history(sampler: Any, tokens: list[int], settings: SamplingSettings) -> None:
    """Show DRY the prompt, so that it also pushes away from copying the text it was given.

    Only the DRY stage sees it (llama.cpp's server feeds the prompt to every stage, which
    would also make the repeat penalties and the grammar read the prompt).
    """
    import llama_cpp

    if getattr(sampler, "dry_stage", None) is None or not tokens:
        return
    stage = llama_cpp.llama_sampler_chain_get(sampler.sampler, sampler.dry_stage)
    last_n = settings.dry_penalty_last_n
    for token in tokens[-last_n:] if last_n > 0 else tokens:
        llama_cpp.llama_sampler_accept(stage, int(token))


def grammar_allows(sampler: Any, tokens: list[int]) -> bool:
    """Whether the chain's grammar (if any) lets ``tokens`` come next, checked on a copy of its state.

    Forcing a token the grammar forbids makes llama.cpp throw inside its C++ code, which kills the engine;
    the thinking budget asks this before it writes the close of the thinking.
    """
    import ctypes
    import math

    import llama_cpp

    index = getattr(sampler, "grammar_stage", None)
    if index is None:
        return True
    copy = llama_cpp.llama_sampler_clone(llama_cpp.llama_sampler_chain_get(sampler.sampler, index))
    try:
        for token in tokens:
            data = (llama_cpp.llama_token_data * 1)(llama_cpp.llama_token_data(token, 0.0, 0.0))
            candidates = llama_cpp.llama_token_data_array(data, 1, -1, False)
            llama_cpp.llama_sampler_apply(copy, ctypes.byref(candidates))
            if not math.isfinite(data[0].logit):
                return False
            llama_cpp.llama_sampler_accept(copy, token)
        return True
    finally:
        llama_cpp.llama_sampler_free(copy)
