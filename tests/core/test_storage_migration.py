"""A database written by the first schema opens in this Inkling, keeps its documents, and gains memory."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from app.core import storage as storage_module
from app.core.storage import SCHEMA_VERSION, Storage


def _old_database(path: Path) -> None:
    """Exactly what Inkling's schema 1 wrote: its CREATE statements, user_version 1, two documents."""
    db = sqlite3.connect(str(path), isolation_level=None)
    for statement in storage_module._MIGRATIONS[1].split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute("PRAGMA user_version=1")
    db.execute("INSERT INTO documents (title, content, cursor, settings, preset, created, updated)"
               " VALUES ('Keeper', 'The lamp burned all night.', 5, '', '', 1.0, 2.0)")
    db.execute("INSERT INTO documents (title, content, cursor, settings, preset, created, updated)"
               " VALUES ('Harbour', 'Boats came in at dawn.', 0, '', '', 1.0, 3.0)")
    db.execute("INSERT INTO revisions (document_id, content, created) VALUES (1, 'The lamp burned.', 1.5)")
    db.close()


def test_an_old_database_opens_keeps_its_documents_and_gains_an_empty_memory(tmp_path: Path) -> None:
    path = tmp_path / "inkling.db"
    _old_database(path)
    storage = Storage(path)
    try:
        assert storage.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        docs = {d.title: d for d in storage.documents()}
        assert set(docs) == {"Keeper", "Harbour"}
        assert docs["Keeper"].content == "The lamp burned all night." and docs["Keeper"].cursor == 5
        assert docs["Keeper"].memory == "" and docs["Harbour"].memory == ""
        assert storage.revisions(docs["Keeper"].id)[0][2] == "The lamp burned."
        storage.update_document(docs["Keeper"].id, memory="A keeper, alone.")
    finally:
        storage.close()
    again = Storage(path)  # and the migrated file opens again without migrating twice
    try:
        assert {d.title: d.memory for d in again.documents()} == {"Keeper": "A keeper, alone.", "Harbour": ""}
    finally:
        again.close()


def _schema_2_database(path: Path) -> None:
    """Exactly what Inkling's schema 2 wrote: its CREATE and ALTER statements, user_version 2, one chat."""
    db = sqlite3.connect(str(path), isolation_level=None)
    for version in (1, 2):
        for statement in storage_module._MIGRATIONS[version].split(";"):
            if statement.strip():
                db.execute(statement)
    db.execute("PRAGMA user_version=2")
    db.execute("INSERT INTO conversations (title, created, updated) VALUES ('Lighthouse', 1.0, 2.0)")
    db.execute("INSERT INTO messages (conversation_id, parent_id, role, content, status, stats, created, updated)"
               " VALUES (1, NULL, 'user', 'Who keeps the lamp?', 'done', '{}', 1.0, 1.0)")
    db.execute("INSERT INTO messages (conversation_id, parent_id, role, content, status, stats, created, updated)"
               " VALUES (1, 1, 'assistant', 'The **keeper** does.', 'done', '{\"tokens\": 5}', 1.5, 1.5)")
    db.close()


def test_old_messages_read_back_as_one_text_part_each_and_new_ones_keep_their_parts(tmp_path: Path) -> None:
    from app.core.parts import CitationPart, TextPart, ThinkingPart, ToolCallPart

    path = tmp_path / "inkling.db"
    _schema_2_database(path)
    storage = Storage(path)
    try:
        assert storage.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 3
        old = storage.messages(1)
        assert [m.parts for m in old] == [(TextPart("Who keeps the lamp?"),), (TextPart("The **keeper** does."),)]
        assert [m.text for m in old] == ["Who keeps the lamp?", "The **keeper** does."]
        assert old[1].stats == {"tokens": 5}
        parts = (ThinkingPart("They asked about the lamp."), ToolCallPart("lookup", '{"q": "keeper"}', "c1"),
                 TextPart("Mr. Weir."), CitationPart("Harbour log", "log.txt", "Weir, keeper"))
        new = storage.add_message(1, 2, "assistant", parts=parts)
        assert new.content == "Mr. Weir." and new.parts == parts
        storage.update_message(new.id, content="Mr. Weir, since 1901.")  # streaming text keeps the other parts
    finally:
        storage.close()
    again = Storage(path)
    try:
        back = again.messages(1)[-1]
        assert back.content == back.text == "Mr. Weir, since 1901."
        assert back.parts == (parts[0], parts[1], TextPart("Mr. Weir, since 1901."), parts[3])
        assert [m.parts for m in again.messages(1)[:2]] == [(TextPart("Who keeps the lamp?"),),
                                                          (TextPart("The **keeper** does."),)]
    finally:
        again.close()
