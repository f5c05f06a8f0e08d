"""The curated catalog of good models, shown before search results (resources/catalog.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CATALOG = Path(__file__).resolve().parents[2] / "resources" / "catalog.json"


@dataclass(frozen=True)
class CatalogEntry:
    repo_id: str
    name: str
    params: str
    why: str


def load_catalog(path: Path = CATALOG) -> list[CatalogEntry]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [CatalogEntry(m["repo_id"], m["name"], m.get("params", ""), m.get("why", "")) for m in data["models"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []
