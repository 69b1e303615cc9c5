"""Cooperation with pytest's JUnit XML (``--junitxml``): the gates as testsuite properties.

The seed and each verdict become ``<property>`` elements of the testsuite, through the same
``add_global_property`` that ``record_testsuite_property`` uses. A test that ran more than once
(rerun, or repeated as a new test) gets ``atom_gates_attempts`` and, when it both failed and
passed, ``atom_gates_flaky`` on its testcase, through its report's ``user_properties``, which is
what ``record_property`` writes to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from _pytest.junitxml import xml_key

from pytest_atom_gates.ledger import NOT_LAST, REPEAT, RERUN
from pytest_atom_gates.reporting import verdict_text

if TYPE_CHECKING:
    from pytest_atom_gates.run import Judged

PREFIX = "atom_gates_"


@dataclass(slots=True)
class _Earlier:
    """A test's attempts before its last: how many, and whether one failed or passed."""

    attempts: int = 0
    failed: bool = False
    passed: bool = False


class JUnitProperties:
    """Adds the seed, the verdicts and the flaky marks to the JUnit XML file."""

    def __init__(self, controller: Judged) -> None:
        self.controller = controller
        self.earlier: dict[str, _Earlier] = {}
        """Tests with an attempt before their last (a rerun or a new test's repetition)."""
        self.last_attempt_failed: set[str] = set()

    # tryfirst: the JUnit writer turns a test into XML on its teardown report.
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        nodeid = report.nodeid
        outcome = report.outcome
        if outcome in NOT_LAST:
            earlier = self.earlier.get(nodeid)
            if earlier is None:
                earlier = self.earlier[nodeid] = _Earlier()
            earlier.attempts += 1
            earlier.failed |= outcome == RERUN
            earlier.passed |= outcome == REPEAT
            return
        if nodeid not in self.earlier:
            return
        if report.failed:
            self.last_attempt_failed.add(nodeid)
        if report.when == "teardown":
            earlier = self.earlier.pop(nodeid)
            report.user_properties.append((f"{PREFIX}attempts", earlier.attempts + 1))
            last_failed = nodeid in self.last_attempt_failed
            if earlier.passed if last_failed else earlier.failed:
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
