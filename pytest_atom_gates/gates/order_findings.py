"""What TQ-01's checks found about each failed test they checked, and what answered them.

Made only by a run whose checks ran (or by a report read back): a passing run never builds
these classes, so it does not import them.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_atom_gates.outcomes import FAILED


@dataclass(frozen=True)
class AloneCheck:
    """The result of rerunning one failed test alone in a fresh process with the same seed."""

    nodeid: str
    result: str
    detail: str
    ran_before: tuple[str, ...] = ()
    reproduce: str = ""
    polluters: tuple[str, ...] = ()
    """The smallest set of earlier tests the test fails after, when the search found it."""
    search: str | None = None
    """How the polluter search ended (``pollution.FOUND`` and co.); None when it did not run."""
    search_runs: int = 0
    search_detail: str = ""
    brittle: bool = False
    """It failed alone too and passed after earlier tests in file order: ``polluters`` are then
    the tests that set it up, and ``reproduce`` runs it alone."""
    passes: str = ""
    """The command under which it passes: alone for a victim, after its setters for a brittle
    test."""
    origin: str = FAILED
    """Its final outcome in the run: ``failed``, or ``flaky`` for a test that passed on a rerun
    and was replayed after the tests before its first attempt."""
    confirmations: int = 0
    """Runs that gave the search's and the alone-run's answers again (``pollution.confirm``)."""
    state_changes: tuple[str, ...] | None = None
    """What its polluters (or setters) changed in the process, seen in their replay with
    snapshots (``process_state``); empty when nothing was seen to change, None when no replay
    took snapshots."""
    state_after_victim: tuple[str, ...] | None = None
    """Of those changes, what was still changed after the test itself ran."""


@dataclass(frozen=True)
class CheckEngine:
    """What answered the checks' questions: forked copies of one server, or fresh processes
    (``fallback`` says why, when forked copies were wanted)."""

    mechanism: str
    fallback: str | None = None
    forked: int = 0
    fresh_processes: int = 0
    refreshed: tuple[str, ...] = ()
    """Tests whose set found in forked copies did not reproduce in a fresh process: checked
    again in fresh processes."""
    handed_over: int = 0
    """Questions a forked copy could not answer as a fresh process would, so one answered."""
    handed_over_reason: str | None = None
    """Why, for the first of them."""
    probes: int = 0
    """Probes the forked copies took on their way through searches' first questions
    (``pollution.Probes``): each answered whether the victim fails after the tests so far."""
