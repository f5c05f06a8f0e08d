"""The training job in a process that may write no file bigger than ``file_size_limit`` bytes.

A full disk, simulated honestly: ``RLIMIT_FSIZE`` makes the kernel refuse the write past the limit
(EFBIG; Python ignores SIGXFSZ, so the write fails instead of killing the process), the same
failure path as ENOSPC for the trainer. It needs no root and no mount, unlike a small tmpfs.
"""

from __future__ import annotations

import resource
from typing import Any


def train_on_a_full_disk(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    from app.train.trainer import train_job

    args = dict(args)
    limit = int(args.pop("file_size_limit"))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    return train_job(args, ctx)
