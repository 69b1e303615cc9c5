"""TQ-01's questions answered by forked copies of one server, or by fresh processes: the same
verdicts either way, single process and under ``-n 2``, and the mechanism said."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_atom_gates.check_environment import ENGINE_ENV
from pytest_atom_gates.ordering import shuffled_order
from tests.conftest import CHECKS_UNTIMED, Gates, reproduce_arguments

pytestmark = pytest.mark.many_processes

KEEP_ORDER = "import pytest, state\npytestmark = pytest.mark.atom_gates_keep_order\n"
STATE = "flags = dict.fromkeys(['a', 'b', 'c', 'fixture', 'ready', 'imported'], False)\n"
MIXED = f"""{KEEP_ORDER}
@pytest.fixture(scope="module")
def pollutes():
    state.flags['fixture'] = True
    yield

def test_set_a():
    state.flags['a'] = True

def test_set_b():
    state.flags['b'] = True

def test_between():
    pass

def test_set_c():
    state.flags['c'] = True

def test_uses_fixture(pollutes):
    pass

def test_victim():
    assert not state.flags['a']

def test_pair_victim():
    assert not (state.flags['b'] and state.flags['c'])

def test_fixture_victim():
    assert not state.flags['fixture']
"""
ONE_VICTIM = f"""{KEEP_ORDER}
def test_set_a():
    state.flags['a'] = True

def test_between():
    pass

def test_victim():
    assert not state.flags['a']
"""
BRITTLE = """import state

def test_setup():
    state.flags['ready'] = True

def test_brittle():
    assert state.flags['ready']
