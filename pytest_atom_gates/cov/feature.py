"""TQ-05 in a run: the engine for this process's role, then the header, report and summary."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_atom_gates.cov.gate import (
    FACTS_KEY,
    CoverageGate,
    describe_measurement,
    package_judgement,
    required_minimum,
    shown_percent,
)
from pytest_atom_gates.cov.measure import GATE, MEASUREMENT_KEY
from pytest_atom_gates.cov.patch_gate import PatchCoverageFeature
from pytest_atom_gates.features import Writer
from pytest_atom_gates.gates.base import Gate, RunFacts
from pytest_atom_gates.gates.numbers import format_threshold
from pytest_atom_gates.reporting.atomic import display_path
from pytest_atom_gates.run import is_xdist_controller, is_xdist_worker
from pytest_atom_gates.settings import SPEC_BY_NAME, GateMode, Settings, setting_source

# The engine, the baseline and the reports are imported where coverage is measured: a run with
# TQ-05 off pays for none of them.
if TYPE_CHECKING:
    from pytest_atom_gates.cov.engine import Engine
    from pytest_atom_gates.cov.facts import CoverageFacts
    from pytest_atom_gates.extension import GateRegistry

_LOADED_LATE = (
    "coverage was not measured: pytest-atom-gates was loaded after pytest started up (from a "
    "conftest's pytest_plugins?); install it, or load it with -p pytest_atom_gates.plugin"
)


class CoverageFeature:
    """TQ-05's gate, its facts at the end of the run, and how they are shown."""

    name = FACTS_KEY

    def __init__(
        self,
        settings: Settings,
        engine: Engine | None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.environment = dict(os.environ) if environment is None else environment
        """The environment the session started with: coverage.py reads its own variables."""
        self.gate: Gate = CoverageGate()
        self.changed_files: tuple[str, ...] = ()
        """Files the change touches, as absolute paths: the ratchet excuses their drops."""

    def header(self) -> str:
        mode = self.settings.mode(GATE)
        suffix = "" if mode is GateMode.ENFORCE else f" ({mode.value})"
        return f"{GATE} coverage >= {format_threshold(self.settings.min_coverage)}{suffix}"

    def contribute(self, facts: RunFacts) -> None:
        if self.engine is not None:
            with _as_the_session_started(self.environment) as changed:
                cov = facts.extras[FACTS_KEY] = self.engine.finish()
            cov.warnings += [
                f"a test changed {name} during the run: coverage.py was given the value the "
                "session started with"
                for name in changed
            ]
            if self.settings.coverage_baseline is not None:
                ratchet(cov, self.settings, facts, self.changed_files)
        elif self.settings.mode(GATE) is not GateMode.OFF:
            from pytest_atom_gates.cov.facts import CoverageFacts

            facts.extras[FACTS_KEY] = CoverageFacts(None, (), problems=[_LOADED_LATE])

    def report_section(self, facts: RunFacts) -> Mapping[str, Any]:
        cov: CoverageFacts | None = facts.extras.get(FACTS_KEY)
        section: dict[str, Any] = {
            "measured_by": None,
            "core": None,
            "cores": {},
            "core_notes": [],
            "sources": [],
            "complete": False,
            "problems": [],
            "missing_workers": [],
            "unmatched_sources": [],
            "required": {
                "total": str(required_minimum(self.settings.min_coverage, cov)[0]),
                "packages": {p: str(m) for p, m in self.settings.min_coverage_per_package},
            },
            "precision": None,
            "totals": None,
            "packages": [],
            "files": [],
            "data_file": None,
            "data_digest": None,
            "root": None,
            "reports": [],
            "warnings": [],
        }
        if cov is None:
            return section
        from pytest_atom_gates.cov.shards import data_digest

        section.update(
            measured_by=cov.measured_by,
            core=cov.core,
            cores=dict(cov.cores),
            core_notes=list(cov.core_notes),
            sources=list(cov.sources),
            complete=cov.totals is not None and not cov.problems and not cov.missing_workers,
            problems=list(cov.problems),
            missing_workers=list(cov.missing_workers),
            unmatched_sources=list(cov.unmatched_sources),
            precision=cov.precision,
            totals=None if cov.totals is None else asdict(cov.totals),
            packages=[
                {
                    "package": package.package,
                    "min_coverage": str(package.minimum),
                    "files": package.files,
                    "problem": package.problem,
                    "passed": package_judgement(package, cov.precision)[1],
                    "totals": None if package.figures is None else asdict(package.figures),
                }
                for package in cov.packages
            ],
            files=[{"path": f.path, **asdict(f.figures)} for f in cov.files],
            data_file=cov.data_file,
            data_digest=data_digest(cov.data_file),
            root=cov.root,
            reports=list(cov.reports),
            warnings=list(cov.warnings),
        )
        return section

    def render(self, write: Writer, verbosity: int, facts: RunFacts) -> None:
        cov: CoverageFacts | None = facts.extras.get(FACTS_KEY)
        if cov is None:
            return
        if cov.term_report:
            write("")
            for line in cov.term_report.rstrip("\n").splitlines():
                write(line)
        if verbosity < 0:
            return
        write("")
        write("coverage (TQ-05):", bold=True)
        totals = cov.totals
        if totals is not None:
            minimum = required_minimum(self.settings.min_coverage, cov)[0]
            shown = shown_percent(totals.percent, minimum, cov.precision)
            counts = f"{totals.statements} statements, {totals.missing} missing"
            if totals.branches:
                counts += f"; {totals.branches} branches, {totals.missing_branches} missing"
            write(f"  {shown} % of {counts} ({describe_measurement(cov)})")
        if verbosity > 0:  # the figure's line names the core; why not another, on request
            for note in cov.core_notes:
                write(f"  core: {cov.core or 'coverage.py default'}, not sysmon: {note}")
        for package in cov.packages:
            shown_package, passed = package_judgement(package, cov.precision)
            markup = {"green": True} if passed else {"red": True}
            write(
                f"  package {package.package}: {shown_package} "
                f"(minimum {format_threshold(package.minimum)})",
                **markup,
            )
        if cov.data_file:
            write(f"  data: {display_path(Path(cov.data_file))}")
        if cov.baseline_note:
            write(f"  baseline: {cov.baseline_note}")
        for report in cov.reports:
            write(f"  report {report}")
        for warning in cov.warnings:
            write(f"  coverage.py: {warning}", yellow=True)


def ratchet(
    cov: CoverageFacts, settings: Settings, facts: RunFacts, changed: tuple[str, ...]
) -> None:
    """Hold a whole run's figures to the baseline, then record them when nothing dropped."""
    path = settings.coverage_baseline
    assert path is not None
    if settings.shard is not None:
        cov.baseline_note = (
            f"not compared with {display_path(path)}: a shard; atom-gates merge "
            "--coverage-baseline compares the shards' combined coverage"
        )
        return
    if facts.partial_reason or cov.totals is None or cov.problems or cov.missing_workers:
        cov.baseline_note = f"not compared with {display_path(path)}: not a whole, complete run"
        return
    from pytest_atom_gates.cov.baseline import BaselineProblem, drops, read_baseline, write_baseline

    try:
        recorded = read_baseline(path)
    except BaselineProblem as exc:
        cov.warnings.append(f"the coverage baseline {path} {exc}: it is recorded anew")
        recorded = None
    if recorded is not None:
        root = Path(cov.root or Path.cwd())
        names = {os.path.relpath(f, root) for f in changed}
        cov.baseline_drops = drops(recorded, cov, names, settings.coverage_drop)
    if cov.baseline_drops:
        cov.baseline_note = f"compared with {display_path(path)}; kept, since coverage dropped"
        return
    try:
        write_baseline(path, cov)
    except OSError as exc:
        cov.warnings.append(f"could not record the coverage baseline {path}: {exc}")
        return
    done = "compared with and recorded in" if recorded is not None else "recorded in"
    cov.baseline_note = f"{done} {display_path(path)}"


@contextmanager
def _as_the_session_started(environment: Mapping[str, str]) -> Iterator[list[str]]:
    """coverage.py reads its ``COVERAGE_*`` variables when it combines and reports: it gets
    those the session started with, not what a test left behind (a ``COVERAGE_RCFILE`` that
    names a missing file would cost the verdict). Yields the names a test changed."""
    names = {name for name in (*os.environ, *environment) if name.startswith("COVERAGE_")}
    changed = sorted(name for name in names if os.environ.get(name) != environment.get(name))
    left = {name: os.environ.get(name) for name in changed}
    _set_environment({name: environment.get(name) for name in changed})
    try:
        yield changed
    finally:
        _set_environment(left)


def _set_environment(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def setup_worker(config: pytest.Config) -> None:
    """An xdist worker's part in TQ-05: its coverage data, handed to the controller."""
    measurement = config.stash.get(MEASUREMENT_KEY, None)
    if is_xdist_worker(config) and measurement is not None:
        from pytest_atom_gates.cov.engine import XdistWorker

        worker = XdistWorker(config, measurement)
        config.pluginmanager.register(worker, "atom-gates-coverage-worker")


@pytest.hookimpl
def pytest_atom_gates_add_gates(config: pytest.Config, gates: GateRegistry) -> None:
    """TQ-05 in the process that judges, added as any extension's gate is."""
    measurement = config.stash.get(MEASUREMENT_KEY, None)
    settings = gates.run.settings
    engine: Engine | None = None
    if measurement is not None:
        from pytest_atom_gates.cov.engine import SingleProcess, XdistController
        from pytest_atom_gates.cov.reports import unwritable

        problem = unwritable(settings.coverage_reports)
        if problem:
            source, accepted = (
                setting_source(config, "cov-report"),
                SPEC_BY_NAME["cov-report"].accepted,
            )
            raise pytest.UsageError(f"{source}: {problem}. Accepted: {accepted}.")
        if is_xdist_controller(config):
            engine = xdist = XdistController(config, measurement, settings)
            config.pluginmanager.register(xdist, "atom-gates-coverage-xdist")
        else:
            engine = SingleProcess(config, measurement, settings)
    coverage = CoverageFeature(settings, engine, gates.run.environment)
    coverage.changed_files = tuple(str(config.rootpath / f) for f in gates.run.changed_files)
    gates.add_feature(coverage)
    base = gates.run.change_base
    ref = None if base is None else base.ref
    gates.add_feature(PatchCoverageFeature(settings, ref, gates.run.change))
