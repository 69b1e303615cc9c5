"""How settings are declared to pytest: their help with defaults, and their ini types."""

from __future__ import annotations

import pytest

from pytest_atom_gates import settings
from pytest_atom_gates.settings import OPTIONS

SPECS = {spec.name: spec for spec in OPTIONS}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("min-pass-rate", "TQ-02: minimum share of tests that pass, after reruns. Default: 98."),
        ("seed", "Seed of the shuffled order and of the per-test RNG reseeding. Default: random."),
        ("report", "Write the JSON report of the run to PATH."),
        ("history", "Show the flakiest tests recorded in pytest's cache, then exit."),
    ],
)
def test_help_carries_the_default_where_there_is_one(name: str, expected: str) -> None:
    assert SPECS[name].help_with_default == expected


def test_a_flag_states_no_default() -> None:
    strict = SPECS["strict"]
    assert (strict.flag, strict.default) == (True, "false")
    assert strict.help_with_default == strict.help


def test_ini_types_from_pytest_9_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytest, "version_tuple", (9, 2, 0))
    types = {name: settings._ini_type(spec) for name, spec in SPECS.items() if not spec.cli_only}
    assert types == {
        "seed": str | int,
        "min-pass-rate": str | float,
        "max-duration": str | float,
        "max-test-duration": str | float,
        "stop-on-budget": str | bool,
        "mode": "args",
        "report": "string",
        "strict": str | bool,
        "order": "string",
        "durations": "string",
        "order-checks": str | int,
        "order-check-time": str | float,
        "slowest": str | int,
        "min-coverage": str | float,
        "cov": "args",
        "cov-report": "args",
        "min-coverage-per-package": "args",
        "coverage-baseline": "string",
        "coverage-drop": str | float,
        "min-patch-coverage": str | float,
        "patch-min-lines": str | int,
        "reruns": str | int,
        "rerun-delay": str | float,
        "rerun-only": "linelist",
        "rerun-except": "linelist",
        "rerun-cap": str | float,
        "rerun-cap-min": str | int,
        "max-flaky": str | int,
        "new-test-runs": str | int,
        "new-test-max-duration": str | float,
        "new-test-budget": str | float,
        "changed-since": "string",
        "html": "string",
        "quarantine": "string",
    }


@pytest.mark.parametrize("version", [(8, 0, 0), (9, 1, 3)])
def test_ini_types_before_pytest_9_2_are_text(
    monkeypatch: pytest.MonkeyPatch, version: tuple[int, int, int]
) -> None:
    monkeypatch.setattr(pytest, "version_tuple", version)
    assert {settings._ini_type(spec) for spec in OPTIONS} == {"string", "args", "linelist"}
