"""Cooperation: pytest-json-report's report and JUnit XML carry the seed, verdicts and reruns."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NO_COVERAGE, Gates

SUITE = """
    def test_ok():
        pass

    attempts = []

    def test_flaky():
        attempts.append(1)
        assert len(attempts) > 1, "not yet"

    def test_broken():
        assert 0, "always"
"""
# Three of four tests pass after reruns: 75 %, within a minimum of 70 %.
FLAGS = ("--atom-gates-seed=9", "--atom-gates-min-pass-rate=70", "--atom-gates-mode=TQ-01:off")


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def rerun_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_s=SUITE)
    pytester.makepyfile(test_more="def test_also_ok(): pass\n")


# -- pytest-json-report ---------------------------------------------------------------------------


@pytest.mark.usefixtures("rerun_suite")
def test_json_report_gains_the_gates_and_final_outcomes(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    json_file = pytester.path / "json-report.json"
    run = any_engine.run(*FLAGS, "--json-report", f"--json-report-file={json_file}")
    assert run.ret == 0
    report = read_json(json_file)
    assert report["exitcode"] == 0  # the gates' exit status, not pytest's 1 for a failed test
    section = report["atom_gates"]
    assert section["seed"] == 9
    assert [(v["gate"], v["verdict"]) for v in section["verdicts"]] == [
        ("TQ-01", "OFF"),
        ("TQ-02", "PASS"),
        ("TQ-03", "PASS"),
        ("TQ-04", "WARN"),
        ("TQ-05", "OFF"),
        ("TQ-06", "OFF"),
    ]
    assert section["verdicts"] == run.report["verdicts"]
    attempts = section["attempts"]
    assert sorted(attempts) == ["test_s.py::test_broken", "test_s.py::test_flaky"]
    assert [a["outcome"] for a in attempts["test_s.py::test_flaky"]] == ["failed", "passed"]
    assert [a["outcome"] for a in attempts["test_s.py::test_broken"]] == ["failed"] * 3
    tests = {t["nodeid"]: t for t in report["tests"]}
    assert tests["test_s.py::test_flaky"]["outcome"] == "passed"
    assert tests["test_s.py::test_flaky"]["atom_gates"] == {"outcome": "flaky", "attempts": 2}
    assert tests["test_s.py::test_broken"]["outcome"] == "failed"
    assert "atom_gates" not in tests["test_s.py::test_ok"]
    assert report["summary"] == {"passed": 3, "failed": 1, "total": 4, "collected": 4}


@pytest.mark.usefixtures("rerun_suite")
def test_json_report_alone_is_left_alone(pytester: pytest.Pytester) -> None:
    """Without --atom-gates nothing is added, and nothing is rerun."""
    json_file = pytester.path / "json-report.json"
    result = pytester.runpytest("--json-report", f"--json-report-file={json_file}")
    assert result.ret == 1
    report = read_json(json_file)
    assert "atom_gates" not in report
    flaky = next(t for t in report["tests"] if t["nodeid"] == "test_s.py::test_flaky")
    assert flaky["outcome"] == "failed"
    assert report["summary"] == {"passed": 2, "failed": 2, "total": 4, "collected": 4}


@pytest.mark.parametrize(
    "plugins",
    [
        ["pytest_atom_gates.plugin", "pytest_jsonreport.plugin"],
        ["pytest_jsonreport.plugin", "pytest_atom_gates.plugin"],
    ],
    ids=["atom-gates-first", "json-report-first"],
)
def test_json_report_gets_the_gates_whatever_the_plugin_order(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, plugins: list[str]
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_s="def test_bad(): assert 0\n")
    json_file = pytester.path / "json-report.json"
    result = pytester.runpytest_subprocess(
        *(arg for plugin in plugins for arg in ("-p", plugin)),
        "--atom-gates",
        "--atom-gates-mode=TQ-01:off",
        NO_COVERAGE,
        "--json-report",
        f"--json-report-file={json_file}",
    )
    assert result.ret == 1
    report = read_json(json_file)
    assert [v["verdict"] for v in report["atom_gates"]["verdicts"]] == [
        "OFF",
        "FAIL",
        "PASS",
        "PASS",
        "OFF",
        "OFF",
    ]


# -- JUnit XML ------------------------------------------------------------------------------------


def suite_properties(path: Path) -> dict[str, str]:
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    return {p.get("name", ""): p.get("value", "") for p in suite.iterfind("properties/property")}


def case_properties(path: Path) -> dict[str, dict[str, str]]:
    cases = ET.parse(path).getroot().iterfind("testsuite/testcase")
    return {
        case.get("name", ""): {
            p.get("name", ""): p.get("value", "") for p in case.iterfind("properties/property")
        }
        for case in cases
    }


@pytest.mark.usefixtures("rerun_suite")
def test_junit_xml_carries_seed_verdicts_and_flaky_marks(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    xml_file = pytester.path / "junit.xml"
    run = any_engine.run(*FLAGS, f"--junitxml={xml_file}")
    assert run.ret == 0
    assert suite_properties(xml_file) == {
        "atom_gates_seed": "9",
        "atom_gates_TQ-01": "OFF: switched off",
        "atom_gates_TQ-02": "PASS: 75.00 % (3/4), required >= 70 %",
        "atom_gates_TQ-03": f"PASS: {run.verdict('TQ-03')['measured']}, required <= 3600 s",
        "atom_gates_TQ-04": "WARN: 1 flaky, required flaky tests warn",
        "atom_gates_TQ-05": "OFF: switched off",
        "atom_gates_TQ-06": "OFF: switched off",
    }
    # The attempts are Surefire's elements, which xunit2's testcase has instead of properties.
    assert case_properties(xml_file) == {
        "test_ok": {},
        "test_also_ok": {},
        "test_flaky": {},
        "test_broken": {},
    }
    report = run.report
    cases = junit_cases(xml_file)
    assert [child.tag for child in cases["test_flaky"]] == ["flakyFailure"]
    assert [child.tag for child in cases["test_broken"]] == [
        "failure",
        "rerunFailure",
        "rerunFailure",
    ]
    [flaky] = cases["test_flaky"]
    [failed_first, _] = attempts_of(report, "test_s.py::test_flaky")
    assert flaky.attrib == {"message": "AssertionError: not yet", "type": "AssertionError"}
    assert [(c.tag, c.text) for c in flaky] == [
        ("stackTrace", failed_first["failure"]["traceback"])
    ]
    assert "E       AssertionError: not yet" in failed_first["failure"]["traceback"]
    reruns = cases["test_broken"][1:]
    broken = attempts_of(report, "test_s.py::test_broken")
    assert (
        [r.find("stackTrace").text for r in reruns]
        == [  # type: ignore[union-attr]
            a["failure"]["traceback"] for a in broken[:2]
        ]
    )


@pytest.mark.usefixtures("rerun_suite")
def test_junit_xml_is_valid_for_the_schema_jenkins_reads(
    pytester: pytest.Pytester, any_engine: Gates, junit_schema: Any
) -> None:
    pytester.makepyfile(
        test_errors="""
        import pytest
        calls = []

        @pytest.fixture
        def service():
            calls.append(1)
            if len(calls) == 1:
                print("starting the service")
                raise ConnectionError("not up yet")

        def test_needs_service(service):
            pass

        @pytest.fixture
        def broken_service():
            raise ConnectionError("never up")

        def test_never(broken_service):
            pass

        binary_calls = []

        def test_binary_message():
            binary_calls.append(1)
            assert len(binary_calls) > 1, "msg with \\x00 and \\x1b and ]]> <tag>"
        """
    )
    xml_file = pytester.path / "junit.xml"
    any_engine.run(*FLAGS, f"--junitxml={xml_file}")
    junit_schema.validate(str(xml_file))
    cases = junit_cases(xml_file)
    assert [child.tag for child in cases["test_needs_service"]] == ["flakyError"]
    [flaky] = cases["test_needs_service"]
    assert flaky.attrib == {"message": "ConnectionError: not up yet", "type": "ConnectionError"}
    assert [(c.tag, c.text) for c in flaky][1:] == [("system-out", "starting the service\n")]
    assert [child.tag for child in cases["test_never"]] == ["error", "rerunError", "rerunError"]
    # Characters XML cannot hold are written as pytest writes them in its own elements.
    [binary] = cases["test_binary_message"]
    assert binary.get("message") == "AssertionError: msg with #x00 and #x1B and ]]> <tag>"


@pytest.mark.usefixtures("rerun_suite")
def test_legacy_junit_xml_keeps_the_attempts_as_testcase_properties(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    xml_file = pytester.path / "junit.xml"
    gates.run(*FLAGS, f"--junitxml={xml_file}", "-o", "junit_family=xunit1")
    assert case_properties(xml_file) == {
        "test_ok": {},
        "test_also_ok": {},
        "test_flaky": {"atom_gates_attempts": "2", "atom_gates_flaky": "true"},
        "test_broken": {"atom_gates_attempts": "3"},
    }
    assert [child.tag for child in junit_cases(xml_file)["test_flaky"]] == ["flakyFailure"]


def junit_cases(path: Path) -> dict[str, list[ET.Element]]:
    """Each testcase's children but its properties, by test name."""
    return {
        case.get("name", ""): [child for child in case if child.tag != "properties"]
        for case in ET.parse(path).getroot().iterfind("testsuite/testcase")
    }


def attempts_of(report: dict[str, Any], nodeid: str) -> list[dict[str, Any]]:
    attempts: list[dict[str, Any]] = next(
        t["attempts"] for t in report["tests"] if t["nodeid"] == nodeid
    )
    return attempts


def test_junit_xml_alone_has_no_gates(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    xml_file = pytester.path / "junit.xml"
    result = pytester.runpytest(f"--junitxml={xml_file}")
    assert result.ret == 0
    assert suite_properties(xml_file) == {}
