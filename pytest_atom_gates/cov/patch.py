"""TQ-06 patch coverage: the lines a change touches, as coverage.py's own analysis sees them.

The changed lines come from git (``changes``); which of them are executable, excluded
(``pragma: no cover``) or missed, and which branches leave them, comes from the same JSON report
of the combined data that TQ-05's figure comes from: same core, same configuration. A changed
file inside the coverage source that coverage.py never measured is not passed over: its changed
statements are counted as never measured, and fail the gate.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pytest_atom_gates.cov.places import locate, within

if TYPE_CHECKING:
    import coverage

    from pytest_atom_gates.changes import ChangedLines


@dataclass(frozen=True)
class PatchFile:
    """One changed file's changed executable lines and the branches out of them."""

    path: str
    """As coverage.py's reports name it: relative to the directory the run started in."""
    lines: tuple[int, ...]
    missing: tuple[int, ...]
    branches: int = 0
    missing_branches: tuple[tuple[int, int], ...] = ()


@dataclass
class PatchFacts:
    """What TQ-06 judges: the change's base and each changed file in the coverage source."""

    ref: str
    commit: str
    files: list[PatchFile] = field(default_factory=list)
    unmeasured: list[PatchFile] = field(default_factory=list)
    """Changed files in the coverage source that coverage.py never measured."""
    changed_files: int = 0
    """Files the change touches, in the coverage source or not."""

    @property
    def lines(self) -> int:
        return sum(len(f.lines) for f in self.files)

    @property
    def missing(self) -> int:
        return sum(len(f.missing) for f in self.files)

    @property
    def branches(self) -> int:
        return sum(f.branches for f in self.files)

    @property
    def missing_branches(self) -> int:
        return sum(len(f.missing_branches) for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "commit": self.commit,
            "changed_files": self.changed_files,
            "files": [_file_dict(f) for f in self.files],
            "unmeasured": [_file_dict(f) for f in self.unmeasured],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PatchFacts:
        return cls(
            str(data["ref"]),
            str(data["commit"]),
            [_file_of(f) for f in data.get("files") or ()],
            [_file_of(f) for f in data.get("unmeasured") or ()],
            int(data.get("changed_files") or 0),
        )


def _file_dict(patch: PatchFile) -> dict[str, Any]:
    return {
        "path": patch.path,
        "lines": list(patch.lines),
        "missing": list(patch.missing),
        "branches": patch.branches,
        "missing_branches": [list(arc) for arc in patch.missing_branches],
    }


def _file_of(data: Mapping[str, Any]) -> PatchFile:
    return PatchFile(
        str(data["path"]),
        tuple(int(n) for n in data["lines"]),
        tuple(int(n) for n in data["missing"]),
        int(data.get("branches") or 0),
        tuple((int(a), int(b)) for a, b in data.get("missing_branches") or ()),
    )


def judge_patch(
    cov: coverage.Coverage,
    change: ChangedLines,
    report_files: Mapping[str, Mapping[str, Any]],
    start_dir: Path,
) -> PatchFacts:
    """Each changed file's changed executable lines, from ``report_files`` (the ``files`` of
    coverage.py's JSON report of the combined data); changed files of the coverage source that
    it does not hold are analysed by coverage.py as never measured."""
    facts = PatchFacts(change.base.ref, change.base.commit, changed_files=len(change.lines))
    in_scope = _scope(cov, start_dir)
    for absolute, edited in sorted(change.lines.items()):
        name = _report_name(absolute, start_dir)
        entry = report_files.get(name)
        if entry is None and (not absolute.endswith(".py") or not in_scope(absolute)):
            continue  # outside what coverage.py measures: a test, a document
        changed = None if edited is None else _statement_lines(absolute, edited)
        if entry is not None:
            patch = _from_report(name, entry, changed)
            if not entry.get("executed_lines") and patch.lines:  # reported, never imported
                facts.unmeasured.append(PatchFile(name, patch.lines, patch.lines))
            elif patch.lines:
                facts.files.append(patch)
            continue
        statements = _statements(cov, absolute)
        lines = tuple(sorted(statements if changed is None else statements & changed))
        if lines:
            facts.unmeasured.append(PatchFile(name, lines, lines))
    return facts


def _statement_lines(path: str, changed: frozenset[int]) -> frozenset[int]:
    """``changed`` with the first line of each statement a changed line belongs to: coverage.py
    reports a statement of several lines on its first, so an edited continuation line counts
    there."""
    if not path.endswith(".py"):
        return changed
    from coverage.parser import PythonParser

    try:
        parser = PythonParser(filename=path)
        parser.parse_source()
        return changed | frozenset(parser.first_lines(changed))
    except Exception:  # not Python coverage.py can parse: its lines are judged as they are
        return changed


def _report_name(absolute: str, start_dir: Path) -> str:
    """How coverage.py's reports name a file: relative to where the run started, if inside."""
    try:
        return Path(absolute).relative_to(start_dir).as_posix()
    except ValueError:
        return absolute


def _from_report(name: str, entry: Mapping[str, Any], changed: frozenset[int] | None) -> PatchFile:
    executed = set(entry.get("executed_lines") or ())
    missing = set(entry.get("missing_lines") or ())
    if changed is not None:
        executed &= changed
        missing &= changed
    arcs_taken = [tuple(arc) for arc in entry.get("executed_branches") or ()]
    arcs_missed = [(int(a), int(b)) for a, b in entry.get("missing_branches") or ()]
    lines = executed | missing
    taken = [arc for arc in arcs_taken if arc[0] in lines]
    missed = tuple(sorted(arc for arc in arcs_missed if arc[0] in lines))
    return PatchFile(
        name, tuple(sorted(lines)), tuple(sorted(missing)), len(taken) + len(missed), missed
    )


def _statements(cov: coverage.Coverage, path: str) -> set[int]:
    """The executable lines of a file coverage.py never measured, by its own parser."""
    from coverage.exceptions import CoverageException

    try:
        _, statements, _, _, _ = cov.analysis2(path)
    except (CoverageException, OSError, SyntaxError, ValueError):
        return set()
    return set(statements)


def _scope(cov: coverage.Coverage, start_dir: Path) -> Any:
    """Whether a changed file belongs to what coverage.py measures: under a ``source`` folder
    or package (found where it is imported from, and in the checkout as ``NAME`` or
    ``src/NAME``, for a package the tests import installed), matching ``include`` when that is
    set, or else under the starting folder; never omitted."""
    names = [
        *cast("list[str]", cov.get_option("run:source") or []),
        *cast("list[str]", cov.get_option("run:source_pkgs") or []),
    ]
    places = [place for place in (locate(name, start_dir) for name in names) if place]
    for name in names:
        relative = Path(*name.split("."))
        places += [
            (folder / relative).resolve()
            for folder in (start_dir, start_dir / "src")
            if (folder / relative).is_dir() or (folder / relative).with_suffix(".py").is_file()
        ]
    if not names:
        places = [start_dir.resolve()]
    include = _patterns(
        cast("list[str]", cov.get_option("run:include") or []),
        cast("list[str]", cov.get_option("report:include") or []),
        start_dir,
    )
    omit = _patterns(
        cast("list[str]", cov.get_option("run:omit") or []),
        cast("list[str]", cov.get_option("report:omit") or []),
        start_dir,
    )

    def in_scope(path: str) -> bool:
        resolved = Path(path).resolve()
        module = resolved.with_suffix("")
        if not any(within(resolved, place) or module == place for place in places):
            return False
        if include and not any(fnmatch.fnmatch(str(resolved), p) for p in include):
            return False
        return not any(fnmatch.fnmatch(str(resolved), pattern) for pattern in omit)

    return in_scope


def _patterns(run: Iterable[str], report: Iterable[str], start_dir: Path) -> list[str]:
    """``omit`` patterns as coverage.py reads them: relative ones from the starting folder."""
    return [
        pattern if pattern.startswith(("*", os.sep)) else str(start_dir / pattern)
        for pattern in (*run, *report)
    ]


def ranges(lines: Sequence[int]) -> list[str]:
    """``[3, 4, 5, 9]`` as ``["3-5", "9"]``."""
    return [f"{first}" if first == last else f"{first}-{last}" for first, last in spans(lines)]


def uncovered_places(facts: PatchFacts) -> list[str]:
    """Each uncovered run of changed lines as ``path:first-last``, file by file."""
    return [
        f"{patch.path}:{span}"
        for patch in sorted(facts.files, key=lambda p: p.path)
        for span in ranges(patch.missing)
    ]


def change_record(change: ChangedLines, root: Path) -> dict[str, Any]:
    """The changed lines as a shard's report keeps them for ``atom-gates merge``: by path
    relative to ``root`` (where coverage measured from), as ``[first, last]`` ranges."""
    lines: dict[str, list[list[int]] | None] = {}
    for absolute, changed in sorted(change.lines.items()):
        name = _report_name(absolute, root)
        lines[name] = None if changed is None else [list(span) for span in spans(changed)]
    return {"root": str(root), "lines": lines}


def change_from_record(
    record: Mapping[str, Any], ref: str, commit: str, root: Path
) -> ChangedLines:
    """A shard's recorded change, its paths placed under ``root`` (the merge's checkout)."""
    from pytest_atom_gates.changes import Base, ChangedLines

    lines: dict[str, frozenset[int] | None] = {}
    for name, spans in (record.get("lines") or {}).items():
        path = str(Path(name) if Path(name).is_absolute() else root / name)
        lines[path] = (
            None
            if spans is None
            else frozenset(n for first, last in spans for n in range(int(first), int(last) + 1))
        )
    return ChangedLines(Base(root, ref, commit), lines)


def spans(lines: Iterable[int]) -> list[tuple[int, int]]:
    """``[3, 4, 5, 9]`` as ``[(3, 5), (9, 9)]``."""
    found: list[tuple[int, int]] = []
    for line in sorted(lines):
        if found and line == found[-1][1] + 1:
            found[-1] = (found[-1][0], line)
        else:
            found.append((line, line))
    return found
