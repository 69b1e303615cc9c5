"""Renderers: they read verdicts and facts and never change them.

The phrases more than one renderer uses live here, so the terminal, the GitHub step summary and
the JUnit properties say the same thing in the same words.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from pytest_atom_gates.gates.base import GateVerdict, RunFacts, Verdict
from pytest_atom_gates.gates.numbers import format_threshold
from pytest_atom_gates.settings import GateMode

if TYPE_CHECKING:
    from pytest_atom_gates.attempts import Attempt
    from pytest_atom_gates.gates.order_findings import AloneCheck

_LINE_BREAKS = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in map(ord, "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
} | {ord("\n"): "\\n", ord("\r"): "\\r"}


def one_line(text: str) -> str:
    """``text`` with its line breaks escaped, as pytest escapes node ids by default.

    With ``disable_test_id_escaping_and_forfeit_all_rights_to_community_support`` a node id may
    hold a newline; written as is, the rest would start a line of its own, where GitHub reads
    ``::error`` as a workflow command and Markdown reads ``#`` as a heading.
    """
    return text.translate(_LINE_BREAKS)


def running_on_github(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this run is a GitHub Actions job (``GITHUB_ACTIONS=true``)."""
    return environ.get("GITHUB_ACTIONS", "").strip().lower() == "true"


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


STATE_LINES = 12
"""Changes of the process state shown per test in the terminal; the JSON report has them all."""


def state_lines(check: AloneCheck, limit: int | None = STATE_LINES) -> list[str]:
    """What a test's polluters (or setters) left in the process, one line per change (at most
    ``limit``), as their replay's snapshots showed it; nothing when no replay took them."""
    changes = check.state_changes
    if changes is None:
        return []
    if not changes:
        return ["no process-wide change seen"]
    does = "sets" if check.brittle else "leaves"
    lines = [f"{does} {change}" for change in changes[:limit]]
    if limit is not None and len(changes) > limit:
        lines.append(f"and {len(changes) - limit} more changes (JSON report)")
    return lines


def order_dependence_text(check: AloneCheck) -> str:
    """What is known of an order-dependent test: its polluters (or, for a brittle test, the
    tests that set it up), or why they are not known."""
    from pytest_atom_gates.pollution import FLAKY_IN_ORDER, polluter_names  # an order-dependent run

    runs = f"{check.search_runs} run{'' if check.search_runs == 1 else 's'}"
    if check.polluters and check.brittle:
        return f"fails alone, passes only after {polluter_names(check.polluters)} (found in {runs})"
    if check.polluters:
        more = f"; {check.search_detail}" if check.search_detail else ""
        return f"fails after {polluter_names(check.polluters)} (found in {runs}{more})"
    if check.brittle:
        text, missing = check.detail, "state-setter"
    else:
        text, missing = f"failed in the shuffled run, {check.detail}", "polluter"
    if check.search == FLAKY_IN_ORDER and not check.search_runs:  # nothing ran before it
        return f"{text}; no {missing} to search: {check.search_detail}"
    if check.search == FLAKY_IN_ORDER:
        return f"{text}; flaky in order: {check.search_detail}"
    if check.search:
        return f"{text}; {missing} not found ({check.search}): {check.search_detail}"
    return text
