"""TQ-05's ratchet, without a run: what counts as a drop, and a damaged baseline."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from pytest_atom_gates.cov.baseline import BaselineProblem, baseline_of, drops, read_baseline
from pytest_atom_gates.cov.facts import CoverageFacts, Figures, FileFigures


def _figures(statements: int, missing: int) -> Figures:
    percent = 100.0 * (statements - missing) / statements if statements else 100.0
    return Figures(statements, missing, 0, 0, 0, 0, percent)


def _facts(**files: tuple[int, int]) -> CoverageFacts:
    facts = CoverageFacts("atom-gates", ("pkg",))
    facts.files = [
        FileFigures(f"pkg/{name}.py", _figures(*counts)) for name, counts in files.items()
    ]
    facts.totals = Figures.add([f.figures for f in facts.files])
    return facts


def test_a_file_outside_the_change_that_lost_covered_lines_is_named() -> None:
    recorded = baseline_of(_facts(a=(10, 0), b=(10, 2), gone=(4, 0)))
    now = _facts(a=(10, 3), b=(12, 4))  # b grew and lost none; a lost 3; gone went away
    assert drops(recorded, now, {"pkg/b.py"}, Decimal(100)) == [
        "covered lines lost since the baseline, outside the change: pkg/a.py (-3), pkg/gone.py (-4)"
    ]
    assert drops(recorded, now, {"pkg/a.py", "pkg/gone.py"}, Decimal(100)) == []


def test_the_total_may_fall_by_the_allowed_points_and_no_more() -> None:
    recorded = baseline_of(_facts(a=(100, 10)))
    assert drops(recorded, _facts(a=(100, 11)), {"pkg/a.py"}, Decimal(1)) == []
    assert drops(recorded, _facts(a=(100, 12)), {"pkg/a.py"}, Decimal(1)) == [
        "the total fell 2.00 points since the baseline (90.00 % -> 88.00 %), more than the 1 "
        "allowed (--atom-gates-coverage-drop)"
    ]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (
            "{",
            "is not JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        ),
        (
            '{"version": 2, "total": {}, "files": {}}',
            'is not a coverage baseline (expected {"version": 1, "total": ..., "files": ...})',
        ),
    ],
)
def test_a_damaged_baseline_says_why(tmp_path: Path, text: str, why: str) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BaselineProblem) as caught:
        read_baseline(path)
    assert str(caught.value) == why
    assert read_baseline(tmp_path / "none.json") is None
    assert json.loads(json.dumps(baseline_of(_facts(a=(2, 1)))))["files"]["pkg/a.py"] == {
        "statements": 2,
        "missing": 1,
        "branches": 0,
        "missing_branches": 0,
        "percent": 50.0,
    }
