"""PresetStore over a real SQLite file: built-in and user presets, validated import and export. No Qt."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.errors import InvalidSetting
from app.core.presets import PresetImportError, PresetStore
from app.core.sampling import BUILTIN_PRESETS, SamplingSettings
from app.core.storage import Storage


@pytest.fixture
def db(tmp_path: Path) -> Storage:
    storage = Storage(tmp_path / "inkling.db")
    yield storage
    storage.close()


def test_built_in_presets_are_listed_first_and_cannot_be_changed(db: Storage) -> None:
    store = PresetStore(db)
    store.save("Mine", SamplingSettings(temperature=0.4))
    assert list(store.all())[: len(BUILTIN_PRESETS)] == [p.name for p in BUILTIN_PRESETS]
    for change in (lambda: store.save("Balanced", SamplingSettings()), lambda: store.rename("Precise", "X"),
                   lambda: store.delete("Creative"), lambda: store.rename("Mine", "Balanced")):
        with pytest.raises(InvalidSetting, match="built-in"):
            change()
    with pytest.raises(InvalidSetting):
        store.save("   ", SamplingSettings())


def test_user_presets_save_rename_delete_and_survive_a_restart(db: Storage) -> None:
    store = PresetStore(db)
    assert store.save(" House style ", SamplingSettings(min_p=0.2)) == "House style"
    store.save("Other", SamplingSettings())
    with pytest.raises(InvalidSetting, match="already"):
        store.rename("House style", "Other")
    store.rename("House style", "Studio")
    store.delete("Other")
    again = PresetStore(Storage(db.path))
    assert again.get("Studio") == SamplingSettings(min_p=0.2)
    assert again.get("House style") is None and again.get("Other") is None


def test_export_then_import_into_another_database_round_trips(db: Storage, tmp_path: Path) -> None:
    store = PresetStore(db)
    store.save("Poetry", SamplingSettings(temperature=1.2, stop=("###",), seed=9))
    text = store.export_json()
    assert json.loads(text)["format"] == "inkling-presets" and "Balanced" not in json.loads(text)["presets"]
    other = PresetStore(Storage(tmp_path / "other.db"))
    assert other.import_json(text) == ["Poetry"]
    assert other.get("Poetry") == SamplingSettings(temperature=1.2, stop=("###",), seed=9)


@pytest.mark.parametrize("text, reason", [
    ("{not json", "not valid JSON"),
    (json.dumps({"format": "something-else", "presets": {"A": {}}}), "not an Inkling presets file"),
    (json.dumps({"presets": {}}), "no presets"),
    (json.dumps({"presets": {"Hot": {"temperature": 5}}}), "temperature must be between"),
    (json.dumps({"presets": {"Typo": {"temprature": 0.5}}}), "unknown sampling settings"),
    (json.dumps({"presets": {"Balanced": {"temperature": 0.5}}}), "built-in"),
    (json.dumps({"presets": {"List": [1, 2]}}), "not a set of settings"),
    (json.dumps([1, 2, 3]), "no presets"),
])
def test_a_bad_presets_file_is_refused_with_a_typed_error_and_nothing_is_saved(db: Storage, text: str,
                                                                                reason: str) -> None:
    store = PresetStore(db)
    good_and_bad = json.loads(text) if text.startswith("{\"presets\"") else None
    if good_and_bad and good_and_bad["presets"]:  # one good preset beside the bad one: the file is taken whole or not at all
        good_and_bad["presets"] = {"Good": {"temperature": 0.3}, **good_and_bad["presets"]}
        text = json.dumps(good_and_bad)
    with pytest.raises(PresetImportError, match=reason):
        store.import_json(text)
    assert set(store.all()) == {p.name for p in BUILTIN_PRESETS}


def test_a_user_preset_that_no_longer_validates_is_left_out_not_fatal(db: Storage) -> None:
    db.save_preset("Broken", {"temperature": 99})
    db.save_preset("Fine", {"temperature": 0.5})
    store = PresetStore(db)
    assert "Broken" not in store.all() and store.get("Fine") == SamplingSettings(temperature=0.5)


def test_sessions_and_presets_import_without_qt() -> None:
    code = ("import sys, app.core.chat_session, app.core.document_session, app.core.presets; "
            "print(any(m.split('.')[0] in ('PySide6', 'shiboken6') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "False"


def test_settings_saved_without_a_preset_name_are_named_after_the_preset_they_equal(tmp_path: Path) -> None:
    store = PresetStore(Storage(tmp_path / "inkling.db"))
    balanced = store.get("Balanced")
    assert store.resolve(json.dumps(balanced.to_dict()), "") == (balanced, "Balanced")
    own = balanced.replace(temperature=1.7)
    assert store.resolve(json.dumps(own.to_dict()), "") == (own, "")  # really its own settings: no name
    assert store.resolve("", "") == (balanced, "Balanced")  # a new item: the default preset, by name


def test_every_change_is_announced_and_a_rename_follows_into_chats_and_documents(db: Storage) -> None:
    from app.core.presets import PresetChange

    store = PresetStore(db)
    heard: list[PresetChange] = []
    store.subscribe(heard.append)
    store.save("Mine", SamplingSettings(temperature=0.4))
    chat = db.create_conversation(title="c", preset="Mine")
    doc = db.create_document("d")
    db.update_document(doc.id, preset="Mine")
    other = db.create_conversation(title="o", preset="Balanced")
    store.rename("Mine", "Ours")
    assert db.conversation(chat.id).preset == "Ours" and db.document(doc.id).preset == "Ours"
    assert db.conversation(other.id).preset == "Balanced"
    store.import_json(json.dumps({"presets": {"A": {"temperature": 0.1}, "B": {"temperature": 0.2}}}))
    store.delete("Ours")
    with pytest.raises(InvalidSetting):
        store.delete("Balanced")  # refused: nothing changed, nothing announced
    assert heard == [PresetChange("saved", ("Mine",)), PresetChange("renamed", ("Ours",), "Mine"),
                     PresetChange("saved", ("A", "B")), PresetChange("deleted", ("Ours",))]
