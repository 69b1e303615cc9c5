"""TQ-04 determinism: tests that failed and then passed on a rerun are flaky."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from pytest_atom_gates.gates.base import GateVerdict, RunFacts, Verdict
from pytest_atom_gates.ledger import FLAKY, SKIPPED, XFAILED, XPASSED


@dataclass
class RerunFacts:
    """What the rerun engine reported: whether reruns ran, and where the outage cap stopped them."""

    reruns: int
    capped: list[str] = field(default_factory=list)


class DeterminismGate:
    id = "TQ-04"

    def evaluate(self, facts: RunFacts) -> GateVerdict:
        ledger = facts.ledger
        reruns: RerunFacts = facts.extras.get("reruns") or RerunFacts(facts.settings.reruns)
        flaky = [n for n in ledger.with_outcome(FLAKY) if n not in facts.quarantined]
        limit = facts.settings.max_flaky
        counts = ledger.counts(excluding=facts.quarantined)
        counted = sum(counts.values()) - counts[SKIPPED] - counts[XFAILED] - counts[XPASSED]
        allowed: int | None = None
        if limit is not None:
            allowed = (
                limit.count
                if limit.count is not None
                else int(Fraction(limit.percent or 0) * counted / 100)
            )
        required = "flaky tests warn" if limit is None else f"<= {limit} flaky"
        if limit is not None and limit.percent is not None:
            required += f" ({allowed} of {counted})"
        data = {
            "flaky": flaky,
            "reruns": reruns.reruns,
            "max_flaky": None if limit is None else str(limit),
            "allowed": allowed,
            "capped": reruns.capped,
        }
        measured = f"{len(flaky)} flaky" if reruns.reruns else "reruns off"
        if allowed is not None and len(flaky) > allowed:
            reason = f"{len(flaky)} flaky tests, more than the {allowed} allowed"
            return GateVerdict(self.id, Verdict.FAIL, measured, required, reason, data=data)
        doubts = []
        if flaky:
            names = ", ".join(flaky[:3]) + (f" and {len(flaky) - 3} more" if len(flaky) > 3 else "")
            doubts.append(f"flaky: {names}")
        if reruns.capped:
            doubts.append(reruns.capped[0])
        if not reruns.reruns:
            doubts.append(
                f"reruns are off ({facts.settings.reruns_off_by}): flakiness was not measured"
            )
        if doubts:
            return GateVerdict(
                self.id, Verdict.WARN, measured, required, "; ".join(doubts), data=data
            )
        return GateVerdict(self.id, Verdict.PASS, measured, required, data=data)
