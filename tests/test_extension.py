"""Gates of a conftest's own, through ``pytest_atom_gates_add_gates``: judged like TQ-01..05.

Each gets a line in the table, a verdict and a section in the JSON report, a mode and its say in
the exit status, single-process and under xdist; a gate that cannot be added is a usage error,
and one that breaks while judging fails, with the reason, instead of ending the run.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path

import jsonschema
import pytest

from pytest_atom_gates import report as report_reader
from pytest_atom_gates.reporting.json_report import schema
from tests.conftest import GatedRun, Gates, no_traceback

SKIP_GATE = """
import pytest
from pytest_atom_gates.extension import ExtensionGate, GateMode, Verdict


class MaxSkipped(ExtensionGate):
    id = "SK-01"
    name = "skipped tests"
    default_mode = GateMode.{default_mode}

    def evaluate(self, facts):
        skipped, total = facts.count("skipped"), len(facts.outcomes)
        share = 100 * skipped / total
        verdict = Verdict.PASS if share <= 2 else Verdict.FAIL
        reason = None if verdict is Verdict.PASS else f"{{skipped}} of {{total}} tests were skipped"
        return self.verdict(verdict, f"{{share:.1f}} % ({{skipped}}/{{total}})", "<= 2 %", reason,
                            data={{"skipped": skipped}})

    def report_section(self, facts):
        return {{"skipped": sorted(n for n, o in facts.outcomes.items() if o == "skipped")}}

    def summary_lines(self, facts):
        return [n for n, o in facts.outcomes.items() if o == "skipped"]


def pytest_atom_gates_add_gates(config, gates):
    gates.add(MaxSkipped())
"""

SUITE = """
import pytest

def test_a(): pass
def test_b(): pass
def test_c(): pass

