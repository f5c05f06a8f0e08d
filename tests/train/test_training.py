"""Real training on the starter model: the loss falls, the engine's perplexity falls, a kill resumes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.core.errors import TrainingError
from app.train.runner import JobProcess
from tests.train.conftest import needs_extra
from tests.train.corpus import journal

pytestmark = [needs_extra, pytest.mark.model]
ROOT = Path(__file__).resolve().parents[2]


def _inkling(*args: str, home: Path, stdin: str | None = None, timeout: float = 280) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INKLING_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=ROOT, input=stdin)


def test_inkling_train_lowers_the_validation_loss_and_the_engines_perplexity(tmp_path: Path) -> None:
    text = tmp_path / "journal.txt"
    text.write_text(journal(30), encoding="utf-8")
    adapter = tmp_path / "journal.gguf"
    run = _inkling("train", "--out", str(adapter), "--epochs", "2", "--learning-rate", "0.002", str(text),
                   home=tmp_path)
    print(run.stdout)
    assert run.returncode == 0, run.stderr
    epochs = re.findall(r"^Epoch (\d+), train loss: ([\d.]+), val loss: ([\d.]+)$", run.stdout, re.M)
    assert [e[0] for e in epochs] == ["1", "2"]
    before_val = float(re.search(r"val loss before training: ([\d.]+)", run.stdout).group(1))
    vals = [float(e[2]) for e in epochs]
    assert vals[0] < before_val and vals[1] < vals[0]
    before, after = map(float, re.search(r"before ([\d.]+), after ([\d.]+)", run.stdout).groups())
    assert after < before
    assert adapter.is_file() and not (tmp_path / "journal.gguf.tmp").exists()

    # unseen entries of the same journal: the engine finds them likelier with the adapter
    unseen = journal(40, seed=99).split("\n\n")[-4:]
    plain = _inkling("perplexity", "-", home=tmp_path, stdin="\n\n".join(unseen))
    adapted = _inkling("perplexity", "--lora", str(adapter), "-", home=tmp_path, stdin="\n\n".join(unseen))
    assert plain.returncode == 0 and adapted.returncode == 0, plain.stderr + adapted.stderr
    ppl = [float(re.fullmatch(r"perplexity: ([\d.]+)\n", r.stdout).group(1)) for r in (plain, adapted)]
    print(f"held-out perplexity without the adapter {ppl[0]:.3f}, with it {ppl[1]:.3f}")
    assert ppl[1] < ppl[0] * 0.8
    done = _inkling("complete", "--lora", str(adapter), "--temperature", "0", "--max-tokens", "12",
                    "Day 41 of the long tally.", home=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("Day 41 of the long tally."), done.stderr


def _start(tmp_path: Path, events: list[dict], seen_step: threading.Event, starter: Path) -> JobProcess:
    def on_progress(done: int, total: int, message: str) -> None:
        event = json.loads(message)
        events.append(event)
        if event["kind"] == "step" and done >= 3:
            seen_step.set()

    return JobProcess("app.train.trainer:train_job", {
        "base": str(starter), "out": str(tmp_path / "a.gguf"), "work": str(tmp_path / "work"),
        "texts": [journal(14)],
        "settings": {"epochs": 1, "seq_len": 64, "batch": 2, "checkpoint_every": 2, "learning_rate": 0.002}},
        on_progress)


def test_a_kill_mid_epoch_resumes_from_the_last_checkpoint(tmp_path: Path, starter_path: Path) -> None:
    first: list[dict] = []
    seen = threading.Event()
    job = _start(tmp_path, first, seen, starter_path)
    assert seen.wait(240), first
    os.kill(job.pid, signal.SIGKILL)
    with pytest.raises(TrainingError, match="ended unexpectedly"):
        job.result(60)
    steps = first[0]["steps_per_epoch"]
    assert not first[0]["resumed"] and steps > 4  # the kill came mid-epoch

    second: list[dict] = []
    job = _start(tmp_path, second, threading.Event(), starter_path)
    record = job.result(240)
    start = second[0]
    assert start["resumed"] and start["epoch"] == 0 and start["step"] >= 2
    ran = [e for e in second if e["kind"] == "step"]
    assert len(ran) == steps - start["step"]  # only the steps after the checkpoint ran again
    assert [h["epoch"] for h in record["history"]] == [1]
    assert Path(record["adapter"]).is_file()
