"""Real training on the starter model: the loss falls, the engine's perplexity falls, early stopping keeps
the best epoch, a kill or a full disk mid-epoch resumes from the last good checkpoint.

One adapter, trained once by ``inkling train`` (the ``trained`` fixture), serves the tests that
read what the command printed and measure the adapter with the engine.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import CheckpointNotSaved, JobCrashed
from app.core.jobs import JobEvent, JobProgress
from app.engine.jobs import JobHandle, start_job
from app.train.documents import TextSource
from app.train.service import TRAIN_JOB, train_args
from tests.train.conftest import FAST, needs_extra
from tests.train.corpus import journal

pytestmark = [needs_extra, pytest.mark.model]
ROOT = Path(__file__).resolve().parents[2]


def _inkling(*args: str, home: Path, stdin: str | None = None, timeout: float = 280) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INKLING_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=ROOT, input=stdin)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    """``inkling train`` on a journal of a few thousand tokens, two epochs: (the run, the adapter, its home)."""
    home = tmp_path_factory.mktemp("trained")
    text = home / "journal.txt"
    text.write_text(journal(24), encoding="utf-8")
    adapter = home / "journal.gguf"
    run = _inkling("train", "--out", str(adapter), "--epochs", "2", "--learning-rate", "0.004", str(text), home=home)
    print(run.stdout)
    assert run.returncode == 0, run.stderr
    return run, adapter, home


def test_inkling_train_prints_the_epochs_and_the_validation_loss_falls(trained) -> None:  # type: ignore[no-untyped-def]
    run, adapter, home = trained
    epochs = re.findall(r"^Epoch (\d+), train loss: ([\d.]+), val loss: ([\d.]+)$", run.stdout, re.M)
    assert [e[0] for e in epochs] == ["1", "2"]
    before_val = float(re.search(r"val loss before training: ([\d.]+)", run.stdout).group(1))
    vals = [float(e[2]) for e in epochs]
    assert vals[0] < before_val and vals[1] < vals[0]
    before, after = map(float, re.search(r"before ([\d.]+), after ([\d.]+)", run.stdout).groups())
    assert after < before  # the held-out text, as the engine measures it
    assert adapter.is_file() and not (home / "journal.gguf.tmp").exists()


def test_inkling_perplexity_and_complete_use_the_trained_adapter(trained, starter_path: Path) -> None:  # type: ignore[no-untyped-def]
    run, adapter, home = trained
    after = float(re.search(r"after ([\d.]+)", run.stdout).group(1))
    from app.engine.tokenizer import VocabTokenizer
    from app.train.data import split_passages

    tok = VocabTokenizer(starter_path)  # the held-out passages, as the trainer chose them (the same split)
    try:
        held_out = split_passages([journal(24)], tok.tokenize).val_text
    finally:
        tok.close()
    measured = _inkling("perplexity", "--lora", str(adapter), "-", home=home, stdin=held_out)
    assert measured.returncode == 0, measured.stderr
    assert float(re.fullmatch(r"perplexity: ([\d.]+)\n", measured.stdout).group(1)) == pytest.approx(after, abs=2e-4)
    done = _inkling("complete", "--lora", str(adapter), "--temperature", "0", "--max-tokens", "8",
                    "Day 41 of the long tally.", home=home)
    assert done.returncode == 0 and done.stdout.startswith("Day 41 of the long tally."), done.stderr


# -- the job itself, on the app's job runner --------------------------------------------------------

def _job(tmp_path: Path, starter: Path, texts: list[str], settings: dict[str, Any], events: list[dict],
         target: str = TRAIN_JOB, extra: dict[str, Any] | None = None,
         on_step: threading.Event | None = None, after_steps: int = 0) -> JobHandle:
    files = []
    for i, text in enumerate(texts):
        files.append(tmp_path / f"text{i}.txt")
        files[-1].write_text(text, encoding="utf-8")

    def on_event(event: JobEvent) -> None:
        if isinstance(event, JobProgress):
            info = json.loads(event.message)
            events.append(info)
            if on_step is not None and info["kind"] == "step" and event.done >= after_steps:
                on_step.set()

    args = train_args(str(starter), str(tmp_path / "a.gguf"), [TextSource.file(f) for f in files],
                      {**FAST, **settings})
    return start_job(target, {**args, **(extra or {})}, on_event, name="Training", grace=60)


# small steps (2 windows of 32 tokens), so an epoch has many of them and a kill lands mid-epoch
KILL = {"epochs": 1, "checkpoint_every": 2, "learning_rate": 0.004, "seq_len": 32, "batch": 2}


def test_a_kill_then_a_full_disk_mid_epoch_each_resume_from_the_last_good_checkpoint(
        tmp_path: Path, starter_path: Path) -> None:
    corpus = [journal(8)]
    first: list[dict] = []
    seen = threading.Event()
    job = _job(tmp_path, starter_path, corpus, KILL, first, on_step=seen, after_steps=3)
    assert seen.wait(240), first
    os.kill(job.pid, signal.SIGKILL)
    with pytest.raises(JobCrashed, match="killed"):
        job.result(60)
    steps = first[0]["steps_per_epoch"]
    assert not first[0]["resumed"] and steps > 4  # the kill came mid-epoch
    checkpoint = tmp_path / "a.gguf.work" / "checkpoint.npz"
    good = checkpoint.read_bytes()

    # the disk fills up: the next checkpoint can't be written (RLIMIT_FSIZE in the job's process: EFBIG)
    second: list[dict] = []
    job = _job(tmp_path, starter_path, corpus, KILL, second, target="tests.train.limited_job:train_on_a_full_disk",
               extra={"file_size_limit": 1_000_000})
    with pytest.raises(CheckpointNotSaved) as full:
        job.result(240)
    print(full.value)
    assert str(tmp_path / "a.gguf.work") in str(full.value) and "free space" in str(full.value)
    assert second[0]["resumed"] and any(e["kind"] == "step" for e in second)  # it trained, then failed to save
    assert checkpoint.read_bytes() == good, "the last good checkpoint must be left as it was"
    assert [p.name for p in checkpoint.parent.iterdir() if ".tmp" in p.name] == []

    third: list[dict] = []
    record = _job(tmp_path, starter_path, corpus, KILL, third).result(240)
    start = third[0]
    assert start["resumed"] and start["epoch"] == 0 and start["step"] == second[0]["step"] >= 2
    ran = [e for e in third if e["kind"] == "step"]
    assert len(ran) == steps - start["step"]  # only the steps after the checkpoint ran again
    assert [h["epoch"] for h in record["history"]] == [1]
    assert Path(record["adapter"]).is_file()


# -- early stopping -----------------------------------------------------------------------------------

NONSENSE = ("zorp quill vexen nabble frim zorp quill vexen nabble frim zorp quill vexen nabble frim zorp quill "
            "vexen nabble frim zorp quill vexen nabble frim zorp quill vexen nabble frim")


def test_validation_loss_rising_stops_training_early_and_keeps_the_best_epoch(
        tmp_path: Path, starter_path: Path) -> None:
    """Trained on nothing but a nonsense refrain, held out on plain English: each epoch makes English less
    likely, so the validation loss rises after the first epoch and training stops there."""
    from app.core.events import LoadOptions
    from app.engine.client import EngineClient

    english = journal(1, seed=5).strip()
    texts = [NONSENSE] * 7
    texts.insert(4, english)  # the passage the split holds out (checked below: the record's val_text)
    events: list[dict] = []
    record = _job(tmp_path, starter_path, ["\n\n".join(texts)],
                  {"epochs": 4, "learning_rate": 0.01, "patience": 1}, events).result(240)
    assert record["val_text"] == english, "the held-out passage should be the English one"
    history = record["history"]
    print(json.dumps(history))
    assert record["stopped_early"] and len(history) == 2 < 4  # stopped before the last epoch
    assert history[1]["val_loss"] > history[0]["val_loss"] and record["best_epoch"] == 1
    assert [e["best"] for e in events if e["kind"] == "epoch"] == [True, False]

    # the adapter written is epoch 1's: the engine's loss on the held-out passage is that epoch's, not the last
    client = EngineClient(log_path=tmp_path / "engine.log")
    try:
        client.load(starter_path, LoadOptions(n_ctx=512))
        client.set_adapter(record["adapter"], 1.0)
        nll = math.log(client.score(english, top=0).perplexity)
    finally:
        client.close()
    first, last = history[0]["val_loss"], history[1]["val_loss"]
    print(f"engine's loss with the adapter {nll:.4f}; epoch 1 {first:.4f}, epoch 2 {last:.4f}")
    assert abs(nll - first) < 0.1 and abs(nll - first) < abs(nll - last) / 3
