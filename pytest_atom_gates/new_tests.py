"""New tests, proven stable before they land (TQ-04): which tests are new, and what their
repetitions may spend.

A test is new when the flake history does not know it, or, with
``--atom-gates-changed-since=REF``, when git says its file changed since REF. A new test that
passes its first attempt runs ``--atom-gates-new-test-runs`` more times in place, each run with
a seed of its own; mixed outcomes make it flaky, and a new flaky test fails TQ-04.

The controller (or the single process) decides what is new once, before any test runs: it reads
the history and asks git. Workers get the plan in their ``workerinput`` and repeat their own
tests, with no round trip.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from itertools import filterfalse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_atom_gates.history import FlakeHistory
from pytest_atom_gates.settings import MAX_SEED, Settings

if TYPE_CHECKING:
    from pytest_atom_gates.changes import Base

NEW_TEST_ATTRIBUTE = "atom_gates_new_test"
"""Report attribute on a new test's last teardown report: what its repetitions did."""
WORKER_PLAN_KEY = "atom_gates_new_tests"
REPLAY_ENV = "ATOM_GATES_REPLAY_REPETITIONS"
"""Set by TQ-01 for its checks: a JSON file of the node ids whose repetitions the checked run
made, and how many; the child repeats exactly those, so a check replays what the run did."""

# What became of a new test's repetitions.
REPEATED = "repeated"
"""Every repetition ran; whether they all passed, the ledger says."""
SLOW = "slow"
OVER_BUDGET = "over budget"
NOT_PASSED = "did not pass"
"""Its first attempt failed, was skipped or xfailed: nothing to prove stable."""

_SEED_STEP = 0x9E3779B9
"""The golden-ratio step: the seeds of a test's repetitions spread over the whole range."""


def repetition_seed(seed: int, repetition: int) -> int:
    """The session seed of repetition ``repetition`` (1, 2, ...) of a test.

    A test's seed is derived from the session seed and its node id, so running the test alone
    with ``--atom-gates-seed`` set to this value gives it the repetition's seed again.
    """
    return (seed + repetition * _SEED_STEP) % (MAX_SEED + 1)


