"""Optional parts of a run that bring their own gate: reruns (TQ-04) and coverage (TQ-05).

A feature registers its own pytest hooks for the facts it records; the controller asks it, once
at the end, to add those facts, and then to show them in the header, the JSON report and the
terminal. Features never decide the exit status: their gate's verdict does, like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from pytest_atom_gates.gates.base import Gate, RunFacts

Writer = Callable[..., None]
"""``TerminalReporter.write_line``: text plus markup keywords."""

EXTENSIONS_KEY = "extensions"
"""The name every extension's feature shares: the JSON report's section that holds each
extension gate's own section, by gate id."""


class Feature(Protocol):
    name: str
    """Key of the feature's section in the JSON report."""

    @property
    def gate(self) -> Gate:
        """The gate this feature brings."""
        ...

    def header(self) -> str:
        """This feature's part of the header line, e.g. ``TQ-05 coverage >= 25 %``."""
        ...

    def contribute(self, facts: RunFacts) -> None:
        """Add what the gate needs to ``facts.extras``; called once, before the gates judge."""
        ...

    def report_section(self, facts: RunFacts) -> Mapping[str, Any]:
        """The feature's section of the JSON report."""
        ...

    def render(self, write: Writer, verbosity: int, facts: RunFacts) -> None:
        """Lines for the terminal summary, after the core lists."""
        ...
