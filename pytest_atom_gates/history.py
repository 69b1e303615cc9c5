"""Flake history: each test's last final outcomes, across runs, in pytest's cache folder.

Only the controller writes it, once per session, under a lock file, so two sessions finishing
at once each add their run. A damaged file is set aside with a warning, never a crash.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Collection, Iterable
from itertools import compress, repeat
from operator import add, not_
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from pytest_atom_gates.cache import open_cache
from pytest_atom_gates.outcomes import FAILED, FLAKY, PASSED
from pytest_atom_gates.reporting import one_line
from pytest_atom_gates.reporting.atomic import write_atomically

KEEP = 50
"""Final outcomes kept per test."""
_CODES = {PASSED: "P", FLAKY: "K", FAILED: "F"}
_FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)
"""Version 1 spelled out every test's outcomes; version 2 writes a count for tests that only
ever passed (most of them), so a large suite's history stays small on disk and in memory."""

Outcomes = str | int
"""A test's recorded outcomes, oldest first: ``P`` passed, ``K`` flaky, ``F`` failed, or the
number of runs when every one of them passed."""


def spelled_out(outcomes: Outcomes) -> str:
    return "P" * outcomes if isinstance(outcomes, int) else outcomes


def _appended(outcomes: Outcomes, code: str) -> Outcomes:
    if code == "P" and isinstance(outcomes, int):
        return min(outcomes + 1, KEEP)
    kept = (spelled_out(outcomes) + code)[-KEEP:]
    return len(kept) if kept.count("P") == len(kept) else kept


def _count_passes(tests: dict[str, Outcomes], passed: Iterable[str]) -> None:
    """One more pass for each of the ``passed`` tests. Most tests only ever passed and are a
    count: those are counted in bulk, in loops that run in C, as a large suite's run records
    one per test; the few spelled out are appended one by one."""
    nodeids = list(passed)
    before = list(map(tests.get, nodeids, repeat(0)))
    spelled = list(map(isinstance, before, repeat(str)))
    counted = list(map(not_, spelled))
    more = map(add, compress(before, counted), repeat(1))
    tests.update(zip(compress(nodeids, counted), map(min, more, repeat(KEEP)), strict=True))
    for nodeid in compress(nodeids, spelled):
        tests[nodeid] = _appended(tests[nodeid], "P")


class _Damaged(ValueError):
    """Why a history file cannot be used."""


_SPELLED = re.compile(f"[{''.join(_CODES.values())}]{{1,{KEEP}}}")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _parse(content: bytes) -> dict[str, Outcomes]:
    """The entries of a history file; every field is checked, as anything may have written it.

    A count is bounded because it is spelled out as a string of that many letters.
    """
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise _Damaged("not UTF-8 text") from None
    try:
        data = json.loads(text)
    except ValueError as exc:  # a number of thousands of digits is refused here too
        raise _Damaged(f"not JSON: {exc}") from None
    except RecursionError:
        raise _Damaged("nested too deep to be a history") from None
    if not isinstance(data, dict) or data.get("version") not in _READABLE_VERSIONS:
        raise _Damaged(f"not a history of version {' or '.join(map(str, _READABLE_VERSIONS))}")
    tests = data.get("tests")
    if not isinstance(tests, dict):
        raise _Damaged("no 'tests' object")
    if _all_valid(tests.values()):
        return tests
    letters = ", ".join(_CODES.values())
    for nodeid, outcomes in tests.items():
        if isinstance(outcomes, int) and not isinstance(outcomes, bool):
            if not 0 <= outcomes <= KEEP:
                raise _Damaged(
                    f"{nodeid}: {_shown(outcomes)} is not a count of runs from 0 to {KEEP}"
                )
        elif not isinstance(outcomes, str) or not _SPELLED.fullmatch(outcomes):
            raise _Damaged(
                f"{nodeid}: {_shown(outcomes)} is not 1 to {KEEP} of the letters {letters}"
            )
    return tests


def _all_valid(values: Collection[Any]) -> bool:
    """Whether every entry is a count from 0 to ``KEEP`` or a spelled-out string, checked in
    bulk: a large suite's history holds one entry per test. A bool is not a count."""
    kinds = set(map(type, values))
    if not kinds <= {int, str}:
        return False
    counts = values if str not in kinds else [v for v in values if type(v) is int]
    spelled = [v for v in values if type(v) is str] if str in kinds else []
    in_range = not counts or (min(counts) >= 0 and max(counts) <= KEEP)
    return in_range and all(map(_SPELLED.fullmatch, spelled))


