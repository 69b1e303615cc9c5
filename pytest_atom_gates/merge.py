"""``atom-gates merge``: one verdict over the reports of N CI shards.

The merge never runs a test. It reads the shards' reports, refuses shards that did not split the
same suite the same way (seed, N, collection, settings, version), rebuilds the run's facts from
their attempts, and hands them to the same gates a single run uses. The whole-suite figures are
judged here: TQ-02 over every final outcome, TQ-05 on the shards' coverage data combined. A
shard that is missing, came twice, or a test that ran in two shards or in none, is a FAIL that
names it, never a smaller denominator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_atom_gates.gates import DurationGate, IndependenceGate, PassRateGate, evaluate
from pytest_atom_gates.gates.base import NOT_ENFORCED, Gate, GateVerdict, RunFacts, Verdict
from pytest_atom_gates.gates.determinism import DeterminismGate, RerunFacts
from pytest_atom_gates.gates.independence import OrderChecks
from pytest_atom_gates.gates.numbers import format_seconds
from pytest_atom_gates.ledger import MAIN_PROCESS, Ledger
from pytest_atom_gates.outcomes import NOT_RUN
from pytest_atom_gates.report import Report
from pytest_atom_gates.settings import (
    GATE_NAMES,
    SHUFFLED_ORDER,
    GateMode,
    Settings,
    parse_flaky_limit,
)
from pytest_atom_gates.shard import SHARD_KEY, ShardFacts

if TYPE_CHECKING:
    from pytest_atom_gates.changes import ChangedLines

COVERAGE_GATE = "TQ-05"
PASS_RATE_GATE = "TQ-02"
DURATION_GATE = "TQ-03"


class MergeRefused(Exception):
    """The reports cannot be merged into one verdict: not shards of one split of one suite."""


@dataclass(frozen=True)
class Shard:
    """One shard's report and what it says of the split."""

    report: Report
    facts: ShardFacts

    @property
    def index(self) -> int:
        return self.facts.index

    @property
    def label(self) -> str:
        return f"shard {self.facts.index} ({self.report.path})"


def as_shard(report: Report) -> Shard:
    """The report as a shard's; refused when it was not written by one."""
    payload = report.section(SHARD_KEY)
    if payload is None:
        raise MergeRefused(
            f"{report.path} is not a shard's report: it was written without "
            "--atom-gates-shard=K/N (or CI_NODE_INDEX/CI_NODE_TOTAL)"
        )
    try:
        facts = ShardFacts.from_payload(payload, assigned=report.order)
    except (KeyError, TypeError, ValueError) as exc:
        raise MergeRefused(f"{report.path}: its shard section is damaged ({exc!r})") from None
    # Every run judges each built-in gate (an OFF verdict for a gate switched off): a report
    # without one was damaged, and must not leave a gate out of the merged verdict.
    missing = [gate for gate in GATE_NAMES if gate not in {v.gate for v in report.verdicts}]
    if missing:
        raise MergeRefused(
            f"{report.path}: verdicts: no verdict of {', '.join(missing)}; a shard's report "
            "holds one for each built-in gate"
        )
    return Shard(report, facts)


def _first_difference(shards: Sequence[Shard], what: str, key: Any) -> str | None:
    """Where the shards disagree on ``key(shard)``: the first shard and one that differs."""
    first = shards[0]
    for other in shards[1:]:
        if key(other) != key(first):
            return f"{what}: {first.label} has {key(first)!r}, {other.label} has {key(other)!r}"
    return None


def _compared_settings(shard: Shard) -> dict[str, Any]:
    coverage = shard.report.section("coverage") or {}
    return {**shard.report.settings, "coverage": coverage.get("required")}


def _settings_difference(shards: Sequence[Shard]) -> str | None:
    first = _compared_settings(shards[0])
    for other in shards[1:]:
        theirs = _compared_settings(other)
        for key in sorted(set(first) | set(theirs)):
            if first.get(key) != theirs.get(key):
                return (
                    f"different settings: {key} is {first.get(key)!r} in {shards[0].label} "
                    f"and {theirs.get(key)!r} in {other.label}"
                )
    return None