@pytest.mark.skip(reason="no service")
def test_d(): pass
"""


def last_error(run: GatedRun) -> str:
    return [line for line in run.result.errlines if line][-1]


def suite(pytester: pytest.Pytester, default_mode: str = "ENFORCE") -> None:
    pytester.makeconftest(SKIP_GATE.format(default_mode=default_mode))
    pytester.makepyfile(test_suite=SUITE)


def test_a_failing_gate_of_a_conftest_fails_the_run(any_engine: Gates) -> None:
    suite(any_engine.pytester)
    run = any_engine.run("--atom-gates-seed=1")
    assert run.result.ret == 1
    lines = run.result.outlines
    (row,) = [line for line in lines if line.startswith("SK-01  ")]
    assert " ".join(row.split()) == "SK-01 skipped tests FAIL 25.0 % (1/4) <= 2 %"
    heading = lines.index("SK-01 skipped tests:")
    assert lines[heading + 1] == "  test_suite.py::test_d"
    verdict = run.verdict("SK-01")
    assert verdict == {
        "gate": "SK-01",
        "name": "skipped tests",
        "verdict": "FAIL",
        "mode": "enforce",
        "measured": "25.0 % (1/4)",
        "required": "<= 2 %",
        "reason": "1 of 4 tests were skipped",
        "data": {"skipped": 1},
    }
    assert run.report["extensions"] == {"SK-01": {"skipped": ["test_suite.py::test_d"]}}
    jsonschema.validate(run.report, schema())
    loaded = report_reader.load(run.report_path).verdict("SK-01")
    assert loaded is not None
    assert (loaded.name, loaded.fails_run) == ("skipped tests", True)


def test_the_gate_appears_in_the_header_after_the_built_in_ones(gates: Gates) -> None:
    suite(gates.pytester)
    run = gates.run("--atom-gates-seed=1", "--atom-gates-mode=SK-01:warn")
    start = run.result.outlines.index("atom-gates: seed 1 | reproduce with --atom-gates-seed=1")
    header = run.result.outlines[start + 1 : start + 4]
    assert header == [
        "atom-gates: TQ-01 independence | TQ-02 pass rate >= 98 % | TQ-03 duration <= 3600 s",
        "atom-gates: TQ-04 reruns 2 (no pause, same test seed) | TQ-05 coverage >= 25 % (off)",
        "atom-gates: TQ-06 patch coverage off (no --atom-gates-changed-since) | "
        "SK-01 skipped tests (warn)",
    ]


@pytest.mark.parametrize(
    ("args", "default_mode", "status", "verdict"),
    [
        (("--atom-gates-mode=SK-01:warn",), "ENFORCE", 0, "WARN"),
        (("--atom-gates-mode=sk-01:off",), "ENFORCE", 0, "OFF"),
        ((), "WARN", 0, "WARN"),
        (("--atom-gates-mode=SK-01:enforce",), "WARN", 1, "FAIL"),
    ],
)
def test_modes_apply_to_an_extension_gate(
    gates: Gates, args: tuple[str, ...], default_mode: str, status: int, verdict: str
) -> None:
    suite(gates.pytester, default_mode)
    run = gates.run(*args)
    assert run.result.ret == status
    assert run.verdict("SK-01")["verdict"] == verdict


def test_a_mode_for_a_gate_that_no_extension_added_is_a_usage_error(gates: Gates) -> None:
    suite(gates.pytester)
    run = gates.run("--atom-gates-mode=XY-07:warn", report=False)
    assert run.result.ret == 4
    assert last_error(run) == (
        "ERROR: --atom-gates-mode: no gate XY-07 in this run. Accepted: TQ-01, TQ-02, TQ-03, "
        "TQ-04, TQ-05, TQ-06, SK-01, or an alias of TQ-01 to TQ-06."
    )


@pytest.mark.parametrize(
    ("gate_class", "problem"),
    [
        (("sk1", "x"), "its id 'sk1' is not like SK-01"),
        (("TQ-06", "x"), "its id TQ-06 is a built-in gate's"),
        (("SK-01", " "), "it has no name"),
    ],
)
def test_a_gate_that_cannot_be_added_is_a_usage_error(
    gates: Gates, gate_class: tuple[str, str], problem: str
) -> None:
    gate_id, name = gate_class
    gates.pytester.makeconftest(
        f"""
        from pytest_atom_gates.extension import ExtensionGate

        class Bad(ExtensionGate):
            id = {gate_id!r}
            name = {name!r}
            def __repr__(self): return "Bad()"

        def pytest_atom_gates_add_gates(config, gates):
            gates.add(Bad())
        """
    )
    gates.pytester.makepyfile(test_suite=SUITE)
    run = gates.run(report=False)
    assert run.result.ret == 4
    assert last_error(run) == (
        f"ERROR: pytest_atom_gates_add_gates: cannot add Bad(): {problem}. Accepted: an "
        "ExtensionGate with a unique id of 1 to 8 capitals and digits, a hyphen and two digits, "
        "not TQ-*, a name, and evaluate()."
    )
    assert no_traceback(run.output)


def test_the_same_gate_twice_is_a_usage_error(gates: Gates) -> None:
    suite(gates.pytester)
    gates.pytester.makeconftest(
        SKIP_GATE.format(default_mode="ENFORCE") + "    gates.add(MaxSkipped())\n"
    )
    run = gates.run(report=False)
    assert run.result.ret == 4
    assert "a gate with the id SK-01 was added already" in last_error(run)


def test_a_gate_that_raises_fails_with_the_reason_and_the_report_is_written(
    any_engine: Gates,
) -> None:
    any_engine.pytester.makeconftest(
        """
        from pytest_atom_gates.extension import ExtensionGate

        class Broken(ExtensionGate):
            id = "BR-01"
            name = "broken"
            def evaluate(self, facts):
                raise KeyError("budget")
            def summary_lines(self, facts):
                raise RuntimeError("not shown")

        def pytest_atom_gates_add_gates(config, gates):
            gates.add(Broken())
        """
    )
    any_engine.pytester.makepyfile(test_suite=SUITE)
    run = any_engine.run()
    assert run.result.ret == 1
    assert run.verdict("BR-01")["reason"] == (
        "the gate could not judge the run: Broken.evaluate() raised KeyError('budget')"
    )
    assert run.verdict("TQ-02")["verdict"] == "PASS"
    assert no_traceback(run.output)


def test_a_hook_that_raises_is_a_usage_error_naming_it(gates: Gates) -> None:
    gates.pytester.makeconftest(
        """
        def pytest_atom_gates_add_gates(config, gates):
            raise ValueError("no budget file")
        """
    )
    gates.pytester.makepyfile(test_suite=SUITE)
    run = gates.run(report=False)
    assert run.result.ret == 4
    assert last_error(run) == (
        "ERROR: pytest_atom_gates_add_gates raised ValueError('no budget file')"
    )


def test_without_atom_gates_the_hook_is_not_called(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        def pytest_atom_gates_add_gates(config, gates):
            raise AssertionError("called")
        """
    )
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest()
    result.assert_outcomes(passed=3, skipped=1)
    assert "atom-gates:" not in result.stdout.str()


