"""Whole verdicts, data included, compared at once: a changed key, figure or word fails them."""

from __future__ import annotations

from decimal import Decimal

from pytest_atom_gates.cov.facts import CoverageFacts, Figures, PackageResult
from pytest_atom_gates.cov.gate import CoverageGate, describe_measurement, package_judgement
from pytest_atom_gates.gates import DurationGate, IndependenceGate, PassRateGate, evaluate
from pytest_atom_gates.gates.base import GateVerdict, Verdict, apply_mode, off_verdict
from pytest_atom_gates.gates.determinism import DeterminismGate, RerunFacts
from pytest_atom_gates.gates.independence import (
    INCONCLUSIVE,
    ORDER_DEPENDENT,
    OrderChecks,
)
from pytest_atom_gates.gates.numbers import format_seconds, format_threshold
from pytest_atom_gates.gates.order_findings import AloneCheck
from pytest_atom_gates.ledger import RERUN
from pytest_atom_gates.settings import FlakyLimit, GateMode
from tests.unit.builders import attempt, facts_of, ledger_of, make_settings

OUTCOME_COUNTS = dict.fromkeys(
    ("passed", "flaky", "failed", "skipped", "xfailed", "xpassed", "not-run"), 0
)


def _mixed_ledger():  # type: ignore[no-untyped-def]
    return ledger_of(
        attempt("t.py::a"),
        attempt("t.py::b"),
        [*attempt("t.py::flaky", RERUN), *attempt("t.py::flaky")],
        attempt("t.py::bad", "failed"),
        attempt("t.py::skip", "skipped", phase="setup"),
        selected=["t.py::a", "t.py::b", "t.py::flaky", "t.py::bad", "t.py::skip", "t.py::gone"],
    )


def test_pass_rate_data_whole() -> None:
    facts = facts_of(_mixed_ledger(), settings=make_settings(min_pass_rate=Decimal(50)))
    verdict = PassRateGate().evaluate(facts)
    assert dict(verdict.data) == {
        **OUTCOME_COUNTS,
        "passed": 2,
        "flaky": 1,
        "failed": 1,
        "skipped": 1,
        "not-run": 1,
        "selected": 6,
        "counted": 5,
        "min_pass_rate": "50",
        "quarantined": 0,
        "pass_rate": 60.0,
    }
    assert (verdict.verdict, verdict.reason) == (Verdict.FAIL, "1 selected test did not run")


def test_pass_rate_reasons_in_order() -> None:
    facts = facts_of(_mixed_ledger(), stopped_early="-x", settings=make_settings())
    verdict = PassRateGate().evaluate(facts)
    assert verdict.reason == (
        "2 tests of 5 did not pass, below the minimum of 98 %; run stopped early (-x); "
        "1 selected test did not run"
    )


def test_collection_errors_are_named_first_with_the_session_for_an_empty_node_id() -> None:
    from pytest_atom_gates.ledger import CollectionError

    ledger = ledger_of(selected=[])
    ledger.collection_errors += [CollectionError("", "boom"), CollectionError("t.py", "bad")]
    verdict = PassRateGate().evaluate(facts_of(ledger, interrupted="KeyboardInterrupt"))
    assert (verdict.verdict, verdict.measured, verdict.reason) == (
        Verdict.FAIL,
        "n/a (0 tests counted)",
        "collection failed: 2 errors (first: session: boom); run interrupted (KeyboardInterrupt)",
    )


def test_duration_verdict_whole() -> None:
    ledger = ledger_of(
        attempt("t.py::slow", duration=0.3),
        attempt("t.py::slower", duration=0.4),
        attempt("t.py::slowest", duration=0.5),
        attempt("t.py::also", duration=0.35),
        attempt("t.py::quick"),
    )
    settings = make_settings(max_duration=2.0, max_test_duration=0.5)
    verdict = DurationGate().evaluate(facts_of(ledger, settings=settings, elapsed=2.5))
    slow = [
        ("t.py::slowest", 1.5),
        ("t.py::slower", 1.2),
        ("t.py::also", 1.05),
        ("t.py::slow", 0.9),
    ]
    assert verdict.verdict is Verdict.FAIL
    assert (verdict.measured, verdict.required) == ("2.50 s", "<= 2.00 s, each test <= 0.50 s")
    assert verdict.reason == (
        "the session took 2.50 s, over its budget of 2.00 s; 4 over the per-test budget: "
        "t.py::slowest (1.50 s), t.py::slower (1.20 s), t.py::also (1.05 s) and 1 more"
    )
    assert dict(verdict.data) == {
        "elapsed": 2.5,
        "max_duration": 2.0,
        "max_test_duration": 0.5,
        "over_test_budget": [
            {"nodeid": n, "duration": verdict.data["over_test_budget"][i]["duration"]}
            for i, (n, _) in enumerate(slow)
        ],
        "stopped_on_budget": False,
    }
    assert [round(e["duration"], 6) for e in verdict.data["over_test_budget"]] == [
        d for _, d in slow
    ]


