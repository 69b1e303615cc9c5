"""TQ-01 verdict: failed tests rerun alone; those that then pass are order-dependent."""

from __future__ import annotations

import pytest

from pytest_atom_gates.ordering import shuffled_order
from tests.conftest import Gates, reproduce_arguments

POLLUTER_SUITE = {
    "state": "flags = {'ready': False}\n",
    "test_polluter": "import state\ndef test_polluter():\n    state.flags['ready'] = True\n",
    "test_victim": (
        "import state\ndef test_victim():\n    assert not state.flags['ready'], 'polluted'\n"
    ),
}


def seed_running_polluter_first() -> int:
    chains = [
        ["test_polluter.py", "test_polluter.py::test_polluter"],
        ["test_victim.py", "test_victim.py::test_victim"],
    ]
    return next(seed for seed in range(100) if shuffled_order(chains, seed) == [0, 1])


def test_order_dependent_test_is_found_named_and_reproducible(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    pytester.makepyfile(**POLLUTER_SUITE)
    pytester.syspathinsert()
    seed = seed_running_polluter_first()
    run = gates.run(f"--atom-gates-seed={seed}", "--atom-gates-min-pass-rate=50")
    assert run.ret == 1
    verdict = run.verdict("TQ-01")
    assert verdict["verdict"] == "FAIL"
    assert verdict["data"]["order_dependent"] == ["test_victim.py::test_victim"]
    assert "passed alone: test_victim.py::test_victim" in verdict["reason"]
    (check,) = run.report["order_checks"]
    assert check["result"] == "order-dependent"
    assert check["ran_before"] == ["test_polluter.py::test_polluter"]
    assert check["polluters"] == ["test_polluter.py::test_polluter"]
    # The polluter ran first: the second run asks whether collecting its file was enough.
    assert check["search"] == {"result": "found", "runs": 2, "detail": "", "confirmations": 6}
    command = check["reproduce"]
    # The run had its folder on sys.path (syspathinsert), as python -m pytest gives it.
    assert command == (
        f"python -m pytest --atom-gates --atom-gates-seed={seed} --atom-gates-mode=TQ-05:off "
        "--atom-gates-min-pass-rate=50 --atom-gates-rerun-delay=0 -p no:hypothesispytest "
        "-p no:pytest_jsonreport -p no:metadata -n 0 "
        "test_polluter.py::test_polluter test_victim.py::test_victim"
    )
    run.result.stdout.fnmatch_lines(
        [
            "atom-gates: test_victim.py::test_victim fails after test_polluter.py::test_polluter "
            "(found in 2 runs)",
            "*",
            "order-dependent tests (1):",
            "  test_victim.py::test_victim - fails after test_polluter.py::test_polluter "
            "(found in 2 runs)",
            f"      reproduce: {command}",
        ]
    )
    assert [
        t["order_dependent"]
        for t in run.report["tests"]
        if t["nodeid"] == "test_victim.py::test_victim"
    ] == [True]
    replay = pytester.runpytest(*reproduce_arguments(command))
    replay.assert_outcomes(passed=1, failed=1)
    replay.stdout.fnmatch_lines(["FAILED test_victim.py::test_victim - AssertionError: polluted*"])


def test_a_test_that_fails_alone_too_is_not_order_dependent(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    pytester.makepyfile(
        test_s="def test_broken():\n    assert False, 'always'\ndef test_ok(): pass\n"
    )
    chains = [["test_s.py", "test_s.py::test_broken"], ["test_s.py", "test_s.py::test_ok"]]
    seed = next(seed for seed in range(100) if shuffled_order(chains, seed) == [1, 0])
    same_worker = ("--dist=loadfile",) if any_engine.engine == "xdist" else ()
    run = any_engine.run(f"--atom-gates-seed={seed}", "--atom-gates-min-pass-rate=50", *same_worker)
    verdict = run.verdict("TQ-01")
    assert verdict["verdict"] == "PASS"
    assert verdict["measured"] == "0 order-dependent (1 of 1 failed tests rerun alone)"
    assert run.report["order_checks"] == [
        {
            "nodeid": "test_s.py::test_broken",
            "result": "fails-alone",
            "detail": "failed when run alone too, and in file order",
            "ran_before": ["test_s.py::test_ok"],
            "reproduce": None,
            "polluters": [],
            "brittle": False,
            "passes": None,
            "origin": "failed",
            "state_changes": None,  # no polluter found: no replay took snapshots
            "state_after_victim": None,
            "search": None,
        }
    ]
    assert run.ret == 0


def test_passes_only_when_alone(pytester: pytest.Pytester, any_engine: Gates) -> None:
    # Fails whenever other tests share its session: the simplest order dependence there is.
    pytester.makepyfile(
        test_s="""
        def test_lonely(request):
            assert request.session.testscollected == 1, "not alone"
        def test_other(): pass
        def test_more(): pass
    """
    )
    run = any_engine.run("--atom-gates-min-pass-rate=0")
    verdict = run.verdict("TQ-01")
    assert verdict["verdict"] == "FAIL"
    assert verdict["data"]["order_dependent"] == ["test_s.py::test_lonely"]
    assert run.ret == 1


def test_alone_checks_are_bounded(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(
        test_s="""
        import pytest
        @pytest.mark.parametrize("n", range(3))
        def test_broken(n):
            assert False
    """
    )
    run = gates.run("--atom-gates-order-checks=1", "--atom-gates-min-pass-rate=0")
    verdict = run.verdict("TQ-01")
    assert verdict["verdict"] == "WARN"
    assert verdict["data"]["checked"] == 1
    assert len(verdict["data"]["unchecked"]) == 2
    assert (
        "2 failed tests not rerun alone: limit of 1 questions (--atom-gates-order-checks)"
        in verdict["reason"]
    )
    assert run.ret == 0


def test_no_checks_when_the_gate_is_off(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(test_s="def test_broken():\n    assert False\n")
    run = gates.run("--atom-gates-mode=TQ-01:off", "--atom-gates-min-pass-rate=0")
    assert run.report["order_checks"] == []
    assert run.verdict("TQ-01")["verdict"] == "OFF"


def test_long_reproduce_commands_use_an_argument_file(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    if not hasattr(pytest, "version_tuple") or pytest.version_tuple < (8, 2):
        pytest.skip("pytest reads @file arguments since 8.2")
    pytester.makepyfile(
        test_s="""
        import pytest
        @pytest.mark.parametrize("n", range(45), ids=[f"case {i}'s" for i in range(45)])
        def test_other(n): pass
        def test_lonely(request):
            assert request.session.testscollected == 1, "not alone"
    """
    )
    chains = [["test_s.py", f"test_s.py::test_other[case {n}'s]"] for n in range(45)]
    chains.append(["test_s.py", "test_s.py::test_lonely"])
    seed = next(s for s in range(500) if shuffled_order(chains, s).index(45) > 35)
    # One process: the alone-run, and no polluter search, which would shorten the command.
    run = gates.run(
        f"--atom-gates-seed={seed}", "--atom-gates-min-pass-rate=0", "--atom-gates-order-checks=1"
    )
    (check,) = run.report["order_checks"]
    assert check["search"] == {
        "result": "not-analysed",
        "runs": 0,
        "detail": "limit of 1 questions (--atom-gates-order-checks)",
        "confirmations": 0,
    }
    assert len(check["ran_before"]) > 30
    *command, args_file = reproduce_arguments(check["reproduce"])
    assert args_file.startswith("@")
    replay = pytester.runpytest(*command, args_file)
    replay.assert_outcomes(passed=len(check["ran_before"]), failed=1)


def test_no_alone_runs_once_the_time_budget_is_spent(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    pytester.makepyfile(
        test_s="import time\ndef test_slow_failure():\n    time.sleep(0.4)\n    assert 0\n"
    )
    run = gates.run("--atom-gates-max-duration=0.3", "--atom-gates-reruns=0")
    verdict = run.verdict("TQ-01")
    assert verdict["verdict"] == "WARN"
    assert "1 failed tests not rerun alone: the session's time budget is spent" in verdict["reason"]
    assert run.report["order_checks"] == []
