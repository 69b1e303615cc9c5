"""TQ-03 duration: the session's wall clock on the controller against its budget."""

from __future__ import annotations

from pytest_atom_gates.gates.base import GateVerdict, RunFacts, Verdict
from pytest_atom_gates.gates.numbers import format_seconds


def over_test_budget(facts: RunFacts) -> list[tuple[str, float]]:
    """Tests with an attempt longer than the per-test budget, slowest first."""
    budget = facts.settings.max_test_duration
    if budget is None:
        return []
    ledger = facts.ledger
    slow = []
    for nodeid, total in ledger.durations.items():
        if total <= budget:
            continue  # no single attempt can be longer than all of them together
        longest = max((a.duration for a in ledger.attempts(nodeid)), default=total)
        if longest > budget:
            slow.append((nodeid, longest))
    return sorted(slow, key=lambda pair: -pair[1])


class DurationGate:
    id = "TQ-03"

    def evaluate(self, facts: RunFacts) -> GateVerdict:
        settings = facts.settings
        budget = settings.max_duration
        required = f"<= {format_seconds(budget)}"
        if settings.max_test_duration is not None:
            required += f", each test <= {format_seconds(settings.max_test_duration)}"
        slow = over_test_budget(facts)
        data = {
            "elapsed": facts.elapsed,
            "max_duration": budget,
            "max_test_duration": settings.max_test_duration,
            "over_test_budget": [{"nodeid": n, "duration": d} for n, d in slow],
            "stopped_on_budget": facts.budget_stop,
        }
        measured = format_seconds(facts.elapsed)
        reasons = []
        if facts.elapsed > budget:
            reasons.append(
                f"the session took {measured}, over its budget of {format_seconds(budget)}"
            )
        if facts.budget_stop:
            reasons.append("the budget ran out and the run was stopped before every test ran")
        if slow:
            names = ", ".join(f"{n} ({format_seconds(d)})" for n, d in slow[:3])
            more = f" and {len(slow) - 3} more" if len(slow) > 3 else ""
            reasons.append(f"{len(slow)} over the per-test budget: {names}{more}")
        verdict = Verdict.FAIL if reasons else Verdict.PASS
        return GateVerdict(
            self.id, verdict, measured, required, "; ".join(reasons) or None, data=data
        )
