"""Ask: a short conversation beside a document whose answers are proposed edits (no Qt).

A person says what they want ("make the opening warmer", "use British spelling
throughout"); the instruction applies to the selection, or to the whole document when
nothing is selected. The model answers with the edited text, which becomes a
:class:`~app.core.proposal.Proposal` — hunks to accept or reject; nothing in the
document changes until one is accepted.

A whole document longer than the model's context is split into sections (at headings,
else at paragraphs; :func:`split_sections`), each asked on its own and each its own
proposal, one after another, with ``progress``; Stop ends the one being written as a
partial proposal and keeps the finished ones.

``AskSession`` belongs to one ``DocumentSession``: it keeps the conversation in the
database (``ask_turns``), asks through the same engine port as the document's
alternatives (``start_chat``: the local engine or a server), and announces through
``subscribe`` (listeners get ``(ask, what)``):

- ``"ask-turn"``: ``turns`` grew (the person's instruction, or the answer's summary);
- ``"proposal-started"`` / ``"proposal-text"`` / ``"proposal-ended"``: ``proposals[-1]`` began, grew, ended;
- ``"proposal-changed"``: a hunk was accepted or rejected, or a proposal went stale;
- ``"ask-progress"``: ``progress`` (sections done, sections in all) changed;
- ``"ask-finished"``: nothing is being written any more.

Pure helpers (:func:`edit_messages`, :func:`split_sections`, :func:`section_chars`) are
shared with the command line's ``inkling edit``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from app.core.alternatives import AlternativesEngine
from app.core.announcer import Announcer
from app.core.chat_turn import ReplyStream, StreamEvents
from app.core.errors import InklingError
from app.core.events import Finished, PromptProgress, TokenEvent
from app.core.proposal import Edit, Proposal
from app.core.rework import CHARS_PER_TOKEN, MARGIN_TOKENS, MOST_TOKENS, SELECTION_ACTIONS, core_range
from app.core.sampling import SamplingSettings
from app.core.storage import Storage

EDITOR_SYSTEM = "You are a careful writing assistant."
REPLY_ONLY = "Reply with the edited text only."
PROMPT_OVERHEAD_TOKENS = 96  # the system prompt, the instruction and the chat template around the text
ANSWER_FACTOR = 1.5  # an edited section may be this much longer than the section
QUICK_ACTIONS = {name: text.replace("Reply with the rewritten text only.", "").replace(
    "Reply with the shortened text only.", "").replace("Reply with the expanded text only.", "").strip()
    for name, text in SELECTION_ACTIONS.items() if name != "Continue in this style"}
"""The Write pane's three selection actions, as instructions to ask."""

_HEADING = re.compile(r"^#{1,6}\s", re.MULTILINE)


def edit_messages(instruction: str, text: str, memory: str = "") -> list[dict[str, str]]:
    """The chat that asks for ``text`` edited as ``instruction`` says (the document's memory as background)."""
    system = EDITOR_SYSTEM
    if memory.strip():
        system += f"\n\nAbout the document (background, not to be edited):\n{memory.strip()}"
    return [{"role": "system", "content": system},
            {"role": "user", "content": f"{_sentence(instruction)} {REPLY_ONLY}\n\n{text}"}]


def _sentence(instruction: str) -> str:
    """The instruction as a sentence (small models follow "Do this. Reply with…" better than a bare phrase)."""
    instruction = instruction.strip()
    return instruction if instruction[-1:] in ".!?" else instruction + "."


def answer_tokens(text: str) -> int:
    """The most tokens an edit of ``text`` may take (it follows the text's length, not Max tokens)."""
    return min(MOST_TOKENS, int(len(text) / CHARS_PER_TOKEN * ANSWER_FACTOR) + MARGIN_TOKENS)


def section_chars(context_tokens: int, memory: str = "") -> int:
    """How many characters of text one request may carry so that it and its edited answer fit the context."""
    room = context_tokens - PROMPT_OVERHEAD_TOKENS - MARGIN_TOKENS - len(memory) // CHARS_PER_TOKEN
    return max(CHARS_PER_TOKEN * 16, int(room / (1 + ANSWER_FACTOR)) * CHARS_PER_TOKEN)


def split_sections(text: str, limit: int) -> list[tuple[int, int]]:
    """``text`` as consecutive ranges of at most ``limit`` characters, cut at headings, else paragraphs, else lines.

    Small neighbours are packed together up to the limit; a paragraph longer than the limit is cut at
    line ends, then at sentence ends, then anywhere. The ranges cover the text exactly, in order.
    """
    if len(text) <= limit:
        return [(0, len(text))]
    pieces = _pieces(text, 0, len(text), limit)
    sections: list[tuple[int, int]] = []
    for start, end in pieces:
        heading = _HEADING.match(text, start) is not None
        if sections and end - sections[-1][0] <= limit and not heading:
            sections[-1] = (sections[-1][0], end)
        else:
            sections.append((start, end))
    return sections


_SEPARATORS = (r"\n\s*\n", r"\n", r"(?<=[.!?])\s+", r"\s+")


