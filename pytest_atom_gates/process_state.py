"""The polluted state, named: what a polluter changed in the process, seen from snapshots.

When TQ-01 has found a polluter set (or a state-setter), its replay in a fresh process takes a
snapshot of the process state before the set's first test, after its last and after the victim.
What changed between the first two is what the set left behind: the environment, the working
directory, ``sys.path``, the modules imported, module-level names of the project's own modules,
logging levels and handlers, warnings filters, the time zone, the locale, threads still alive,
open file descriptors, signal handlers, the default socket timeout, the ``decimal`` context and
the recursion limit. Only what the snapshots show is said; nothing is guessed.
"""

from __future__ import annotations

import contextlib
import decimal
import json
import locale
import logging
import os
import re
import reprlib
import signal
import socket
import sys
import threading
import time
import types
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from pytest_atom_gates.check_environment import STATE_ENV
from pytest_atom_gates.invocation import hide_secrets

REPR_LIMIT = 80
"""Characters of a value's repr shown in a change."""
KEPT_LIMIT = 2000
"""Characters of a value's repr a snapshot keeps, to tell a change past the shown ones."""
_SECRET = re.compile(r"pass|secret|token|key|auth|cred|cookie|session", re.IGNORECASE)

_HARNESS = {"pytest", "_pytest", "pluggy", "pytest_atom_gates", "xdist", "execnet", "coverage"}
"""Packages whose modules the test run itself imports as it goes: not the tests' doing."""

Snapshot = dict[str, dict[str, str]]
"""What a snapshot holds: per kind of state, each name and a short repr of its value."""


_REPR = reprlib.Repr()
# Bounded: a module-level list of a million items is read in its first items, not whole.
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxdict = 50
_REPR.maxstring = _REPR.maxother = 500
_REPR.maxlevel = 4


def _short(value: object) -> str:
    try:
        text = _REPR.repr(value)
    except Exception as exc:  # a repr that raises is a fact about the value too
        text = f"<repr raised {type(exc).__name__}>"
    text = re.sub(r" at 0x[0-9a-fA-F]+", "", text)  # addresses differ in every process
    return _clip(text, KEPT_LIMIT)


def _clip(text: str, limit: int = REPR_LIMIT) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _environment() -> dict[str, str]:
    return {
        k: "***" if _SECRET.search(k) else _short(hide_secrets(v)) for k, v in os.environ.items()
    }


def _working_directory() -> dict[str, str]:
    try:
        return {"os.getcwd()": _short(os.getcwd())}
    except OSError as exc:  # the polluter went into a folder and removed it
        return {"os.getcwd()": f"<unreadable: {exc.strerror}>"}


def _project_globals(root: Path) -> dict[str, str]:
    """Module-level names of the modules under ``root`` (not the tests' own modules' imports
    of other modules, functions or classes, which a test does not change by assigning)."""
    names = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not path or not Path(path).is_relative_to(root) or "site-packages" in path:
            continue
        for attribute, value in list(vars(module).items()):
            if attribute.startswith("__") or isinstance(
                value, (types.ModuleType, types.FunctionType, type, types.BuiltinFunctionType)
            ):
                continue
            names[f"{name}:{attribute}"] = _short(value)
    return names


def _logging() -> dict[str, str]:
    """Each logger whose settings are not the defaults (level NOTSET, no handlers)."""
    found = {"root": _logger_state(logging.getLogger())}
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            state = _logger_state(logger)
            if state != _DEFAULT_LOGGER:
                found[name] = state
    return found


_DEFAULT_LOGGER = "level NOTSET"


def _logger_state(logger: logging.Logger) -> str:
    # pytest's own capture handlers come and go with every test.
    handlers = sorted(
        type(h).__name__ for h in logger.handlers if not type(h).__module__.startswith("_pytest")
    )
    parts = [f"level {logging.getLevelName(logger.level)}"]
    if handlers:
        parts.append(f"handlers [{', '.join(handlers)}]")
    if logger.disabled:
        parts.append("disabled")
    return ", ".join(parts)


