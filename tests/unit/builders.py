"""Builders for the unit tests: settings, reports and ledgers without a pytest run."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pytest

from pytest_atom_gates.gates.base import RunFacts
from pytest_atom_gates.ledger import REPEAT, RERUN, Ledger
from pytest_atom_gates.settings import Settings


def make_settings(**changes: Any) -> Settings:
    values: dict[str, Any] = {
        "seed": 1,
        "min_pass_rate": Decimal(98),
        "max_duration": 3600.0,
        "max_test_duration": None,
        "stop_on_budget": False,
        "modes": {},
        "report_path": None,
        "strict": False,
        "order_checks": 10,
        "order_check_time": Decimal(100),
        "slowest": 5,
        "min_coverage": Decimal(25),
        "coverage_sources": (),
        "coverage_reports": (),
        "min_coverage_per_package": (),
    }
    values.update(changes)
    return Settings(**values)


def report(
    nodeid: str, when: str, outcome: str = "passed", duration: float = 0.01, **extra: Any
) -> pytest.TestReport:
    longrepr = None
    if outcome in ("failed", RERUN):
        longrepr = f"E   AssertionError: {nodeid} broke"
    elif outcome == "skipped":
        longrepr = ("file.py", 1, "Skipped: not today")
    made = pytest.TestReport(
        nodeid,
        ("file.py", 1, nodeid),
        {},
        outcome,
        longrepr,
        when,
        duration=duration,  # type: ignore[arg-type]
    )
    for name, value in extra.items():
        setattr(made, name, value)
    return made


def attempt(
    nodeid: str, outcome: str = "passed", phase: str = "call", **extra: Any
) -> list[pytest.TestReport]:
    """The reports of one attempt: setup, call and teardown, with ``outcome`` in ``phase``."""
    phases = ("setup", "call", "teardown")
    made = []
    for when in phases:
        made.append(report(nodeid, when, outcome if when == phase else "passed", **extra))
        if when == phase and outcome in ("failed", "skipped") and when == "setup":
            made.append(report(nodeid, "teardown"))
            break
        if when == phase and outcome in (RERUN, REPEAT):  # another attempt follows at once
            break
    return made


def ledger_of(
    *attempts: Iterable[pytest.TestReport], selected: Iterable[str] | None = None
) -> Ledger:
    ledger = Ledger()
    reports = [r for group in attempts for r in group]
    ledger.set_selected(
        selected if selected is not None else dict.fromkeys(r.nodeid for r in reports)
    )
    for made in reports:
        ledger.record(made)
    ledger.finish()
    return ledger


def facts_of(ledger: Ledger, **changes: Any) -> RunFacts:
    settings = changes.pop("settings", None) or make_settings()
    return RunFacts(
        ledger=ledger, settings=settings, seed=1, elapsed=changes.pop("elapsed", 1.0), **changes
    )
