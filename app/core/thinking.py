"""A reply's thinking, told apart from its answer as the text streams in.

Models that reason before they answer (Qwen3, QwQ, DeepSeek-R1 and its distills,
Phi-4-reasoning, Magistral, gpt-oss, …) write their reasoning between markers their
chat template knows, then the answer. ``ThinkingSplitter`` reads the text a piece at
a time (as tokens arrive) and says which pieces are thinking and which are answer,
holding back only the few characters that might still be the start of a marker.

The rules, the same as llama.cpp's ``--reasoning-format``:

- thinking is recognised only at the very start of a reply (after whitespace), so an
  answer that talks *about* ``<think>`` tags is left alone;
- a template that opens the thinking itself (its generation prompt ends with the
  open marker, as DeepSeek-R1's and Qwen3-Thinking's do) makes the engine put that
  marker in front of the reply's text (``forced_open_marker``), so the splitter sees
  the same text either way;
- a reply that ends while still thinking (stopped, dropped, out of tokens) keeps its
  thinking and has an empty answer.

A server that sends the reasoning apart (``delta.reasoning_content``) is turned into
the same marked text by the remote engine, so one splitter serves both.

Pure Python, no Qt: the chat turn, the suggestion, the engine (for the thinking
budget) and the command line all use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Kind = Literal["thinking", "answer"]


@dataclass(frozen=True)
class ThinkingMarkers:
    """How one family of models marks its thinking: open, close, and what it writes between that and the answer."""

    name: str
    open: str
    close: str
    answer_header: str = ""  # dropped if it follows the close marker (gpt-oss names the final channel there)
    answer_lead: str = ""  # dropped if a reply starts with it instead of thinking (gpt-oss answering at once)


# the markers of the common thinking models; the first is the one the remote engine writes
KNOWN_MARKERS: tuple[ThinkingMarkers, ...] = (
    ThinkingMarkers("think", "<think>", "</think>"),  # Qwen3, QwQ, DeepSeek-R1, Phi-4-reasoning, SmolLM3, GLM
    ThinkingMarkers("thinking", "<thinking>", "</thinking>"),
    ThinkingMarkers("magistral", "[THINK]", "[/THINK]"),  # Magistral 2509
    ThinkingMarkers("gpt-oss", "<|channel|>analysis<|message|>", "<|end|>",
                    answer_header="<|start|>assistant<|channel|>final<|message|>",
                    answer_lead="<|channel|>final<|message|>"),
    ThinkingMarkers("seed", "<seed:think>", "</seed:think>"),  # ByteDance Seed-OSS
    ThinkingMarkers("command-r", "<|START_THINKING|>", "<|END_THINKING|>"),  # Command A Reasoning
    ThinkingMarkers("kimi", "◁think▷", "◁/think▷"),
)
DEFAULT_MARKERS = KNOWN_MARKERS[0]
END_OF_TURN_TOKENS = ("<|end|>",)  # a close marker that other templates use to end a turn (Phi-3): not a sign


def markers_in_template(template: str | None) -> tuple[ThinkingMarkers, ...]:
    """The known markers a chat template mentions (a thinking model's template names its markers)."""
    if not template:
        return ()
    return tuple(m for m in KNOWN_MARKERS
                 if m.open in template or (m.close in template and m.close not in END_OF_TURN_TOKENS))


def template_has_think_switch(template: str | None) -> bool:
    """Whether the template reads ``enable_thinking`` (Qwen3, SmolLM3, GLM…): thinking can be turned off."""
    return bool(template) and "enable_thinking" in template  # type: ignore[operator]


def forced_open_marker(prompt: str) -> str:
    """The open marker the prompt ends with ("" if none): the template began the thinking for the model."""
    tail = prompt.rstrip()
    for m in KNOWN_MARKERS:
        if tail.endswith(m.open):
            return m.open
    return ""


@dataclass
class ThinkingSplitter:
    """Splits a reply's text into thinking and answer as it arrives (``feed``), ending with ``finish``.

    ``answer_only=True`` (a continued answer) never looks for thinking.
    """

    markers: tuple[ThinkingMarkers, ...] = KNOWN_MARKERS
    answer_only: bool = False
    state: Literal["start", "thinking", "header", "answer"] = "start"
    active: ThinkingMarkers | None = None
    _held: str = ""
    _answer_started: bool = False
    _thinking_started: bool = False

    def __post_init__(self) -> None:
        if self.answer_only:
            self.state = "answer"

    @property
    def thinking(self) -> bool:
        """Inside the thinking now."""
        return self.state == "thinking"

    @property
    def thought(self) -> bool:
        """The reply had (or has) thinking."""
        return self.active is not None

    def feed(self, text: str) -> list[tuple[Kind, str]]:
        """The pieces of ``text`` that are now known to be thinking or answer, in order (empty ones left out)."""
        out: list[tuple[Kind, str]] = []
        self._held += text
        while self._held:
            before = (self.state, len(self._held))
            if self.state == "start":
                self._start()
            elif self.state == "thinking":
                self._thinking(out)
            elif self.state == "header":
                self._header()
            else:
                self._answer(out, self._held)
                self._held = ""
            if (self.state, len(self._held)) == before:
                break  # waiting for more text
        return out

    def finish(self) -> list[tuple[Kind, str]]:
        """The end of the reply: what was held back goes where it stood."""
        held, self._held = self._held, ""
        out: list[tuple[Kind, str]] = []
        if self.state == "thinking":
            _add(out, "thinking", held.rstrip())
        elif self.state in ("start", "answer"):
            self._answer(out, held)
        self.state = "answer"
        return out

    # -- the states ---------------------------------------------------------------------

    def _start(self) -> None:
        text = self._held.lstrip()
        if not text:
            return
        for m in self.markers:
            if text.startswith(m.open):
                self.active = m
                self.state = "thinking"
                self._held = text[len(m.open):]
                return
        for m in self.markers:
            if m.answer_lead and text.startswith(m.answer_lead):
                self._held = text[len(m.answer_lead):]
                self.state = "answer"
                return
        if any(m.open.startswith(text) or m.answer_lead.startswith(text) for m in self.markers):
            return  # it may still become a marker
        self.state = "answer"

    def _thinking(self, out: list[tuple[Kind, str]]) -> None:
        assert self.active is not None
        close = self.active.close
        at = self._held.find(close)
        if at >= 0:
            _add(out, "thinking", self._held[:at].rstrip() if self._thinking_started else self._held[:at].strip())
            self._held = self._held[at + len(close):]
            self.state = "header"
            return
        if not self._thinking_started:
            self._held = self._held.lstrip()  # the line break after the open marker
        keep = _partial_suffix(self._held, close)
        body = self._held[: len(self._held) - keep]
        shown = body.rstrip()  # line breaks before the close marker are held until more thinking follows
        self._thinking_started = self._thinking_started or bool(shown)
        _add(out, "thinking", shown)
        self._held = self._held[len(shown):]

    def _header(self) -> None:
        assert self.active is not None
        header = self.active.answer_header
        text = self._held.lstrip()
        if not text:
            return
        if header and text.startswith(header):
            self._held = text[len(header):]
        elif header and header.startswith(text):
            return
        self.state = "answer"

    def _answer(self, out: list[tuple[Kind, str]], text: str) -> None:
        if not self._answer_started and self.active is not None:
            text = text.lstrip()  # the blank line a model leaves after its thinking
        if text:
            self._answer_started = True
        _add(out, "answer", text)


def _add(out: list[tuple[Kind, str]], kind: Kind, text: str) -> None:
    if not text:
        return
    if out and out[-1][0] == kind:
        out[-1] = (kind, out[-1][1] + text)
    else:
        out.append((kind, text))


def _partial_suffix(text: str, marker: str) -> int:
    """How many characters at the end of ``text`` could be the start of ``marker``."""
    for n in range(min(len(marker) - 1, len(text)), 0, -1):
        if marker.startswith(text[-n:]):
            return n
    return 0


def split_text(text: str, markers: Iterable[ThinkingMarkers] = KNOWN_MARKERS, *, final: bool = True) -> tuple[str, str]:
    """(thinking, answer) of a whole text; ``final=False`` leaves out what might still become a marker."""
    splitter = ThinkingSplitter(tuple(markers))
    pieces = splitter.feed(text) + (splitter.finish() if final else [])
    return ("".join(t for k, t in pieces if k == "thinking"), "".join(t for k, t in pieces if k == "answer"))


def answer_of(text: str) -> str:
    """A whole reply's answer, without its thinking (what Write inserts, what a copy takes)."""
    return split_text(text)[1]


def marked(thinking: str, answer: str, markers: ThinkingMarkers = DEFAULT_MARKERS) -> str:
    """The text a thinking model would have written: the thinking between markers, then the answer."""
    return f"{markers.open}\n{thinking}\n{markers.close}\n\n{answer}" if thinking else answer
