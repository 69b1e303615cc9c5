"""What every gate shares: the verdict it returns and the facts it reads."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from pytest_atom_gates.ledger import Ledger
from pytest_atom_gates.settings import GATE_NAMES, GateMode, Settings


class Verdict(enum.Enum):
    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"
    OFF = "OFF"
    DEFERRED = "DEFERRED"
    """A CI shard's whole-suite gate: judged by ``atom-gates merge`` over every shard."""


@dataclass(frozen=True)
class GateVerdict:
    """A gate's judgement of the run: what was measured against what was required, and why."""

    gate: str
    verdict: Verdict
    measured: str
    required: str
    reason: str | None = None
    mode: GateMode = GateMode.ENFORCE
    data: Mapping[str, Any] = field(default_factory=dict)
    """Machine-readable figures behind ``measured``, for the JSON report."""
    title: str | None = None
    """The gate's name where it is not one of TQ-01..05 (an extension's gate)."""

    @property
    def name(self) -> str:
        return self.title or GATE_NAMES.get(self.gate, self.gate)

    @property
    def fails_run(self) -> bool:
        return self.verdict is Verdict.FAIL and self.mode is GateMode.ENFORCE


NOT_ENFORCED = "not enforced: mode warn"


def apply_mode(verdict: GateVerdict, mode: GateMode) -> GateVerdict:
    """A gate in ``warn`` mode reports a failure as WARN; the reason says it was not enforced."""
    if mode is GateMode.WARN and verdict.verdict is Verdict.FAIL:
        reason = f"{verdict.reason} ({NOT_ENFORCED})" if verdict.reason else None
        return replace(verdict, verdict=Verdict.WARN, reason=reason or NOT_ENFORCED, mode=mode)
    return replace(verdict, mode=mode)


def off_verdict(gate: str, title: str | None = None) -> GateVerdict:
    return GateVerdict(gate, Verdict.OFF, "-", "-", "switched off", GateMode.OFF, title=title)


@dataclass(eq=False, repr=False)  # one per run, known by identity: no generated code
class RunFacts:
    """Everything the gates judge: the ledger plus facts about the run as a whole."""

    ledger: Ledger
    settings: Settings
    seed: int
    elapsed: float
    interrupted: str | None = None
    """Why the user or pytest.exit() interrupted the run, if it was."""
    stopped_early: str | None = None
    """Why the run stopped before every selected test ran (-x, --maxfail, budget), if it did."""
    budget_stop: bool = False
    partial_reason: str | None = None
    """Why the run covers only part of the suite (-k, -m, node ids, --lf), if it does."""
    quarantined: dict[str, str] = field(default_factory=dict)
    """Quarantined tests that ran, and why they are quarantined: they count for no gate."""
    extras: dict[str, Any] = field(default_factory=dict)
    """Facts contributed by optional parts (order checks, coverage, reruns)."""


def partial_note(facts: RunFacts) -> str:
    """What a gate adds to the reason it WARNs for instead of failing, on a partial run."""
    return f" (partial run: {facts.partial_reason}; only --atom-gates-strict fails it)"


class Gate(Protocol):
    """A gate reads the facts and returns a verdict. It never prints or writes files."""

    id: str

    def evaluate(self, facts: RunFacts) -> GateVerdict: ...
