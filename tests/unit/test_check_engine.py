"""What answered TQ-01's questions, as the summary says it; and when forking is not used."""

from __future__ import annotations

import marshal
import os
import sys
from pathlib import Path
from types import CodeType
from typing import Any

import pytest
from _pytest.assertion import rewrite

from pytest_atom_gates.check_environment import ENGINE_ENV, fork_unavailable
from pytest_atom_gates.fork_server import Group, evicted
from pytest_atom_gates.gates.independence import FORKED, FRESH, engine_text
from pytest_atom_gates.gates.order_findings import CheckEngine
from pytest_atom_gates.kept_bytecode import KeptRewriting, cached_path
from pytest_atom_gates.questions import selection_args


@pytest.mark.parametrize(
    ("engine", "text"),
    [
        (
            CheckEngine(FORKED, None, 1, 1),
            "TQ-01's checks: 1 question answered by forked copies of one pytest process, "
            "1 fresh process",
        ),
        (
            CheckEngine(FORKED, None, 24, 3),
            "TQ-01's checks: 24 questions answered by forked copies of one pytest process, "
            "3 fresh processes",
        ),
        (
            CheckEngine(FORKED, None, 24, 3, probes=1),
            "TQ-01's checks: 24 questions answered by forked copies of one pytest process "
            "(1 probe on the way), 3 fresh processes",
        ),
        (
            CheckEngine(FORKED, None, 24, 3, probes=6),
            "TQ-01's checks: 24 questions answered by forked copies of one pytest process "
            "(6 probes on the way), 3 fresh processes",
        ),
        (
            CheckEngine(FORKED, "its server ended while serving", 5, 2),
            "TQ-01's checks: 5 questions answered by forked copies of one pytest process, "
            "2 fresh processes (then fresh processes: its server ended while serving)",
        ),
        (
            CheckEngine(FRESH, f"{ENGINE_ENV}=fresh", 0, 1),
            f"TQ-01's checks: 1 fresh process (no forked copies: {ENGINE_ENV}=fresh)",
        ),
        (CheckEngine(FRESH, None, 0, 7), "TQ-01's checks: 7 fresh processes"),
        (
            CheckEngine(FORKED, None, 30, 4, ("t.py::a", "t.py::b")),
            "TQ-01's checks: 30 questions answered by forked copies of one pytest process, "
            "4 fresh processes; 2 checked again in fresh processes, their set found in forked "
            "copies not reproduced in a fresh one",
        ),
        (
            CheckEngine(FORKED, None, 2, 2, (), 2, "3 threads run after collecting t.py"),
            "TQ-01's checks: 2 questions answered by forked copies of one pytest process, "
            "2 fresh processes; 2 questions handed to fresh processes: 3 threads run after "
            "collecting t.py",
        ),
        (
            CheckEngine(FORKED, None, 9, 1, (), 1, "t.py::a is not among the tests collected"),
            "TQ-01's checks: 9 questions answered by forked copies of one pytest process, "
            "1 fresh process; 1 question handed to fresh processes: t.py::a is not among the "
            "tests collected",
        ),
    ],
)
def test_the_summary_says_what_answered(engine: CheckEngine, text: str) -> None:
    assert engine_text(engine) == text


def test_forked_copies_unless_asked_or_impossible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    if not hasattr(os, "fork"):
        monkeypatch.setattr(os, "fork", lambda: 0, raising=False)
    assert fork_unavailable({}) is None
    assert fork_unavailable({ENGINE_ENV: "fork"}) is None
    assert fork_unavailable({ENGINE_ENV: "fresh"}) == f"{ENGINE_ENV}=fresh"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert fork_unavailable({}) == "fork() is unsafe with macOS system frameworks"
    monkeypatch.delattr(os, "fork")
    assert fork_unavailable({}) == "this platform has no fork()"


def _group(pid: int, *pending: str) -> Group:
    return Group(pid, requests=-1, replies=-1, pending=set(pending))


@pytest.mark.parametrize(
    ("groups", "limit", "leaving"),
    [
        ({("a.py",): _group(1), ("b.py",): _group(2)}, 3, None),  # room for one more
        ({("a.py",): _group(1), ("b.py",): _group(2)}, 2, ("a.py",)),  # least recently asked
        ({("a.py",): _group(1, "7"), ("b.py",): _group(2)}, 2, ("b.py",)),  # a is answering
        ({("a.py",): _group(1, "7"), ("b.py",): _group(2, "8")}, 2, None),  # all answering
    ],
)
def test_the_group_that_leaves_is_the_least_recently_asked_idle_one(
    groups: dict[tuple[str, ...], Group], limit: int, leaving: tuple[str, ...] | None
) -> None:
    assert evicted(groups, limit) == leaving


def test_kept_rewriting_is_where_pytest_looks_under_a_pycache_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server reads the run's rewriting through ``sys.pycache_prefix``: the kept file's
    path must be the one pytest itself derives from the prefix."""
    source = tmp_path / "tests" / "test_module.py"
    monkeypatch.setattr(sys, "pycache_prefix", str(tmp_path / "kept"))
    expected = rewrite.get_cache_dir(source) / f"test_module{rewrite.PYC_TAIL}"
    assert cached_path(tmp_path / "kept", source) == expected
    assert str(expected).startswith(str(tmp_path / "kept" / tmp_path.relative_to("/")))


def test_a_module_whose_rewriting_is_kept_runs_from_a_copy_of_what_was_written(
    tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    """Writing a module's bytecode makes CPython keep a copy of each function's bytecode on the
    code objects written: the module runs from an equal copy, so that a passing test's function
    keeps nothing more than plain pytest's would."""
    source = tmp_path / "test_module.py"
    source.write_text("def test_one():\n    assert 1\n")
    made: list[CodeType] = []

    def rewriting(path: Path, config: pytest.Config) -> Any:
        result = rewrite._rewrite_test(path, config)
        made.append(result[1])
        return result

    folder = tmp_path / "kept"
    _, runs = KeptRewriting(folder)._keeping(rewriting)(source, pytestconfig)
    assert runs is not made[0]
    assert marshal.dumps(runs) == marshal.dumps(made[0])
    assert cached_path(folder, source).read_bytes().endswith(marshal.dumps(made[0]))


def test_a_question_names_the_files_its_process_collected_in_their_place() -> None:
    """Files that hold none of the question's tests are collected with their tests deselected
    (by node id, from the root directory); a file that holds some collects only those, in the
    place the run collected it."""
    args = selection_args(
        ["sub/test_b.py::test_v", "sub/test_b.py::test_w", "test_z.py::test_late"],
        ["sub/test_a.py", "sub/test_b.py", "sub/test_c.py"],
        lambda nodeid: f"../{nodeid}",
        lambda nodeid: nodeid.removesuffix("@group"),
    )
    assert args == [
        "../sub/test_a.py",
        "--deselect=sub/test_a.py::",
        "../sub/test_b.py::test_v",
        "../sub/test_b.py::test_w",
        "../sub/test_c.py",
        "--deselect=sub/test_c.py::",
        "../test_z.py::test_late",
    ]
    assert selection_args(["t.py::a"], [], str, str) == ["t.py::a"]
