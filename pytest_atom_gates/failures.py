"""The whole failure of an attempt, as the JSON report and the page keep it.

pytest's own rendering of the failure (assertion rewriting's compared values included, in the
``--tb`` style of the run), where it failed (pytest's ``reprcrash``: file and line, and the
function of that frame), and what the test printed and logged up to the failing phase. Each
text is cut at a documented size, and secret-looking values are hidden as everywhere else. Only
failed attempts and collection errors carry one: a passing test costs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_atom_gates.invocation import hide_secrets

TRACEBACK_LIMIT = 20_000
"""Characters of one attempt's traceback kept; a longer one loses its middle."""
OUTPUT_LIMIT = 10_000
"""Characters kept of each captured stream (stdout, stderr, log) of one attempt."""

CRASH_ATTRIBUTE = "atom_gates_crash"
"""Set on a failed report by the process that made it: the exception's class and the failing
frame's function, which pytest's ``reprcrash`` does not name (its message drops the class of a
plain ``assert``), and the threads started since the attempt began and still alive. A list,
so it travels with the report under pytest-xdist."""

_EXCEPTION_NAME = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed attempt (or collection error) as pytest showed it."""

    exception: str | None
    """The exception's class, as pytest names it (``AssertionError``, ``mod.AppError``)."""
    message: str
    """The exception's text, with assertion rewriting's comparison (``assert 200.0 == 180.0``)."""
    path: str | None
    line: int | None
    function: str | None
    traceback: str
    """pytest's long representation of the failure, in the run's ``--tb`` style."""
    stdout: str = ""
    stderr: str = ""
    log: str = ""
    threads: int = 0
    """Threads alive when it failed that were not when the attempt began."""
    cut: tuple[str, ...] = ()
    """The fields cut at their limit."""
    exception_bases: tuple[str, ...] = ()
    """The names of the exception's base classes, nearest first (``ConnectionRefusedError``,
    ``ConnectionError``, ``OSError``), without ``Exception`` and above."""

    def size(self) -> int:
        return sum(map(len, (self.message, self.traceback, self.stdout, self.stderr, self.log)))

    def record(self) -> dict[str, Any]:
        """As the report's schema gives it (``$defs/failure``)."""
        return {
            "exception": self.exception,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "function": self.function,
            "traceback": self.traceback,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "log": self.log,
            "threads": self.threads,
            "cut": list(self.cut),
            "exception_bases": list(self.exception_bases),
        }


def failure_of(report: pytest.TestReport | pytest.CollectReport) -> Failure:
    """The failure a failed report shows, cut and with its secrets hidden."""
    crash = getattr(report.longrepr, "reprcrash", None)
    message = str(getattr(crash, "message", "") or "") if crash is not None else ""
    named = _EXCEPTION_NAME.match(message)
    facts = getattr(report, CRASH_ATTRIBUTE, None) or (named.group(1) if named else None, None)
    exception, function, *rest = facts
    threads = rest[0] if rest and isinstance(rest[0], int) else 0
    bases = rest[1] if len(rest) > 1 and isinstance(rest[1], list) else []
    texts = {
        "message": (message, OUTPUT_LIMIT),
        # Not ``longreprtext``: under pytest-xdist it begins with the worker's platform line.
        "traceback": ("" if report.longrepr is None else str(report.longrepr), TRACEBACK_LIMIT),
        "stdout": (report.capstdout, OUTPUT_LIMIT),
        "stderr": (report.capstderr, OUTPUT_LIMIT),
        "log": (report.caplog, OUTPUT_LIMIT),
    }
    kept = {name: _shown(text, limit) for name, (text, limit) in texts.items()}
    return Failure(
        exception=exception,
        path=_text_or_none(getattr(crash, "path", None)),
        line=_int_or_none(getattr(crash, "lineno", None)),
        function=function,
        threads=threads,
        exception_bases=tuple(str(name) for name in bases),
        cut=tuple(name for name, (text, limit) in texts.items() if len(text) > limit),
        **kept,
    )


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _shown(text: str, limit: int) -> str:
    """``text`` with its secrets hidden; past ``limit``, its beginning and its end (where a
    traceback says what failed), with a note of how much was cut between them. A lone
    surrogate (an undecodable file name, say) is kept as its escape, so every output can
    write it."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(text) <= limit:
        return hide_secrets(text)
    head = limit // 4
    tail = limit - head
    return (
        f"{hide_secrets(text[:head])}\n[... {len(text) - limit} characters cut ...]\n"
        f"{hide_secrets(text[-tail:])}"
    )


def crash_facts(
    excinfo: pytest.ExceptionInfo[BaseException], crash: Any, threads: int
) -> list[str | int | list[str] | None]:
    """The exception's class, the function of the frame pytest's ``reprcrash`` points at, the
    threads started since the attempt began and still alive, and the names of the exception's
    base classes (``CRASH_ATTRIBUTE``)."""
    function = None
    if crash is not None:
        for entry in reversed(excinfo.traceback):
            if str(entry.path) == str(crash.path) and entry.lineno + 1 == crash.lineno:
                function = entry.name
                break
    bases = [
        cls.__name__
        for cls in type(excinfo.value).__mro__[1:]
        if cls not in (Exception, BaseException, object)
    ]
    return [excinfo.typename, function, max(0, threads), bases]
