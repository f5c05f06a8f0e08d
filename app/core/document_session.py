"""One document as plain Python: its saved text, the pending suggestion, revisions, settings, memory.

``DocumentSession`` is the model the Write pane mirrors. The editor widget
shows the text and the suggestion inline; what the document *is* lives here:
the text as last saved (a pending suggestion is never part of it), when the
next automatic revision is due, the prompt and tokens of the suggestion being
offered, the document's own sampling settings, resolved when it is opened, and
its memory: notes (synopsis, characters, style) that the model sees before the
text however long the text grows (``app.core.document_view`` lays that out).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.core.events import Alternative, TokenEvent
from app.core.presets import PresetStore
from app.core.sampling import SamplingSettings
from app.core.storage import DocumentRow, Storage

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


@dataclass
class Suggestion:
    """The continuation being offered: what it continues, what follows it, and its tokens so far."""

    prompt: str
    suffix: str = ""
    tokens: list[TokenEvent] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(t.text for t in self.tokens)

    def add(self, batch: list[TokenEvent]) -> None:
        self.tokens += [t for t in batch if t.token_id >= 0]

    def rewritten_from(self, index: int, alternative: Alternative) -> tuple[str, list[TokenEvent]] | None:
        """Keep tokens before ``index``, put ``alternative`` at it: (text shown so far, tokens kept)."""
        if not 0 <= index < len(self.tokens):
            return None
        old = self.tokens[index]
        chosen = TokenEvent(alternative.text, alternative.token_id, alternative.prob, old.alternatives)
        kept = [*self.tokens[:index], chosen]
        return "".join(t.text for t in kept), kept


class DocumentSession:
    """A document: text, cursor, revisions, sampling settings, and the suggestion on offer."""

    def __init__(self, storage: Storage, row: DocumentRow, sampling: SamplingSettings, preset: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.storage = storage
        self.row = row
        self.sampling = sampling
        self.preset = preset
        self.suggestion: Suggestion | None = None
        self._clock = clock
        self._revision_at = clock()

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

    def delete(self) -> None:
        """Soft delete (``Storage.undelete_document`` brings it back)."""
        self.suggestion = None
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
        self.suggestion = Suggestion(prompt, suffix)
        return self.suggestion

    def end_suggestion(self) -> None:
        """Accepted or rejected: nothing is on offer any more."""
        self.suggestion = None

    def export_text(self, markdown: bool) -> str:
        """The saved text for a file; Markdown gets the title as a heading unless it has one.

        Only a title the writer gave is added: one taken from the first line would repeat that line
        (shortened, "…" and all) above it.
        """
        text = self.row.content
        if markdown and not self.auto_titled and not text.lstrip().startswith("#"):
            text = f"# {self.title}\n\n{text}"
        return text
