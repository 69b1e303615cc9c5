"""TQ-04 wiring: the rerun engine where tests run; flaky tests, quarantine and history on the
controller, where the reports of every process arrive.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest

from pytest_atom_gates.compat import SWITCHED_OFF_RERUNNERS
from pytest_atom_gates.features import Writer
from pytest_atom_gates.gates.base import RunFacts
from pytest_atom_gates.gates.determinism import DeterminismGate, RerunFacts
from pytest_atom_gates.gates.numbers import format_seconds
from pytest_atom_gates.history import (
    BROKEN,
    BROKEN_RUNS,
    FlakeRate,
    flake_rate,
    status,
)
from pytest_atom_gates.ledger import REPEAT, RERUN
from pytest_atom_gates.new_tests import (
    NEW_TEST_ATTRIBUTE,
    NOT_PASSED,
    OVER_BUDGET,
    REPEATED,
    SLOW,
    header_part,
)
from pytest_atom_gates.outcomes import FAILED, FLAKY
from pytest_atom_gates.protocol import CAPPED_ATTRIBUTE, QUARANTINE_ATTRIBUTE
from pytest_atom_gates.quarantine import QuarantineEntry, QuarantineList
from pytest_atom_gates.run import RUN_KEY, GatesRun, is_xdist_controller
from pytest_atom_gates.settings import setting_source

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_atom_gates.extension import GateRegistry


_TAGS = frozenset((NEW_TEST_ATTRIBUTE, QUARANTINE_ATTRIBUTE, CAPPED_ATTRIBUTE))
"""The attributes the protocol sets on a test's last report for TQ-04 (xdist carries them)."""


