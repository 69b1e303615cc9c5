"""A pass on a rerun proves flakiness only if the test met the state of its failed attempt.

A deferred rerun runs after other tests, which may reset what broke it; an in-place rerun runs
after the failed attempt's teardown, which may repair it. Either way the test would pass and be
called flaky while it is order-dependent: a false PASS of TQ-01. Every test that failed and then
passed is therefore replayed after the tests that preceded its first attempt.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from pytest_atom_gates.ordering import shuffled_order
from tests.conftest import CHECKS_UNTIMED, Gates, reproduce_arguments
from tests.test_order_matrix import SUITE

pytestmark = pytest.mark.many_processes

STATE = "ADMIN = False\nCACHE = {}\n"
LOGIN = "import state\ndef test_login_as_admin():\n    state.ADMIN = True\n"
GUEST = "import state\ndef test_guest_is_not_admin():\n    assert state.ADMIN is False\n"
LOGOUT = "import state\ndef test_logout():\n    state.ADMIN = False\n"
FILES = ("test_a_login.py", "test_b_guest.py", "test_c_logout.py")


def seed_in_order(names: tuple[str, ...]) -> int:
    """A seed whose shuffle runs the one-test files ``names`` in this order."""
    chains = [[name, f"{name}::test"] for name in names]
    for seed in range(10_000):
        if [names[i] for i in shuffled_order(chains, seed)] == list(names):
            return seed
    raise AssertionError("no such seed")


def login_suite(pytester: pytest.Pytester) -> int:
    package = pytester.mkpydir("suite")
    (pytester.path / "state.py").write_text(STATE, encoding="utf-8")
    for name, text in zip(FILES, (LOGIN, GUEST, LOGOUT), strict=True):
        (package / name).write_text(text, encoding="utf-8")
    pytester.makeini("[pytest]\npythonpath = .\n")
    return seed_in_order(tuple(f"suite/{name}" for name in FILES))


@pytest.mark.parametrize("delay", ["0", "1"])
def test_a_deferred_rerun_after_a_reset_does_not_hide_the_polluter(
    pytester: pytest.Pytester, gates: Gates, delay: str
) -> None:
    seed = login_suite(pytester)
    run = gates.run(f"--atom-gates-seed={seed}", f"--atom-gates-rerun-delay={delay}")
    victim = "suite/test_b_guest.py::test_guest_is_not_admin"
    polluter = "suite/test_a_login.py::test_login_as_admin"
    tq01 = run.verdict("TQ-01")
    assert tq01["verdict"] == "FAIL"
    assert tq01["data"]["order_dependent"] == [victim]
    check = next(c for c in run.report["order_checks"] if c["nodeid"] == victim)
    assert check["polluters"] == [polluter]
    assert run.verdict("TQ-04")["data"]["flaky"] == []
    run.result.stdout.fnmatch_lines([f"  {victim} - fails after {polluter} (found in * run*)"])
    assert run.ret == 1


def test_a_teardown_that_repairs_the_state_does_not_hide_the_polluter(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    # A class whose victim's own teardown empties the cache its polluter filled.
    pytester.makepyfile(state=STATE, test_cache=SUITE["test_repair"])
    pytester.makeini("[pytest]\npythonpath = .\n")
    # The in-place rerun follows the failed attempt's teardown, which emptied the cache.
    run = gates.run("--atom-gates-rerun-delay=0")
    victim = "test_cache.py::TestCache::test_empty_at_start"  # in-place rerun after teardown
    tq01 = run.verdict("TQ-01")
    assert tq01["verdict"] == "FAIL"
    check = next(c for c in run.report["order_checks"] if c["nodeid"] == victim)
    assert check["polluters"] == ["test_cache.py::TestCache::test_fill"]
    assert run.verdict("TQ-04")["data"]["flaky"] == []
    assert run.ret == 1


def test_an_environment_variable_left_behind_is_not_inherited_by_the_alone_run(
    pytester: pytest.Pytester, gates: Gates, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APP_MAINTENANCE", raising=False)
    pytester.makepyfile(
        test_env="""
        import os, pytest

        pytestmark = pytest.mark.atom_gates_keep_order

        def test_enter_maintenance():
            os.environ["APP_MAINTENANCE"] = "1"

        def test_serves_requests():
            assert os.environ.get("APP_MAINTENANCE") != "1", "in maintenance"
        """
    )
    try:
        run = gates.run("--atom-gates-rerun-delay=0")
    finally:
        os.environ.pop("APP_MAINTENANCE", None)  # the inner run shares this process
    victim = "test_env.py::test_serves_requests"
    check = next(c for c in run.report["order_checks"] if c["nodeid"] == victim)
    assert (check["result"], check["polluters"]) == (
        "order-dependent",
        ["test_env.py::test_enter_maintenance"],
    )
    assert run.verdict("TQ-01")["verdict"] == "FAIL"
    assert run.ret == 1


def test_a_test_that_fails_at_random_is_never_called_order_dependent(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """Chance must not become order dependence. The test fails one run in two whatever ran
    before it; an order-dependent verdict needs its failure after a set found and its pass
    alone each to replay four times, which chance passes once in 2**6 = 64 at most beyond the
    search's own answers (about one in 1,600 per seed here)."""
    pytester.makepyfile(
        test_coin="""
        import random, time
        import pytest

        pytestmark = pytest.mark.atom_gates_keep_order

        def test_first(): pass
        def test_second(): pass
        def test_coin():
            assert random.Random(time.perf_counter_ns()).random() < 0.5, "tails"
        """
    )
    outcomes = []
    for seed in range(20):
        run = gates.run(
            f"--atom-gates-seed={seed}",
            "--atom-gates-min-pass-rate=0",
            CHECKS_UNTIMED,
        )
        outcome = run.outcomes()["test_coin.py::test_coin"]
        outcomes.append(outcome)
        assert run.verdict("TQ-01")["data"]["order_dependent"] == [], run.output
        assert outcome in ("passed", "flaky", "failed")
        assert run.ret == 0
    assert {"flaky", "failed"} & set(outcomes)  # the checks ran


