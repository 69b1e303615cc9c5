"""Fail the mutation run when fewer than 90 % of the mutants are killed (tox -e mutation)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

MINIMUM = 90.0

stats = json.loads(Path("mutants", "mutmut-cicd-stats.json").read_text(encoding="utf-8"))
tested = stats["total"] - stats["skipped"]
killed = stats["killed"] + stats["timeout"]
score = 100.0 * killed / tested if tested else 0.0
print(
    f"mutation score: {score:.1f} % ({killed} of {tested} mutants killed, "
    f"{stats['survived']} survived, {stats['no_tests']} without tests)"
)
sys.exit(0 if score >= MINIMUM else 1)
