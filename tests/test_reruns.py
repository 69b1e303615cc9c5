"""TQ-04: reruns in place, flaky tests, the outage cap, and what the reports say about them."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import jsonschema
import pytest

from pytest_atom_gates.reporting.json_report import schema
from tests.conftest import Gates

# Fails the first time it runs in a folder, then passes: a counter file works across processes.
FLAKY_ONCE = """
    import pathlib
    def fail_first_time(name):
        counter = pathlib.Path(name + ".count")
        runs = int(counter.read_text()) if counter.exists() else 0
        counter.write_text(str(runs + 1))
        assert runs > 0, f"first attempt of {name}"
"""

NO_DELAY = "--atom-gates-rerun-delay=0"


def test_flaky_test_passes_on_rerun(pytester: pytest.Pytester, any_engine: Gates) -> None:
    pytester.makeconftest(FLAKY_ONCE)
    pytester.makepyfile(
        test_s="""
        from conftest import fail_first_time
        def test_flaky():
            fail_first_time("flaky")
        def test_ok():
            pass
    """
    )
    run = any_engine.run(NO_DELAY)
    assert run.ret == 0
    assert run.outcomes() == {"test_s.py::test_flaky": "flaky", "test_s.py::test_ok": "passed"}
    flaky = next(t for t in run.report["tests"] if t["nodeid"] == "test_s.py::test_flaky")
    assert [(a["outcome"], a["phase"]) for a in flaky["attempts"]] == [
        ("failed", "call"),
        ("passed", None),
    ]
    assert flaky["attempts"][0]["error"] == "AssertionError: first attempt of flaky"
    assert run.verdict("TQ-02")["measured"] == "100.00 % (2/2)"
    determinism = run.verdict("TQ-04")
    assert (determinism["verdict"], determinism["measured"]) == ("WARN", "1 flaky")
    assert determinism["data"]["flaky"] == ["test_s.py::test_flaky"]
    run.result.stdout.fnmatch_lines(
        [
            "flaky tests (1), passed and failed:",
            "  test_s.py::test_flaky*",
            "    attempt 1: failed in call after * - AssertionError: first attempt of flaky",
            "    attempt 2: passed after *",
            "*2 passed, 1 rerun*",
        ]
    )
    jsonschema.validate(run.report, schema())


def test_failure_is_rerun_twice_then_fails(pytester: pytest.Pytester, any_engine: Gates) -> None:
    pytester.makepyfile(
        test_s="""
        import pathlib
        def test_broken():
            with open("attempts.txt", "a") as out:
                out.write("x")
            assert False, "always"
    """
    )
    run = any_engine.run(NO_DELAY, "--atom-gates-min-pass-rate=0")
    # Three attempts in the run, then one more alone (the TQ-01 alone-check) and one in file
    # order (failing alone too, it might have been brittle).
    assert (pytester.path / "attempts.txt").read_text() == "xxxxx"
    (test,) = run.report["tests"]
    assert test["outcome"] == "failed"
    assert [a["outcome"] for a in test["attempts"]] == ["failed"] * 3
    # A test that failed every attempt goes on to the TQ-01 alone-check.
    assert run.report["order_checks"][0]["result"] == "fails-alone"
    run.result.stdout.fnmatch_lines(["*1 failed, 2 rerun*"])


def test_fixture_scopes_between_attempts(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makeconftest(
        FLAKY_ONCE
        + """
    import pytest
    def note(event):
        with open("events.txt", "a") as out:
            out.write(event + "\\n")
    @pytest.fixture(scope="session")
    def session_resource():
        note("session setup")
        yield
        note("session teardown")
    @pytest.fixture(scope="module")
    def module_resource():
        note("module setup")
        yield
        note("module teardown")
    @pytest.fixture
    def function_resource():
        note("function setup")
        yield
        note("function teardown")
    """
    )
    pytester.makepyfile(
        test_s="""
        from conftest import fail_first_time
        def test_flaky(session_resource, module_resource, function_resource):
            fail_first_time("scopes")
    """
    )
    # TQ-01's replay of the flaky test would add its own events.
    run = gates.run(NO_DELAY, "--atom-gates-mode=TQ-01:off")
    assert run.outcomes() == {"test_s.py::test_flaky": "flaky"}
    events = (pytester.path / "events.txt").read_text().splitlines()
    assert events == [
        "session setup",
        "module setup",
        "function setup",
        "function teardown",
        "function setup",
        "function teardown",
        "module teardown",
        "session teardown",
    ]


def test_wider_fixture_whose_setup_failed_is_set_up_again(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    pytester.makeconftest(
        FLAKY_ONCE
        + """
    import pytest
    @pytest.fixture(scope="module")
    def shaky_module_resource():
        fail_first_time("module-fixture")
        return 42
    """
    )
    pytester.makepyfile(
        test_s="""
        def test_uses(shaky_module_resource):
            assert shaky_module_resource == 42
    """
    )
    run = any_engine.run(NO_DELAY)
    (test,) = run.report["tests"]
    assert test["outcome"] == "flaky"
    assert test["attempts"][0]["phase"] == "setup"


def test_failed_setup_module_is_retried(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makeconftest(FLAKY_ONCE)
    pytester.makepyfile(
        test_s="""
        from conftest import fail_first_time
        def setup_module():
            fail_first_time("setup-module")
        def test_a(): pass
    """
    )
    run = gates.run(NO_DELAY)
    assert run.outcomes() == {"test_s.py::test_a": "flaky"}


def test_teardown_failure_fails_the_attempt_and_is_not_rerun(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    pytester.makepyfile(
        test_s="""
        import pytest
        @pytest.fixture
        def leaky():
            yield
            with open("teardowns.txt", "a") as out:
                out.write("t")
            raise RuntimeError("cleanup failed")
        def test_leaky(leaky): pass
    """
    )
    run = gates.run(NO_DELAY, "--atom-gates-min-pass-rate=0", "--atom-gates-mode=TQ-01:off")
    (test,) = run.report["tests"]
    assert test["outcome"] == "failed"
    assert [(a["outcome"], a["phase"]) for a in test["attempts"]] == [("failed", "teardown")]
    assert (pytester.path / "teardowns.txt").read_text() == "t"


def test_fresh_class_instance_and_same_seed_every_attempt(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    pytester.makeconftest(FLAKY_ONCE)
    pytester.makepyfile(
        test_s="""
        import random
        from conftest import fail_first_time
        class TestState:
            def test_flaky(self):
                with open("seen.txt", "a") as out:
                    out.write(f"{getattr(self, 'dirty', False)} {random.random()}\\n")
                self.dirty = True
                fail_first_time("instance")
    """
    )
    run = gates.run(NO_DELAY, "--atom-gates-seed=11", "--atom-gates-mode=TQ-01:off")
    assert run.outcomes() == {"test_s.py::TestState::test_flaky": "flaky"}
    first, second = (pytester.path / "seen.txt").read_text().splitlines()
    assert first == second
    assert first.startswith("False ")


def test_rerun_filters(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makeconftest(FLAKY_ONCE)
    pytester.makepyfile(
        test_s="""
        from conftest import fail_first_time
        def test_network():
            try:
                fail_first_time("network")
            except AssertionError:
                raise ConnectionError("connection reset") from None
        def test_logic():
            fail_first_time("logic")
    """
    )
    only = gates.run(
        NO_DELAY, "--atom-gates-rerun-only=^ConnectionError", "--atom-gates-min-pass-rate=0"
    )
    assert only.outcomes() == {
        "test_s.py::test_network": "flaky",
        "test_s.py::test_logic": "failed",
    }
    for counter in pytester.path.glob("*.count"):
        counter.unlink()
    excluded = gates.run(
        NO_DELAY, "--atom-gates-rerun-except=reset", "--atom-gates-min-pass-rate=0"
    )
    assert excluded.outcomes() == {
        "test_s.py::test_network": "failed",
        "test_s.py::test_logic": "flaky",
    }


def test_bad_rerun_filter_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    result = pytester.runpytest("--atom-gates", "--atom-gates-rerun-only=(unclosed")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --atom-gates-rerun-only: invalid value '(unclosed' (not a regular expression:"
            " missing ), unterminated subpattern at position 0). Accepted: a Python regular*"
        ]
    )


def test_marker_sets_or_disables_reruns(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(
        test_s="""
        import pytest
        def attempt(name):
            with open(name, "a") as out:
                out.write("x")
            assert False
        @pytest.mark.atom_gates_reruns(0)
        def test_never(): attempt("never.txt")
        @pytest.mark.atom_gates_reruns(4)
        def test_more(): attempt("more.txt")
        def test_default(): attempt("default.txt")
    """
    )
    gates.run(NO_DELAY, "--atom-gates-min-pass-rate=0", "--atom-gates-mode=TQ-01:off")
    attempts = {
        name: len((pytester.path / name).read_text())
        for name in ("never.txt", "more.txt", "default.txt")
    }
    assert attempts == {"never.txt": 1, "more.txt": 5, "default.txt": 3}


def test_delay_between_attempts(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(
        test_s="""
        import time
        def test_timed():
            with open("times.txt", "a") as out:
                out.write(f"{time.monotonic()}\\n")
            assert False
    """
    )
    gates.run(
        "--atom-gates-rerun-delay=0.3", "--atom-gates-reruns=1", "--atom-gates-mode=TQ-01:off"
    )
    first, second = map(float, (pytester.path / "times.txt").read_text().split())
    assert second - first >= 0.3


OUTAGE = """
import pytest