class DeterminismFeature:
    """Collects what TQ-04 judges and shows: flaky tests, quarantine, the cap, the history."""

    name = "determinism"

    def __init__(self, config: pytest.Config, run: GatesRun, quarantine: QuarantineList) -> None:
        self.config = config
        self.run = run
        self.gate = DeterminismGate()
        self.quarantine = quarantine
        self.marked: dict[str, str] = {}
        self.capped: list[str] = []
        self.unused: list[QuarantineEntry] = []
        self.rates: dict[str, FlakeRate] = {}
        self.broken: dict[str, str] = {}
        """Failed tests that the history calls broken, and their recent outcomes."""
        self.history_warning: str | None = None
        self.new_tests: dict[str, dict[str, Any]] = {}
        """New tests, by node id: what their repetitions did (``NEW_TEST_ATTRIBUTE``)."""
        self.new_entries: dict[str, dict[str, Any]] = {}
        """New tests as the report gives them, once judged."""

    # -- reports, as the controller receives them ---------------------------------------------

    def observe(self, report: pytest.TestReport) -> None:
        """Quarantine marks, the rerun cap and new tests' repetitions ride on a test's last
        report; the controller hands over the reports that carry one of ``_TAGS`` (most carry
        none), and every rerun report."""
        if report.outcome in (RERUN, REPEAT):
            if not self.config.pluginmanager.has_plugin(RERUN_STATUS):
                # Only from the first rerun on: a status hook would cost every report.
                self.config.pluginmanager.register(RerunStatus(), RERUN_STATUS)
            return
        repeated = getattr(report, NEW_TEST_ATTRIBUTE, None)
        if repeated is not None:
            self.new_tests[report.nodeid] = repeated
        reason = getattr(report, QUARANTINE_ATTRIBUTE, None)
        if reason is not None:
            self.marked[report.nodeid] = str(reason)
        capped = getattr(report, CAPPED_ATTRIBUTE, None)
        if capped is not None:
            node = getattr(report, "node", None)
            where = f"{node.gateway.id}: " if node is not None else ""
            self.capped.append(f"{where}{capped}")

    # -- the Feature protocol --------------------------------------------------------------

    def header(self) -> str:
        settings = self.run.settings
        if not settings.reruns:
            new = header_part(self.run.new_tests, settings)
            return "TQ-04 reruns off" + ("" if new is None else f", {new}")
        delay = settings.rerun_delay
        pause = f"{delay:g} s apart" if delay else "no pause"
        text = f"TQ-04 reruns {settings.reruns} ({pause}, same test seed)"
        if settings.max_flaky is not None:
            text += f", flaky <= {settings.max_flaky}"
        new = header_part(self.run.new_tests, settings)
        return text if new is None else f"{text}, {new}"

    def contribute(self, facts: RunFacts) -> None:
        if self.marked or self.quarantine.entries:  # no pass over every test otherwise
            nodeids = facts.ledger.nodeids()
            plain_ids = self.run.plain_ids  # quarantine entries name tests without xdist's @group
            for nodeid in nodeids:
                reason = self.marked.get(nodeid) or self.quarantine.reason(
                    plain_ids.get(nodeid, nodeid)
                )
                if reason is not None:
                    facts.quarantined[nodeid] = reason
            # An entry naming a test that -m or -k left out still matches a test.
            named = [plain_ids.get(n, n) for n in nodeids] if plain_ids else list(nodeids)
            self.unused = self.quarantine.unused([*named, *self.run.deselected])
        self.new_entries = self._new_test_entries(facts)
        new_flaky = [
            n
            for n, entry in self.new_entries.items()
            if entry["outcome"] == FLAKY and n not in facts.quarantined
        ]
        failed_seeds = {
            n: entry["failed_seed"]
            for n, entry in self.new_entries.items()
            if entry["failed_seed"] is not None
        }
        facts.extras["reruns"] = RerunFacts(
            self.run.settings.reruns,
            list(self.capped),
            new_flaky=new_flaky,
            failed_seeds=failed_seeds,
        )
        self._update_history(facts)

    def _update_history(self, facts: RunFacts) -> None:
        if facts.interrupted:
            return  # an interrupted run's outcomes say nothing about its tests' flakiness
        history = self.run.history  # there is one where there is a cache folder
        if history is None:
            problem = self.run.cache.problem
            if problem:
                self.history_warning = f"flake history was not updated: {problem}"
            return
        ledger = facts.ledger
        ran = ledger.durations  # a test that never ran has no outcome to record
        others = [(n, o) for n, o in ledger.not_passed() if n in ran]
        recorded, self.history_warning = history.record(ledger.passed(), others)
        self.rates = {
            nodeid: flake_rate(recorded[nodeid])
            for nodeid in facts.ledger.with_outcome(FLAKY)
            if nodeid in recorded
        }
        self.broken = {
            nodeid: flake_rate(recorded[nodeid]).recent
            for nodeid in facts.ledger.with_outcome(FAILED)
            if nodeid in recorded and status(recorded[nodeid]) == BROKEN
        }

    def report_section(self, facts: RunFacts) -> Mapping[str, Any]:
        settings = self.run.settings
        return {
            "reruns": settings.reruns,
            "rerun_delay": settings.rerun_delay,
            "flaky": [
                {
                    "nodeid": nodeid,
                    "evidence": _evidence(facts, nodeid, self.config.rootpath),
                    "history": None
                    if nodeid not in self.rates
                    else {
                        "flaky": self.rates[nodeid].flaky,
                        "runs": self.rates[nodeid].runs,
                        "outcomes": self.rates[nodeid].outcomes,
                    },
                }
                for nodeid in facts.ledger.with_outcome(FLAKY)
            ],
            "broken": [
                {"nodeid": nodeid, "recent": recent} for nodeid, recent in self.broken.items()
            ],
            "rerun_cap": self.capped,
            "quarantined": [
                {"nodeid": n, "reason": r, "outcome": facts.ledger.outcome(n)}
                for n, r in facts.quarantined.items()
            ],
            "unused_quarantine_entries": [
                {"pattern": e.pattern, "line": e.line} for e in self.unused
            ],
            "history_warning": self.history_warning,
            "new_tests": self._new_tests_section(),
        }

    def _new_tests_section(self) -> dict[str, Any] | None:
        plan = self.run.new_tests
        if plan is None:
            return None
        return {
            "runs": plan.runs,
            "source": plan.source,
            "max_first_duration": plan.max_first_duration,
            "budget_seconds": self.run.settings.max_duration
            * float(self.run.settings.new_test_budget)
            / 100,
            "tests": [{"nodeid": nodeid, **entry} for nodeid, entry in self.new_entries.items()],
        }

    def _new_test_entries(self, facts: RunFacts) -> dict[str, dict[str, Any]]:
        """Each new test: its outcome after its runs, the runs, and what it would take to see
        a failing repetition again."""
        entries = {}
        for nodeid, repeated in self.new_tests.items():
            outcome = facts.ledger.outcome(nodeid)
            seeds = list(repeated.get("seeds", ()))
            last_failed = outcome == FLAKY and facts.ledger.attempts(nodeid)[-1].outcome == FAILED
            failed_seed = seeds[-1] if seeds and last_failed else None
            entries[nodeid] = {
                "outcome": outcome,
                "status": repeated.get("status"),
                "first_duration": repeated.get("first"),
                "seeds": seeds,
                "failed_seed": failed_seed,
                "reproduce": None
                if failed_seed is None
                else _reproduce_command(self.config, nodeid, failed_seed),
            }
        return entries

    def render(self, write: Writer, verbosity: int, facts: RunFacts) -> None:
        ledger = facts.ledger
        flaky = ledger.with_outcome(FLAKY)
        if flaky:
            write("")
            write(f"flaky tests ({len(flaky)}), passed and failed:", bold=True, yellow=True)
            for nodeid in flaky:
                rate = self.rates.get(nodeid)
                write(f"  {nodeid}" + (f" - {rate}" if rate else ""))
                for number, attempt in enumerate(ledger.attempts(nodeid), start=1):
                    how = (
                        f"{attempt.outcome} in {attempt.phase}"
                        if attempt.outcome == FAILED
                        else attempt.outcome
                    )
                    error = f" - {attempt.error}" if attempt.error and verbosity >= 0 else ""
                    write(
                        f"    attempt {number}: {how} after "
                        f"{format_seconds(attempt.duration)}{error}"
                    )
                evidence = _evidence(facts, nodeid, self.config.rootpath)
                if evidence:
                    write(f"    evidence: {' | '.join(evidence)}")
        if self.new_entries:
            self._render_new_tests(write, verbosity)
        if self.broken:
            write("")
            write(
                f"broken tests ({len(self.broken)}), failed each of their last {BROKEN_RUNS} "
                "runs: a failure, not a flake",
                bold=True,
                red=True,
            )
            for nodeid, recent in self.broken.items():
                write(f"  {nodeid} - recent {recent}")
        if facts.quarantined:
            write("")
            write(
                f"quarantined tests ({len(facts.quarantined)}), counted by no gate:",
                bold=True,
                yellow=True,
            )
            for nodeid, reason in facts.quarantined.items():
                write(f"  {nodeid} - {ledger.outcome(nodeid)} ({reason})")
        for entry in self.unused:
            write(
                f"  quarantine entry matches no test: {entry.pattern} "
                f"({self.quarantine.path}:{entry.line})",
                yellow=True,
            )
        if self.history_warning:
            write(f"  {self.history_warning}", yellow=True)

    def _render_new_tests(self, write: Writer, verbosity: int) -> None:
        plan = self.run.new_tests
        assert plan is not None  # new tests are reported only when they were planned
        entries = self.new_entries
        write("")
        write(
            f"new tests ({len(entries)}), each run {plan.runs} more times after it passed "
            f"({plan.source}):",
            bold=True,
        )
        groups: dict[str, list[str]] = {}
        for nodeid, entry in entries.items():
            group = _new_test_group(entry)
            if group == NOT_PASSED and nodeid in self.broken:
                continue  # it never passed: listed as broken, not as a new test that failed
            groups.setdefault(group, []).append(nodeid)
        for nodeid in groups.pop(FLAKY, []):
            entry = entries[nodeid]
            if entry["failed_seed"] is None:
                write(f"  {nodeid} - flaky: failed its first attempt, passed a rerun", red=True)
                continue
            failed = len(entry["seeds"])
            write(
                f"  {nodeid} - flaky: repetition {failed} of {plan.runs} failed "
                f"(seed {entry['failed_seed']})",
                red=True,
            )
            write(f"    reproduce: {entry['reproduce']}")
        stable = groups.pop(STABLE_NEW, [])
        if stable:
            listed = ":" if verbosity > 0 else " (-v lists them)"
            write(f"  {len(stable)} passed all {plan.runs + 1} runs{listed}")
            if verbosity > 0:
                for nodeid in stable:
                    write(f"    {nodeid}")
        budget = self.run.settings.max_duration * float(self.run.settings.new_test_budget) / 100
        reasons = {
            SLOW: f"first attempt over {plan.max_first_duration:g} s",
            OVER_BUDGET: f"their runs would exceed the repetition budget of {budget:g} s "
            f"({self.run.settings.new_test_budget:g}% of TQ-03)",
            NOT_PASSED: "did not pass every run (failed, skipped or xfailed)",
        }
        for group, reason in reasons.items():
            nodeids = groups.get(group, [])
            if not nodeids:
                continue
            if group == NOT_PASSED and verbosity <= 0:
                write(f"  {reason}: {len(nodeids)} (-v lists them)")
                continue
            shown = "not repeated, " if group != NOT_PASSED else ""
            write(f"  {shown}{reason} ({len(nodeids)}):", yellow=group != NOT_PASSED)
            for nodeid in nodeids:
                first = entries[nodeid]["first_duration"]
                shown = f" ({format_seconds(first)})" if group == SLOW else ""
                write(f"    {nodeid}{shown}")


