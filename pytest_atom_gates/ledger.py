"""The ledger: facts about the run, recorded from test reports on the controller.

Hooks only record here; gates read from here. Plain passing tests, the vast majority, cost one
dict entry (their duration) and one list slot (their place in the process that ran them); a full
attempt history is kept only for tests that did something else.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

import pytest

from pytest_atom_gates.invocation import hide_secrets
from pytest_atom_gates.outcomes import FAILED, FLAKY, NOT_RUN, PASSED, SKIPPED, XFAILED, XPASSED

if TYPE_CHECKING:
    from pytest_atom_gates.attempts import Attempt, TestRecord
    from pytest_atom_gates.failures import Failure


REPORT_LIMIT = 5_000_000
"""Characters of failure detail one run keeps in all; past it, failed attempts keep only their
one-line error, and the report says how many."""

OUTCOMES = (PASSED, FLAKY, FAILED, SKIPPED, XFAILED, XPASSED, NOT_RUN)
"""Final outcomes of a test, one per node id, after reruns."""

RERUN = "rerun"
"""Report outcome of an attempt that failed and is followed by another attempt."""
REPEAT = "repeat"
"""Report outcome of an attempt that passed and is followed by a repetition (a new test)."""
NOT_LAST = (RERUN, REPEAT)
"""Report outcomes of attempts that another attempt of the same test follows."""

CRASH_PHASE = "???"
"""The ``when`` of the report pytest-xdist makes for a test whose worker died."""

MAIN_PROCESS = "main"


def exception_text(report: pytest.TestReport | pytest.CollectReport) -> str | None:
    """``ExceptionType: message`` of a failed report, when pytest recorded the exception."""
    crash = getattr(report.longrepr, "reprcrash", None)
    message = str(getattr(crash, "message", "")).strip() if crash is not None else ""
    return message or None


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning): ")


def _crash_line(report: pytest.TestReport | pytest.CollectReport) -> str:
    """One line saying why a report failed, without rendering the whole traceback; secrets
    hidden, as in the whole failure."""
    return hide_secrets(_crash_text(report))


def _crash_text(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    message = exception_text(report)
    if message:
        return message.splitlines()[0]
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # skip reports: (path, line, reason)
        return str(longrepr[2])
    text = str(longrepr).strip() if longrepr is not None else ""
    lines = [line for line in text.splitlines() if line.strip()]
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    # A failed import shows the traceback's lines first: the exception itself is the last
    # "Type: message" line (a SyntaxError, say), not the first.
    raised = [line for line in errors if _EXCEPTION_LINE.match(line)]
    if raised:
        return raised[-1][:500]
    chosen = errors[0] if errors else (lines[-1] if lines else "")
    return chosen[:500]


class CollectionError(NamedTuple):
    nodeid: str
    message: str
    failure: Failure | None = None


def module_of(nodeid: str) -> str:
    """The module (file) part of a node id."""
    return nodeid.split("::", 1)[0]


def is_file(nodeid: str) -> bool:
    """A file's node id, not a test's: every test's has a ``::``."""
    return "::" not in nodeid


