"""A found passage as Write uses it, with no window: the quote with its citation inserted at the cursor,
the memory line, and citations by line (text) and by page (PDF) for passages a real index found."""

from __future__ import annotations

import sys
from pathlib import Path

from app.core.sources.indexer import index_collection
from app.core.sources.quoting import citation, memory_entry, memory_with, quote_block, quote_insertion
from app.core.sources.store import Hit, SourceStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from source_files import QuietProgress as _Quiet
from source_files import write_pdf


def _hit(text: str, path: str = "/home/ann/notes/lighthouse.md", line: int = 12, page: int = 1) -> Hit:
    return Hit(1, path, line, page, 0, len(text), text, 1.0)


PASSAGE = "The keeper climbs the stairs  \nand lights the lamp at dusk.\n\n\n\nHe writes the log.\n\n"
QUOTE = ("> The keeper climbs the stairs\n> and lights the lamp at dusk.\n>\n> He writes the log.\n>\n"
         "> — lighthouse.md, line 12")


def test_a_quote_is_a_blockquote_of_the_passage_ending_with_its_file_and_line() -> None:
    assert quote_block(_hit(PASSAGE)) == QUOTE
    assert citation(_hit("x", path="C:\\notes\\log.txt", line=3)) == "log.txt, line 3"


def test_a_quote_is_its_own_paragraph_wherever_the_cursor_is() -> None:
    hit = _hit(PASSAGE)
    assert quote_insertion("", "", hit) == QUOTE + "\n\n"  # an empty document: writing goes on below it
    assert quote_insertion("Para.", "", hit) == "\n\n" + QUOTE + "\n\n"
    assert quote_insertion("Para.\n", "Next.", hit) == "\n" + QUOTE + "\n\n"
    assert quote_insertion("Para.\n\n", "\n\nNext.", hit) == QUOTE
    assert quote_insertion("One", " two.", hit) == "\n\n" + QUOTE + "\n\n"  # mid-sentence: split at the cursor
    assert quote_insertion("Para.", "\nNext.", hit) == "\n\n" + QUOTE + "\n"


def test_the_memory_gets_the_passage_on_one_line_with_its_citation_once() -> None:
    entry = memory_entry(_hit(PASSAGE))
    assert entry == ("“The keeper climbs the stairs and lights the lamp at dusk. He writes the log.” "
                     "— lighthouse.md, line 12")
    assert memory_with("", entry) == entry
    assert memory_with("Synopsis: a lighthouse.\n\n", entry) == f"Synopsis: a lighthouse.\n\n{entry}"
    twice = memory_with(memory_with("Synopsis.", entry), entry)
    assert twice == f"Synopsis.\n\n{entry}"  # adding it again changes nothing


def test_passages_found_in_a_real_index_are_cited_by_page_in_a_pdf_and_by_line_in_text(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    write_pdf(docs / "manual.pdf", ["Chapter one is about rope and knots. " * 30,  # a passage or more per page
                                    "Chapter two is about the weather. " * 35 + "The foghorn sounds every thirty seconds."])
    log = "# Log\n\n" + "".join(f"Calm sea on day {i} and no ships.\n\n" for i in range(40)) + "The lamp burned blue.\n"
    (docs / "log.md").write_text(log)
    store = SourceStore(tmp_path / "c.sqlite3")
    store.add_roots([str(docs)])
    index_collection(store, _Quiet())
    foghorn = store.search("foghorn", top=1, mode="keyword")[0]
    lamp = store.search("lamp blue", top=1, mode="keyword")[0]
    store.close()
    assert citation(foghorn) == "manual.pdf, page 2"
    line = log[:log.index(lamp.text)].count("\n") + 1  # where the passage begins in the file
    assert line > 1 and citation(lamp) == f"log.md, line {line}"
    assert quote_block(lamp).endswith(f">\n> The lamp burned blue.\n>\n> — log.md, line {line}")
