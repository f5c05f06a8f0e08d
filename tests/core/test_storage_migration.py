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
