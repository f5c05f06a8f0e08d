"""Sampling settings are validated data that round-trip through plain dicts."""

from __future__ import annotations

import pytest

from app.core.errors import InvalidSetting
from app.core.sampling import BUILTIN_PRESETS, SamplingSettings


def test_defaults_are_valid_and_round_trip() -> None:
    s = SamplingSettings(stop=("END",), banned_words=("darn",), logit_bias=((5, -1.0),), seed=3)
    assert SamplingSettings.from_dict(s.to_dict()) == s


@pytest.mark.parametrize("change", [
    {"temperature": -0.1}, {"temperature": 2.5}, {"top_p": 1.5}, {"top_k": -1}, {"max_tokens": 0},
    {"seed": -4}, {"stop": ("",)}, {"json_schema": "{not json"}, {"mirostat_mode": 3}, {"top_k": 2.5},
])
def test_out_of_range_values_are_rejected_with_a_message(change: dict[str, object]) -> None:
    with pytest.raises(InvalidSetting) as caught:
        SamplingSettings().replace(**change)
    assert str(caught.value)


def test_unknown_keys_are_an_error_not_silently_ignored() -> None:
    with pytest.raises(InvalidSetting, match="temprature"):
        SamplingSettings.from_dict({"temprature": 0.5})


def test_builtin_presets_are_named_and_distinct() -> None:
    names = [p.name for p in BUILTIN_PRESETS]
    assert names == ["Balanced", "Precise", "Creative", "Deterministic"]
    assert len({p.settings for p in BUILTIN_PRESETS}) == 4
