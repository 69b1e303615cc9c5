"""The JSON report: a versioned record of settings, order, every attempt and every verdict.

Its schema ships in the package (``report.schema.json``); ``SCHEMA_VERSION`` changes whenever a
field changes meaning or disappears.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from pytest_atom_gates import __version__
from pytest_atom_gates.attempts import Attempt
from pytest_atom_gates.gates.base import GateVerdict, RunFacts
from pytest_atom_gates.gates.independence import ORDER_DEPENDENT, OrderChecks
from pytest_atom_gates.ledger import OUTCOMES
from pytest_atom_gates.reporting.atomic import write_atomically
from pytest_atom_gates.shard import SHARD_KEY

SCHEMA_VERSION = 4

_CI_MARKERS = (
    ("GITHUB_ACTIONS", "github-actions"),
    ("GITLAB_CI", "gitlab-ci"),
    ("BUILDKITE", "buildkite"),
    ("CIRCLECI", "circleci"),
    ("JENKINS_URL", "jenkins"),
    ("TF_BUILD", "azure-pipelines"),
    ("CI", "unknown"),
)


def schema() -> dict[str, Any]:
    """The JSON Schema of the report, as shipped in the package."""
    text = resources.files("pytest_atom_gates").joinpath("report.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def ci_name(environ: Mapping[str, str] = os.environ) -> str | None:
    """The CI service the run is in, from the variables each sets; None outside CI."""
    for variable, name in _CI_MARKERS:
        if environ.get(variable, "").strip().lower() not in ("", "0", "false"):
            return name
    return None


def environment(config: pytest.Config, workers: int | None) -> dict[str, Any]:
    """Where the run happened: versions and names only, never environment values or arguments."""
    plugins = {
        dist.project_name: dist.version for _, dist in config.pluginmanager.list_plugin_distinfo()
    }
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": sys.platform,
        "pytest": pytest.__version__,
        "plugins": dict(sorted(plugins.items())),
        "workers": workers,
        "ci": ci_name(),
    }


def _settings(facts: RunFacts) -> dict[str, Any]:
    settings = facts.settings
    return {
        "min_pass_rate": str(settings.min_pass_rate),
        "max_duration": settings.max_duration,
        "max_test_duration": settings.max_test_duration,
        "stop_on_budget": settings.stop_on_budget,
        "modes": {gate: mode.value for gate, mode in sorted(settings.modes.items())},
        "strict": settings.strict,
        "order_checks": settings.order_checks,
        "slowest": settings.slowest,
        "reruns": settings.reruns,
        "rerun_delay": settings.rerun_delay,
        "max_flaky": None if settings.max_flaky is None else str(settings.max_flaky),
        "order": settings.order,
        "min_coverage": str(settings.min_coverage),
        "min_patch_coverage": str(settings.min_patch_coverage),
        "patch_min_lines": settings.patch_min_lines,
        "coverage_drop": str(settings.coverage_drop),
    }


def verdict_record(verdict: GateVerdict) -> dict[str, Any]:
    """A verdict as the report's schema gives it (``$defs/verdict``)."""
    return {
        "gate": verdict.gate,
        "name": verdict.name,
        "verdict": verdict.verdict.value,
        "mode": verdict.mode.value,
        "measured": verdict.measured,
        "required": verdict.required,
        "reason": verdict.reason,
        "data": dict(verdict.data),
    }


def attempt_record(attempt: Attempt) -> dict[str, Any]:
    """One attempt of a test as the report's schema gives it (``$defs/attempt``)."""
    return {
        "outcome": attempt.outcome,
        "duration": attempt.duration,
        "phase": attempt.phase,
        "error": attempt.error,
        "worker": attempt.worker,
        "failure": None if attempt.failure is None else attempt.failure.record(),
    }


def build_report(
    facts: RunFacts,
    verdicts: Sequence[GateVerdict],
    *,
    exit_status: int,
    incomplete_reason: str | None,
    environment: Mapping[str, Any],
    extra_sections: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    ledger = facts.ledger
    checks: OrderChecks = facts.extras.get("order_checks") or OrderChecks()
    dependent = {check.nodeid for check in checks.checks if check.result == ORDER_DEPENDENT}
    counts = ledger.counts()
    tests = []
    for nodeid, outcome in ledger.outcomes():
        attempts = ledger.attempts(nodeid)
        worker = next((a.worker for a in reversed(attempts) if a.worker), None)
        tests.append(
            {
                "nodeid": nodeid,
                "outcome": outcome,
                "duration": ledger.durations.get(nodeid, 0.0),
                "worker": worker,
                "order_dependent": nodeid in dependent,
                "attempts": [attempt_record(a) for a in attempts],
            }
        )
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "pytest-atom-gates", "version": __version__},
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "complete": incomplete_reason is None,
        "incomplete_reason": incomplete_reason,
        "exit_status": exit_status,
        "seed": facts.seed,
        "settings": _settings(facts),
        "environment": dict(environment),
        "run": {
            "duration": facts.elapsed,
            "partial": facts.partial_reason,
            "interrupted": facts.interrupted,
            "stopped_early": facts.stopped_early,
        },
        "summary": {"selected": sum(counts.values()), **{o: counts[o] for o in OUTCOMES}},
        "order": list(ledger.selected or ()),
        "collection_errors": [
            {
                "nodeid": error.nodeid,
                "message": error.message,
                "failure": None if error.failure is None else error.failure.record(),
            }
            for error in ledger.collection_errors
        ],
        "failures_left_out": ledger.failures_left_out,
        "tests": tests,
        "order_checks": [
            {
                "nodeid": c.nodeid,
                "result": c.result,
                "detail": c.detail,
                "ran_before": list(c.ran_before),
                "reproduce": c.reproduce or None,
                "polluters": list(c.polluters),
                "brittle": c.brittle,
                "passes": c.passes or None,
                "origin": c.origin,
                "state_changes": None if c.state_changes is None else list(c.state_changes),
                "state_after_victim": None
                if c.state_after_victim is None
                else list(c.state_after_victim),
                "search": None
                if c.search is None
                else {
                    "result": c.search,
                    "runs": c.search_runs,
                    "detail": c.search_detail,
                    "confirmations": c.confirmations,
                },
            }
            for c in checks.checks
        ],
        "verdicts": [verdict_record(v) for v in verdicts],
    }
    if extra_sections:
        report.update(extra_sections)
    shard = facts.extras.get(SHARD_KEY)
    if shard is not None:
        report[SHARD_KEY] = shard.to_payload()
    return report


def write_report(path: Path, report: Mapping[str, Any]) -> None:
    write_atomically(path, json.dumps(report, indent=2, sort_keys=False, default=str) + "\n")
