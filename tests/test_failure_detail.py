"""The whole failure of every failed attempt in the JSON report: pytest's own rendering, where
it failed, what the test printed and logged; cut at documented sizes, secrets hidden."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from pytest_atom_gates import report as report_reader
from pytest_atom_gates.failures import OUTPUT_LIMIT, TRACEBACK_LIMIT
from pytest_atom_gates.reporting.json_report import schema
from tests.conftest import Gates

SHOP = """import logging
import pytest

def total(price):
    return price

def test_discount():
    print("charging card; api_token=abc123")
    logging.getLogger("shop").warning("discount table missing")
    price = total(200.0)
    assert price == 180.0, "discount of 10% should apply"

@pytest.fixture
def database():
    raise ConnectionError("db down")

def test_uses_db(database):
    pass

@pytest.mark.skip(reason="no network")
def test_skipped():
    pass

@pytest.mark.xfail(reason="bug 12")
def test_xfailed():
    assert 0
"""
ARGS = ("--atom-gates-reruns=0", "--atom-gates-order-checks=0", "--atom-gates-min-pass-rate=0")


def attempts(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {t["nodeid"]: t["attempts"] for t in report["tests"]}


def test_a_failed_attempt_keeps_the_whole_failure(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    path = pytester.makepyfile(test_shop=SHOP)
    run = any_engine.run(*ARGS)
    report = run.report
    jsonschema.validate(report, schema())
    tests = attempts(report)
    [discount] = tests["test_shop.py::test_discount"]
    assert discount["error"] == "AssertionError: discount of 10% should apply"
    assert discount["failure"] == {
        "exception": "AssertionError",
        "message": "AssertionError: discount of 10% should apply\nassert 200.0 == 180.0",
        "path": str(path),
        "line": 11,
        "function": "test_discount",
        "traceback": (
            "def test_discount():\n"
            '        print("charging card; api_token=***\n'
            '        logging.getLogger("shop").warning("discount table missing")\n'
            "        price = total(200.0)\n"
            '>       assert price == 180.0, "discount of 10% should apply"\n'
            "E       AssertionError: discount of 10% should apply\n"
            "E       assert 200.0 == 180.0\n\n"
            "test_shop.py:11: AssertionError"
        ),
        "stdout": "charging card; api_token=***\n",
        "stderr": "",
        "log": "WARNING  shop:test_shop.py:9 discount table missing",
        "threads": 0,
        "cut": [],
        "exception_bases": [],
    }
    [setup] = tests["test_shop.py::test_uses_db"]
    assert (setup["phase"], setup["failure"]["exception"], setup["failure"]["function"]) == (
        "setup",
        "ConnectionError",
        "database",
    )
    assert setup["failure"]["exception_bases"] == ["OSError"]
    assert setup["failure"]["line"] == 15
    # A skipped or xfailed attempt has no failure; its reason is its error.
    [skipped] = tests["test_shop.py::test_skipped"]
    [xfailed] = tests["test_shop.py::test_xfailed"]
    assert (skipped["error"], skipped["failure"]) == ("Skipped: no network", None)
    assert (xfailed["error"], xfailed["failure"]) == ("bug 12", None)
    assert report["failures_left_out"] == 0
    loaded = report_reader.load(run.report_path)
    failure = next(t for t in loaded.tests if t.nodeid == "test_shop.py::test_discount")
    assert failure.attempts[0].failure is not None
    assert failure.attempts[0].failure.record() == discount["failure"]


def test_the_tb_style_of_the_run_is_the_traceback_kept(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    pytester.makepyfile(test_shop=SHOP)
    run = gates.run(*ARGS, "--tb=short", "-k", "discount")
    [discount] = attempts(run.report)["test_shop.py::test_discount"]
    assert discount["failure"]["traceback"] == (
        "test_shop.py:11: in test_discount\n"
        '    assert price == 180.0, "discount of 10% should apply"\n'
        "E   AssertionError: discount of 10% should apply\n"
        "E   assert 200.0 == 180.0"
    )


LOUD = """import sys

