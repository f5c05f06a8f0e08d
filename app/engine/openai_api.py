"""The OpenAI-compatible HTTP API as servers really speak it: parameter names, replies, errors.

Pure functions, no I/O, so each is tested on its own:

- ``sampling_params`` maps Inkling's sampling settings to one server's parameter
  names (llama.cpp's server, llama-cpp-python's, vLLM, Ollama, LM Studio, OpenAI
  proper) and returns the settings it could not map, so they are reported as
  "not applied on this server" instead of being dropped without a word.
- ``chat_tokens`` / ``completion_tokens`` read the text and log-probabilities out
  of one streamed chunk.
- ``http_error`` turns an error status into a typed error a person can act on.
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from typing import Any

from app.core.capabilities import ALL_SAMPLERS, Capabilities
from app.core.errors import (
    RateLimited,
    RemoteError,
    RemoteModelMissing,
    ServerAuthError,
    ServerError,
)
from app.core.parts import ToolCallPart
from app.core.sampling import SamplingSettings
from app.core.thinking import DEFAULT_MARKERS

_COMMON = {
    "temperature": "temperature", "top_p": "top_p", "max_tokens": "max_tokens", "seed": "seed", "stop": "stop",
    "presence_penalty": "presence_penalty", "frequency_penalty": "frequency_penalty", "logit_bias": "logit_bias",
}
# Inkling's setting -> the server's parameter, per kind of server (from each server's request schema)
PARAMS: dict[str, dict[str, str]] = {
    "llama.cpp": {**_COMMON, "top_k": "top_k", "min_p": "min_p", "typical_p": "typical_p",
                  "repeat_penalty": "repeat_penalty", "repeat_last_n": "repeat_last_n", "mirostat_mode": "mirostat",
                  "mirostat_tau": "mirostat_tau", "mirostat_eta": "mirostat_eta", "grammar": "grammar",
                  "json_schema": "json_schema", "dry_multiplier": "dry_multiplier", "dry_base": "dry_base",
                  "dry_allowed_length": "dry_allowed_length", "dry_penalty_last_n": "dry_penalty_last_n",
                  "dry_sequence_breakers": "dry_sequence_breakers", "xtc_probability": "xtc_probability",
                  "xtc_threshold": "xtc_threshold", "top_n_sigma": "top_n_sigma", "thinking": "chat_template_kwargs"},
    "llama-cpp-python": {**_COMMON, "top_k": "top_k", "min_p": "min_p", "repeat_penalty": "repeat_penalty",
                         "mirostat_mode": "mirostat_mode", "mirostat_tau": "mirostat_tau",
                         "mirostat_eta": "mirostat_eta", "grammar": "grammar"},
    "vllm": {**_COMMON, "top_k": "top_k", "min_p": "min_p", "repeat_penalty": "repetition_penalty",
             "json_schema": "guided_json", "thinking": "chat_template_kwargs"},
    "lmstudio": {**_COMMON, "top_k": "top_k", "min_p": "min_p", "repeat_penalty": "repeat_penalty"},
    "ollama": {k: v for k, v in _COMMON.items() if k != "logit_bias"},
    "openai": dict(_COMMON),
}
# how many alternatives per position a server hands out (OpenAI and vLLM cap top_logprobs at 20)
MAX_ALTERNATIVES = {"llama.cpp": 64, "llama-cpp-python": 64}


def samplers_of(server: str) -> frozenset[str]:
    return frozenset(PARAMS.get(server, PARAMS["openai"])) & ALL_SAMPLERS


def sampling_params(settings: SamplingSettings, caps: Capabilities) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The request fields for ``settings`` on this server, and the settings it will not apply."""
    names = PARAMS.get(caps.server, PARAMS["openai"])
    params: dict[str, Any] = {}
    for field, param in names.items():
        if field not in caps.samplers or not hasattr(settings, field):
            continue
        value = getattr(settings, field)
        if field == "seed" and value is None:
            continue
        if field == "stop":
            if value:
                params[param] = list(value)
            continue
        if field == "logit_bias":
            if value:
                params[param] = {str(t): b for t, b in value}
            continue
        if field in ("grammar", "json_schema"):
            if value:
                params[param] = json.loads(value) if field == "json_schema" else value
            continue
        if field == "thinking":  # a template variable, not a sampler: llama.cpp's server and vLLM pass these on
            if not value:
                params["chat_template_kwargs"] = {"enable_thinking": False}
            continue
        if field == "dry_sequence_breakers":
            value = list(value)
        if field == "top_k" and caps.server == "vllm" and value == 0:
            value = -1  # vLLM's "off"
        params[param] = value
    return params, caps.not_applied(settings)


def intern_id(vocab: dict[str, int], text: str) -> int:
    """A stable id for a token's text: servers send text, the panes compare ids."""
    tid = vocab.get(text)
    if tid is None:
        tid = vocab[text] = len(vocab)
    return tid


def _prob(logprob: Any) -> float | None:
    if not isinstance(logprob, (int, float)) or math.isnan(logprob):
        return None
    return math.exp(max(logprob, -1e4))