def test_the_facts_a_gate_reads(gates: Gates) -> None:
    gates.pytester.makeconftest(
        """
        import json
        from pytest_atom_gates.extension import ExtensionGate, Verdict

        class Facts(ExtensionGate):
            id = "FA-01"
            name = "facts"
            def evaluate(self, facts):
                seen = {
                    "outcomes": dict(facts.outcomes),
                    "attempts": dict(facts.attempts),
                    "durations": sorted(facts.durations),
                    "seed": facts.seed,
                    "partial": facts.partial,
                    "count": facts.count("failed", "skipped"),
                }
                return self.verdict(Verdict.PASS, "-", "-", data=seen)

        def pytest_atom_gates_add_gates(config, gates):
            gates.add(Facts())
        """
    )
    gates.pytester.makepyfile(
        test_suite="""
        import pytest

        def test_pass(): pass
        def test_fail(): assert False

        @pytest.mark.skip(reason="no")
        def test_skip(): pass

        @pytest.mark.atom_gates_quarantine("known")
        def test_quarantined(): assert False
        """
    )
    run = gates.run("--atom-gates-seed=9", "--atom-gates-min-pass-rate=0")
    assert run.verdict("FA-01")["data"] == {
        "outcomes": {
            "test_suite.py::test_pass": "passed",
            "test_suite.py::test_fail": "failed",
            "test_suite.py::test_skip": "skipped",
        },
        "attempts": {"test_suite.py::test_fail": 3},
        "durations": [
            "test_suite.py::test_fail",
            "test_suite.py::test_pass",
            "test_suite.py::test_skip",
        ],
        "seed": 9,
        "partial": None,
        "count": 2,
    }


def test_the_example_suites_gates_judge_a_run(any_engine: Gates) -> None:
    """examples/suite_gates.py, as the example suite adds it, on a run that breaks both."""
    pytester = any_engine.pytester
    root = Path(__file__).resolve().parents[1]
    shutil.copy(root / "examples" / "suite_gates.py", pytester.path)
    pytester.makeconftest("from suite_gates import pytest_atom_gates_add_gates")
    (pytester.path / "test-budgets.json").write_text(
        json.dumps({"default": 5, "prefixes": {"test_suite.py::test_slow": 0.05}})
    )
    pytester.makepyfile(
        test_suite="""
        import time, pytest

        def test_slow(): time.sleep(0.2)
        def test_a(): pass

        @pytest.mark.skip(reason="no service")
        def test_b(): pass
        """
    )
    run = any_engine.run("--atom-gates-seed=3", "--rootdir", str(pytester.path))
    assert run.result.ret == 1
    assert (run.verdict("SK-01")["verdict"], run.verdict("SK-01")["measured"]) == (
        "WARN",
        "33.3 % (1/3)",
    )
    budgets = run.verdict("BU-01")
    assert (budgets["verdict"], budgets["measured"], budgets["reason"]) == (
        "FAIL",
        "1 over budget",
        "1 tests took longer than test-budgets.json allows",
    )
    (over,) = run.report["extensions"]["BU-01"]["over"]
    assert (over["nodeid"], over["budget"]) == ("test_suite.py::test_slow", 0.05)
    assert over["seconds"] >= 0.2
    lines = run.result.outlines
    shown = lines[lines.index("BU-01 test budgets:") + 1]
    assert re.fullmatch(r"  0\.\d\d s > 0\.05 s  test_suite\.py::test_slow", shown)


