"""TQ-06 patch coverage in a run: the gate over the changed lines, and how it is shown.

On whenever ``--atom-gates-changed-since`` names a base, off otherwise. By default every changed
executable line (and every branch out of one) must be covered: one untested line is not diluted
by the rest of the change. A change with no executable line in the coverage source has nothing
to judge and passes saying so; changed lines coverage.py never measured fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_atom_gates.cov.gate import FACTS_KEY
from pytest_atom_gates.cov.measure import GATE as COVERAGE_GATE
from pytest_atom_gates.features import Writer
from pytest_atom_gates.gates.base import GateVerdict, RunFacts, Verdict, partial_note
from pytest_atom_gates.gates.numbers import format_percent, format_threshold, meets_minimum
from pytest_atom_gates.settings import GateMode, Settings

# The judging of a change is imported when there is a change to judge.
if TYPE_CHECKING:
    from pytest_atom_gates.changes import ChangedLines
    from pytest_atom_gates.cov.facts import CoverageFacts
    from pytest_atom_gates.cov.patch import PatchFacts

PATCH_GATE = "TQ-06"

PLACES_SHOWN = 20
"""Uncovered places named in the terminal and the reason; the rest are counted."""

NO_BASE = "no base to compare with: --atom-gates-changed-since=REF (or auto on a pull request)"
COVERAGE_OFF = "TQ-05 coverage is off: nothing measures the change"


def _places(places: list[str]) -> str:
    shown = ", ".join(places[:PLACES_SHOWN])
    more = len(places) - PLACES_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


class PatchCoverageGate:
    """TQ-06: the coverage of what the change touches, judged on the run's combined data."""

    id = PATCH_GATE

    def __init__(self, ref: str | None, off: str | None = None) -> None:
        self.ref = ref
        self.off = off
        """Why the gate is off, when it is."""

    def evaluate(self, facts: RunFacts) -> GateVerdict:
        settings = facts.settings
        required = f">= {format_threshold(settings.min_patch_coverage)} of changed lines"
        if self.off is not None or self.ref is None:
            return GateVerdict(self.id, Verdict.OFF, "-", "-", self.off or NO_BASE)
        cov: CoverageFacts | None = facts.extras.get(FACTS_KEY)
        patch = None if cov is None else cov.patch
        if cov is None or patch is None:
            why = "no coverage facts" if cov is None else (cov.no_data or "; ".join(cov.problems))
            reason = f"coverage of the change could not be measured: {why or 'no data'}"
            return self._verdict(
                facts, Verdict.FAIL, measured="n/a", required=required, reasons=[reason], patch=None
            )
        return self._judge(facts, cov, patch, required)

    def _judge(
        self, facts: RunFacts, cov: CoverageFacts, patch: PatchFacts, required: str
    ) -> GateVerdict:
        settings = facts.settings
        never = sum(len(f.lines) for f in patch.unmeasured)
        lines = patch.lines + never
        since = f"since {patch.ref}"
        if lines == 0:
            reason = (
                f"nothing to judge: no executable line of the coverage source changed {since} "
                f"({patch.changed_files} changed file{'' if patch.changed_files == 1 else 's'})"
            )
            return self._verdict(
                facts,
                Verdict.PASS,
                measured="n/a (0 lines)",
                required=required,
                reasons=[reason],
                patch=patch,
            )
        covered_lines = patch.lines - patch.missing
        covered = covered_lines + patch.branches - patch.missing_branches
        total = lines + patch.branches
        measured = f"{format_percent(covered, total)} ({covered_lines}/{lines} lines"
        if patch.branches:
            measured += f", {patch.branches - patch.missing_branches}/{patch.branches} branches"
        measured += ")"
        if lines < settings.patch_min_lines:
            reason = (
                f"not judged: {lines} changed executable line{'' if lines == 1 else 's'} "
                f"{since}, fewer than --atom-gates-patch-min-lines={settings.patch_min_lines}"
            )
            return self._verdict(
                facts,
                Verdict.PASS,
                measured=measured,
                required=required,
                reasons=[reason],
                patch=patch,
            )
        reasons = []
        if cov.missing_workers:
            reasons.append(
                f"coverage incomplete: data from {', '.join(cov.missing_workers)} missing"
            )
        if patch.unmeasured:
            files = ", ".join(f"{f.path} ({len(f.lines)})" for f in patch.unmeasured)
            reasons.append(f"changed lines coverage.py never measured: {files}")
        if patch.missing:
            from pytest_atom_gates.cov.patch import uncovered_places

            reasons.append(
                f"{patch.missing} of {patch.lines} changed lines not covered: "
                f"{_places(uncovered_places(patch))}"
            )
        if patch.missing_branches:
            arcs = [
                f"{f.path}:{start}->{'exit' if end < 0 else end}"
                for f in patch.files
                for start, end in f.missing_branches
            ]
            reasons.append(
                f"{patch.missing_branches} of {patch.branches} branches from changed lines "
                f"never taken: {_places(arcs)}"
            )
        passed = meets_minimum(covered, total, settings.min_patch_coverage)
        if passed and not cov.missing_workers and not patch.unmeasured:
            # Below 100 % a few uncovered lines may be allowed: said, not failed.
            return self._verdict(
                facts,
                Verdict.PASS,
                measured=measured,
                required=required,
                reasons=reasons,
                patch=patch,
            )
        return self._verdict(
            facts, Verdict.FAIL, measured=measured, required=required, reasons=reasons, patch=patch
        )

    def _verdict(
        self,
        facts: RunFacts,
        verdict: Verdict,
        *,
        measured: str,
        required: str,
        reasons: list[str],
        patch: PatchFacts | None,
    ) -> GateVerdict:
        data: dict[str, Any] = {"ref": self.ref}
        if patch is not None:
            data.update(
                commit=patch.commit,
                lines=patch.lines + sum(len(f.lines) for f in patch.unmeasured),
                missing=patch.missing + sum(len(f.lines) for f in patch.unmeasured),
                branches=patch.branches,
                missing_branches=patch.missing_branches,
            )
        reason = "; ".join(reasons) or None
        if verdict is Verdict.FAIL and facts.partial_reason and not facts.settings.strict:
            reason = f"{reason}{partial_note(facts)}"
            verdict = Verdict.WARN
        return GateVerdict(self.id, verdict, measured, required, reason, data=data)


