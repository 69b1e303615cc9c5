"""TQ-01 independence: a test whose outcome depends on the order is order-dependent.

Two directions: a *victim* failed in the shuffled run and passes alone (an earlier test, its
polluter, breaks it); a *brittle* test fails alone too but passes after the tests before it in
file order (an earlier test, its state-setter, sets it up).

A test that failed and then passed on a rerun is checked too: its rerun may have met other state
than its failed attempt (a deferred rerun after a test that reset it, an in-place rerun after a
teardown that repaired it), so it is replayed after the tests that preceded its first attempt,
and only a pass there keeps it flaky.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from pytest_atom_gates.gates.base import GateVerdict, RunFacts, Verdict
from pytest_atom_gates.outcomes import FAILED, FLAKY
from pytest_atom_gates.settings import FILE_ORDER

if TYPE_CHECKING:
    from pytest_atom_gates.gates.order_findings import AloneCheck, CheckEngine

FORKED = "forked copies"
FRESH = "fresh processes"

ORDER_DEPENDENT = "order-dependent"
FAILS_ALONE = "fails-alone"
INCONCLUSIVE = "inconclusive"
CHANCE = "flaky"
"""Its failure did not replay after the tests before it, or the polluter set found was not
confirmed: chance, not order. TQ-04 judges it."""


@dataclass(eq=False, repr=False)  # one per run, known by identity: no generated code
class OrderChecks:
    """What the session found out about its failed tests' order dependence."""

    checks: list[AloneCheck] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    skipped_reason: str | None = None
    flaky_unchecked: list[str] = field(default_factory=list)
    """Flaky tests not replayed after the tests before them: flaky, order not checked."""
    flaky_reason: str | None = None
    interrupted: bool = False
    """An interrupt (Ctrl-C, SIGTERM) stopped the checks: the run ends as interrupted."""
    engine: CheckEngine | None = None
    """None when no question was asked."""

    @property
    def flaky_checked(self) -> list[AloneCheck]:
        return [c for c in self.checks if c.origin == FLAKY]

    @property
    def order_dependent(self) -> list[AloneCheck]:
        return [c for c in self.checks if c.result == ORDER_DEPENDENT]

    @property
    def inconclusive(self) -> list[AloneCheck]:
        return [c for c in self.checks if c.result == INCONCLUSIVE]

    @property
    def not_in_file_order(self) -> list[AloneCheck]:
        """Tests that failed alone too but were not rerun in file order: brittle or not, unknown."""
        return [c for c in self.checks if c.result == FAILS_ALONE and c.search is not None]


class IndependenceGate:
    id = "TQ-01"

    def evaluate(self, facts: RunFacts) -> GateVerdict:
        failed = facts.ledger.with_outcome(FAILED)
        checks: OrderChecks = facts.extras.get("order_checks") or OrderChecks(unchecked=failed)
        dependent = checks.order_dependent
        required = "no order-dependent tests"
        flaky_checked = len(checks.flaky_checked)
        flaky = flaky_checked + len(checks.flaky_unchecked)
        alone = len(checks.checks) - flaky_checked
        data = {
            "seed": facts.seed,
            "failed": len(failed),
            "checked": alone,
            "order_dependent": [c.nodeid for c in dependent],
            "unchecked": list(checks.unchecked),
            "flaky_replayed": flaky_checked,
            "flaky_unchecked": list(checks.flaky_unchecked),
            "engine": None if checks.engine is None else asdict(checks.engine),
        }
        measured = (
            f"{len(dependent)} order-dependent ({alone} of {len(failed)} failed tests rerun alone"
        )
        measured += f", {flaky_checked} of {flaky} flaky tests replayed)" if flaky else ")"
        if dependent:
            victims = [c.nodeid for c in dependent if not c.brittle]
            brittle = [c.nodeid for c in dependent if c.brittle]
            reasons = []
            if victims:
                reasons.append(f"failed in the shuffled run, passed alone: {_names(victims)}")
            if brittle:
                reasons.append(
                    f"failed alone too, passed after earlier tests in file order: {_names(brittle)}"
                )
            reason = "; ".join(reasons)
            return GateVerdict(self.id, Verdict.FAIL, measured, required, reason, data=data)
        doubts = []
        if facts.settings.order == FILE_ORDER:
            doubts.append(
                "the tests ran in file order (--atom-gates-order=file): nothing was shuffled, "
                "so their independence was not tested"
            )
        if checks.unchecked:
            why = f": {checks.skipped_reason}" if checks.skipped_reason else ""
            doubts.append(f"{len(checks.unchecked)} failed tests not rerun alone{why}")
        if checks.flaky_unchecked:
            why = f": {checks.flaky_reason}" if checks.flaky_reason else ""
            doubts.append(f"{len(checks.flaky_unchecked)} flaky tests, order not checked{why}")
        if checks.inconclusive:
            doubts.append(
                f"{len(checks.inconclusive)} alone-runs inconclusive "
                f"({checks.inconclusive[0].detail})"
            )
        if checks.not_in_file_order:
            first, count = checks.not_in_file_order[0], len(checks.not_in_file_order)
            tests = (
                "1 test that failed alone too was"
                if count == 1
                else (f"{count} tests that failed alone too were")
            )
            doubts.append(f"{tests} not rerun in file order ({first.search_detail})")
        if doubts:
            return GateVerdict(
                self.id, Verdict.WARN, measured, required, "; ".join(doubts), data=data
            )
        return GateVerdict(self.id, Verdict.PASS, measured, required, data=data)


def engine_text(engine: CheckEngine) -> str:
    """What answered TQ-01's questions, in one line."""
    forked, fresh = engine.forked, engine.fresh_processes
    if engine.mechanism == FORKED:
        probes = engine.probes
        on_the_way = f" ({probes} probe{'' if probes == 1 else 's'} on the way)" if probes else ""
        text = (
            f"{forked} question{'' if forked == 1 else 's'} answered by forked copies of one "
            f"pytest process{on_the_way}, {fresh} fresh process{'' if fresh == 1 else 'es'}"
        )
        if engine.fallback:
            text += f" (then fresh processes: {engine.fallback})"
    else:
        text = f"{fresh} fresh process{'' if fresh == 1 else 'es'}"
        if engine.fallback:
            text += f" (no forked copies: {engine.fallback})"
    if engine.handed_over:
        text += (
            f"; {engine.handed_over} question{'' if engine.handed_over == 1 else 's'} "
            f"handed to fresh processes: {engine.handed_over_reason}"
        )
    if engine.refreshed:
        text += (
            f"; {len(engine.refreshed)} checked again in fresh processes, their set found in "
            "forked copies not reproduced in a fresh one"
        )
    return f"TQ-01's checks: {text}"


def _names(nodeids: list[str]) -> str:
    more = f" and {len(nodeids) - 3} more" if len(nodeids) > 3 else ""
    return ", ".join(nodeids[:3]) + more
