"""The Write pane's other ways to ask the model: alternatives side by side, reworking a selection, surprise.

A mixin of ``WritePane`` (app.ui.write.write_pane). Alternatives are written by
the document's ``Alternatives`` (app.core.alternatives); this part asks for them
and shows what they announce in the alternatives view. The chosen one goes in
at the cursor (or replaces the selection it was made for). Surprise scores a
paragraph and shades it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QTextCursor

from app.core.alternatives import Alternatives
from app.core.events import ScoreResult
from app.core.rework import SELECTION_ACTIONS, answer_budget, core_range, replacement
from app.ui.jobs import when_done

if TYPE_CHECKING:
    from app.ui.write.write_pane import WritePane

    _Base = WritePane
else:
    _Base = object

SURPRISE_CONTEXT_CHARS = 2000  # how much of the text before a paragraph its surprise is scored after


class AlternativesMixin(_Base):
    """Alternatives, selection actions and surprise."""

    # -- alternatives --------------------------------------------------------------------

    def _focus_editor(self) -> None:
        self.editor.setFocus()

    def _on_alt_button_clicked(self) -> None:
        self.generate_alternatives(self.alt_count.value())

    def generate_alternatives(self, count: int) -> None:
        """``count`` continuations side by side; the chosen one goes in at the cursor."""
        self.reject()
        self._selection_range = None
        self.show_alternatives()
        self.flush()
        self.variants.generate(self.editor.context_at_cursor()[0], self.sampling, count,
                               memory=self.memory)
        self._update_buttons()

    def run_selection_action(self, name: str, start: int, end: int) -> None:
        """Ask the model (in its instruct format) to rework a selection; the results are offered, not forced.

        The whitespace at the selection's edges stays where it is (only the text between is reworked and
        replaced), and the answer may be as long as the selection asks for, not the document's Max tokens.
        """
        self.reject()
        start, end = core_range(self.editor.content(), start, end)
        text = self.editor.content()[start:end]
        if not text:
            self.status_message.emit("Select some text first")
            return
        self._selection_range = (start, end)
        self.show_alternatives()
        messages = [{"role": "system", "content": "You are a careful writing assistant."},
                    {"role": "user", "content": f"{SELECTION_ACTIONS[name]}\n\n{text}"}]
        # a rework copies much of the selection: draft from it (same text at temperature 0, fewer model passes)
        settings = self.sampling.replace(draft_from_text=self.draft_action.isChecked(),
                                         max_tokens=answer_budget(name, text))
        count = self.alt_count.value()
        choose = "“Use #1”" if count == 1 else "one"
        self.variants.rework(messages, settings, f"{name}: choose {choose} to replace the selection", count)
        self._update_buttons()

    def _on_selection_action(self, name: str) -> None:
        cursor = self.editor.textCursor()
        if not cursor.hasSelection():
            self.status_message.emit("Select some text first")
            return
        self.run_selection_action(name, cursor.selectionStart(), cursor.selectionEnd())

    def _on_alternatives_changed(self, alts: Alternatives, what: str) -> None:
        """The document's alternatives announced a change: the alternatives view follows."""
        if what == "alternatives-reset":
            self.alternatives.reset(len(alts.texts), alts.title)
            self._alt_shown, self._alt_ended = [0] * len(alts.texts), [False] * len(alts.texts)
        elif what == "alternatives-text":
            for i, text in enumerate(alts.texts[:len(self._alt_shown)]):
                if len(text) > self._alt_shown[i]:
                    self.alternatives.append(i, text[self._alt_shown[i]:])
                    self._alt_shown[i] = len(text)
        elif what == "alternatives-ended":
            for i, ended in enumerate(alts.ended[:len(self._alt_ended)]):
                if ended and not self._alt_ended[i]:
                    self._alt_ended[i] = True
                    self.alternatives.finish(i, cut_off=alts.cut_off[i])
        elif what == "alternatives-finished":
            fin = alts.last_finished
            if self._selection_range is not None and fin is not None and fin.timings.generated_tokens:
                t = fin.timings
                cut = ", cut off at the length limit" if fin.reason == "length" else ""
                self.status_message.emit(f"{t.generated_tokens} tokens at {t.tokens_per_second:.1f} tok/s, "
                                         f"{fin.drafted} of them drafted from the selection{cut}")
            self._update_buttons()
            self.alternatives_finished.emit()
        elif what == "alternatives-failed":
            self.status_message.emit(f"Alternatives stopped: {alts.error}")
            self._update_buttons()

    def use_alternative(self, index: int) -> None:
        """Insert the chosen text: a replacement for the selection it was made for, or at the cursor."""
        text = self.alternatives.text(index)
        if not text:
            return
        self.variants.stop()
        self.alternatives.mark_used(index)  # the others are not inserted too
        if self._selection_range is not None:
            start, end = self._selection_range
            cursor = self.editor.textCursor()
            cursor.setPosition(start)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            cursor.insertText(replacement(text))
            self.editor.setTextCursor(cursor)
            self._selection_range = None
        else:
            self.editor.begin_suggestion()
            self.editor.append_suggestion(text)
            self.editor.accept_suggestion()
        self.flush()
        self._update_buttons()
        self.editor.setFocus()  # the next key goes to the text, not to the button that was clicked

    # -- surprise ------------------------------------------------------------------------

    def score_paragraph(self) -> None:
        """Score the selection, or the paragraph at the cursor, and shade it by surprise."""
        self.reject()
        cursor = self.editor.textCursor()
        if cursor.hasSelection():
            start, end = cursor.selectionStart(), cursor.selectionEnd()
        else:
            block = cursor.block()
            start, end = block.position(), block.position() + block.length() - 1
        text = self.editor.content()[start:end]
        if not text.strip():
            self.status_message.emit("Put the cursor in a paragraph (or select text) to score it")
            return
        self.status_message.emit("Scoring…")
        # scored after the text before it, as the model reads it: a paragraph's first words are not
        # surprising merely because nothing came before them
        before = self.editor.content()[max(0, start - SURPRISE_CONTEXT_CHARS):start]
        when_done(self.bridge.score_async(before + text, top=3),
                  lambda result: self._on_scored(start, text, len(before), result), context=self)

    def _on_scored(self, start: int, text: str, context_chars: int, result: ScoreResult) -> None:
        if self.editor.content()[start:start + len(text)] != text:
            return  # the text changed meanwhile
        offset, kept = 0, []
        for token in result.tokens:  # drop the context's tokens; one across the boundary is kept whole
            if offset + len(token.text) > context_chars:
                if not kept:
                    start -= context_chars - offset
                kept.append(token)
            offset += len(token.text)
        result = ScoreResult(tuple(kept))
        self.editor.show_surprise(start, kept)
        self.status_message.emit(f"Perplexity {result.perplexity:.1f} — darker means more surprising; hover a word")
        self.surprise_ready.emit(result)