@pytest.mark.parametrize("n", range(40))
def test_down(n):
    with open(f"down-{n}.txt", "a") as out:
        out.write("x")
    assert False, "service unavailable"
"""
"""40 tests that fail every attempt, each counting its attempts in a file of its own."""


def test_outage_cap_stops_reruns(pytester: pytest.Pytester, any_engine: Gates) -> None:
    pytester.makepyfile(test_s=OUTAGE)
    run = any_engine.run(NO_DELAY, "--atom-gates-mode=TQ-01:off", "--atom-gates-mode=TQ-02:off")
    attempts = [len(p.read_text()) for p in pytester.path.glob("down-*.txt")]
    assert len(attempts) == 40
    # Each process stops rerunning at its own 10th first-attempt failure.
    processes = 2 if any_engine.engine == "xdist" else 1
    assert attempts.count(3) <= 10 * processes
    assert attempts.count(1) == 40 - attempts.count(3)
    determinism = run.verdict("TQ-04")
    assert determinism["verdict"] == "WARN"
    # Each process that stopped says so once, in TQ-04's reason, and nowhere else.
    stops = determinism["reason"].split("; ")
    where = r"gw[01]: " if processes == 2 else ""
    assert all(
        re.fullmatch(
            rf"{where}reruns stopped: 10 of \d+ tests failed their first attempt "
            r"\(cap 20%, at least 10\)",
            stop,
        )
        for stop in stops
    ), stops
    assert 1 <= len(stops) <= processes
    assert run.output.count("reruns stopped") == len(stops)
    run.result.stdout.fnmatch_lines([f"  TQ-04 WARN: {determinism['reason']}"])


def test_too_many_flaky_tests_fail_the_gate(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makeconftest(FLAKY_ONCE)
    pytester.makepyfile(
        test_s="""
        import pytest
        from conftest import fail_first_time
        @pytest.mark.parametrize("n", range(3))
        def test_flaky(n):
            fail_first_time(f"flaky{n}")
    """
    )
    run = gates.run(NO_DELAY, "--atom-gates-max-flaky=2")
    determinism = run.verdict("TQ-04")
    assert determinism["verdict"] == "FAIL"
    assert determinism["reason"] == "3 flaky tests, more than the 2 allowed"
    assert run.ret == 1
    for counter in pytester.path.glob("*.count"):
        counter.unlink()
    by_share = gates.run(NO_DELAY, "--atom-gates-max-flaky=100%")
    assert by_share.verdict("TQ-04")["verdict"] == "WARN"
    assert by_share.ret == 0


def test_reruns_off(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    run = gates.run("--atom-gates-reruns=0")
    determinism = run.verdict("TQ-04")
    assert (determinism["verdict"], determinism["measured"]) == ("WARN", "reruns off")
    run.result.stdout.fnmatch_lines(["atom-gates: seed *", "atom-gates: *TQ-04 reruns off*"])


def test_crashed_worker_reruns_on_a_healthy_one(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_s="""
        import os, pathlib
        def test_crashes_once():
            counter = pathlib.Path("crash.count")
            runs = int(counter.read_text()) if counter.exists() else 0
            counter.write_text(str(runs + 1))
            if runs == 0:
                os._exit(1)
        def test_ok(): pass
    """
    )
    run = Gates(pytester, "xdist").run(NO_DELAY)
    assert "INTERNALERROR" not in run.output
    crashed = next(t for t in run.report["tests"] if t["nodeid"] == "test_s.py::test_crashes_once")
    assert crashed["outcome"] == "flaky"
    assert [a["phase"] for a in crashed["attempts"]] == ["crash", None]
    assert run.ret == 0


def test_reports_carry_every_attempt(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makeconftest(FLAKY_ONCE)
    pytester.makepyfile(
        test_s="""
        from conftest import fail_first_time
        def test_flaky():
            fail_first_time("report")
    """
    )
    run = gates.run(NO_DELAY)
    section = run.report["determinism"]
    assert section["reruns"] == 2
    # The first failed assertion in a cold process imports what explains it: attempt 1 may be
    # slow enough for a "time:" line, which says so of attempt 1 only.
    for flaky in section["flaky"]:
        timed = [e for e in flaky["evidence"] if e.startswith("time: ")]
        assert all(e.startswith("time: attempt 1 took ") for e in timed), timed
        flaky["evidence"] = [e for e in flaky["evidence"] if e not in timed]
    assert section["flaky"] == [
        {
            "nodeid": "test_s.py::test_flaky",
            "evidence": [
                "raised: attempt 1 raised AssertionError at conftest.py:6 in call; "
                "attempt 2 passed",
                "order: passed again after the 0 tests that ran before its first attempt",
            ],
            "history": {"flaky": 1, "runs": 1, "outcomes": "K"},
        }
    ]
    jsonschema.validate(run.report, schema())


def test_flake_history_accumulates_and_is_listed(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makeconftest(FLAKY_ONCE)
    pytester.makepyfile(
        test_s="""
        from conftest import fail_first_time
        def test_flaky():
            fail_first_time("history")
        def test_ok(): pass
    """
    )
    for _ in range(3):
        for counter in pytester.path.glob("*.count"):
            counter.unlink()
        run = gates.run(NO_DELAY)
    run.result.stdout.fnmatch_lines(["  test_s.py::test_flaky - flaky in 3 of the last 3 runs"])
    listing = pytester.runpytest("--atom-gates-history")
    assert listing.ret == 0
    listing.stdout.fnmatch_lines(
        [
            "*atom-gates flake history*",
            "*history.json: 2 tests recorded; in their last 50 runs 1 flaky, 0 broken "
            "(failed each of their last 3 runs)",
            "",
            " flaky  runs    rate  recent      test",
            "     3     3  100.0%  KKK         test_s.py::test_flaky",
        ]
    )
    listing.stdout.no_fnmatch_line("*test_s.py::test_ok*")


def test_a_test_that_fails_each_of_its_last_3_runs_is_broken_not_flaky(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    pytester.makeconftest(FLAKY_ONCE)
    pytester.makepyfile(
        test_s="""
        import pathlib
        from conftest import fail_first_time

        def test_was_flaky_now_broken():
            if pathlib.Path("broke").exists():
                assert False, "broken since"
            fail_first_time("once")

        def test_ok(): pass
    """
    )
    gates.run(NO_DELAY)  # flaky: failed, then passed on a rerun
    (pytester.path / "broke").touch()
    # TQ-01 off: its alone-runs of the failing test would start a process per run.
    failing_runs = (NO_DELAY, "--atom-gates-min-pass-rate=50", "--atom-gates-mode=TQ-01:off")
    for _ in (2, 3):
        run = gates.run(*failing_runs)
        assert run.report["determinism"]["broken"] == []
    run = gates.run(*failing_runs)
    assert run.report["determinism"]["broken"] == [
        {"nodeid": "test_s.py::test_was_flaky_now_broken", "recent": "KFFF"}
    ]
    assert run.report["determinism"]["flaky"] == []
    jsonschema.validate(run.report, schema())
    lines = run.result.outlines
    heading = lines.index(
        "broken tests (1), failed each of their last 3 runs: a failure, not a flake"
    )
    assert lines[heading + 1] == "  test_s.py::test_was_flaky_now_broken - recent KFFF"
    listing = pytester.runpytest("--atom-gates-history")
    assert listing.ret == 0
    listing.stdout.fnmatch_lines(
        [
            "*history.json: 2 tests recorded; in their last 50 runs 0 flaky, 1 broken "
            "(failed each of their last 3 runs)",
            "",
            "broken, not flaky (1):",
            "  KFFF        test_s.py::test_was_flaky_now_broken",
            "",
            "recent: the last outcomes, newest last: P passed, K flaky, F failed",
        ]
    )
    listing.stdout.no_fnmatch_line("* flaky  runs*")
    listing.stdout.no_fnmatch_line("flaky: *")  # no flaky test to explain


def test_the_history_listing_without_a_history_says_so(pytester: pytest.Pytester) -> None:
    listing = pytester.runpytest("--atom-gates-history")
    assert listing.ret == 0
    path = pytester.path / ".pytest_cache" / "d" / "atom_gates" / "history.json"
    listing.stdout.fnmatch_lines(
        [
            "*atom-gates flake history*",
            "no flake history yet: each run with --atom-gates records its tests' outcomes in "
            f"{path}",
        ]
    )
    listing.stdout.no_fnmatch_line("*tests recorded*")


def test_history_counts_passes_and_spells_out_the_rest(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """Tests that only ever passed are a count; a version 1 file is read and carried on."""
    pytester.makeconftest(FLAKY_ONCE)
    pytester.makepyfile(
        test_s="""
        from conftest import fail_first_time
        def test_flaky():
            fail_first_time("history")
        def test_ok(): pass
        def test_was_flaky(): pass
        def test_long_run(): pass
    """
    )
    history = pytester.path / ".pytest_cache" / "d" / "atom_gates" / "history.json"
    history.parent.mkdir(parents=True)
    earlier = {
        "test_s.py::test_ok": "PP",
        "test_s.py::test_flaky": "PP",
        "test_s.py::test_was_flaky": "K" + "P" * 49,
        "test_s.py::test_long_run": "P" * 50,
    }
    history.write_text(json.dumps({"version": 1, "tests": earlier}))
    run = gates.run(NO_DELAY)
    run.result.stdout.fnmatch_lines(["  test_s.py::test_flaky - flaky in 1 of the last 3 runs"])
    assert json.loads(history.read_text()) == {
        "version": 2,
        "tests": {
            "test_s.py::test_ok": 3,
            "test_s.py::test_flaky": "PPK",
            # The flaky run falls out of the last 50: only passes are left, so a count.
            "test_s.py::test_was_flaky": 50,
            "test_s.py::test_long_run": 50,
        },
    }


def test_damaged_history_is_set_aside_with_a_warning(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    history = pytester.path / ".pytest_cache" / "d" / "atom_gates" / "history.json"
    history.parent.mkdir(parents=True)
    history.write_text("{not json")
    run = gates.run()
    assert run.ret == 0
    run.result.stdout.fnmatch_lines(
        ["*flake history *history.json is damaged*a new one is started"]
    )
    assert json.loads(history.read_text())["tests"] == {"test_s.py::test_ok": 1}
    assert history.with_suffix(".damaged.json").read_text() == "{not json"
    listing = pytester.runpytest("--atom-gates-history")
    assert listing.ret == 0


def test_concurrent_sessions_both_land_in_the_history(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    command = [sys.executable, "-m", "pytest", "--atom-gates"]
    children = [
        subprocess.Popen(command, cwd=pytester.path, stdout=subprocess.DEVNULL) for _ in range(2)
    ]
    assert [child.wait(timeout=120) for child in children] == [0, 0]
    history = pytester.path / ".pytest_cache" / "d" / "atom_gates" / "history.json"
    assert json.loads(history.read_text())["tests"] == {"test_s.py::test_ok": 2}


def test_quarantine_file_and_marker(pytester: pytest.Pytester, any_engine: Gates) -> None:
    pytester.makepyfile(
        test_s="""
        import pytest
        def test_known_bad(): assert False
        def test_legacy_one(): assert False
        @pytest.mark.atom_gates_quarantine("ticket 42")
        def test_marked(): assert False
        def test_fine(): pass
    """
    )
    (pytester.path / "quarantine.txt").write_text(
        "# flaky since the migration\n"
        "test_s.py::test_known_bad\n"
        "test_s.py::test_legacy_*  # glob\n"
        "test_s.py::test_gone\n"
    )
    run = any_engine.run(NO_DELAY, "--atom-gates-quarantine=quarantine.txt")
    assert run.ret == 0
    assert run.verdict("TQ-02")["measured"] == "100.00 % (1/1)"
    assert run.report["order_checks"] == []
    quarantined = {q["nodeid"]: q["reason"] for q in run.report["determinism"]["quarantined"]}
    assert quarantined == {
        "test_s.py::test_known_bad": "quarantine.txt:2",
        "test_s.py::test_legacy_one": "quarantine.txt:3",
        "test_s.py::test_marked": "marker: ticket 42",
    }
    assert run.report["determinism"]["unused_quarantine_entries"] == [
        {"pattern": "test_s.py::test_gone", "line": 4}
    ]
    run.result.stdout.fnmatch_lines(
        [
            "quarantined tests (3), counted by no gate:",
            "  test_s.py::test_known_bad - failed (quarantine.txt:2)",
            "*quarantine entry matches no test: test_s.py::test_gone (*quarantine.txt:4)",
        ]
    )


def test_unreadable_quarantine_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    result = pytester.runpytest("--atom-gates", "--atom-gates-quarantine=missing.txt")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --atom-gates-quarantine: cannot read *missing.txt: No such file or directory.*"]
    )


def test_no_reruns_while_debugging(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(
        test_s="""
        def test_broken():
            with open("attempts.txt", "a") as out:
                out.write("x")
            assert False
    """
    )
    # --pdb reads the debugger's commands from stdin; "c" continues.
    result = pytester.run(
        sys.executable,
        "-m",
        "pytest",
        "--atom-gates",
        "--pdb",
        "--atom-gates-mode=TQ-01:off",
        stdin=b"c\n",
    )
    assert (pytester.path / "attempts.txt").read_text() == "x"
    result.stdout.fnmatch_lines(["atom-gates: reruns are off while debugging (--pdb)"])


def test_the_history_listing_with_the_gates_in_addopts_judges_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    monkeypatch.setenv("PYTEST_ADDOPTS", "--atom-gates")
    listing = pytester.runpytest("--atom-gates-history")
    assert listing.ret == 0
    listing.stdout.fnmatch_lines(
        [
            "atom-gates: gates are not evaluated with --atom-gates-history",
            "*atom-gates flake history*",
        ]
    )
    listing.stdout.no_fnmatch_line("TQ-02  pass rate*")
    listing.stdout.no_fnmatch_line("atom-gates: FAIL*")


def test_a_quarantined_test_left_out_by_m_still_matches(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    pytester.makepyfile(
        test_s="""
        import pytest
        @pytest.mark.slow
        def test_slow_and_flaky(): pass
        def test_fine(): pass
        """
    )
    pytester.makeini("[pytest]\nmarkers = slow\n")
    (pytester.path / "quarantine.txt").write_text(
        "test_s.py::test_slow_and_flaky\ntest_s.py::test_removed\n", encoding="utf-8"
    )
    run = any_engine.run("-m", "not slow", "--atom-gates-quarantine=quarantine.txt")
    assert run.report["determinism"]["unused_quarantine_entries"] == [
        {"pattern": "test_s.py::test_removed", "line": 2}
    ]
    assert run.ret == 0


@pytest.mark.parametrize("delay", ["0", "0.01"])
def test_a_set_up_class_that_fails_once_runs_twice_and_tears_down_once(
    pytester: pytest.Pytester, gates: Gates, delay: str
) -> None:
    pytester.makepyfile(
        test_s="""
        import pathlib, unittest

        def note(event):
            with open("events.txt", "a") as log:
                log.write(event + "\\n")

        class TestService(unittest.TestCase):
            @classmethod
            def setUpClass(cls):
                note("setUpClass")
                marker = pathlib.Path("set-up-once")
                if not marker.exists():
                    marker.touch()
                    raise RuntimeError("service not ready")

            @classmethod
            def tearDownClass(cls):
                note("tearDownClass")

            def test_first(self):
                pass

            def test_second(self):
                pass
        """
    )
    run = gates.run(f"--atom-gates-rerun-delay={delay}", "--atom-gates-mode=TQ-01:off")
    events = (pytester.path / "events.txt").read_text().splitlines()
    assert events == ["setUpClass", "setUpClass", "tearDownClass"]
    assert set(run.outcomes().values()) <= {"passed", "flaky"}
