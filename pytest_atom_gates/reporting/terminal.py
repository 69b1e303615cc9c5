"""The terminal summary: the gate table, then the lists a reader acts on."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from typing import Any

from pytest_atom_gates.gates.base import GateVerdict, RunFacts, Verdict
from pytest_atom_gates.gates.independence import OrderChecks, engine_text
from pytest_atom_gates.gates.numbers import format_seconds
from pytest_atom_gates.ledger import Ledger
from pytest_atom_gates.outcomes import FAILED, NOT_RUN
from pytest_atom_gates.reporting import (
    failures_heading,
    failures_tolerated,
    order_dependence_text,
    state_lines,
    verdict_label,
)

_MARKUP = {
    Verdict.PASS: {"green": True},
    Verdict.WARN: {"yellow": True},
    Verdict.FAIL: {"red": True, "bold": True},
    Verdict.OFF: {},
    Verdict.DEFERRED: {"cyan": True},
}
_HEADINGS = ("gate", "name", "verdict", "measured", "required")

Writer = Callable[..., None]
"""``TerminalReporter.write_line``: text plus markup keywords."""


def _row(verdict: GateVerdict) -> tuple[str, ...]:
    return (verdict.gate, verdict.name, verdict_label(verdict), verdict.measured, verdict.required)


def render_table(write: Writer, verdicts: Sequence[GateVerdict]) -> None:
    rows = [_HEADINGS, *(_row(v) for v in verdicts)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADINGS))]

    def line(row: tuple[str, ...]) -> str:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        return "  ".join(cells).rstrip()

    write(line(_HEADINGS), bold=True)
    for verdict, row in zip(verdicts, rows[1:], strict=True):
        write(line(row), **_MARKUP[verdict.verdict])
    for verdict in verdicts:
        if verdict.reason and verdict.verdict is not Verdict.OFF:
            write(
                f"  {verdict.gate} {verdict.verdict.value}: {verdict.reason}",
                **_MARKUP[verdict.verdict],
            )


def _listing(
    write: Writer, title: str, lines: Sequence[str], limit: int | None, **markup: Any
) -> None:
    if not lines:
        return
    write("")
    write(f"{title} ({len(lines)}):", bold=True, **markup)
    shown = lines if limit is None else lines[:limit]
    for text in shown:
        write(f"  {text}")
    if len(shown) < len(lines):
        write(f"  ... and {len(lines) - len(shown)} more (-v lists all, or see the JSON report)")


def render_summary(
    write: Writer,
    verdicts: Sequence[GateVerdict],
    facts: RunFacts,
    verbosity: int,
    extra: Callable[[Writer, int], None] | None = None,
) -> None:
    """Everything after the section title: the table, the lists, and the closing verdict line."""
    ledger = facts.ledger
    limit = None if verbosity > 0 else (10 if verbosity == 0 else 5)
    with_errors = verbosity >= 0

    render_table(write, verdicts)
    if facts.partial_reason:
        write(f"  partial run: {facts.partial_reason}", yellow=True)

    def describe(nodeid: str) -> str:
        error = ledger.last_error(nodeid) if with_errors else None
        return f"{nodeid} - {error}" if error else nodeid

    failed = [describe(n) for n in ledger.with_outcome(FAILED) if n not in facts.quarantined]
    markup = {"yellow": True} if failures_tolerated(verdicts) else {"red": True}
    _listing(write, failures_heading(verdicts, facts), failed, limit, **markup)
    _listing(write, "tests that did not run", ledger.with_outcome(NOT_RUN), limit, red=True)
    _listing(
        write,
        "collection errors",
        [f"{e.nodeid or 'session'} - {e.message}" for e in ledger.collection_errors],
        limit,
        red=True,
    )
    checks: OrderChecks | None = facts.extras.get("order_checks")
    if checks is not None:
        _order_dependence(write, checks)
        if checks.engine is not None and verbosity >= 0:
            write("")
            write(engine_text(checks.engine))
    if extra is not None:
        extra(write, verbosity)
    slowest = facts.settings.slowest if verbosity >= 0 else 0
    if verbosity > 0:
        slowest *= 2
    if slowest and ledger.durations:
        _slowest(write, ledger, slowest)


def _slowest(write: Writer, ledger: Ledger, count: int) -> None:
    """The slowest tests by one run each: a rerun or a repetition makes no test slower, and the
    time of all of its runs is said beside it."""
    several = {
        n: (max(a.duration for a in runs), len(runs))
        for n, runs in ledger.run_more_than_once().items()
    }

    def one_run(pair: tuple[str, float]) -> float:
        return several[pair[0]][0] if pair[0] in several else pair[1]

    # nlargest, not a sort: no list of every test's duration on large runs.
    ranked = heapq.nlargest(count, ledger.durations.items(), key=one_run)
    write("")
    write(f"slowest {len(ranked)} tests:", bold=True)
    for nodeid, seconds in ranked:
        if nodeid in several:
            longest, runs = several[nodeid]
            all_runs = f" ({runs} runs, {format_seconds(seconds)} in all)"
            write(f"  {format_seconds(longest):>9}  {nodeid}{all_runs}")
        else:
            write(f"  {format_seconds(seconds):>9}  {nodeid}")


def _order_dependence(write: Writer, checks: OrderChecks) -> None:
    """Order-dependent tests with their polluters, then each polluter that breaks several (and
    each state-setter that several brittle tests need)."""
    dependent = checks.order_dependent
    if not dependent:
        return
    from pytest_atom_gates.pollution import polluter_names  # a run with order-dependent tests

    write("")
    write(f"order-dependent tests ({len(dependent)}):", bold=True, red=True)
    groups: dict[tuple[bool, tuple[str, ...]], int] = {}
    for check in dependent:
        if check.polluters:
            key = (check.brittle, check.polluters)
            groups[key] = groups.get(key, 0) + 1
        write(f"  {check.nodeid} - {order_dependence_text(check)}")
        for line in state_lines(check):
            write(f"      {line}")
        write(f"      reproduce: {check.reproduce}")
        if check.brittle:
            write(f"      passes:    {check.passes}")
    for (brittle, polluters), count in groups.items():
        if count > 1:
            does = "is needed by" if brittle else "breaks"
            write(f"  {polluter_names(polluters)} {does} {count} tests", red=True)


def closing_line(verdicts: Sequence[GateVerdict], seed: int) -> tuple[str, dict[str, bool]]:
    failing = [v for v in verdicts if v.fails_run]
    warned = [v for v in verdicts if v.verdict is Verdict.WARN]
    deferred = [f"{v.gate} {v.name}" for v in verdicts if v.verdict is Verdict.DEFERRED]
    later = f"; {', '.join(deferred)} judged at merge" if deferred else ""
    if failing:
        names = ", ".join(f"{v.gate} {v.name}" for v in failing)
        return f"atom-gates: FAIL - {names}{later} (seed {seed})", {"red": True, "bold": True}
    if warned:
        names = ", ".join(f"{v.gate} {v.name}" for v in warned)
        return (
            f"atom-gates: PASS with warnings - {names}{later} (seed {seed})",
            {"yellow": True, "bold": True},
        )
    return f"atom-gates: PASS - every enforced gate passed{later} (seed {seed})", {
        "green": True,
        "bold": True,
    }
