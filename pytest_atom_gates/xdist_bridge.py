"""The controller's side of pytest-xdist: ship the seed out, learn the selection, note crashes.

Registered only when pytest-xdist is active, since its hooks are unknown to pytest otherwise.
Per-test facts need no round trip: they ride on the test reports xdist already forwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pytest_atom_gates.ledger import Ledger
from pytest_atom_gates.run import (
    COLLECTED_FILES_KEY,
    DESELECTED_KEY,
    FILE_ORDER_KEY,
    LATE_GATE_HOOKS_KEY,
    PLAIN_IDS_KEY,
    WORKER_BUDGET_KEY,
    WORKER_SEED_KEY,
    GatesRun,
)
from pytest_atom_gates.shard import SHARD_KEY, ShardFacts


class XdistControllerHooks:
    def __init__(self, run: GatesRun, ledger: Ledger) -> None:
        self.run = run
        self.ledger = ledger
        self.crashed: list[str] = []

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[WORKER_SEED_KEY] = self.run.seed
        node.workerinput[WORKER_BUDGET_KEY] = self.run.budget_left - self.run.clock.elapsed()
        if self.run.kept_bytecode is not None:
            from pytest_atom_gates.kept_bytecode import KEPT_BYTECODE_KEY

            node.workerinput[KEPT_BYTECODE_KEY] = str(self.run.kept_bytecode)
        plan = self.run.new_tests
        if plan is not None:
            from pytest_atom_gates.new_tests import WORKER_PLAN_KEY

            workers = len(node.config.getoption("tx", None) or ()) or 1
            node.workerinput[WORKER_PLAN_KEY] = plan.for_workers(workers).to_workerinput()

    def pytest_xdist_node_collection_finished(self, node: Any, ids: Sequence[str]) -> None:
        if self.ledger.selected is None:
            self.ledger.set_selected(ids)

    def pytest_testnodedown(self, node: Any, error: object | None) -> None:
        if error is not None:
            self.crashed.append(str(node.gateway.id))
        output = getattr(node, "workeroutput", {})
        if self.run.file_order is None:  # from a worker whose tests failed; all collect alike
            self.run.file_order = output.get(FILE_ORDER_KEY)
        if not self.run.collected_files:
            self.run.collected_files = dict(output.get(COLLECTED_FILES_KEY, {}))
        self.run.plain_ids.update(output.get(PLAIN_IDS_KEY, {}))
        if not self.run.deselected:  # every worker collects and deselects alike
            self.run.deselected = list(output.get(DESELECTED_KEY, ()))
        for where in output.get(LATE_GATE_HOOKS_KEY, ()):
            if where not in self.run.late_gate_hooks:
                self.run.late_gate_hooks.append(where)
        payload = output.get(SHARD_KEY)
        if payload is not None and self.run.shard is None:
            self.run.shard = ShardFacts.from_payload(payload, assigned=())


def wait_for_workers(config: Any) -> None:
    """Let the workers' processes end before the session clock stops.

    A worker kept alive after its last test (by a non-daemon thread, say) is time the user waits
    for; pytest-xdist waits for it the same way, up to its exit timeout, in its own
    ``pytest_sessionfinish``, which comes after the verdicts. Asked twice, it returns at once.
    """
    dsession = config.pluginmanager.getplugin("dsession")
    nodemanager = getattr(dsession, "nodemanager", None)
    if nodemanager is not None:
        nodemanager.teardown_nodes()
