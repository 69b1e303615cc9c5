"""Coverage reports on request (``--atom-gates-cov-report``), written from the combined data."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_atom_gates.cov.facts import CoverageFacts
from pytest_atom_gates.cov.measure import coverage_errors
from pytest_atom_gates.reporting.atomic import check_writable, display_path
from pytest_atom_gates.settings import CoverageReport

if TYPE_CHECKING:
    import coverage

_DEFAULT_OUTPUT = {
    "xml": "xml:output",
    "json": "json:output",
    "lcov": "lcov:output",
    "html": "html:directory",
}
"""Where coverage.py's configuration sends each file report when no path is given."""


def unwritable(reports: Sequence[CoverageReport]) -> str | None:
    """Why one of the requested report paths cannot be written, checked before tests run."""
    for report in reports:
        if report.path is None:
            continue
        target = report.path / "index.html" if report.kind == "html" else report.path
        if report.kind == "html" and report.path.exists() and not report.path.is_dir():
            problem: str | None = "it is not a directory"
        else:
            problem = check_writable(target)
        if problem:
            return f"cannot write the {report.kind} report to {report.path}: {problem}"
    return None


def write_reports(
    cov: coverage.Coverage, reports: Sequence[CoverageReport], facts: CoverageFacts
) -> None:
    """Write each requested report; a report that fails is noted, the others still written."""
    for report in reports:
        path = None if report.path is None else str(report.path)
        try:
            if report.kind in ("term", "term-missing"):
                text = io.StringIO()
                cov.report(file=text, show_missing=report.kind == "term-missing")
                facts.term_report += text.getvalue()
                continue
            if report.kind == "xml":
                cov.xml_report(outfile=path)
            elif report.kind == "json":
                cov.json_report(outfile=path)
            elif report.kind == "lcov":
                cov.lcov_report(outfile=path)
            else:
                cov.html_report(directory=path)
        except coverage_errors() as exc:
            facts.warnings.append(f"could not write the {report.kind} report: {exc}")
            continue
        written = path or str(cov.get_option(_DEFAULT_OUTPUT[report.kind]))
        facts.reports.append(f"{report.kind}: {display_path(Path(written).absolute())}")