def test_a_test_at_its_budget_is_within_it() -> None:
    ledger = ledger_of(attempt("t.py::edge", duration=0.1))
    facts = facts_of(ledger, settings=make_settings(max_test_duration=0.30000000000000004))
    assert DurationGate().evaluate(facts).verdict is Verdict.PASS


def test_format_seconds_and_thresholds() -> None:
    assert [format_seconds(s) for s in (9.994, 10.0, 599.94, 600.0)] == [
        "9.99 s",
        "10.0 s",
        "599.9 s",
        "600 s",
    ]
    assert [format_threshold(Decimal(v)) for v in ("98", "98.50", "1E+2")] == [
        "98 %",
        "98.5 %",
        "100 %",
    ]


def test_determinism_verdict_whole() -> None:
    ledger = ledger_of(
        *[[*attempt(f"t.py::f{n}", RERUN), *attempt(f"t.py::f{n}")] for n in range(4)],
        attempt("t.py::skip", "skipped", phase="setup"),
        attempt("t.py::ok"),
    )
    facts = facts_of(ledger, settings=make_settings(max_flaky=FlakyLimit(count=5)))
    facts.extras["reruns"] = RerunFacts(2, ["gw0: reruns stopped: it broke"])
    verdict = DeterminismGate().evaluate(facts)
    assert verdict == GateVerdict(
        "TQ-04",
        Verdict.WARN,
        "4 flaky",
        "<= 5 flaky",
        "flaky: t.py::f0, t.py::f1, t.py::f2 and 1 more; gw0: reruns stopped: it broke",
        data={
            "flaky": ["t.py::f0", "t.py::f1", "t.py::f2", "t.py::f3"],
            "reruns": 2,
            "max_flaky": "5",
            "allowed": 5,
            "capped": ["gw0: reruns stopped: it broke"],
            "new_flaky": [],
        },
    )
    facts.quarantined["t.py::f0"] = "known"
    assert DeterminismGate().evaluate(facts).data["flaky"] == ["t.py::f1", "t.py::f2", "t.py::f3"]


def test_independence_verdict_whole() -> None:
    ledger = ledger_of(*[attempt(f"t.py::f{n}", "failed") for n in range(5)])
    checks = OrderChecks(
        [AloneCheck(f"t.py::f{n}", ORDER_DEPENDENT, "passed when run alone") for n in range(4)]
        + [AloneCheck("t.py::f4", INCONCLUSIVE, "skipped when run alone")],
    )
    facts = facts_of(ledger)
    facts.extras["order_checks"] = checks
    assert IndependenceGate().evaluate(facts) == GateVerdict(
        "TQ-01",
        Verdict.FAIL,
        "4 order-dependent (5 of 5 failed tests rerun alone)",
        "no order-dependent tests",
        "failed in the shuffled run, passed alone: t.py::f0, t.py::f1, t.py::f2 and 1 more",
        data={
            "seed": 1,
            "failed": 5,
            "checked": 5,
            "order_dependent": ["t.py::f0", "t.py::f1", "t.py::f2", "t.py::f3"],
            "unchecked": [],
            "flaky_replayed": 0,
            "flaky_unchecked": [],
            "engine": None,
        },
    )
    facts.extras["order_checks"] = OrderChecks(
        [AloneCheck("t.py::f4", INCONCLUSIVE, "skipped when run alone")],
        unchecked=["t.py::f0"],
    )
    verdict = IndependenceGate().evaluate(facts)
    assert (verdict.verdict, verdict.reason) == (
        Verdict.WARN,
        "1 failed tests not rerun alone; 1 alone-runs inconclusive (skipped when run alone)",
    )
    del facts.extras["order_checks"]
    assert IndependenceGate().evaluate(facts).data["unchecked"] == [f"t.py::f{n}" for n in range(5)]


