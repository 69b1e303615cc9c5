"""What a flaky test's attempts themselves show: each a fact with its evidence, never a guess.

A test that failed and then passed is flaky; these facts say what differed between its attempts,
as far as the run saw it: what the failed attempt raised and where, against the attempt that
passed; its replay after the tests that ran before it (order); the seed of a failed repetition
(new tests); an attempt much slower than the passing ones, or one that hit a timeout; a
connection, DNS, timeout or file error; threads still alive when it failed. A fact is stated
only where the run measured it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from pytest_atom_gates.attempts import Attempt
from pytest_atom_gates.gates.base import RunFacts
from pytest_atom_gates.gates.determinism import RerunFacts
from pytest_atom_gates.gates.independence import OrderChecks
from pytest_atom_gates.outcomes import FAILED, PASSED

SLOWER = 2.0
"""A failed attempt this many times slower than the passing ones is a fact worth stating..."""
SLOW_ENOUGH = 0.05
"""...when it took at least this many seconds: below, timers and scheduling decide."""

RESOURCE_ERRORS = {
    "connection": (
        "ConnectionError",
        "ConnectionRefusedError",
        "ConnectionResetError",
        "ConnectionAbortedError",
        "BrokenPipeError",
        "RemoteDisconnected",
        "NewConnectionError",
        "MaxRetryError",
        "ConnectError",
        "ProtocolError",
    ),
    "DNS": ("gaierror", "herror", "NameResolutionError"),
    "timeout": (
        "TimeoutError",
        "timeout",
        "Timeout",
        "ReadTimeout",
        "ConnectTimeout",
        "ReadTimeoutError",
        "ConnectTimeoutError",
        "TimeoutException",
    ),
    "file": (
        "FileNotFoundError",
        "FileExistsError",
        "PermissionError",
        "IsADirectoryError",
        "NotADirectoryError",
        "BlockingIOError",
        "OSError",
        "IOError",
    ),
}
"""Exception classes, by name, that say a resource outside the test failed it."""
_PYTEST_TIMEOUT = re.compile(r"Timeout \(?>")
"""pytest-timeout's message: ``Failed: Timeout (>1.0s) from pytest-timeout``."""


def flaky_evidence(facts: RunFacts, nodeid: str, rootdir: Path | None = None) -> list[str]:
    """The facts of a flaky test's attempts, in a fixed order: raised, order, seed, time,
    resource, threads."""
    attempts = facts.ledger.attempts(nodeid)
    failed = [(n, a) for n, a in enumerate(attempts, start=1) if a.outcome == FAILED]
    passed = [(n, a) for n, a in enumerate(attempts, start=1) if a.outcome == PASSED]
    if not failed or not passed:
        return []
    found = [_raised(failed, passed, rootdir)]
    order = _order(facts.extras.get("order_checks"), nodeid)
    if order:
        found.append(order)
    reruns: RerunFacts | None = facts.extras.get("reruns")
    failed_seed = None if reruns is None else reruns.failed_seeds.get(nodeid)
    if failed_seed is not None:
        found.append(
            f"seed: fails with repetition seed {failed_seed}, passes with the session's "
            f"({facts.seed})"
        )
    found += _time(failed, passed)
    found += _resources(failed)
    found += [
        f"threads: {a.failure.threads} thread{'' if a.failure.threads == 1 else 's'} started "
        f"by attempt {n} still alive when it failed"
        for n, a in failed
        if a.failure is not None and a.failure.threads
    ]
    return found


def _raised(
    failed: Sequence[tuple[int, Attempt]],
    passed: Sequence[tuple[int, Attempt]],
    rootdir: Path | None,
) -> str:
    parts = []
    for number, attempt in failed:
        failure = attempt.failure
        what = (failure.exception if failure else None) or attempt.error or "an error"
        where = ""
        if failure is not None and failure.path:
            where = f" at {_shown_path(failure.path, rootdir)}:{failure.line}"
        parts.append(f"attempt {number} raised {what}{where} in {attempt.phase or 'call'}")
    numbers = ", ".join(str(n) for n, _ in passed)
    return f"raised: {'; '.join(parts)}; attempt{'s' if len(passed) > 1 else ''} {numbers} passed"


def _order(checks: OrderChecks | None, nodeid: str) -> str | None:
    if checks is None:
        return None
    replay = next((c for c in checks.flaky_checked if c.nodeid == nodeid), None)
    if replay is not None:
        return f"order: {replay.detail}"
    if nodeid in checks.flaky_unchecked:
        return f"order: not checked ({checks.flaky_reason or 'no replay'})"
    return None


def _time(
    failed: Sequence[tuple[int, Attempt]], passed: Sequence[tuple[int, Attempt]]
) -> list[str]:
    found = []
    typical = sum(a.duration for _, a in passed) / len(passed)
    for number, attempt in failed:
        failure = attempt.failure
        said = (failure.message if failure else attempt.error) or ""
        if _PYTEST_TIMEOUT.search(said):
            found.append(f"time: attempt {number} hit a timeout ({said.splitlines()[0]})")
        elif attempt.duration >= SLOW_ENOUGH and attempt.duration >= SLOWER * typical:
            ratio = attempt.duration / typical if typical > 0 else float("inf")
            found.append(
                f"time: attempt {number} took {ratio:.1f} times as long as the passing ones "
                f"({_duration(attempt.duration)} against {_duration(typical)})"
            )
    return found


def _resources(failed: Sequence[tuple[int, Attempt]]) -> list[str]:
    found = []
    for number, attempt in failed:
        failure = attempt.failure
        if failure is None or failure.exception is None:
            continue
        # The nearest class that names a resource: a library's own ConnectionError (an
        # OSError too) is a connection error, not a file error.
        kind = next(
            (
                k
                for name in (failure.exception, *failure.exception_bases)
                for k, names in RESOURCE_ERRORS.items()
                if name in names
            ),
            None,
        )
        if kind is not None:
            found.append(f"resource: attempt {number} raised {failure.exception}, a {kind} error")
    return found


def _duration(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.1f} ms"


def _shown_path(path: str, rootdir: Path | None) -> str:
    if rootdir is None:
        return path
    try:
        return os.path.relpath(path, rootdir) if Path(path).is_relative_to(rootdir) else path
    except ValueError:  # another drive on Windows
        return path
