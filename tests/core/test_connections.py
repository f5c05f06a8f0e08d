"""Connections and capabilities as data: addresses, the 0600 secrets file, overrides, not-applied settings."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from app.core.capabilities import LOCAL, Capabilities
from app.core.connections import (
    Connection,
    ConnectionStore,
    normalise_url,
    parse_remote_ref,
    remote_entries,
    remote_ref,
    scrub,
)
from app.core.errors import InvalidSetting
from app.core.sampling import SamplingSettings


def test_addresses_are_normalised_to_the_api_root() -> None:
    assert normalise_url("http://gpu-box:8000") == "http://gpu-box:8000/v1"
    assert normalise_url("localhost:11434/v1/") == "http://localhost:11434/v1"
    assert normalise_url("https://api.example.com/openai/v1") == "https://api.example.com/openai/v1"
    with pytest.raises(InvalidSetting, match="not an http"):
        normalise_url("ftp://box")
    with pytest.raises(InvalidSetting, match="key field"):
        normalise_url("http://user:sk-secret@box:8000")


def test_remote_references_survive_model_ids_with_slashes_and_colons() -> None:
    ref = remote_ref("ab12", "Qwen/Qwen2.5-32B:latest")
    assert parse_remote_ref(ref) == ("ab12", "Qwen/Qwen2.5-32B:latest")
    assert parse_remote_ref("/models/x.gguf") is None


def test_keys_live_only_in_a_file_the_user_alone_can_read(tmp_path: Path) -> None:
    store = ConnectionStore(tmp_path / "connections.json", tmp_path / "secrets.json")
    conn = Connection.new("box", "http://box:8000", "sk-live-123456", {"X-Token": "tok-abcdef"}, '{"top_a": 0.1}')
    store.save([conn.replace(models=("m1",))])
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600
    public = (tmp_path / "connections.json").read_text()
    assert "sk-live-123456" not in public and "tok-abcdef" not in public
    assert "sk-live-123456" not in repr(conn)
    (loaded,) = store.load()
    assert loaded.api_key == "sk-live-123456" and dict(loaded.headers) == {"X-Token": "tok-abcdef"}
    assert loaded.extra == {"top_a": 0.1} and loaded.models == ("m1",)
    assert remote_entries([loaded])[0].name == "m1 · box"
    assert scrub("bad key sk-live-123456", loaded.secrets) == "bad key •••"


def test_extra_json_must_be_an_object() -> None:
    with pytest.raises(InvalidSetting, match="object"):
        Connection.new("box", "http://box", extra_json="[1, 2]")
    with pytest.raises(InvalidSetting, match="not valid JSON"):
        Connection.new("box", "http://box", extra_json="{oops")


def test_only_settings_the_user_turned_on_are_reported_not_applied() -> None:
    openai = Capabilities(server="openai", samplers=frozenset({"temperature", "top_p", "max_tokens", "seed"}))
    neutral = SamplingSettings(top_k=0, min_p=0.0, repeat_penalty=1.0)
    assert openai.not_applied(neutral) == ()
    assert openai.not_applied(neutral.replace(min_p=0.1, mirostat_mode=2)) == ("min_p", "mirostat_mode")
    assert openai.not_applied(neutral.replace(mirostat_mode=2, mirostat_tau=3.0)) == ("mirostat_mode", "mirostat_tau")
    assert LOCAL.not_applied(SamplingSettings(typical_p=0.3)) == ()


def test_user_overrides_win_over_the_probe_and_say_so() -> None:
    caps = Capabilities(alternatives=False, notes=(("alternatives", "no logprobs here"),))
    assert caps.why_not("alternatives") == "no logprobs here"
    on = caps.overridden({"alternatives": True})
    assert on.alternatives and on.why_not("alternatives") == ""
    off = caps.overridden({"scoring": False})
    assert "Turned off" in off.why_not("scoring")
    assert Capabilities.from_dict(off.to_dict()) == off


def test_the_store_is_the_one_writer_and_announces_add_edit_remove_and_tests(tmp_path: Path) -> None:
    """What the Servers tab asks for, without Qt: every change saved at once and announced once."""
    from app.core.connections import ConnectionsChange

    store = ConnectionStore(tmp_path / "connections.json", tmp_path / "secrets.json")
    heard: list[ConnectionsChange] = []
    store.subscribe(heard.append)
    saved = lambda: ConnectionStore(store.path, store.secrets_path).load()  # noqa: E731 - what a restart reads

    box = store.add("gpu box", "gpu-box:8000", "sk-abcdef", "X-Team: writers", '{"top_a": 0.1}')
    assert saved() == [box] and box.base_url == "http://gpu-box:8000/v1" and box.headers == (("X-Team", "writers"),)
    caps = Capabilities(scoring=False, server="vllm")
    assert store.tested(box, ["m1", "m2"], caps)
    assert saved()[0].models == ("m1", "m2") and store.capabilities[box.id] == caps
    store.override(box.id, "scoring", True)
    assert saved()[0].overrides == (("scoring", True),) and store.capabilities[box.id].scoring

    # an empty key and a header left as ••• keep what was saved; the same address keeps the models
    renamed = store.edit(box.id, "big box", "http://gpu-box:8000/v1", "", "X-Team: •••", '{"top_a": 0.1}')
    assert (renamed.name, renamed.api_key, renamed.headers, renamed.models) == (
        "big box", "sk-abcdef", (("X-Team", "writers"),), ("m1", "m2"))
    assert saved() == [renamed] and box.id in store.capabilities  # nothing that reaches the server changed

    assert store.test_failed(renamed, "can't connect")
    assert store.failures == {box.id: "can't connect"}
    with pytest.raises(InvalidSetting, match="Name: value"):
        store.edit(box.id, "x", "gpu-box:8000", headers="no colon here")
    store.remove(box.id)
    assert saved() == [] and store.connections == [] and not store.failures and not store.capabilities
    assert [c.kind for c in heard] == ["added", "tested", "edited", "edited", "test_failed", "removed"]
    assert {c.id for c in heard} == {box.id}


def test_a_test_that_ends_after_its_connection_moved_to_another_server_is_dropped(tmp_path: Path) -> None:
    """Models listed by the old address never land on the new one; a result for a removed one changes nothing."""
    store = ConnectionStore(tmp_path / "connections.json", tmp_path / "secrets.json")
    first = store.add("box", "http://old-box:8000")
    moved = store.edit(first.id, "box", "http://new-box:8000")
    assert not store.tested(first, ["old-model"], LOCAL)
    assert not store.test_failed(first, "refused")
    assert store.get(first.id).models == () and not store.failures and first.id not in store.capabilities
    assert store.tested(moved, ["new-model"], LOCAL) and store.get(first.id).models == ("new-model",)
    store.remove(first.id)
    assert not store.tested(moved, ["new-model"], LOCAL) and store.connections == []


def test_a_connection_that_cannot_be_saved_changes_nothing(tmp_path: Path) -> None:
    from app.core.errors import StorageError

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    store = ConnectionStore(blocker / "connections.json", blocker / "secrets.json")
    heard: list[object] = []
    store.subscribe(heard.append)
    with pytest.raises(StorageError, match="Could not save the connections"):
        store.add("box", "http://box:8000")
    assert store.connections == [] and heard == []
