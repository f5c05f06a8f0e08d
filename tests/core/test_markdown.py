"""Cutting model text into blocks that can each be rendered within a frame's budget."""

from __future__ import annotations

import random

from app.core.markdown import BlockSplitter, cut_long_lines, fits_markdown, keep_line_breaks


def _blocks(text: str, finish: bool = True) -> list[tuple[str, str, str, bool]]:
    splitter = BlockSplitter()
    splitter.feed(text)
    if finish:
        splitter.finish(text)
    return [(b.kind, text[b.start:b.end], b.language, b.complete) for b in splitter.blocks]


SAMPLE = ("Hello\nworld\n\nPara 2\n\n```py\nx = 1\n\ny = 2\n```\nafter\n\n1. a\n\n2. b\n   more\n\n"
          "```\nunclosed\ncode")


def test_text_is_cut_at_blank_lines_and_fences() -> None:
    assert _blocks(SAMPLE) == [
        ("text", "Hello\nworld\n", "", True),
        ("text", "Para 2\n", "", True),
        ("code", "x = 1\n\ny = 2\n", "py", True),  # a blank line inside code does not cut it
        ("text", "after\n", "", True),
        ("text", "1. a\n\n2. b\n   more\n", "", True),  # a loose list stays one block
        ("code", "unclosed\ncode", "", True),  # an unclosed fence ends with the text
    ]


def test_a_streaming_text_keeps_its_last_block_open() -> None:
    blocks = _blocks(SAMPLE, finish=False)
    assert blocks[-1] == ("code", "unclosed\ncode", "", False)
    assert all(b[3] for b in blocks[:-1])
    assert _blocks("````\nx\n``", finish=False)[-1][1] == "x\n"  # a line that may become the fence is held back


def test_feeding_piece_by_piece_gives_the_same_blocks() -> None:
    whole = BlockSplitter()
    whole.finish(SAMPLE)
    rng = random.Random(1)
    for _ in range(100):
        splitter, pos = BlockSplitter(), 0
        while pos < len(SAMPLE):
            pos += rng.randint(1, 6)
            splitter.feed(SAMPLE[:pos])
        splitter.finish(SAMPLE)
        assert [(b.kind, b.start, b.end) for b in splitter.blocks] == [(b.kind, b.start, b.end) for b in whole.blocks]


def test_single_newlines_stay_line_breaks_outside_tables() -> None:
    assert keep_line_breaks("def f():\nreturn 1\n\nnext") == "def f():  \nreturn 1\n\nnext"
    table = "| a | b |\n|---|---|\n| 1 | 2 |"
    assert keep_line_breaks(table) == table


def test_blocks_past_the_budget_are_not_given_to_the_markdown_renderer() -> None:
    assert fits_markdown("A *short* paragraph\nwith two lines.")
    assert not fits_markdown("x" * 100_000)
    assert not fits_markdown("".join(f"{i}. item\n" for i in range(1000)))
    assert not fits_markdown("| a | b | c |\n|---|---|---|\n" + "| 1 | 2 | 3 |\n" * 60)
    assert fits_markdown("| a | b | c |\n|---|---|---|\n" + "| 1 | 2 | 3 |\n" * 10)


def test_long_lines_are_cut_for_display_only() -> None:
    pieces, column = cut_long_lines("x" * 2500, 0, width=1000)
    assert [len(p) for p in pieces] == [1000, 1000, 500] and column == 500
    pieces, column = cut_long_lines("ab\ncd", 999, width=1000)
    assert pieces == ["a", "b", "cd"] and column == 2
    assert "".join(cut_long_lines("y" * 5000, 10)[0]) == "y" * 5000
