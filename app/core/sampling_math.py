"""What the sampling settings do to the next-token distribution (pure, for the live chart).

Mirrors the engine's llama.cpp chain order: top-nσ → top-k → typical → top-p →
min-p → XTC → temperature. Repetition penalties and DRY depend on the tokens so far
and are left out of the picture (the chart says so). XTC fires at random: the
picture is the average over firing and not firing, and it marks the tokens XTC
sets aside when it fires. Mirostat replaces top-nσ … XTC in the engine and cuts
adaptively, from the surprise of the text so far: the picture then shows the
temperature alone and a note says that mirostat's cut is not pictured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from app.core.sampling import SamplingSettings


@dataclass(frozen=True)
class Candidate:
    """A possible next token with its raw logit."""

    text: str
    token_id: int
    logit: float


@dataclass(frozen=True)
class Picture:
    """Probabilities of the same candidates before and after the settings (0 = ruled out).

    ``xtc_cut`` holds the indices of the candidates XTC sets aside when it fires (it
    fires with probability ``xtc_probability``; ``after`` already averages over both).
    ``sigma_cut`` holds those top-nσ rules out; ``notes`` says what the picture leaves out.
    """

    candidates: list[Candidate]
    before: list[float]
    after: list[float]
    xtc_cut: tuple[int, ...] = ()
    sigma_cut: tuple[int, ...] = ()
    notes: tuple[str, ...] = field(default=())


MIROSTAT_NOT_PICTURED = ("Mirostat is on: it ignores top-k, top-p, min-p, typical-p, top-nσ and XTC and cuts "
                         "candidates by the surprise of the text so far. That cut is not pictured: the bars show "
                         "temperature only.")


def _softmax(logits: list[float]) -> list[float]:
    if not logits:
        return []
    peak = max(logits)
    exps = [math.exp(x - peak) for x in logits]
    total = sum(exps)
    return [e / total for e in exps]


def _notes(s: SamplingSettings, sigma_known: bool) -> tuple[str, ...]:
    notes = []
    if s.repeat_penalty != 1.0 or s.presence_penalty or s.frequency_penalty:
        notes.append("Repeat penalties depend on the text so far and are not pictured.")
    if s.dry_multiplier > 0:
        notes.append("DRY depends on the text so far (it acts only when a passage starts to repeat) and is not pictured.")
    if s.top_n_sigma > 0 and not sigma_known:
        notes.append("Top-nσ needs the spread of all scores, which this backend does not report: not pictured.")
    return tuple(notes)


def picture(candidates: list[Candidate], log_normaliser: float, s: SamplingSettings,
            logit_sigma: float | None = None) -> Picture:
    """``candidates`` sorted by logit, best first; ``log_normaliser`` is log Σ exp(logit) over the whole vocabulary.

    ``logit_sigma`` is the standard deviation of the logits over the whole vocabulary
    (top-nσ measures against it); without it top-nσ is left out and a note says so.
    """
    cands = sorted(candidates, key=lambda c: -c.logit)
    before = [math.exp(c.logit - log_normaliser) for c in cands]
    n = len(cands)
    notes = _notes(s, logit_sigma is not None)
    if n == 0:
        return Picture([], [], [], notes=notes)
    if s.temperature <= 0:
        return Picture(cands, before, [1.0] + [0.0] * (n - 1), notes=notes)
    if s.mirostat_mode:
        # the engine skips top-nσ … XTC under mirostat; its own cut depends on the text so far
        return Picture(cands, before, _softmax([c.logit / s.temperature for c in cands]),
                       notes=(*notes, MIROSTAT_NOT_PICTURED))
    keep = n
    sigma_cut: tuple[int, ...] = ()
    if s.top_n_sigma > 0 and logit_sigma is not None:
        floor = cands[0].logit - s.top_n_sigma * logit_sigma
        keep = sum(1 for c in cands if c.logit >= floor) or 1
        sigma_cut = tuple(range(keep, n))
    if s.top_k > 0:
        keep = min(keep, int(s.top_k))
    alive = list(range(keep))
    if s.typical_p < 1.0:
        probs = _softmax([cands[i].logit for i in alive])
        entropy = -sum(p * math.log(p) for p in probs if p > 0)
        order = sorted(range(len(alive)), key=lambda j: abs(-math.log(probs[j]) - entropy) if probs[j] > 0 else math.inf)
        total, chosen = 0.0, []
        for j in order:
            chosen.append(j)
            total += probs[j]
            if total >= s.typical_p:
                break
        alive = [alive[j] for j in sorted(chosen)]
    if s.top_p < 1.0:
        probs = _softmax([cands[i].logit for i in alive])
        total, cut = 0.0, len(alive)
        for j, p in enumerate(probs):
            total += p
            if total >= s.top_p:
                cut = j + 1
                break
        alive = alive[:cut]
    if s.min_p > 0.0 and alive:
        top = cands[alive[0]].logit
        threshold = top + math.log(s.min_p)
        alive = [i for i in alive if cands[i].logit >= threshold] or alive[:1]
    xtc_cut: tuple[int, ...] = ()
    if s.xtc_probability > 0 and s.xtc_threshold <= 0.5 and len(alive) >= 2:
        probs = _softmax([cands[i].logit for i in alive])
        above = 0
        while above < len(probs) and probs[above] >= s.xtc_threshold:
            above += 1
        if above >= 2:  # all but the least likely of the "top" choices go
            xtc_cut = tuple(alive[: above - 1])
    after = [0.0] * n
    for i, p in zip(alive, _softmax([cands[i].logit / s.temperature for i in alive]), strict=True):
        after[i] = p
    if xtc_cut:
        rest = [i for i in alive if i not in xtc_cut]
        fired = dict(zip(rest, _softmax([cands[i].logit / s.temperature for i in rest]), strict=True))
        chance = s.xtc_probability
        after = [(1 - chance) * a + chance * fired.get(i, 0.0) for i, a in enumerate(after)]
    return Picture(cands, before, after, xtc_cut, sigma_cut, notes)
