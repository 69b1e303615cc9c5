"""A typed reader of the JSON report (``--atom-gates-report``), for ``atom-gates merge`` and for
tools of the users' own: ``report.load(path)``.

It reads what the schema promises and nothing else; a file that is not such a report raises
``ReportProblem`` naming the file and the field, never a ``KeyError`` from deep inside.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_atom_gates.attempts import Attempt
from pytest_atom_gates.failures import Failure
from pytest_atom_gates.gates.base import GateVerdict, Verdict
from pytest_atom_gates.gates.order_findings import AloneCheck
from pytest_atom_gates.ledger import OUTCOMES, CollectionError
from pytest_atom_gates.outcomes import FAILED
from pytest_atom_gates.settings import GateMode


class ReportProblem(Exception):
    """The file is not a report this version can read; the message says which file and why."""


@dataclass(frozen=True)
class TestEntry:
    """One test as the report gives it: its final outcome and every attempt."""

    nodeid: str
    outcome: str
    attempts: tuple[Attempt, ...]

    __test__ = False  # not a test class, despite the name


@dataclass(frozen=True)
class Report:
    """The facts a report records, typed; ``raw`` keeps the whole document."""

    path: Path
    schema_version: int
    tool_version: str
    seed: int
    complete: bool
    exit_status: int
    settings: Mapping[str, Any]
    duration: float
    partial: str | None
    interrupted: str | None
    stopped_early: str | None
    order: tuple[str, ...]
    tests: tuple[TestEntry, ...]
    collection_errors: tuple[CollectionError, ...]
    failures_left_out: int
    order_checks: tuple[AloneCheck, ...]
    verdicts: tuple[GateVerdict, ...]
    raw: Mapping[str, Any] = field(repr=False)

    def section(self, name: str) -> Mapping[str, Any] | None:
        """An optional section (``coverage``, ``determinism``, ``shard``), when present."""
        value = self.raw.get(name)
        return value if isinstance(value, Mapping) else None

    def verdict(self, gate: str) -> GateVerdict | None:
        return next((v for v in self.verdicts if v.gate == gate), None)


SUPPORTED_SCHEMAS = (3, 4)
"""Schema 4 added each failure's whole detail (``failure``); schema 3 reads without it."""


