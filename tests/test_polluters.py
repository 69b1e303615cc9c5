"""TQ-01 names the polluter: the earlier tests an order-dependent test fails after."""

from __future__ import annotations

import math
import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import pytest

from pytest_atom_gates.ordering import shuffled_order
from pytest_atom_gates.pollution import PolluterSearch
from tests.conftest import CHECKS_UNTIMED, GatedRun, Gates

STATE = "flags = {'a': False, 'b': False}\n"
KEEP_ORDER = "import pytest, state\npytestmark = pytest.mark.atom_gates_keep_order\n"
pytestmark = pytest.mark.many_processes

ONE_PROCESS = (
    "--atom-gates-reruns=0",
    "--atom-gates-min-pass-rate=0",
    CHECKS_UNTIMED,
)


def fillers(count: int, per_file: int = 20) -> dict[str, str]:
    """Test files of passing tests that touch nothing."""
    files = {}
    for number in range(math.ceil(count / per_file)):
        tests = range(min(per_file, count - number * per_file))
        files[f"test_filler_{number}"] = "".join(f"def test_{i}(): pass\n" for i in tests)
    return files


def seed_where(files: dict[str, int], first: str, then: str, gap: int = 8) -> int:
    """A seed that runs file ``first`` before file ``then``, ``gap`` tests or more between."""
    chains = [
        [f"{name}.py", f"{name}.py::test_{i}"]
        for name, count in files.items()
        for i in range(count)
    ]
    names = [chain[0] for chain in chains]
    for seed in range(1000):
        order = [names[i] for i in shuffled_order(chains, seed)]
        start, end = order.index(f"{first}.py"), order.index(f"{then}.py")
        if end - start > gap:
            return seed
    raise AssertionError("no such seed")


def _polluter_then_victim(
    pytester: pytest.Pytester, gates: Gates, polluter: str, files: dict[str, str]
) -> GatedRun:
    """A polluter module and a victim module with ``files`` between them in the order."""
    pytester.makepyfile(
        state=STATE,
        test_polluter=polluter,
        test_victim="import state\ndef test_victim():\n    assert not state.flags['a']\n",
        **files,
    )
    pytester.syspathinsert()
    counts = {name: text.count("def test_") for name, text in files.items()}
    order = {"test_polluter": 1, "test_victim": 1, **counts}
    seed = seed_where(order, "test_polluter", "test_victim")
    return gates.run(f"--atom-gates-seed={seed}", *ONE_PROCESS)


def searched(run_report: dict, nodeid: str) -> dict:
    return next(c for c in run_report["order_checks"] if c["nodeid"] == nodeid)


