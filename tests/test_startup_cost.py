"""What the installed plugin costs a run at start-up: which of its modules load, and how."""

from __future__ import annotations

import json

import pytest

from tests.conftest import NO_COVERAGE

RECORD_LOADERS = """
import json, sys

def pytest_unconfigure(config):
    loaders = {
        name: type(getattr(module, "__loader__", None)).__name__
        for name, module in sys.modules.items()
        if name.split(".")[0] == "pytest_atom_gates"
    }
    with open("loaders.json", "w") as out:
        json.dump(loaders, out)
"""


def _loaders(pytester: pytest.Pytester, *args: str) -> dict[str, str]:
    pytester.makeconftest(RECORD_LOADERS)
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    # -p marks the package for assertion rewriting before the entry points load, as pytest does
    # for a plugin installed from a wheel, whatever way this project is installed here.
    result = pytester.runpytest_subprocess("-p", "pytest_atom_gates", *args)
    assert result.ret == 0, result.stdout.str()
    loaders: dict[str, str] = json.loads((pytester.path / "loaders.json").read_text())
    return loaders


def test_the_plugins_modules_are_not_rewritten_for_assertions(pytester: pytest.Pytester) -> None:
    # Rewriting them gains nothing and costs a parse and compile per module on every run where
    # the rewritten code cannot be cached (PYTHONDONTWRITEBYTECODE, read-only site-packages).
    loaders = _loaders(pytester, "--atom-gates", NO_COVERAGE)
    rewritten = sorted(name for name, loader in loaders.items() if "Rewrit" in loader)
    # Only the package itself may be: from a wheel, it is marked before it loads.
    assert [name for name in rewritten if name != "pytest_atom_gates"] == []
    assert "pytest_atom_gates.protocol" in loaders


def test_without_the_flag_only_the_entry_points_and_their_settings_load(
    pytester: pytest.Pytester,
) -> None:
    # hookspecs: the extension hook's specification, which pytest needs before any conftest;
    # marks: how the LanceDB plugin finds its marked tests at collection.
    assert sorted(_loaders(pytester)) == [
        "pytest_atom_gates",
        "pytest_atom_gates.hookspecs",
        "pytest_atom_gates.lancedb",
        "pytest_atom_gates.lancedb.plugin",
        "pytest_atom_gates.lancedb.settings",
        "pytest_atom_gates.marks",
        "pytest_atom_gates.plugin",
        "pytest_atom_gates.settings",
    ]


FAILURE_PATH = [
    "pytest_atom_gates.attempts",
    "pytest_atom_gates.failures",
    "pytest_atom_gates.flaky_evidence",
    "pytest_atom_gates.gate_facts",
    "pytest_atom_gates.gates.order_findings",
    "pytest_atom_gates.order_check",
    "pytest_atom_gates.pollution",
]
"""Modules only failures, flaky tests, TQ-01's checks or an extension's gate need: importing
one makes its classes, which costs every run's start-up."""


def test_a_passing_run_loads_none_of_what_failures_need(pytester: pytest.Pytester) -> None:
    loaders = _loaders(pytester, "--atom-gates", NO_COVERAGE)
    assert [name for name in FAILURE_PATH if name in loaders] == []


def test_a_failing_run_loads_what_its_failure_needs(pytester: pytest.Pytester) -> None:
    """The other side of the test above: the recorder sees these modules once they load."""
    pytester.makepyfile(test_two="def test_two():\n    assert False\n")
    pytester.makeconftest(RECORD_LOADERS)
    result = pytester.runpytest_subprocess("-p", "pytest_atom_gates", "--atom-gates", NO_COVERAGE)
    assert result.ret == 1, result.stdout.str()
    loaders = json.loads((pytester.path / "loaders.json").read_text())
    assert [name for name in FAILURE_PATH if name in loaders] == [
        "pytest_atom_gates.attempts",
        "pytest_atom_gates.failures",
        "pytest_atom_gates.gates.order_findings",
        "pytest_atom_gates.order_check",
        "pytest_atom_gates.pollution",
    ]