def test_evaluate_applies_modes_in_gate_order() -> None:
    ledger = ledger_of(attempt("t.py::bad", "failed"))
    settings = make_settings(modes={"TQ-03": GateMode.OFF, "TQ-02": GateMode.WARN})
    verdicts = evaluate([PassRateGate(), DurationGate()], facts_of(ledger, settings=settings))
    assert [(v.gate, v.verdict, v.mode) for v in verdicts] == [
        ("TQ-02", Verdict.WARN, GateMode.WARN),
        ("TQ-03", Verdict.OFF, GateMode.OFF),
    ]
    assert verdicts[0].reason == (
        "1 test of 1 did not pass, below the minimum of 98 % (not enforced: mode warn)"
    )
    assert off_verdict("TQ-05") == GateVerdict(
        "TQ-05", Verdict.OFF, "-", "-", "switched off", GateMode.OFF
    )


def _figures(percent: float, statements: int = 100) -> Figures:
    return Figures(statements, 0, 0, 0, 0, 0, percent)


def test_coverage_verdict_whole() -> None:
    cov = CoverageFacts(
        "atom-gates",
        ("a", "b", "c", "d"),
        precision=1,
        totals=_figures(20.04),
        problems=["another tracer"],
        unmatched_sources=["d"],
        shadowed_sources=["a is shadowed"],
        user_minimums=[(Decimal(30), "[report] fail_under")],
    )
    cov.cores.update(main="ctrace", gw0="sysmon")
    cov.packages.append(PackageResult("a", Decimal(10), _figures(50.0), 1))
    cov.packages.append(PackageResult("b", Decimal(10), None, 0, "not found"))
    facts = facts_of(ledger_of(attempt("t.py::a")))
    facts.extras["coverage"] = cov
    verdict = CoverageGate().evaluate(facts)
    assert verdict == GateVerdict(
        "TQ-05",
        Verdict.FAIL,
        "20.0 % (ctrace/sysmon; a, b, c +1 more)",
        ">= 30 % ([report] fail_under)",
        "another tracer; total 20.0 % is below the minimum of 30 % set by [report] fail_under; "
        "sources that matched nothing: d; a is shadowed; package b: not found, minimum 10 %",
        data={
            "measured_by": "atom-gates",
            "core": "ctrace/sysmon",
            "sources": ["a", "b", "c", "d"],
            "min_coverage": "30",
            "min_coverage_source": "[report] fail_under",
            "precision": 1,
            "percent": 20.04,
            "missing_workers": [],
            "packages": {
                "a": {"percent": 50.0, "min_coverage": "10", "passed": True},
                "b": {"percent": None, "min_coverage": "10", "passed": False},
            },
        },
    )


def test_describe_measurement_and_package_judgement() -> None:
    cov = CoverageFacts("pytest-cov", ())
    assert describe_measurement(cov) == "pytest-cov, core unknown; all code run, tests included"
    cov.cores["main"] = "sysmon"
    cov.sources = ("a", "b", "c")
    assert describe_measurement(cov) == "pytest-cov, sysmon; a, b, c"
    assert package_judgement(PackageResult("p", Decimal(50), _figures(49.6), 1), 0) == (
        "50 %",
        True,
    )
    assert package_judgement(PackageResult("p", Decimal(50), _figures(49.4), 1), 0) == (
        "49 %",
        False,
    )
    assert package_judgement(PackageResult("p", Decimal(50), None, 0), 0) == ("not measured", False)


def test_nothing_measured_is_named() -> None:
    cov = CoverageFacts("atom-gates", (), totals=_figures(100.0, statements=0))
    facts = facts_of(ledger_of(attempt("t.py::a")))
    facts.extras["coverage"] = cov
    verdict = CoverageGate().evaluate(facts)
    assert (verdict.verdict, verdict.measured, verdict.reason) == (
        Verdict.FAIL,
        "n/a",
        "nothing measured: 0 statements in the measured files",
    )
    facts.partial_reason = "-k x"
    warned = CoverageGate().evaluate(facts)
    assert (warned.verdict, warned.reason) == (
        Verdict.WARN,
        "nothing measured: 0 statements in the measured files "
        "(partial run: -k x; only --atom-gates-strict fails it)",
    )


