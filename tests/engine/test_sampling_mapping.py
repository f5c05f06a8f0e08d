"""The sampling settings really reach llama.cpp: each one changes what the model does."""

from __future__ import annotations

import json

from app.core.sampling import SamplingSettings
from app.engine.client import EngineClient


def test_temperature_zero_is_deterministic_without_a_seed(engine: EngineClient) -> None:
    settings = SamplingSettings(temperature=0.0, max_tokens=30)  # seed=None: a fresh random seed each time
    texts = {engine.complete("Once upon a time", settings).wait().text for _ in range(3)}
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
    import pytest

    from app.core.errors import InvalidSetting

    with pytest.raises(InvalidSetting, match="grammar"):
        engine.complete("x", SamplingSettings(grammar="root ::= (unclosed")).wait()
    assert engine.crashes == 0
    assert engine.complete("Hello", SamplingSettings(max_tokens=2)).wait().text is not None


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