STABLE_NEW = "stable"


def _new_test_group(entry: Mapping[str, Any]) -> str:
    """Where a new test is listed: flaky, stable (repeated and passed), or why not repeated."""
    if entry["outcome"] == FLAKY:
        return FLAKY
    if entry["status"] == REPEATED:
        # Repeated, and it ended neither passed nor flaky: failed (in a wider teardown, say) or
        # skipped; pytest's own summary has why.
        return STABLE_NEW if entry["outcome"] == "passed" else NOT_PASSED
    return str(entry["status"])


def _reproduce_command(config: pytest.Config, nodeid: str, seed: int) -> str:
    """The command that runs a new test alone with a failed repetition's seed."""
    from pytest_atom_gates.check_commands import CheckCommands  # only when a repetition failed

    run = config.stash[RUN_KEY]
    return CheckCommands(config, seed, path=run.path).reproduce_command(nodeid, ())


RERUN_STATUS = "atom-gates-rerun-status"


class RerunStatus:
    """Shows rerun attempts as ``R`` / ``RERUN`` and new tests' passed repetitions as ``r`` /
    ``REPEATED``, and counts them apart from failures and passes."""

    def pytest_report_teststatus(
        self, report: pytest.TestReport
    ) -> tuple[str, str, tuple[str, Mapping[str, bool]]] | None:
        if report.outcome == RERUN:
            return "rerun", "R", ("RERUN", {"yellow": True})
        if report.outcome == REPEAT:
            return "repeated", "r", ("REPEATED", {"green": True})
        return None


