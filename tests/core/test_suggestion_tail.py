"""The suggestion's text is the text on screen, the decoder's tail included. No Qt, no model.

At the end of a stream the engine releases what its decoder and stop matcher held
back (an incomplete character, text that looked like the start of a stop string)
as one last event with no token of its own (``token_id == -1``). The editor shows
it; the session once dropped it, so accepting, regenerating or rewriting from an
alternative worked on a text shorter than the one the writer saw.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.document_session import DocumentSession
from app.core.events import TokenEvent
from app.core.sampling import SamplingSettings
from app.core.storage import Storage


@pytest.fixture
def db(tmp_path: Path) -> Storage:
    storage = Storage(tmp_path / "inkling.db")
    yield storage
    storage.close()


def test_the_decoders_tail_is_part_of_the_suggestions_text(db: Storage) -> None:
    doc = DocumentSession.create(db, SamplingSettings(), content="The sea")
    suggestion = doc.begin_suggestion("The sea", "")
    batch = [TokenEvent(" was", 11, 0.5), TokenEvent(" calm", 12, 0.4), TokenEvent(" caf\u00e9.", -1)]
    suggestion.add(batch)
    on_screen = "".join(t.text for t in batch)  # what the editor appends
    assert suggestion.text == on_screen
    assert [t.token_id for t in suggestion.tokens] == [11, 12]  # the inspector's tokens stay the sampled ones
