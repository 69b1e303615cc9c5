"""Cooperation with pytest's JUnit XML (``--junitxml``): the gates as testsuite properties,
and each failed attempt before a test's last as Maven Surefire writes it.

The seed and each verdict become ``<property>`` elements of the testsuite, through the same
``add_global_property`` that ``record_testsuite_property`` uses. The failed attempts of a test
that finally passed become ``<flakyFailure>`` (``<flakyError>`` for a setup or teardown error)
in its testcase, those of a test that finally failed ``<rerunFailure>`` (``<rerunError>``), each
with its ``stackTrace``, ``system-out`` and ``system-err``: the elements Jenkins, GitLab and the
test-report actions read. Under the legacy ``junit_family=xunit1`` a test that ran more than once
also gets ``atom_gates_attempts`` and, when it both failed and passed, ``atom_gates_flaky`` on
its testcase, through its report's ``user_properties`` (``xunit2`` has no testcase properties).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from _pytest.junitxml import bin_xml_escape, xml_key

from pytest_atom_gates.failures import Failure, failure_of
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
    failures: list[tuple[bool, Failure]] = field(default_factory=list)
    """Each failed attempt: whether it failed in the call (else in setup or teardown), and its
    whole failure."""


SUREFIRE_ORDER = (
    "failure",
    "rerunFailure",
    "flakyFailure",
    "skipped",
    "error",
    "rerunError",
    "flakyError",
    "system-out",
    "system-err",
)
"""The order of a testcase's children in Maven Surefire's report schema."""


def attempt_element(kind: str, failure: Failure) -> ET.Element:
    """One failed attempt before the last, as Surefire writes it: ``kind`` is
    ``flakyFailure``, ``flakyError``, ``rerunFailure`` or ``rerunError``."""
    # Characters XML cannot hold (NUL, ESC) are written as pytest's own elements write them.
    message = bin_xml_escape(failure.message.split("\n", 1)[0] or "failed")
    element = ET.Element(kind, message=message, type=bin_xml_escape(failure.exception or "failure"))
    ET.SubElement(element, "stackTrace").text = bin_xml_escape(failure.traceback)
    if failure.stdout:
        ET.SubElement(element, "system-out").text = bin_xml_escape(failure.stdout)
    if failure.stderr:
        ET.SubElement(element, "system-err").text = bin_xml_escape(failure.stderr)
    return element


def attempt_kind(final_failed: bool, in_call: bool) -> str:
    return ("rerun" if final_failed else "flaky") + ("Failure" if in_call else "Error")


class JUnitProperties:
    """Adds the seed, the verdicts and the flaky marks to the JUnit XML file."""

    def __init__(self, controller: Judged) -> None:
        self.controller = controller
        self.config = controller.config
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
            if outcome == RERUN:
                earlier.failures.append((report.when == "call", failure_of(report)))
            return
        if nodeid not in self.earlier:
            return
        if report.failed:
            self.last_attempt_failed.add(nodeid)
        if report.when == "teardown":
            earlier = self.earlier.pop(nodeid)
            last_failed = nodeid in self.last_attempt_failed
            self.last_attempt_failed.discard(nodeid)
            xml = self.config.stash.get(xml_key, None)
            if xml is None:
                return
            if getattr(xml, "family", "xunit2") == "xunit1":
                report.user_properties.append((f"{PREFIX}attempts", earlier.attempts + 1))
                if earlier.passed if last_failed else earlier.failed:
                    report.user_properties.append((f"{PREFIX}flaky", "true"))
            _add_attempts(xml.node_reporter(report), earlier, last_failed)

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


def _add_attempts(reporter: Any, earlier: _Earlier, final_failed: bool) -> None:
    """The earlier failed attempts into the testcase pytest is writing, in Surefire's order."""
    for in_call, failure in earlier.failures:
        reporter.append(attempt_element(attempt_kind(final_failed, in_call), failure))
    nodes = getattr(reporter, "nodes", None)
    if isinstance(nodes, list):
        rank = {tag: number for number, tag in enumerate(SUREFIRE_ORDER)}
        nodes.sort(key=lambda node: rank.get(node.tag, len(rank)))