def _collection_difference(shards: Sequence[Shard]) -> str | None:
    first = shards[0]
    for other in shards[1:]:
        if other.facts.collection == first.facts.collection:
            continue
        mine, theirs = set(first.facts.collection), set(other.facts.collection)
        details = []
        for label, extra in ((first.label, mine - theirs), (other.label, theirs - mine)):
            if extra:
                names = ", ".join(sorted(extra)[:3]) + (" ..." if len(extra) > 3 else "")
                details.append(f"only in {label}: {names}")
        if not details:
            details.append("the same tests in a different order")
        return (
            f"the shards collected different suites ({len(mine)} tests in {first.label}, "
            f"{len(theirs)} in {other.label}; {'; '.join(details)})"
        )
    return None


def check_agreement(shards: Sequence[Shard]) -> None:
    """Refuse shards that are not parts of one split: every check names the shards."""
    if not shards:
        raise MergeRefused("no shard reports to merge")
    problems = [
        _first_difference(shards, "different seeds", lambda s: s.report.seed),
        _first_difference(shards, "different shard counts N", lambda s: s.facts.total),
        _first_difference(
            shards, "different pytest-atom-gates versions", lambda s: s.report.tool_version
        ),
        _collection_difference(shards),
        _first_difference(
            shards,
            "split by different recorded durations (digest)",
            lambda s: s.facts.durations_digest,
        ),
        _settings_difference(shards),
        _first_difference(
            shards,
            "different change bases (--atom-gates-changed-since)",
            lambda s: _patch_section(s).get("commit"),
        ),
    ]
    found = [p for p in problems if p]
    if found:
        raise MergeRefused("; ".join(found))


def _patch_section(shard: Shard) -> Mapping[str, Any]:
    return shard.report.section("patch_coverage") or {}


def settings_of(report: Report) -> Settings:
    """The settings the shards judged with, as far as the merge's gates need them."""
    raw = report.settings
    coverage = report.section("coverage") or {}
    required = coverage.get("required") or {}
    max_flaky = raw.get("max_flaky")
    return Settings(
        seed=report.seed,
        min_pass_rate=Decimal(raw["min_pass_rate"]),
        max_duration=float(raw["max_duration"]),
        max_test_duration=raw.get("max_test_duration"),
        stop_on_budget=bool(raw["stop_on_budget"]),
        modes={gate: GateMode(mode) for gate, mode in raw["modes"].items()},
        report_path=None,
        strict=bool(raw["strict"]),
        order_checks=int(raw["order_checks"]),
        order_check_time=Decimal(100),
        slowest=int(raw["slowest"]),
        min_coverage=Decimal(raw.get("min_coverage", required.get("total", "25"))),
        coverage_sources=tuple(coverage.get("sources") or ()),
        coverage_reports=(),
        min_coverage_per_package=tuple(
            (package, Decimal(minimum)) for package, minimum in required.get("packages", {}).items()
        ),
        reruns=int(raw.get("reruns", 2)),
        rerun_delay=float(raw.get("rerun_delay", 1.0)),
        max_flaky=None if max_flaky is None else parse_flaky_limit(max_flaky),
        order=raw.get("order", SHUFFLED_ORDER),
        min_patch_coverage=Decimal(raw.get("min_patch_coverage", "100")),
        patch_min_lines=int(raw.get("patch_min_lines", 0)),
        coverage_drop=Decimal(raw.get("coverage_drop", "0.1")),
    )


@dataclass
class Assembly:
    """The shards as the merge uses them: one per index, and what does not add up."""

    used: list[Shard]
    missing: list[int]
    problems: list[str] = field(default_factory=list)
    """Integrity failures: each fails TQ-02, the gate of the whole suite's outcomes."""