def _warning_filter(entry: Any) -> str:
    action, message, category, module, line = entry
    where = "".join(
        f" {label} {value.pattern if hasattr(value, 'pattern') else value!r}"
        for label, value in (("message", message), ("module", module))
        if value
    )
    at_line = f" line {line}" if line else ""
    return f"{action} {getattr(category, '__name__', category)}{where}{at_line}"


def _open_descriptors() -> dict[str, str]:
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:  # not Linux: file descriptors are not compared
        return {}
    found = {}
    for name in names:
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if target.startswith(("pipe:", "anon_inode:", "/dev/")) or target.endswith(" (deleted)"):
            continue  # pytest's capture files and the check's own plumbing
        found[target] = "open"
    return found


def _signal_handlers() -> dict[str, str]:
    found = {}
    for number in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if number is None:
            continue
        handler = signal.getsignal(number)
        name = getattr(handler, "__qualname__", None)
        found[signal.Signals(number).name] = name if isinstance(name, str) else _short(handler)
    return found


def _threads() -> dict[str, str]:
    return {
        f"{t.name} ({type(t).__name__})": "alive"
        for t in threading.enumerate()
        if t is not threading.main_thread() and not t.name.startswith("atom-gates")
    }


def _modules(harness: frozenset[str]) -> dict[str, str]:
    return {name: "imported" for name in sys.modules if name.split(".")[0] not in harness}


def _kinds(root: Path, harness: frozenset[str]) -> dict[str, Callable[[], dict[str, str]]]:
    """Each kind of state and how to read it."""
    return {
        "os.environ": _environment,
        "working directory": _working_directory,
        "sys.path": lambda: {e: str(n) for n, e in reversed(list(enumerate(sys.path)))},
        "sys.modules": lambda: _modules(harness),
        "module globals": lambda: _project_globals(root),
        "logging": _logging,
        "warnings filters": lambda: {
            _warning_filter(f): str(n) for n, f in reversed(list(enumerate(warnings.filters)))
        },
        "time zone": lambda: {"time.tzname": _short(time.tzname)},
        "locale": lambda: {"locale": _short(locale.setlocale(locale.LC_ALL, None))},
        "threads": _threads,
        "file descriptors": _open_descriptors,
        "signal handlers": _signal_handlers,
        "socket": lambda: {"socket.getdefaulttimeout()": _short(socket.getdefaulttimeout())},
        "decimal": lambda: {"decimal context": _short(decimal.getcontext())},
        "recursion limit": lambda: {"sys.getrecursionlimit()": str(sys.getrecursionlimit())},
    }


def snapshot(root: Path, harness: frozenset[str] = frozenset(_HARNESS)) -> Snapshot:
    """The process state now, as the changes report it. A kind that cannot be read (a module
    global whose repr raises past its own guard, say) is left out of this snapshot, and so out
    of the changes: the replay's verdict never depends on it."""
    taken: Snapshot = {}
    for kind, read in _kinds(root, harness).items():
        try:
            taken[kind] = read()
        except Exception:  # a snapshot may miss a kind; it never fails the replay
            continue
    return taken


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """One line per change, as the terminal says it: ``os.environ['X']: unset -> '1'``."""
    lines = []
    for kind, now in after.items():
        was = before.get(kind, {})
        if kind in ("sys.path", "warnings filters"):
            quote = kind == "sys.path"  # a path, as Python writes it; a filter, as said
            lines += [
                f"{kind}: added {repr(e) if quote else e} (at {now[e]})"
                for e in now
                if e not in was
            ]
            lines += [f"{kind}: removed {repr(e) if quote else e}" for e in was if e not in now]
            continue
        if kind == "sys.modules":
            added = sorted(m for m in set(now) - set(was) if m.split(".")[0] not in _HARNESS)
            if added:
                shown = ", ".join(added[:5]) + (
                    f" and {len(added) - 5} more" if len(added) > 5 else ""
                )
                lines.append(f"sys.modules: imported {shown}")
            continue
        for name in sorted(set(was) | set(now)):
            old, new = was.get(name), now.get(name)
            if old == new:
                continue
            if kind == "module globals" and name.partition(":")[0] not in before["sys.modules"]:
                continue  # imported since: said once, as a module imported
            lines.append(_change_line(kind, name, old, new))
    return lines


