"""How each process's coverage data reaches the verdict: one class per role in the run.

A single process combines its own data. Under pytest-xdist each worker stops measuring at the
end of its session and ships its data in ``workeroutput``; the controller knows every worker it
started (replacements of crashed workers included), combines what arrived with its own data and
names every worker whose data did not arrive, so a lost worker never quietly lowers the total.
"""

from __future__ import annotations

from typing import Any, Protocol

import pytest

from pytest_atom_gates.cov.facts import CoverageFacts, ProcessResult
from pytest_atom_gates.cov.measure import Measurement
from pytest_atom_gates.cov.results import build_facts
from pytest_atom_gates.ledger import MAIN_PROCESS
from pytest_atom_gates.settings import Settings

PAYLOAD_KEY = "atom_gates_coverage"
"""This plugin's entry in an xdist worker's ``workeroutput``."""


class Engine(Protocol):
    def finish(self) -> CoverageFacts:
        """Stop measuring, gather every process's data and compute the figures; once, at the
        end of the session, on the process that judges."""
        ...


class SingleProcess:
    """No xdist: this process ran every test; subprocesses it measured left data files."""

    def __init__(self, config: pytest.Config, measurement: Measurement, settings: Settings):
        self.config = config
        self.measurement = measurement
        self.settings = settings

    def finish(self) -> CoverageFacts:
        own = self.measurement.finish(MAIN_PROCESS)
        return build_facts(self.config, self.measurement, self.settings, [own], missing=())


class XdistWorker:
    """An xdist worker: its data travels to the controller with the worker's end-of-run output."""

    def __init__(self, config: pytest.Config, measurement: Measurement) -> None:
        self.config = config
        self.measurement = measurement

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        # tryfirst, as on the controller, which judges in a tryfirst hook: both stop measuring
        # at the same point, after the last test's teardown tore down every fixture.
        worker = str(self.config.workerinput["workerid"])  # type: ignore[attr-defined]
        result = self.measurement.finish(worker)
        self.config.workeroutput[PAYLOAD_KEY] = result.to_payload()  # type: ignore[attr-defined]


class XdistController:
    """The xdist controller: measures itself, counts its workers and combines their data."""

    def __init__(self, config: pytest.Config, measurement: Measurement, settings: Settings):
        self.config = config
        self.measurement = measurement
        self.settings = settings
        self.started: list[str] = []
        self.received: dict[str, ProcessResult] = {}

    def pytest_configure_node(self, node: Any) -> None:
        self.started.append(str(node.gateway.id))

    def pytest_testnodedown(self, node: Any, error: object | None) -> None:
        worker = str(node.gateway.id)
        payload = (getattr(node, "workeroutput", None) or {}).get(PAYLOAD_KEY)
        if payload is not None:
            self.received[worker] = ProcessResult.from_payload(payload)

    def finish(self) -> CoverageFacts:
        own = self.measurement.finish(MAIN_PROCESS)
        missing = [worker for worker in self.started if worker not in self.received]
        results = [own, *self.received.values()]
        return build_facts(self.config, self.measurement, self.settings, results, missing)