def assemble(shards: Sequence[Shard]) -> Assembly:
    """One shard per index (the first given); duplicated and missing indexes are problems."""
    total = shards[0].facts.total
    by_index: dict[int, list[Shard]] = {}
    for shard in shards:
        by_index.setdefault(shard.index, []).append(shard)
    missing = [k for k in range(1, total + 1) if k not in by_index]
    assembly = Assembly([group[0] for _, group in sorted(by_index.items())], missing)
    for index, group in sorted(by_index.items()):
        if len(group) > 1:
            paths = ", ".join(str(s.report.path) for s in group)
            assembly.problems.append(
                f"shard {index} of {total} was given {len(group)} times ({paths}): "
                f"only {group[0].report.path} was counted"
            )
    for index in missing:
        assembly.problems.append(
            f"shard {index} of {total} is missing: no report (it crashed, was cancelled, or "
            "its artifact was not downloaded); its tests count as not run"
        )
    for shard in assembly.used:
        status = shard.report.exit_status
        if status not in (0, 1):
            why = shard.report.raw.get("incomplete_reason") or "see its report"
            assembly.problems.append(f"{shard.label} ended with exit status {status} ({why})")
    return assembly


def _names(nodeids: Sequence[str]) -> str:
    return ", ".join(nodeids[:3]) + (f" and {len(nodeids) - 3} more" if len(nodeids) > 3 else "")


def build_ledger(collection: Sequence[str], assembly: Assembly) -> Ledger:
    """Every test's attempts from the shard that ran it; tests in two shards or in none are
    problems, and a test no shard ran stays in the denominator as not run."""
    ledger = Ledger()
    ledger.set_selected(collection)
    known = set(collection)
    ran_in: dict[str, int] = {}
    twice: list[str] = []
    outside: list[str] = []
    for shard in assembly.used:
        for entry in shard.report.tests:
            if entry.nodeid in ran_in:
                twice.append(f"{entry.nodeid} (shards {ran_in[entry.nodeid]} and {shard.index})")
                continue
            ran_in[entry.nodeid] = shard.index
            if entry.nodeid not in known:
                outside.append(f"{entry.nodeid} (shard {shard.index})")
            workers = {a.worker for a in entry.attempts if a.worker}
            process = f"shard{shard.index}/{min(workers) if workers else MAIN_PROCESS}"
            ledger.restore(entry.nodeid, entry.attempts, process)
        ledger.collection_errors += [
            error
            for error in shard.report.collection_errors
            if error not in ledger.collection_errors
        ]
        ledger.failures_left_out += shard.report.failures_left_out
    if twice:
        assembly.problems.append(f"{len(twice)} tests ran in two shards: {_names(twice)}")
    if outside:
        assembly.problems.append(
            f"{len(outside)} tests ran outside the shared collection: {_names(outside)}"
        )
    if not assembly.missing:
        nowhere = [nodeid for nodeid in collection if nodeid not in ran_in]
        if nowhere:
            assembly.problems.append(
                f"{len(nowhere)} tests were in no shard's selection: {_names(nowhere)}"
            )
    ledger.finish()
    return ledger


def _joined(values: Iterable[tuple[int, str | None]]) -> str | None:
    """Per-shard reasons: one when every shard gives the same, else each with its shard."""
    given = [(index, value) for index, value in values if value]
    if not given:
        return None
    if len({value for _, value in given}) == 1 and len(given) > 1:
        return given[0][1]
    return "; ".join(f"shard {index}: {value}" for index, value in given)


def run_facts(assembly: Assembly, ledger: Ledger, settings: Settings, seed: int) -> RunFacts:
    used = assembly.used
    quarantined: dict[str, str] = {}
    capped: list[str] = []
    new_flaky: list[str] = []
    checks = OrderChecks()
    for shard in used:
        determinism = shard.report.section("determinism") or {}
        for entry in determinism.get("quarantined", ()):
            quarantined[entry["nodeid"]] = entry["reason"]
        capped += [f"shard {shard.index}: {cap}" for cap in determinism.get("rerun_cap", ())]
        checks.checks += shard.report.order_checks
        new_flaky += (shard.report.verdict("TQ-04") or _NO_DATA).data.get("new_flaky", [])
        independence = shard.report.verdict("TQ-01")
        if independence is not None:
            checks.unchecked += independence.data.get("unchecked", [])
            checks.skipped_reason = checks.skipped_reason or independence.data.get("skipped_reason")
    budget_stop = any(
        (shard.report.verdict(DURATION_GATE) or _NO_DATA).data.get("stopped_on_budget")
        for shard in used
    )
    facts = RunFacts(
        ledger=ledger,
        settings=settings,
        seed=seed,
        elapsed=max((shard.report.duration for shard in used), default=0.0),
        interrupted=_joined((s.index, s.report.interrupted) for s in used),
        stopped_early=_joined((s.index, s.report.stopped_early) for s in used),
        budget_stop=budget_stop,
        partial_reason=_joined((s.index, s.report.partial) for s in used),
        quarantined=quarantined,
    )
    facts.extras["order_checks"] = checks
    facts.extras["reruns"] = RerunFacts(settings.reruns, capped, new_flaky=new_flaky)
    return facts


