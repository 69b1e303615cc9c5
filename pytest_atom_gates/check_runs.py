"""How TQ-01's checks run: so many questions at a time, within a budget of questions and time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from pytest_atom_gates.pollution import NOT_ANALYSED, StopSearch

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


class Parallel:
    """Runs checks ``workers`` at a time; an interrupt stops them all and is remembered."""

    def __init__(self, workers: int, stop_children: Callable[[], None]) -> None:
        self.workers = max(1, workers)
        self.stop_children = stop_children
        self.interrupted = False

    def map(self, one: Callable[[_Item], _Result], items: Sequence[_Item]) -> list[_Result | None]:
        """The results in order; None for those not done because of an interrupt."""
        if self.interrupted:
            return [None] * len(items)
        if self.workers == 1 or len(items) <= 1:
            results: list[_Result | None] = []
            try:
                for item in items:
                    results.append(one(item))
            except KeyboardInterrupt:
                self.interrupted = True
            return results + [None] * (len(items) - len(results))
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="atom-gates-check")
        futures = [pool.submit(one, item) for item in items]
        try:
            return [future.result() for future in futures]
        except KeyboardInterrupt:  # signals reach the main thread, which waits here
            self.interrupted = True
            pool.shutdown(wait=False, cancel_futures=True)
            self.stop_children()  # their threads then end at once
            return [
                f.result() if f.done() and not f.cancelled() and f.exception() is None else None
                for f in futures
            ]
        finally:
            pool.shutdown(wait=not self.interrupted)


class Budget:
    """The questions and the time the checks may still take."""

    def __init__(
        self,
        processes: int,
        session_spent: Callable[[], bool],
        seconds: float | None,
        clock: Callable[[], float] = time.monotonic,
        asked: Callable[[], None] = lambda: None,
    ) -> None:
        self.limit = processes
        self.asked = asked
        """Told of each question taken (the checks' progress)."""
        self.left = processes
        self.session_spent = session_spent
        self.clock = clock
        self.deadline = None if seconds is None else clock() + seconds
        self._lock = threading.Lock()

    def reason(self) -> str | None:
        """Why no further process may start, or None."""
        if self.left <= 0:
            return f"limit of {self.limit} questions (--atom-gates-order-checks)"
        if self.session_spent():
            return "the session's time budget is spent"
        if self.deadline is not None and self.clock() >= self.deadline:
            return "the checks' share of the run's time is spent (--atom-gates-order-check-time)"
        return None

    def guarded(self, run: Callable[[_Item], _Result]) -> Callable[[_Item], _Result | str]:
        """``run``, once the budget allows one more process; else why it does not."""

        def one(item: _Item) -> _Result | str:
            try:
                self.take()
            except StopSearch as stop:
                return stop.detail
            return run(item)

        return one

    def take(self) -> None:
        """Count one more process, or stop the search when none may start."""
        with self._lock:  # checks in parallel take from one budget
            reason = self.reason()
            if reason is not None:
                raise StopSearch(NOT_ANALYSED, reason)
            self.left -= 1
        self.asked()
