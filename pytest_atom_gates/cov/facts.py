"""What TQ-05 knows at the end of a run: figures first, then everything that makes them doubtful."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_atom_gates.cov.patch import PatchFacts


@dataclass(frozen=True)
class Figures:
    """Counts as coverage.py's reports add them up, and the percentage they give."""

    statements: int
    missing: int
    excluded: int
    branches: int
    partial_branches: int
    missing_branches: int
    percent: float
    """Coverage.py's own float: ``100 * (run statements + run branches) / (statements +
    branches)``, or 100.0 when there is nothing to run."""

    @classmethod
    def add(cls, many: list[Figures]) -> Figures:
        """The figures of several files together, with the percentage coverage.py would give."""
        statements = sum(f.statements for f in many)
        missing = sum(f.missing for f in many)
        branches = sum(f.branches for f in many)
        missing_branches = sum(f.missing_branches for f in many)
        denominator = statements + branches
        run = statements - missing + branches - missing_branches
        return cls(
            statements=statements,
            missing=missing,
            excluded=sum(f.excluded for f in many),
            branches=branches,
            partial_branches=sum(f.partial_branches for f in many),
            missing_branches=missing_branches,
            percent=100.0 * run / denominator if denominator > 0 else 100.0,
        )


@dataclass(frozen=True)
class FileFigures:
    path: str
    """As coverage.py's reports name it: relative to the directory the run started in."""
    figures: Figures


@dataclass(frozen=True)
class PackageResult:
    """One per-package minimum and what the package measured."""

    package: str
    minimum: Decimal
    figures: Figures | None
    """None when the package was not found or none of its files were measured."""
    files: int
    problem: str | None = None


@dataclass(frozen=True)
class ProcessResult:
    """What one process of the run measured: ``main`` (the controller) or an xdist worker."""

    process: str
    measured_by: str | None
    core: str | None = None
    """The coverage.py core that measured: sysmon, ctrace or pytrace."""
    core_note: str | None = None
    """Why that core and not sys.monitoring, when it is not."""
    problem: str | None = None
    """Why this process could not be measured, or why its data is incomplete."""
    data: bytes | None = None
    """Coverage data as ``CoverageData.dumps()`` makes it; pytest-cov ships its own."""
    warnings: tuple[str, ...] = ()
    """Coverage.py's warnings in this process."""

    def to_payload(self) -> dict[str, Any]:
        """Plain values that pytest-xdist can carry in ``workeroutput``."""
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ProcessResult:
        return cls(**{**payload, "warnings": tuple(payload["warnings"])})


@dataclass
class CoverageFacts:
    """Everything TQ-05 judges, contributed once on the controller."""

    measured_by: str | None
    sources: tuple[str, ...]
    """What was asked to be measured; empty means coverage.py's default (all code run outside
    the standard library and installed packages)."""
    precision: int = 0
    """``[report] precision`` of the configuration."""
    cores: dict[str, str] = field(default_factory=dict)
    """Process -> core that measured it."""
    core_notes: list[str] = field(default_factory=list)
    totals: Figures | None = None
    files: list[FileFigures] = field(default_factory=list)
    packages: list[PackageResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Why the figures cannot be trusted: not measured, lost, disturbed."""
    missing_workers: list[str] = field(default_factory=list)
    unmatched_sources: list[str] = field(default_factory=list)
    shadowed_sources: list[str] = field(default_factory=list)
    """Why a ``[run] source`` folder may not be the code that ran, one note per source."""
    no_data: str | None = None
    """Why there is no total at all, when there is none."""
    baseline_drops: list[str] = field(default_factory=list)
    """What fell below ``--atom-gates-coverage-baseline``'s figures (the ratchet)."""
    baseline_note: str | None = None
    """What became of the baseline: compared, recorded, or why neither."""
    patch: PatchFacts | None = None
    """TQ-06's facts: the changed lines' coverage, when a change's base is known."""
    unmeasured_imports: str | None = None
    """Why the import-time lines of modules imported before measuring started count as
    missing, when they could not be measured (see ``imported_early``)."""
    data_file: str | None = None
    root: str | None = None
    """The directory the run measured from: the prefix that ``atom-gates merge`` remaps."""
    reports: list[str] = field(default_factory=list)
    """Where the requested coverage reports were written."""
    term_report: str = ""
    warnings: list[str] = field(default_factory=list)
    """Coverage.py's own warnings while measuring and combining."""
    user_minimums: list[tuple[Decimal, str]] = field(default_factory=list)
    """Minimums the user set for coverage.py or pytest-cov themselves, with where each was set:
    TQ-05 never asks for less than these."""

    @property
    def core(self) -> str | None:
        """The core that measured, or the cores, when processes differ."""
        names = sorted(set(self.cores.values()))
        return "/".join(names) if names else None
