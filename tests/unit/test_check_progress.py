"""The checks' progress: its words, a live line on a terminal, lines in a log, quiet under -q."""

from __future__ import annotations

import threading

import pytest

from pytest_atom_gates import check_progress
from pytest_atom_gates.check_progress import CheckProgress


class FakeScreen:
    def __init__(self, *, live: bool = False, quiet: bool = False) -> None:
        self.live = live
        self.quiet = quiet
        self.shown: list[tuple[str, str]] = []
        self.changed = threading.Event()

    def write_line(self, text: str) -> None:
        self.shown.append(("line", text))
        self.changed.set()

    def rewrite(self, text: str) -> None:
        self.shown.append(("rewrite", text))
        self.changed.set()


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def progress(screen: FakeScreen, clock: FakeClock) -> CheckProgress:
    return CheckProgress(screen, tests=4, limit=1000, time_left=lambda: 75.4, clock=clock)


def test_the_line_says_questions_tests_time_and_time_left() -> None:
    clock = FakeClock()
    shown = progress(FakeScreen(), clock)
    shown.asked()
    assert shown.text() == (
        "TQ-01's checks: 1 question asked (limit 1000), 0 of 4 tests settled, 0 s, "
        "75 s of their time left"
    )
    for _ in range(11):
        shown.asked()
    shown.settled(3)
    shown.settled(5)  # never more than there are
    clock.now += 12.4
    assert shown.text() == (
        "TQ-01's checks: 12 questions asked (limit 1000), 4 of 4 tests settled, 12 s, "
        "75 s of their time left"
    )
    assert (
        shown.closing_text() == "TQ-01's checks done: 12 questions, 4 of 4 tests settled in 12.4 s"
    )


def test_in_a_log_a_line_at_the_start_every_interval_and_at_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(check_progress, "LOG_INTERVAL", 0.01)
    screen, clock = FakeScreen(), FakeClock()
    with progress(screen, clock) as shown:
        while len(screen.shown) < 3:
            screen.changed.wait(1)
            screen.changed.clear()
        shown.line("t.py::victim fails after t.py::polluter (found in 3 runs)")
    kinds = {kind for kind, _ in screen.shown}
    assert kinds == {"line"}
    texts = [text for _, text in screen.shown]
    assert texts[0].startswith("atom-gates: TQ-01's checks: 0 questions asked (limit 1000)")
    assert "atom-gates: t.py::victim fails after t.py::polluter (found in 3 runs)" in texts
    assert (
        texts[-1] == "atom-gates: TQ-01's checks done: 0 questions, 0 of 4 tests settled in 0.0 s"
    )


def test_on_a_terminal_one_live_line_cleared_before_other_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(check_progress, "LIVE_INTERVAL", 0.01)
    screen, clock = FakeScreen(live=True), FakeClock()
    with progress(screen, clock) as shown:
        while len(screen.shown) < 3:
            screen.changed.wait(1)
            screen.changed.clear()
        shown.line("t.py::victim is flaky in order: passed once of 5")
    kinds = [kind for kind, _ in screen.shown]
    # Rewritten in place; emptied before a line of its own, and before the closing line.
    line_at = kinds.index("line")
    assert set(kinds[: line_at - 1]) == {"rewrite"}
    assert screen.shown[line_at - 1] == ("rewrite", "")
    assert (
        screen.shown[line_at][1] == "atom-gates: t.py::victim is flaky in order: passed once of 5"
    )
    closing = "atom-gates: TQ-01's checks done: 0 questions, 0 of 4 tests settled in 0.0 s"
    assert screen.shown[-1] == ("line", closing)
    # A live line shown since is emptied first; else the line before is the flaky one.
    assert screen.shown[-2] in (("rewrite", ""), screen.shown[line_at])


def test_quiet_shows_only_the_closing_line() -> None:
    screen, clock = FakeScreen(quiet=True), FakeClock()
    with progress(screen, clock) as shown:
        shown.line("t.py::victim fails after t.py::polluter (found in 3 runs)")
        shown.asked()
        shown.settled()
        clock.now += 2
    assert screen.shown == [
        ("line", "atom-gates: TQ-01's checks done: 1 question, 1 of 4 tests settled in 2.0 s")
    ]