def test_one_polluter_and_twenty_victims_cost_one_search(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    victims = "".join(
        f"def test_victim_{i}():\n    assert not state.flags['a'], 'polluted'\n" for i in range(20)
    )
    pytester.makepyfile(
        state=STATE,
        test_shared=f"{KEEP_ORDER}def test_polluter():\n    state.flags['a'] = True\n{victims}",
        **fillers(179),
    )
    pytester.syspathinsert()
    same_worker = ("--dist=loadfile",) if any_engine.engine == "xdist" else ()
    run = any_engine.run(*ONE_PROCESS, *same_worker)
    polluter = "test_shared.py::test_polluter"
    victims_run = [f"test_shared.py::test_victim_{i}" for i in range(20)]
    assert [c["nodeid"] for c in run.report["order_checks"]] == victims_run
    first, *others = (searched(run.report, nodeid) for nodeid in victims_run)
    for check in (first, *others):
        assert check["result"] == "order-dependent"
        assert check["polluters"] == [polluter]
    prefix, runs = len(first["ran_before"]), first["search"]["runs"]
    # A polluter that ran first costs a run more: was collecting its file enough?
    assert runs <= math.ceil(math.log2(prefix)) + 2 if prefix > 1 else runs == 2
    assert [c["search"] for c in others] == [
        {"result": "found", "runs": 1, "detail": "", "confirmations": 6}
    ] * 19
    run.result.stdout.fnmatch_lines(
        [
            "atom-gates: test_shared.py::test_victim_0 fails after test_shared.py::test_polluter "
            f"(found in {runs} run{'' if runs == 1 else 's'})",
            "atom-gates: test_shared.py::test_victim_1 fails after test_shared.py::test_polluter "
            "(found in 1 run)",
            "*",
            "order-dependent tests (20):",
            "*",
            "  test_shared.py::test_polluter breaks 20 tests",
        ]
    )
    assert run.verdict("TQ-01")["verdict"] == "FAIL"
    assert run.ret == 1


def test_a_failure_that_needs_two_earlier_tests_names_both(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    middle = "".join(f"def test_between_{i}(): pass\n" for i in range(2))
    pytester.makepyfile(
        state=STATE,
        test_both=(
            f"{KEEP_ORDER}def test_set_a():\n    state.flags['a'] = True\n{middle}"
            "def test_set_b():\n    state.flags['b'] = True\n"
            "def test_victim():\n    assert not (state.flags['a'] and state.flags['b'])\n"
        ),
    )
    pytester.syspathinsert()
    run = gates.run(*ONE_PROCESS)
    check = searched(run.report, "test_both.py::test_victim")
    assert check["polluters"] == ["test_both.py::test_set_a", "test_both.py::test_set_b"]
    run.result.stdout.fnmatch_lines(
        [
            "  test_both.py::test_victim - fails after test_both.py::test_set_a and "
            f"test_both.py::test_set_b together (found in {check['search']['runs']} runs)",
        ]
    )


@pytest.mark.parametrize("through", ["test", "module fixture"])
def test_a_polluter_in_another_module(
    pytester: pytest.Pytester, gates: Gates, through: str
) -> None:
    polluter = (
        "import state\ndef test_polluter():\n    state.flags['a'] = True\n"
        if through == "test"
        else (
            "import pytest, state\n"
            "@pytest.fixture(scope='module')\n"
            "def configured():\n    state.flags['a'] = True\n"
            "def test_polluter(configured): pass\n"
        )
    )
    run = _polluter_then_victim(pytester, gates, polluter, fillers(30, per_file=5))
    check = searched(run.report, "test_victim.py::test_victim")
    assert check["polluters"] == ["test_polluter.py::test_polluter"]
    assert len(check["ran_before"]) > 8
    assert check["search"]["runs"] <= math.ceil(math.log2(len(check["ran_before"]))) + 2


@pytest.mark.parametrize("place", [0, 1])
def test_a_victim_that_does_not_fail_again_after_its_prefix_is_flaky_in_order(
    pytester: pytest.Pytester, gates: Gates, place: int
) -> None:
    # It fails the first time it runs on this machine, whatever ran before it.
    pytester.makepyfile(
        test_once="""
        from pathlib import Path
        def test_first_time_only():
            mark = Path("ran-once")
            first = not mark.exists()
            mark.touch()
            assert not first
        def test_other(): pass
        """
    )
    chains = [
        ["test_once.py", f"test_once.py::{name}"] for name in ("test_first_time_only", "test_other")
    ]
    seed = next(s for s in range(100) if shuffled_order(chains, s).index(0) == place)
    run = gates.run(*ONE_PROCESS, f"--atom-gates-seed={seed}")
    check = searched(run.report, "test_once.py::test_first_time_only")
    count = len(check["ran_before"])
    assert count == place
    if count == 0:
        # Nothing to replay: it passed alone four times, and fails only where others ran.
        detail = "nothing ran before it"
        assert check["search"] == {
            "result": "flaky-in-order",
            "runs": 0,
            "detail": detail,
            "confirmations": 3,
        }
        assert check["result"] == "order-dependent"
        run.result.stdout.fnmatch_lines(
            [
                "  test_once.py::test_first_time_only - failed in the shuffled run, passed when "
                f"run alone; no polluter to search: {detail}",
            ]
        )
    else:
        # Its failure does not replay after the tests before it: chance, not order.
        detail = f"passed again after the {count} tests that ran before it"
        assert check["search"] == {
            "result": "flaky-in-order",
            "runs": 1,
            "detail": detail,
            "confirmations": 0,
        }
        assert check["result"] == "flaky"
        assert check["detail"] == (f"passed when run alone; flaky, not order-dependent: {detail}")
        assert run.verdict("TQ-01")["verdict"] == "PASS"
    assert check["polluters"] == []


def test_a_spent_budget_leaves_the_search_undone_and_says_so(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    pytester.makepyfile(
        state=STATE,
        test_shared=(
            f"{KEEP_ORDER}def test_polluter():\n    state.flags['a'] = True\n"
            "def test_victim():\n    assert not state.flags['a']\n"
            "def test_second_victim():\n    assert not state.flags['a']\n"
        ),
    )
    pytester.syspathinsert()
    run = gates.run(*ONE_PROCESS, "--atom-gates-order-checks=1")
    limit = "limit of 1 questions (--atom-gates-order-checks)"
    (check,) = run.report["order_checks"]
    assert check["nodeid"] == "test_shared.py::test_victim"
    assert check["search"] == {
        "result": "not-analysed",
        "runs": 0,
        "detail": limit,
        "confirmations": 0,
    }
    verdict = run.verdict("TQ-01")
    assert verdict["data"]["unchecked"] == ["test_shared.py::test_second_victim"]
    assert verdict["verdict"] == "FAIL"  # the victim passed alone: order-dependent all the same
    # No set was found, so none is replayed in a fresh process: its reproduce command replays
    # what the run itself showed.
    assert verdict["data"]["engine"]["fresh_processes"] == 0
    run.result.stdout.fnmatch_lines(
        [
            "  test_shared.py::test_victim - failed in the shuffled run, passed when run alone; "
            f"polluter not found (not-analysed): {limit}",
        ]
    )


def _shell(command: str, cwd: os.PathLike[str]) -> subprocess.CompletedProcess[str]:
    """Run ``command`` as pasted into a shell, with this interpreter's pytest first on PATH."""
    env = {
        **os.environ,
        "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def _tail(args: Sequence[str]) -> list[str]:
    return [arg for arg in args if "::" in arg]


def test_the_reproduce_command_replays_the_failure_and_the_victim_alone_passes(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    polluter = "import state\ndef test_polluter():\n    state.flags['a'] = True\n"
    run = _polluter_then_victim(pytester, gates, polluter, fillers(12, per_file=3))
    command = searched(run.report, "test_victim.py::test_victim")["reproduce"]
    assert _tail(shlex.split(command)) == [
        "test_polluter.py::test_polluter",
        "test_victim.py::test_victim",
    ]
    replay = _shell(f"PYTHONPATH=. {command} -p no:cacheprovider", pytester.path)
    assert replay.returncode == 1, replay.stdout
    assert "FAILED test_victim.py::test_victim" in replay.stdout
    assert "1 failed, 1 passed" in replay.stdout
    alone = shlex.join(
        [arg for arg in shlex.split(command) if arg != "test_polluter.py::test_polluter"]
    )
    assert _shell(f"PYTHONPATH=. {alone} -p no:cacheprovider", pytester.path).returncode == 0


BRITTLE_MODULE = (
    "import state\n"
    "def test_enable():\n    state.flags['a'] = True\n"
    + "".join(f"def test_between_{i}(): pass\n" for i in range(3))
    + "def test_needs_enabled():\n    assert state.flags['a'], 'cache off'\n"
    "def test_plain_failure():\n    assert False, 'always'\n"
)


def _brittle_suite(pytester: pytest.Pytester) -> int:
    """The brittle module, and a seed that runs its brittle test before its state-setter."""
    pytester.makepyfile(state=STATE, test_cache=BRITTLE_MODULE)
    pytester.syspathinsert()
    names = ["test_enable", *(f"test_between_{i}" for i in range(3))]
    names += ["test_needs_enabled", "test_plain_failure"]
    return seed_running_first("test_cache.py", names, "test_needs_enabled", "test_enable")


def seed_running_first(module: str, names: Sequence[str], first: str, then: str) -> int:
    """A seed that shuffles test ``first`` of ``module`` (its tests ``names``) before ``then``."""
    chains = [[module, f"{module}::{name}"] for name in names]
    for seed in range(1000):
        order = [names[i] for i in shuffled_order(chains, seed)]
        if order.index(first) < order.index(then):
            return seed
    raise AssertionError("no such seed")


def test_a_brittle_test_is_named_with_its_state_setter_and_a_plain_failure_stays_plain(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    seed = _brittle_suite(pytester)
    same_worker = ("--dist=loadfile",) if any_engine.engine == "xdist" else ()
    run = any_engine.run(f"--atom-gates-seed={seed}", *ONE_PROCESS, *same_worker)
    brittle = searched(run.report, "test_cache.py::test_needs_enabled")
    plain = searched(run.report, "test_cache.py::test_plain_failure")
    # The file-order run of its module, the four tests before it again, then bisection: the
    # earlier half, then its earlier test, test_enable alone, which confirms it.
    assert brittle["search"] == {
        "result": "found",
        "runs": 4,
        "detail": "",
        "confirmations": 6,
    }
    assert (brittle["result"], brittle["brittle"]) == ("order-dependent", True)
    assert brittle["polluters"] == ["test_cache.py::test_enable"]
    assert brittle["detail"] == "failed alone too, passed after the 4 tests before it in file order"
    assert _tail(shlex.split(brittle["reproduce"])) == ["test_cache.py::test_needs_enabled"]
    assert shlex.split(brittle["passes"])[-3:] == [
        "--atom-gates-order=file",
        "test_cache.py::test_enable",
        "test_cache.py::test_needs_enabled",
    ]
    assert (plain["result"], plain["brittle"], plain["search"]) == ("fails-alone", False, None)
    assert plain["detail"] == "failed when run alone too, and in file order"
    verdict = run.verdict("TQ-01")
    assert verdict["verdict"] == "FAIL"
    assert verdict["reason"] == (
        "failed alone too, passed after earlier tests in file order: "
        "test_cache.py::test_needs_enabled"
    )
    run.result.stdout.fnmatch_lines(
        [
            "atom-gates: test_cache.py::test_needs_enabled passes only after "
            "test_cache.py::test_enable (found in 4 runs)",
            "*",
            "order-dependent tests (1):",
            "  test_cache.py::test_needs_enabled - fails alone, passes only after "
            "test_cache.py::test_enable (found in 4 runs)",
            f"      reproduce: {brittle['reproduce']}",
            f"      passes:    {brittle['passes']}",
        ]
    )


def test_both_commands_of_a_brittle_test_do_what_they_say_when_pasted(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    seed = _brittle_suite(pytester)
    run = gates.run(f"--atom-gates-seed={seed}", *ONE_PROCESS)
    check = searched(run.report, "test_cache.py::test_needs_enabled")
    fails = _shell(f"PYTHONPATH=. {check['reproduce']} -p no:cacheprovider", pytester.path)
    assert "FAILED test_cache.py::test_needs_enabled" in fails.stdout
    assert "passed" not in fails.stdout.splitlines()[-1]
    passes = _shell(f"PYTHONPATH=. {check['passes']} -p no:cacheprovider", pytester.path)
    assert passes.returncode == 0, passes.stdout
    assert "2 passed in" in passes.stdout


def test_a_failed_test_left_without_its_file_order_run_is_listed(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    pytester.makepyfile(test_plain="def test_fails():\n    assert False\n")
    run = gates.run(*ONE_PROCESS, "--atom-gates-order-checks=1")
    limit = "limit of 1 questions (--atom-gates-order-checks)"
    (check,) = run.report["order_checks"]
    assert (check["result"], check["detail"]) == ("fails-alone", "failed when run alone too")
    assert check["search"] == {
        "result": "not-analysed",
        "runs": 0,
        "detail": limit,
        "confirmations": 0,
    }
    verdict = run.verdict("TQ-01")
    assert (verdict["verdict"], verdict["reason"]) == (
        "WARN",
        f"1 test that failed alone too was not rerun in file order ({limit})",
    )


def _count_runs(name: str) -> str:
    """Module lines that count the runs of the module's tests (the run's, each question's) in
    file ``name``: ``RUN`` is the number of this one."""
    return (
        "import pytest\n"
        "from pathlib import Path\n"
        "RUN = 0\n\n"
        "@pytest.fixture(scope='module', autouse=True)\n"
        "def _counted():\n"
        "    global RUN\n"
        f"    count = Path({name!r})\n"
        "    RUN = int(count.read_text()) + 1 if count.exists() else 1\n"
        "    count.write_text(str(RUN))\n\n"
    )


@pytest.mark.parametrize("before", [0, 1])
def test_a_test_that_passes_once_in_file_order_is_flaky_not_brittle(
    pytester: pytest.Pytester, gates: Gates, before: int
) -> None:
    # It passes in the third run only: the file-order run, after the run and the alone-run.
    pytester.makepyfile(
        test_flaky=_count_runs("runs")
        + "def test_before(): pass\n" * before
        + "def test_flaky():\n    assert RUN == 3\n"
    )
    run = gates.run(*ONE_PROCESS)
    check = searched(run.report, "test_flaky.py::test_flaky")
    if before:
        detail = (
            "failed when run alone too; passed once after the 1 tests before it in file order, "
            "not again: flaky, not order-dependent"
        )
    else:
        detail = (
            "failed when run alone too; passed in file order with nothing before it: flaky, "
            "not order-dependent"
        )
    assert (check["result"], check["detail"], check["brittle"]) == ("fails-alone", detail, False)
    assert run.verdict("TQ-01")["verdict"] == "PASS"
    assert (pytester.path / "runs").read_text() == str(3 + before)


def test_the_file_order_run_keeps_the_selection_and_serves_a_whole_module_at_once(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    pytester.makepyfile(
        state=STATE,
        test_sel=_count_runs("runs") + "import pytest, state\n"
        "from pathlib import Path\n"
        "@pytest.mark.danger\n"
        "def test_drop():\n    Path('dropped').touch()\n    state.flags['a'] = True\n"
        "def test_needs_a():\n    assert state.flags['a']\n"
        "def test_fails():\n    assert False\n"
        "def test_after():\n    Path('after').write_text(str(RUN))\n",
    )
    pytester.syspathinsert()
    pytester.makeini("[pytest]\nmarkers = danger: not here\n")
    run = gates.run(*ONE_PROCESS, "-m", "not danger")
    details = {c["nodeid"]: c["detail"] for c in run.report["order_checks"]}
    assert details == dict.fromkeys(
        ["test_sel.py::test_needs_a", "test_sel.py::test_fails"],
        "failed when run alone too, and in file order",
    )
    assert not (pytester.path / "dropped").exists()
    # The run, two alone-runs and one file-order run for both, which stops before test_after.
    assert (pytester.path / "runs").read_text() == "4"
    assert (pytester.path / "after").read_text() == "1"  # in the run only
    assert run.verdict("TQ-01")["verdict"] == "PASS"


def test_a_victim_that_uses_pytests_cache_is_checked_with_the_cache(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """The checks keep pytest's cache provider (with its own directory): a test that asks for
    ``cache`` passes alone and is order-dependent, not "fails alone" for want of a fixture."""
    pytester.makepyfile(
        state=STATE,
        test_cached=(
            f"{KEEP_ORDER}def test_polluter():\n    state.flags['a'] = True\n"
            "def test_victim(cache):\n    cache.set('atom/seen', 1)\n"
            "    assert not state.flags['a']\n"
        ),
    )
    pytester.syspathinsert()
    run = gates.run(*ONE_PROCESS)
    check = searched(run.report, "test_cached.py::test_victim")
    assert (check["result"], check["polluters"]) == (
        "order-dependent",
        ["test_cached.py::test_polluter"],
    )


def long_prefixes(per_part: int = 150) -> dict[str, str]:
    """A victim after ``4 * per_part + 4`` tests kept in order, two polluters among them; a
    brittle test after ``3 * per_part`` tests in file order, its setter among them."""
    slow = "".join(f"def test_f{i}():\n    time.sleep(0.001)\n" for i in range(per_part))
    fillers = [slow.replace("test_f", f"test_{part}_") for part in "pqrs"]
    kept = (
        f"{KEEP_ORDER}import signal, time\n"
        # Children ignored, as a test may leave them: the copies wait for their probes anyway.
        "def test_ignores_children():\n    signal.signal(signal.SIGCHLD, signal.SIG_IGN)\n"
        f"{fillers[0]}def test_set_a():\n    state.flags['a'] = True\n{fillers[1]}{fillers[2]}"
        # A second test that breaks the victim: every engine names the first.
        "def test_set_a_again():\n    state.flags['a'] = True\n"
        f"{fillers[3]}def test_minds_children_again():\n"
        "    signal.signal(signal.SIGCHLD, signal.SIG_DFL)\n"
        "def test_victim():\n    assert not state.flags['a']\n"
    )
    brittle = (
        f"import state, time\n{fillers[0]}def test_setup():\n    state.flags['ready'] = True\n"
        f"{fillers[1]}{fillers[2]}def test_brittle():\n    assert state.flags.get('ready')\n"
    )
    return {"test_long": kept, "test_brittle_long": brittle}


def brittle_before_its_setter(files: dict[str, str]) -> int:
    """A seed that runs ``test_brittle_long.py``'s brittle test before its setter."""
    names = [line[4:-3] for line in files["test_brittle_long"].splitlines() if "def test_" in line]
    return seed_running_first("test_brittle_long.py", names, "test_brittle", "test_setup")


def _long_prefixes_checked(
    pytester: pytest.Pytester,
    gates: Gates,
    check_engine: str,
    monkeypatch: pytest.MonkeyPatch,
    per_part: int = 150,
) -> tuple[GatedRun, dict[str, Any], PolluterSearch]:
    """The long prefixes run and checked by ``check_engine``: the same verdicts whatever answers
    the questions; the run, TQ-01's engine data, and the victim's search as bisecting its whole
    prefix (as a fresh process must) makes it."""
    from pytest_atom_gates.check_environment import ENGINE_ENV
    from pytest_atom_gates.pollution import search

    monkeypatch.setenv(ENGINE_ENV, check_engine)
    files = long_prefixes(per_part)
    pytester.makepyfile(state=STATE + "flags['ready'] = False\n", **files)
    pytester.syspathinsert()
    same_worker = ("--dist=loadfile",) if gates.engine == "xdist" else ()
    seed = brittle_before_its_setter(files)
    run = gates.run(f"--atom-gates-seed={seed}", *ONE_PROCESS, *same_worker)
    checks = {c["nodeid"]: c for c in run.report["order_checks"]}
    assert {n: (c["result"], c["polluters"], c["brittle"]) for n, c in checks.items()} == {
        "test_long.py::test_victim": ("order-dependent", ["test_long.py::test_set_a"], False),
        "test_brittle_long.py::test_brittle": (
            "order-dependent",
            ["test_brittle_long.py::test_setup"],
            True,
        ),
    }, run.output[-3000:]
    victim = checks["test_long.py::test_victim"]
    prefix = victim["ran_before"]
    assert len([n for n in prefix if n.startswith("test_long.py::")]) == 4 * per_part + 4
    polluters = {"test_long.py::test_set_a", "test_long.py::test_set_a_again"}
    plain = search(victim["nodeid"], prefix, lambda tests: bool(polluters & set(tests)))
    return run, victim, plain


def test_fresh_processes_bisect_the_whole_long_prefix(
    pytester: pytest.Pytester, gates: Gates, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reference for the probes below: fresh processes never probe. One process is enough
    here; the scenarios of ``test_check_engines`` run fresh processes under xdist too. A prefix
    of 164 tests is one that forked copies would probe (``probe_points``: 7 probes for tests of
    1.5 ms), at a quarter of the fresh processes' work of the 604 tests below."""
    run, victim, plain = _long_prefixes_checked(pytester, gates, "fresh", monkeypatch, 40)
    assert run.verdict("TQ-01")["data"]["engine"]["probes"] == 0
    assert victim["search"]["runs"] == plain.runs  # exactly these runs


def test_probes_shorten_long_searches_and_change_no_verdict(
    pytester: pytest.Pytester, any_engine: Gates, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, victim, plain = _long_prefixes_checked(pytester, any_engine, "fork", monkeypatch)
    engine = run.verdict("TQ-01")["data"]["engine"]
    # Probes bound the searches: never more runs than bisecting the whole prefix. How many
    # fewer depends on the tests' durations in this run, which a busy machine stretches: the
    # unit tests of ``pollution`` pin the figures for given durations.
    assert engine["probes"] > 0
    assert victim["search"]["runs"] <= plain.runs
    run.result.stdout.fnmatch_lines(
        [
            f"TQ-01's checks: {engine['forked']} questions answered by forked copies of one "
            f"pytest process ({engine['probes']} probes on the way), "
            f"{engine['fresh_processes']} fresh processes"
        ]
    )