class PatchCoverageFeature:
    """TQ-06's gate, its header part, its report section and its lines in the summary."""

    name = "patch_coverage"

    def __init__(
        self, settings: Settings, ref: str | None, change: ChangedLines | None = None
    ) -> None:
        self.settings = settings
        self.ref = ref
        self.change = change
        coverage_off = settings.mode(COVERAGE_GATE) is GateMode.OFF
        off = COVERAGE_OFF if coverage_off else None
        if ref is None and settings.changed_since is not None:
            off = f"--atom-gates-changed-since={settings.changed_since} named no base"
        self.gate = PatchCoverageGate(ref, off)

    def header(self) -> str:
        mode = self.settings.mode(PATCH_GATE)
        if self.ref is None:
            given = self.settings.changed_since
            why = "no --atom-gates-changed-since" if given is None else f"{given}: no base"
            return f"{PATCH_GATE} patch coverage off ({why})"
        if mode is GateMode.OFF or self.gate.off:
            return f"{PATCH_GATE} patch coverage (off)"
        suffix = "" if mode is GateMode.ENFORCE else f" ({mode.value})"
        minimum = format_threshold(self.settings.min_patch_coverage)
        return f"{PATCH_GATE} patch coverage >= {minimum} since {self.ref}{suffix}"

    def contribute(self, facts: RunFacts) -> None:
        pass  # TQ-05's facts carry the changed lines' coverage

    def report_section(self, facts: RunFacts) -> Mapping[str, Any]:
        patch = _patch_of(facts)
        section: dict[str, Any] = {"ref": self.ref, **({} if patch is None else patch.to_dict())}
        if self.change is not None:  # what atom-gates merge judges a shard's change by
            from pytest_atom_gates.cov.patch import change_record

            cov: CoverageFacts | None = facts.extras.get(FACTS_KEY)
            root = Path(cov.root) if cov is not None and cov.root else self.change.base.top
            section["commit"] = self.change.base.commit
            section["change"] = change_record(self.change, root)
        return section

    def render(self, write: Writer, verbosity: int, facts: RunFacts) -> None:
        patch = _patch_of(facts)
        if patch is None or verbosity < 0 or not (patch.missing or patch.unmeasured):
            return
        from pytest_atom_gates.cov.patch import ranges, uncovered_places

        places = uncovered_places(patch) + [
            f"{f.path}:{span} (never measured)"
            for f in patch.unmeasured
            for span in ranges(f.lines)
        ]
        write("")
        write(f"changed lines not covered (TQ-06, since {patch.ref}):", bold=True)
        for place in places[:PLACES_SHOWN]:
            write(f"  {place}", red=True)
        if len(places) > PLACES_SHOWN:
            write(f"  and {len(places) - PLACES_SHOWN} more (the JSON report lists them all)")


def _patch_of(facts: RunFacts) -> PatchFacts | None:
    cov: CoverageFacts | None = facts.extras.get(FACTS_KEY)
    return None if cov is None else cov.patch
