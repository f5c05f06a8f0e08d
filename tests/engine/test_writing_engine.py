"""Writing at length, in the real engine: DRY, XTC and top-nσ, side-by-side alternatives, drafting from the text,
documents longer than the context with memory, and continuing in the middle."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from app.core.events import TokenEvent
from app.core.sampling import SamplingSettings
from app.core.sampling_math import Candidate, picture
from app.engine.client import EngineClient

STORY = ("The keeper climbed the tower every night. He lit the lamp, wiped the glass and watched the sea. "
         "Ships passed far out, and none of them ever stopped. ")


@pytest.fixture(scope="module")
def no_end(starter_path: Path) -> tuple[tuple[int, float], ...]:
    """A logit bias against every end-of-text token, so a test can force a long reply."""
    from long_reply import NEVER, end_of_generation_ids  # asked in a child process: no Llama in the test process

    return tuple((t, NEVER) for t in end_of_generation_ids(str(starter_path)))


def repeated_4grams(text: str) -> int:
    words = text.split()
    grams = Counter(tuple(words[i: i + 4]) for i in range(len(words) - 3))
    return sum(n - 1 for n in grams.values() if n > 1)


# -- modern samplers ---------------------------------------------------------------------------

def test_dry_lowers_verbatim_repetition_over_150_tokens(engine: EngineClient, no_end) -> None:
    base = SamplingSettings(temperature=0.7, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.0,
                            max_tokens=150, logit_bias=no_end)
    without, with_dry = 0, 0
    for seed in range(4):
        plain = engine.complete(STORY, base.replace(seed=seed)).wait()
        dry = engine.complete(STORY, base.replace(seed=seed, dry_multiplier=0.8)).wait()
        assert plain.timings.generated_tokens == dry.timings.generated_tokens == 150
        without += repeated_4grams(plain.text)
        with_dry += repeated_4grams(dry.text)
    print(f"repeated 4-grams over 4 seeds: without DRY {without}, with DRY {with_dry}")
    assert with_dry < without * 0.5, (with_dry, without)


def _peek_picture(engine: EngineClient, prompt: str, settings: SamplingSettings):
    candidates, lse, sigma = engine.peek_async(prompt=prompt, top=64).result()
    return picture([Candidate(t, i, logit) for t, i, logit in candidates], lse, settings, sigma)


def _sampled_first_tokens(engine: EngineClient, prompt: str, settings: SamplingSettings, n: int) -> set[int]:
    seen = set()
    for seed in range(n):
        events: list = []
        engine.complete(prompt, settings.replace(seed=seed, max_tokens=1), listener=events.append).wait()
        seen |= {e.token_id for e in events if isinstance(e, TokenEvent) and e.token_id >= 0}
    return seen


# no logit bias in these two: it would change the scores peek reports (and top-nσ's spread)
def test_xtc_sets_aside_the_top_choices_that_peek_pictures(engine: EngineClient) -> None:
    prompt = "My favourite colour is"
    base = SamplingSettings(temperature=1.0, top_k=20, top_p=1.0, min_p=0.0, repeat_penalty=1.0)
    xtc = base.replace(xtc_probability=1.0, xtc_threshold=0.05)
    pic = _peek_picture(engine, prompt, xtc)
    assert pic.xtc_cut, "the prompt should have several likely next tokens"
    cut = {pic.candidates[i].token_id for i in pic.xtc_cut}
    alive = {c.token_id for c, a in zip(pic.candidates, pic.after, strict=True) if a > 0}
    plain_seen = _sampled_first_tokens(engine, prompt, base, 24)
    xtc_seen = _sampled_first_tokens(engine, prompt, xtc, 24)
    assert plain_seen & cut  # without XTC the top choices are picked
    assert not xtc_seen & cut and xtc_seen <= alive  # with XTC firing always, never


def test_top_n_sigma_narrows_the_candidates_as_peek_pictures(engine: EngineClient) -> None:
    prompt = "Once upon a time, in a"
    base = SamplingSettings(temperature=1.5, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0)
    narrow = base.replace(top_n_sigma=1.0)
    pic = _peek_picture(engine, prompt, narrow)
    alive = {c.token_id for c, a in zip(pic.candidates, pic.after, strict=True) if a > 0}
    assert pic.sigma_cut and 1 <= len(alive) < 64
    seen = _sampled_first_tokens(engine, prompt, narrow, 24)
    assert seen <= alive
    wide_seen = _sampled_first_tokens(engine, prompt, base, 24)
    assert wide_seen - alive  # without it, tokens outside the set come up at this temperature


# -- alternatives side by side ----------------------------------------------------------------

def test_three_alternatives_decode_side_by_side_from_one_read_of_the_prompt(engine: EngineClient, no_end) -> None:
    settings = SamplingSettings(temperature=1.0, max_tokens=24, seed=11, logit_bias=no_end)
    engine.complete("reset the cache", SamplingSettings(max_tokens=1)).wait()
    events: list = []
    fin = engine.complete(STORY, settings, sequences=3, listener=events.append).wait()
    assert len(fin.texts) == 3 and len(set(fin.texts)) == 3
    for i in range(3):
        assert "".join(e.text for e in events if isinstance(e, TokenEvent) and e.sequence == i) == fin.texts[i]
    assert fin.timings.generated_tokens == 72
    assert fin.timings.prompt_evaluated == fin.timings.prompt_tokens  # read once, not three times
    again = engine.complete(STORY, settings.replace(max_tokens=2)).wait()
    assert again.timings.prompt_evaluated == 1  # the prompt stayed in the cache for the next request


def test_side_by_side_greedy_alternatives_follow_the_single_greedy_text(engine: EngineClient, no_end) -> None:
    """Each sequence sees the prompt and only its own tokens: greedy texts follow the single greedy one.

    Not bit for bit over long stretches: a batch of three sums the attention over more
    cache cells than a batch of one, and a near-tie can then go the other way
    (FACTS.md: even a cached and a cold run can differ).
    """
    import llama_cpp

    greedy = SamplingSettings(temperature=0.0, max_tokens=32, logit_bias=no_end)
    flush = SamplingSettings(max_tokens=2)
    engine.complete("Unrelated text to change the cache.", flush).wait()  # both read the prompt whole
    single = engine.complete(STORY, greedy).wait().text
    engine.complete("Unrelated text to change the cache.", flush).wait()
    fin = engine.complete(STORY, greedy, sequences=3).wait()
    # a GPU picks other kernels for a batch of three than for one, and on an H200 the texts
    # parted after a dozen characters; a mix-up of sequences garbles them from the second token
    same = 12 if llama_cpp.llama_supports_gpu_offload() else 40
    for text in fin.texts:
        assert text[:same] == single[:same], (text, single)


# -- drafting from the text --------------------------------------------------------------------

REWRITE = [{"role": "user", "content": "Repeat this text exactly, word for word:\n\n" + STORY * 2}]


def test_drafting_from_the_text_gives_the_same_text_at_temperature_zero(engine: EngineClient, no_end) -> None:
    greedy = SamplingSettings(temperature=0.0, max_tokens=120, repeat_penalty=1.0)
    plain = engine.chat(REWRITE, greedy).wait()
    drafted = engine.chat(REWRITE, greedy.replace(draft_from_text=True)).wait()
    assert drafted.text == plain.text
    assert drafted.drafted > 20  # most tokens came from drafts the model agreed with
    assert plain.drafted == 0


def test_drafting_at_a_temperature_keeps_the_text_sensible_and_the_counts_right(engine: EngineClient) -> None:
    settings = SamplingSettings(temperature=0.8, max_tokens=60, seed=3, draft_from_text=True, repeat_penalty=1.0)
    events: list = []
    fin = engine.chat(REWRITE, settings, listener=events.append).wait()
    tokens = [e for e in events if isinstance(e, TokenEvent) and e.token_id >= 0]
    assert len(tokens) == fin.timings.generated_tokens <= 60
    assert "".join(e.text for e in events if isinstance(e, TokenEvent)) == fin.text


# -- documents longer than the context ---------------------------------------------------------

MEMORY = "Synopsis: Tomas keeps the lighthouse on Grey Island. Style: plain, past tense."


@pytest.fixture(scope="module")
def long_doc(engine: EngineClient) -> str:
    paragraphs = []
    i = 0
    while True:
        paragraphs.append(f"Night {i}. The keeper climbed the tower, lit lamp number {i} and wrote in his log that "
                          f"the wind came from the {['north', 'east', 'south', 'west'][i % 4]} and the sea was calm.\n\n")
        i += 1
        if i % 10 == 0 and engine.count_text_async("".join(paragraphs)).result() >= 3000:
            break
    return "".join(paragraphs) + "On the last night he heard a knock at the door. He opened it and saw"


def test_a_long_document_keeps_memory_and_its_end_in_the_prompt(engine: EngineClient, long_doc: str) -> None:
    fin = engine.complete(long_doc, SamplingSettings(temperature=0.0, max_tokens=8), memory=MEMORY).wait()
    prompt = engine.last_prompt()
    assert MEMORY in prompt[: len(MEMORY) + 20]  # first, after any start-of-text token
    assert prompt.endswith("He opened it and saw")
    assert "Night 0." not in prompt  # the start is outside the model's view
    assert fin.view_start > 0 and fin.words_outside > 0
    assert long_doc[fin.view_start:] in prompt and long_doc[fin.view_start - 2: fin.view_start] == "\n\n"


def test_an_edit_near_the_cursor_rereads_only_from_the_edit(engine: EngineClient, long_doc: str) -> None:
    settings = SamplingSettings(temperature=0.0, max_tokens=8)
    engine.complete(long_doc, settings, memory=MEMORY).wait()
    cut = long_doc.rindex("On the last night")
    edited = long_doc[:cut] + "It was cold. " + long_doc[cut:]  # one sentence before the cursor
    fin = engine.complete(edited, settings, memory=MEMORY).wait()
    after_edit = engine.count_text_async(edited[cut:]).result()
    print(f"prompt {fin.timings.prompt_tokens} tokens, evaluated {fin.timings.prompt_evaluated}, "
          f"{after_edit} tokens from the edit on")
    assert fin.timings.prompt_evaluated <= after_edit + 16
    changed = engine.complete(edited, settings, memory=MEMORY + " Tomas is afraid of the dark.").wait()
    assert changed.timings.prompt_evaluated > fin.timings.prompt_tokens // 2  # a memory edit re-reads it all


# -- continuing in the middle ------------------------------------------------------------------

def test_continuing_mid_document_does_not_repeat_the_text_after_the_cursor(engine: EngineClient, no_end) -> None:
    before = ("The cat sat on the mat. The dog slept by the fire. " * 4) + "The cat sat on the mat."
    after = " The dog slept by the fire. Then the bell rang."
    free = engine.complete(before, SamplingSettings(temperature=0.0, max_tokens=40, logit_bias=no_end)).wait()
    assert "The dog slept by the fire" in free.text  # left alone, the model writes what follows
    fin = engine.complete(before, SamplingSettings(temperature=0.0, max_tokens=40, logit_bias=no_end),
                          suffix=after).wait()
    assert "The dog slept" not in fin.text and "the dog slept" not in fin.text, fin.text