def test_loud():
    sys.stdout.write("a" * 5000 + "b" * 20000 + "c" * 5000)
    sys.stderr.write("password=hunter2 is wrong")
    raise RuntimeError("x" * 30000)
"""


def test_long_output_is_cut_in_the_middle_with_a_note(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    pytester.makepyfile(test_loud=LOUD)
    report = any_engine.run(*ARGS).report
    [loud] = attempts(report)["test_loud.py::test_loud"]
    failure = loud["failure"]
    head, tail = OUTPUT_LIMIT // 4, OUTPUT_LIMIT - OUTPUT_LIMIT // 4
    assert failure["stdout"] == (
        "a" * head
        + f"\n[... {30000 - OUTPUT_LIMIT} characters cut ...]\n"
        + "b" * 2500
        + "c" * 5000
    )
    assert tail == 7500
    assert failure["stderr"] == "password=*** is wrong"
    assert failure["message"].startswith("RuntimeError: xxx")
    assert "characters cut" in failure["message"]
    assert len(failure["traceback"]) < TRACEBACK_LIMIT + 100
    assert failure["traceback"].endswith("test_loud.py:6: RuntimeError")
    assert failure["cut"] == ["message", "traceback", "stdout"]


FLAKY = """import pathlib

def test_flaky():
    mark = pathlib.Path("mark")
    if not mark.exists():
        mark.write_text("")
        assert 1 == 2, "first time"
"""


def test_a_flaky_tests_failed_attempt_keeps_its_failure(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    pytester.makepyfile(test_flaky=FLAKY)
    report = any_engine.run("--atom-gates-reruns=1", "--atom-gates-order-checks=0").report
    first, second = attempts(report)["test_flaky.py::test_flaky"]
    assert (first["outcome"], second["outcome"], second["failure"]) == ("failed", "passed", None)
    assert first["failure"]["message"] == "AssertionError: first time\nassert 1 == 2"
    assert first["failure"]["line"] == 7


def test_a_collection_error_keeps_its_whole_failure(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n", test_broken="import missing_module\n")
    report = any_engine.run(*ARGS, "--continue-on-collection-errors").report
    [error] = report["collection_errors"]
    assert error["nodeid"] == "test_broken.py"
    failure = error["failure"]
    assert "ModuleNotFoundError: No module named 'missing_module'" in failure["traceback"]
    assert failure["exception"] is None  # pytest shows a failed import without a reprcrash
    jsonschema.validate(report, schema())


DEFERRED = """import logging, pathlib, sys

def test_each_attempt_its_own():
    calls = pathlib.Path("calls")
    calls.write_text(calls.read_text() + "x" if calls.exists() else "x")
    n = len(calls.read_text())
    print(f"out {n}")
    sys.stderr.write(f"err {n}\\n")
    logging.getLogger("app").warning(f"log {n}")
    pytest_fail = __import__("pytest").fail
    pytest_fail(f"attempt {n} password=zzz", pytrace=False)
"""


def test_each_attempt_keeps_its_own_output_and_no_secret(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    """A rerun that waits its delay while others run is an attempt of its own: its failure
    holds its own output, not the earlier attempts' too; every error line hides secrets."""
    pytester.makepyfile(test_deferred=DEFERRED, test_other="def test_other():\n    pass\n")
    report = any_engine.run(
        "--atom-gates-reruns=2", "--atom-gates-rerun-delay=0.2", "--atom-gates-order-checks=0"
    ).report
    attempts = report_attempts = next(
        t["attempts"]
        for t in report["tests"]
        if t["nodeid"] == "test_deferred.py::test_each_attempt_its_own"
    )
    assert [a["failure"]["stdout"] for a in attempts] == ["out 1\n", "out 2\n", "out 3\n"]
    assert [a["failure"]["stderr"] for a in attempts] == ["err 1\n", "err 2\n", "err 3\n"]
    assert [a["failure"]["log"][-5:] for a in attempts] == ["log 1", "log 2", "log 3"]
    assert [a["error"] for a in report_attempts] == [
        f"Failed: attempt {n} password=***" for n in (1, 2, 3)
    ]