def test_passing_verdicts_whole() -> None:
    ledger = ledger_of(attempt("t.py::a"), attempt("t.py::x", "skipped", phase="setup"))
    facts = facts_of(ledger, settings=make_settings(max_duration=10.0), elapsed=1.5)
    facts.extras["order_checks"] = OrderChecks()
    facts.extras["reruns"] = RerunFacts(2)
    cov = CoverageFacts("atom-gates", ("pkg",), totals=_figures(50.0))
    cov.cores["main"] = "ctrace"
    facts.extras["coverage"] = cov
    verdicts = [
        gate.evaluate(facts)
        for gate in (
            IndependenceGate(),
            PassRateGate(),
            DurationGate(),
            DeterminismGate(),
            CoverageGate(),
        )
    ]
    assert [(v.gate, v.verdict, v.measured, v.required, v.reason) for v in verdicts] == [
        (
            "TQ-01",
            Verdict.PASS,
            "0 order-dependent (0 of 0 failed tests rerun alone)",
            "no order-dependent tests",
            None,
        ),
        ("TQ-02", Verdict.PASS, "100.00 % (1/1)", ">= 98 %", None),
        ("TQ-03", Verdict.PASS, "1.50 s", "<= 10.0 s", None),
        ("TQ-04", Verdict.PASS, "0 flaky", "flaky tests warn", None),
        ("TQ-05", Verdict.PASS, "50 % (ctrace; pkg)", ">= 25 %", None),
    ]
    assert all(v.data for v in verdicts)
    assert verdicts[3].data == {
        "flaky": [],
        "reruns": 2,
        "max_flaky": None,
        "allowed": None,
        "capped": [],
        "new_flaky": [],
    }
    assert (verdicts[1].data["selected"], verdicts[1].data["counted"]) == (2, 1)


def test_excluded_outcomes_leave_the_denominator_each() -> None:
    from tests.unit.builders import report

    xfail = [
        report("t.py::xf", "setup"),
        report("t.py::xf", "call", "skipped", wasxfail="b"),
        report("t.py::xf", "teardown"),
    ]
    xpass = [
        report("t.py::xp", "setup"),
        report("t.py::xp", "call", wasxfail=""),
        report("t.py::xp", "teardown"),
    ]
    ledger = ledger_of(
        attempt("t.py::ok"), attempt("t.py::s", "skipped", phase="setup"), xfail, xpass
    )
    verdict = PassRateGate().evaluate(facts_of(ledger))
    assert (verdict.measured, verdict.data["counted"]) == ("100.00 % (1/1)", 1)


def _coverage_data(percent: float | None, missing_workers: list[str]) -> dict[str, object]:
    """TQ-05's data for a ctrace measurement of ``pkg`` against the default minimum."""
    return {
        "measured_by": "atom-gates",
        "core": "ctrace",
        "sources": ["pkg"],
        "min_coverage": "25",
        "min_coverage_source": None,
        "precision": 0,
        "percent": percent,
        "missing_workers": missing_workers,
        "packages": {},
    }


def test_warning_and_failing_verdicts_whole() -> None:
    ledger = ledger_of(attempt("t.py::s", "skipped", phase="setup"))
    facts = facts_of(ledger, partial_reason="-k s")
    assert PassRateGate().evaluate(facts) == GateVerdict(
        "TQ-02",
        Verdict.WARN,
        "n/a (0 tests counted)",
        ">= 98 %",
        "nothing ran: the 1 selected test was skipped, xfailed or xpassed "
        "(partial run: -k s; only --atom-gates-strict fails it)",
        data={
            **OUTCOME_COUNTS,
            "skipped": 1,
            "selected": 1,
            "counted": 0,
            "min_pass_rate": "98",
            "quarantined": 0,
        },
    )
    two = ledger_of(*[attempt(f"t.py::s{n}", "skipped", phase="setup") for n in range(2)])
    assert PassRateGate().evaluate(facts_of(two)).reason == (
        "nothing ran: all 2 selected tests were skipped, xfailed or xpassed"
    )
    cov = CoverageFacts("atom-gates", ("pkg",), totals=_figures(10.0))
    cov.missing_workers.append("gw1")
    cov.cores["main"] = "ctrace"
    facts.extras["coverage"] = cov
    assert CoverageGate().evaluate(facts) == GateVerdict(
        "TQ-05",
        Verdict.WARN,
        "10 % partial (ctrace; pkg)",
        ">= 25 %",
        "coverage incomplete: data from gw1 missing; partial figure 10 %; total 10 % is below "
        "the minimum of 25 % (partial run: -k s; only --atom-gates-strict fails it)",
        data=_coverage_data(10.0, ["gw1"]),
    )
    cov.totals = None
    cov.missing_workers.append("gw2")
    cov.unmatched_sources += ["x", "y"]
    assert CoverageGate().evaluate(facts_of(ledger, extras={"coverage": cov})) == GateVerdict(
        "TQ-05",
        Verdict.FAIL,
        "n/a",
        ">= 25 %",
        "coverage incomplete: data from gw1, gw2 missing; partial figure none; nothing "
        "measured: 0 statements in the measured files; sources that matched nothing: x, y",
        data=_coverage_data(None, ["gw1", "gw2"]),
    )
    assert CoverageGate().evaluate(facts_of(ledger)) == GateVerdict(
        "TQ-05", Verdict.FAIL, "n/a", ">= 25 %", "coverage was not measured"
    )