BROKEN_GATE = """
import pytest
from pytest_atom_gates.extension import ExtensionGate, GateVerdict, Verdict

class Odd(ExtensionGate):
    id = "OD-01"
    name = "odd"
    def evaluate(self, facts):
        {body}
    def summary_lines(self, facts):
        raise SystemExit(3)
    def report_section(self, facts):
        return {{(1, 2): "tuple key"}}

def pytest_atom_gates_add_gates(config, gates):
    gates.add(Odd())
"""


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("raise SystemExit(0)", "Odd.evaluate() raised SystemExit(0)"),
        ('pytest.fail("no")', "Odd.evaluate() raised Failed('no')"),
        ('pytest.skip("no")', "Odd.evaluate() raised Skipped('no')"),
        (
            'return GateVerdict("OD-01", "PASS", "x", "y")',
            "Odd.evaluate() said 'PASS', not PASS, WARN or FAIL",
        ),
        (
            'return GateVerdict("OD-01", Verdict.OFF, "x", "y")',
            "Odd.evaluate() said <Verdict.OFF: 'OFF'>, not PASS, WARN or FAIL",
        ),
        (
            'return GateVerdict("OD-01", Verdict.PASS, 42, None)',
            "Odd.evaluate() gave a verdict whose measured, required is not text",
        ),
        (
            'return GateVerdict("OD-01", Verdict.PASS, "x", "y", data={(1, 2): 3})',
            "Odd.evaluate() gave data that JSON cannot hold: keys must be str, int, float, bool "
            "or None, not tuple",
        ),
        (
            'return GateVerdict("OD-01", Verdict.PASS, "x", "y", data={"n": float("nan")})',
            "Odd.evaluate() gave data that JSON cannot hold: Out of range float values are not "
            "JSON compliant",
        ),
    ],
)
def test_a_gate_that_misbehaves_fails_and_the_run_keeps_its_report(
    gates: Gates, body: str, reason: str
) -> None:
    gates.pytester.makeconftest(BROKEN_GATE.format(body=body))
    gates.pytester.makepyfile(test_suite="def test_fails(): assert False")
    run = gates.run("--atom-gates-min-pass-rate=0")
    assert run.result.ret == 1
    odd = run.verdict("OD-01")
    assert (odd["verdict"], odd["name"]) == ("FAIL", "odd")
    # Python 3.13 adds the value to JSON's message about nan ("...: nan").
    assert odd["reason"].removesuffix(": nan") == f"the gate could not judge the run: {reason}"
    assert run.report["extensions"]["OD-01"] == {
        "problem": "report_section() returned what JSON cannot hold: keys must be str, int, "
        "float, bool or None, not tuple"
    }
    assert run.verdict("TQ-02")["measured"] == "0.00 % (0/1)"
    assert "OD-01 odd:" not in run.result.outlines
    assert no_traceback(run.output)


def test_an_extension_text_cannot_drive_the_terminal(gates: Gates) -> None:
    gates.pytester.makeconftest(
        BROKEN_GATE.format(body='return self.verdict(Verdict.FAIL, "red\\x1b[31m", "y", "r")')
    )
    gates.pytester.makepyfile(test_suite="def test_ok(): pass")
    run = gates.run()
    assert run.verdict("OD-01")["measured"] == "red\\x1b[31m"
    assert "\x1b[31m" not in run.result.stdout.str()


def test_an_extension_text_is_cut_to_a_readable_length(gates: Gates) -> None:
    gates.pytester.makeconftest(
        BROKEN_GATE.format(body='return self.verdict(Verdict.FAIL, "m" * 300, "y", "r" * 9000)')
    )
    gates.pytester.makepyfile(test_suite="def test_ok(): pass")
    verdict = gates.run().verdict("OD-01")
    assert verdict["measured"] == "m" * 197 + "..."
    assert verdict["reason"] == "r" * 1997 + "..."


