"""What changed between two snapshots of the process state, in words."""

from __future__ import annotations

import locale
import sys
import types
from pathlib import Path

import pytest

from pytest_atom_gates.gates.order_findings import AloneCheck
from pytest_atom_gates.process_state import changes, snapshot
from pytest_atom_gates.reporting import state_lines

BEFORE = {
    "os.environ": {"HOME": "'/root'", "LANG": "'C'"},
    "sys.path": {"/app": "0"},
    "sys.modules": dict.fromkeys(["app", "app.state", "json"], "imported"),
    "module globals": {"app.state:ADMIN": "False", "app.state:LIMIT": "10"},
    "threads": {"poller (Thread)": "alive"},
    "file descriptors": {"/tmp/a.log": "open"},
    "logging": {"root": "level WARNING"},
}


def test_each_change_in_one_line() -> None:
    after = {
        "os.environ": {"HOME": "'/root'", "APP_MODE": "'test'"},
        "sys.path": {"/plugins": "0", "/app": "1"},
        "sys.modules": dict.fromkeys(["app", "app.state", "json", "app.cache", "pytest"], "x"),
        "module globals": {
            "app.state:ADMIN": "True",
            "app.state:LIMIT": "10",
            "app.cache:HITS": "3",  # a module imported since: said once, as imported
        },
        "threads": {},
        "file descriptors": {"/tmp/a.log": "open", "/tmp/b.db": "open"},
        "logging": {"root": "level WARNING", "app": "level ERROR"},
    }
    assert changes(BEFORE, after) == [
        "os.environ['APP_MODE']: unset -> 'test'",
        "os.environ['LANG']: 'C' -> unset",
        "sys.path: added '/plugins' (at 0)",
        "sys.modules: imported app.cache",  # pytest's own modules are the run's, not the test's
        "app.state.ADMIN: False -> True",
        "threads: poller (Thread) ended",
        "file descriptors: /tmp/b.db left open",
        "logging logger 'app': level NOTSET -> level ERROR",
    ]
    assert changes(BEFORE, BEFORE) == []


def test_the_lines_under_a_victim_and_a_brittle_test() -> None:
    victim = AloneCheck("t.py::v", "order-dependent", "", state_changes=("x: 1 -> 2",) * 14)
    assert state_lines(victim) == ["leaves x: 1 -> 2"] * 12 + ["and 2 more changes (JSON report)"]
    assert len(state_lines(victim, limit=None)) == 14
    brittle = AloneCheck("t.py::b", "order-dependent", "", brittle=True, state_changes=("y",))
    assert state_lines(brittle) == ["sets y"]
    unseen = AloneCheck("t.py::u", "order-dependent", "", state_changes=())
    assert state_lines(unseen) == ["no process-wide change seen"]
    assert state_lines(AloneCheck("t.py::n", "order-dependent", "")) == []


def test_a_snapshot_reads_big_values_in_part_and_leaves_out_what_it_cannot_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = types.ModuleType("big_state")
    module.__file__ = str(tmp_path / "big_state.py")
    module.ROWS = list(range(1_000_000))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "big_state", module)

    def broken(*args: object) -> str:
        raise locale.Error("unsupported locale setting")

    monkeypatch.setattr(locale, "setlocale", broken)
    taken = snapshot(tmp_path)
    assert "locale" not in taken
    assert taken["module globals"]["big_state:ROWS"] == repr(list(range(50)))[:-1] + ", ...]"
    assert taken["recursion limit"] == {"sys.getrecursionlimit()": str(sys.getrecursionlimit())}


def test_secrets_in_environment_values_and_a_removed_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_URL", "postgres://u:hunter2@h/db")
    monkeypatch.setenv("APP_TOKEN", "abc")
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    taken = snapshot(tmp_path)
    assert taken["os.environ"]["DB_URL"] == "'postgres://***@h/db'"
    assert taken["os.environ"]["APP_TOKEN"] == "***"
    assert taken["working directory"] == {"os.getcwd()": "<unreadable: No such file or directory>"}