@dataclass(frozen=True, eq=False, repr=False)  # one per run: no generated code it never uses
class NewTestPlan:
    """What counts as new in this run and what repeating it may cost, for one process."""

    runs: int
    max_first_duration: float
    budget_seconds: float
    history_folder: str | None
    """The cache folder with the flake history whose node ids are known; None: no history."""
    changed: tuple[str, ...]
    """Changed test files, relative to the rootdir with ``/`` as in node ids."""
    source: str
    """What makes a test new here, for the header: ``absent from the flake history``, ..."""
    replay: tuple[tuple[str, int], ...] = ()
    """In a TQ-01 check: exactly these tests are repeated, this many more times each."""

    def to_workerinput(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_workerinput(cls, data: Mapping[str, Any]) -> NewTestPlan:
        replay = tuple((str(n), int(r)) for n, r in data.get("replay", ()))
        return cls(**{**data, "changed": tuple(data["changed"]), "replay": replay})

    def for_workers(self, workers: int) -> NewTestPlan:
        """Each of ``workers`` processes spends its share of the budget."""
        return NewTestPlan(
            self.runs,
            self.max_first_duration,
            self.budget_seconds / max(workers, 1),
            self.history_folder,
            self.changed,
            self.source,
            self.replay,
        )


class NewTests:
    """Where tests run: which are new, and the repetition budget this process has left."""

    def __init__(self, plan: NewTestPlan, known: Collection[str]) -> None:
        self.plan = plan
        self.runs = plan.runs
        self.known = known
        self.changed = frozenset(plan.changed)
        self.replay = dict(plan.replay)
        self.spent = 0.0

    def runs_of(self, nodeid: str) -> int:
        """How many more times a new test runs once it passed."""
        return self.replay.get(nodeid, 0) if self.replay else self.runs

    def among(self, nodeids: Collection[str]) -> frozenset[str]:
        """The new tests among the collected ``nodeids``: decided once, not asked per test."""
        if self.replay:
            return frozenset(self.replay)
        known, changed = self.known, self.changed
        new = set(filterfalse(known.__contains__, nodeids)) if known else set()
        if changed:
            new.update(n for n in nodeids if n.partition("::")[0] in changed)
        return frozenset(new)

    def why_not(self, first_duration: float) -> str | None:
        """Why a new test that passed in ``first_duration`` is not repeated, or None."""
        plan = self.plan
        if first_duration > plan.max_first_duration:
            return SLOW
        if self.spent + first_duration * self.runs > plan.budget_seconds:
            return OVER_BUDGET
        return None


def known_tests(plan: NewTestPlan | None) -> Collection[str]:
    """The node ids the flake history knows, as a worker reads them for its plan."""
    if plan is None or plan.history_folder is None:
        return ()
    return _in_history(FlakeHistory(Path(plan.history_folder)))


def _in_history(history: FlakeHistory) -> Collection[str]:
    """The tests the flake history knows, whatever their outcomes: the others are new. A known
    flaky test warns; were it new until a clean pass, it would fail TQ-04 every run."""
    tests, _ = history.load()  # a damaged file warns at the end of the run
    return tests.keys()  # recording copies the history first: these stay as read


def plan_new_tests(
    config: pytest.Config,
    settings: Settings,
    history: FlakeHistory | None,
    notes: list[str],
    base: Base | None,
) -> tuple[NewTestPlan | None, Collection[str]]:
    """What is new in this run, decided once where the run starts (None when nothing can be),
    and the node ids the flake history knows. ``base``: where the change starts, when
    ``--atom-gates-changed-since`` names one.
    """
    replay = _replayed_repetitions()
    if replay is not None:
        return replay, ()
    if settings.new_test_runs == 0:
        return None, ()
    changed: tuple[str, ...] = ()
    sources = []
    if base is not None:
        from pytest_atom_gates.changes import changed_files  # --atom-gates-changed-since

        changed = changed_files(config.rootpath, base)
        count = len(changed)
        sources.append(f"changed since {base.ref}: {count} changed file{'' if count == 1 else 's'}")
    known: Collection[str] = ()
    if settings.shard is not None:
        # A shard's cache holds the part of the suite the shard ran, which moves between runs:
        # every test another shard ran would look new.
        notes.append(
            "a CI shard's flake history holds only its own part of the suite: only "
            "--atom-gates-changed-since=REF makes a test new here"
        )
    elif history is not None:
        known = _in_history(history)
    if known:
        sources.insert(0, "absent from the flake history")
    if not sources and settings.shard is None:
        why = (
            "--atom-gates-changed-since=REF is not given"
            if settings.changed_since is None
            else f"--atom-gates-changed-since={settings.changed_since} named no base"
        )
        notes.append(
            f"no test counts as new: the flake history is empty (this run starts it) and {why}"
        )
    if not sources:
        return None, ()
    budget = float(settings.new_test_budget) / 100 * settings.max_duration
    plan = NewTestPlan(
        settings.new_test_runs,
        settings.new_test_max_duration,
        budget,
        str(history.folder) if known and history is not None else None,
        changed,
        ", or ".join(sources),
    )
    return plan, known


def _replayed_repetitions() -> NewTestPlan | None:
    """The plan of a TQ-01 check that replays a run's repetitions (``REPLAY_ENV``), or None."""
    path = os.environ.get(REPLAY_ENV)
    if not path:
        return None
    try:
        counts = json.loads(Path(path).read_text(encoding="utf-8"))
        replay = tuple((str(nodeid), int(runs)) for nodeid, runs in counts.items())
    except (OSError, ValueError, AttributeError) as exc:
        raise pytest.UsageError(f"{REPLAY_ENV}={path}: not a file of repetitions ({exc})") from None
    runs = max((runs for _, runs in replay), default=0)
    return NewTestPlan(
        runs, math.inf, math.inf, None, (), "replayed as the checked run made them", replay
    )


def header_part(plan: NewTestPlan | None, settings: Settings) -> str | None:
    if plan is None:
        return None
    return (
        f"new tests run {plan.runs} more times ({plan.source}; first attempt <= "
        f"{plan.max_first_duration:g} s, {settings.new_test_budget:g}% of TQ-03)"
    )
