"""The ``atom-gates`` command: what works on reports, never on tests.

``atom-gates merge REPORT...`` judges the reports of N CI shards as one run (also
``python -m pytest_atom_gates merge``). Exit status as for one ``pytest --atom-gates`` run: 0
when every enforced gate passes, 1 when one fails, 4 when the reports cannot be merged or the
command line is wrong (pytest's usage error).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn, TextIO

from pytest_atom_gates import __version__

USAGE_ERROR = 4


class _Parser(argparse.ArgumentParser):
    """A wrong command line is a usage error, exit 4, as it is for pytest."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="atom-gates", description="Work with pytest-atom-gates reports.")
    parser.add_argument("--version", action="version", version=f"pytest-atom-gates {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    merge = commands.add_parser(
        "merge",
        help="judge the reports of N CI shards as one run",
        description="Judge the JSON reports of the N shards of one CI stage "
        "(--atom-gates-shard=K/N) as one run: TQ-02 and TQ-05 over the whole suite, "
        "TQ-03 on the slowest shard.",
    )
    merge.add_argument("reports", nargs="+", metavar="REPORT", help="a shard's JSON report")
    merge.add_argument(
        "-o", "--output", metavar="PATH", help="write the merged JSON report to PATH"
    )
    merge.add_argument(
        "--junitxml", metavar="PATH", help="write a JUnit XML file of every test to PATH"
    )
    merge.add_argument(
        "--durations",
        metavar="PATH",
        help="refresh the durations file that the next shards split by",
    )
    merge.add_argument(
        "--coverage-baseline",
        metavar="PATH",
        help="TQ-05's ratchet over the combined coverage, as --atom-gates-coverage-baseline: "
        "fail when coverage dropped below PATH's figures, else record them there",
    )
    merge.add_argument(
        "--root",
        metavar="DIR",
        default=".",
        help="the checkout the shards' coverage paths are remapped to (default: .)",
    )
    merge.add_argument("-q", "--quiet", action="count", default=0, help="less output")
    merge.add_argument("-v", "--verbose", action="count", default=0, help="more output")
    html = commands.add_parser(
        "html",
        help="render a JSON report as one self-contained HTML page",
        description="Render the JSON report of a run (--atom-gates-report) or of a merge "
        "(atom-gates merge -o) as the page --atom-gates-html writes. Needs the html extra: "
        "pip install 'pytest-atom-gates[html]'.",
    )
    html.add_argument("report", metavar="REPORT", help="a JSON report")
    html.add_argument("-o", "--output", metavar="PATH", required=True, help="the page to write")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "merge":
        return merge_command(args, sys.stdout, os.environ)
    if args.command == "html":
        return html_command(args, sys.stdout)
    raise AssertionError(args.command)  # pragma: no cover (argparse allows no other)


def _fail(message: str, command: str = "merge") -> int:
    sys.stderr.write(f"atom-gates {command}: error: {message}\n")
    return USAGE_ERROR


def html_command(args: argparse.Namespace, out: TextIO) -> int:
    """``atom-gates html REPORT -o PATH``: 0 when the page is written, 4 when it cannot be."""
    from pytest_atom_gates.html.page import HtmlUnavailable, write_page
    from pytest_atom_gates.report import ReportProblem, load

    problem = _unwritable(args.output)
    if problem:
        return _fail(f"--output {args.output}: {problem}", "html")
    try:
        report = load(args.report)
        write_page(Path(args.output), report.raw)
    except ReportProblem as exc:
        accepted = "a JSON report of pytest --atom-gates or atom-gates merge"
        return _fail(f"{exc}. Accepted: {accepted}", "html")
    except HtmlUnavailable as exc:
        return _fail(str(exc), "html")
    except OSError as exc:
        return _fail(f"cannot write {args.output}: {exc}", "html")
    except Exception as exc:  # a report that passed the checks, damaged in a field they skip
        return _fail(f"{args.report}: the page cannot show this report ({exc!r})", "html")
    out.write(f"atom-gates html: wrote {args.output}\n")
    return 0


