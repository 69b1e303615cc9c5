"""TQ-04 determinism: tests that failed and then passed on a rerun are flaky."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from pytest_atom_gates.gates.base import GateVerdict, RunFacts, Verdict
from pytest_atom_gates.outcomes import FLAKY, SKIPPED, XFAILED, XPASSED


@dataclass(eq=False, repr=False)  # one per run, known by identity: no generated code
class RerunFacts:
    """What the rerun engine reported: whether reruns ran, and where the outage cap stopped them."""

    reruns: int
    capped: list[str] = field(default_factory=list)
    new_flaky: list[str] = field(default_factory=list)
    """New tests (absent from the flake history, or changed) that are flaky: they fail the gate."""
    failed_seeds: dict[str, int] = field(default_factory=dict)
    """New tests whose repetition failed, and that repetition's seed."""


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
                limit.count if limit.count is not None else _share_of(limit.percent or 0, counted)
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
        # A new test found order-dependent after its repetitions is TQ-01's, no longer flaky.
        new_flaky = [n for n in reruns.new_flaky if ledger.outcome(n) == FLAKY]
        data["new_flaky"] = new_flaky
        measured = f"{len(flaky)} flaky" if reruns.reruns or flaky else "reruns off"
        if new_flaky:
            measured += f" ({len(new_flaky)} new)"
            required += ", no new test flaky"
        failures = []
        if allowed is not None and len(flaky) > allowed:
            failures.append(f"{len(flaky)} flaky tests, more than the {allowed} allowed")
        if new_flaky:
            failures.append(
                f"new tests are flaky, and must pass every run before they land: "
                f"{_names(new_flaky)}"
            )
        if failures:
            return GateVerdict(
                self.id, Verdict.FAIL, measured, required, "; ".join(failures), data=data
            )
        doubts = []
        if flaky:
            doubts.append(f"flaky: {_names(flaky)}")
        doubts += reruns.capped  # each process that stopped its reruns, said once, here
        if not reruns.reruns:
            doubts.append(
                f"reruns are off ({facts.settings.reruns_off_by}): flakiness was not measured"
            )
        if doubts:
            return GateVerdict(
                self.id, Verdict.WARN, measured, required, "; ".join(doubts), data=data
            )
        return GateVerdict(self.id, Verdict.PASS, measured, required, data=data)


def _names(nodeids: list[str]) -> str:
    """The first three node ids, and how many more."""
    more = f" and {len(nodeids) - 3} more" if len(nodeids) > 3 else ""
    return ", ".join(nodeids[:3]) + more


def _share_of(percent: Decimal | int, counted: int) -> int:
    """``percent`` % of ``counted`` tests, rounded down, in exact arithmetic."""
    top, bottom = percent.as_integer_ratio()
    return (top * counted) // (bottom * 100)
