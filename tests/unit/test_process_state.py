"""What changed between two snapshots of the process state, in words."""

from __future__ import annotations

from pytest_atom_gates.gates.independence import AloneCheck
from pytest_atom_gates.process_state import changes
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