def _pieces(text: str, start: int, end: int, limit: int, level: int = 0) -> list[tuple[int, int]]:
    """Paragraphs (a paragraph keeps the blank lines after it), each cut further while longer than ``limit``:
    at line ends, then sentence ends, then spaces, then anywhere."""
    for depth in range(level, len(_SEPARATORS)):
        cuts = [start + m.end() for m in re.finditer(_SEPARATORS[depth], text[start:end])]
        cuts = [c for c in cuts if start < c < end]
        if cuts:
            out: list[tuple[int, int]] = []
            for a, b in zip([start, *cuts], [*cuts, end], strict=True):
                out.extend(_pieces(text, a, b, limit, depth + 1) if b - a > limit else [(a, b)])
            return out
    return [(at, min(at + limit, end)) for at in range(start, end, limit)]


@dataclass
class AskTurn:
    """One line of the conversation: the person's instruction, or what came of it."""

    role: str  # "user" or "assistant"
    text: str


@dataclass
class _Job:
    """An instruction being worked through, section by section."""

    instruction: str
    sections: list[list]  # [start, end, text, label] in the document now (text None: changed before its turn)
    settings: SamplingSettings
    memory: str
    done: int = 0
    stopped: bool = False
    first: int = 0  # index in proposals of this job's first proposal
    stream: ReplyStream | None = field(default=None, repr=False)