class CrashRerun:
    """Under xdist: a test whose worker died is rescheduled on a healthy worker, within budget."""

    def __init__(self, reruns: int) -> None:
        self.reruns = reruns
        self.crashes: dict[str, int] = {}

    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: Any) -> None:
        crashes = self.crashes[crashitem] = self.crashes.get(crashitem, 0) + 1
        if crashes <= self.reruns and hasattr(sched, "mark_test_pending"):
            sched.mark_test_pending(crashitem)
            report.outcome = RERUN  # type: ignore[assignment]


@pytest.hookimpl
def pytest_atom_gates_add_gates(config: pytest.Config, gates: GateRegistry) -> None:
    """TQ-04's controller side, added as any extension's gate is; the reruns themselves run
    in the test protocol, where tests run."""
    run = gates.run
    feature = DeterminismFeature(
        config,
        run,
        QuarantineList.read(run.settings.quarantine_path, setting_source(config, "quarantine")),
    )
    config.pluginmanager.register(feature, "atom-gates-determinism")
    gates.add_feature(feature, observe=feature.observe, tags=_TAGS)
    for name in config.stash.get(SWITCHED_OFF_RERUNNERS, []):
        run.notes.append(f"{name} is switched off for this run; atom-gates reruns failed tests")
    if is_xdist_controller(config):
        config.pluginmanager.register(CrashRerun(run.settings.reruns), "atom-gates-crash-rerun")


def _evidence(facts: RunFacts, nodeid: str, rootpath: Path) -> list[str]:
    """What points at a flaky test's cause; its module is imported by runs with flaky tests."""
    from pytest_atom_gates.flaky_evidence import flaky_evidence

    return flaky_evidence(facts, nodeid, rootpath)
