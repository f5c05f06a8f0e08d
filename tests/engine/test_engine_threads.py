"""The engine applies the thread count the tuner picks, between tokens, on the real llama.cpp context.

Speed is not asserted: only that what the tuner decides is what llama.cpp decodes with,
that "automatic" is what the model info says only when no count is pinned, and that a
pinned count never moves.
"""

from __future__ import annotations

import os
from pathlib import Path

import llama_cpp
import pytest

from app.core.events import LoadOptions, TokenEvent
from app.core.sampling import SamplingSettings
from app.core.system import THREADS_ENV
from app.core.threads import TunerSettings
from app.engine.runtime import LlamaRuntime


def _generate_watching_threads(rt: LlamaRuntime, tokens: int) -> list[tuple[int, int]]:
    """Generate ``tokens`` tokens; (llama.cpp's decode threads, the tuner's choice) as each token arrives."""
    eos = rt.llm._model.token_eos()
    settings = SamplingSettings(temperature=0.0, max_tokens=tokens, logit_bias=((eos, -100.0),))
    seen: list[tuple[int, int]] = []

    def emit(event: object) -> None:
        if isinstance(event, TokenEvent):
            tuner = rt.threads.tuner
            seen.append((llama_cpp.llama_n_threads(rt.llm.ctx), tuner.threads if tuner else -1))

    fin = rt.complete("The lighthouse keeper climbed the stairs", settings, 0, emit)
    assert fin.timings.generated_tokens == tokens
    return seen


def test_automatic_threads_change_between_tokens_as_the_tuner_decides(starter_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(THREADS_ENV, raising=False)  # the suite pins one thread; automatic is the app's default
    rt = LlamaRuntime()
    info = rt.load(str(starter_path), LoadOptions(n_ctx=512))
    try:
        assert info.threads_automatic and rt.threads.tuner is not None
        assert llama_cpp.llama_n_threads(rt.llm.ctx) == info.n_threads
        seen = _generate_watching_threads(rt, 64)
        applied = [n for n, _wanted in seen]
        if (os.cpu_count() or 1) > 1:  # the first probe starts after one window: another count is tried
            assert len(set(applied)) > 1, applied
        assert all(now == wanted for now, wanted in seen), seen  # what the tuner wants is what llama.cpp uses

        rt.threads.apply(1)
        assert llama_cpp.llama_n_threads(rt.llm.ctx) == 1
        assert llama_cpp.llama_n_threads_batch(rt.llm.ctx) >= 1
    finally:
        rt.unload()


def test_a_probe_still_running_when_a_reply_ends_leaves_the_incumbent_count_behind(
        starter_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: there is no other count to probe")
    monkeypatch.delenv(THREADS_ENV, raising=False)
    rt = LlamaRuntime()
    info = rt.load(str(starter_path), LoadOptions(n_ctx=512))
    try:
        tuner = rt.threads.tuner
        assert tuner is not None
        # a probe after two tokens that nothing ends: it is still running when the reply does
        tuner.settings = TunerSettings(window=2, probe=10_000, margin=1e9, give_up=1e9)
        seen = _generate_watching_threads(rt, 12)
        assert {n for n, _ in seen} != {info.n_threads}, seen  # the probe's count was in use
        assert tuner.probe is None
        # what the next prompt, score or peek runs with: the incumbent's counts, not the probe's
        assert llama_cpp.llama_n_threads(rt.llm.ctx) == tuner.incumbent == info.n_threads
        assert llama_cpp.llama_n_threads_batch(rt.llm.ctx) == rt.threads.batch
    finally:
        rt.unload()


STORY = ("The keeper climbed the tower every night. He lit the lamp, wiped the glass and watched the sea. "
         "Ships passed far out, and none of them ever stopped. ")


def test_with_drafting_from_the_text_only_one_token_decodes_are_timed(starter_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # a draft batch costs several steps and a verified draft step almost none: timed, they would
    # measure how well the drafts guessed and make probes win or lose at random
    monkeypatch.delenv(THREADS_ENV, raising=False)
    rt = LlamaRuntime()
    rt.load(str(starter_path), LoadOptions(n_ctx=1024))
    try:
        tuner = rt.threads.tuner
        assert tuner is not None
        timed: list[int] = []
        observe, decode_draft = tuner.observe, rt._decode_draft
        batches: list[int] = []

        def counting_observe(seconds: float, tokens: int = 1) -> int:
            timed.append(tokens)
            return observe(seconds, tokens)

        def counting_decode_draft(*args: object) -> None:
            batches.append(1)
            decode_draft(*args)

        monkeypatch.setattr(tuner, "observe", counting_observe)
        monkeypatch.setattr(rt, "_decode_draft", counting_decode_draft)
        eos = rt.llm._model.token_eos()
        settings = SamplingSettings(temperature=0.0, max_tokens=100, repeat_penalty=1.0, draft_from_text=True,
                                    logit_bias=((eos, -100.0),))
        rewrite = [{"role": "user", "content": "Repeat this text exactly, word for word:\n\n" + STORY * 2}]
        fin = rt.chat(rewrite, settings, 0, lambda _event: None)
        generated = fin.timings.generated_tokens
        assert fin.drafted > 20 and batches  # the model copied the text, so drafts were made and verified
        # every token is a verified draft, or was followed by a draft batch or a one-token decode
        # (the last may be followed by nothing); only the one-token decodes are timed, one token each
        singles = generated - fin.drafted - len(batches)
        assert singles - 1 <= len(timed) <= singles, (len(timed), generated, fin.drafted, len(batches))
        assert set(timed) == {1}
    finally:
        rt.unload()


def test_a_pinned_thread_count_is_never_tuned(starter_path: Path) -> None:
    rt = LlamaRuntime()
    info = rt.load(str(starter_path), LoadOptions(n_ctx=512, n_threads=1))
    try:
        assert not info.threads_automatic and rt.threads.tuner is None and info.n_threads == 1
        assert {n for n, _ in _generate_watching_threads(rt, 40)} == {1}
    finally:
        rt.unload()


def test_inkling_threads_pins_it_too(starter_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(THREADS_ENV, "1")
    rt = LlamaRuntime()
    info = rt.load(str(starter_path), LoadOptions(n_ctx=512))
    try:
        assert not info.threads_automatic and info.n_threads == 1
        assert llama_cpp.llama_n_threads_batch(rt.llm.ctx) == 1
    finally:
        rt.unload()


def test_the_other_programs_cpu_use_is_measured() -> None:
    """OtherLoad reads the machine's busy time less this process's own: a busy child counts, our own work doesn't."""
    import subprocess
    import sys
    import time

    from app.engine.threads import OtherLoad

    if not os.path.exists("/proc/stat"):
        pytest.skip("needs /proc/stat (Linux)")
    load = OtherLoad()
    spin = subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 1.0\nwhile time.time() < end: pass"])
    time.sleep(0.9)
    with_child = load.sample()
    spin.wait()
    end = time.process_time() + 0.5
    while time.process_time() < end:  # this process's own work is not the others'
        pass
    own_only = load.sample()
    assert with_child is not None and own_only is not None
    assert with_child >= 0.5, f"a spinning child used {with_child:.2f} cores"
    assert own_only < with_child, (own_only, with_child)