_LOCK_WAIT = 10.0
_LOCK_STALE = 60.0


class FlakeRate(NamedTuple):
    flaky: int
    runs: int
    recent: str
    """The last 10 outcomes, newest last."""
    outcomes: str = ""
    """Every recorded outcome (up to ``KEEP``), newest last."""

    def __str__(self) -> str:
        return f"flaky in {self.flaky} of the last {self.runs} runs"


class FlakeHistory:
    """The history file in a cache folder (``.pytest_cache/d/atom_gates/history.json``).

    A run reads it where it starts (which tests are new) and again under the lock where it
    records: the second read reuses the first when the file is the one read then, as the
    parse costs a large suite's run more than anything else it does per test.
    """

    def __init__(self, folder: Path, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self.path = folder / "history.json"
        self._lock = folder / "history.lock"
        self._clock = clock
        self._read: tuple[tuple[int, ...], dict[str, Outcomes]] | None = None
        """The file's identity (inode, size, times) when last parsed, and what it held."""

    def load(self) -> tuple[dict[str, Outcomes], str | None]:
        """The recorded outcomes per test, and a warning when the file could not be used."""
        try:
            found = self.path.stat()
            identity = (
                found.st_ino,
                found.st_dev,
                found.st_size,
                found.st_mtime_ns,
                found.st_ctime_ns,
            )
            if self._read is not None and self._read[0] == identity:
                return self._read[1], None
            content = self.path.read_bytes()  # replaced since the stat: parsed again next time
        except FileNotFoundError:
            return {}, None
        except OSError as exc:
            return {}, f"flake history {self.path} is unreadable ({exc.strerror}); ignored"
        try:
            tests = _parse(content)
        except _Damaged as exc:
            return {}, f"flake history {self.path} is damaged ({exc}); a new one is started"
        self._read = (identity, tests)
        return tests, None

    def record(
        self, passed: Iterable[str], others: Iterable[tuple[str, str]] = ()
    ) -> tuple[dict[str, Outcomes], str | None]:
        """Append this run's final outcomes: the tests that ``passed``, and the ``others`` with
        theirs. Return the history and a warning, never raise."""
        tests: dict[str, Outcomes] = {}
        try:
            with self._locked():
                loaded, warning = self.load()
                tests = dict(loaded)  # what was read stays as read: the run's new tests use it
                self._read = None
                if warning and self.path.exists():
                    os.replace(self.path, self.path.with_suffix(".damaged.json"))
                _count_passes(tests, passed)
                for nodeid, outcome in others:
                    code = _CODES.get(outcome)
                    if code is not None:
                        tests[nodeid] = _appended(tests.get(nodeid, 0), code)
                # One string: the C encoder makes its whole output before anything is written
                # anyway, and written in pieces it costs four writes per test.
                text = json.dumps(
                    {"version": _FORMAT_VERSION, "tests": tests}, separators=(",", ":")
                )
                write_atomically(self.path, text)
                return tests, warning
        except (OSError, TimeoutError) as exc:
            return tests, f"flake history {self.path} was not updated: {exc}"

    def _locked(self) -> _LockFile:
        return _LockFile(self._lock, self._clock)


BROKEN_RUNS = 3
"""A test that failed each of its last this many runs is broken: a failure, not a flake."""
STABLE, FLAKY_STATUS, BROKEN, FAILING = "stable", "flaky", "broken", "failing"
_FAILURE_STREAKS = re.compile("F+")


def status(history: Outcomes, broken_runs: int = BROKEN_RUNS) -> str:
    """What a test's recorded outcomes say it is, newest last.

    - ``broken``: it failed each of its last ``broken_runs`` runs (whatever came before);
    - ``flaky``: not broken, and flaky in a run (failed, then passed on a rerun) or failing in
      two streaks or more with passes between (it fails now and then);
    - ``failing``: it failed its last run, in its only streak, not yet ``broken_runs`` long;
    - ``stable``: only passes, or one streak of failures that ended (broken, then mended).
    """
    spelled = spelled_out(history)
    if len(spelled) >= broken_runs and spelled.endswith("F" * broken_runs):
        return BROKEN
    if "K" in spelled or len(_FAILURE_STREAKS.findall(spelled)) >= 2:
        return FLAKY_STATUS
    return FAILING if spelled.endswith("F") else STABLE


def flake_rate(history: Outcomes) -> FlakeRate:
    """A test's flake rate from its recorded outcomes."""
    spelled = spelled_out(history)
    return FlakeRate(spelled.count("K"), len(spelled), spelled[-10:], spelled)


class _LockFile:
    """An exclusive lock made by creating a file; a lock older than a minute is stale."""

    def __init__(self, path: Path, clock: Callable[[], float]) -> None:
        self.path = path
        self.clock = clock

    def __enter__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = self.clock() + _LOCK_WAIT
        while True:
            try:
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                return
            except FileExistsError:
                try:
                    if self.clock() - self.path.stat().st_mtime > _LOCK_STALE:
                        self.path.unlink(missing_ok=True)
                        continue
                except FileNotFoundError:
                    continue
                if self.clock() > deadline:
                    raise TimeoutError(f"{self.path} is held by another session") from None
                time.sleep(0.05)

    def __exit__(self, *exc_info: object) -> None:
        self.path.unlink(missing_ok=True)


def show_history(config: pytest.Config, session: pytest.Session) -> int:
    """``pytest --atom-gates-history``: the flakiest tests on record, most flaky first."""
    writer = config.get_terminal_writer()
    cache = open_cache(config)
    if cache.folder is None:
        writer.line(
            f"atom-gates: the flake history needs pytest's cache: {cache.problem}"
            if cache.problem
            else "atom-gates: the flake history needs pytest's cache (-p no:cacheprovider is set)"
        )
        return int(pytest.ExitCode.USAGE_ERROR)
    history = FlakeHistory(cache.folder)
    if not history.path.exists():
        writer.sep("=", "atom-gates flake history")
        writer.line(
            "no flake history yet: each run with --atom-gates records its tests' outcomes in "
            f"{history.path}"
        )
        return 0
    tests, warning = history.load()
    if warning:
        writer.line(f"atom-gates: {warning}", yellow=True)
    statuses = {
        nodeid: status(outcomes) for nodeid, outcomes in tests.items() if isinstance(outcomes, str)
    }
    rates = sorted(
        (
            (nodeid, flake_rate(tests[nodeid]))
            for nodeid, kind in statuses.items()
            if kind == FLAKY_STATUS
        ),
        key=lambda pair: (-pair[1].flaky / pair[1].runs, -pair[1].flaky, pair[0]),
    )
    broken = sorted(nodeid for nodeid, kind in statuses.items() if kind == BROKEN)
    writer.sep("=", "atom-gates flake history")
    writer.line(
        f"{history.path}: {len(tests)} tests recorded; in their last {KEEP} runs {len(rates)} "
        f"flaky, {len(broken)} broken (failed each of their last {BROKEN_RUNS} runs)"
    )
    limit = None if config.option.verbose > 0 else 20
    if rates:
        writer.line("")
        writer.line(f"{'flaky':>6} {'runs':>5} {'rate':>7}  recent      test")
        for nodeid, rate in rates[:limit]:
            writer.line(
                f"{rate.flaky:>6} {rate.runs:>5} {rate.flaky / rate.runs:>7.1%}  "
                f"{rate.recent:<10}  {one_line(nodeid)}"
            )
        if limit is not None and len(rates) > limit:
            writer.line(f"... and {len(rates) - limit} more (-v lists all)")
    if broken:
        writer.line("")
        writer.line(f"broken, not flaky ({len(broken)}):")
        for nodeid in broken[:limit]:
            writer.line(f"  {flake_rate(tests[nodeid]).recent:<10}  {one_line(nodeid)}")
        if limit is not None and len(broken) > limit:
            writer.line(f"... and {len(broken) - limit} more (-v lists all)")
    legend = "recent: the last outcomes, newest last: P passed, K flaky, F failed"
    if rates:
        legend = f"flaky: flaky in a run, or failing now and then; {legend}"
    if rates or broken:
        writer.line("")
        writer.line(legend)
    return 0