"""
OTHERS = {
    "test_plain": "def test_broken():\n    assert 0\n",
    "test_once": (
        "import pathlib\n\ndef test_once():\n    mark = pathlib.Path('failed-once')\n"
        "    if not mark.exists():\n        mark.write_text('yes')\n        assert 0\n"
    ),
    # A test that forks and one that leaves a thread: neither may break a check after them.
    "test_processes": (
        "import os, threading, time\n\n"
        "def test_forks():\n    pid = os.fork()\n    if pid == 0:\n        os._exit(0)\n"
        "    os.waitpid(pid, 0)\n\n"
        "def test_leaves_a_thread():\n"
        "    threading.Thread(target=time.sleep, args=(0.2,)).start()\n"
    ),
}
ARGS = (
    "--atom-gates-reruns=1",
    "--atom-gates-min-pass-rate=0",
    "--atom-gates-order-checks=200",
    CHECKS_UNTIMED,
    "-p",
    "no:randomly",
)


def brittle_first_seed() -> int:
    """A seed that runs the brittle test before the test that sets it up."""
    chains = [["test_brittle.py", f"test_brittle.py::test_{name}"] for name in ("setup", "brittle")]
    for seed in range(1000):
        if shuffled_order(chains, seed) == [1, 0]:
            return seed
    raise AssertionError("no such seed")


def verdicts(report: dict[str, Any]) -> dict[str, tuple[str, tuple[str, ...], bool]]:
    return {
        c["nodeid"]: (c["result"], tuple(c["polluters"]), c["brittle"])
        for c in report["order_checks"]
    }


@pytest.fixture(params=["fork", "fresh"])
def check_engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(ENGINE_ENV, request.param)
    engine: str = request.param
    return engine


def test_every_direction_gives_the_same_verdicts_with_either_engine(
    pytester: pytest.Pytester, any_engine: Gates, check_engine: str
) -> None:
    pytester.makepyfile(
        state=STATE,
        test_mixed=MIXED,
        test_brittle=BRITTLE,
        **OTHERS,
    )
    pytester.syspathinsert()
    same_worker = ("--dist=loadfile",) if any_engine.engine == "xdist" else ()
    run = any_engine.run(f"--atom-gates-seed={brittle_first_seed()}", *ARGS, *same_worker)
    found = verdicts(run.report)
    assert found == {
        "test_mixed.py::test_victim": ("order-dependent", ("test_mixed.py::test_set_a",), False),
        "test_mixed.py::test_pair_victim": (
            "order-dependent",
            ("test_mixed.py::test_set_b", "test_mixed.py::test_set_c"),
            False,
        ),
        "test_mixed.py::test_fixture_victim": (
            "order-dependent",
            ("test_mixed.py::test_uses_fixture",),
            False,
        ),
        "test_brittle.py::test_brittle": (
            "order-dependent",
            ("test_brittle.py::test_setup",),
            True,
        ),
        "test_plain.py::test_broken": ("fails-alone", (), False),
        "test_once.py::test_once": ("flaky", (), False),
    }, run.output[-4000:]
    engine = run.verdict("TQ-01")["data"]["engine"]
    if check_engine == "fork":
        assert (engine["mechanism"], engine["fallback"], engine["refreshed"]) == (
            "forked copies",
            None,
            [],
        )
        # One fresh process per set found: a, b and c, the fixture, the brittle test's setter.
        assert engine["fresh_processes"] == 4
        assert engine["forked"] > 0
    else:
        assert engine == {
            "mechanism": "fresh processes",
            "fallback": f"{ENGINE_ENV}=fresh",
            "forked": 0,
            "fresh_processes": engine["fresh_processes"],
            "refreshed": [],
            "handed_over": 0,
            "handed_over_reason": None,
            "probes": 0,
        }
        assert engine["fresh_processes"] > 10


def victim_last_seed(chains: list[list[str]]) -> int:
    """A seed that runs the last of these tests last."""
    for seed in range(1000):
        if shuffled_order(chains, seed)[-1] == len(chains) - 1:
            return seed
    raise AssertionError("no such seed")


@pytest.mark.parametrize("deselected", [False, True], ids=["its-tests-ran", "its-tests-deselected"])
def test_a_module_that_pollutes_when_imported_is_named_by_either_engine(
    pytester: pytest.Pytester, gates: Gates, check_engine: str, deselected: bool
) -> None:
    """Every question of the search collects what the victim's process collected, as a fresh
    process given the same files would: the victim fails after any test, then with nothing
    before it, and the collection of ``test_importer.py`` is what it fails after, whether the
    module's tests ran before it or were deselected."""
    pytester.makepyfile(
        state=STATE,
        test_importer=(
            "import state\nstate.flags['imported'] = True\n\n"
            "def test_a():\n    pass\n\ndef test_b():\n    pass\n"
        ),
        test_other="def test_x():\n    pass\n",
        test_victim="import state\n\ndef test_victim():\n    assert not state.flags['imported']\n",
    )
    pytester.syspathinsert()
    victim = "test_victim.py::test_victim"
    importer = [["test_importer.py", f"test_importer.py::test_{n}"] for n in ("a", "b")]
    chains = [*([] if deselected else importer), ["test_other.py", "test_other.py::test_x"]]
    seed = victim_last_seed([*chains, ["test_victim.py", victim]])
    selection = ("--deselect=test_importer.py",) if deselected else ()
    run = gates.run(f"--atom-gates-seed={seed}", *ARGS, *selection)
    assert verdicts(run.report) == {victim: ("order-dependent", ("test_importer.py",), False)}
    (check,) = run.report["order_checks"]
    assert len(check["ran_before"]) == len(chains)
    # The whole prefix (and its first test, when it holds more), then nothing but the
    # collection, then collecting test_importer.py alone.
    runs = 3 if deselected else 4
    assert check["search"] == {"result": "found", "runs": runs, "detail": "", "confirmations": 6}
    assert reproduce_arguments(check["reproduce"])[-3:] == [
        "test_importer.py",
        "--deselect=test_importer.py::",
        victim,
    ]
    run.result.stdout.fnmatch_lines(
        [f"  {victim} - fails after collecting test_importer.py (found in {runs} runs)"]
    )
    assert run.verdict("TQ-01")["data"]["engine"]["refreshed"] == []


