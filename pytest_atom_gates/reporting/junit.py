"""Cooperation with pytest's JUnit XML (``--junitxml``): the gates as testsuite properties.

The seed and each verdict become ``<property>`` elements of the testsuite, through the same
``add_global_property`` that ``record_testsuite_property`` uses. A test that was rerun gets
``atom_gates_attempts`` and, when its last attempt passed, ``atom_gates_flaky`` on its testcase,
through its report's ``user_properties``, which is what ``record_property`` writes to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from _pytest.junitxml import xml_key

from pytest_atom_gates.ledger import RERUN
from pytest_atom_gates.reporting import verdict_text

if TYPE_CHECKING:
    from pytest_atom_gates.run import Judged

PREFIX = "atom_gates_"


class JUnitProperties:
    """Adds the seed, the verdicts and the flaky marks to the JUnit XML file."""

    def __init__(self, controller: Judged) -> None:
        self.controller = controller
        self.failed_attempts: dict[str, int] = {}
        """Tests with a failed attempt that was rerun, and how many such attempts they had."""
        self.last_attempt_failed: set[str] = set()

    # tryfirst: the JUnit writer turns a test into XML on its teardown report.
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        nodeid = report.nodeid
        if report.outcome == RERUN:
            self.failed_attempts[nodeid] = self.failed_attempts.get(nodeid, 0) + 1
            return
        if nodeid not in self.failed_attempts:
            return
        if not report.passed:
            self.last_attempt_failed.add(nodeid)
        if report.when == "teardown":
            attempts = self.failed_attempts.pop(nodeid) + 1
            report.user_properties.append((f"{PREFIX}attempts", attempts))
            if nodeid not in self.last_attempt_failed:
                report.user_properties.append((f"{PREFIX}flaky", "true"))
            self.last_attempt_failed.discard(nodeid)

    # tryfirst: before the JUnit writer's own sessionfinish writes the file.
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        xml = session.config.stash.get(xml_key, None)
        facts, verdicts = self.controller.facts, self.controller.verdicts
        if xml is None or facts is None or verdicts is None:
            return
        xml.add_global_property(f"{PREFIX}seed", facts.seed)
        for verdict in verdicts:
            xml.add_global_property(f"{PREFIX}{verdict.gate}", verdict_text(verdict))
