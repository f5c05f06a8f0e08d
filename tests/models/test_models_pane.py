"""The Models pane, driven like a person: search the (fake) Hub, download, chat with the new model."""

from __future__ import annotations

from pathlib import Path

import pytest
from long_reply import forced
from models.fake_hub import FakeHub
from PySide6.QtCore import QCoreApplication, QThreadPool
from ui.conftest import open_window, send

from app.core.sampling import SamplingSettings


@pytest.fixture
def window(qtbot, hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    win = open_window(qtbot, tmp_path / "home", monkeypatch)
    yield win
    win.close()


def test_search_pick_a_quantization_download_and_chat_with_it(qtbot, window) -> None:
    pane = window.models
    window.tabs.setCurrentWidget(pane)
    pane.tabs.setCurrentIndex(1)
    catalog_rows = pane.results_view.count()
    assert catalog_rows >= 5  # the curated catalog comes first
    pane.search_input.setText("smollm2")
    with qtbot.waitSignal(pane.search_finished, timeout=20_000):
        pane.search_button.click()
    assert pane.results_view.count() == catalog_rows + 1
    with qtbot.waitSignal(pane.files_shown, timeout=20_000):
        pane.results_view.setCurrentRow(catalog_rows)
    quants = [pane.files_view.topLevelItem(i).text(0) for i in range(pane.files_view.topLevelItemCount())]
    assert quants == ["Q8_0", "Q4_1"]  # smallest first
    assert all("fits" in pane.files_view.topLevelItem(i).text(2) for i in range(2))
    pane.select_quant("Q4_1")
    with qtbot.waitSignal(pane.download_finished, timeout=60_000) as finished:
        pane.download_button.click()
    download = finished.args[0]
    assert download.status == "done", download.error
    assert "Done" in pane.downloads_view.status_of(download.id)
    qtbot.waitUntil(lambda: window.model_selector.findData(download.dest) >= 0, timeout=10_000)
    assert any(e.path == download.dest for e in pane.entries)

    # the new model is chosen from the selector and answers
    index = window.model_selector.findData(download.dest)
    window.model_selector.setCurrentIndex(index)
    window.model_selector.activated.emit(index)
    qtbot.waitUntil(lambda: window.bridge.info is not None and window.bridge.info.path == download.dest, timeout=30_000)
    window.tabs.setCurrentWidget(window.chat)
    window.chat.set_sampling(forced(SamplingSettings(temperature=0.0, max_tokens=16)))
    fin = send(qtbot, window, "Say hello.")
    assert fin.reason in ("stop", "length") and fin.text.strip()


def test_hub_errors_show_in_the_pane_not_as_a_crash(qtbot, window) -> None:
    pane = window.models
    pane.show_repo("secret/private-GGUF")
    qtbot.waitUntil(lambda: "⚠" in pane.repo_label.text(), timeout=20_000)
    assert "log" in pane.repo_label.text()


def test_offline_mode_is_shown_as_a_state(qtbot, window, hub: FakeHub, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    asked = len(hub.behaviour.requests)
    pane = window.models
    pane._show_offline_state()
    assert not pane.offline_label.isHidden() and "Offline mode" in pane.offline_label.text()
    assert not pane.search_button.isEnabled()
    asked_manager: list[str] = []
    real_search = pane.manager.search
    monkeypatch.setattr(pane.manager, "search", lambda *a: asked_manager.append(a[0]) or real_search(*a))
    pane.search()  # nothing happens, no error storm
    QThreadPool.globalInstance().waitForDone(10_000)  # a search started by mistake would have ended by now
    QCoreApplication.processEvents()  # and told the pane
    # the Hub client refuses too (and huggingface_hub under it), so only this tells that the pane's own
    # guard held: no background search was started at all
    assert asked_manager == [], "the pane started a Hub search in offline mode"
    assert window.presenter.shown == []
    assert "⚠" not in pane.repo_label.text() and not pane.search_button.isEnabled()
    assert hub.behaviour.requests[asked:] == []  # offline means not asking the Hub at all


def test_library_lists_imports_and_flags_a_corrupt_file(qtbot, window, tmp_path: Path, starter_path: Path) -> None:
    pane = window.models
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(starter_path.read_bytes()[:1_000_000])
    good = tmp_path / "copy-me.gguf"
    good.write_bytes(starter_path.read_bytes())
    pane.ask_copy = lambda _path: True
    pane.import_files([good])
    qtbot.waitUntil(lambda: any(Path(e.path).name == "copy-me.gguf" for e in pane.entries), timeout=10_000)
    pane.ask_copy = lambda _path: False
    window.library.add_folder(tmp_path)
    pane.refresh_library()
    qtbot.waitUntil(lambda: any(Path(e.path).name == "broken.gguf" for e in pane.entries), timeout=10_000)
    broken = next(e for e in pane.entries if Path(e.path).name == "broken.gguf")
    assert "truncated" in broken.error
    row = pane.entries.index(broken)
    assert pane.library_view.model().index(row, 7).data().startswith("⚠")
    copied = next(e for e in pane.entries if Path(e.path).name == "copy-me.gguf" and "imported" in e.path)
    pane.delete_model(Path(copied.path))
    qtbot.waitUntil(lambda: not any(e.path == copied.path for e in pane.entries), timeout=10_000)


def test_compare_models_on_your_own_text(qtbot, window) -> None:
    pane = window.models
    pane.tabs.setCurrentIndex(2)
    pane.compare_source.setCurrentIndex(0)
    pane.compare_text.setPlainText("The quick brown fox jumps over the lazy dog. " * 5)
    with qtbot.waitSignal(pane.comparison_finished, timeout=60_000) as done:
        pane.compare_button.click()
    [row] = done.args[0]
    assert 1.0 < row.perplexity < 1000 and row.tokens > 40
    assert pane.compare_table.rowCount() == 1 and pane.compare_table.item(0, 1).text() == f"{row.perplexity:.2f}"


def test_compare_moves_its_progress_bar_as_each_model_is_measured(qtbot, window, tmp_path: Path,
                                                                   starter_path: Path) -> None:
    pane = window.models
    folder = tmp_path / "more-models"
    folder.mkdir()
    (folder / "second.gguf").write_bytes(starter_path.read_bytes())
    window.library.add_folder(folder)
    pane.refresh_library()
    qtbot.waitUntil(lambda: pane.compare_models.model().rowCount() == 2, timeout=10_000)
    window.tabs.setCurrentWidget(pane)
    pane.tabs.setCurrentWidget(pane.compare_tab)
    pane.compare_source.setCurrentIndex(0)
    pane.compare_text.setPlainText("The quick brown fox jumps over the lazy dog. " * 5)
    seen: list[tuple[int, int, bool]] = []  # (value, maximum, still comparing)
    pane.compare_progress.valueChanged.connect(
        lambda value: seen.append((value, pane.compare_progress.maximum(), not pane.compare_button.isEnabled())))
    with qtbot.waitSignal(pane.comparison_finished, timeout=120_000) as done:
        pane.compare_button.click()
    assert len(done.args[0]) == 2
    assert (1, 2, True) in seen, f"the bar did not move while the models were measured: {seen}"
    assert seen[-1][:2] == (2, 2)


def _two_models(qtbot, window, tmp_path: Path, starter_path: Path, name: str = "second.gguf"):
    pane = window.models
    folder = tmp_path / "more-models"
    folder.mkdir()
    (folder / name).write_bytes(starter_path.read_bytes())
    window.library.add_folder(folder)
    pane.refresh_library()
    qtbot.waitUntil(lambda: pane.compare_models.model().rowCount() == 2, timeout=10_000)
    window.tabs.setCurrentWidget(pane)
    pane.tabs.setCurrentWidget(pane.compare_tab)
    pane.compare_source.setCurrentIndex(0)
    pane.compare_text.setPlainText("The quick brown fox jumps over the lazy dog. " * 5)
    return pane


def test_cancel_stops_the_comparison_and_skips_the_models_not_yet_measured(qtbot, window, tmp_path: Path,
                                                                             starter_path: Path) -> None:
    pane = _two_models(qtbot, window, tmp_path, starter_path)
    messages: list[str] = []
    pane.status_message.connect(messages.append)
    with qtbot.waitSignal(pane.comparison_finished, timeout=60_000) as done:
        pane.compare_button.click()
        assert pane.compare_cancel_button.isVisibleTo(pane.compare_view) and pane.compare_view.running
        pane.compare_cancel_button.click()  # the first model's job is starting: it stops at its first safe point
    assert done.args[0] == [] and pane.compare_table.rowCount() == 0
    assert pane.compare_button.isEnabled() and not pane.compare_view.running
    assert any("Comparison cancelled after 0 of 2 models" in m for m in messages), messages


def test_a_model_whose_process_crashes_fails_only_its_own_row(qtbot, window, tmp_path: Path, starter_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    pane = _two_models(qtbot, window, tmp_path, starter_path, name="crashes.gguf")
    monkeypatch.setenv("INKLING_FAULT_ON_COMPUTE", "segv:crashes.gguf")  # its job dies of SIGSEGV after the load
    with qtbot.waitSignal(pane.comparison_finished, timeout=120_000) as done:
        pane.compare_button.click()
    rows = {Path(r.path).name: r for r in done.args[0]}
    assert len(rows) == 2
    assert "stopped unexpectedly: it crashed (SIGSEGV, segmentation fault)" in rows["crashes.gguf"].error
    good = next(r for name, r in rows.items() if name != "crashes.gguf")
    assert not good.error and 1.0 < good.perplexity < 1000
    assert pane.compare_table.rowCount() == 2
    assert pane.compare_table.item(0, 1).text() == f"{good.perplexity:.2f}"  # the measured model first
    assert pane.compare_table.item(1, 1).text() == "—" and "SIGSEGV" in pane.compare_table.item(1, 0).text()