def test_a_file_outside_the_root_directory_is_collected_from_its_path(
    pytester: pytest.Pytester, gates: Gates, check_engine: str
) -> None:
    """Outside the root directory a file's node id is no path from there: the checks give
    each file collected by its own path, or every replay and search question collects nothing
    and the test is never checked."""
    pytester.makepyfile(
        **{
            "state": STATE,
            "tests/pkg/__init__": "",
            "tests/pkg/test_importer": (
                "import state\nstate.flags['imported'] = True\n\ndef test_a():\n    pass\n"
            ),
            "tests/other/test_victim": (
                "import state\n\ndef test_victim():\n"
                "    imported, state.flags['imported'] = state.flags['imported'], False\n"
                "    assert not imported\n"
            ),
        }
    )
    pytester.syspathinsert()
    run = gates.run("--rootdir=tests/other", "tests", *ARGS)
    assert run.verdict("TQ-01")["verdict"] == "FAIL"
    (check,) = run.report["order_checks"]
    (importer,) = check["polluters"]
    assert importer.endswith("pkg/test_importer.py")
    assert reproduce_arguments(check["reproduce"])[-3:] == [
        "tests/pkg/test_importer.py",
        f"--deselect={importer}::",
        "tests/other/test_victim.py::test_victim",
    ]


