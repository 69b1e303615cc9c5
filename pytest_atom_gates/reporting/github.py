"""GitHub Actions: a Markdown summary on the job's page and annotations in the log.

Registered on the controller only, and only when ``GITHUB_ACTIONS=true``. The summary is appended
to the file ``GITHUB_STEP_SUMMARY`` names, as every step does; annotations are workflow commands
(``::error ...::message``) printed at the end of the terminal summary. Neither can fail the run: a
missing variable or an unwritable file is said once, on one line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_atom_gates.cov.patch import ranges, spans, uncovered_places
from pytest_atom_gates.cov.patch_gate import PATCH_GATE
from pytest_atom_gates.flaky_evidence import flaky_evidence
from pytest_atom_gates.gates.base import GateVerdict, RunFacts, Verdict
from pytest_atom_gates.gates.independence import OrderChecks
from pytest_atom_gates.ledger import RERUN
from pytest_atom_gates.outcomes import FAILED, FLAKY, NOT_RUN
from pytest_atom_gates.reporting import (
    attempts_text,
    failures_heading,
    failures_tolerated,
    one_line,
    order_dependence_text,
    verdict_label,
    verdict_text,
)
from pytest_atom_gates.reporting.atomic import display_path
from pytest_atom_gates.reporting.terminal import closing_line

if TYPE_CHECKING:
    from pytest_atom_gates.run import Judged

SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
WORKSPACE_ENV = "GITHUB_WORKSPACE"

ANNOTATION_LIMIT = 10
"""GitHub shows at most ten error and ten warning annotations per step; more are dropped."""
LIST_LIMIT = 50
"""Entries per list in the step summary."""
DETAIL_LIMIT = 500
"""Characters of one entry's detail (a failure message, say) in the step summary."""
SUMMARY_LIMIT = 1024 * 1024
"""GitHub refuses more than 1 MiB of step summary per step, earlier output of the step included."""

_ICONS = {  # check mark, warning sign, cross mark, minus sign: as emoji on the job page
    Verdict.PASS: "\u2705",
    Verdict.WARN: "\u26a0\ufe0f",
    Verdict.FAIL: "\u274c",
    Verdict.OFF: "\u2796",
    Verdict.DEFERRED: "\u23f3",  # hourglass: judged when the shards are merged
}


# -- workflow commands ----------------------------------------------------------------------------


def escape_data(text: str) -> str:
    """Escape a workflow command's message, as the runner's own toolkit does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value, where ``:`` and ``,`` are separators."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(level: str, message: str, **properties: str | int | None) -> str:
    """``::level key=value,...::message`` with every part escaped."""
    pairs = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in properties.items()
        if value is not None
    )
    return f"::{level}{' ' + pairs if pairs else ''}::{escape_data(message)}"


@dataclass(frozen=True)
class Location:
    """Where an annotation points: a file relative to the repository, and a 1-based line."""

    file: str
    line: int | None


def failure_location(report: pytest.TestReport, rootpath: Path, workspace: Path | None) -> Location:
    """Where it failed: the failing frame (pytest's ``reprcrash``) when that is inside the
    repository, so the annotation shows on the pull request's diff of that file; else (a frame
    in the standard library or an installed package) the test's own ``def`` line."""
    relpath, def_line, _ = report.location
    repository = workspace or rootpath
    path = (rootpath / relpath).resolve()
    line = None if def_line is None else def_line + 1
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        failing = Path(crash.path).resolve()
        installed = "site-packages" in failing.parts or "dist-packages" in failing.parts
        if failing == path or (failing.is_relative_to(repository) and not installed):
            path, line = failing, crash.lineno
    if workspace is not None and path.is_relative_to(workspace):
        return Location(path.relative_to(workspace).as_posix(), line)
    if path.is_relative_to(rootpath):
        return Location(path.relative_to(rootpath).as_posix(), line)
    return Location(Path(relpath).as_posix(), line)


