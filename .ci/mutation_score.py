"""Fail the mutation run when fewer than 90 % of the mutants are caught (tox -e mutation).

A mutant is caught when a test fails on it, when it runs out of time, or when mypy --strict
rejects it (mutmut's type check, configured in pyproject.toml): CI's ``type`` environment would
not let it land either. The line says how many each way caught."""

from __future__ import annotations

import json
import sys
from pathlib import Path

MINIMUM = 90.0

stats = json.loads(Path("mutants", "mutmut-cicd-stats.json").read_text(encoding="utf-8"))
# mutmut's export counts every mutant in "total" but has no field for those its type check
# caught: they are what no other field counts.
other_fields = ("killed", "survived", "no_tests", "skipped", "suspicious", "timeout", "segfault")
by_mypy = stats["total"] - sum(stats.get(field, 0) for field in other_fields)
tested = stats["total"] - stats["skipped"]
caught = stats["killed"] + stats["timeout"] + by_mypy
score = 100.0 * caught / tested if tested else 0.0
print(
    f"mutation score: {score:.1f} % ({caught} of {tested} mutants caught: {stats['killed']} by "
    f"the tests, {by_mypy} by mypy, {stats['timeout']} timed out; {stats['survived']} survived, "
    f"{stats['no_tests']} without tests)"
)
sys.exit(0 if score >= MINIMUM else 1)
