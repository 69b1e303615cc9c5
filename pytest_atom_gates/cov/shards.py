"""Coverage over CI shards: each shard's data file combined by coverage.py, paths remapped.

Every shard measured on its own machine, possibly in a different directory; coverage.py's
``[paths]`` remapping (set here from the roots the shard reports recorded) makes their files the
merge's own, so the figures are those ``coverage report`` prints on the combined data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

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

if TYPE_CHECKING:
    from pytest_atom_gates.changes import ChangedLines


@dataclass(frozen=True)
class ShardData:
    """Where one shard's coverage data is, and the directory it measured from."""

    label: str
    data_file: Path
    root: str | None


def data_digest(data_file: str | None) -> str | None:
    """The SHA-256 of a shard's data file, recorded in its report so that the merge combines
    that data and no other: a stale file, another run's, or one a later run wrote over."""
    if data_file is None:
        return None
    digest = hashlib.sha256()
    try:
        with open(data_file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return f"sha256:{digest.hexdigest()}"


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
    change: ChangedLines | None = None,
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
        analyze(cov, facts, root, change)
        facts.packages = package_results(facts, settings.min_coverage_per_package, root)


@dataclass(frozen=True)
class ShardSection:
    """One shard's coverage section of its report, and where the report was."""

    index: int
    report: Path
    section: Mapping[str, Any]


def _shared_file_problem(sharing: Sequence[ShardData], holder: ShardData | None) -> str:
    labels = " and ".join(shard.label for shard in sharing)
    holds = f"it holds {holder.label}'s alone" if holder else "it holds none of theirs"
    return (
        f"{labels} name the same data file {sharing[0].data_file}: a later run wrote over an "
        f"earlier one's data, so {holds}. Give each shard a directory of its own, or a [run] "
        "data_file of its own"
    )


def _usable_data(
    located: Sequence[tuple[ShardData, str | None]], facts: CoverageFacts
) -> list[ShardData]:
    """The data files to combine: each holding the data its shard's report says it wrote (by
    digest; without one, a file two shards name holds the later one's); the others named."""
    usable: list[ShardData] = []
    for data_file in dict.fromkeys(shard.data_file for shard, _ in located):
        sharing = [(shard, digest) for shard, digest in located if shard.data_file == data_file]
        actual = data_digest(str(data_file))
        holders = [shard for shard, digest in sharing if digest is None or digest == actual]
        holder = holders[-1] if holders else None
        if len(sharing) > 1:
            facts.problems.append(_shared_file_problem([s for s, _ in sharing], holder))
        for shard, _ in sharing:
            if shard is holder:
                usable.append(shard)
                continue
            facts.missing_workers.append(shard.label)
            if len(sharing) == 1:
                facts.problems.append(
                    f"{shard.label}: {data_file} is not the data file the shard wrote (its "
                    "digest differs from the one in the shard's report): stale, another run's, "
                    "or written over. It is not combined"
                )
    return usable


def shard_coverage(
    shards: Sequence[ShardSection],
    missing: Sequence[int],
    settings: Settings,
    root: Path,
    change: ChangedLines | None = None,
) -> CoverageFacts:
    """TQ-05's facts over every shard: their data combined, and whatever makes it doubtful (a
    missing shard, a shard's own problems, a data file not found or not the shard's own)."""
    first = shards[0].section if shards else {}
    facts = CoverageFacts(
        measured_by=first.get("measured_by"),
        sources=tuple(first.get("sources") or ()),
        missing_workers=[f"shard {index}" for index in missing],
    )
    located: list[tuple[ShardData, str | None]] = []
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
        shard_data = ShardData(label, data_file, section.get("root"))
        located.append((shard_data, section.get("data_digest")))
    found = _usable_data(located, facts)
    if not found:
        facts.no_data = "no shard's coverage data was found"
        return facts
    combine_shards(found, facts, settings, root, change)
    return facts