@dataclass(frozen=True)
class Annotation:
    """One annotation: ``error`` or ``warning``, with a title, a message and maybe a place."""

    level: str
    title: str
    message: str
    location: Location | None = None
    end_line: int | None = None
    """The last line of a range the annotation covers (GitHub's ``endLine``)."""

    def command(self) -> str:
        place = self.location
        if place is None:
            return workflow_command(self.level, self.message, title=self.title)
        return workflow_command(
            self.level,
            self.message,
            file=place.file,
            line=place.line,
            endLine=self.end_line,
            title=self.title,
        )


def gate_annotations(verdicts: Sequence[GateVerdict]) -> Iterator[Annotation]:
    for verdict in verdicts:
        if verdict.verdict in (Verdict.FAIL, Verdict.WARN):
            level = "error" if verdict.verdict is Verdict.FAIL else "warning"
            reason = f"\n{verdict.reason}" if verdict.reason else ""
            title = f"atom-gates {verdict.gate} {verdict.name}"
            yield Annotation(level, title, verdict_text(verdict) + reason)


def _test_annotations(
    facts: RunFacts, verdicts: Sequence[GateVerdict], locations: Mapping[str, Location]
) -> Iterator[Annotation]:
    ledger = facts.ledger
    checks: OrderChecks = facts.extras.get("order_checks") or OrderChecks()
    dependent = {c.nodeid: c for c in checks.order_dependent}
    suffix = " (tolerated by TQ-02)" if failures_tolerated(verdicts) else ""
    # Quarantined tests count for no gate; their known failures would only bury the others.
    for nodeid in _counted(facts, FAILED):
        # The whole message: assertion rewriting's compared values are its second line.
        failure = ledger.last_failure(nodeid)
        message = (failure.message if failure else "") or ledger.last_error(nodeid) or "failed"
        check = dependent.get(nodeid)
        if check is not None:
            text = order_dependence_text(check)
            message += f"\norder-dependent: {text}. Reproduce:\n{check.reproduce}"
            if check.brittle:
                message += f"\nPasses:\n{check.passes}"
        yield Annotation("error", f"{nodeid} failed{suffix}", message, locations.get(nodeid))
    for nodeid in _counted(facts, FLAKY):
        text = attempts_text(ledger.attempts(nodeid))
        yield Annotation("warning", f"{nodeid} is flaky", text, locations.get(nodeid))


def _changed_path(path: str, facts: RunFacts, rootpath: Path, workspace: Path | None) -> str:
    """A TQ-06 path (relative to where coverage measured from) as annotations name files."""
    cov = facts.extras.get("coverage")
    absolute = (Path(cov.root) if cov is not None and cov.root else rootpath) / path
    for base in (workspace, rootpath):
        if base is not None and absolute.is_relative_to(base):
            return absolute.relative_to(base).as_posix()
    return path


def patch_annotations(
    facts: RunFacts, verdicts: Sequence[GateVerdict], rootpath: Path, workspace: Path | None
) -> Iterator[Annotation]:
    """One annotation per run of changed lines no test covered (TQ-06), on those lines."""
    verdict = next((v for v in verdicts if v.gate == PATCH_GATE), None)
    cov = facts.extras.get("coverage")
    patch = None if cov is None else cov.patch
    if verdict is None or patch is None or verdict.verdict not in (Verdict.FAIL, Verdict.WARN):
        return
    level = "error" if verdict.verdict is Verdict.FAIL else "warning"
    since = f"changed since {patch.ref}"
    for changed, what in ((patch.files, "not covered by any test"), (patch.unmeasured, None)):
        for file in changed:
            lines = file.missing if what else file.lines
            said = what or "in a file coverage.py never measured"
            for first, last in spans(lines):
                place = Location(_changed_path(file.path, facts, rootpath, workspace), first)
                yield Annotation(
                    level, "atom-gates TQ-06 patch coverage", f"{since}, {said}", place, last
                )


def _counted(facts: RunFacts, outcome: str) -> list[str]:
    """Tests with this final outcome that are not quarantined."""
    return [n for n in facts.ledger.with_outcome(outcome) if n not in facts.quarantined]