_NO_DATA = GateVerdict("-", Verdict.OFF, "-", "-")


def built_in_gates(change: ChangedLines | None, settings: Settings) -> list[Gate]:
    """TQ-01..06, each judged over the union whatever one report lists: their modes come from
    the settings every shard shares (``check_agreement``)."""
    from pytest_atom_gates.cov.gate import CoverageGate
    from pytest_atom_gates.cov.patch_gate import COVERAGE_OFF, PatchCoverageGate

    coverage_off = settings.mode(COVERAGE_GATE) is GateMode.OFF
    patch = PatchCoverageGate(
        None if change is None else change.base.ref, COVERAGE_OFF if coverage_off else None
    )
    return [
        IndependenceGate(),
        PassRateGate(),
        DurationGate(),
        DeterminismGate(),
        CoverageGate(),
        patch,
    ]


def recorded_change(shard: Shard, root: Path) -> ChangedLines | None:
    """The change the shards judged TQ-06 by (every shard recorded the same base)."""
    from pytest_atom_gates.cov.patch import change_from_record

    section = _patch_section(shard)
    record, ref, commit = section.get("change"), section.get("ref"), section.get("commit")
    if not isinstance(record, Mapping) or ref is None or commit is None:
        return None
    try:
        change = change_from_record(record, str(ref), str(commit), root)
    except (AttributeError, TypeError, ValueError) as exc:
        raise MergeRefused(
            f"{shard.report.path}: patch_coverage.change is damaged ({exc!r})"
        ) from None
    if change.lines and not any(Path(path).exists() for path in change.lines):
        raise MergeRefused(
            f"none of the files the shards' change names is under {root}: run atom-gates "
            "merge in the checkout the shards ran in, or give --root"
        )
    return change


def _deferred_without_a_change(verdict: GateVerdict, shards: Sequence[Shard]) -> GateVerdict:
    """TQ-06 deferred by a shard must be judged here: with no change to judge it by, it fails,
    never turns OFF."""
    from pytest_atom_gates.cov.patch_gate import PATCH_GATE

    deferred = any(
        v.gate == PATCH_GATE and v.verdict is Verdict.DEFERRED
        for shard in shards
        for v in shard.report.verdicts
    )
    if verdict.gate != PATCH_GATE or verdict.verdict is not Verdict.OFF or not deferred:
        return verdict
    reason = (
        "the shards deferred TQ-06 to the merge, but their reports hold no change to judge it "
        "by (patch_coverage.change)"
    )
    return replace(verdict, verdict=Verdict.FAIL, measured="n/a", reason=reason)


def with_integrity(verdict: GateVerdict, problems: Sequence[str]) -> GateVerdict:
    """TQ-02 fails, first naming what does not add up, whatever the rate says."""
    if not problems or verdict.gate != PASS_RATE_GATE or verdict.verdict is Verdict.OFF:
        return verdict
    reason = "; ".join([*problems, *([verdict.reason] if verdict.reason else [])])
    if verdict.mode is GateMode.WARN:  # the gate is not enforced; the problems are still named
        if not reason.endswith(NOT_ENFORCED):
            reason += f" ({NOT_ENFORCED})"
        return replace(verdict, verdict=Verdict.WARN, reason=reason)
    return replace(verdict, verdict=Verdict.FAIL, reason=reason)


