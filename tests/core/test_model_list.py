"""The one model list, without Qt: local and remote entries, and exactly what changed announced once."""

from __future__ import annotations

from app.core.connections import Connection, remote_entries
from app.core.model_list import ModelList, ModelListChange
from app.core.ports import ModelEntry

A = ModelEntry("/m/a.gguf", "a", 10)
B = ModelEntry("/m/b.gguf", "b", 20)
B_BROKEN = ModelEntry("/m/b.gguf", "b", 20, error="truncated")


def test_scans_and_servers_feed_one_list_that_announces_only_what_changed() -> None:
    models = ModelList()
    heard: list[ModelListChange] = []
    models.subscribe(heard.append)
    assert models.set_local([A]) == ModelListChange(added=(A,), removed=())
    assert models.set_local([A]) is None  # the same scan again: nothing to redraw
    server = Connection("c1", "box", "http://box:8000/v1", models=("llama-3",))
    (remote,) = remote_entries([server])
    models.set_remote([remote])
    models.set_local([A, B])
    assert models.entries == [A, B, remote] and models.local == [A, B]
    assert models.get(remote.path) == remote and models.get("/m/none.gguf") is None
    models.set_local([A, B_BROKEN])  # the file changed under us: it leaves and comes back
    models.set_remote([])
    assert heard == [ModelListChange((A,), ()), ModelListChange((remote,), ()), ModelListChange((B,), ()),
                     ModelListChange((B_BROKEN,), (B,)), ModelListChange((), (remote,))]
    models.unsubscribe(heard.append)
    models.set_local([])
    assert len(heard) == 5 and models.entries == []