def run_annotations(
    facts: RunFacts,
    verdicts: Sequence[GateVerdict],
    locations: Mapping[str, Location],
    places: tuple[Path, Path | None] | None = None,
) -> list[Annotation]:
    """Errors for failed gates and tests, warnings for WARN verdicts and flaky tests, and the
    changed lines TQ-06 found uncovered (``places``: the rootdir and the workspace).

    Gates come first so that GitHub's per-step limit never hides them behind test failures.
    """
    emitted = {"error": 0, "warning": 0}
    chosen = []
    changed = patch_annotations(facts, verdicts, *places) if places is not None else ()
    for annotation in (
        *gate_annotations(verdicts),
        *changed,
        *_test_annotations(facts, verdicts, locations),
    ):
        if emitted[annotation.level] < ANNOTATION_LIMIT:
            emitted[annotation.level] += 1
            chosen.append(annotation)
    return chosen


# -- step summary ---------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return one_line(text.replace("|", "\\|").replace("\n", " "))


def _code(text: str) -> str:
    """Inline code, also for text that holds backticks (parametrized ids may)."""
    text = one_line(text)
    if "`" in text:
        return f"`` {text} ``"
    return f"`{text}`"


def _short(text: str) -> str:
    return text if len(text) <= DETAIL_LIMIT else f"{text[: DETAIL_LIMIT - 3]}..."


def _report_pointer(facts: RunFacts) -> str:
    path = facts.settings.report_path
    where = display_path(path) if path is not None else "(--atom-gates-report=PATH)"
    return f"every entry is in the JSON report {where}"


def _section(title: str, entries: Sequence[str], pointer: str) -> list[str]:
    if not entries:
        return []
    lines = ["", f"#### {title[0].upper()}{title[1:]} ({len(entries)})", ""]
    lines += entries[:LIST_LIMIT]
    if len(entries) > LIST_LIMIT:
        lines.append(f"- ... and {len(entries) - LIST_LIMIT} more: {pointer}")
    return lines


def _capped(lines: Sequence[str], budget: int, pointer: str) -> str:
    """``lines`` as one Markdown text of at most ``budget`` bytes, cut at a whole line."""
    text = "\n".join(lines) + "\n\n"
    if len(text.encode()) <= budget:
        return text
    stop = (
        f"\n\n- ... the summary stops here: GitHub takes at most "
        f"{SUMMARY_LIMIT // (1024 * 1024)} MiB per step. {pointer[0].upper()}{pointer[1:]}\n\n"
    )
    room = budget - len(stop.encode())
    kept: list[str] = []
    for line in lines:
        room -= len(line.encode()) + 1
        if room < 0:
            break
        kept.append(line)
    return "\n".join(kept) + stop if kept else ""


