"""Sampling settings: which next token is chosen, as validated data.

Each field maps to one llama.cpp sampler (see ``app.engine.sampler``). The
explanations are shown beside the controls, in plain words.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import InvalidSetting


@dataclass(frozen=True)
class Limits:
    """The allowed range of a numeric setting and what it means to a person."""

    low: float
    high: float
    help: str


LIMITS: dict[str, Limits] = {
    "temperature": Limits(0.0, 2.0, "Lower is safer and more repetitive, higher is more varied. 0 always picks the likeliest token."),
    "top_k": Limits(0, 200, "Only the k likeliest tokens may be picked. 0 turns this off."),
    "top_p": Limits(0.0, 1.0, "Only the likeliest tokens that together make up this share of probability may be picked. 1 turns this off."),
    "min_p": Limits(0.0, 1.0, "Drop tokens less likely than this fraction of the top token's probability. 0 turns this off."),
    "typical_p": Limits(0.0, 1.0, "Prefer tokens about as surprising as the text usually is. 1 turns this off."),
    "repeat_penalty": Limits(0.5, 2.0, "Above 1 makes recently used tokens less likely, against loops. 1 turns this off."),
    "repeat_last_n": Limits(0, 4096, "How many recent tokens the repeat penalties look back at."),
    "presence_penalty": Limits(-2.0, 2.0, "Push away from any token already used, once."),
    "frequency_penalty": Limits(-2.0, 2.0, "Push away from tokens in proportion to how often they were used."),
    "mirostat_mode": Limits(0, 2, "Mirostat steers surprise to a target instead of top-k/top-p. 0 is off, 1 or 2 picks the version."),
    "mirostat_tau": Limits(0.0, 10.0, "Mirostat's target surprise: lower is more focused."),
    "mirostat_eta": Limits(0.0, 1.0, "How fast mirostat corrects itself."),
    "max_tokens": Limits(1, 32768, "The longest reply, in tokens (a token is about ¾ of a word)."),
    "dry_multiplier": Limits(0.0, 5.0, "DRY: against repeating whole phrases. When the text starts to repeat a passage "
                             "it already contains, the word that would continue the copy is pushed away, harder the "
                             "longer the copy. 0 turns this off; 0.8 is a usual strength."),
    "dry_base": Limits(1.0, 4.0, "DRY: how fast the push grows with each further repeated token."),
    "dry_allowed_length": Limits(1, 64, "DRY: repeats up to this many tokens long are fine (names, set phrases)."),
    "dry_penalty_last_n": Limits(-1, 32768, "DRY: how many recent tokens it looks back at for repeats. -1 is the whole text."),
    "xtc_probability": Limits(0.0, 1.0, "XTC (exclude top choices): how often, at a given word, the likeliest choices are "
                              "set aside so a less obvious one that is still good gets picked. 0 turns this off."),
    "xtc_threshold": Limits(0.0, 0.5, "XTC: a choice counts as “top” when it is at least this likely; all of them "
                            "but the least likely are set aside (only when two or more are)."),
    "top_n_sigma": Limits(0.0, 10.0, "Top-nσ: keep only tokens whose score is within n standard deviations of the best "
                          "one. Unlike top-p it is not fooled by temperature. 0 turns this off; 1 is a usual value."),
}

# llama.cpp's own defaults: a new line, a colon, a quote and an asterisk end a repeat (so a
# dialogue tag or a list marker may repeat freely)
DRY_BREAKERS: tuple[str, ...] = ("\n", ":", "\"", "*")


@dataclass(frozen=True)
class SamplingSettings:
    """Everything that shapes how the next token is chosen.

    ``seed=None`` means a fresh random seed per request (the one used is reported
    back so a reply can be reproduced).
    """

    temperature: float = 0.7
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    typical_p: float = 1.0
    repeat_penalty: float = 1.1
    repeat_last_n: int = 64
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    mirostat_mode: int = 0
    mirostat_tau: float = 5.0
    mirostat_eta: float = 0.1
    max_tokens: int = 512
    seed: int | None = None
    stop: tuple[str, ...] = ()
    grammar: str = ""
    json_schema: str = ""
    banned_words: tuple[str, ...] = ()
    logit_bias: tuple[tuple[int, float], ...] = ()
    # modern samplers (llama.cpp server names, so a remote mapping passes them as they are)
    dry_multiplier: float = 0.0
    dry_base: float = 1.75
    dry_allowed_length: int = 2
    dry_penalty_last_n: int = -1
    dry_sequence_breakers: tuple[str, ...] = DRY_BREAKERS
    xtc_probability: float = 0.0
    xtc_threshold: float = 0.1
    top_n_sigma: float = 0.0
    # drafting: guess the next tokens from n-gram matches in the text and check them in one
    # batch (prompt-lookup speculative decoding); the sampled text is the same either way
    draft_from_text: bool = False
    # a thinking model's reasoning (app.core.thinking): ``thinking=False`` turns it off where the chat template
    # can (``enable_thinking``); after ``thinking_budget`` thinking tokens the engine closes the thinking and the
    # model answers (llama.cpp's --reasoning-budget; 0: answer at once, -1: no limit)
    thinking: bool = True
    thinking_budget: int = -1
    # a LoRA adapter on the loaded model (its file path; empty: none) and its strength (0: the base model);
    # not a sampler: the window puts it on the engine before a request when it differs (``EnginePort.set_adapter_async``)
    adapter: str = ""
    adapter_scale: float = 1.0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        for name, lim in LIMITS.items():
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise InvalidSetting(f"{name} must be a number, not {value!r}")
            if not lim.low <= value <= lim.high:
                raise InvalidSetting(f"{name} must be between {lim.low:g} and {lim.high:g}, not {value!r}")
        for name in ("top_k", "repeat_last_n", "mirostat_mode", "max_tokens", "dry_allowed_length", "dry_penalty_last_n"):
            if int(getattr(self, name)) != getattr(self, name):
                raise InvalidSetting(f"{name} must be a whole number")
        if self.seed is not None and not (isinstance(self.seed, int) and 0 <= self.seed < 2**32):
            raise InvalidSetting("seed must be a whole number from 0 to 4294967295, or random")
        if any(not isinstance(s, str) or not s for s in self.stop):
            raise InvalidSetting("stop strings must be non-empty text")
        if any(not isinstance(s, str) or not s for s in self.dry_sequence_breakers):
            raise InvalidSetting("DRY sequence breakers must be non-empty text")
        if isinstance(self.thinking_budget, bool) or not isinstance(self.thinking_budget, int) \
                or not -1 <= self.thinking_budget <= 32768:
            raise InvalidSetting("the thinking budget must be a whole number of tokens from 0 to 32768, or -1 (no limit)")
        if not isinstance(self.adapter, str):
            raise InvalidSetting("the adapter must be a file path, or empty for none")
        if isinstance(self.adapter_scale, bool) or not isinstance(self.adapter_scale, (int, float)) \
                or not 0.0 <= self.adapter_scale <= 2.0:
            raise InvalidSetting("the adapter's strength must be a number from 0 to 2")
        if self.grammar and self.json_schema:
            raise InvalidSetting("use either a grammar or a JSON schema, not both")
        if self.json_schema:
            try:
                json.loads(self.json_schema)
            except ValueError as exc:
                raise InvalidSetting(f"the JSON schema is not valid JSON: {exc}") from None

    def replace(self, **changes: Any) -> SamplingSettings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["stop"] = list(self.stop)
        data["banned_words"] = list(self.banned_words)
        data["logit_bias"] = [[t, b] for t, b in self.logit_bias]
        data["dry_sequence_breakers"] = list(self.dry_sequence_breakers)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SamplingSettings:
        """Build from saved data; unknown keys are an error, not silently ignored.

        Keys added later (the DRY, XTC and top-nσ fields) take their defaults when a row
        saved before them lacks them.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise InvalidSetting(f"unknown sampling settings: {', '.join(sorted(unknown))}")
        clean = dict(data)
        for key in ("stop", "banned_words", "dry_sequence_breakers"):
            if key in clean:
                clean[key] = tuple(clean[key])
        if "logit_bias" in clean:
            clean["logit_bias"] = tuple((int(t), float(b)) for t, b in clean["logit_bias"])
        return cls(**clean)

    @classmethod
    def from_saved(cls, text: str) -> SamplingSettings | None:
        """Settings saved as JSON with a chat or document; None when absent or unreadable."""
        if not text:
            return None
        try:
            return cls.from_dict(json.loads(text))
        except (InvalidSetting, ValueError, TypeError):
            return None


@dataclass(frozen=True)
class Preset:
    """A named set of sampling settings."""

    name: str
    settings: SamplingSettings = field(default_factory=SamplingSettings)
    builtin: bool = False


BUILTIN_PRESETS: tuple[Preset, ...] = (
    Preset("Balanced", SamplingSettings(), builtin=True),
    Preset("Precise", SamplingSettings(temperature=0.2, top_k=20, top_p=0.9, min_p=0.1), builtin=True),
    Preset("Creative", SamplingSettings(temperature=1.1, top_k=100, top_p=0.98, min_p=0.02, repeat_penalty=1.15), builtin=True),
    Preset("Long-form writing", SamplingSettings(temperature=0.9, top_k=0, top_p=1.0, min_p=0.05, repeat_penalty=1.0,
                                                  dry_multiplier=0.8, dry_base=1.75, dry_allowed_length=2,
                                                  max_tokens=400), builtin=True),
    Preset("Deterministic", SamplingSettings(temperature=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0, seed=0), builtin=True),
)
