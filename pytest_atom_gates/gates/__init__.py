"""The gates: each reads the run's facts and returns a verdict."""

from __future__ import annotations

from collections.abc import Sequence

from pytest_atom_gates.gates.base import (
    Gate,
    GateVerdict,
    RunFacts,
    Verdict,
    apply_mode,
    off_verdict,
)
from pytest_atom_gates.gates.duration import DurationGate
from pytest_atom_gates.gates.independence import IndependenceGate
from pytest_atom_gates.gates.pass_rate import PassRateGate
from pytest_atom_gates.settings import GateMode

__all__ = [
    "DurationGate",
    "Gate",
    "GateVerdict",
    "IndependenceGate",
    "PassRateGate",
    "RunFacts",
    "Verdict",
    "default_gates",
    "evaluate",
]


def default_gates() -> list[Gate]:
    return [IndependenceGate(), PassRateGate(), DurationGate()]


def evaluate(gates: Sequence[Gate], facts: RunFacts) -> list[GateVerdict]:
    """Every gate's verdict, with its configured mode applied; gates set to off are not run."""
    verdicts = []
    for gate in gates:
        mode = facts.settings.mode(gate.id, getattr(gate, "default_mode", GateMode.ENFORCE))
        if mode is GateMode.OFF:
            verdicts.append(off_verdict(gate.id, getattr(gate, "title", None)))
        else:
            verdicts.append(apply_mode(gate.evaluate(facts), mode))
    return verdicts