class AskSession(Announcer["AskSession", str]):
    """The Ask conversation of one document, its proposals, and the request writing the next one."""

    def __init__(self, storage: Storage | None, document_id: int, engine: AlternativesEngine | None = None) -> None:
        """``storage`` None: the conversation is not kept (the command line's ``inkling edit``)."""
        super().__init__()
        self.storage = storage
        self.document_id = document_id
        self.engine = engine
        self.turns = [AskTurn(role, text) for role, text in (storage.ask_turns(document_id) if storage else [])]
        self.proposals: list[Proposal] = []
        self.progress: tuple[int, int] = (0, 0)
        self.last_finished: Finished | None = None
        self._job: _Job | None = None
        self._applying: Proposal | None = None  # the proposal whose accepted hunk is being applied

    def announce(self, what: str) -> None:
        self._announce(self, what)

    @property
    def busy(self) -> bool:
        return self._job is not None

    @property
    def pending(self) -> list[Proposal]:
        """Proposals with something left to decide (or being written)."""
        return [p for p in self.proposals if not p.settled]

    # -- asking ------------------------------------------------------------------------------

    def ask(self, instruction: str, document: str, start: int = 0, end: int | None = None, *,
            settings: SamplingSettings, context_tokens: int, memory: str = "", draft: bool = True) -> None:
        """Propose an edit of ``document[start:end]`` (the whole document when no range is given).

        A range longer than one request can carry (``context_tokens``) is asked section by section.
        Proposals still on offer are kept (their hunks can still be decided) unless they overlap.
        """
        instruction = instruction.strip()
        if not instruction:
            return
        self.stop()
        end = len(document) if end is None else end
        whole = start == 0 and end == len(document)
        start, end = core_range(document, start, end)
        ranges = [(start + a, start + b) for a, b in split_sections(document[start:end],
                                                                      section_chars(context_tokens, memory))]
        ranges = [core_range(document, a, b) for a, b in ranges]
        ranges = [(a, b) for a, b in ranges if b > a]
        label = "Whole document" if whole else "Selection"
        sections = [[a, b, document[a:b], label if len(ranges) == 1 else f"Section {i + 1} of {len(ranges)}"]
                    for i, (a, b) in enumerate(ranges)]
        for p in self.pending:  # a new proposal over the same text replaces the old one's open hunks
            if any(a < p.end and p.start < b for a, b, _, _ in sections):
                p.reject_all()
        self._add_turn("user", instruction if whole or not sections else f"{instruction}  (on the selection)")
        if not sections:
            self._add_turn("assistant", "There is no text there to edit.")
            return
        self._job = _Job(instruction, sections, settings.replace(draft_from_text=draft), memory,
                         first=len(self.proposals))
        self.progress = (0, len(sections))
        self.announce("ask-progress")
        self._next()

    def stop(self) -> None:
        """Stop writing: the proposal being written is kept as far as it got; finished ones stay."""
        job = self._job
        if job is None:
            return
        job.stopped = True
        if job.stream is not None:
            job.stream.cancel()
        else:
            self._finish_job()

    def _next(self) -> None:
        job = self._job
        assert job is not None
        if job.stopped or job.done >= len(job.sections):
            self._finish_job()
            return
        if self.engine is None:
            raise RuntimeError("AskSession has no engine")
        start, _end, text, label = job.sections[job.done]
        if text is None:  # the writer changed this section before its turn: it is left as they wrote it
            job.done += 1
            self.progress = (job.done, len(job.sections))
            self.announce("ask-progress")
            self._next()
            return
        proposal = Proposal(job.instruction, text, start, label)
        self.proposals.append(proposal)
        self.announce("proposal-started")
        settings = job.settings.replace(max_tokens=answer_tokens(text))
        run = _Starting()
        job.stream = run

        def mine() -> bool:
            return self._job is job and job.stream in (run, run.stream)

        def on_tokens(batch: list[TokenEvent]) -> None:
            if mine():
                proposal.add("".join(t.text for t in batch if t.sequence == 0))
                self.announce("proposal-text")

        def on_finished(fin: Finished) -> None:
            if not mine():
                return
            job.stream, self.last_finished = None, fin
            if fin.reason == "cancelled" or job.stopped:
                proposal.cut_short()
            elif proposal.state == "writing":
                proposal.finish()
            job.done += 1
            self.progress = (job.done, len(job.sections))
            self.announce("proposal-ended")
            self.announce("ask-progress")
            if self._job is job:  # (a listener may have stopped it)
                self._next()

        def on_failed(exc: InklingError) -> None:
            if not mine():
                return
            job.stream = None
            proposal.fail(str(exc))
            self.announce("proposal-ended")
            job.stopped = True
            self._finish_job(failed=str(exc))

        events = StreamEvents(on_tokens, _ignore_progress, on_finished, on_failed)
        try:
            stream = self.engine.start_chat(edit_messages(job.instruction, text, job.memory), settings,
                                            continue_last=False, events=events)
        except InklingError as exc:
            on_failed(exc)
            return
        if job.stream is run:
            run.stream = job.stream = stream
            if run.cancelled:  # stopped while the engine started it
                stream.cancel()

    def _finish_job(self, failed: str = "") -> None:
        job, self._job = self._job, None
        if job is None:
            return
        made = self.proposals[job.first:]
        hunks = sum(len(p.hunks) for p in made)
        if failed:
            summary = f"Could not finish: {failed}"
        elif not hunks:
            summary = "No changes proposed."
        else:
            where = f" in {len(made)} sections" if len(job.sections) > 1 else ""
            summary = f"Proposed {hunks} change{'s' if hunks != 1 else ''}{where}."
        if job.stopped and not failed:
            summary += f" Stopped after {job.done} of {len(job.sections)}."
        self._add_turn("assistant", summary)
        self.announce("ask-finished")

    def _add_turn(self, role: str, text: str) -> None:
        if self.storage is not None:
            self.storage.add_ask_turn(self.document_id, role, text)
        self.turns.append(AskTurn(role, text))
        self.announce("ask-turn")

    # -- decisions -------------------------------------------------------------------------------

    def accept(self, proposal: Proposal, index: int, apply: Callable[[Edit], None]) -> Edit:
        """Accept one hunk: ``apply`` makes the edit in the document (one undo step); the others follow it."""
        edit = proposal.accept(index)
        before = len(self.proposals)
        self._applying = proposal
        try:
            apply(edit)
        finally:
            self._applying = None
        assert len(self.proposals) == before
        for other in self.proposals:
            if other is not proposal:
                other.rebase(edit.start, edit.end - edit.start, len(edit.text))
        self._shift_queued(edit.start, edit.end - edit.start, len(edit.text))
        self.announce("proposal-changed")
        return edit

    def reject(self, proposal: Proposal, index: int) -> None:
        proposal.reject(index)
        self.announce("proposal-changed")

    def reject_all(self) -> None:
        """Every open hunk of every proposal is rejected (the document stays as it is)."""
        for p in self.proposals:
            p.reject_all()
        self.announce("proposal-changed")

    def document_edited(self, position: int, removed: int, added: int, document: str) -> None:
        """The writer changed the document (not an accept): proposals move past it, or go stale if it was inside."""
        self._shift_queued(position, removed, added)
        changed = False
        for p in self.proposals:
            if p is self._applying or p.state in ("stale", "failed"):
                continue
            was = (p.start, p.state, p.open_hunks)
            p.rebase(position, removed, added, document)
            changed |= (p.start, p.state, p.open_hunks) != was
        if changed:
            self.announce("proposal-changed")

    def save_instruction(self, name: str, instruction: str) -> None:
        """Keep ``instruction`` under ``name`` among the person's saved instructions (for every document)."""
        if self.storage is not None and name.strip() and instruction.strip():
            self.storage.save_instruction(name.strip(), instruction.strip())

    def _shift_queued(self, position: int, removed: int, added: int) -> None:
        """Sections not asked yet move with an edit before them; one edited inside is left to the writer."""
        job = self._job
        if job is None:
            return
        for section in job.sections[len(self.proposals) - job.first:]:
            if position + removed <= section[0]:
                section[0] += added - removed
                section[1] += added - removed
            elif position < section[1]:
                section[2] = None

    def forget_settled(self) -> None:
        """Drop proposals with nothing left to decide (the view shows only what is pending)."""
        if self._job is None:
            self.proposals = [p for p in self.proposals if not p.settled]


class _Starting:
    """Stands for a stream while the engine starts it (a fake engine may answer inside the call)."""

    stream: ReplyStream | None = None
    cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


def _ignore_progress(_progress: PromptProgress) -> None:
    """Reading progress of a section's prompt is not shown (the sections' progress is)."""
