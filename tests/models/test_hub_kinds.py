"""Finding embedding models and LoRA adapters on the (fake) Hub: the Kind choice, downloads, and where each goes.

The fake Hub on 127.0.0.1 filters as the Hub does (``filter`` tags and ``pipeline_tag``, ANDed);
the files it serves are real GGUFs the tests write (tests/models/kind_files.py). The embedding
model is the starter model's weights with mean pooling named in its header, so llama.cpp
really embeds with it once "Use for sources" chose it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest
from models.conftest import TINY
from models.fake_hub import FakeFile, FakeHub, FakeRepo
from models.kind_files import embedding_header, embedding_model, lora_header

from app.core.gguf import read_header
from app.core.paths import app_paths
from app.core.storage import Storage
from app.models.hub import HubClient
from app.models.library import ModelLibrary, describe
from app.models.manager import ModelManager

NOMIC = "nomic-ai/nomic-embed-text-v1.5-GGUF"
MINILM = "second-state/All-MiniLM-L6-v2-Embedding-GGUF"
WRITER = "ggml-org/SmolLM2-writer-LoRA-GGUF"
POETRY = "someone/TinyLlama-poetry-LoRA-GGUF"


@pytest.fixture(scope="module")
def kind_files(tmp_path_factory: pytest.TempPathFactory, starter_path: Path) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("kind-files")
    base = read_header(starter_path)
    return {
        "nomic": embedding_model(starter_path, folder / "nomic-embed-text-v1.5.Q4_1.gguf", "nomic-embed-text-v1.5"),
        "minilm": embedding_header(folder / "all-MiniLM-L6-v2-Q8_0.gguf"),
        "writer": lora_header(folder / "SmolLM2-writer-lora-F16.gguf", base.name, base.layers, base.embedding_length),
        "poetry": lora_header(folder / "TinyLlama-poetry-lora-F16.gguf", "Tinyllama 1.1B Chat", 22, 2048),
    }


@pytest.fixture
def kinds_hub(kind_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def repo(repo_id: str, key: str, downloads: int, tags: list[str], pipeline: str) -> FakeRepo:
        return FakeRepo(repo_id, [FakeFile(kind_files[key].name, source=kind_files[key])], downloads=downloads,
                        tags=tags, pipeline_tag=pipeline)

    repos = [
        FakeRepo("TestOrg/Tiny-GGUF", [FakeFile("tiny-Q4_K_M.gguf", data=TINY)], downloads=100),
        repo(NOMIC, "nomic", 900, ["gguf", "sentence-transformers", "nomic-bert"], "sentence-similarity"),
        repo(MINILM, "minilm", 300, ["gguf", "bert"], "feature-extraction"),
        repo(WRITER, "writer", 50, ["gguf", "lora", "llama-cpp"], "text-generation"),
        repo(POETRY, "poetry", 20, ["gguf", "gguf-my-lora", "llama-cpp"], "text-generation"),
    ]
    with FakeHub(repos) as fake:
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        monkeypatch.setenv("INKLING_HOME", str(tmp_path / "home"))  # the indexing child reads the choice there
        yield fake


def _pane(qtbot, tmp_path: Path):
    from app.ui.models.models_pane import ModelsPane

    paths = app_paths().ensure()
    manager = ModelManager(ModelLibrary(paths.models), HubClient())
    pane = ModelsPane(manager, Storage(tmp_path / "db.sqlite"), lambda *_a: [], lambda: 2048)
    qtbot.addWidget(pane)
    pane.tabs.setCurrentWidget(pane.hub_tab)
    return pane, paths


def _search(qtbot, pane, kind: str, query: str = "") -> list[str]:
    pane.set_kind(kind)
    pane.search_input.setText(query)
    with qtbot.waitSignal(pane.search_finished, timeout=20_000):
        pane.search_button.click()
    return [pane.results_view.item(i).text().split()[0] for i in range(pane.results_view.count())]


def _download(qtbot, pane, repo_id: str):
    rows = [pane.results_view.item(i).text().split()[0] for i in range(pane.results_view.count())]
    with qtbot.waitSignal(pane.files_shown, timeout=20_000):
        pane.results_view.setCurrentRow(rows.index(repo_id))
    pane.files_view.setCurrentItem(pane.files_view.topLevelItem(0))
    with qtbot.waitSignal(pane.download_finished, timeout=60_000) as finished:
        pane.download_button.click()
    download = finished.args[0]
    assert download.status == "done", download.error
    return download


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_kind_choice_searches_chat_models_embedding_models_or_adapters(kinds_hub: FakeHub) -> None:
    hub = HubClient()
    assert [r.repo_id for r in hub.search("", kind="embedding")] == [NOMIC, MINILM]  # both pipeline tags, by downloads
    assert [r.repo_id for r in hub.search("", kind="adapter")] == [WRITER, POETRY]  # both adapter tags
    assert [r.repo_id for r in hub.search("", kind="chat")] == ["TestOrg/Tiny-GGUF"]  # neither embedders nor LoRAs
    assert [r.repo_id for r in hub.search("minilm", kind="embedding")] == [MINILM]
    assert [r.repo_id for r in hub.search("", sort="likes", kind="adapter")] == [WRITER, POETRY]
    assert {r.kind for r in hub.search("", kind="embedding")} == {"embedding"}


def test_the_library_tells_embedding_models_and_adapters_from_chat_models(
        qtbot, kind_files: dict[str, Path], starter_path: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QStandardItem, QStandardItemModel

    from app.core.model_list import ModelList
    from app.ui.model_list_model import ComparableModels, ModelListModel, selector_model

    entries = [describe(starter_path), *(describe(kind_files[k]) for k in ("nomic", "minilm", "writer"))]
    assert [(e.kind, e.error) for e in entries] == [("chat", ""), ("embedding", ""), ("embedding", ""), ("adapter", "")]
    # the chat model selector lists them, but a click can't make an embedding model or an adapter the chat's model
    rows, extras = ModelListModel(ModelList(entries)), QStandardItemModel()  # kept alive: the proxy doesn't own them
    extras.appendRow(QStandardItem("Open a GGUF file…"))  # as the window's selector has
    selector = selector_model(rows, extras)
    enabled = [bool(selector.flags(selector.index(row, 0)) & Qt.ItemFlag.ItemIsEnabled) for row in range(4)]
    assert enabled == [True, False, False, False]
    assert "embedding model" in selector.index(1, 0).data()
    comparable = ComparableModels()  # Compare scores text: only chat models are offered
    comparable.setSourceModel(rows)
    assert [comparable.entry(r).kind for r in range(comparable.rowCount())] == ["chat"]


@pytest.mark.model
def test_an_embedding_model_from_the_hub_is_downloaded_verified_and_used_for_indexing_and_questions(
        qtbot, kinds_hub: FakeHub, kind_files: dict[str, Path], tmp_path: Path) -> None:
    from app.core.sources.chat_sources import ChatSources
    from app.core.sources.collections import Collections
    from app.core.sources.embedding_choice import chosen_spec
    from app.core.sources.indexer import INDEX_JOB, index_args
    from app.engine.embedding import make_embedder
    from app.engine.jobs import start_job

    pane, paths = _pane(qtbot, tmp_path)
    assert _search(qtbot, pane, "embedding") == [NOMIC, MINILM]  # only embedding repos, no chat catalog
    download = _download(qtbot, pane, NOMIC)
    dest = Path(download.dest)
    assert dest == paths.models / "nomic-ai" / "nomic-embed-text-v1.5-GGUF" / kind_files["nomic"].name
    assert _sha(dest) == _sha(kind_files["nomic"])  # verified against the Hub's sha256, then renamed into place
    qtbot.waitUntil(lambda: any(e.path == str(dest) and e.kind == "embedding" for e in pane.entries), timeout=10_000)
    assert not pane.use_for_sources_button.isHidden()
    qtbot.waitUntil(pane.use_for_sources_button.isEnabled, timeout=5_000)

    with qtbot.waitSignal(pane.embedding_choice_changed, timeout=5_000):
        pane.use_for_sources_button.click()
    wanted = {"kind": "llama", "model": str(dest), "pooling": "model"}
    assert chosen_spec() == wanted  # what the indexer reads
    assert "nomic-embed-text" in pane.embedding_picker.combo.currentText()

    # the real consumers: a collection indexed in its own process embeds with it, and questions use the same spec
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tower.txt").write_text("At nightfall the guardian climbs up and ignites the beacon.\n")
    (docs / "bread.txt").write_text("Flour, water, salt and yeast make a dough that needs hours to rise.\n")
    collections = Collections(paths.sources)
    store = collections.open("notes", create=True)
    store.add_roots([str(docs)])
    store.close()
    report = start_job(INDEX_JOB, index_args(str(collections.path_of("notes")))).result(120)
    assert report["phase"] == "done"
    store = collections.open("notes")
    assert json.loads(store.get_meta("embedder_spec")) == wanted
    assert dest.name in store.get_meta("embedder")
    counts = store.counts()
    store.close()
    assert counts["vectors"] == counts["chunks"] >= 2

    asked: list[dict] = []

    def query_embedder(spec: dict):
        asked.append(spec)
        return make_embedder(spec)

    sources = ChatSources(collections, paths.config / "chat-sources.json")
    sources.query_embedder = query_embedder
    sources.search(["notes"], "When does the keeper light the lamp?")
    assert asked == [wanted]


@pytest.mark.model
def test_a_lora_from_the_hub_lands_in_the_adapters_folder_and_a_wrong_base_one_is_refused(
        qtbot, kinds_hub: FakeHub, kind_files: dict[str, Path], tmp_path: Path, starter_path: Path) -> None:
    from app.core.errors import AdapterError
    from app.core.events import LoadOptions
    from app.engine.client import EngineClient
    from app.ui.sampling.adapter_box import AdapterPicker

    pane, paths = _pane(qtbot, tmp_path)
    assert _search(qtbot, pane, "adapter") == [WRITER, POETRY]
    assert pane.use_for_sources_button.isHidden()
    writer = Path(_download(qtbot, pane, WRITER).dest)
    poetry = Path(_download(qtbot, pane, POETRY).dest)
    adapters = paths.models / "adapters"
    assert (writer, poetry) == (adapters / kind_files["writer"].name, adapters / kind_files["poetry"].name)
    assert _sha(writer) == _sha(kind_files["writer"])

    # the Sampling panel's Adapter box (the window gives it this folder) lists both
    picker = AdapterPicker(adapters)
    qtbot.addWidget(picker)
    picker.refill()
    assert picker.combo.findData(str(writer)) >= 0 and picker.combo.findData(str(poetry)) >= 0

    # the one made for another base model is refused by the engine with the reason, before llama.cpp sees it
    client = EngineClient(log_path=tmp_path / "engine.log")
    try:
        client.load(starter_path, LoadOptions(n_ctx=512))
        with pytest.raises(AdapterError) as refused:
            client.set_adapter(poetry, 1.0)
        assert "made for 'Tinyllama 1.1B Chat'" in str(refused.value)
        assert client.adapter is None
    finally:
        client.close()


def test_a_late_file_listing_for_the_repo_chosen_before_is_dropped(
        qtbot, kinds_hub: FakeHub, kind_files: dict[str, Path], tmp_path: Path) -> None:
    """A LoRA's listing that comes after an embedding model was chosen must not replace it: shown under the
    embedding kind, a download of the LoRA would go to models/<owner>/<repo>/, not the adapters folder."""
    pane, _paths = _pane(qtbot, tmp_path)
    held = threading.Event()
    kinds_hub.repos[WRITER].hold = held  # the Hub is slow to answer for the LoRA
    answered = threading.Event()
    real = pane.manager.repo_files

    def repo_files(repo_id: str):  # type: ignore[no-untyped-def]
        try:
            return real(repo_id)  # the real listing, from the fake Hub
        finally:
            if repo_id == WRITER:
                answered.set()

    pane.manager.repo_files = repo_files
    try:
        pane.show_repo(WRITER, "adapter")
        with qtbot.waitSignal(pane.files_shown, timeout=20_000):
            pane.show_repo(NOMIC, "embedding")  # chosen while the LoRA's listing is on its way
    finally:
        held.set()
    assert answered.wait(20)
    qtbot.wait(1000)  # the late answer reaches the window's thread (a queued call, right after it returned)
    assert pane.repo_files.repo_id == NOMIC and pane.repo_kind == "embedding"
    assert pane.files_view.topLevelItem(0).child(0).text(0) == kind_files["nomic"].name
    assert NOMIC in pane.repo_label.text() and WRITER not in pane.repo_label.text()
    assert not pane.use_for_sources_button.isHidden()
