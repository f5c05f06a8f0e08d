"""Fitting a chat or a document into the model's context, above the engine port, with the engine's own count.

A chat longer than the context loses its oldest turns (``app.core.context.fit_messages``);
a document longer than the context is seen from a stable paragraph start
(``app.core.document_view.layout_document``). Both used to run inside the local
engine process only, so a server got the whole chat (and refused it) and a long
document had no model's-view marker there. Now the live turns in core
(``ChatTurn``, ``DocumentSession``'s suggestion) fit what they send *before* it
reaches any engine, through the same functions, counting with the port's
``count_tokens_async`` / ``count_text_async`` and the context of its ``info``:

- the local engine counts with the model's tokenizer and chat template (exact);
- a server counts with its own tokenizer endpoint where it has one, otherwise with an
  estimate it says is one (``app.engine.remote``);

so a long chat drops the same messages, with the same notice, and a long document
gets the same model's-view start, locally and on a server. The local engine still
fits what it is given (a no-op after this; a guard for callers that don't fit).

The functions here block on the engine's counts: run them off the session's thread
(the ``fit`` method of ``ChatEngine`` / ``CompletionEngine`` does, then calls back on it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from app.core.context import Fitted, Message, fit_messages
from app.core.document_view import DocumentView, layout_document
from app.core.events import Finished, ModelInfo
from app.core.sampling import SamplingSettings

COUNT_TIMEOUT = 120.0  # seconds: a count waits behind a model load or a reload after a crash
DOCUMENT_SLACK = 1 + 8  # a start token, and room for joins that tokenize a little differently


class TokenCounter(Protocol):
    """What fitting needs of an engine port: its model's context and its token count."""

    info: ModelInfo | None

    def count_tokens_async(self, messages: list[dict[str, str]]) -> Future[int]:
        """Tokens of a chat's prompt, rendered as this engine renders it (generation prompt included)."""
        ...

    def count_text_async(self, text: str) -> Future[int]:
        """Tokens of a plain text (no start token)."""
        ...


def dropped_notice(dropped: int) -> str:
    """What the chat says when older messages were left out of what the model sees ("" when none were)."""
    if dropped <= 0:
        return ""
    what = "1 older message no longer fits" if dropped == 1 else f"{dropped} older messages no longer fit"
    return (f"⚠ {what} in the model's context and {'was' if dropped == 1 else 'were'} left out of what it "
            "sees (still saved here).")


def context_of(counter: TokenCounter) -> int:
    """The loaded model's context in tokens (0: unknown, so nothing is fitted)."""
    info = counter.info
    return int(info.context) if info is not None and info.context > 0 else 0


@dataclass(frozen=True)
class ChatFit:
    """The messages to send and how many older ones were left out."""

    messages: list[Message]
    dropped: int = 0


def fit_chat(counter: TokenCounter, messages: Sequence[Message], sampling: SamplingSettings, *,
             continue_last: bool = False) -> ChatFit:
    """The newest turns of ``messages`` that fit the context with room for the reply (``sampling.max_tokens``).

    With ``continue_last`` the last (assistant) message is the reply so far: it always stays,
    and the room it takes comes off the budget.
    """
    msgs = list(messages)
    context = context_of(counter)
    if not context or not msgs:
        return ChatFit(msgs)
    budget = max(context - sampling.max_tokens, 0)

    def count(candidate: list[Message]) -> int:
        return counter.count_tokens_async(candidate).result(COUNT_TIMEOUT)

    if continue_last and msgs[-1].get("role") == "assistant":
        partial = counter.count_text_async(msgs[-1].get("content", "")).result(COUNT_TIMEOUT)
        fitted: Fitted = fit_messages(msgs[:-1], count, max(budget - partial, 0))
        return ChatFit([*fitted.messages, msgs[-1]], fitted.dropped)
    fitted = fit_messages(msgs, count, budget)
    return ChatFit(fitted.messages, fitted.dropped)


def document_budget(context: int, sampling: SamplingSettings) -> int:
    """Tokens a document's view may take: the context less the suggestion's room (at most half of it)."""
    return context - min(sampling.max_tokens, context // 2) - DOCUMENT_SLACK


def fit_document(counter: TokenCounter, before: str, memory: str, sampling: SamplingSettings) -> DocumentView:
    """What the model sees of the text before the cursor: the memory, then as much of its end as fits.

    The text after the cursor is left to the engine (only the local one can fill in the middle).
    """
    context = context_of(counter)
    if not context:
        return DocumentView(memory, before, "", 0, 0)

    def count(text: str) -> int:
        return counter.count_text_async(text).result(COUNT_TIMEOUT) if text else 0

    return layout_document(before, "", memory, count, document_budget(context, sampling))


def with_chat_fit(fin: Finished, fit: ChatFit | None) -> Finished:
    """A reply's end, counting the messages left out above the engine as well as any it left out."""
    if fit is None or not fit.dropped:
        return fin
    return dataclasses.replace(fin, dropped_messages=fin.dropped_messages + fit.dropped)


def with_document_view(fin: Finished, view: DocumentView | None) -> Finished:
    """A suggestion's end, with its model's-view start measured in the whole text before the cursor."""
    if view is None or not view.start:
        return fin
    return dataclasses.replace(fin, view_start=view.start + fin.view_start,
                               words_outside=view.words_outside + fin.words_outside)