def chat_tokens(choice: dict[str, Any]) -> tuple[str, list[tuple[str, float | None, list[tuple[str, float]]]]]:
    """(text, [(token text, prob, [(alternative, prob)])]) of one streamed chat choice."""
    delta = choice.get("delta") or {}
    text = delta.get("content") or ""
    out = []
    content = ((choice.get("logprobs") or {}).get("content")) or []
    for entry in content:
        if not isinstance(entry, dict):
            continue
        alts = sorted(((str(a.get("token", "")), _prob(a.get("logprob")) or 0.0)
                       for a in entry.get("top_logprobs") or [] if isinstance(a, dict)), key=lambda a: -a[1])
        out.append((str(entry.get("token", "")), _prob(entry.get("logprob")), alts))
    return text, out


def chat_reasoning(choice: dict[str, Any]) -> str:
    """The reasoning text of one streamed chat choice: llama.cpp's server and vLLM send it as
    ``delta.reasoning_content``, LM Studio and Ollama's newer API as ``delta.reasoning``."""
    delta = choice.get("delta") or {}
    text = delta.get("reasoning_content") or delta.get("reasoning") or ""
    return text if isinstance(text, str) else ""


class ReasoningMarks:
    """Puts a server's separate reasoning back into the reply's text between thinking markers.

    The rest of Inkling tells thinking from answer by its markers (``app.core.thinking``), the same for a
    local model and a server: the reasoning deltas open ``<think>`` and the first content after them closes it.
    """

    def __init__(self) -> None:
        self.open = False

    def reasoning(self, text: str) -> str:
        if not text:
            return ""
        if not self.open:
            self.open = True
            return f"{DEFAULT_MARKERS.open}\n{text}"
        return text

    def content(self, text: str) -> str:
        if self.open and text:
            self.open = False
            return f"\n{DEFAULT_MARKERS.close}\n\n{text}"
        return text


def completion_tokens(choice: dict[str, Any]) -> tuple[str, list[tuple[str, float | None, list[tuple[str, float]]]]]:
    """The same for a streamed ``/v1/completions`` choice (tokens / token_logprobs / top_logprobs)."""
    text = choice.get("text") or ""
    lp = choice.get("logprobs") or {}
    tokens = lp.get("tokens") or []
    values = lp.get("token_logprobs") or []
    tops = lp.get("top_logprobs") or []
    out = []
    for i, tok in enumerate(tokens):
        top = tops[i] if i < len(tops) and isinstance(tops[i], dict) else {}
        alts = sorted(((str(k), _prob(v) or 0.0) for k, v in top.items()), key=lambda a: -a[1])
        out.append((str(tok), _prob(values[i] if i < len(values) else None), alts))
    return text, out


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def server_message(body: bytes) -> str:
    """The human part of an error body ({"error": {"message": ...}}, {"detail": ...} or text)."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data.get("message")))
        if isinstance(err, dict):
            err = err.get("message") or err.get("msg") or json.dumps(err)
        if isinstance(err, list) and err and isinstance(err[0], dict):
            err = err[0].get("msg", "")
        if err:
            return str(err)[:300]
    return text[:300]


def http_error(server: str, status: int, reason: str, body: bytes, headers: dict[str, str], model: str) -> RemoteError:
    """A typed error for an error status; the caller scrubs secrets out of the result."""
    said = server_message(body)
    detail = f" The server said: {said}" if said else ""
    if status in (401, 403):
        return ServerAuthError(server, f"the server refused the request ({status} {reason}): the API key is missing "
                                       f"or wrong. Check the key of this connection in Models → Connections.{detail}")
    if status == 404 and ("model" in said.lower() or not said):
        return RemoteModelMissing(server, f"the model {model or '(none)'} is not served there (404). Choose another "
                                          f"of the server's models in the model selector.{detail}")
    if status == 429:
        wait = retry_after(headers.get("retry-after"))
        when = f"try again in {wait:.0f} s" if wait is not None else "wait a little and try again"
        return RateLimited(server, f"too many requests (429): {when}.{detail}", wait)
    if status >= 500:
        return ServerError(server, f"the server failed ({status} {reason}); your text is kept. "
                                   f"Try again, or check the server's log.{detail}")
    return ServerError(server, f"the server rejected the request ({status} {reason}).{detail}")


class ToolCallDeltas:
    """A streamed reply's ``tool_calls``, assembled from their deltas (by ``index``).

    OpenAI sends a call's id and name once and its arguments in pieces; some servers
    (llama-cpp-python's) repeat the id and name in every delta, so a name is taken once.
    """

    def __init__(self) -> None:
        self.calls: dict[int, dict[str, str]] = {}
        self.finished = False

    def add(self, choice: dict[str, Any]) -> bool:
        """Take one choice's ``delta.tool_calls``; True if it had any."""
        deltas = (choice.get("delta") or {}).get("tool_calls") or []
        took = False
        for d in deltas if isinstance(deltas, list) else []:
            if not isinstance(d, dict):
                continue
            call = self.calls.setdefault(int(d.get("index", 0) or 0), {"id": "", "name": "", "arguments": ""})
            fn = d.get("function") or {}
            call["id"] = call["id"] or str(d.get("id") or "")
            call["name"] = call["name"] or str(fn.get("name") or "")
            call["arguments"] += str(fn.get("arguments") or "")
            took = True
        return took

    def parts(self) -> tuple[ToolCallPart, ...]:
        from app.core.tools import new_call_id

        return tuple(ToolCallPart(c["name"], c["arguments"] or "{}", c["id"] or new_call_id())
                     for _, c in sorted(self.calls.items()) if c["name"])
