"""Pure functions: fitting messages into a context, keeping a prompt's end, cutting at stop strings."""

from __future__ import annotations

from app.core.context import StopMatcher, fit_messages, keep_tail


def _count(messages: list[dict[str, str]]) -> int:
    return sum(len(m["content"].split()) + 2 for m in messages)


def _chat(turns: int) -> list[dict[str, str]]:
    msgs = [{"role": "system", "content": "be nice"}]
    for i in range(turns):
        msgs += [{"role": "user", "content": f"q{i} " * 10}, {"role": "assistant", "content": f"a{i} " * 10}]
    return [*msgs, {"role": "user", "content": "last question"}]


def test_everything_fits_nothing_dropped() -> None:
    fitted = fit_messages(_chat(2), _count, 1000)
    assert fitted.dropped == 0 and len(fitted.messages) == 6


def test_oldest_turns_go_first_and_system_and_last_stay() -> None:
    msgs = _chat(10)
    fitted = fit_messages(msgs, _count, 60)
    assert fitted.messages[0]["role"] == "system"
    assert fitted.messages[-1]["content"] == "last question"
    assert fitted.messages[1]["role"] == "user"  # never starts with an orphaned reply
    assert fitted.prompt_tokens <= 60
    assert fitted.dropped == len(msgs) - len(fitted.messages)
    # the most that fits: one more message would not
    assert _count(msgs[:1] + msgs[1 + fitted.dropped - 1:]) > 60


def test_when_nothing_fits_the_minimum_is_returned() -> None:
    fitted = fit_messages(_chat(3), _count, 3)
    assert [m["content"] for m in fitted.messages] == ["be nice", "last question"]


def test_keep_tail_keeps_the_end_and_the_start_token() -> None:
    assert keep_tail([1, 5, 6, 7, 8], 3, keep_first=1) == [1, 7, 8]
    assert keep_tail([5, 6, 7, 8], 2) == [7, 8]
    assert keep_tail([5, 6], 4) == [5, 6]


def test_stop_string_is_cut_even_across_tokens() -> None:
    m = StopMatcher(["\nUser:"])
    shown = "".join(m.feed(p) for p in ["Hello", " there", "\n", "Us", "er:", " more"])
    assert shown == "Hello there"
    assert m.stopped


def test_text_that_only_looks_like_a_stop_start_is_released() -> None:
    m = StopMatcher(["###"])
    shown = "".join(m.feed(p) for p in ["a #", "# b"])
    assert shown + m.flush() == "a ## b"
    assert not m.stopped


def test_ban_guard_finds_a_banned_word_split_over_tokens() -> None:
    from app.core.context import BanGuard

    guard = BanGuard(["Paris"])
    assert guard.add("The capital is") is None
    assert guard.releasable() == 1
    assert guard.add(" Par") is None
    assert guard.releasable() == 1  # " Par" might become "Paris": held back
    assert guard.add("is.") == 1  # the word began in token 1
    guard.rollback(1)
    assert guard.texts == ["The capital is"]


def test_ban_guard_respects_word_starts() -> None:
    from app.core.context import BanGuard

    guard = BanGuard(["cat"])
    assert guard.add("concatenate") is None
    assert guard.add(" Cats") == 1
