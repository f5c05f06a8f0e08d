"""What a backend can do, as data: panes enable a feature or say why it is off.

The local llama.cpp engine can do everything. A remote OpenAI-compatible server
can do what its probe found (see ``app.engine.remote``): whether token
probabilities really come back, whether ``/v1/completions`` exists, whether
``echo`` scores a text, which sampling settings it takes. The user may override
what the probe found (a badge in the Models pane), so a capability is a plain
frozen dataclass that can be saved, loaded and replaced.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from app.core.sampling import SamplingSettings

# The value at which a sampling setting does nothing: a server that does not take
# the setting loses nothing when the user left it there.
NEUTRAL: dict[str, Any] = {
    "top_k": 0, "top_p": 1.0, "min_p": 0.0, "typical_p": 1.0, "repeat_penalty": 1.0,
    "presence_penalty": 0.0, "frequency_penalty": 0.0, "mirostat_mode": 0, "seed": None, "stop": (),
    "grammar": "", "json_schema": "", "banned_words": (), "logit_bias": (),
    "thinking": True, "thinking_budget": -1, "adapter": "",
}
# Settings that only refine another one: they matter only when it is on.
DEPENDS_ON = {"repeat_last_n": "repeat_penalty", "mirostat_tau": "mirostat_mode", "mirostat_eta": "mirostat_mode",
              "dry_base": "dry_multiplier", "dry_allowed_length": "dry_multiplier",
              "dry_penalty_last_n": "dry_multiplier", "dry_sequence_breakers": "dry_multiplier",
              "xtc_threshold": "xtc_probability", "adapter_scale": "adapter"}
ALL_SAMPLERS = frozenset(f.name for f in dataclasses.fields(SamplingSettings))
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(SamplingSettings)}

# the features a pane asks about, with the words used when one is off
FEATURES = {
    "chat": "chat",
    "raw_completion": "raw text completion (/v1/completions)",
    "alternatives": "token probabilities",
    "scoring": "scoring a text (echo with log-probabilities)",
    "grammar": "grammars and JSON schemas",
}


ADAPTERS_OFF = ("Adapters work with a model Inkling runs itself. A server loads its own adapters (llama-server's "
                "--lora); choose a local model to use one here.")


def _is_neutral(settings: SamplingSettings, name: str) -> bool:
    value = getattr(settings, name)
    if name in NEUTRAL:
        return bool(value == NEUTRAL[name])
    default = _DEFAULTS.get(name)
    return value == default and default in (0, 0.0, (), "", None, False)


@dataclass(frozen=True)
class Capabilities:
    """What one backend with one model can do.

    ``samplers`` names the SamplingSettings fields the backend applies; ``notes``
    maps a feature name to why it is off (shown to the user as is).
    """

    chat: bool = True
    raw_completion: bool = True
    alternatives: bool = True
    scoring: bool = True
    grammar: bool = True
    max_alternatives: int = 64
    samplers: frozenset[str] = ALL_SAMPLERS
    context: int = 0  # tokens, 0 when unknown
    server: str = "local"  # local, llama.cpp, llama-cpp-python, vllm, ollama, lmstudio, openai
    notes: tuple[tuple[str, str], ...] = field(default=())

    @property
    def remote(self) -> bool:
        """Whether a server elsewhere does the work (what the window says about where the model runs)."""
        return self.server != "local"

    @property
    def adapters(self) -> bool:
        """Whether a LoRA adapter can be put on the loaded model: only in the local engine (a server loads its own)."""
        return not self.remote

    def why_not(self, feature: str) -> str:
        """Why ``feature`` is off, in words; empty when it is on."""
        if getattr(self, feature, True):
            return ""
        if feature == "adapters":
            return ADAPTERS_OFF
        for name, note in self.notes:
            if name == feature:
                return note
        return f"This server does not offer {FEATURES.get(feature, feature)}."

    def not_applied(self, settings: SamplingSettings) -> tuple[str, ...]:
        """The settings the user turned on that this backend will not apply."""
        off = []
        for name in sorted(ALL_SAMPLERS - self.samplers):
            base = DEPENDS_ON.get(name)
            if base is not None and (_is_neutral(settings, base) or getattr(settings, name) == _DEFAULTS[name]):
                continue  # a refinement matters only when it is on and changed from the usual value
            if name == "max_tokens" or _is_neutral(settings, name):
                continue
            off.append(name)
        return tuple(off)

    def replace(self, **changes: Any) -> Capabilities:
        return dataclasses.replace(self, **changes)

    def overridden(self, overrides: dict[str, bool]) -> Capabilities:
        """Apply the user's badge overrides (feature -> on/off); unknown names are ignored."""
        known = {k: bool(v) for k, v in overrides.items() if k in FEATURES}
        if not known:
            return self
        notes = tuple((n, t) for n, t in self.notes if n not in known)
        notes += tuple((n, "Turned off for this connection in the Models pane.") for n, v in known.items() if not v)
        return dataclasses.replace(self, notes=notes, **known)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["samplers"] = sorted(self.samplers)
        data["notes"] = [list(n) for n in self.notes]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Capabilities:
        names = {f.name for f in dataclasses.fields(cls)}
        clean = {k: v for k, v in data.items() if k in names}
        if "samplers" in clean:
            clean["samplers"] = frozenset(clean["samplers"]) & ALL_SAMPLERS
        if "notes" in clean:
            clean["notes"] = tuple((str(a), str(b)) for a, b in clean["notes"])
        return cls(**clean)


LOCAL = Capabilities()
"""The local llama.cpp engine: everything, every sampler."""
