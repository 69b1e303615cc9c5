"""Never a silent minute: what TQ-01's checks have done, shown while they run after the last test.

On a terminal one live line, rewritten every second; in a CI log (no terminal) a line when the
checks start and at least every 10 s; under ``-q`` nothing until one closing line. Each line
says how many questions were asked (of the limit), how many of the tests to check are settled,
the time spent and the time the checks have left.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import pytest

LIVE_INTERVAL = 1.0
"""Seconds between updates of a terminal's live line."""
LOG_INTERVAL = 10.0
"""At most this many seconds between two lines in a CI log."""


class Ticker:
    """Calls ``show`` every ``interval`` seconds from a thread of its own, while in use."""

    def __init__(self, show: Callable[[], None], interval: float, name: str) -> None:
        self.show = show
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True, name=name)

    def __enter__(self) -> Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self.show()


class Progress(Protocol):
    """What the checks report as they go; ``NoProgress`` ignores it."""

    def line(self, text: str) -> None:
        """A line of its own (a search's result)."""

    def asked(self) -> None:
        """One more question was asked."""

    def settled(self, count: int = 1) -> None:
        """``count`` more of the tests to check have their verdict."""


class NoProgress:
    def line(self, text: str) -> None:
        pass

    def asked(self) -> None:
        pass

    def settled(self, count: int = 1) -> None:
        pass


class Screen(Protocol):
    """Where progress is shown: pytest's terminal reporter, as ``session`` wraps it."""

    live: bool
    """A terminal: one line rewritten in place."""
    quiet: bool
    """``-q``: only the closing line."""

    def write_line(self, text: str) -> None: ...

    def rewrite(self, text: str) -> None: ...


class TerminalScreen:
    """pytest's terminal, as the checks show their progress on it: silent under ``-q`` or
    without a terminal reporter."""

    def __init__(self, config: pytest.Config) -> None:
        self.reporter = config.pluginmanager.get_plugin("terminalreporter")
        self.quiet = self.reporter is None or int(config.getoption("verbose", 0)) < 0
        # pytest 8.0 keeps ``isatty`` as a bool; later versions make it callable too.
        isatty = getattr(self.reporter, "isatty", False)
        self.live = bool(isatty() if callable(isatty) else isatty)
        self._started = False

    def write_line(self, text: str) -> None:
        if self.reporter is not None:
            self._start(self.reporter)
            self.reporter.write_line(text)

    def rewrite(self, text: str) -> None:
        if self.reporter is not None:
            self._start(self.reporter)
            self.reporter.rewrite(text, erase=True)

    def _start(self, reporter: Any) -> None:
        if not self._started:  # end the progress line that pytest-xdist leaves open
            reporter.write_line("")
            self._started = True


class CheckProgress:
    """Counts what the checks do and shows it on ``screen`` from a thread of its own."""

    def __init__(
        self,
        screen: Screen,
        *,
        tests: int,
        limit: int,
        time_left: Callable[[], float | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.screen = screen
        self.tests = tests
        self.limit = limit
        self.time_left = time_left
        self.clock = clock
        self.started = clock()
        self.questions = 0
        self.done = 0
        self._lock = threading.Lock()
        self._ticker: Ticker | None = None
        self._live_shown = False

    # -- what the checks report -----------------------------------------------------------

    def line(self, text: str) -> None:
        if self.screen.quiet:
            return
        with self._lock:
            self._clear_live()
            self.screen.write_line(f"atom-gates: {text}")

    def asked(self) -> None:
        with self._lock:
            self.questions += 1

    def settled(self, count: int = 1) -> None:
        with self._lock:
            self.done = min(self.tests, self.done + count)

    # -- what is shown --------------------------------------------------------------------

    def text(self) -> str:
        """The state of the checks, in one line."""
        elapsed = self.clock() - self.started
        left = self.time_left()
        tail = "" if left is None else f", {max(0.0, left):.0f} s of their time left"
        questions = "question" if self.questions == 1 else "questions"
        return (
            f"TQ-01's checks: {self.questions} {questions} asked (limit {self.limit}), "
            f"{self.done} of {self.tests} tests settled, {elapsed:.0f} s{tail}"
        )

    def closing_text(self) -> str:
        elapsed = self.clock() - self.started
        questions = "question" if self.questions == 1 else "questions"
        return (
            f"TQ-01's checks done: {self.questions} {questions}, {self.done} of {self.tests} "
            f"tests settled in {elapsed:.1f} s"
        )

    def __enter__(self) -> CheckProgress:
        if not self.screen.quiet:
            self._show()
            interval = LIVE_INTERVAL if self.screen.live else LOG_INTERVAL
            self._ticker = Ticker(self._show, interval, "atom-gates-check-progress").__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._ticker is not None:
            self._ticker.__exit__()
        with self._lock:
            self._clear_live()
            self.screen.write_line(f"atom-gates: {self.closing_text()}")

    def _show(self) -> None:
        with self._lock:
            text = f"atom-gates: {self.text()}"
            if self.screen.live:
                self.screen.rewrite(text)
                self._live_shown = True
            else:
                self.screen.write_line(text)

    def _clear_live(self) -> None:
        if self._live_shown:
            self.screen.rewrite("")
            self._live_shown = False
