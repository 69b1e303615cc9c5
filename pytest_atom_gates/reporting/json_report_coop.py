"""Cooperation with pytest-json-report: its report carries the gates and the final outcomes.

Registered on the controller when ``--json-report`` is on. pytest-json-report keeps the first
non-passing outcome it sees for a test, so a test that failed and then passed on a rerun would
stay failed there; here it gets its final outcome, and the report an ``atom_gates`` section.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

import pytest

from pytest_atom_gates.outcomes import FLAKY
from pytest_atom_gates.reporting.json_report import (
    SCHEMA_VERSION,
    attempt_record,
    verdict_record,
)

if TYPE_CHECKING:
    from pytest_atom_gates.gates.base import GateVerdict, RunFacts
    from pytest_atom_gates.run import Judged

SECTION = "atom_gates"


def gates_section(facts: RunFacts, verdicts: list[GateVerdict]) -> dict[str, Any]:
    """The ``atom_gates`` section: seed, verdicts, and the attempts of every rerun test."""
    ledger = facts.ledger
    rerun = {}
    for nodeid in ledger.nodeids():
        attempts = ledger.attempts(nodeid)
        if len(attempts) > 1:
            rerun[nodeid] = [attempt_record(a) for a in attempts]
    return {
        "schema_version": SCHEMA_VERSION,
        "seed": facts.seed,
        "verdicts": [verdict_record(v) for v in verdicts],
        "attempts": rerun,
    }


def settle_flaky_outcomes(json_report: MutableMapping[str, Any], facts: RunFacts) -> None:
    """Give tests that passed on a rerun the outcome ``passed``, and recount the summary."""
    summary: MutableMapping[str, int] = json_report.get("summary", {})
    for test in json_report.get("tests", []):
        if facts.ledger.outcome(test["nodeid"]) != FLAKY:
            continue
        test[SECTION] = {"outcome": FLAKY, "attempts": len(facts.ledger.attempts(test["nodeid"]))}
        previous = test["outcome"]
        if previous == "passed":
            continue
        test["outcome"] = "passed"
        summary["passed"] = summary.get("passed", 0) + 1
        summary[previous] = summary.get(previous, 0) - 1
        if summary[previous] <= 0:
            del summary[previous]


class JsonReportCooperation:
    """Adds the gates to pytest-json-report's report before it is saved."""

    def __init__(self, controller: Judged) -> None:
        self.controller = controller

    # Optional: pytest-json-report declares this hook only once its own plugin is registered,
    # which may happen after this object is.
    @pytest.hookimpl(optionalhook=True)
    def pytest_json_modifyreport(self, json_report: MutableMapping[str, Any]) -> None:
        facts, verdicts = self.controller.facts, self.controller.verdicts
        if facts is None or verdicts is None:
            return
        json_report[SECTION] = gates_section(facts, verdicts)
        settle_flaky_outcomes(json_report, facts)
