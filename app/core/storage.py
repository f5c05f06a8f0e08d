"""Inkling's one SQLite database: conversations as message trees, documents, presets.

WAL mode with ``synchronous=NORMAL``: a committed write survives a killed app
(the OS still has it), and a commit costs well under a millisecond, so the GUI
thread can commit a streaming reply every second. Nothing here ever erases a
message as a side effect: edit and regenerate add siblings; deleting a
conversation is soft until purged, so it can be undone.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.errors import StorageError
from app.core.parts import Part, TextPart, parts_from_json, parts_to_json, plain_text, with_text

SCHEMA_VERSION = 4

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL DEFAULT 'New chat',
        system_prompt TEXT NOT NULL DEFAULT '',
        model_path TEXT NOT NULL DEFAULT '',
        settings TEXT NOT NULL DEFAULT '',
        preset TEXT NOT NULL DEFAULT '',
        draft TEXT NOT NULL DEFAULT '',
        current_leaf INTEGER,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        deleted REAL
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        parent_id INTEGER REFERENCES messages(id),
        role TEXT NOT NULL,
        content TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'done',
        stats TEXT NOT NULL DEFAULT '{}',
        created REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages(conversation_id, parent_id);
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL DEFAULT 'Untitled',
        content TEXT NOT NULL DEFAULT '',
        cursor INTEGER NOT NULL DEFAULT 0,
        settings TEXT NOT NULL DEFAULT '',
        preset TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL,
        updated REAL NOT NULL,
        deleted REAL
    );
    CREATE TABLE revisions (
        id INTEGER PRIMARY KEY,
        document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        content TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE TABLE presets (
        name TEXT PRIMARY KEY,
        settings TEXT NOT NULL,
        updated REAL NOT NULL
    );
    """,
    # 2: a document's memory (notes the model always sees before the text); old documents get none
    2: """
    ALTER TABLE documents ADD COLUMN memory TEXT NOT NULL DEFAULT ''
    """,
    # 3: a message is a list of typed parts (app/core/parts.py), kept as JSON beside its plain text;
    # '' means one text part, the content: every message written before reads back that way
    3: """
    ALTER TABLE messages ADD COLUMN parts TEXT NOT NULL DEFAULT ''
    """,
    # 4: a document's Ask conversation (app/core/ask.py), and a person's own saved instructions
    4: """
    CREATE TABLE ask_turns (
        id INTEGER PRIMARY KEY,
        document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        content TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE INDEX ask_turns_by_document ON ask_turns(document_id);
    CREATE TABLE saved_instructions (
        name TEXT PRIMARY KEY,
        instruction TEXT NOT NULL,
        updated REAL NOT NULL
    )
    """,
}


@dataclass
class MessageRow:
    """One message; ``status`` is done, streaming, stopped or error.

    ``parts`` are its typed parts in order; ``content`` is its plain text, the text parts joined.
    A row made with text only gets one text part.
    """

    id: int
    conversation_id: int
    parent_id: int | None
    role: str
    content: str
    status: str
    stats: dict[str, Any]
    created: float
    parts: tuple[Part, ...] = ()

    def __post_init__(self) -> None:
        if not self.parts and self.content:
            self.parts = (TextPart(self.content),)

    @property
    def text(self) -> str:
        """The plain text: the text parts joined (the same as ``content``)."""
        return self.content

    def set_text(self, text: str) -> None:
        """New plain text (a streaming or ended reply): its text parts replaced, its other parts kept."""
        self.content = text
        self.parts = with_text(self.parts, text)


@dataclass
class ConversationRow:
    id: int
    title: str
    system_prompt: str
    model_path: str
    settings: str
    preset: str
    draft: str
    current_leaf: int | None
    created: float
    updated: float


@dataclass
class DocumentRow:
    id: int
    title: str
    content: str
    cursor: int
    settings: str
    preset: str
    created: float
    updated: float
    memory: str = ""


