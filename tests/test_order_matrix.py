"""Where features meet, TQ-01's verdicts must not change.

One suite holds TQ-01's three directions: a victim (fails after its polluter), a brittle test
(fails alone, passes after its state-setter in file order) and a flaky-looking victim (its
in-place rerun passes after a teardown repaired the state, so only the replay after its prefix
shows the polluter). It runs in one process with no rerun pause, which gives the expected
verdicts; then under ``-n 2``, as the two shards of a CI split, with deferred reruns (1 s apart)
and with new-test repetitions. Each must give the same verdicts.
"""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from pytest_atom_gates.ordering import shuffled_order
from tests.conftest import Gates

pytestmark = pytest.mark.many_processes

SUITE = {
    "state": "POLLUTED = False\nREADY = False\nCACHE = {}\n",
    "test_victim": """
import pytest, state

pytestmark = pytest.mark.atom_gates_keep_order

def test_polluter():
    state.POLLUTED = True

def test_victim():
    assert not state.POLLUTED
""",
    "test_brittle": """
import state

def test_setter():
    state.READY = True

def test_needs_setter():
    assert state.READY
""",
    "test_repair": """
import pytest, state

@pytest.fixture
def cleared_afterwards():
    yield
    state.CACHE.clear()

@pytest.mark.atom_gates_keep_order
class TestCache:
    def test_fill(self):
        state.CACHE["user"] = "cached"

    def test_empty_at_start(self, cleared_afterwards):
        assert not state.CACHE
""",
    "test_filler": "def test_one(): pass\ndef test_two(): pass\n",
}

EXPECTED = {
    "test_victim.py::test_victim": ("order-dependent", ["test_victim.py::test_polluter"], False),
    "test_brittle.py::test_needs_setter": (
        "order-dependent",
        ["test_brittle.py::test_setter"],
        True,
    ),
    "test_repair.py::TestCache::test_empty_at_start": (
        "order-dependent",
        ["test_repair.py::TestCache::test_fill"],
        False,
    ),
}


def brittle_seed() -> int:
    """A seed whose shuffle runs the brittle test before its setter."""
    chains = [
        ["test_brittle.py", "test_brittle.py::test_setter"],
        ["test_brittle.py", "test_brittle.py::test_needs_setter"],
    ]
    return next(seed for seed in range(1000) if shuffled_order(chains, seed) == [1, 0])


def verdicts(*reports: dict[str, Any]) -> dict[str, tuple[str, list[str], bool]]:
    """Each checked test's result, polluters (or setters) and direction, over the reports."""
    return {
        check["nodeid"]: (check["result"], check["polluters"], check["brittle"])
        for report in reports
        for check in report["order_checks"]
    }


@pytest.fixture
def suite(pytester: pytest.Pytester) -> list[str]:
    """The suite written, and the options every mode shares."""
    for name, text in SUITE.items():
        (pytester.path / f"{name}.py").write_text(text, encoding="utf-8")
    pytester.makeini("[pytest]\npythonpath = .\n")
    return [f"--atom-gates-seed={brittle_seed()}", "--atom-gates-min-pass-rate=0"]


def test_one_process_without_a_pause_gives_the_expected_verdicts(
    pytester: pytest.Pytester, suite: list[str]
) -> None:
    run = Gates(pytester).run(*suite, "--atom-gates-rerun-delay=0")
    assert verdicts(run.report) == EXPECTED
    assert run.verdict("TQ-01")["verdict"] == "FAIL"
    assert run.verdict("TQ-04")["data"]["flaky"] == []
    assert run.ret == 1


@pytest.mark.parametrize("delay", ["0", "1"])
def test_under_xdist(pytester: pytest.Pytester, suite: list[str], delay: str) -> None:
    # One worker per module, so that each test meets what it met in one process.
    run = Gates(pytester, "xdist").run(
        *suite, "--dist=loadfile", f"--atom-gates-rerun-delay={delay}"
    )
    assert verdicts(run.report) == EXPECTED
    assert run.ret == 1


def test_with_deferred_reruns(pytester: pytest.Pytester, suite: list[str]) -> None:
    run = Gates(pytester).run(*suite, "--atom-gates-rerun-delay=1")
    assert verdicts(run.report) == EXPECTED
    assert run.verdict("TQ-04")["data"]["flaky"] == []
    assert run.ret == 1


@pytest.mark.parametrize("delay", ["0", "1"])
def test_in_the_shards_of_a_ci_split(
    pytester: pytest.Pytester, suite: list[str], delay: str
) -> None:
    shards = [
        Gates(pytester)
        .run(*suite, f"--atom-gates-shard={index}/2", f"--atom-gates-rerun-delay={delay}")
        .report  # read now: the next shard writes the same path
        for index in (1, 2)
    ]
    assert {shard["shard"]["index"] for shard in shards} == {1, 2}
    assert verdicts(*shards) == EXPECTED


def test_with_new_test_repetitions(pytester: pytest.Pytester, suite: list[str]) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for command in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "start"]):
        subprocess.run([*git, *command], cwd=pytester.path, check=True)
    # Every test file is untracked: every test is new and runs 3 more times once it passed.
    run = Gates(pytester).run(
        *suite, "--atom-gates-changed-since=HEAD", "--atom-gates-new-test-runs=3"
    )
    new = {entry["nodeid"] for entry in run.report["determinism"]["new_tests"]["tests"]}
    assert "test_victim.py::test_polluter" in new
    assert verdicts(run.report) == EXPECTED
    assert run.ret == 1