def step_summary(facts: RunFacts, verdicts: Sequence[GateVerdict], budget: int) -> str:
    """The run in Markdown, at most ``budget`` bytes: the gate table, then what a reader acts on.

    Long details are shortened and long lists cut; the JSON report holds everything.
    """
    ledger = facts.ledger
    pointer = _report_pointer(facts)
    heading, _ = closing_line(verdicts, facts.seed)
    lines = [
        f"### {heading}",
        "",
        "| gate | name | verdict | measured | required |",
        "| --- | --- | --- | --- | --- |",
    ]
    for v in verdicts:
        cells = (v.gate, v.name, f"{_ICONS[v.verdict]} {verdict_label(v)}", v.measured, v.required)
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    reasons = [v for v in verdicts if v.reason and v.verdict is not Verdict.OFF]
    if reasons:
        lines.append("")
        lines += [
            f"- **{v.gate} {v.verdict.value}**: {_cell(_short(v.reason or ''))}" for v in reasons
        ]
    if facts.partial_reason:
        lines += ["", f"Partial run: {facts.partial_reason}."]

    def entry(nodeid: str, detail: str | None) -> str:
        return f"- {_code(nodeid)} - {_code(_short(detail))}" if detail else f"- {_code(nodeid)}"

    def section(title: str, entries: Sequence[str]) -> list[str]:
        return _section(title, [one_line(e) for e in entries], pointer)

    lines += section(
        failures_heading(verdicts, facts),
        [entry(n, ledger.last_error(n)) for n in _counted(facts, FAILED)],
    )
    lines += section(
        "tests that did not run", [entry(n, None) for n in ledger.with_outcome(NOT_RUN)]
    )
    lines += section(
        "collection errors",
        [entry(e.nodeid or "session", e.message) for e in ledger.collection_errors],
    )
    lines += section(
        "flaky tests",
        [
            entry(n, attempts_text(ledger.attempts(n)))
            + "".join(f"\n  - {_cell(_short(f))}" for f in flaky_evidence(facts, n, Path.cwd()))
            for n in ledger.with_outcome(FLAKY)
        ],
    )
    lines += section(
        "quarantined tests, counted by no gate",
        [f"{entry(n, ledger.outcome(n))} ({reason})" for n, reason in facts.quarantined.items()],
    )
    cov = facts.extras.get("coverage")
    if cov is not None and cov.patch is not None:
        lines += section(
            f"changed lines not covered (TQ-06, since {cov.patch.ref})",
            [f"- {_code(place)}" for place in uncovered_places(cov.patch)]
            + [
                f"- {_code(f'{f.path}:{span}')} (never measured)"
                for f in cov.patch.unmeasured
                for span in ranges(f.lines)
            ],
        )
    checks: OrderChecks = facts.extras.get("order_checks") or OrderChecks()
    lines += _section(
        "order-dependent tests",
        [
            one_line(f"{entry(c.nodeid, None)} - {order_dependence_text(c)}")
            + f"\n\n  ```sh\n  {one_line(c.reproduce)}\n  ```\n"
            + (f"\n  passes:\n\n  ```sh\n  {one_line(c.passes)}\n  ```\n" if c.brittle else "")
            for c in checks.order_dependent
        ],
        pointer,
    )
    return _capped(lines, budget, pointer)


def summary_budget(file: str) -> int:
    """The bytes left of GitHub's limit once the step's earlier output in ``file`` is counted."""
    try:
        used = os.path.getsize(file) if file else 0
    except OSError:  # missing: nothing written yet; unwritable: append_summary will say so
        used = 0
    return max(SUMMARY_LIMIT - used, 0)


def append_summary(file: str, markdown: str) -> str | None:
    """Append to the step summary file; return why that was not possible, or None."""
    if not file:
        return f"{SUMMARY_ENV} is not set: no step summary written"
    if not markdown:
        return f"the step summary in {file} is full (GitHub's limit): no summary written"
    try:
        with open(file, "a", encoding="utf-8") as stream:
            stream.write(markdown)
    except OSError as exc:
        return f"could not append the step summary to {file}: {exc.strerror or exc}"
    return None


class GitHubReporter:
    """Step summary and annotations of one run, on the controller."""

    def __init__(self, controller: Judged, environ: Mapping[str, str] = os.environ) -> None:
        self.controller = controller
        self.rootpath = controller.config.rootpath
        workspace = environ.get(WORKSPACE_ENV, "").strip()
        self.workspace = Path(workspace).resolve() if workspace else None
        self.summary_file = environ.get(SUMMARY_ENV, "").strip()
        self.locations: dict[str, Location] = {}
        self.problem: str | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Only a failed attempt needs a place; a passing test costs one comparison.
        if report.outcome in ("failed", RERUN) and report.nodeid not in self.locations:
            self.locations[report.nodeid] = failure_location(report, self.rootpath, self.workspace)

    def pytest_sessionfinish(self) -> None:
        # A plain hook: it runs after the controller's sessionfinish made the verdicts.
        facts, verdicts = self.controller.facts, self.controller.verdicts
        if facts is not None and verdicts is not None:
            budget = summary_budget(self.summary_file)
            self.problem = append_summary(self.summary_file, step_summary(facts, verdicts, budget))

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        facts, verdicts = self.controller.facts, self.controller.verdicts
        if facts is None or verdicts is None:
            return
        places = (self.rootpath, self.workspace)
        for annotation in run_annotations(facts, verdicts, self.locations, places):
            terminalreporter.write_line(annotation.command())
        if self.problem:
            terminalreporter.write_line(f"atom-gates: {self.problem}", yellow=True)