def merge_command(args: argparse.Namespace, out: TextIO, environ: Any) -> int:
    from pytest_atom_gates.check_progress import LOG_INTERVAL, Ticker
    from pytest_atom_gates.merge import MergeRefused, as_shard, merge
    from pytest_atom_gates.report import ReportProblem, load

    root = Path(args.root).resolve()
    if not root.is_dir():
        return _fail(f"--root {args.root}: not a directory")
    for option in ("output", "junitxml", "durations", "coverage_baseline"):
        problem = _unwritable(getattr(args, option))
        if problem:
            return _fail(f"--{option.replace('_', '-')} {getattr(args, option)}: {problem}")
    verbosity = args.verbose - args.quiet
    reading = _Reading(len(args.reports))
    try:
        # Large inputs take a while: a line at least every 10 s says how far it is.
        with Ticker(lambda: reading.show(out, verbosity), LOG_INTERVAL, "atom-gates-merge"):
            shards = []
            for path in args.reports:
                shards.append(as_shard(load(path)))
                reading.read += 1
            baseline = Path(args.coverage_baseline) if args.coverage_baseline else None
            merged = merge(shards, root, baseline)
    except (ReportProblem, MergeRefused) as exc:
        return _fail(
            f"{exc}. Accepted: the JSON reports (--atom-gates-report) of the shards "
            "of one run, --atom-gates-shard=1/N to N/N, with the same seed, settings "
            "and collection"
        )
    notes = _write_outputs(args, merged, environ)
    _print_summary(merged, out, verbosity, notes)
    return merged.exit_status


class _Reading:
    """How far ``atom-gates merge`` is: shard reports read, then merging."""

    def __init__(self, reports: int) -> None:
        self.reports = reports
        self.read = 0
        self.started = time.monotonic()

    def show(self, out: TextIO, verbosity: int) -> None:
        if verbosity < 0:
            return
        elapsed = time.monotonic() - self.started
        doing = (
            f"merging {self.reports} shards"
            if self.read == self.reports
            else f"read {self.read} of {self.reports} shard reports"
        )
        out.write(f"atom-gates merge: {doing}, {elapsed:.0f} s\n")
        out.flush()


def _unwritable(path: str | None) -> str | None:
    if path is None:
        return None
    from pytest_atom_gates.reporting.atomic import check_writable

    return check_writable(Path(path))


def _write_outputs(args: argparse.Namespace, merged: Any, environ: Any) -> list[str]:
    """Every file the merge was asked for; what could not be written is a note, the verdict
    stands."""
    from pytest_atom_gates.reporting import running_on_github

    notes: list[str] = []
    if args.output:
        notes += _write_json(Path(args.output), merged, environ)
    if args.junitxml:
        from pytest_atom_gates.reporting.junit_file import write_junit

        try:
            write_junit(Path(args.junitxml), merged.facts, merged.verdicts)
        except OSError as exc:
            notes.append(f"could not write the JUnit XML to {args.junitxml}: {exc}")
        else:
            notes.append(f"junit xml: {args.junitxml}")
    if args.durations:
        from pytest_atom_gates.durations import DurationsProblem, write_durations

        try:
            write_durations(Path(args.durations), merged.facts.ledger.durations)
        except (OSError, DurationsProblem) as exc:
            notes.append(f"could not refresh the durations file {args.durations}: {exc}")
        else:
            notes.append(f"durations: {args.durations}")
    if running_on_github(environ):
        notes += _github(merged, environ)
    return notes


def _write_json(path: Path, merged: Any, environ: Any) -> list[str]:
    from pytest_atom_gates.cov.feature import CoverageFeature
    from pytest_atom_gates.reporting import json_report

    facts = merged.facts
    sections: dict[str, Any] = {"merge": merge_section(merged)}
    if "coverage" in facts.extras:
        sections["coverage"] = CoverageFeature(merged.settings, None).report_section(facts)
    sections["determinism"] = _determinism_section(merged)
    problems = merged.assembly.problems
    not_run = facts.ledger.with_outcome("not-run")
    incomplete = (
        problems[0]
        if problems
        else (f"{len(not_run)} selected tests did not run" if not_run else None)
    )
    document = json_report.build_report(
        replace(facts, settings=replace(facts.settings, report_path=path)),
        merged.verdicts,
        exit_status=merged.exit_status,
        incomplete_reason=incomplete,
        environment=_environment(environ),
        extra_sections=sections,
    )
    try:
        json_report.write_report(path, document)
    except OSError as exc:
        return [f"could not write the merged report to {path}: {exc}"]
    return [f"report: {path}"]


