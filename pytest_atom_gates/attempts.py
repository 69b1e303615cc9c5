"""A test's attempts, one by one: kept only for a test that did anything but pass at its
first attempt (``ledger``), so a run whose tests all pass never imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pytest_atom_gates.outcomes import FAILED, FLAKY, NOT_RUN, PASSED, SKIPPED, XFAILED

if TYPE_CHECKING:
    from pytest_atom_gates.failures import Failure


@dataclass(slots=True)
class Attempt:
    """One run of a test through setup, call and teardown."""

    outcome: str
    duration: float
    phase: str | None = None
    """Where a failed attempt failed: setup, call, teardown, or crash (its worker died)."""
    error: str | None = None
    """A failed attempt's one-line error; a skipped or xfailed one's reason."""
    worker: str | None = None
    failure: Failure | None = None
    """A failed attempt's whole failure (``failures``), while the run's limit allows."""


@dataclass(slots=True)
class TestRecord:
    """Attempt history of a test that did anything but pass at the first attempt."""

    nodeid: str
    attempts: list[Attempt] = field(default_factory=list)
    open_outcome: str = PASSED
    open_phase: str | None = None
    open_error: str | None = None
    open_failure: Failure | None = None

    __test__ = False  # not a test class, despite the name

    def note(self, outcome: str, phase: str | None = None, error: str | None = None) -> bool:
        """Merge one phase's outcome into the open attempt; a failure outranks everything.
        Whether the phase's outcome was taken."""
        if self.open_outcome == FAILED:
            return False
        if outcome == FAILED or self.open_outcome == PASSED or outcome in (SKIPPED, XFAILED):
            self.open_outcome, self.open_phase, self.open_error = outcome, phase, error
            self.open_failure = None
            return True
        return False

    def close(self, duration: float, worker: str | None) -> None:
        self.attempts.append(
            Attempt(
                self.open_outcome,
                duration,
                self.open_phase,
                self.open_error,
                worker,
                self.open_failure,
            )
        )
        self.open_outcome, self.open_phase, self.open_error = PASSED, None, None
        self.open_failure = None

    @property
    def final_outcome(self) -> str:
        if not self.attempts:
            return NOT_RUN
        last = self.attempts[-1].outcome
        if last == FAILED and self.attempts[-1].phase == "teardown":
            # Its last teardown also tears down the wider fixtures the next test does not
            # need: an error there is a failure, never flakiness of the test.
            return FAILED
        # Passed after a failure (a rerun), or failed after a pass (a new test's repetition).
        if last in (PASSED, FAILED) and len(self.attempts) > 1:
            others = {a.outcome for a in self.attempts[:-1]}
            if (FAILED if last == PASSED else PASSED) in others:
                return FLAKY
        return last
