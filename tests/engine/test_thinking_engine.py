"""Thinking in the real engine with the real starter model: the budget, a template that opens the thinking, the switch.

The starter model is made to think by a grammar (``tests/thinking_model.py``), and
given a Qwen3-like chat template in a copy of its file for the template's part.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from thinking_model import (
    ANSWER,
    OPENED_THINK_THEN_ANSWER,
    THINK_THEN_ANSWER,
    newline_bias,
    thinking_copy,
)

from app.core.events import LoadOptions
from app.core.sampling import SamplingSettings
from app.core.thinking import ThinkingSplitter, split_text
from app.engine.client import EngineClient
from tests.engine.conftest import make_engine

QUESTION = [{"role": "user", "content": "When is the lamp lit?"}]


@pytest.fixture(scope="module")
def client(starter_path: Path) -> Iterator[EngineClient]:
    engine = make_engine(starter_path, n_ctx=1024)
    yield engine
    engine.close()


def _thinking_tokens(events: list) -> int:
    splitter, n = ThinkingSplitter(), 0
    for e in events:
        was = splitter.thinking
        splitter.feed(e.text)
        n += (was or splitter.thinking) and e.token_id >= 0
    return n


def test_the_thinking_budget_closes_the_thinking_and_the_model_answers(client: EngineClient) -> None:
    bias = newline_bias(client.tokenize)
    endless = SamplingSettings(temperature=0, max_tokens=60, grammar=THINK_THEN_ANSWER, logit_bias=bias)
    stream = client.chat(QUESTION, endless)
    events = list(stream)
    # without a budget the model, kept from the line break that would close it, thinks to the length limit
    assert stream.finished.reason == "length" and split_text(stream.finished.text)[1] == ""
    assert _thinking_tokens(events) >= 50

    stream = client.chat(QUESTION, endless.replace(thinking_budget=8))
    events = list(stream)
    thinking, answer = split_text(stream.finished.text)
    assert stream.finished.reason == "stop" and answer == ANSWER
    assert thinking and "\n" not in thinking
    # the budget's tokens, the open marker's last piece and the close written for it
    assert _thinking_tokens(events) <= 8 + 1 + len(client.tokenize("\n</think>\n\n"))


def test_a_budget_of_nothing_answers_at_once(client: EngineClient) -> None:
    settings = SamplingSettings(temperature=0, max_tokens=60, grammar=THINK_THEN_ANSWER, thinking_budget=0,
                                logit_bias=newline_bias(client.tokenize))
    fin = client.chat(QUESTION, settings).wait()
    assert split_text(fin.text) == ("", ANSWER)


def test_the_budget_waits_for_a_grammar_that_does_not_allow_the_close_yet(client: EngineClient) -> None:
    """Forcing a token a grammar forbids would kill the engine: the close waits until the grammar allows it."""
    grammar = f'root ::= "<think>\\n" [a-z]{{6}} [a-z ]* "\\n</think>\\n\\n" "{ANSWER}"'
    settings = SamplingSettings(temperature=0, max_tokens=60, grammar=grammar, thinking_budget=0,
                                logit_bias=newline_bias(client.tokenize))
    pid = client.pid
    fin = client.chat(QUESTION, settings).wait()
    thinking, answer = split_text(fin.text)
    assert answer == ANSWER and 6 <= len(thinking) <= 20 and client.pid == pid


def test_a_template_that_opens_the_thinking_and_the_think_switch(client: EngineClient, starter_path: Path,
                                                                  tmp_path_factory: pytest.TempPathFactory) -> None:
    path = thinking_copy(starter_path, tmp_path_factory.mktemp("thinking") / "thinking.gguf")
    info = client.load(path, LoadOptions(n_ctx=1024))
    try:
        assert info.think_switch and info.thinking_markers == ("think",)
        fin = client.chat(QUESTION, SamplingSettings(temperature=0, max_tokens=60,
                                                     grammar=OPENED_THINK_THEN_ANSWER)).wait()
        assert client.last_prompt().endswith("assistant\n<think>\n")  # (special tokens show as nothing)
        assert fin.text.startswith("<think>")  # the reply shows the marker its prompt wrote
        thinking, answer = split_text(fin.text)
        assert thinking and answer == ANSWER

        fin = client.chat(QUESTION, SamplingSettings(temperature=0, max_tokens=12, thinking=False,
                                                     grammar=f'root ::= "{ANSWER}"')).wait()
        assert client.last_prompt().endswith("<think>\n\n</think>\n\n")  # the template's "no thinking"
        assert split_text(fin.text) == ("", ANSWER)
    finally:
        client.unload()
