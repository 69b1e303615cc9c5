"""TQ-01 independence: a test that fails in the shuffled run but passes alone is order-dependent."""

from __future__ import annotations

from dataclasses import dataclass, field

from pytest_atom_gates.gates.base import GateVerdict, RunFacts, Verdict
from pytest_atom_gates.ledger import FAILED

ORDER_DEPENDENT = "order-dependent"
FAILS_ALONE = "fails-alone"
INCONCLUSIVE = "inconclusive"


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


@dataclass
class OrderChecks:
    """What the session found out about its failed tests' order dependence."""

    checks: list[AloneCheck] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    skipped_reason: str | None = None

    @property
    def order_dependent(self) -> list[AloneCheck]:
        return [c for c in self.checks if c.result == ORDER_DEPENDENT]

    @property
    def inconclusive(self) -> list[AloneCheck]:
        return [c for c in self.checks if c.result == INCONCLUSIVE]


class IndependenceGate:
    id = "TQ-01"

    def evaluate(self, facts: RunFacts) -> GateVerdict:
        failed = facts.ledger.with_outcome(FAILED)
        checks: OrderChecks = facts.extras.get("order_checks") or OrderChecks(unchecked=failed)
        dependent = checks.order_dependent
        required = "no order-dependent tests"
        data = {
            "seed": facts.seed,
            "failed": len(failed),
            "checked": len(checks.checks),
            "order_dependent": [c.nodeid for c in dependent],
            "unchecked": list(checks.unchecked),
        }
        measured = (
            f"{len(dependent)} order-dependent ({len(checks.checks)} of {len(failed)} "
            "failed tests rerun alone)"
        )
        if dependent:
            names = ", ".join(c.nodeid for c in dependent[:3])
            more = f" and {len(dependent) - 3} more" if len(dependent) > 3 else ""
            reason = f"failed in the shuffled run, passed alone: {names}{more}"
            return GateVerdict(self.id, Verdict.FAIL, measured, required, reason, data=data)
        doubts = []
        if checks.unchecked:
            why = f": {checks.skipped_reason}" if checks.skipped_reason else ""
            doubts.append(f"{len(checks.unchecked)} failed tests not rerun alone{why}")
        if checks.inconclusive:
            doubts.append(
                f"{len(checks.inconclusive)} alone-runs inconclusive "
                f"({checks.inconclusive[0].detail})"
            )
        if doubts:
            return GateVerdict(
                self.id, Verdict.WARN, measured, required, "; ".join(doubts), data=data
            )
        return GateVerdict(self.id, Verdict.PASS, measured, required, data=data)