def test_a_gate_switched_off_runs_none_of_its_code_and_keeps_its_name(gates: Gates) -> None:
    gates.pytester.makeconftest(BROKEN_GATE.format(body="raise SystemExit(0)"))
    gates.pytester.makepyfile(test_suite="def test_ok(): pass")
    run = gates.run("--atom-gates-mode=OD-01:off")
    assert run.result.ret == 0
    assert run.verdict("OD-01")["name"] == "odd"
    assert run.verdict("OD-01")["verdict"] == "OFF"
    assert run.report["extensions"]["OD-01"] == {}


def test_a_gate_switched_off_shows_no_summary_lines(gates: Gates) -> None:
    suite(gates.pytester)
    run = gates.run("--atom-gates-mode=SK-01:off")
    assert run.verdict("SK-01")["verdict"] == "OFF"
    assert "SK-01 skipped tests:" not in run.result.outlines
    assert run.report["extensions"]["SK-01"] == {}


@pytest.mark.parametrize(
    ("added", "problem"),
    [
        ("Good", "it is a class: add an instance of it"),
        ("Good(mode='warn')", "its default_mode 'warn' is not a GateMode"),
    ],
)
def test_a_class_or_a_text_mode_is_a_usage_error(gates: Gates, added: str, problem: str) -> None:
    gates.pytester.makeconftest(
        f"""
        from pytest_atom_gates.extension import ExtensionGate, Verdict

        class Good(ExtensionGate):
            id = "GO-01"
            name = "good"
            def __init__(self, mode=None):
                if mode is not None:
                    self.default_mode = mode
            def __repr__(self): return "Good()"
            def evaluate(self, facts): return self.verdict(Verdict.PASS, "-", "-")

        def pytest_atom_gates_add_gates(config, gates):
            gates.add({added})
        """
    )
    gates.pytester.makepyfile(test_suite=SUITE)
    run = gates.run(report=False)
    assert run.result.ret == 4
    shown = "<class 'conftest.Good'>" if added == "Good" else "Good()"
    assert last_error(run).startswith(f"ERROR: pytest_atom_gates_add_gates: cannot add {shown}")
    assert f": {problem}. Accepted: " in last_error(run)


def test_a_gate_added_after_start_up_is_refused_naming_the_rule(gates: Gates) -> None:
    gates.pytester.makeconftest(
        SKIP_GATE.format(default_mode="ENFORCE")
        + """
kept = []

def pytest_atom_gates_add_gates(config, gates):
    kept.append(gates)

def pytest_collection_finish(session):
    try:
        kept[0].add(MaxSkipped())
    except RuntimeError as exc:
        print("refused:", exc)
"""
    )
    gates.pytester.makepyfile(test_suite=SUITE)
    run = gates.run()
    assert any(
        line.startswith("refused: cannot add ")
        and line.endswith(
            ": gates are added inside pytest_atom_gates_add_gates only, before the run starts"
        )
        for line in run.result.outlines
    )
    assert [v["gate"] for v in run.report["verdicts"]].count("SK-01") == 0


def test_a_conftest_loaded_after_start_up_is_named(any_engine: Gates) -> None:
    sub = any_engine.pytester.mkpydir("sub")
    (sub / "conftest.py").write_text(SKIP_GATE.format(default_mode="ENFORCE"))
    (sub / "test_suite.py").write_text(textwrap.dedent(SUITE))
    run = any_engine.run()
    assert "SK-01" not in [v["gate"] for v in run.report["verdicts"]]
    assert run.result.outlines[-3] == (
        "atom-gates: sub/conftest.py implements pytest_atom_gates_add_gates but was loaded after "
        "start-up: its gates are not in this run. Put the hook in the rootdir's conftest.py, a "
        "test path's, or a plugin"
    )
