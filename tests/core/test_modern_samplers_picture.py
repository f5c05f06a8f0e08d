"""The next-token picture shows what XTC and top-nσ do to the candidates (pure, no model)."""

from __future__ import annotations

import math

from app.core.sampling import SamplingSettings
from app.core.sampling_math import Candidate, picture

CANDS = [Candidate(" the", 1, 5.0), Candidate(" a", 2, 4.8), Candidate(" an", 3, 4.0), Candidate(" one", 4, 1.0)]
LSE = math.log(sum(math.exp(c.logit) for c in CANDS))
PLAIN = SamplingSettings(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0)


def test_xtc_sets_aside_all_top_choices_but_the_least_likely() -> None:
    off = picture(CANDS, LSE, PLAIN)
    on = picture(CANDS, LSE, PLAIN.replace(xtc_probability=1.0, xtc_threshold=0.15))
    assert off.xtc_cut == ()
    assert on.xtc_cut == (0, 1)  # " the", " a" and " an" are above 15%; " an", the least likely of them, stays
    assert on.after[0] == 0.0 and on.after[1] == 0.0 and on.after[2] > off.after[2]
    assert math.isclose(sum(on.after), 1.0)


def test_xtc_that_fires_half_the_time_averages_both_outcomes() -> None:
    never = picture(CANDS, LSE, PLAIN)
    always = picture(CANDS, LSE, PLAIN.replace(xtc_probability=1.0, xtc_threshold=0.15))
    half = picture(CANDS, LSE, PLAIN.replace(xtc_probability=0.5, xtc_threshold=0.15))
    for n, a, h in zip(never.after, always.after, half.after, strict=True):
        assert math.isclose(h, (n + a) / 2)
    assert half.xtc_cut == (0, 1)


def test_xtc_does_nothing_when_only_one_choice_is_on_top() -> None:
    assert picture(CANDS, LSE, PLAIN.replace(xtc_probability=1.0, xtc_threshold=0.45)).xtc_cut == ()


def test_top_n_sigma_keeps_only_tokens_near_the_best_score() -> None:
    sigma = 1.0
    pic = picture(CANDS, LSE, PLAIN.replace(top_n_sigma=1.5), logit_sigma=sigma)  # keep logits >= 5 - 1.5
    assert [a > 0 for a in pic.after] == [True, True, True, False]
    assert pic.sigma_cut == (3,)
    wide = picture(CANDS, LSE, PLAIN.replace(top_n_sigma=5.0), logit_sigma=sigma)
    assert all(a > 0 for a in wide.after)


def test_without_the_spread_top_n_sigma_is_not_pictured_and_says_so() -> None:
    pic = picture(CANDS, LSE, PLAIN.replace(top_n_sigma=1.5))
    assert all(a > 0 for a in pic.after)
    assert any("Top-nσ" in note for note in pic.notes)


def test_dry_is_marked_as_depending_on_the_text() -> None:
    pic = picture(CANDS, LSE, PLAIN.replace(dry_multiplier=0.8))
    assert any("DRY depends on the text" in note for note in pic.notes)
    assert pic.after == picture(CANDS, LSE, PLAIN).after
