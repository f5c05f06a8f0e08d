"""The token inspector grows with a suggestion: each batch costs what the batch costs, not the whole suggestion.

The work is counted in the view's document itself (``contentsChange``: where,
how many characters removed, how many added), not timed: appending a batch must
add only that batch's characters and remove none, so a suggestion of n tokens
costs O(n) in all, not O(n²).
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCharFormat, QTextCursor

from app.core.events import Alternative, TokenEvent
from app.ui.write.inspector import TokenInspector

WORDS = [" the", " keeper", " climbed", "\n", " stairs", ",", " <b>", " &amp;", " rest", "."]


def _tokens(n: int) -> list[TokenEvent]:
    return [TokenEvent(WORDS[i % len(WORDS)], 100 + i, prob=(i % 10) / 10,
                       alternatives=(Alternative(WORDS[i % len(WORDS)], 100 + i, (i % 10) / 10),
                                     Alternative(" other", 7, 0.05)))
            for i in range(n)]


def _shown(text: str) -> str:
    return text.replace("\n", "↵\u2028")


@pytest.fixture
def inspector(qtbot) -> TokenInspector:
    widget = TokenInspector()
    qtbot.addWidget(widget)
    widget.resize(700, 300)
    widget.show()
    return widget


def test_appending_a_batch_touches_only_that_batch(inspector: TokenInspector) -> None:
    tokens, batch = _tokens(600), 3
    inspector.set_tokens([])
    changes: list[tuple[int, int, int]] = []
    inspector.view.document().contentsChange.connect(lambda pos, removed, added: changes.append((pos, removed, added)))
    worst = 0
    for i in range(0, len(tokens), batch):
        before = len(changes)
        inspector.add_tokens(tokens[i:i + batch])
        added = sum(a for _p, _r, a in changes[before:])
        removed = sum(r for _p, r, _a in changes[before:])
        expected = sum(len(_shown(t.text)) for t in tokens[i:i + batch])
        worst = max(worst, added + removed - expected)
    total_added = sum(a for _p, _r, a in changes)
    total_removed = sum(r for _p, r, _a in changes)
    final = sum(len(_shown(t.text)) for t in tokens)
    assert total_removed == 0 and worst == 0, (
        f"appending re-rendered what was shown: {total_removed:,} characters removed and {total_added:,} added "
        f"for a text of {final:,} (the worst batch did {worst:,} characters more than its own)")
    # every token, in order (a line break shows as ↵ and breaks the line)
    assert inspector.view.toPlainText() == "".join(t.text.replace("\n", "↵\n") for t in tokens)
    assert len(inspector.tokens) == len(tokens)


def _format_at(inspector: TokenInspector, position: int) -> QTextCharFormat:
    cursor = QTextCursor(inspector.view.document())
    cursor.setPosition(position + 1)  # the format of the character before the cursor: the token's first
    return cursor.charFormat()


def test_tokens_stay_links_with_their_probability_and_a_click_touches_two_tokens(qtbot,
                                                                                inspector: TokenInspector) -> None:
    tokens = _tokens(40)
    starts = [sum(len(_shown(t.text)) for t in tokens[:i]) for i in range(len(tokens))]
    inspector.set_tokens(tokens[:20])
    inspector.add_tokens(tokens[20:])
    for index in (0, 7, 25, 39):  # as the first render and the appends made them
        fmt = _format_at(inspector, starts[index])
        assert fmt.anchorHref() == f"tok:{index}", (index, fmt.anchorHref())
        assert fmt.toolTip() == f"{tokens[index].prob * 100:.1f}%"

    changes: list[tuple[int, int, int]] = []
    inspector.view.document().contentsChange.connect(lambda pos, removed, added: changes.append((pos, removed, added)))
    inspector.select(25)
    rect = inspector.view.cursorRect(_cursor(inspector, starts[7] + 1))
    qtbot.mouseClick(inspector.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # a click on token 8
    assert inspector.selected == 7 and "Token 8" in inspector.detail.text()
    assert inspector.alternatives.count() == 2
    touched = sum(r for _p, r, _a in changes)
    assert touched <= 2 * (len(_shown(tokens[25].text)) + len(_shown(tokens[7].text))), changes  # not the text
    assert _format_at(inspector, starts[7]).fontUnderline() and not _format_at(inspector, starts[25]).fontUnderline()


def _cursor(inspector: TokenInspector, position: int) -> QTextCursor:
    cursor = QTextCursor(inspector.view.document())
    cursor.setPosition(position)
    return cursor