class Storage:
    """All reads and writes of the database. One connection, used from the GUI thread."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"The database {self.path} could not be opened: {exc}") from None

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            raise StorageError(f"Could not save to {self.path}: {exc}. Is the disk full?") from None

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StorageError(f"{self.path} was written by a newer Inkling (schema {version}); update Inkling.")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self._tx() as db:
                for statement in _MIGRATIONS[target].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version={target}")

    # -- conversations ----------------------------------------------------------

    def create_conversation(self, title: str = "New chat", system_prompt: str = "", model_path: str = "",
                            settings: str = "", preset: str = "") -> ConversationRow:
        now = time.time()
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO conversations (title, system_prompt, model_path, settings, preset, created, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", (title, system_prompt, model_path, settings, preset, now, now))
        conv = self.conversation(int(cur.lastrowid or 0))
        assert conv is not None
        return conv

    def conversation(self, conversation_id: int) -> ConversationRow | None:
        row = self.db.execute("SELECT * FROM conversations WHERE id=? AND deleted IS NULL", (conversation_id,)).fetchone()
        return _conversation(row) if row else None

    def conversations(self, search: str = "") -> list[ConversationRow]:
        """Newest first; ``search`` matches titles and message contents (case-insensitive)."""
        if not search:
            rows = self.db.execute("SELECT * FROM conversations WHERE deleted IS NULL ORDER BY updated DESC").fetchall()
        else:
            like = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            rows = self.db.execute(
                "SELECT * FROM conversations c WHERE deleted IS NULL AND (title LIKE ? ESCAPE '\\' OR EXISTS ("
                " SELECT 1 FROM messages m WHERE m.conversation_id=c.id AND m.content LIKE ? ESCAPE '\\'))"
                " ORDER BY updated DESC", (like, like)).fetchall()
        return [_conversation(r) for r in rows]

    def update_conversation(self, conversation_id: int, **fields: Any) -> None:
        allowed = {"title", "system_prompt", "model_path", "settings", "preset", "draft", "current_leaf"}
        if not fields:
            return
        if set(fields) - allowed:
            raise ValueError(f"unknown conversation fields {set(fields) - allowed}")
        touch = set(fields) != {"draft"}
        sets = ", ".join(f"{k}=?" for k in fields) + (", updated=?" if touch else "")
        values = [*fields.values(), *([time.time()] if touch else []), conversation_id]
        with self._tx() as db:
            db.execute(f"UPDATE conversations SET {sets} WHERE id=?", values)

    def delete_conversation(self, conversation_id: int) -> None:
        """Soft delete: hidden at once, restorable with :meth:`undelete_conversation`."""
        with self._tx() as db:
            db.execute("UPDATE conversations SET deleted=? WHERE id=?", (time.time(), conversation_id))

    def undelete_conversation(self, conversation_id: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE conversations SET deleted=NULL WHERE id=?", (conversation_id,))

    def purge_deleted(self, older_than: float = 0.0) -> None:
        cutoff = time.time() - older_than
        with self._tx() as db:
            for table in ("conversations", "documents"):
                db.execute(f"DELETE FROM {table} WHERE deleted IS NOT NULL AND deleted <= ?", (cutoff,))

    # -- messages -----------------------------------------------------------------

    def add_message(self, conversation_id: int, parent_id: int | None, role: str, content: str = "",
                    status: str = "done", stats: dict[str, Any] | None = None,
                    parts: tuple[Part, ...] | list[Part] | None = None) -> MessageRow:
        """Adds a message made of ``parts`` (its content is then their text) or of ``content`` alone."""
        now = time.time()
        if parts is not None:
            parts = tuple(parts)
            content = plain_text(parts)
        stored_parts = _stored_parts(parts)
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO messages (conversation_id, parent_id, role, content, status, stats, created, updated, parts)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, parent_id, role, content, status, json.dumps(stats or {}), now, now, stored_parts))
            mid = int(cur.lastrowid or 0)
            db.execute("UPDATE conversations SET current_leaf=?, updated=? WHERE id=?", (mid, now, conversation_id))
        return MessageRow(mid, conversation_id, parent_id, role, content, status, stats or {}, now, parts or ())

    def update_message(self, message_id: int, *, content: str | None = None, status: str | None = None,
                       stats: dict[str, Any] | None = None, parts: tuple[Part, ...] | list[Part] | None = None) -> None:
        """Changes a message. New ``content`` alone replaces its text and keeps its other parts."""
        sets, values = ["updated=?"], [time.time()]
        if parts is None and content is not None:
            row = self.db.execute("SELECT parts FROM messages WHERE id=?", (message_id,)).fetchone()
            if row is not None and row["parts"]:  # it has parts besides its text: keep them
                parts = with_text(parts_from_json(row["parts"]), content)
        if parts is not None:
            content = plain_text(parts)
            sets.append("parts=?")
            values.append(_stored_parts(tuple(parts)))
        if content is not None:
            sets.append("content=?")
            values.append(content)
        if status is not None:
            sets.append("status=?")
            values.append(status)
        if stats is not None:
            sets.append("stats=?")
            values.append(json.dumps(stats))
        with self._tx() as db:
            db.execute(f"UPDATE messages SET {', '.join(sets)} WHERE id=?", [*values, message_id])

    def messages(self, conversation_id: int) -> list[MessageRow]:
        rows = self.db.execute("SELECT * FROM messages WHERE conversation_id=? ORDER BY id", (conversation_id,)).fetchall()
        return [_message(r) for r in rows]

    def mark_interrupted_streams(self) -> int:
        """Messages left 'streaming' by a crash or kill become 'stopped' (their text is kept)."""
        with self._tx() as db:
            return db.execute("UPDATE messages SET status='stopped' WHERE status='streaming'").rowcount

    # -- documents ----------------------------------------------------------------

    def create_document(self, title: str = "Untitled", content: str = "") -> DocumentRow:
        now = time.time()
        with self._tx() as db:
            cur = db.execute("INSERT INTO documents (title, content, created, updated) VALUES (?, ?, ?, ?)",
                             (title, content, now, now))
        doc = self.document(int(cur.lastrowid or 0))
        assert doc is not None
        return doc

    def document(self, document_id: int) -> DocumentRow | None:
        row = self.db.execute("SELECT * FROM documents WHERE id=? AND deleted IS NULL", (document_id,)).fetchone()
        return _document(row) if row else None

    def documents(self) -> list[DocumentRow]:
        rows = self.db.execute("SELECT * FROM documents WHERE deleted IS NULL ORDER BY updated DESC").fetchall()
        return [_document(r) for r in rows]

    def update_document(self, document_id: int, **fields: Any) -> None:
        allowed = {"title", "content", "cursor", "settings", "preset", "memory"}
        if set(fields) - allowed:
            raise ValueError(f"unknown document fields {set(fields) - allowed}")
        sets = ", ".join(f"{k}=?" for k in fields)
        with self._tx() as db:
            db.execute(f"UPDATE documents SET {sets}, updated=? WHERE id=?", [*fields.values(), time.time(), document_id])

    def delete_document(self, document_id: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE documents SET deleted=? WHERE id=?", (time.time(), document_id))

    def undelete_document(self, document_id: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE documents SET deleted=NULL WHERE id=?", (document_id,))

    def add_revision(self, document_id: int, content: str) -> int:
        with self._tx() as db:
            cur = db.execute("INSERT INTO revisions (document_id, content, created) VALUES (?, ?, ?)",
                             (document_id, content, time.time()))
        return int(cur.lastrowid or 0)

    def revisions(self, document_id: int) -> list[tuple[int, float, str]]:
        rows = self.db.execute("SELECT id, created, content FROM revisions WHERE document_id=? ORDER BY id DESC",
                               (document_id,)).fetchall()
        return [(r["id"], r["created"], r["content"]) for r in rows]

    # -- a document's Ask conversation, saved instructions ---------------------------

    def add_ask_turn(self, document_id: int, role: str, content: str) -> int:
        with self._tx() as db:
            cur = db.execute("INSERT INTO ask_turns (document_id, role, content, created) VALUES (?, ?, ?, ?)",
                             (document_id, role, content, time.time()))
        return int(cur.lastrowid or 0)

    def ask_turns(self, document_id: int) -> list[tuple[str, str]]:
        """(role, content) of a document's Ask conversation, oldest first."""
        rows = self.db.execute("SELECT role, content FROM ask_turns WHERE document_id=? ORDER BY id",
                               (document_id,)).fetchall()
        return [(r["role"], r["content"]) for r in rows]

    def save_instruction(self, name: str, instruction: str) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO saved_instructions (name, instruction, updated) VALUES (?, ?, ?) ON CONFLICT(name)"
                       " DO UPDATE SET instruction=excluded.instruction, updated=excluded.updated",
                       (name, instruction, time.time()))

    def saved_instructions(self) -> dict[str, str]:
        rows = self.db.execute("SELECT name, instruction FROM saved_instructions ORDER BY name").fetchall()
        return {r["name"]: r["instruction"] for r in rows}

    def delete_instruction(self, name: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM saved_instructions WHERE name=?", (name,))

    # -- presets ------------------------------------------------------------------

    def save_preset(self, name: str, settings: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO presets (name, settings, updated) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE"
                       " SET settings=excluded.settings, updated=excluded.updated", (name, json.dumps(settings), time.time()))

    def presets(self) -> dict[str, dict[str, Any]]:
        rows = self.db.execute("SELECT name, settings FROM presets ORDER BY name").fetchall()
        return {r["name"]: json.loads(r["settings"]) for r in rows}

    def rename_preset(self, old: str, new: str) -> None:
        """Rename a preset and every chat's and document's reference to it, in one transaction."""
        with self._tx() as db:
            db.execute("UPDATE presets SET name=? WHERE name=?", (new, old))
            db.execute("UPDATE conversations SET preset=? WHERE preset=?", (new, old))
            db.execute("UPDATE documents SET preset=? WHERE preset=?", (new, old))

    def delete_preset(self, name: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM presets WHERE name=?", (name,))


def _conversation(r: sqlite3.Row) -> ConversationRow:
    return ConversationRow(r["id"], r["title"], r["system_prompt"], r["model_path"], r["settings"], r["preset"],
                           r["draft"], r["current_leaf"], r["created"], r["updated"])


def _stored_parts(parts: tuple[Part, ...] | None) -> str:
    """The parts column: '' when the message is its text alone (one text part, or none)."""
    if parts is None or (len(parts) <= 1 and all(isinstance(p, TextPart) for p in parts)):
        return ""
    return parts_to_json(parts)


def _message(r: sqlite3.Row) -> MessageRow:
    parts = parts_from_json(r["parts"]) if r["parts"] else ()
    return MessageRow(r["id"], r["conversation_id"], r["parent_id"], r["role"], r["content"], r["status"],
                      json.loads(r["stats"] or "{}"), r["created"], parts)


def _document(r: sqlite3.Row) -> DocumentRow:
    return DocumentRow(r["id"], r["title"], r["content"], r["cursor"], r["settings"], r["preset"], r["created"], r["updated"],
                       r["memory"])

