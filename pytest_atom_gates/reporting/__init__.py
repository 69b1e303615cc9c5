"""Renderers: they read verdicts and facts and never change them.

The phrases more than one renderer uses live here, so the terminal, the GitHub step summary and
the JUnit properties say the same thing in the same words.
"""

from __future__ import annotations

from collections.abc import Sequence

from pytest_atom_gates.gates.base import GateVerdict, RunFacts, Verdict
from pytest_atom_gates.gates.numbers import format_threshold
from pytest_atom_gates.ledger import Attempt
from pytest_atom_gates.settings import GateMode


def failures_tolerated(verdicts: Sequence[GateVerdict]) -> bool:
    """Whether the failed tests stayed within the pass-rate minimum (TQ-02 passed)."""
    return any(v.gate == "TQ-02" and v.verdict is Verdict.PASS for v in verdicts)


def failures_heading(verdicts: Sequence[GateVerdict], facts: RunFacts) -> str:
    """The title of the failed tests' list, which says when the pass rate tolerated them."""
    if failures_tolerated(verdicts):
        minimum = format_threshold(facts.settings.min_pass_rate)
        return f"tolerated failures, within the TQ-02 minimum of {minimum}"
    return "failed tests"


def verdict_label(verdict: GateVerdict) -> str:
    """The verdict as the table shows it; a gate in warn mode says it is not enforced."""
    if verdict.mode is GateMode.WARN and verdict.verdict is Verdict.WARN:
        return f"{verdict.verdict.value} (warn only)"
    return verdict.verdict.value


def verdict_text(verdict: GateVerdict) -> str:
    """One line: the verdict, what was measured and what was required."""
    if verdict.verdict is Verdict.OFF:
        return "OFF: switched off"
    return f"{verdict.verdict.value}: {verdict.measured}, required {verdict.required}"


def attempts_text(attempts: Sequence[Attempt]) -> str:
    """A flaky test's history: the attempt that passed, then why each earlier one failed."""
    parts = [f"passed on attempt {len(attempts)}"]
    for number, attempt in enumerate(attempts[:-1], start=1):
        where = f" in {attempt.phase}" if attempt.phase else ""
        why = f": {attempt.error}" if attempt.error else ""
        parts.append(f"attempt {number} {attempt.outcome}{where}{why}")
    return "; ".join(parts)
