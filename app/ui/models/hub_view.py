"""The "Get models" tab of the Models pane: Hub search, a repo's files with fit badges, downloads.

``HubTab`` is a part of ``ModelsPane`` kept in its own module (the pane mixes it in):
it builds the tab's widgets on the pane and answers their signals. Every Hub call
runs in the background; offline and unreachable say so in place of results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import HubOffline, HubUnreachable, InklingError
from app.core.ports import ModelManagerPort
from app.core.sources.embedding_choice import EmbeddingChoice
from app.ui.jobs import run_in_background
from app.ui.models.downloads_view import DownloadsView
from app.ui.widgets import human_size

SORTS = {"Most downloads": "downloads", "Most likes": "likes", "Recently updated": "last_modified"}
KIND_LABELS = {"chat": "Chat models", "embedding": "Embedding models", "adapter": "Adapters (LoRA)"}
"""What the Hub search looks for (``app.models.hub.KINDS``), as the Kind combo names it."""
KIND_HINTS = {
    "chat": "Search GGUF models on Hugging Face, e.g. “llama 3 instruct”",
    "embedding": "Search embedding models for sources, e.g. “nomic-embed” or “MiniLM”",
    "adapter": "Search GGUF LoRA adapters, e.g. the base model's name",
}


class _DownloadRelay(QObject):
    """Carries download updates from worker threads to the GUI thread."""

    changed = Signal(object)
    """A download changed (emitted from a worker thread, delivered queued)."""


class HubTab:
    """The Hub half of ``ModelsPane`` (a mixin: it uses the pane's signals and ``manager``)."""

    manager: ModelManagerPort
    tabs: Any
    status_message: Any
    search_finished: Any
    files_shown: Any
    download_finished: Any
    embedding_choice_changed: Any
    n_ctx: Any
    free_vram: Any

    def refresh_library(self) -> None: ...

    def _build_hub(self) -> QWidget:
        self.repo_files: Any = None
        self._relay = _DownloadRelay()
        self._search_serial = 0
        self._search_busy_id = 0  # the search being waited for; 0 when none
        self._unreachable = False
        self.repo_kind = "chat"  # the kind of the repo whose files are shown
        self._files_serial = 0  # the file listing being waited for: an answer for an earlier repo is dropped
        hub = QWidget()
        hub_layout = QVBoxLayout(hub)
        self.offline_label = QLabel()
        self.offline_label.setObjectName("offlineState")
        self.offline_label.setWordWrap(True)
        self.hub_import_button = QPushButton("Import a GGUF file…")
        self.hub_import_button.setObjectName("hubImportButton")
        self.offline_row = QWidget()
        offline_layout = QHBoxLayout(self.offline_row)
        offline_layout.setContentsMargins(0, 0, 0, 0)
        offline_layout.addWidget(self.offline_label, 1)
        offline_layout.addWidget(self.hub_import_button)
        self.offline_row.hide()
        self.search_busy = QProgressBar()
        self.search_busy.setObjectName("hubSearchBusy")
        self.search_busy.setRange(0, 0)  # a busy indicator: how long the Hub takes is not known
        self.search_busy.setMaximumWidth(90)
        self.search_busy.setTextVisible(False)
        self.search_busy.hide()
        self.search_cancel_button = QPushButton("Cancel")
        self.search_cancel_button.setObjectName("hubSearchCancelButton")
        self.search_cancel_button.hide()
        search_row = QHBoxLayout()
        self.search_input = QLineEdit()
        self.search_input.setObjectName("hubSearchInput")
        self.search_input.setPlaceholderText(KIND_HINTS["chat"])
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("hubKindCombo")
        self.kind_combo.setToolTip("What to look for: models to chat and write with, embedding models that let "
                                   "sources search by meaning, or LoRA adapters for a model you have")
        for kind, label in KIND_LABELS.items():
            self.kind_combo.addItem(label, kind)
        self.sort_combo = QComboBox()
        self.sort_combo.setObjectName("hubSortCombo")
        self.sort_combo.addItems(list(SORTS))
        self.search_button = QPushButton("Search")
        self.search_button.setObjectName("hubSearchButton")
        search_row.addWidget(self.kind_combo)
        search_row.addWidget(self.search_input, 1)
        search_row.addWidget(self.sort_combo)
        search_row.addWidget(self.search_button)
        search_row.addWidget(self.search_busy)
        search_row.addWidget(self.search_cancel_button)
        self.results_view = QListWidget()
        self.results_view.setObjectName("hubResultsView")
        self.files_view = QTreeWidget()
        self.files_view.setObjectName("hubFilesView")
        self.files_view.setHeaderLabels(["Quantization", "Size", "Fits this computer?", ""])
        for column in range(3):
            self.files_view.header().setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.repo_label = QLabel("Pick a model on the left to see its files.")
        self.repo_label.setWordWrap(True)
        self.download_button = QPushButton("Download")
        self.download_button.setObjectName("downloadButton")
        self.download_button.setEnabled(False)
        self.use_for_sources_button = QPushButton("Use for sources")
        self.use_for_sources_button.setObjectName("useForSourcesButton")
        self.use_for_sources_button.setToolTip("Sources search by meaning with this model: each collection is "
                                               "embedded with it on its next indexing")
        self.use_for_sources_button.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.download_button, 1)
        buttons.addWidget(self.use_for_sources_button)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.repo_label)
        right_layout.addWidget(self.files_view, 1)
        right_layout.addLayout(buttons)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.results_view)
        split.addWidget(right)
        split.setSizes([380, 520])
        self.downloads_view = DownloadsView()
        vsplit = QSplitter(Qt.Orientation.Vertical)
        vsplit.addWidget(split)
        vsplit.addWidget(self.downloads_view)
        vsplit.setSizes([420, 180])
        hub_layout.addWidget(self.offline_row)
        hub_layout.addLayout(search_row)
        hub_layout.addWidget(vsplit, 1)
        hub.setObjectName("hubTab")
        self.hub_tab = hub
        return hub

    def _connect_hub_signals(self) -> None:
        self.search_button.clicked.connect(self.search)
        self.search_input.returnPressed.connect(self.search)
        self.search_cancel_button.clicked.connect(self.cancel_search)
        self.results_view.currentItemChanged.connect(self._on_results_current_item_changed)
        self.files_view.currentItemChanged.connect(self._on_files_current_item_changed)
        self.download_button.clicked.connect(self.download_selected)
        self.use_for_sources_button.clicked.connect(self.use_selected_for_sources)
        self.kind_combo.currentIndexChanged.connect(self._on_kind_combo_current_index_changed)
        self.downloads_view.action_requested.connect(self._on_download_action)
        self._relay.changed.connect(self._on_download_changed)
        self.manager.on_download_update = self._relay.changed.emit

    def _show_offline_state(self) -> None:
        off = self.manager.offline()
        if off:
            self._show_offline_notice("Offline mode (HF_HUB_OFFLINE is set): the Hub is not contacted. Your installed "
                                      "models work as usual; unset HF_HUB_OFFLINE to search and download.")
        elif self._search_busy_id == 0 and not self._unreachable:
            self.offline_row.hide()
        for w in (self.search_input, self.search_button, self.download_button):
            w.setEnabled(not off and (w is not self.download_button or self.files_view.currentItem() is not None))

    def _show_offline_notice(self, text: str) -> None:
        self.offline_label.setText(text)
        self.offline_row.show()

    def _show_catalog(self) -> None:
        self.results_view.clear()
        for entry in self.manager.catalog():
            item = QListWidgetItem(f"★ {entry.name} ({entry.params}) — {entry.why}")
            item.setData(Qt.ItemDataRole.UserRole, entry.repo_id)
            item.setToolTip(f"{entry.repo_id}\n{entry.why}")
            self.results_view.addItem(item)

    def search(self) -> None:
        """Ask the Hub in the background; a busy sign and Cancel show until it answers."""
        if self.manager.offline():
            self._show_offline_state()
            return
        query = self.search_input.text().strip()
        sort = SORTS[self.sort_combo.currentText()]
        kind = self.kind
        self.status_message.emit(f"Searching the Hub for {KIND_LABELS[kind].lower()} matching “{query}”…")
        self._search_serial += 1
        serial = self._search_serial
        self._search_busy_id = serial
        self._set_searching(True)
        run_in_background(lambda: self.manager.search(query, sort, kind),
                          lambda results: self._on_search_answered(serial, results),
                          lambda exc: self._on_search_failed(serial, exc), context=self)

    def cancel_search(self) -> None:
        """Stop waiting for the Hub (its answer, if it comes, is dropped)."""
        if not self._search_busy_id:
            return
        self._search_busy_id = 0
        self._set_searching(False)
        self.status_message.emit("Search cancelled")

    def _set_searching(self, busy: bool) -> None:
        self.search_busy.setVisible(busy)
        self.search_cancel_button.setVisible(busy)
        self.search_button.setEnabled(not busy and not self.manager.offline())

    def _on_search_answered(self, serial: int, results: list[Any]) -> None:
        if serial != self._search_busy_id:
            return  # cancelled, or a newer search is running
        self._search_busy_id = 0
        self._unreachable = False
        self._set_searching(False)
        self._show_offline_state()
        self._show_results(results)

    def _on_search_failed(self, serial: int, exc: BaseException) -> None:
        if serial != self._search_busy_id:
            return
        self._search_busy_id = 0
        self._set_searching(False)
        self._on_hub_failed(exc)
        self.search_finished.emit()

    def _show_results(self, results: list[Any]) -> None:
        self.search_button.setEnabled(True)
        kind = results[0].kind if results else self.kind
        if kind == "chat":
            self._show_catalog()  # the curated chat models first; other kinds list only what was found
        else:
            self.results_view.clear()
        for r in results:
            item = QListWidgetItem(f"{r.repo_id}   ↓{r.downloads:,}  ♥{r.likes:,}" + ("  (gated)" if r.gated else ""))
            item.setData(Qt.ItemDataRole.UserRole, r.repo_id)
            item.setData(Qt.ItemDataRole.UserRole + 1, r.kind)
            item.setToolTip(f"{r.repo_id}\n{KIND_LABELS.get(r.kind, r.kind)}"
                            + (f" · {r.pipeline_tag}" if r.pipeline_tag else ""))
            self.results_view.addItem(item)
        self.status_message.emit(f"{len(results)} repositories found ({KIND_LABELS.get(kind, kind).lower()})")
        self.search_finished.emit()

    def _on_hub_failed(self, exc: BaseException) -> None:
        self.search_button.setEnabled(not self.manager.offline())
        if isinstance(exc, (HubUnreachable, HubOffline)):
            self._unreachable = isinstance(exc, HubUnreachable)
            self._show_offline_notice(str(exc))
        else:
            self.repo_label.setText(f"⚠ {exc}")
        self.status_message.emit(str(exc))

    def _on_results_current_item_changed(self, current: QListWidgetItem | None, _prev: object) -> None:
        if current is not None:
            self.show_repo(str(current.data(Qt.ItemDataRole.UserRole)), current.data(Qt.ItemDataRole.UserRole + 1) or "chat")

    def show_repo(self, repo_id: str, kind: str = "chat") -> None:
        """List ``repo_id``'s GGUF files; ``kind`` says where a download goes and what it is for."""
        self._files_serial += 1
        serial = self._files_serial
        self.repo_kind = kind
        self.repo_files = None  # nothing to download until this repo's own files arrive
        self.use_for_sources_button.setVisible(kind == "embedding")
        self.use_for_sources_button.setEnabled(False)
        self.files_view.clear()
        self.download_button.setEnabled(False)
        self.repo_label.setText(f"Loading the files of {repo_id}…")
        run_in_background(lambda: self.manager.repo_files(repo_id),
                          lambda files: self._show_files(files, serial, kind),
                          lambda exc: self._on_repo_files_failed(repo_id, exc, serial), context=self)

    def _on_repo_files_failed(self, repo_id: str, exc: BaseException, serial: int | None = None) -> None:
        """The files could not be listed: the label says so in place of "Loading…" (and offline says offline)."""
        if serial is not None and serial != self._files_serial:
            return  # another repo was chosen since: its listing is the one shown
        self._on_hub_failed(exc)
        if isinstance(exc, (HubUnreachable, HubOffline)):
            self.repo_label.setText(f"The files of {repo_id} can't be listed while the Hub can't be reached. "
                                    "Models you already have work as usual.")
        else:
            self.repo_label.setText(f"⚠ The files of {repo_id} can't be listed: {exc}")

    def _show_files(self, files: Any, serial: int | None = None, kind: str | None = None) -> None:
        """A repo's files; one listed for a repo chosen before another (``serial``) is dropped."""
        if serial is not None and serial != self._files_serial:
            return
        if kind is not None:
            self.repo_kind = kind  # the kind it was chosen as: a download goes where that kind belongs
        self.repo_files = files
        self.files_view.clear()
        n_ctx, vram = self.n_ctx(), self.free_vram()
        best = self.manager.recommend(files.groups, n_ctx, vram)
        for group in files.groups:
            fit = self.manager.fit(group, n_ctx, vram)
            item = QTreeWidgetItem([group.quant, human_size(group.size), f"{fit.badge} — needs {human_size(fit.needed)}",
                                    "★ recommended" if group.quant == best else ""])
            item.setToolTip(2, f"Weights + the memory for a {n_ctx:,}-token context + runtime, on the {fit.where}")
            item.setData(0, Qt.ItemDataRole.UserRole, group)
            for path in group.files:
                QTreeWidgetItem(item, [path, human_size(files.file(path).size), "", ""])
            self.files_view.addTopLevelItem(item)
            if group.quant == best:
                self.files_view.setCurrentItem(item)
        gated = " This repo is gated: log in with `hf auth login` after accepting its terms." if files.gated else ""
        what = {"embedding": " An embedding model: download it, then “Use for sources”.",
                "adapter": " LoRA adapters: a download goes to the adapters folder, listed in the Sampling panel's "
                           "Adapter box (for the base model it was made for)."}.get(self.repo_kind, "")
        self.repo_label.setText(f"<b>{files.repo_id}</b> — {len(files.files)} GGUF files in {len(files.groups)} "
                                f"quantizations. Smaller is faster, larger is closer to the original.{what}{gated}")
        self.files_shown.emit()

    def _on_files_current_item_changed(self, current: QTreeWidgetItem | None, _prev: object) -> None:
        while current is not None and current.parent() is not None:
            current = current.parent()
        self.download_button.setEnabled(current is not None and not self.manager.offline())
        self._update_use_for_sources()

    def select_quant(self, quant: str) -> None:
        for i in range(self.files_view.topLevelItemCount()):
            item = self.files_view.topLevelItem(i)
            if item.text(0) == quant:
                self.files_view.setCurrentItem(item)

    def download_selected(self) -> None:
        item = self.files_view.currentItem()
        while item is not None and item.parent() is not None:
            item = item.parent()
        if item is None or self.repo_files is None:
            return
        group = item.data(0, Qt.ItemDataRole.UserRole)
        try:
            for d in self.manager.download(self.repo_files, group, self.repo_kind):
                self.downloads_view.update_download(d)
        except InklingError as exc:
            self.status_message.emit(str(exc))
            self.repo_label.setText(f"⚠ {exc}")

    @property
    def kind(self) -> str:
        """The kind of GGUF the search looks for: "chat", "embedding" or "adapter"."""
        return str(self.kind_combo.currentData())

    def set_kind(self, kind: str) -> None:
        self.kind_combo.setCurrentIndex(max(0, self.kind_combo.findData(kind)))

    def _on_kind_combo_current_index_changed(self, _index: int) -> None:
        self.search_input.setPlaceholderText(KIND_HINTS[self.kind])

    def _selected_group(self) -> Any:
        item = self.files_view.currentItem()
        while item is not None and item.parent() is not None:
            item = item.parent()
        return item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None

    def _selected_local_file(self) -> Path | None:
        group = self._selected_group()
        if group is None or self.repo_files is None:
            return None
        return self.manager.local_file(self.repo_files, group, self.repo_kind)

    def _update_use_for_sources(self) -> None:
        """"Use for sources" is offered once the chosen embedding file is downloaded and verified."""
        local = self._selected_local_file() if self.repo_kind == "embedding" else None
        self.use_for_sources_button.setEnabled(local is not None)
        self.use_for_sources_button.setToolTip(
            f"Sources search by meaning with {local.name}" if local is not None
            else "Download this file first; then sources can use it")

    def use_selected_for_sources(self) -> None:
        """Make the selected, downloaded embedding GGUF the model sources are embedded with."""
        local = self._selected_local_file()
        if local is None:
            return
        choice = EmbeddingChoice.local(local, embedding_model=True, label=f"{self.repo_files.repo_id} {local.name}")
        self.manager.set_embedding_choice(choice)
        self.status_message.emit(f"Sources now use {local.name} for meaning search: each collection is embedded "
                                 "with it on its next Update")
        self.embedding_choice_changed.emit()

    def _on_download_action(self, download_id: int, action: str) -> None:
        self.manager.control(download_id, action)

    def _on_download_changed(self, download: Any) -> None:
        self.downloads_view.update_download(download)
        if download.status in ("done", "failed", "cancelled"):
            if download.status == "done":
                where = " into the adapters folder: pick it in the Sampling panel's Adapter box" \
                    if Path(download.dest).parent.name == "adapters" else ""
                self.status_message.emit(f"Downloaded and verified {download.filename}{where}")
                self.refresh_library()
                self._update_use_for_sources()
            self.download_finished.emit(download)

