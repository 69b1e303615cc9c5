"""The example suite's own gates, judged beside TQ-01..05 (tests/conftest.py imports the hook).

Two gates a platform team asks for: no more than a share of the tests skipped, and no test
slower than the budget file allows it. Both read only what the run recorded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_atom_gates.extension import (
    ExtensionGate,
    GateFacts,
    GateMode,
    GateRegistry,
    GateVerdict,
    Verdict,
)


# optionalhook: the suite still runs where pytest-atom-gates is not installed.
@pytest.hookimpl(optionalhook=True)
def pytest_atom_gates_add_gates(config: pytest.Config, gates: GateRegistry) -> None:
    gates.add(MaxSkipped(max_percent=2))
    gates.add(WithinBudgets(config.rootpath / "test-budgets.json"))


class MaxSkipped(ExtensionGate):
    """SK-01: at most ``max_percent`` % of the tests skipped, so that a suite cannot pass by
    skipping what it cannot run (a missing service, a missing extra)."""

    id = "SK-01"
    name = "skipped tests"
    default_mode = GateMode.WARN  # on probation: it warns until the team enforces it

    def __init__(self, max_percent: float) -> None:
        self.max_percent = max_percent

    def header(self) -> str:
        return f"{self.id} skipped <= {self.max_percent:g} %"

    def evaluate(self, facts: GateFacts) -> GateVerdict:
        skipped, total = facts.count("skipped"), len(facts.outcomes)
        share = 100 * skipped / total if total else 0.0
        verdict = Verdict.PASS if share <= self.max_percent else Verdict.FAIL
        reason = None if verdict is Verdict.PASS else f"{skipped} of {total} tests were skipped"
        return self.verdict(
            verdict,
            f"{share:.1f} % ({skipped}/{total})",
            f"<= {self.max_percent:g} %",
            reason,
            data={"skipped": skipped, "total": total, "percent": share},
        )


class WithinBudgets(ExtensionGate):
    """BU-01: no test slower than its budget in a JSON file: ``{"default": s, "prefixes":
    {"node id prefix": s}}``, the longest matching prefix winning."""

    id = "BU-01"
    name = "test budgets"

    def __init__(self, path: Path) -> None:
        self.path = path
        budgets: Mapping[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        self.default = float(budgets["default"])
        self.prefixes = {str(k): float(v) for k, v in budgets.get("prefixes", {}).items()}

    def budget(self, nodeid: str) -> float:
        matches = [prefix for prefix in self.prefixes if nodeid.startswith(prefix)]
        return self.prefixes[max(matches, key=len)] if matches else self.default

    def over(self, facts: GateFacts) -> dict[str, tuple[float, float]]:
        return {
            nodeid: (seconds, self.budget(nodeid))
            for nodeid, seconds in facts.durations.items()
            if seconds > self.budget(nodeid)
        }

    def evaluate(self, facts: GateFacts) -> GateVerdict:
        over = self.over(facts)
        verdict = Verdict.FAIL if over else Verdict.PASS
        reason = f"{len(over)} tests took longer than {self.path.name} allows" if over else None
        return self.verdict(verdict, f"{len(over)} over budget", f"within {self.path.name}", reason)

    def report_section(self, facts: GateFacts) -> Mapping[str, Any]:
        return {
            "budgets": str(self.path),
            "over": [
                {"nodeid": nodeid, "seconds": seconds, "budget": budget}
                for nodeid, (seconds, budget) in self.over(facts).items()
            ],
        }

    def summary_lines(self, facts: GateFacts) -> Sequence[str]:
        return [
            f"{seconds:.2f} s > {budget:g} s  {nodeid}"
            for nodeid, (seconds, budget) in self.over(facts).items()
        ]
