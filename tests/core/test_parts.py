"""A message's typed parts: a stable JSON form that reads back exactly, and its plain text."""

from __future__ import annotations

import pytest

from app.core.errors import StorageError
from app.core.parts import (
    CitationPart,
    ImagePart,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
    parts_from_json,
    parts_to_json,
    plain_text,
    with_text,
)

EVERY_KIND = (ThinkingPart("Plan: answer briefly."), TextPart("The lamp "), ToolCallPart("clock", "{}", "c7"),
              ToolResultPart("clock", "21:04", "c7"), TextPart("is lit at dusk."),
              CitationPart("Keeper's manual", "manual.pdf", "light at sunset"), ImagePart("lamp.png", "a lamp", "image/png"))


def test_every_kind_round_trips_through_json_in_order() -> None:
    encoded = parts_to_json(EVERY_KIND)
    assert parts_from_json(encoded) == EVERY_KIND
    assert parts_to_json(parts_from_json(encoded)) == encoded  # stable: the same bytes each time


def test_the_json_names_each_kind_and_its_fields() -> None:
    assert parts_to_json([ToolResultPart("clock", "21:04", "c7", is_error=True)]) == (
        '[{"call_id":"c7","content":"21:04","is_error":true,"kind":"tool_result","name":"clock"}]')
    assert parts_to_json([TextPart("é")]) == '[{"kind":"text","text":"é"}]'


def test_plain_text_is_the_text_parts_joined_and_with_text_keeps_the_rest() -> None:
    assert plain_text(EVERY_KIND) == "The lamp is lit at dusk."
    replaced = with_text(EVERY_KIND, "Dusk.")
    assert plain_text(replaced) == "Dusk."
    assert [p.kind for p in replaced] == ["thinking", "text", "tool_call", "tool_result", "citation", "image"]
    assert with_text((ThinkingPart("hm"),), "Yes.") == (ThinkingPart("hm"), TextPart("Yes."))


@pytest.mark.parametrize("text", ['[{"kind": "hologram"}]', '[{"kind": "text", "txt": "x"}]', '[{"kind": "tool_call"}]',
                                  '{"kind": "text"}', "not json"])
def test_parts_a_newer_or_broken_writer_made_are_a_storage_error(text: str) -> None:
    with pytest.raises(StorageError):
        parts_from_json(text)
