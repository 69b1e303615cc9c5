"""From each process's data to the figures TQ-05 judges, computed as ``coverage report`` does.

The controller writes every process's data as a parallel data file under the session's own base
name, lets coverage.py combine them with the data files of the subprocesses it measured, and
copies the result to where the configuration says. The figures come from coverage.py's own
report over that data, so ``coverage report`` afterwards prints the same total.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from pytest_atom_gates.cov.facts import (
    CoverageFacts,
    Figures,
    FileFigures,
    PackageResult,
    ProcessResult,
)
from pytest_atom_gates.cov.imported_early import measure_imports, unmeasured_note
from pytest_atom_gates.cov.measure import (
    MEASURED_BY_PYTEST_COV,
    SESSION_MARK,
    MeasuredFromOutside,
    Measurement,
    OwnTracer,
    coverage_errors,
    coverage_warnings,
    parallel_data_files,
)
from pytest_atom_gates.cov.patch import judge_patch
from pytest_atom_gates.cov.places import locate, within
from pytest_atom_gates.cov.reports import write_reports
from pytest_atom_gates.ledger import MAIN_PROCESS
from pytest_atom_gates.run import RUN_KEY
from pytest_atom_gates.settings import Settings

if TYPE_CHECKING:
    import coverage

    from pytest_atom_gates.changes import ChangedLines


@contextmanager
def in_directory(path: Path) -> Iterator[None]:
    """Work from ``path``: coverage.py resolves its configuration and file names against the
    current directory, and a test may have left the process elsewhere."""
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def configured_sources(cov: coverage.Coverage) -> tuple[str, ...]:
    """What the configuration measures: ``source``, ``source_pkgs`` and ``source_dirs``."""
    from coverage.exceptions import ConfigError

    found: list[str] = []
    for option in ("run:source", "run:source_pkgs", "run:source_dirs"):
        try:
            found += cast("list[str]", cov.get_option(option) or [])
        except ConfigError:  # source_dirs is new in coverage.py 7.8
            continue
    return tuple(dict.fromkeys(found))


def _subprocess_data_files(tracer: OwnTracer) -> list[Path]:
    """The data files this session's measured subprocesses left.

    Under ``[run] patch = subprocess`` they carry the session's base name. Subprocesses started
    by ``COVERAGE_PROCESS_START`` (coverage.py before 7.10) read the configured name instead;
    those that appeared during the run are taken, other sessions' base names excepted.
    """
    found = parallel_data_files(tracer.session_data)
    if os.environ.get("COVERAGE_PROCESS_START"):
        found += [
            path
            for path in parallel_data_files(tracer.data_file)
            if path not in tracer.earlier_data_files and SESSION_MARK not in path.name
        ]
    return found


def _publish(session_file: Path, data_file: Path) -> None:
    """Put the combined data where the configuration says, whole: a session finishing at the
    same moment in the same directory replaces it, never half-writes it."""
    partial = session_file.with_name(f"{session_file.name}.tmp")
    try:
        shutil.copyfile(session_file, partial)
        os.replace(partial, data_file)
    except BaseException:  # an immutable data file, say: no temporary file left behind
        partial.unlink(missing_ok=True)
        raise


def _unmatched(sources: Sequence[str], measured: Sequence[str], start_dir: Path) -> list[str]:
    files = [Path(name).resolve() for name in measured]
    unmatched = []
    for source in sources:
        place = locate(source, start_dir)
        if place is None or not any(within(path, place) for path in files):
            unmatched.append(source)
    return unmatched


def shadowed_sources(sources: Sequence[str], start_dir: Path) -> list[str]:
    """Why a ``[run] source`` folder may have measured nothing: a package of the same name ran
    from somewhere else (an installed wheel under tox), and coverage.py measured the folder."""
    notes = []
    for source in sources:
        folder = (start_dir / source).resolve()
        origin = getattr(sys.modules.get(source), "__file__", None)
        if folder.is_dir() and origin and not within(Path(origin).resolve(), folder):
            notes.append(
                f"source {source!r} is the folder {folder}, but the package {source} ran from "
                f"{Path(origin).parent}; measure it with [run] source_pkgs (and [paths]), or "
                "install it in editable mode"
            )
    return notes


def _figures(summary: dict[str, Any]) -> Figures:
    return Figures(
        statements=int(summary["num_statements"]),
        missing=int(summary["missing_lines"]),
        excluded=int(summary["excluded_lines"]),
        branches=int(summary.get("num_branches", 0)),
        partial_branches=int(summary.get("num_partial_branches", 0)),
        missing_branches=int(summary.get("missing_branches", 0)),
        percent=float(summary["percent_covered"]),
    )


def analyze(
    cov: coverage.Coverage,
    facts: CoverageFacts,
    start_dir: Path,
    change: ChangedLines | None = None,
) -> None:
    """Totals and per-file figures from coverage.py's JSON report of ``cov``'s data.

    One pass over the files, the same pass ``coverage report`` makes: the JSON total is the
    very float the text report prints, with the same files, ``omit`` and ``include``.
    """
    from coverage.exceptions import NoDataError

    facts.precision = cast(int, cov.get_option("report:precision"))
    fail_under = float(cast(float, cov.get_option("report:fail_under")) or 0)
    if fail_under > 0:
        config_file = getattr(cov.config, "config_file", None)
        where = f" in {Path(config_file).name}" if config_file else ""
        facts.user_minimums.append((Decimal(repr(fail_under)), f"[report] fail_under{where}"))
    measured = sorted(cov.get_data().measured_files())
    facts.unmatched_sources = _unmatched(facts.sources, measured, start_dir)
    with tempfile.TemporaryDirectory(prefix="atom-gates-cov-") as folder:
        out = Path(folder) / "coverage.json"
        try:
            cov.json_report(outfile=str(out))
        except NoDataError:
            facts.no_data = "no coverage data was collected"
            return
        except coverage_errors() as exc:
            facts.no_data = f"coverage.py could not report on the data: {exc}"
            return
        report = json.loads(out.read_text(encoding="utf-8"))
    facts.totals = _figures(report["totals"])
    facts.files = [
        FileFigures(name, _figures(entry["summary"])) for name, entry in report["files"].items()
    ]
    if change is not None:
        facts.patch = judge_patch(cov, change, report["files"], start_dir)


def package_results(
    facts: CoverageFacts, minimums: Sequence[tuple[str, Decimal]], start_dir: Path
) -> list[PackageResult]:
    """The figures of each package that has a minimum of its own."""
    results = []
    for package, minimum in minimums:
        place = locate(package, start_dir)
        if place is None:
            results.append(PackageResult(package, minimum, None, 0, "not found"))
            continue
        inside = [f.figures for f in facts.files if within((start_dir / f.path).resolve(), place)]
        if not inside:
            results.append(PackageResult(package, minimum, None, 0, "no measured files"))
            continue
        results.append(PackageResult(package, minimum, Figures.add(inside), len(inside)))
    return results


def _figures_and_reports(
    cov: coverage.Coverage,
    settings: Settings,
    facts: CoverageFacts,
    start_dir: Path,
    change: ChangedLines | None,
) -> None:
    analyze(cov, facts, start_dir, change)
    facts.packages = package_results(facts, settings.min_coverage_per_package, start_dir)
    write_reports(cov, settings.coverage_reports, facts)


def _note_processes(facts: CoverageFacts, results: Sequence[ProcessResult]) -> None:
    problems: dict[str, list[str]] = {}
    for result in results:
        if result.core:
            facts.cores[result.process] = result.core
        if result.core_note and result.core_note not in facts.core_notes:
            facts.core_notes.append(result.core_note)
        if result.problem:
            problems.setdefault(result.problem, []).append(result.process)
        facts.warnings += [w for w in result.warnings if w not in facts.warnings]
    for problem, processes in problems.items():
        where = "" if processes == [MAIN_PROCESS] else f" (in {', '.join(processes)})"
        facts.problems.append(problem + where)


def build_facts(
    config: pytest.Config,
    measurement: Measurement,
    settings: Settings,
    results: Sequence[ProcessResult],
    missing: Sequence[str],
) -> CoverageFacts:
    """Combine what the processes measured and compute the figures; never raises for data."""
    facts = CoverageFacts(
        measured_by=measurement.measured_by,
        sources=settings.coverage_sources,
        missing_workers=list(missing),
    )
    _note_processes(facts, results)
    run = config.stash.get(RUN_KEY, None)
    change = None if run is None else run.change
    if isinstance(measurement, OwnTracer):
        _combine_own(measurement, settings, results, facts, change)
    elif isinstance(measurement, MeasuredFromOutside):
        _read_outside(measurement, settings, results, facts, change)
    elif facts.measured_by == MEASURED_BY_PYTEST_COV:
        _read_pytest_cov(config, settings, facts, change)
    return facts


def _combine_own(
    tracer: OwnTracer,
    settings: Settings,
    results: Sequence[ProcessResult],
    facts: CoverageFacts,
    change: ChangedLines | None,
) -> None:
    import coverage
    from coverage.data import CoverageData

    facts.sources = configured_sources(tracer.cov)
    named = cast("list[str]", tracer.cov.get_option("run:source") or [])
    facts.shadowed_sources = shadowed_sources(named, tracer.start_dir)
    facts.data_file = str(tracer.data_file)
    facts.root = str(tracer.start_dir)
    session_file = tracer.session_data
    with in_directory(tracer.start_dir), coverage_warnings(facts.warnings):
        if tracer.imported_early:
            problem = measure_imports(tracer.cov, tracer.imported_early, tracer.start_dir)
            if problem:
                note = unmeasured_note(tracer.imported_early, problem)
                facts.unmeasured_imports = note
                facts.warnings.append(note)
        data_paths = _subprocess_data_files(tracer)
        for result in results:
            if result.data is not None:
                data = CoverageData(basename=str(session_file), suffix=result.process)
                data.loads(result.data)
                data_paths.append(Path(data.data_filename()))
        cov = coverage.Coverage(
            data_file=str(session_file), source=list(settings.coverage_sources) or None
        )
        try:
            cov.combine([str(path) for path in data_paths], keep=False)
            cov.save()
            _publish(session_file, tracer.data_file)
        except coverage_errors() as exc:
            facts.no_data = f"coverage.py could not combine the data: {exc}"
            return
        except OSError as exc:  # the figures stand; only the copy for later tools is missing
            facts.warnings.append(f"could not save the combined data as {tracer.data_file}: {exc}")
        _figures_and_reports(cov, settings, facts, tracer.start_dir, change)
        _forget(cov, session_file)


def _forget(cov: coverage.Coverage, session_file: Path) -> None:
    """Remove the session's combined file once its copy is published and the reports read it."""
    close = getattr(cov.get_data(), "close", None)  # coverage.py 7.6 and newer
    if close is not None:
        close(force=True)
    with contextlib.suppress(OSError):
        session_file.unlink()