class Ledger:
    """Facts of the run, fed report by report; read by the gates once, at the end."""

    def __init__(self) -> None:
        self.selected: list[str] | None = None
        """Node ids selected to run, in run order; None until collection finished."""
        self.deselected = 0
        self.collection_errors: list[CollectionError] = []
        self.durations: dict[str, float] = {}
        """Finished tests and the seconds spent on them over all attempts."""
        self.sequences: dict[str, list[str]] = {}
        """Per process (``main`` or an xdist worker id), the tests in the order they started."""
        self._running: dict[str, float] = {}
        self._spent: dict[str, float] = {}
        self._records: dict[str, TestRecord] = {}
        self._repeated = False
        """The selection names a test more than once (``--keep-duplicates``)."""
        self._order: list[str] | None = None
        """After ``finish``: every test, in ``nodeids`` order."""
        self._final: dict[str, str] = {}
        """After ``finish``: the final outcome of every test that did not pass; passes are
        implicit, so a healthy run stores nothing per test."""
        self._by_outcome: dict[str, list[str]] = {}
        """After ``finish``: the tests of each outcome but ``passed``, in ``nodeids`` order."""
        self._settled: set[str] = set()
        """Tests that failed and then passed because of the order: passed, not flaky."""
        self.failure_detail_left = REPORT_LIMIT
        """Characters of failure detail the run may still keep (``failures``)."""
        self.failures_left_out = 0
        """Failed attempts that kept only their one-line error: the limit was reached."""

    # -- recording ------------------------------------------------------------------------

    def set_selected(self, nodeids: Iterable[str]) -> None:
        self.selected = list(nodeids)
        # At collection, when a transient set costs no peak memory (the reports come later).
        self._repeated = len(set(self.selected)) != len(self.selected)

    def record_collect_report(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(
                CollectionError(report.nodeid, _crash_line(report), self._failure(report))
            )

    def record(self, report: pytest.TestReport, worker: str = MAIN_PROCESS) -> None:
        """Record one test report; the hot path, called three times per test."""
        nodeid = report.nodeid
        when = report.when
        outcome = report.outcome
        running = self._running
        plain_pass = outcome == "passed" and nodeid not in self._records  # only its time counts
        if plain_pass and when == "teardown":
            self.durations[nodeid] = running.pop(nodeid, 0.0) + report.duration
            return
        if when == "setup" and nodeid not in running:
            self._start(nodeid, worker)
        running[nodeid] = running.get(nodeid, 0.0) + report.duration
        if plain_pass:
            if when == "call" and hasattr(report, "wasxfail"):
                self._record_for(nodeid).note(XPASSED)
            return
        record = self._record_for(nodeid)
        self._note(record, report, outcome, when)
        if when in ("teardown", CRASH_PHASE) or outcome in NOT_LAST:
            self._close_attempt(record, nodeid, worker, final=outcome not in NOT_LAST)

    def restore(self, nodeid: str, attempts: Sequence[Attempt], process: str) -> None:
        """Record a test's attempts as a report gave them (``atom-gates merge``): the same
        facts as if its reports had been recorded here, ``process`` being where it ran."""
        self.sequences.setdefault(process, []).append(nodeid)
        if not attempts:
            return
        self.durations[nodeid] = sum(a.duration for a in attempts)
        if len(attempts) > 1 or attempts[0].outcome != PASSED:
            self._record_for(nodeid).attempts.extend(attempts)

    def _start(self, nodeid: str, worker: str) -> None:
        sequence = self.sequences.get(worker)
        if sequence is None:
            sequence = self.sequences[worker] = []
        sequence.append(nodeid)
        previous = self.durations.pop(nodeid, None)  # rescheduled after its worker crashed
        if previous is not None:
            self._running[nodeid] = previous

    def _record_for(self, nodeid: str) -> TestRecord:
        record = self._records.get(nodeid)
        if record is None:
            from pytest_atom_gates.attempts import TestRecord  # a test that did not just pass

            record = self._records[nodeid] = TestRecord(nodeid)
        return record

    def _failure(self, report: pytest.TestReport | pytest.CollectReport) -> Failure | None:
        """The whole failure of a failed report, while the run's limit allows."""
        if self.failure_detail_left <= 0:
            self.failures_left_out += 1
            return None
        from pytest_atom_gates.failures import failure_of  # a run with failures

        failure = failure_of(report)
        self.failure_detail_left -= failure.size()
        return failure

    def _note(self, record: TestRecord, report: pytest.TestReport, outcome: str, when: str) -> None:
        if outcome in ("failed", RERUN):
            phase = "crash" if when == CRASH_PHASE else when
            if record.note(FAILED, phase, _crash_line(report)):
                record.open_failure = self._failure(report)
        elif outcome == "skipped":
            if hasattr(report, "wasxfail"):
                record.note(XFAILED, when, hide_secrets(str(report.wasxfail)) or None)
            else:
                record.note(SKIPPED, when, _crash_line(report))
        elif when == "call" and hasattr(report, "wasxfail"):
            record.note(XPASSED)

    def _close_attempt(self, record: TestRecord, nodeid: str, worker: str, final: bool) -> None:
        total = self._running.get(nodeid, 0.0)
        spent = self._spent.get(nodeid, 0.0)
        record.close(total - spent, None if worker == MAIN_PROCESS else worker)
        if final:
            self.durations[nodeid] = self._running.pop(nodeid, total)
            self._spent.pop(nodeid, None)
        else:
            self._spent[nodeid] = total

    def finish(self) -> None:
        """The run is over: compute every final outcome once, for the many reads that follow."""
        for nodeid in list(self._running):
            record = self._records.get(nodeid)
            if record is not None and record.open_outcome == FAILED:
                # It failed, then the run stopped before its teardown (quitting --pdb, say):
                # the failure is a fact, never "did not run".
                self._close_attempt(record, nodeid, self.process_of(nodeid) or MAIN_PROCESS, True)
        order = self._order = self._all_nodeids()
        records, durations = self._records, self.durations
        others = self._final = {}
        by_outcome = self._by_outcome = {}
        for nodeid in order:
            # A plain pass has a duration and no record: nothing to store for it.
            if nodeid in records or nodeid not in durations:
                outcome = self.outcome(nodeid)
                if outcome != PASSED:
                    others[nodeid] = outcome
                    group = by_outcome.get(outcome)
                    if group is None:
                        group = by_outcome[outcome] = []
                    group.append(nodeid)

    def settle_order_dependent(self, nodeids: Iterable[str]) -> None:
        """These tests failed because of the order, and then passed: not flaky (DESIGN §3), so
        their final outcome is the pass. TQ-01 names them; their attempts keep the failure."""
        flaky = self._by_outcome.get(FLAKY)
        for nodeid in nodeids:
            if self._final.get(nodeid) == FLAKY and flaky is not None:
                del self._final[nodeid]
                flaky.remove(nodeid)
                self._settled.add(nodeid)

    # -- reading ----------------------------------------------------------------------------

    def outcome(self, nodeid: str) -> str:
        record = self._records.get(nodeid)
        if record is not None and (record.attempts or nodeid in self.durations):
            return PASSED if nodeid in self._settled else record.final_outcome
        if nodeid in self.durations:
            return PASSED
        return NOT_RUN

    def run_more_than_once(self) -> dict[str, list[Attempt]]:
        """The tests that ran more than once (reruns, new-test repetitions), with each run."""
        return {n: list(r.attempts) for n, r in self._records.items() if len(r.attempts) > 1}

    def attempts(self, nodeid: str) -> list[Attempt]:
        record = self._records.get(nodeid)
        if record is not None:
            return list(record.attempts)
        duration = self.durations.get(nodeid)
        if duration is None:
            return []
        from pytest_atom_gates.attempts import Attempt

        return [Attempt(PASSED, duration)]

    def nodeids(self) -> Sequence[str]:
        """Every test the run knows of: the selection in order, then any reported beyond it."""
        return self._order if self._order is not None else self._all_nodeids()

    def _all_nodeids(self) -> list[str]:
        known = self.selected or []
        if not self._repeated and self._all_selected(known):
            return known  # the common case: every reported test was selected; no set, no copy
        seen = set(known)
        reported = itertools.chain(self.durations, self._records, self._running)
        extra = dict.fromkeys(n for n in reported if n not in seen)
        return known + list(extra)

    def _all_selected(self, known: list[str]) -> bool:
        """Whether every reported test is among ``known`` (which names each test once).

        Counted with loops in C over the selection: the tests that finished, then the few
        others reported (a record or still running), each counted once.
        """
        durations = self.durations
        others = {n for n in itertools.chain(self._records, self._running) if n not in durations}
        selected = sum(map(durations.__contains__, known)) + sum(map(others.__contains__, known))
        return selected == len(durations) + len(others)

    def outcomes(self) -> Iterator[tuple[str, str]]:
        if self._order is not None:
            others = self._final
            for nodeid in self._order:
                yield nodeid, others.get(nodeid, PASSED)
            return
        for nodeid in self.nodeids():
            yield nodeid, self.outcome(nodeid)

    def passed(self) -> Iterator[str]:
        """The tests that passed, in ``nodeids`` order: after ``finish``, a loop in C."""
        if self._order is None:
            return (nodeid for nodeid, outcome in self.outcomes() if outcome == PASSED)
        return itertools.filterfalse(self._final.__contains__, self._order)

    def not_passed(self) -> Iterator[tuple[str, str]]:
        """The tests that did not pass, with their final outcomes."""
        if self._order is None:
            return ((nodeid, outcome) for nodeid, outcome in self.outcomes() if outcome != PASSED)
        return iter(self._final.items())

    def counts(self, excluding: Collection[str] = ()) -> Counter[str]:
        """How many tests ended with each outcome, leaving out the tests in ``excluding``."""
        if self._order is None:
            return Counter(o for n, o in self.outcomes() if n not in excluding)
        counts = Counter({outcome: len(group) for outcome, group in self._by_outcome.items()})
        counts[PASSED] = len(self._order) - len(self._final)
        for nodeid in excluding:
            outcome = self._final.get(nodeid)
            if outcome is not None:
                counts[outcome] -= 1
            elif nodeid in self.durations:
                counts[PASSED] -= 1
        return +counts  # drop the outcomes that no test is left with

    def with_outcome(self, *wanted: str) -> list[str]:
        """The tests with any of these final outcomes, in ``nodeids`` order."""
        if self._order is None or PASSED in wanted:
            return [nodeid for nodeid, outcome in self.outcomes() if outcome in wanted]
        groups = [self._by_outcome[o] for o in wanted if o in self._by_outcome]
        if len(groups) == 1:
            return list(groups[0])
        if not groups:
            return []
        return [nodeid for nodeid, outcome in self._final.items() if outcome in wanted]

    def unfinished(self) -> list[str]:
        """Tests that started but never finished (interrupted, or the run stopped mid-test)."""
        return list(self._running)

    def process_of(self, nodeid: str) -> str | None:
        for worker, sequence in self.sequences.items():
            if nodeid in sequence:
                return worker
        return None

    def ran_before(self, nodeid: str) -> Sequence[str]:
        """The tests that started before ``nodeid`` in the process that ran it."""
        for sequence in self.sequences.values():
            if nodeid in sequence:
                return sequence[: sequence.index(nodeid)]
        return ()

    def repetitions(self) -> dict[str, int]:
        """New tests that ran again after a passing first attempt, and how many more times:
        up to the first repetition that failed (the repetitions stop there)."""
        repeated = {}
        for nodeid, record in self._records.items():
            attempts = record.attempts
            if len(attempts) < 2 or attempts[0].outcome != PASSED:
                continue
            more = next(
                (i for i, a in enumerate(attempts[1:], 1) if a.outcome != PASSED),
                len(attempts) - 1,
            )
            repeated[nodeid] = more
        return repeated

    def last_error(self, nodeid: str) -> str | None:
        record = self._records.get(nodeid)
        if record is None:
            return None
        for attempt in reversed(record.attempts):
            if attempt.error:
                return attempt.error
        return None

    def last_failure(self, nodeid: str) -> Failure | None:
        """The whole failure of the test's last failed attempt, when the run kept it."""
        record = self._records.get(nodeid)
        if record is None:
            return None
        return next((a.failure for a in reversed(record.attempts) if a.failure), None)

    def failure_count(self) -> int:
        return len(self.with_outcome(FAILED, NOT_RUN))