def test_a_victim_of_a_files_collection_is_not_settled_by_another_victims_polluter(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """``test_flag`` fails after ``test_set``; ``test_env`` after ``test_importer.py``'s import.
    Once ``test_set`` is found, ``test_env`` gets a short run after it: collecting every file
    there, it would fail and be blamed on ``test_set``, with a command that passes."""
    pytester.makepyfile(
        state=STATE,
        test_importer="import state\nstate.flags['imported'] = True\n\ndef test_a():\n    pass\n",
        test_one="import state\n\ndef test_set():\n    state.flags['a'] = True\n",
        test_victims=f"""{KEEP_ORDER}
def test_flag():
    assert not state.flags['a']

def test_env():
    assert not state.flags['imported']
""",
    )
    pytester.syspathinsert()
    chains = [
        ["test_importer.py", "test_importer.py::test_a"],
        ["test_one.py", "test_one.py::test_set"],
        ["test_victims.py", "test_victims.py::test_flag"],
        ["test_victims.py", "test_victims.py::test_env"],
    ]
    seed = next(s for s in range(1000) if shuffled_order(chains, s).index(1) < 2)
    run = gates.run(f"--atom-gates-seed={seed}", "--atom-gates-reruns=0", CHECKS_UNTIMED)
    assert verdicts(run.report) == {
        "test_victims.py::test_flag": ("order-dependent", ("test_one.py::test_set",), False),
        "test_victims.py::test_env": ("order-dependent", ("test_importer.py",), False),
    }


def test_a_file_collected_twice_holds_its_tests_once(
    pytester: pytest.Pytester, gates: Gates, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--doctest-modules`` collects a module twice (its doctests, its tests): a fresh process
    given the file twice would deselect the victim in it, and the flaky test would pass."""
    monkeypatch.setenv(ENGINE_ENV, "fresh")
    pytester.makepyfile(
        state=STATE,
        test_one=f"""{KEEP_ORDER}
def test_set_a():
    state.flags['a'] = True

def test_victim():
    a, state.flags['a'] = state.flags['a'], False
    assert not a
""",
    )
    pytester.syspathinsert()
    run = gates.run("--doctest-modules", *ARGS)
    assert verdicts(run.report) == {
        "test_one.py::test_victim": ("order-dependent", ("test_one.py::test_set_a",), False)
    }


NEEDS_BOTH = f"""{KEEP_ORDER}
def test_set_b():
    state.flags['b'] = True

def test_victim():
    both = state.flags['imported'] and state.flags['b']
    state.flags['imported'] = state.flags['b'] = False
    assert not both
"""


@pytest.mark.parametrize(
    ("limit", "text"),
    [
        (
            "1000",
            "fails after test_two.py::test_set_b (found in 2 runs; only having collected the 2 "
            "files its process collected)",
        ),
        (
            "2",
            "failed in the shuffled run, passed when run alone; polluter not found "
            "(not-analysed): limit of 2 questions (--atom-gates-order-checks)",
        ),
    ],
    ids=["named", "budget-spent"],
)
def test_a_failure_seen_after_a_files_collection_is_reproduced_with_it(
    pytester: pytest.Pytester, gates: Gates, limit: str, text: str
) -> None:
    """The victim needs ``test_one.py``'s import and ``test_set_b`` together: named after the
    test, it is replayed in a fresh process having collected its process's files, and its
    command collects them, as does the command of a victim whose search the budget cut short."""
    pytester.makepyfile(
        state=STATE,
        test_one="import state\nstate.flags['imported'] = True\n\ndef test_a():\n    pass\n",
        test_two=NEEDS_BOTH,
    )
    pytester.syspathinsert()
    run = gates.run(
        "--deselect=test_one.py::test_a",
        "--atom-gates-reruns=0",
        f"--atom-gates-order-checks={limit}",
        CHECKS_UNTIMED,
    )
    assert run.verdict("TQ-01")["verdict"] == "FAIL"
    (check,) = run.report["order_checks"]
    assert reproduce_arguments(check["reproduce"])[-4:] == [
        "test_one.py",
        "--deselect=test_one.py::",
        "test_two.py::test_set_b",
        "test_two.py::test_victim",
    ]
    run.result.stdout.fnmatch_lines([f"  test_two.py::test_victim - {text}"])
    assert run.verdict("TQ-01")["data"]["engine"]["refreshed"] == []


def test_a_server_with_threads_falls_back_to_fresh_processes_and_says_why(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """A fork copies only the thread that forks: a conftest that starts a thread at start-up
    makes the server unusable, and fresh processes answer, with the same verdicts."""
    pytester.makeconftest(
        "import threading, time\n\n"
        "def pytest_configure(config):\n"
        "    threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()\n"
    )
    # One victim: every question is a fresh process here, and the scenarios of
    # test_every_direction_gives_the_same_verdicts_with_either_engine cover the others.
    pytester.makepyfile(state=STATE, test_one=ONE_VICTIM)
    pytester.syspathinsert()
    run = gates.run(*ARGS, "-v")
    assert verdicts(run.report) == {
        "test_one.py::test_victim": ("order-dependent", ("test_one.py::test_set_a",), False)
    }
    engine = run.verdict("TQ-01")["data"]["engine"]
    fallback = "its server could not serve: 2 threads run after start-up; a fork copies them broken"
    assert (engine["mechanism"], engine["fallback"], engine["forked"]) == (
        "fresh processes",
        fallback,
        0,
    )
    run.result.stdout.fnmatch_lines(
        [
            f"TQ-01's checks: {engine['fresh_processes']} fresh processes (no forked copies: "
            f"{fallback})"
        ]
    )


IN_A_COPY = f"""{KEEP_ORDER}import os

def test_set_a():
    state.flags['a'] = True

def _command_line(pid):
    with open(f"/proc/{{pid}}/cmdline", "rb") as handle:
        return handle.read()

def test_victim():
    # Fails after test_set_a in the run and in forked copies, never in a fresh child.
    child = b"--atom-gates-order-checks=0" in _command_line(os.getpid())
    copy = child and b"--atom-gates-order-checks=0" in _command_line(os.getppid())
    assert not (state.flags['a'] and (copy or not child))
"""


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/cmdline"), reason="needs /proc")
def test_a_set_found_in_copies_that_a_fresh_process_does_not_reproduce_is_checked_again(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """Every set found in forked copies is replayed once in a fresh process; where it does not
    reproduce there, the test is checked again in fresh processes, whose verdict stands."""
    pytester.makepyfile(
        state=STATE,
        test_m=IN_A_COPY,
    )
    pytester.syspathinsert()
    run = gates.run(*ARGS, "-v")
    (check,) = run.report["order_checks"]
    assert check["result"] == "flaky"
    engine = run.verdict("TQ-01")["data"]["engine"]
    assert (engine["mechanism"], engine["refreshed"]) == (
        "forked copies",
        ["test_m.py::test_victim"],
    )
    run.result.stdout.fnmatch_lines(
        [
            f"TQ-01's checks: {engine['forked']} questions answered by forked copies of one "
            f"pytest process, {engine['fresh_processes']} fresh processes; 1 checked again in "
            "fresh processes, their set found in forked copies not reproduced in a fresh one"
        ]
    )


def test_an_unknown_engine_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENGINE_ENV, "threads")
    pytester.makepyfile("def test_one():\n    pass\n")
    result = pytester.runpytest("--atom-gates")
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [
            f"ERROR: {ENGINE_ENV}=threads: not a way to answer TQ-01's questions. Accepted: fork "
            "(the default: forked copies of one pytest process, where the platform allows it), "
            "fresh (a fresh pytest process per question)."
        ]
    )


def test_the_server_keeps_bytecode_out_of_the_project(
    pytester: pytest.Pytester, gates: Gates, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under PYTHONDONTWRITEBYTECODE the copies cache rewritten test modules in the server's
    own folder, never in a ``__pycache__`` beside the project's files."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    pytester.makepyfile(state=STATE, test_mixed=MIXED)
    pytester.syspathinsert()
    run = gates.run(*ARGS, subprocess=True)
    assert verdicts(run.report)["test_mixed.py::test_victim"][0] == "order-dependent"
    assert sorted(p.name for p in pytester.path.rglob("__pycache__")) == []


KILLS = """import os, signal

def _command_line(pid):
    with open(f"/proc/{{pid}}/cmdline", "rb") as handle:
        return handle.read()

def _parent(pid):
    with open(f"/proc/{{pid}}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])

def test_kills():
    child = b"--atom-gates-order-checks=0" in _command_line(os.getpid())
    if child and b"--atom-gates-order-checks=0" in _command_line(os.getppid()):
        os.kill({whom}, signal.SIGKILL)  # in a forked copy
    assert 0
"""


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/cmdline"), reason="needs /proc")
def test_a_test_that_kills_the_server_leaves_its_questions_to_fresh_processes(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """A copy's parent is its group, whose parent is the server."""
    pytester.makepyfile(test_killer=KILLS.format(whom="_parent(os.getppid())"))
    run = gates.run(*ARGS)
    assert verdicts(run.report) == {"test_killer.py::test_kills": ("fails-alone", (), False)}
    engine = run.verdict("TQ-01")["data"]["engine"]
    assert (engine["mechanism"], engine["fallback"], engine["forked"]) == (
        "fresh processes",
        "its server ended while serving",
        0,
    )


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/cmdline"), reason="needs /proc")
def test_a_test_that_kills_its_group_leaves_that_question_to_a_fresh_process(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """The server goes on: each question whose group a test killed goes to a fresh process,
    and the next question gets a new group."""
    pytester.makepyfile(test_killer=KILLS.format(whom="os.getppid()"))
    run = gates.run(*ARGS)
    assert verdicts(run.report) == {"test_killer.py::test_kills": ("fails-alone", (), False)}
    engine = run.verdict("TQ-01")["data"]["engine"]
    assert engine == {
        "mechanism": "fresh processes",
        "fallback": None,
        "forked": 0,
        "fresh_processes": 2,  # the alone-run and the file-order run
        "refreshed": [],
        "handed_over": 2,
        "handed_over_reason": (
            "the group its copy was forked from ended first (a test killed it?)"
        ),
        "probes": 0,
    }


COUNTS_ITS_IMPORTS = (
    "import pathlib\n\n"
    "with pathlib.Path('imports.txt').open('a') as imports:\n    imports.write('imported\\n')\n\n"
    "def test_one():\n    pass\n\n"
    "def test_broken():\n    assert 0\n"
)


def test_one_collection_serves_every_question_about_the_same_modules(
    pytester: pytest.Pytester, gates: Gates, check_engine: str
) -> None:
    """A test that fails alone too is asked about twice, alone and in file order, both about
    its module alone: forked copies of one group answer both, so the module is imported once
    for the checks (fresh processes: once each)."""
    pytester.makepyfile(test_counted=COUNTS_ITS_IMPORTS)
    run = gates.run(*ARGS)
    assert verdicts(run.report) == {"test_counted.py::test_broken": ("fails-alone", (), False)}
    imports = (pytester.path / "imports.txt").read_text().splitlines()
    # The run imports it once; the checks once (a group) or once per question (fresh).
    assert len(imports) == (2 if check_engine == "fork" else 3)
    if check_engine == "fork":
        assert run.verdict("TQ-01")["data"]["engine"]["forked"] == 2


THREAD_ON_IMPORT = (
    "import threading, time\n\n"
    "threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()\n\n"
    "def test_threaded():\n    assert 0\n"
)


def test_a_module_that_starts_a_thread_on_import_is_answered_by_copies_that_collect_it(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """A fork copies only the thread that forks, so a group whose modules start a thread when
    imported (NumPy's BLAS does) forks no copy: copies of a group that collects nothing answer
    its questions, each collecting the module itself, after the fork, as a fresh process would."""
    pytester.makepyfile(test_threads=THREAD_ON_IMPORT, test_plain=OTHERS["test_plain"])
    run = gates.run(*ARGS)
    assert verdicts(run.report) == {
        "test_threads.py::test_threaded": ("fails-alone", (), False),
        "test_plain.py::test_broken": ("fails-alone", (), False),
    }
    engine = run.verdict("TQ-01")["data"]["engine"]
    assert engine == {
        "mechanism": "forked copies",
        "fallback": None,
        "forked": 4,
        "fresh_processes": 0,
        "refreshed": [],
        "handed_over": 0,
        "handed_over_reason": None,
        "probes": 0,
    }


SUB_DIRECTORY_CONFTEST = (
    "import builtins\n\ndef pytest_sessionstart(session):\n    builtins.DB_READY = True\n"
)
SUB_DIRECTORY_TESTS = """import builtins, pytest

pytestmark = pytest.mark.atom_gates_keep_order

def test_polluter():
    builtins.DB_READY = False

def test_victim():
    assert getattr(builtins, "DB_READY", None) is True
"""


def test_a_conftest_of_the_runs_own_directory_starts_the_server_as_it_started_the_run(
    pytester: pytest.Pytester, gates: Gates, check_engine: str
) -> None:
    """``pytest checks`` loads ``checks/conftest.py`` before the session starts, so its
    ``pytest_sessionstart`` runs; the server starts with the run's own paths, so in every copy
    too, and the victim is named with its polluter by either engine."""
    pytester.makeini("[pytest]\n")
    checks = pytester.mkdir("checks")
    (checks / "conftest.py").write_text(SUB_DIRECTORY_CONFTEST)
    (checks / "test_v.py").write_text(SUB_DIRECTORY_TESTS)
    pytester.syspathinsert()
    run = gates.run(*ARGS, "checks", "--atom-gates-seed=1")
    assert verdicts(run.report) == {
        "checks/test_v.py::test_victim": (
            "order-dependent",
            ("checks/test_v.py::test_polluter",),
            False,
        )
    }


PER_PROCESS_ID = (
    "import os, pytest\n\n"
    "@pytest.mark.parametrize('pid', [os.getpid()])\n"
    "def test_named_by_its_process(pid):\n    assert 0\n"
)


def test_a_test_a_fresh_process_would_not_find_gets_the_same_answer_from_either_engine(
    pytester: pytest.Pytester, gates: Gates, check_engine: str
) -> None:
    """A node id that exists only in the run (here, its process id is in it): a fresh process
    says it is not found; a copy cannot find it either and hands the question to one."""
    pytester.makepyfile(test_pid=PER_PROCESS_ID)
    run = gates.run(*ARGS)
    ((nodeid, (result, polluters, _)),) = verdicts(run.report).items()
    assert (result, polluters) == ("inconclusive", ())
    (check,) = run.report["order_checks"]
    assert check["detail"].startswith("the alone-run gave no result (exit 4: ERROR: not found:")
    engine = run.verdict("TQ-01")["data"]["engine"]
    if check_engine == "fork":
        assert (engine["forked"], engine["fresh_processes"], engine["handed_over"]) == (0, 1, 1)
        assert engine["handed_over_reason"] == (
            f"{nodeid} is not among the tests collected from test_pid.py"
        )


COLLECTS_ITS_CYCLE = """import gc, weakref, pytest

pytestmark = pytest.mark.atom_gates_keep_order

class Node:
    pass

_node = Node()
_node.me = _node  # a reference cycle, made on import
REF = weakref.ref(_node)
HOLDER = [_node]
del _node
STASH = []

def test_polluter():
    STASH.append(HOLDER[0])

def test_victim():
    HOLDER.clear()
    gc.collect()
    assert REF() is None
"""


def test_a_copy_collects_garbage_as_a_fresh_process_does(
    pytester: pytest.Pytester, gates: Gates, check_engine: str
) -> None:
    """The server and its groups keep what they hold out of garbage collection while they
    fork; a copy takes it back, so a cycle made on import is freed there as in a fresh process
    and the victim passes alone."""
    pytester.makepyfile(test_gc=COLLECTS_ITS_CYCLE)
    run = gates.run(*ARGS, "--atom-gates-seed=1")
    assert verdicts(run.report) == {
        "test_gc.py::test_victim": ("order-dependent", ("test_gc.py::test_polluter",), False)
    }


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/cmdline"), reason="needs /proc")
def test_a_test_of_a_threaded_module_that_kills_its_parent_leaves_the_server_serving(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    """The copies that collect a threaded module's tests are forked from a group of their
    own, never from the server: killing the parent costs that question a fresh process."""
    pytester.makepyfile(
        test_killer="import threading, time\n\n"
        "threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()\n"
        + KILLS.format(whom="os.getppid()"),
        test_plain=OTHERS["test_plain"],
    )
    run = gates.run(*ARGS)
    assert verdicts(run.report) == {
        "test_killer.py::test_kills": ("fails-alone", (), False),
        "test_plain.py::test_broken": ("fails-alone", (), False),
    }
    engine = run.verdict("TQ-01")["data"]["engine"]
    assert engine == {
        "mechanism": "forked copies",
        "fallback": None,
        "forked": 2,  # test_plain's two questions
        "fresh_processes": 2,
        "refreshed": [],
        "handed_over": 2,
        "handed_over_reason": (
            "the group its copy was forked from ended first (a test killed it?)"
        ),
        "probes": 0,
    }


COUNTS_ITS_REWRITING = """import os
from _pytest.assertion import rewrite

_rewrite_test = rewrite._rewrite_test

def counted(source, config):
    with open("rewritten.txt", "a") as rewritten:
        rewritten.write(f"{source.name} {os.getpid()}\\n")
    return _rewrite_test(source, config)

rewrite._rewrite_test = counted
"""


def test_the_checks_read_the_assertion_rewriting_that_the_run_kept(
    pytester: pytest.Pytester, any_engine: Gates, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under PYTHONDONTWRITEBYTECODE pytest keeps no rewritten test module: the run keeps
    those it rewrote while it collected, and the checks' group reads them instead of
    rewriting the module again. The same verdicts; no bytecode beside the project's files."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    pytester.makeconftest(COUNTS_ITS_REWRITING)
    pytester.makepyfile(test_counted=COUNTS_ITS_IMPORTS)
    run = any_engine.run(*ARGS, subprocess=True)
    assert verdicts(run.report) == {"test_counted.py::test_broken": ("fails-alone", (), False)}
    assert run.verdict("TQ-01")["data"]["engine"]["forked"] == 2
    lines = (pytester.path / "rewritten.txt").read_text().splitlines()
    rewrites = [line.split()[1] for line in lines if line.startswith("test_counted.py ")]
    # Once by each process that collected it for the run (two workers under xdist), and by
    # no process of the checks.
    collected_it = 2 if any_engine.engine == "xdist" else 1
    assert len(rewrites) == len(set(rewrites)) == collected_it
    imports = (pytester.path / "imports.txt").read_text().splitlines()
    assert len(imports) == collected_it + 1  # the checks' group imported it once
    assert sorted(p.name for p in pytester.path.rglob("__pycache__")) == []
