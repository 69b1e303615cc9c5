"""Fault matrix: damaged files the plugin reads or writes never cost a verdict or a report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Gates, no_traceback

HISTORY = (".pytest_cache", "d", "atom_gates", "history.json")


def _history(pytester: pytest.Pytester) -> Path:
    path = pytester.path.joinpath(*HISTORY)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xff\xfe\x00\x01", "not UTF-8 text"),
        (b'{"version": 2, "tests": {"t.py::a": 99999999999999999999999999}}', "t.py::a: "),
        (b'{"version": 2, "tests": {"t.py::a": 10000000000}}', "t.py::a: "),
        (b'{"version": 2, "tests": {"t.py::a": -5}}', "t.py::a: "),
        (b'{"version": 2, "tests": {"t.py::a": "KXZ"}}', "t.py::a: "),
        (b'{"version": 2, "tests": {"t.py::a": ""}}', "t.py::a: "),
        (b'{"version": 2, "tests": {"t.py::a": true}}', "t.py::a: "),
    ],
    ids=["not-utf8", "huge-count", "10e10-count", "negative", "unknown-letters", "empty", "bool"],
)
def test_damaged_history_entry_is_set_aside(
    pytester: pytest.Pytester, any_engine: Gates, content: bytes, reason: str
) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    history = _history(pytester)
    history.write_bytes(content)
    run = any_engine.run()
    assert run.ret == 0, run.output
    assert no_traceback(run.output)
    warning = run.report["determinism"]["history_warning"]
    assert warning.startswith("flake history ")
    assert f"is damaged ({reason}" in warning
    assert warning.endswith("); a new one is started")
    assert json.loads(history.read_text())["tests"] == {"test_s.py::test_ok": 1}
    assert history.with_suffix(".damaged.json").read_bytes() == content
    assert [v["verdict"] for v in run.report["verdicts"]] == ["PASS"] * 4 + ["OFF"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("-5", "-5 is not a count of runs from 0 to 50"),
        ('"KXZ"', "'KXZ' is not 1 to 50 of the letters P, K, F"),
        ("99999999999999999999999999", "99999999999999999999999999 is not a count of runs"),
    ],
)
def test_damaged_history_names_the_entry(pytester: pytest.Pytester, value: str, shown: str) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    _history(pytester).write_text(f'{{"version": 2, "tests": {{"t.py::a": {value}}}}}')
    listing = pytester.runpytest("--atom-gates-history")
    assert listing.ret == 0
    assert no_traceback(listing.stdout.str() + listing.stderr.str())
    listing.stdout.fnmatch_lines(
        [
            f"atom-gates: flake history *history.json is damaged (t.py::a: {shown}*); "
            "a new one is started"
        ]
    )


def test_history_listing_survives_a_non_utf8_file(pytester: pytest.Pytester) -> None:
    _history(pytester).write_bytes(b"\xff\xfe\x00\x01")
    listing = pytester.runpytest("--atom-gates-history")
    assert listing.ret == 0
    assert no_traceback(listing.stdout.str() + listing.stderr.str())
    listing.stdout.fnmatch_lines(
        [
            "atom-gates: flake history *history.json is damaged (not UTF-8 text); "
            "a new one is started",
            "*history.json: 0 tests recorded, 0 flaky at least once in their last 50 runs",
        ]
    )