def _read_outside(
    measurement: MeasuredFromOutside,
    settings: Settings,
    results: Sequence[ProcessResult],
    facts: CoverageFacts,
    change: ChangedLines | None,
) -> None:
    """``coverage run`` measures this process: its data so far, with what xdist workers sent,
    is the run's. The data joins the outside measurement, which saves it when the process ends."""
    from coverage.data import CoverageData

    cov = measurement.cov
    facts.sources = configured_sources(cov)
    facts.data_file = str(measurement.start_dir / str(cov.get_option("run:data_file")))
    facts.root = str(measurement.start_dir)
    with in_directory(measurement.start_dir), coverage_warnings(facts.warnings):
        try:
            data = cov.get_data()  # what was traced so far, flushed into the data
            for result in results:
                if result.data is not None:
                    sent = CoverageData(no_disk=True)
                    sent.loads(result.data)
                    data.update(sent)
        except coverage_errors() as exc:
            facts.no_data = f"coverage.py could not combine the data: {exc}"
            return
        _figures_and_reports(cov, settings, facts, measurement.start_dir, change)


def _read_pytest_cov(
    config: pytest.Config,
    settings: Settings,
    facts: CoverageFacts,
    change: ChangedLines | None,
) -> None:
    """pytest-cov combined its data already; read its coverage object, never a second tracer."""
    plugin = config.pluginmanager.getplugin("_cov")
    controller = getattr(plugin, "cov_controller", None)
    cov = getattr(controller, "cov", None)
    if cov is None:
        facts.no_data = "pytest-cov was active but kept no coverage data"
        return
    start_dir = Path(getattr(controller, "topdir", None) or config.invocation_params.dir)
    facts.sources = configured_sources(cov)
    facts.data_file = str(start_dir / str(cov.get_option("run:data_file")))
    facts.root = str(start_dir)
    fail_under = config.getoption("cov_fail_under", None)
    if fail_under:
        facts.user_minimums.append((Decimal(repr(float(fail_under))), "--cov-fail-under"))
    with in_directory(start_dir), coverage_warnings(facts.warnings):
        _figures_and_reports(cov, settings, facts, start_dir, change)
