"""The sampling settings really reach llama.cpp: each one changes what the model does."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from long_reply import forced

from app.core.events import TokenEvent
from app.core.sampling import SamplingSettings
from app.engine.client import EngineClient


def test_temperature_zero_is_deterministic_without_a_seed(engine: EngineClient) -> None:
    settings = SamplingSettings(temperature=0.0, max_tokens=30)  # seed=None: a fresh random seed each time

    def from_the_same_cache() -> str:
        # on a GPU a prompt read partly from the prefix cache gives slightly different numbers
        # than one read whole, so each run starts from the same cache state
        engine.complete("Unrelated text to change the cache.", settings.replace(max_tokens=2)).wait()
        return engine.complete("Once upon a time", settings).wait().text

    texts = {from_the_same_cache() for _ in range(3)}
    assert len(texts) == 1


def test_a_high_temperature_without_a_seed_varies(engine: EngineClient) -> None:
    settings = SamplingSettings(temperature=1.5, top_k=0, top_p=1.0, min_p=0.0, max_tokens=30)
    texts = {engine.complete("Once upon a time", settings).wait().text for _ in range(3)}
    assert len(texts) > 1


def test_max_tokens_caps_the_length(engine: EngineClient) -> None:
    fin = engine.complete("Once upon a time", SamplingSettings(temperature=0.8, max_tokens=7, seed=1)).wait()
    assert fin.timings.generated_tokens == 7 and fin.reason == "length"


def test_a_stop_string_stops_and_is_not_shown(engine: EngineClient) -> None:
    free = engine.complete("1, 2, 3, 4,", SamplingSettings(temperature=0.0, max_tokens=20)).wait()
    assert " 7" in free.text
    fin = engine.complete("1, 2, 3, 4,", SamplingSettings(temperature=0.0, max_tokens=20, stop=(" 7",))).wait()
    assert fin.reason == "stop"
    assert fin.text == free.text[: free.text.index(" 7")]


def test_a_json_schema_constraint_yields_text_that_parses(engine: EngineClient) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
              "required": ["name", "age"]}
    settings = SamplingSettings(temperature=0.7, max_tokens=80, seed=4, json_schema=json.dumps(schema))
    fin = engine.chat([{"role": "user", "content": "Describe a person as JSON."}], settings).wait()
    data = json.loads(fin.text)
    assert isinstance(data["name"], str) and isinstance(data["age"], int)


def test_a_grammar_constrains_the_output(engine: EngineClient) -> None:
    grammar = 'root ::= ("yes" | "no") "."'
    fin = engine.chat([{"role": "user", "content": "Is the sky blue?"}],
                      SamplingSettings(temperature=1.0, max_tokens=10, seed=2, grammar=grammar)).wait()
    assert fin.text in ("yes.", "no.")


def test_a_broken_grammar_is_a_clear_error_not_a_crash(engine: EngineClient) -> None:
    from app.core.errors import InvalidSetting

    pid = engine.pid
    with pytest.raises(InvalidSetting, match="grammar"):
        engine.complete("x", SamplingSettings(grammar="root ::= (unclosed")).wait()
    assert engine.crashes == 0 and engine.pid == pid  # refused before llama.cpp saw it: the same engine lives
    fin = engine.complete("Hello", forced(SamplingSettings(max_tokens=2))).wait()
    assert fin.timings.generated_tokens == 2 and fin.text


def test_a_banned_word_never_appears(engine: EngineClient) -> None:
    prompt = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]
    free = engine.chat(prompt, SamplingSettings(temperature=0.0, max_tokens=30)).wait()
    assert "paris" in free.text.lower()  # the model wants to say it
    for seed in range(4):
        settings = SamplingSettings(temperature=0.7, max_tokens=40, seed=seed, banned_words=("Paris",))
        events = []
        fin = engine.chat(prompt, settings, listener=events.append).wait()
        assert "paris" not in fin.text.lower(), fin.text
        streamed = "".join(e.text for e in events if hasattr(e, "token_id"))
        assert streamed == fin.text  # nothing banned was ever shown, even briefly


def test_logit_bias_steers_the_next_token(engine: EngineClient) -> None:
    pieces = dict((text, tid) for tid, text in engine.tokenize(" banana"))
    target = pieces[" banana"]
    fin = engine.complete("My favourite word is", SamplingSettings(temperature=0.0, max_tokens=1,
                                                                   logit_bias=((target, 50.0),))).wait()
    assert fin.text == " banana"


# -- each sampler reaches llama.cpp: the spread of first tokens over fixed seeds ----------------

WIDE = SamplingSettings(temperature=1.5, top_k=0, top_p=1.0, min_p=0.0, typical_p=1.0, repeat_penalty=1.0, max_tokens=1)
OPEN_PROMPT = "My favourite animal is the"
SEEDS = range(24)


def _first_tokens(engine: EngineClient, settings: SamplingSettings) -> Counter[str]:
    """Which first token each of 24 fixed seeds picks: the shape of the sampled distribution."""
    return Counter(engine.complete(OPEN_PROMPT, settings.replace(seed=seed)).wait().text for seed in SEEDS)


def test_without_truncation_the_first_token_varies(engine: EngineClient) -> None:
    assert len(_first_tokens(engine, WIDE)) >= 6  # the baseline the tests below narrow down


@pytest.mark.parametrize(("change", "at_most"), [
    ({"top_k": 1}, 1),
    ({"top_k": 3}, 3),
    ({"top_p": 0.02}, 1),
    ({"min_p": 0.9}, 1),
    ({"typical_p": 0.02}, 8),  # keeps the few tokens nearest the typical surprise, not the likeliest
    ({"mirostat_mode": 1, "mirostat_tau": 0.5}, 2),
    ({"mirostat_mode": 2, "mirostat_tau": 0.5}, 2),
], ids=["top_k=1", "top_k=3", "top_p", "min_p", "typical_p", "mirostat1", "mirostat2"])
def test_each_truncating_sampler_narrows_the_first_token(engine: EngineClient, change: dict, at_most: int) -> None:
    wide = _first_tokens(engine, WIDE)
    narrow = _first_tokens(engine, WIDE.replace(**change))
    assert len(narrow) <= at_most < len(wide), (narrow, wide)


def _repeats(engine: EngineClient, prompt: str, settings: SamplingSettings) -> int:
    """How many of the generated tokens repeat one generated before (penalties see only those)."""
    events: list[object] = []
    engine.complete(prompt, settings, listener=events.append).wait()
    ids = [e.token_id for e in events if isinstance(e, TokenEvent) and e.token_id >= 0]
    return len(ids) - len(set(ids))


GREEDY_32 = SamplingSettings(temperature=0.0, repeat_penalty=1.0, max_tokens=32)


@pytest.mark.parametrize("change", [{"repeat_penalty": 2.0}, {"presence_penalty": 2.0}, {"frequency_penalty": 2.0}],
                         ids=["repeat", "presence", "frequency"])
def test_each_penalty_breaks_a_loop_the_model_would_repeat(engine: EngineClient, change: dict) -> None:
    prompt = "List of fruits: apple, banana,"  # left alone, greedy decoding loops: " pear, pear, pear, …"
    free = _repeats(engine, prompt, GREEDY_32)
    assert free >= 20
    assert _repeats(engine, prompt, GREEDY_32.replace(**change)) <= free // 3


@pytest.mark.parametrize("change", [{"repeat_penalty": 0.5}, {"presence_penalty": -2.0}, {"frequency_penalty": -2.0}],
                         ids=["repeat", "presence", "frequency"])
def test_each_penalty_below_neutral_makes_repeats_likelier(engine: EngineClient, change: dict) -> None:
    prompt = "Once upon a time"
    assert _repeats(engine, prompt, GREEDY_32.replace(**change)) >= _repeats(engine, prompt, GREEDY_32) + 4
