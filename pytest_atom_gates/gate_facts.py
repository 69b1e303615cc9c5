"""What an extension's gate judges (``pytest_atom_gates.extension.GateFacts``): the run's
tests and their final outcomes, read-only. Imported by a run with an extension's gate only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pytest_atom_gates.gates.base import RunFacts


@dataclass(frozen=True)
class GateFacts:
    """What an extension's gate judges, read-only: the run's tests and their final outcomes."""

    outcomes: Mapping[str, str]
    """Every test's final outcome after reruns, by node id: ``passed``, ``failed``, ``flaky``,
    ``skipped``, ``xfailed``, ``xpassed`` or ``not-run``. Quarantined tests are left out here
    and below, as they count for no gate."""
    durations: Mapping[str, float]
    """Seconds spent on each finished test, over all its attempts."""
    elapsed: float
    """The session's wall clock so far, in seconds."""
    seed: int
    interrupted: str | None = None
    """Why the run was interrupted (Ctrl+C, SIGTERM, pytest.exit()), if it was."""
    stopped_early: str | None = None
    """Why the run stopped before every selected test ran (-x, --maxfail, budget), if it did."""
    partial: str | None = None
    """Why the run covers only part of the suite (-k, -m, node ids, a CI shard), if it does."""
    attempts: Mapping[str, int] = field(default_factory=dict)
    """Tests that ran more than once (reruns), and how many attempts they had."""

    def count(self, *outcomes: str) -> int:
        """How many tests ended with any of these outcomes."""
        return sum(1 for outcome in self.outcomes.values() if outcome in outcomes)

    @classmethod
    def of(cls, facts: RunFacts) -> GateFacts:
        ledger, quarantined = facts.ledger, facts.quarantined
        outcomes = {n: o for n, o in ledger.outcomes() if n not in quarantined}
        attempts = {
            n: len(ledger.attempts(n))
            for n in ledger.with_outcome("failed", "flaky")
            if n not in quarantined
        }
        durations = {n: s for n, s in ledger.durations.items() if n not in quarantined}
        return cls(
            outcomes=MappingProxyType(outcomes),
            durations=MappingProxyType(durations),
            elapsed=facts.elapsed,
            seed=facts.seed,
            interrupted=facts.interrupted,
            stopped_early=facts.stopped_early,
            partial=facts.partial_reason,
            attempts=MappingProxyType({n: a for n, a in attempts.items() if a > 1}),
        )
