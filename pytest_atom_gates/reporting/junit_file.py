"""A JUnit XML file of a merged run (``atom-gates merge --junitxml``), for CI test tabs.

One ``testcase`` per test with its final outcome, named as pytest's own JUnit XML names it
(``classname`` the dotted module and class, ``name`` the function and its parameters), its
earlier failed attempts as Surefire's ``flakyFailure``/``rerunFailure`` elements, and the seed
and verdicts as testsuite properties, as in a single run's file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from pytest_atom_gates.attempts import Attempt
from pytest_atom_gates.failures import Failure
from pytest_atom_gates.gates.base import GateVerdict, RunFacts
from pytest_atom_gates.outcomes import FAILED, NOT_RUN, SKIPPED, XFAILED
from pytest_atom_gates.reporting import verdict_text
from pytest_atom_gates.reporting.atomic import write_atomically
from pytest_atom_gates.reporting.junit import PREFIX, attempt_element, attempt_kind


def junit_names(nodeid: str) -> tuple[str, str]:
    """``classname`` and ``name`` as pytest's JUnit XML gives them for ``nodeid``."""
    parts = nodeid.split("::")
    module = parts[0]
    if module.endswith(".py"):
        module = module[:-3]
    names = [module.replace("/", ".").replace("\\", "."), *parts[1:-1]]
    return ".".join(names), parts[-1] if len(parts) > 1 else parts[0]


def junit_document(facts: RunFacts, verdicts: Sequence[GateVerdict]) -> str:
    ledger = facts.ledger
    suite = ET.Element("testsuite", name="atom-gates merge")
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name=f"{PREFIX}seed", value=str(facts.seed))
    for verdict in verdicts:
        ET.SubElement(
            properties, "property", name=f"{PREFIX}{verdict.gate}", value=verdict_text(verdict)
        )
    counts = {"tests": 0, "failures": 0, "skipped": 0, "errors": 0}
    for nodeid, outcome in ledger.outcomes():
        classname, name = junit_names(nodeid)
        attempts = ledger.attempts(nodeid)
        seconds = sum(a.duration for a in attempts)
        case = ET.SubElement(
            suite, "testcase", classname=classname, name=name, time=f"{seconds:.3f}"
        )
        counts["tests"] += 1
        if outcome in (FAILED, NOT_RUN):
            counts["failures"] += 1
            message = ledger.last_error(nodeid) or (
                "did not run" if outcome == NOT_RUN else "failed"
            )
            ET.SubElement(case, "failure", message=message).text = message
        elif outcome in (SKIPPED, XFAILED):
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message=ledger.last_error(nodeid) or outcome)
        for attempt in attempts[:-1]:
            if attempt.outcome == FAILED:
                kind = attempt_kind(outcome in (FAILED, NOT_RUN), attempt.phase == "call")
                case.append(attempt_element(kind, _failure(attempt)))
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", f"{facts.elapsed:.3f}")
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _failure(attempt: Attempt) -> Failure:
    """The attempt's whole failure; its one-line error where the report kept no more."""
    if attempt.failure is not None:
        return attempt.failure
    error = attempt.error or "failed"
    return Failure(None, error, None, None, None, error)


def write_junit(path: Path, facts: RunFacts, verdicts: Sequence[GateVerdict]) -> None:
    """Raises ``OSError``."""
    write_atomically(path, junit_document(facts, verdicts))