def counted_suite(pytester: pytest.Pytester) -> None:
    """One test, which fails on its 1st and 3rd runs and passes on the others."""
    pytester.makepyfile(
        test_counted="""
        from pathlib import Path

        def test_counted():
            runs = Path(__file__).with_name("runs.txt")
            count = len(runs.read_text()) + 1 if runs.exists() else 1
            runs.write_text("x" * count)
            assert count not in (1, 3), f"run {count}"
        """
    )


def test_a_first_test_whose_replay_fails_once_more_is_flaky_not_order_dependent(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    """Nothing runs before the test in its process: the replay of its run and its alone-run ask
    the same question. It fails on its 1st and 3rd runs (its first attempt, then the replay)
    and passes on the others (its rerun, then every run after the replay): the replay is
    asked again, passes, and the test is flaky, not order-dependent."""
    counted_suite(pytester)
    run = any_engine.run(CHECKS_UNTIMED)
    nodeid = "test_counted.py::test_counted"
    assert run.outcomes() == {nodeid: "flaky"}
    (check,) = run.report["order_checks"]
    assert check["result"] == "flaky"
    assert check["detail"] == (
        "failed again after the tests before its first attempt; passed when run alone; flaky, "
        "not order-dependent: failed again in the replay of its run in 1 of 2 runs, passed "
        "alone in 2 of 2: chance, not order"
    )
    assert run.verdict("TQ-01")["verdict"] == "PASS"
    assert run.verdict("TQ-04")["data"]["flaky"] == [nodeid]
    # The first attempt, the rerun, the replay, the alone-run; then its confirmation: the
    # alone-run again and the replay again, which contradicts the first replay.
    assert (pytester.path / "runs.txt").read_text() == "x" * 6


def test_a_budget_spent_before_the_replay_is_asked_again_leaves_it_inconclusive(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    """Two questions: the replay (fails) and the alone-run (passes). Neither is asked again, so
    TQ-01 warns that it could not tell, as for a set found and not confirmed; the test stays
    flaky for TQ-04."""
    counted_suite(pytester)
    run = any_engine.run(CHECKS_UNTIMED, "--atom-gates-order-checks=2")
    nodeid = "test_counted.py::test_counted"
    assert run.outcomes() == {nodeid: "flaky"}
    tq01 = run.verdict("TQ-01")
    assert tq01["verdict"] == "WARN"
    assert tq01["reason"] == (
        "1 alone-runs inconclusive (failed again after the tests before its first attempt, "
        "passed when run alone; not confirmed: 0 of 6 runs agreed, then limit of 2 questions "
        "(--atom-gates-order-checks))"
    )
    assert run.verdict("TQ-04")["data"]["flaky"] == [nodeid]
    run.result.stdout.fnmatch_lines(
        [f"atom-gates: {nodeid}: no polluter to search (nothing ran before it)"]
    )


@pytest.mark.parametrize(
    ("selection", "engine"),
    [
        pytest.param((), "fork", id="all-tests"),
        pytest.param((), "fresh", id="all-tests-fresh-processes"),
        pytest.param(("-k", "test_v"), "fresh", id="its-tests-deselected-fresh-processes"),
        pytest.param(("--atom-gates-shard=2/2",), "fork", id="its-tests-in-another-shard"),
    ],
)
def test_a_first_test_broken_by_a_module_collected_with_it_fails_after_that_collection(
    pytester: pytest.Pytester,
    any_engine: Gates,
    monkeypatch: pytest.MonkeyPatch,
    selection: tuple[str, ...],
    engine: str,
) -> None:
    """Importing ``test_a_polluter`` sets a flag that the victim reads and resets: its first
    attempt fails, its rerun passes. The victim runs first in its process, so the replay of
    its run names only the victim; it must still collect every file the run's process
    collected, or the flag is never set and the test is called flaky. Then, with nothing
    before it, what it fails after is the collection of that file. That holds whether the
    module's tests ran after it, ran on another worker, were deselected or went to another
    shard, and whichever engine answers."""
    monkeypatch.setenv("ATOM_GATES_ORDER_CHECK_ENGINE", engine)
    pytester.makepyfile(
        state="flag = False\n",
        test_a_polluter=(
            "import state\nstate.flag = True\ndef test_p1(): pass\ndef test_p2(): pass\n"
        ),
        test_b_victim=(
            "import state\ndef test_v():\n    flag, state.flag = state.flag, False\n"
            "    assert not flag\n"
        ),
    )
    pytester.syspathinsert()
    victim = "test_b_victim.py::test_v"
    chains = [
        ["test_a_polluter.py", "test_a_polluter.py::test_p1"],
        ["test_a_polluter.py", "test_a_polluter.py::test_p2"],
        ["test_b_victim.py", victim],
    ]
    seed = next(s for s in range(1000) if shuffled_order(chains, s)[0] == 2)
    run = any_engine.run(f"--atom-gates-seed={seed}", CHECKS_UNTIMED, *selection)
    if selection:
        assert [t["nodeid"] for t in run.report["tests"]] == [victim]
    tq01 = run.verdict("TQ-01")
    assert tq01["verdict"] == "FAIL"
    assert tq01["data"]["order_dependent"] == [victim]
    assert tq01["data"]["engine"]["mechanism"] == (
        "forked copies" if engine == "fork" else "fresh processes"
    )
    check = next(c for c in run.report["order_checks"] if c["nodeid"] == victim)
    assert check["ran_before"] == []
    assert check["polluters"] == ["test_a_polluter.py"]
    # The replay of its process's collection, with one other file: nothing to narrow.
    assert check["search"] == {"result": "found", "runs": 1, "detail": "", "confirmations": 6}
    assert reproduce_arguments(check["reproduce"])[-3:] == [
        "test_a_polluter.py",
        "--deselect=test_a_polluter.py::",
        victim,
    ]
    assert run.verdict("TQ-04")["data"]["flaky"] == []


def test_new_test_repetitions_are_named_as_what_an_old_test_fails_after(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """The new test appends to a module list on each call; the old test after it holds at most
    one entry. Green without repetitions; with them, the old test fails, and what it fails
    after is the new test's repetitions: the checks replay them as they ran."""
    pytester.makepyfile(
        state="CALLS = []\n",
        test_a_new="import state\ndef test_new():\n    state.CALLS.append(1)\n",
        test_b_old="import state\ndef test_old():\n    assert len(state.CALLS) <= 1\n",
    )
    pytester.makeini("[pytest]\npythonpath = .\n")
    seed = seed_in_order(("test_a_new.py", "test_b_old.py"))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=pytester.path, check=True)
    subprocess.run(
        [*git, "add", "state.py", "test_b_old.py", "tox.ini"], cwd=pytester.path, check=True
    )
    subprocess.run([*git, "commit", "-q", "-m", "old"], cwd=pytester.path, check=True)
    plain = gates.run(f"--atom-gates-seed={seed}", "--atom-gates-new-test-runs=0")
    assert plain.ret == 0
    run = gates.run(
        f"--atom-gates-seed={seed}",
        "--atom-gates-changed-since=HEAD",
        "--atom-gates-new-test-runs=3",
        "--atom-gates-rerun-delay=0",
    )
    check = next(c for c in run.report["order_checks"] if c["nodeid"] == "test_b_old.py::test_old")
    assert (check["result"], check["polluters"]) == ("order-dependent", ["test_a_new.py::test_new"])
    run.result.stdout.fnmatch_lines(
        [
            "  test_b_old.py::test_old - fails after test_a_new.py::test_new (found in 2 runs; "
            "it ran 4 times, with its new-test repetitions)",
        ]
    )