def merge_section(merged: Any) -> dict[str, Any]:
    return {
        "shards": [
            {
                "index": shard.index,
                "report": str(shard.report.path),
                "duration": shard.report.duration,
                "tests": len(shard.report.order),
                "exit_status": shard.report.exit_status,
            }
            for shard in merged.assembly.used
        ],
        "problems": list(merged.assembly.problems),
    }


def _determinism_section(merged: Any) -> dict[str, Any]:
    """TQ-04's section over every shard: the flaky tests with the history their shard saw."""
    from pytest_atom_gates.flaky_evidence import flaky_evidence

    facts = merged.facts
    history: dict[str, Any] = {}
    evidence: dict[str, list[str]] = {}
    broken: list[dict[str, Any]] = []
    capped: list[str] = facts.extras["reruns"].capped
    for shard in merged.assembly.used:
        section = shard.report.section("determinism") or {}
        for entry in section.get("flaky", ()):
            history[entry["nodeid"]] = entry.get("history")
            # The shard's own: it saw the test's replay after the tests before it.
            evidence[entry["nodeid"]] = list(entry.get("evidence") or ())
        broken += section.get("broken", ())
    return {
        "reruns": merged.settings.reruns,
        "rerun_delay": merged.settings.rerun_delay,
        "flaky": [
            {
                "nodeid": nodeid,
                "evidence": evidence.get(nodeid) or flaky_evidence(facts, nodeid),
                "history": history.get(nodeid),
            }
            for nodeid in facts.ledger.with_outcome("flaky")
        ],
        "broken": broken,
        "rerun_cap": capped,
        "quarantined": [
            {"nodeid": n, "reason": r, "outcome": facts.ledger.outcome(n)}
            for n, r in facts.quarantined.items()
        ],
        "unused_quarantine_entries": [],
        "history_warning": None,
    }


def _environment(environ: Any) -> dict[str, Any]:
    import pytest

    from pytest_atom_gates.reporting.json_report import ci_name

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": sys.platform,
        "pytest": pytest.__version__,
        "plugins": {},
        "workers": None,
        "ci": ci_name(environ),
    }


def _github(merged: Any, environ: Any) -> list[str]:
    from pytest_atom_gates.reporting.github import (
        SUMMARY_ENV,
        append_summary,
        gate_annotations,
        step_summary,
        summary_budget,
    )

    for annotation in gate_annotations(merged.verdicts):
        print(annotation.command())
    file = environ.get(SUMMARY_ENV, "")
    problem = append_summary(
        file, step_summary(merged.facts, merged.verdicts, summary_budget(file))
    )
    return [problem] if problem else []


_COLOURS = {"red": "31", "green": "32", "yellow": "33", "cyan": "36", "bold": "1"}


def _writer(out: TextIO) -> Any:
    """Lines with pytest's markup keywords; coloured on a terminal, as pytest colours them."""
    from pytest_atom_gates.reporting import one_line

    force = os.environ.get("PY_COLORS") == "1" or bool(os.environ.get("FORCE_COLOR"))
    colour = force or (
        out.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("PY_COLORS") != "0"
    )

    def write(text: str, **markup: bool) -> None:
        codes = [_COLOURS[name] for name, on in markup.items() if on and name in _COLOURS]
        line = one_line(text)
        if colour and codes:
            line = f"\x1b[{';'.join(codes)}m{line}\x1b[0m"
        out.write(line + "\n")

    return write


def _print_summary(merged: Any, out: TextIO, verbosity: int, notes: Sequence[str]) -> None:
    from pytest_atom_gates.cov.feature import CoverageFeature
    from pytest_atom_gates.reporting.terminal import closing_line, render_summary

    write = _writer(out)
    facts = merged.facts
    used = merged.assembly.used
    total = used[0].facts.total
    write(
        f"atom-gates merge: {len(used)} of {total} shards, {len(facts.ledger.nodeids())} tests, "
        f"seed {facts.seed}",
        bold=True,
    )
    if verbosity >= 0:
        for shard in used:
            write(
                f"  shard {shard.index}: {len(shard.report.order)} tests in "
                f"{shard.report.duration:.2f}s, exit {shard.report.exit_status} "
                f"({shard.report.path})"
            )
    feature = CoverageFeature(merged.settings, None)
    render_summary(
        write,
        merged.verdicts,
        facts,
        verbosity,
        lambda w, v: feature.render(w, v, facts),
    )
    for note in notes:
        write(f"atom-gates: {note}", red=note.startswith("could not"))
    text, markup = closing_line(merged.verdicts, facts.seed)
    write(text, **markup)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
