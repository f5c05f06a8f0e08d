"""Context overflow never reaches llama.cpp: old turns are dropped, long prompts keep their end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from engine.conftest import make_engine

from app.core.errors import ContextOverflow
from app.core.sampling import SamplingSettings
from app.engine.client import EngineClient


@pytest.fixture(scope="module")
def small(starter_path: Path) -> Iterator[EngineClient]:
    client = make_engine(starter_path, n_ctx=512)
    yield client
    client.close()


def test_oldest_turns_after_the_system_prompt_are_dropped(small: EngineClient) -> None:
    filler = "This sentence is here to fill the context window of the model. " * 6
    messages = [{"role": "system", "content": "You are a pirate."}]
    for i in range(12):
        messages += [{"role": "user", "content": f"Question {i}: {filler}"},
                     {"role": "assistant", "content": f"Answer {i}: {filler}"}]
    messages.append({"role": "user", "content": "What is your name?"})
    assert small.count_tokens(messages) > 512
    fin = small.chat(messages, SamplingSettings(temperature=0, max_tokens=64)).wait()
    assert fin.reason in ("stop", "length")
    assert fin.dropped_messages > 0 and fin.dropped_messages % 2 == 0
    assert fin.timings.prompt_tokens + 64 <= 512


def test_reply_budget_shrinks_when_history_cannot(small: EngineClient) -> None:
    question = "Summarise: " + "words and more words " * 80
    fin = small.chat([{"role": "user", "content": question}], SamplingSettings(temperature=0, max_tokens=400)).wait()
    assert fin.max_tokens_used < 400
    assert fin.timings.prompt_tokens + fin.max_tokens_used <= 512


def test_a_single_message_longer_than_the_context_is_a_clear_error(small: EngineClient) -> None:
    with pytest.raises(ContextOverflow) as caught:
        small.chat([{"role": "user", "content": "word " * 2000}], SamplingSettings(max_tokens=16)).wait()
    assert "context holds 512" in str(caught.value)


def test_a_completion_prompt_longer_than_the_context_keeps_its_end(small: EngineClient) -> None:
    prompt = "Counting: " + ", ".join(str(i) for i in range(400)) + ", 400,"
    fin = small.complete(prompt, SamplingSettings(temperature=0, max_tokens=6)).wait()
    assert fin.truncated_prompt_tokens > 0
    assert fin.timings.prompt_tokens + 6 <= 512
    assert "401" in fin.text  # it saw the end of the text