def with_shard_durations(verdict: GateVerdict, used: Sequence[Shard]) -> GateVerdict:
    """TQ-03 judges the slowest shard (the stage's wall time); the sum is shown beside it."""
    if verdict.gate != DURATION_GATE or verdict.verdict is Verdict.OFF or not used:
        return verdict
    slowest = max(used, key=lambda s: s.report.duration)
    total = sum(s.report.duration for s in used)
    measured = (
        f"{verdict.measured} (slowest: shard {slowest.index}; "
        f"sum of {len(used)} shards {format_seconds(total)})"
    )
    data = {
        **verdict.data,
        "shards": {str(s.index): s.report.duration for s in used},
        "sum": total,
    }
    reason = verdict.reason
    if reason:
        reason = reason.replace("the session took", f"shard {slowest.index} took", 1)
    return replace(verdict, measured=measured, data=data, reason=reason)


_SEVERITY = {Verdict.FAIL: 3, Verdict.WARN: 2, Verdict.PASS: 1, Verdict.OFF: 0, Verdict.DEFERRED: 0}


def extension_verdicts(used: Sequence[Shard]) -> list[GateVerdict]:
    """The extensions' gates, which each shard judged over its own tests: the merge has none of
    their code, so each keeps its worst shard's verdict, naming the shard. A shard that did not
    judge a gate the others did fails it (the gate was not added alike everywhere)."""
    judged: dict[str, list[tuple[int, GateVerdict]]] = {}
    for shard in used:
        for verdict in shard.report.verdicts:
            if verdict.gate not in GATE_NAMES:
                judged.setdefault(verdict.gate, []).append((shard.index, verdict))
    merged = []
    for by_shard in judged.values():
        index, worst = max(by_shard, key=lambda pair: _SEVERITY[pair[1].verdict])
        judged_by = "1 shard" if len(by_shard) == 1 else f"worst of {len(by_shard)} shards"
        measured = f"{worst.measured} ({judged_by}: shard {index})"
        verdict = replace(worst, measured=measured)
        without = sorted({s.index for s in used} - {i for i, _ in by_shard})
        if without and worst.verdict is not Verdict.OFF:
            names = ", ".join(str(i) for i in without)
            reason = f"shard {names} did not judge {worst.gate}: it was not added on every shard"
            failed = Verdict.WARN if worst.mode is GateMode.WARN else Verdict.FAIL
            verdict = replace(verdict, verdict=failed, reason=reason)
        merged.append(verdict)
    return merged


@dataclass
class Merged:
    facts: RunFacts
    verdicts: list[GateVerdict]
    assembly: Assembly
    settings: Settings
    exit_status: int


def merge(shards: Sequence[Shard], root: Path, coverage_baseline: Path | None = None) -> Merged:
    """Judge the shards as one run; with ``coverage_baseline``, hold the combined coverage to it
    and record it there, as a whole run does. Raises ``MergeRefused``."""
    check_agreement(shards)
    assembly = assemble(shards)
    first = assembly.used[0]
    settings = replace(settings_of(first.report), coverage_baseline=coverage_baseline)
    ledger = build_ledger(first.facts.collection, assembly)
    facts = run_facts(assembly, ledger, settings, first.report.seed)
    change = recorded_change(first, root)
    gates = built_in_gates(change, settings)
    if settings.mode(COVERAGE_GATE) is not GateMode.OFF:
        from pytest_atom_gates.cov.shards import ShardSection, shard_coverage

        sections = [
            ShardSection(s.index, s.report.path, s.report.section("coverage") or {})
            for s in assembly.used
        ]
        cov = facts.extras["coverage"] = shard_coverage(
            sections, assembly.missing, settings, root, change
        )
        if coverage_baseline is not None:
            from pytest_atom_gates.cov.feature import ratchet

            ratchet(cov, settings, facts, tuple(change.lines) if change else ())
    verdicts = [
        with_shard_durations(
            with_integrity(_deferred_without_a_change(v, assembly.used), assembly.problems),
            assembly.used,
        )
        for v in evaluate(gates, facts)
    ]
    verdicts += extension_verdicts(assembly.used)
    status = 1 if any(v.fails_run for v in verdicts) else 0
    return Merged(facts, verdicts, assembly, settings, status)


def not_run_count(merged: Merged) -> int:
    return len(merged.facts.ledger.with_outcome(NOT_RUN))
