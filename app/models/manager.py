"""One facade over the model manager for the window: library, catalog, Hub, fit, downloads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.core.ports import ModelEntry
from app.core.sources.embedding_choice import EmbeddingChoice, choice_file, load_choice, save_choice
from app.core.system import available_memory
from app.models import hub as hub_module
from app.models.catalog import CatalogEntry, load_catalog
from app.models.downloads import DownloadManager, DownloadSnapshot, safe_destination
from app.models.fit import Fit, estimate_fit, fit_for_entry, fit_for_file
from app.models.hub import HubClient, RepoFiles, RepoSummary
from app.models.library import ModelLibrary, discover_other_apps
from app.models.quant import QuantGroup, recommend


class ModelManager:
    """What the Models pane needs, without Qt.

    Download updates arrive on worker threads as frozen ``DownloadSnapshot``s; the
    pane never holds a live job.
    """

    def __init__(self, library: ModelLibrary, hub: HubClient | None = None, choice_path: Path | None = None) -> None:
        self.library = library
        self.choice_path = choice_path or choice_file()  # the embedding model sources use
        self.hub = hub or HubClient()
        self.on_download_update: Callable[[DownloadSnapshot], None] | None = None
        self.downloads = DownloadManager(library.models_dir, self.hub, on_update=self._on_update)

    def _on_update(self, download: DownloadSnapshot) -> None:
        if self.on_download_update is not None:
            self.on_download_update(download)

    # library
    def entries(self) -> list[ModelEntry]:
        return self.library.entries()

    def import_file(self, path: Path, copy: bool) -> Path:
        return self.library.import_file(path, copy)

    def delete(self, path: Path) -> None:
        self.library.delete(path)

    def add_folder(self, folder: Path) -> None:
        self.library.add_folder(folder)

    def discover(self) -> list[tuple[str, Path]]:
        return discover_other_apps(known=[e.path for e in self.entries()])

    # hub
    def offline(self) -> bool:
        return hub_module.offline()

    def catalog(self) -> list[CatalogEntry]:
        return load_catalog()

    def search(self, query: str, sort: str, kind: str = "chat") -> list[RepoSummary]:
        """Hub repos of ``kind``: "chat", "embedding" or "adapter" (``app.models.hub.KINDS``)."""
        return self.hub.search(query, sort=sort, kind=kind)

    def repo_files(self, repo_id: str) -> RepoFiles:
        return self.hub.files(repo_id)

    def fit(self, group: QuantGroup, n_ctx: int, free_vram: int = 0) -> Fit:
        """A Hub file's fit badge (its KV size estimated: the header is not here yet)."""
        return estimate_fit(group.size, group.quant, n_ctx, available_memory(), free_vram or None)

    def fit_file(self, path: str | Path, n_ctx: int, free_vram: int = 0) -> Fit:
        """A local file's fit badge: the number the engine's load refusal uses."""
        return fit_for_file(path, n_ctx, available_memory(), free_vram or None)

    def fit_entry(self, entry: ModelEntry, n_ctx: int, free_vram: int = 0) -> Fit:
        """The library's fit badge for a listed model (same estimate, no second header read)."""
        return fit_for_entry(entry, n_ctx, available_memory(), free_vram or None)

    def recommend(self, groups: list[QuantGroup], n_ctx: int, free_vram: int = 0) -> str | None:
        return recommend(groups, {g.quant: self.fit(g, n_ctx, free_vram).verdict for g in groups})

    # downloads
    @property
    def adapters_dir(self) -> Path:
        """Where LoRA adapters live: the Sampling panel's Adapter box lists this folder."""
        return self.library.models_dir / "adapters"

    def download(self, files: RepoFiles, group: QuantGroup, kind: str = "chat") -> list[DownloadSnapshot]:
        """Queue a quantization's files; an adapter goes to the adapters folder, anything else to models/<repo>/."""
        folder = self.adapters_dir if kind == "adapter" else None
        jobs = [self.downloads.add(files.repo_id, path, files.revision, files.file(path).size,
                                   files.file(path).sha256, folder=folder) for path in group.files]
        return [job.snapshot() for job in jobs]

    def local_file(self, files: RepoFiles, group: QuantGroup, kind: str = "chat") -> Path | None:
        """Where a downloaded quantization's (first) file is, if it is on this computer (verified and renamed)."""
        if not group.files:
            return None
        path = safe_destination(self.library.models_dir, files.repo_id, group.files[0])
        if kind == "adapter":
            path = self.adapters_dir / path.name
        return path if path.is_file() else None

    # the embedding model for sources
    def embedding_choice(self) -> EmbeddingChoice | None:
        """The model that indexes sources and embeds questions (None: keywords only)."""
        return load_choice(self.choice_path)

    def set_embedding_choice(self, choice: EmbeddingChoice | None) -> None:
        """Make ``choice`` the one collections are embedded with from their next indexing on."""
        save_choice(self.choice_path, choice)

    def restore_downloads(self) -> list[DownloadSnapshot]:
        return [job.snapshot() for job in self.downloads.restore()]

    def control(self, download_id: int, action: str) -> None:
        getattr(self.downloads, action)(download_id)
