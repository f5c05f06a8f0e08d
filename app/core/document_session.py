"""One document as plain Python: its saved text, the pending suggestion, revisions, settings, memory.

``DocumentSession`` is the model the Write pane mirrors. The editor widget
shows the text and the suggestion inline; what the document *is* lives here:
the text as last saved (a pending suggestion is never part of it), when the
next automatic revision is due, the prompt and tokens of the suggestion being
offered, the document's own sampling settings, resolved when it is opened, and
its memory: notes (synopsis, characters, style) that the model sees before the
text however long the text grows (``app.core.document_view`` lays that out).

The suggestion's whole life is here too, so the Write pane only shows it:
:meth:`start_suggestion` asks the engine (given by :meth:`use_engine`) to
continue at the cursor; its tokens arrive, the decoder's tail included, so the
suggestion's text is the text on screen; :meth:`stop_suggestion` ends it where
it is and keeps what was written on offer; :meth:`accept_suggestion` makes it
part of the saved text; :meth:`reject_suggestion` drops it;
:meth:`regenerate_suggestion` writes another in its place; :meth:`rewrite_from`
keeps it up to a token, puts an alternative there and goes on from it. Views
:meth:`subscribe` and are told:

- ``"suggestion-started"``: ``suggestion`` begins again at the same place, with
  ``suggestion.text`` already shown (empty, or the part a rewrite keeps);
- ``"suggestion-progress"``: ``suggestion.progress`` says how much of the prompt is read;
- ``"suggestion-text"``: ``suggestion.text`` and ``suggestion.tokens`` grew;
- ``"suggestion-ended"``: the engine ended it (``suggestion.state``: done, stopped
  or failed; ``suggestion.finished`` says how);
- ``"suggestion-cleared"``: nothing is on offer any more (accepted, rejected, or
  stopped before anything was written).

Its ``alternatives`` (``app.core.alternatives``) write several texts side by side
for the writer to choose from, announced as ``"alternatives-*"``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from app.core.alternatives import Alternatives, AlternativesEngine
from app.core.announcer import Announcer
from app.core.chat_turn import ReplyStream, StreamEvents, TokenCounter, as_inkling_error
from app.core.document_view import DocumentView
from app.core.errors import InklingError
from app.core.events import Alternative, Finished, PromptProgress, TokenEvent
from app.core.fitting import fit_document, with_document_view
from app.core.presets import PresetStore
from app.core.sampling import SamplingSettings
from app.core.storage import DocumentRow, Storage
from app.core.thinking import split_text

REVISION_EVERY = 120.0  # seconds of editing between automatic revisions
UNTITLED = "Untitled"
TITLE_LIMIT = 48


def document_title(content: str, limit: int = TITLE_LIMIT) -> str:
    """A title from the text's first non-empty line (a Markdown heading's marks dropped), shortened at a word."""
    line = next((ln for ln in content.splitlines() if ln.strip()), "")
    text = " ".join(line.strip().lstrip("#").split())
    if not text:
        return UNTITLED
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return (cut or text[:limit]) + "…"


Listener = Callable[["DocumentSession", str], None]
"""Told (session, what) after a change of the suggestion (the module's docstring lists what)."""

SuggestionState = Literal["writing", "done", "stopped", "failed"]


class CompletionEngine(AlternativesEngine, Protocol):
    """The engine as a suggestion and its alternatives need it."""

    def start_completion(self, prompt: str, suffix: str, sampling: SamplingSettings, *, memory: str,
                         events: StreamEvents, sequences: int = 1, alternatives: bool = True) -> ReplyStream:
        """Continue ``prompt`` (before ``suffix``), with each token's alternatives unless told not to;
        raise an ``InklingError`` if it can't start."""
        ...

    def fit(self, job: Callable[[TokenCounter], DocumentView], then: Callable[[DocumentView], None],
            failed: Callable[[InklingError], None]) -> None:
        """As ``ChatEngine.fit``: run ``job`` with the engine's counter off this thread, answer on it."""
        ...


@dataclass
class Suggestion:
    """The continuation being offered: what it continues, what follows it, its tokens so far and its state.

    ``tokens`` are the sampled tokens (each with its probability and alternatives, for the inspector);
    ``tail`` is what the decoder released at the end with no token of its own (the rest of a character,
    text held back while it looked like a stop string). The text on screen is both.
    """

    prompt: str
    suffix: str = ""
    tokens: list[TokenEvent] = field(default_factory=list)
    tail: str = ""
    state: SuggestionState = "writing"
    progress: PromptProgress | None = None
    finished: Finished | None = None
    rewritten_at: int = -1  # the token an alternative replaced (-1: none)
    stream: ReplyStream | None = field(default=None, repr=False, compare=False)

    @property
    def raw_text(self) -> str:
        """Everything the model wrote, a thinking model's reasoning included."""
        return "".join(t.text for t in self.tokens) + self.tail

    @property
    def text(self) -> str:
        """What is offered for the document: the answer alone (a thinking model's reasoning is never inserted)."""
        return split_text(self.raw_text, final=not self.writing)[1]

    @property
    def writing(self) -> bool:
        return self.state == "writing"

    def add(self, batch: list[TokenEvent]) -> None:
        for t in batch:
            if t.token_id >= 0:
                self.tokens.append(t)
            else:  # no token of its own: the decoder's tail (or an incomplete character's placeholder)
                self.tail += t.text

    def rewritten_from(self, index: int, alternative: Alternative) -> tuple[str, list[TokenEvent]] | None:
        """Keep tokens before ``index``, put ``alternative`` at it: (text shown so far, tokens kept)."""
        if not 0 <= index < len(self.tokens):
            return None
        old = self.tokens[index]
        chosen = TokenEvent(alternative.text, alternative.token_id, alternative.prob, old.alternatives)
        kept = [*self.tokens[:index], chosen]
        return split_text("".join(t.text for t in kept), final=False)[1], kept


class DocumentSession(Announcer["DocumentSession", str]):
    """A document: text, cursor, revisions, sampling settings, and the suggestion on offer."""

    def __init__(self, storage: Storage, row: DocumentRow, sampling: SamplingSettings, preset: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.storage = storage
        self.row = row
        self.sampling = sampling
        self.preset = preset
        self.suggestion: Suggestion | None = None
        self.engine: CompletionEngine | None = None
        self.alternatives = Alternatives(self.announce)
        """Texts side by side to choose from (``app.core.alternatives``)."""
        self._clock = clock
        self._revision_at = clock()
        super().__init__()

    def announce(self, what: str) -> None:
        """Tell every listener that ``what`` changed (listeners get ``(session, what)``)."""
        self._announce(self, what)

    def use_engine(self, engine: CompletionEngine) -> None:
        """Suggestions and alternatives are written by ``engine`` from now on."""
        self.engine = self.alternatives.engine = engine

    @classmethod
    def open(cls, storage: Storage, presets: PresetStore, document_id: int,
             clock: Callable[[], float] = time.monotonic) -> DocumentSession | None:
        row = storage.document(document_id)
        if row is None:
            return None
        sampling, preset = presets.resolve(row.settings, row.preset)
        return cls(storage, row, sampling, preset, clock)

    @classmethod
    def create(cls, storage: Storage, sampling: SamplingSettings, preset: str = "", *, title: str = UNTITLED,
               content: str = "", clock: Callable[[], float] = time.monotonic) -> DocumentSession:
        """A new document that starts with these settings (a new document keeps the last one's)."""
        row = storage.create_document(title=title, content=content)
        row.settings, row.preset = json.dumps(sampling.to_dict()), preset
        storage.update_document(row.id, settings=row.settings, preset=preset)
        return cls(storage, row, sampling, preset, clock)

    # -- what it is ----------------------------------------------------------------------

    @property
    def id(self) -> int:
        return self.row.id

    @property
    def title(self) -> str:
        return self.row.title

    @property
    def content(self) -> str:
        """The text as last saved (never a pending suggestion)."""
        return self.row.content

    @property
    def memory(self) -> str:
        """Notes kept in the model's view before the text (may be empty)."""
        return self.row.memory

    @property
    def cursor(self) -> int:
        return min(self.row.cursor, len(self.row.content))

    # -- edits ---------------------------------------------------------------------------

    @property
    def auto_titled(self) -> bool:
        """Whether the title still follows the first line (it does until the writer renames the document)."""
        return self.row.title in (UNTITLED, document_title(self.row.content))

    def save_text(self, content: str, cursor: int) -> bool:
        """Save the writer's text; a revision is kept every REVISION_EVERY seconds of editing. True if saved.

        An untitled document, or one whose title is still its first line, is titled from its new first line.
        """
        if content == self.row.content:
            return False
        changes: dict[str, object] = {"content": content, "cursor": cursor}
        if self.auto_titled and document_title(content) != self.row.title:
            changes["title"] = self.row.title = document_title(content)
        self.storage.update_document(self.id, **changes)
        self.row.content, self.row.cursor = content, cursor
        if self._clock() - self._revision_at > REVISION_EVERY:
            self.save_revision()
        return True

    def set_memory(self, memory: str) -> bool:
        """Save the document's memory. True if it changed (then the model re-reads the whole prompt)."""
        if memory == self.row.memory:
            return False
        self.storage.update_document(self.id, memory=memory)
        self.row.memory = memory
        return True

    def set_sampling(self, settings: SamplingSettings, preset: str = "") -> bool:
        """The next continuation uses these settings, and the document remembers them."""
        self.sampling, self.preset = settings, preset
        data = json.dumps(settings.to_dict())
        if data == self.row.settings and preset == self.row.preset:
            return False
        self.row.settings, self.row.preset = data, preset
        self.storage.update_document(self.id, settings=data, preset=preset)
        return True

    def rename(self, title: str) -> bool:
        title = title.strip()
        if not title or title == self.row.title:
            return False
        self.row.title = title
        self.storage.update_document(self.id, title=title)
        return True

    @classmethod
    def undelete(cls, storage: Storage, presets: PresetStore, document_id: int,
                 clock: Callable[[], float] = time.monotonic) -> DocumentSession | None:
        """Bring a deleted document back (Undo delete) and open it."""
        storage.undelete_document(document_id)
        return cls.open(storage, presets, document_id, clock)

    def delete(self) -> None:
        """Soft delete (``undelete`` brings it back)."""
        self.reject_suggestion()
        self.alternatives.stop()
        self.storage.delete_document(self.id)

    # -- revisions -----------------------------------------------------------------------

    def revisions(self) -> list[tuple[int, float, str]]:
        """(id, time, text), newest first."""
        return self.storage.revisions(self.id)

    def save_revision(self) -> bool:
        """Keep the saved text as a revision (unless the newest revision already is this text)."""
        self._revision_at = self._clock()
        revisions = self.revisions()
        if revisions and revisions[0][2] == self.row.content:
            return False
        self.storage.add_revision(self.id, self.row.content)
        return True

    def revision_text(self, revision_id: int) -> str | None:
        return next((text for rid, _, text in self.revisions() if rid == revision_id), None)

    # -- the suggestion ------------------------------------------------------------------

    def begin_suggestion(self, prompt: str, suffix: str = "") -> Suggestion:
        """A suggestion to fill by hand (``start_suggestion`` has the engine write it)."""
        self.suggestion = Suggestion(prompt, suffix)
        return self.suggestion

    def end_suggestion(self) -> None:
        """Accepted or rejected: nothing is on offer any more."""
        self.reject_suggestion()

    def start_suggestion(self, prompt: str, suffix: str = "") -> Suggestion:
        """Continue the text at the cursor: ``prompt`` is the text before it, ``suffix`` the text after it.

        A suggestion on offer is rejected first. Needs ``use_engine``.
        """
        self.reject_suggestion()
        self.suggestion = Suggestion(prompt, suffix)
        self.announce("suggestion-started")
        self._write(self.suggestion, prompt)
        return self.suggestion

    def stop_suggestion(self) -> None:
        """Stop writing; what was written stays on offer (it ends as "stopped" once the engine has stopped)."""
        s = self.suggestion
        if s is not None and s.writing and s.stream is not None:
            s.stream.cancel()

    def accept_suggestion(self) -> str | None:
        """Make the suggestion part of the text (saved at once); returns its text, None if there was none."""
        s = self.suggestion
        if s is None:
            return None
        self._forget_stream(s)
        self.suggestion = None
        text = s.text
        if text:
            self.save_text(s.prompt + text + s.suffix, len(s.prompt) + len(text))
        self.announce("suggestion-cleared")
        return text

    def reject_suggestion(self) -> None:
        """Drop the suggestion (stopping it if it is being written); the text is as before."""
        s = self.suggestion
        if s is None:
            return
        self._forget_stream(s)
        self.suggestion = None
        self.announce("suggestion-cleared")

    def regenerate_suggestion(self) -> bool:
        """Another suggestion in place of the one on offer (same place, same text around it)."""
        s = self.suggestion
        if s is None:
            return False
        self._forget_stream(s)
        s.tokens, s.tail, s.state, s.finished, s.rewritten_at = [], "", "writing", None, -1
        self.announce("suggestion-started")
        self._write(s, s.prompt)
        return True

    def rewrite_from(self, index: int, alternative: Alternative) -> bool:
        """Keep the suggestion up to token ``index``, put ``alternative`` there, and go on writing from it."""
        s = self.suggestion
        rewritten = s.rewritten_from(index, alternative) if s is not None else None
        if s is None or rewritten is None:
            return False
        self._forget_stream(s)
        prefix, s.tokens = rewritten
        s.tail, s.state, s.finished, s.rewritten_at = "", "writing", None, index
        self.announce("suggestion-started")
        self._write(s, s.prompt + prefix)
        return True

    def _write(self, s: Suggestion, prompt: str) -> None:
        if self.engine is None:
            raise RuntimeError("DocumentSession.use_engine was not called")
        current: list[ReplyStream | None] = [None]

        def mine() -> bool:  # events of a stream that was replaced or forgotten are ignored
            return self.suggestion is s and s.writing and s.stream is current[0]

        def on_tokens(batch: list[TokenEvent]) -> None:
            if mine():
                s.add([t for t in batch if t.sequence == 0])
                self.announce("suggestion-text")

        def on_progress(progress: PromptProgress) -> None:
            if mine():
                s.progress = progress
                self.announce("suggestion-progress")

        views: list[DocumentView | None] = [None]  # what the model sees of the text, once fitted

        def on_finished(fin: Finished) -> None:
            if mine():
                self._end(s, with_document_view(fin, views[0]))

        def on_failed(exc: InklingError) -> None:
            if mine():
                self._end(s, Finished("error", s.text, error=str(exc)))

        events = StreamEvents(on_tokens, on_progress, on_finished, on_failed)
        starting = _Starting()
        s.stream = current[0] = starting
        engine, memory, sampling = self.engine, self.memory, self.sampling

        def fitted(view: DocumentView) -> None:
            # the model's view of a long text is chosen here, above the engine, with its count
            if not mine():
                return
            if starting.cancelled:  # stopped while the text was being fitted
                self._end(s, Finished("cancelled", s.text))
                return
            views[0] = view
            try:
                stream = engine.start_completion(view.before, s.suffix, sampling, memory=memory, events=events)
            except InklingError as exc:
                on_failed(exc)
                return
            if s.stream is current[0]:
                s.stream = current[0] = stream

        engine.fit(lambda counter: fit_document(counter, prompt, memory, sampling), fitted,
                   lambda exc: on_failed(as_inkling_error(exc)))

    def _end(self, s: Suggestion, fin: Finished) -> None:
        s.stream, s.finished = None, fin
        s.state = {"cancelled": "stopped", "error": "failed"}.get(fin.reason, "done")  # type: ignore[assignment]
        self.announce("suggestion-ended")
        if s.state == "stopped" and not s.text and self.suggestion is s:  # stopped before anything was written
            self.reject_suggestion()

    @staticmethod
    def _forget_stream(s: Suggestion) -> None:
        """Stop a stream whose later events must not reach the suggestion."""
        stream, s.stream = s.stream, None
        if stream is not None and s.writing:
            stream.cancel()

    def export_text(self, markdown: bool) -> str:
        """The saved text for a file; Markdown gets the title as a heading unless it has one.

        Only a title the writer gave is added: one taken from the first line would repeat that line
        (shortened, "…" and all) above it.
        """
        text = self.row.content
        if markdown and not self.auto_titled and not text.lstrip().startswith("#"):
            text = f"# {self.title}\n\n{text}"
        return text


class _Starting:
    """Stands for a stream while the text is fitted and the engine starts it; Stop is remembered."""

    cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
