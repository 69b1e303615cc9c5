"""TQ-05's ratchet: coverage that never silently drops.

``--atom-gates-coverage-baseline=PATH`` names a file of each measured file's counts and the
total, as the last whole run recorded them. A whole run compares with it before recording its
own: a file the change did not touch that lost covered lines, or a total that fell by more than
``--atom-gates-coverage-drop`` points, fails TQ-05 by name (the tests that used to reach those
lines no longer do: a subprocess no longer measured, a test deselected, a mock that swallowed a
call). The baseline is only rewritten when nothing dropped, so a drop cannot pass by being
recorded.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from pytest_atom_gates.cov.facts import CoverageFacts, Figures
from pytest_atom_gates.reporting.atomic import UnreadableJson, read_json, write_atomically

VERSION = 1
FILES_NAMED = 5
"""Files named in a drop's reason; the rest are counted."""


class BaselineProblem(Exception):
    """The baseline exists but cannot be used; the message says why."""


def read_baseline(path: Path) -> dict[str, Any] | None:
    """The recorded figures, or None when there is no baseline yet. Raises ``BaselineProblem``."""
    try:
        data = read_json(path)
    except UnreadableJson as exc:
        raise BaselineProblem(str(exc)) from None
    if data is None:
        return None
    if (
        not isinstance(data, dict)
        or data.get("version") != VERSION
        or not isinstance(data.get("files"), dict)
        or not isinstance(data.get("total"), dict)
    ):
        raise BaselineProblem(
            f'is not a coverage baseline (expected {{"version": {VERSION}, "total": ..., '
            '"files": ...})'
        )
    return data


def baseline_of(facts: CoverageFacts) -> dict[str, Any]:
    """This run's figures as the baseline records them."""
    assert facts.totals is not None
    return {
        "version": VERSION,
        "total": _counts(facts.totals),
        "files": {f.path: _counts(f.figures) for f in sorted(facts.files, key=lambda f: f.path)},
    }


def _counts(figures: Figures) -> dict[str, Any]:
    counts = asdict(figures)
    return {
        key: counts[key]
        for key in ("statements", "missing", "branches", "missing_branches", "percent")
    }


def _covered(counts: Mapping[str, Any]) -> int:
    return int(counts.get("statements", 0)) - int(counts.get("missing", 0))


def drops(
    recorded: Mapping[str, Any],
    facts: CoverageFacts,
    changed: Collection[str],
    allowed: Decimal,
) -> list[str]:
    """What fell below the baseline: files outside ``changed`` (report paths) that lost covered
    lines, and the total, when it fell by more than ``allowed`` points."""
    assert facts.totals is not None
    now = {f.path: _counts(f.figures) for f in facts.files}
    lost = []
    for path, before in sorted(recorded["files"].items()):
        if path in changed or not isinstance(before, dict):
            continue
        after = now.get(path)
        fewer = _covered(before) - (0 if after is None else _covered(after))
        if fewer > 0:
            lost.append(f"{path} (-{fewer})")
    problems = []
    if lost:
        shown = ", ".join(lost[:FILES_NAMED])
        more = f" and {len(lost) - FILES_NAMED} more" if len(lost) > FILES_NAMED else ""
        problems.append(f"covered lines lost since the baseline, outside the change: {shown}{more}")
    before_total = float(recorded["total"].get("percent", 0.0))
    fall = Decimal(repr(before_total)) - Decimal(repr(facts.totals.percent))
    if fall > allowed:
        problems.append(
            f"the total fell {fall.quantize(Decimal('0.01'))} points since the baseline "
            f"({before_total:.2f} % -> {facts.totals.percent:.2f} %), more than the "
            f"{allowed} allowed (--atom-gates-coverage-drop)"
        )
    return problems


def write_baseline(path: Path, facts: CoverageFacts) -> None:
    """Record this run's figures. Raises ``OSError``."""
    write_atomically(path, json.dumps(baseline_of(facts), indent=1, sort_keys=True) + "\n")
