"""Coverage over CI shards: each shard's data file combined by coverage.py, paths remapped.

Every shard measured on its own machine, possibly in a different directory; coverage.py's
``[paths]`` remapping (set here from the roots the shard reports recorded) makes their files the
merge's own, so the figures are those ``coverage report`` prints on the combined data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from pytest_atom_gates.cov.facts import CoverageFacts
from pytest_atom_gates.cov.measure import coverage_errors, coverage_warnings
from pytest_atom_gates.cov.results import (
    analyze,
    in_directory,
    package_results,
    shadowed_sources,
)
from pytest_atom_gates.settings import Settings

REMAP_ALIAS = "atom_gates_shards"
"""The ``[paths]`` entry that maps every shard's root onto the merge's."""


@dataclass(frozen=True)
class ShardData:
    """Where one shard's coverage data is, and the directory it measured from."""

    label: str
    data_file: Path
    root: str | None


def find_data_file(recorded: str, report: Path) -> Path | None:
    """The shard's data file: beside its report (where a CI artifact puts both), else where
    the shard wrote it."""
    beside = report.parent / Path(recorded).name
    if beside.is_file():
        return beside
    at = Path(recorded)
    return at if at.is_file() else None


def combine_shards(
    shards: Sequence[ShardData],
    facts: CoverageFacts,
    settings: Settings,
    root: Path,
) -> None:
    """Combine ``shards``' data into the data file the configuration at ``root`` names, and fill
    ``facts`` with the figures; problems land in ``facts``, never as exceptions."""
    import coverage

    with in_directory(root), coverage_warnings(facts.warnings):
        cov = coverage.Coverage(source=list(facts.sources) or None)
        paths = dict(cast("dict[str, list[str]]", cov.get_option("paths") or {}))
        roots = [s.root for s in shards if s.root and Path(s.root) != root]
        if roots:
            paths[REMAP_ALIAS] = [str(root), *dict.fromkeys(roots)]
            cov.set_option("paths", paths)
        facts.data_file = str(root / cast(str, cov.get_option("run:data_file")))
        facts.root = str(root)
        facts.shadowed_sources = shadowed_sources(
            cast("list[str]", cov.get_option("run:source") or []), root
        )
        try:
            cov.combine([str(s.data_file) for s in shards], strict=True, keep=True)
            cov.save()
        except coverage_errors() as exc:
            facts.no_data = f"coverage.py could not combine the shards' data: {exc}"
            return
        except OSError as exc:
            facts.warnings.append(f"could not save the combined data as {facts.data_file}: {exc}")
        analyze(cov, facts, root)
        facts.packages = package_results(facts, settings.min_coverage_per_package, root)


@dataclass(frozen=True)
class ShardSection:
    """One shard's coverage section of its report, and where the report was."""

    index: int
    report: Path
    section: Mapping[str, Any]


def shard_coverage(
    shards: Sequence[ShardSection], missing: Sequence[int], settings: Settings, root: Path
) -> CoverageFacts:
    """TQ-05's facts over every shard: their data combined, and whatever makes it doubtful (a
    missing shard, a shard's own problems, a data file not found)."""
    first = shards[0].section if shards else {}
    facts = CoverageFacts(
        measured_by=first.get("measured_by"),
        sources=tuple(first.get("sources") or ()),
        missing_workers=[f"shard {index}" for index in missing],
    )
    found: list[ShardData] = []
    for shard in shards:
        section, label = shard.section, f"shard {shard.index}"
        for process, core in (section.get("cores") or {}).items():
            facts.cores[f"{label}/{process}"] = core
        notes = section.get("core_notes") or ()
        facts.core_notes += [note for note in notes if note not in facts.core_notes]
        facts.problems += [f"{label}: {problem}" for problem in section.get("problems") or ()]
        facts.missing_workers += [f"{label} {w}" for w in section.get("missing_workers") or ()]
        recorded = section.get("data_file")
        data_file = find_data_file(recorded, shard.report) if recorded else None
        if data_file is None:
            facts.missing_workers.append(label)
            where = (
                f"{Path(recorded).name} is neither beside {shard.report} nor at {recorded}"
                if recorded
                else "its report names no data file (nothing was measured)"
            )
            facts.problems.append(f"{label}: no coverage data ({where})")
            continue
        same = next((earlier for earlier in found if earlier.data_file == data_file), None)
        if same is not None:
            # Two shards ran in one directory: the later one's run wrote over the earlier data.
            facts.missing_workers.append(same.label)
            facts.problems.append(
                f"{same.label} and {label} name the same data file {data_file}: the later run "
                f"wrote over the earlier one's data, so it holds {label}'s alone. Give each "
                "shard a directory of its own, or a [run] data_file of its own"
            )
            found.remove(same)
        found.append(ShardData(label, data_file, section.get("root")))
    if not found:
        facts.no_data = "no shard's coverage data was found"
        return facts
    combine_shards(found, facts, settings, root)
    return facts
