"""The session clock.

``time.perf_counter`` is bound as a default argument when this module is imported, so a test that
freezes or patches time (freezegun, ``monkeypatch.setattr(time, ...)``) cannot fool the session
clock: freezegun rewrites module attributes, never default arguments.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Stopwatch:
    """Seconds elapsed since the stopwatch was made, from a clock that tests cannot patch."""

    def __init__(self, now: Callable[[], float] = time.perf_counter) -> None:
        self._now = now
        self._start = now()

    def elapsed(self) -> float:
        return self._now() - self._start
