"""Sampling settings are validated data that round-trip through plain dicts."""

from __future__ import annotations

import json

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
    assert names == ["Balanced", "Precise", "Creative", "Long-form writing", "Deterministic"]
    assert len({p.settings for p in BUILTIN_PRESETS}) == 5


def test_the_long_form_preset_uses_dry_and_min_p() -> None:
    long_form = next(p.settings for p in BUILTIN_PRESETS if p.name == "Long-form writing")
    assert long_form.dry_multiplier > 0 and long_form.min_p > 0


def test_modern_sampler_settings_round_trip_as_data() -> None:
    s = SamplingSettings(dry_multiplier=0.8, dry_base=2.0, dry_allowed_length=3, dry_penalty_last_n=256,
                         dry_sequence_breakers=("\n", "—"), xtc_probability=0.5, xtc_threshold=0.15,
                         top_n_sigma=1.5, draft_from_text=True)
    data = s.to_dict()
    assert data["dry_sequence_breakers"] == ["\n", "—"]
    assert SamplingSettings.from_dict(json.loads(json.dumps(data))) == s


def test_settings_saved_before_the_modern_samplers_still_load() -> None:
    old = {k: v for k, v in SamplingSettings(temperature=0.4).to_dict().items()
           if not k.startswith(("dry_", "xtc_", "top_n_sigma", "draft_"))}
    loaded = SamplingSettings.from_saved(json.dumps(old))
    assert loaded is not None and loaded.temperature == 0.4
    assert loaded.dry_multiplier == 0.0 and loaded.xtc_probability == 0.0 and loaded.top_n_sigma == 0.0


@pytest.mark.parametrize("change", [
    {"dry_multiplier": -1.0}, {"dry_base": 0.5}, {"dry_allowed_length": 0}, {"dry_penalty_last_n": -2},
    {"dry_allowed_length": 2.5}, {"xtc_probability": 1.5}, {"xtc_threshold": 0.7}, {"top_n_sigma": -0.1},
    {"dry_sequence_breakers": ("",)},
])
def test_out_of_range_modern_sampler_values_are_rejected(change: dict[str, object]) -> None:
    with pytest.raises(InvalidSetting):
        SamplingSettings().replace(**change)