def test_determinism_failures_and_percent_limits_whole() -> None:
    flaky = [[*attempt(f"t.py::f{n}", RERUN), *attempt(f"t.py::f{n}")] for n in range(3)]
    ledger = ledger_of(
        *flaky,
        *[attempt(f"t.py::p{n}") for n in range(97)],
        attempt("t.py::s", "skipped", phase="setup"),
    )
    settings = make_settings(max_flaky=FlakyLimit(percent=Decimal(2)))
    assert DeterminismGate().evaluate(facts_of(ledger, settings=settings)) == GateVerdict(
        "TQ-04",
        Verdict.FAIL,
        "3 flaky",
        "<= 2 % flaky (2 of 100)",
        "3 flaky tests, more than the 2 allowed",
        data={
            "flaky": ["t.py::f0", "t.py::f1", "t.py::f2"],
            "reruns": 2,
            "max_flaky": "2 %",
            "allowed": 2,
            "capped": [],
            "new_flaky": [],
        },
    )
    facts = facts_of(ledger, quarantined={"t.py::p0": "q"})
    assert DeterminismGate().evaluate(facts).reason == "flaky: t.py::f0, t.py::f1, t.py::f2"


def test_an_order_dependent_list_of_three_has_no_more() -> None:
    ledger = ledger_of(*[attempt(f"t.py::f{n}", "failed") for n in range(3)])
    facts = facts_of(ledger)
    facts.extras["order_checks"] = OrderChecks(
        [AloneCheck(f"t.py::f{n}", ORDER_DEPENDENT, "passed when run alone") for n in range(3)]
    )
    assert IndependenceGate().evaluate(facts).reason == (
        "failed in the shuffled run, passed alone: t.py::f0, t.py::f1, t.py::f2"
    )
    facts.extras["order_checks"] = OrderChecks(unchecked=["t.py::f0"])
    assert IndependenceGate().evaluate(facts) == GateVerdict(
        "TQ-01",
        Verdict.WARN,
        "0 order-dependent (0 of 3 failed tests rerun alone)",
        "no order-dependent tests",
        "1 failed tests not rerun alone",
        data={
            "seed": 1,
            "failed": 3,
            "checked": 0,
            "order_dependent": [],
            "unchecked": ["t.py::f0"],
            "flaky_replayed": 0,
            "flaky_unchecked": [],
            "engine": None,
        },
    )


def test_per_test_budget_edges() -> None:
    at_budget = [*attempt("t.py::edge", RERUN, duration=0.1), *attempt("t.py::edge", duration=0.1)]
    ledger = ledger_of(
        attempt("t.py::quick"),
        at_budget,
        *[attempt(f"t.py::slow{n}", duration=1.0) for n in range(3)],
    )
    facts = facts_of(ledger, settings=make_settings(max_test_duration=0.2 + 0.1 + 0.000001))
    verdict = DurationGate().evaluate(facts)
    # t.py::edge: 0.4 s in all, but no attempt over 0.3 s; the three slow ones are listed whole.
    assert verdict.reason == (
        "3 over the per-test budget: "
        "t.py::slow0 (3.00 s), t.py::slow1 (3.00 s), t.py::slow2 (3.00 s)"
    )


def test_a_zero_percent_flaky_limit_allows_none() -> None:
    ledger = ledger_of(
        [*attempt("t.py::f", RERUN), *attempt("t.py::f")],
        *[attempt(f"t.py::p{n}") for n in range(199)],
    )
    settings = make_settings(max_flaky=FlakyLimit(percent=Decimal(0)))
    verdict = DeterminismGate().evaluate(facts_of(ledger, settings=settings))
    assert (verdict.verdict, verdict.required) == (Verdict.FAIL, "<= 0 % flaky (0 of 200)")


def test_an_equal_user_minimum_leaves_tq05_as_the_source() -> None:
    from pytest_atom_gates.cov.gate import required_minimum

    cov = CoverageFacts("atom-gates", (), user_minimums=[(Decimal(25), "--cov-fail-under")])
    assert required_minimum(Decimal(25), cov) == (Decimal(25), "")


def test_apply_mode_keeps_the_mode_and_names_an_unreasoned_warning() -> None:
    passed = GateVerdict("TQ-02", Verdict.PASS, "m", "r")
    assert apply_mode(passed, GateMode.WARN) == GateVerdict(
        "TQ-02", Verdict.PASS, "m", "r", mode=GateMode.WARN
    )
    bare = GateVerdict("TQ-02", Verdict.FAIL, "m", "r")
    assert apply_mode(bare, GateMode.WARN).reason == "not enforced: mode warn"