def _change_line(kind: str, name: str, old: str | None, new: str | None) -> str:
    if kind == "os.environ":
        where = f"os.environ[{name!r}]"
    elif kind == "logging":
        old, new = old or _DEFAULT_LOGGER, new or _DEFAULT_LOGGER
        where = f"logging logger {name!r}"
    elif kind == "module globals":
        where = name.replace(":", ".")
    elif kind in ("threads", "file descriptors"):
        state = "left alive" if kind == "threads" else "left open"
        return f"{kind}: {name} {state}" if new is not None else f"{kind}: {name} ended"
    else:
        where = name
    limit = KEPT_LIMIT if kind == "working directory" else REPR_LIMIT  # a path, whole
    was = "unset" if old is None else _clip(old, limit)
    now = "unset" if new is None else _clip(new, limit)
    return f"{where}: {was} -> {now}"


class StateRecorder:
    """In a check's process: snapshots before ``first`` runs, after ``last`` and after each
    test after it (the victim), written to ``path`` as JSON when the session ends."""

    def __init__(
        self, path: Path, root: Path, first: str, last: str, harness: frozenset[str]
    ) -> None:
        self.path = path
        self.root = root
        self.first = first
        self.last = last
        self.harness = harness
        """Packages the run imports as it goes: pytest's, ours and the installed plugins'."""
        self.snapshots: dict[str, Snapshot] = {}

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[Any]:
        if item.nodeid == self.first and "before" not in self.snapshots:
            self.snapshots["before"] = snapshot(self.root, self.harness)
        try:
            return (yield)
        finally:
            if item.nodeid == self.last:
                self.snapshots["after polluter"] = snapshot(self.root, self.harness)
            elif "after polluter" in self.snapshots:
                self.snapshots["after victim"] = snapshot(self.root, self.harness)

    def pytest_sessionfinish(self) -> None:
        with contextlib.suppress(OSError):  # no snapshots: the replay's verdict still stands
            self.path.write_text(json.dumps(self.snapshots), encoding="utf-8")


def record_if_asked(config: pytest.Config) -> None:
    """Register the recorder in a check's process whose environment asks for it."""
    value = os.environ.pop(STATE_ENV, None)
    parts = (value or "").split("\n")
    if len(parts) != 3:  # only the checks set it, and always so
        return
    path, first, last = parts
    recorder = StateRecorder(Path(path), config.rootpath, first, last, _harness(config))
    config.pluginmanager.register(recorder, "atom-gates-state")


def _harness(config: pytest.Config) -> frozenset[str]:
    """pytest's packages and ours, and those of the installed plugins: what their fixtures
    import as the run goes (Faker's plugin imports its providers at its first test) is not a
    test's doing."""
    installed = {
        getattr(plugin, "__name__", type(plugin).__module__).split(".")[0]
        for plugin, _ in config.pluginmanager.list_plugin_distinfo()
    }
    return frozenset(_HARNESS | installed)


def read_changes(path: Path) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """What the polluters changed, and what of it the victim still saw changed after it ran;
    None when the replay left no snapshots."""
    try:
        snapshots: Mapping[str, Snapshot] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    before, after = snapshots.get("before"), snapshots.get("after polluter")
    if before is None or after is None:
        return None
    still = changes(before, snapshots.get("after victim") or after)
    return tuple(changes(before, after)), tuple(still)