def load(path: str | Path) -> Report:
    """Read the report at ``path``. Raises ``ReportProblem``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportProblem(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportProblem(f"{path}: cannot be read ({exc})") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ReportProblem(f"{path}: not JSON ({exc})") from None
    return parse(document, path)


def parse(document: Any, path: Path) -> Report:
    """The report in an already loaded JSON document. Raises ``ReportProblem``."""
    reader = _Reader(path)
    top = reader.mapping(document, "the document")
    if "schema_version" not in top or "tool" not in top:
        raise ReportProblem(f"{path}: not a pytest-atom-gates report (no schema_version or tool)")
    version = reader.get(top, "schema_version", int)
    if version not in SUPPORTED_SCHEMAS:
        raise ReportProblem(
            f"{path}: report schema {version}; this version reads schemas "
            f"{', '.join(map(str, SUPPORTED_SCHEMAS))}"
        )
    run = reader.get(top, "run", Mapping)
    return Report(
        path=path,
        schema_version=version,
        tool_version=reader.get(reader.get(top, "tool", Mapping), "version", str),
        seed=reader.get(top, "seed", int),
        complete=reader.get(top, "complete", bool),
        exit_status=reader.get(top, "exit_status", int),
        settings=reader.get(top, "settings", Mapping),
        duration=float(reader.get(run, "duration", (int, float))),
        partial=reader.optional(run, "partial", str),
        interrupted=reader.optional(run, "interrupted", str),
        stopped_early=reader.optional(run, "stopped_early", str),
        order=tuple(reader.strings(top, "order")),
        tests=tuple(reader.test(entry) for entry in reader.get(top, "tests", list)),
        collection_errors=tuple(
            CollectionError(
                reader.get(e, "nodeid", str),
                reader.get(e, "message", str),
                reader.failure(reader.optional(e, "failure", Mapping)),
            )
            for e in reader.get(top, "collection_errors", list)
        ),
        failures_left_out=reader.optional(top, "failures_left_out", int) or 0,
        order_checks=tuple(reader.order_check(c) for c in reader.get(top, "order_checks", list)),
        verdicts=tuple(reader.verdict(v) for v in reader.get(top, "verdicts", list)),
        raw=top,
    )


class _Reader:
    """Typed field access that names the field it could not read."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, what: str) -> ReportProblem:
        return ReportProblem(f"{self.path}: {what}")

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(f"{where} is not an object")
        return value

    def get(self, obj: Any, key: str, kind: Any) -> Any:
        obj = self.mapping(obj, f"the parent of {key!r}")
        if key not in obj:
            raise self.fail(f"field {key!r} is missing")
        value = obj[key]
        numeric = kind in (int, float) or kind == (int, float)
        if not isinstance(value, kind) or (numeric and isinstance(value, bool)):
            raise self.fail(f"field {key!r} has the wrong type ({type(value).__name__})")
        return value

    def optional(self, obj: Any, key: str, kind: Any) -> Any:
        value = self.mapping(obj, f"the parent of {key!r}").get(key)
        return None if value is None else self.get(obj, key, kind)

    def strings(self, obj: Any, key: str) -> Sequence[str]:
        values: list[Any] = self.get(obj, key, list)
        if not all(isinstance(v, str) for v in values):
            raise self.fail(f"field {key!r} holds something other than strings")
        return values

    def optional_strings(self, obj: Any, key: str) -> tuple[str, ...] | None:
        if self.mapping(obj, f"the parent of {key!r}").get(key) is None:
            return None
        return tuple(self.strings(obj, key))

    def test(self, entry: Any) -> TestEntry:
        outcome = self.get(entry, "outcome", str)
        if outcome not in OUTCOMES:
            raise self.fail(f"test outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
        attempts = tuple(
            Attempt(
                self.get(a, "outcome", str),
                float(self.get(a, "duration", (int, float))),
                self.optional(a, "phase", str),
                self.optional(a, "error", str),
                self.optional(a, "worker", str),
                self.failure(self.optional(a, "failure", Mapping)),
            )
            for a in self.get(entry, "attempts", list)
        )
        return TestEntry(self.get(entry, "nodeid", str), outcome, attempts)

    def failure(self, record: Mapping[str, Any] | None) -> Failure | None:
        if record is None:
            return None
        return Failure(
            exception=self.optional(record, "exception", str),
            message=self.get(record, "message", str),
            path=self.optional(record, "path", str),
            line=self.optional(record, "line", int),
            function=self.optional(record, "function", str),
            traceback=self.get(record, "traceback", str),
            stdout=self.get(record, "stdout", str),
            stderr=self.get(record, "stderr", str),
            log=self.get(record, "log", str),
            threads=self.optional(record, "threads", int) or 0,
            cut=tuple(self.strings(record, "cut")),
            exception_bases=self.optional_strings(record, "exception_bases") or (),
        )

    def order_check(self, record: Any) -> AloneCheck:
        search = self.optional(record, "search", Mapping)
        return AloneCheck(
            nodeid=self.get(record, "nodeid", str),
            result=self.get(record, "result", str),
            detail=self.get(record, "detail", str),
            ran_before=tuple(self.strings(record, "ran_before")),
            reproduce=self.optional(record, "reproduce", str) or "",
            polluters=tuple(self.strings(record, "polluters")),
            search=None if search is None else self.get(search, "result", str),
            search_runs=0 if search is None else self.get(search, "runs", int),
            search_detail="" if search is None else self.get(search, "detail", str),
            brittle=bool(self.optional(record, "brittle", bool)),
            passes=self.optional(record, "passes", str) or "",
            origin=self.optional(record, "origin", str) or FAILED,
            confirmations=0 if search is None else self.optional(search, "confirmations", int) or 0,
            state_changes=self.optional_strings(record, "state_changes"),
            state_after_victim=self.optional_strings(record, "state_after_victim"),
        )

    def verdict(self, record: Any) -> GateVerdict:
        try:
            verdict = Verdict(self.get(record, "verdict", str))
            mode = GateMode(self.get(record, "mode", str))
        except ValueError as exc:
            raise self.fail(f"a verdict: {exc}") from None
        return GateVerdict(
            gate=self.get(record, "gate", str),
            verdict=verdict,
            measured=self.get(record, "measured", str),
            required=self.get(record, "required", str),
            reason=self.optional(record, "reason", str),
            mode=mode,
            data=self.get(record, "data", Mapping),
            title=self.get(record, "name", str),
        )


def order_check(record: Any, path: Path = Path("<report>")) -> AloneCheck:
    """One entry of a report's ``order_checks``, typed. Raises ``ReportProblem``."""
    return _Reader(path).order_check(record)
