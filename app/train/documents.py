"""What a person trains on: text files, Write's own documents, a source collection's indexed text.

A choice is a small picklable ``TextSource`` (a file's path; a Write document's id in the
app's database; a collection's name in the sources folder). The training job reads them in
its own process with ``gather`` (so the window never waits on a large collection), and every
kind ends as plain texts that go through the one path files take: paragraphs into passages,
whole passages held out for validation (``data.split_passages``).

A collection keeps no copy of its files, only its indexed passages, which overlap a little
(``app/core/sources/chunking.py``); ``collection_texts`` stitches each file's passages back
into its text at their recorded offsets, so an overlap is not trained on twice.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import InklingError, TrainingError
from app.train.data import read_documents


@dataclass(frozen=True)
class TextSource:
    """One chosen source of text: ``kind`` is "file", "write" or "collection"."""

    kind: str
    ref: str  # the file's path, the document's id, the collection's name
    label: str  # what a person sees in the list and the training record
    where: str = ""  # the app's database (write) or the sources folder (collection)

    @staticmethod
    def file(path: str | Path) -> TextSource:
        return TextSource("file", str(path), str(path))

    @staticmethod
    def write(database: str | Path, document_id: int, title: str) -> TextSource:
        return TextSource("write", str(document_id), f"Write: {title}", str(database))

    @staticmethod
    def collection(folder: str | Path, name: str) -> TextSource:
        return TextSource("collection", name, f"Collection: {name}", str(folder))


def write_documents(database: str | Path) -> list[tuple[int, str]]:
    """(id, title) of Write's documents, most recently changed first; none if there is no database yet."""
    from app.core.storage import Storage

    if not Path(database).is_file():
        return []
    storage = Storage(database)
    try:
        return [(d.id, d.title) for d in storage.documents()]
    finally:
        storage.close()


def write_text(database: str | Path, document_id: int) -> str:
    """The saved text of one Write document (Write saves within a second of the last keystroke)."""
    from app.core.storage import Storage

    storage = Storage(database)
    try:
        doc = storage.document(int(document_id))
    finally:
        storage.close()
    if doc is None:
        raise TrainingError(f"The Write document #{document_id} is gone (deleted?); choose the documents again.")
    return doc.content


def find_write_document(database: str | Path, title: str) -> TextSource:
    """The Write document titled ``title`` (the most recently changed one if several share it)."""
    docs = write_documents(database)
    for doc_id, doc_title in docs:
        if doc_title == title:
            return TextSource.write(database, doc_id, doc_title)
    known = ", ".join(repr(t) for _, t in docs[:10]) or "none yet"
    raise TrainingError(f"There is no Write document titled {title!r} (documents: {known}).")


def collection_names(folder: str | Path) -> list[str]:
    from app.core.sources.collections import Collections

    return Collections(Path(folder)).names()


def collection_texts(folder: str | Path, name: str) -> list[str]:
    """Each indexed file's text, stitched from its passages; ``TrainingError`` for an unknown or empty collection."""
    from app.core.sources.collections import Collections

    try:
        store = Collections(Path(folder)).open(name)
    except InklingError as exc:
        raise TrainingError(str(exc)) from None
    try:
        # the store's own table of passages: (file, order, start offset, first line, text)
        rows = store.db.execute(
            "SELECT f.path, c.start, c.line, c.text FROM chunks c JOIN files f ON f.id = c.file_id "
            "WHERE f.state = 'done' ORDER BY f.path, c.ord").fetchall()
    except sqlite3.Error as exc:
        raise TrainingError(f"The collection {name!r} can't be read ({exc}); index it again.") from None
    finally:
        store.close()
    texts: list[str] = []
    current, parts, covered, line = None, [], 0, 0  # covered: where the text so far ends; line: its last line
    for path, start, first_line, passage in rows:
        if path != current:
            if parts:
                texts.append("".join(parts))
            current, parts, covered, line = path, [], 0, first_line
        if parts and start < covered:  # an overlap: keep only what the passage adds
            piece = passage[covered - start:]
        elif parts:  # blank space between passages: a paragraph break, a line break or a space
            gap = first_line - line
            piece = ("\n\n" if gap > 1 else "\n" if gap == 1 else " ") + passage
        else:
            piece = passage
        parts.append(piece)
        covered = max(covered, start + len(passage))
        line = max(line, first_line + passage.count("\n"))
    if parts:
        texts.append("".join(parts))
    if not any(t.strip() for t in texts):
        raise TrainingError(f"The collection {name!r} has no indexed text yet: add files to it (or let its "
                            "indexing finish), then train again.")
    return texts


def gather(sources: list[dict[str, str]] | list[TextSource]) -> list[str]:
    """The texts of every chosen source, in order; a ``TrainingError`` naming the one that can't be read."""
    texts: list[str] = []
    for s in sources:
        src = s if isinstance(s, TextSource) else TextSource(**s)
        if src.kind == "file":
            texts.extend(read_documents([src.ref]))
        elif src.kind == "write":
            texts.append(write_text(src.where, int(src.ref)))
        elif src.kind == "collection":
            texts.extend(collection_texts(src.where, src.ref))
        else:
            raise TrainingError(f"{src.label}: not a kind of text training knows ({src.kind!r}).")
    return texts
