"""TQ-02 pass rate: the share of tests that passed, after reruns, from the run itself."""

from __future__ import annotations

from typing import Any

from pytest_atom_gates.gates.base import GateVerdict, RunFacts, Verdict, partial_note
from pytest_atom_gates.gates.numbers import format_percent, format_threshold, meets_minimum
from pytest_atom_gates.ledger import OUTCOMES
from pytest_atom_gates.outcomes import FAILED, FLAKY, NOT_RUN, PASSED, SKIPPED, XFAILED, XPASSED


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class PassRateGate:
    """(passed + flaky) / (selected - skipped - xfailed - xpassed), compared exactly."""

    id = "TQ-02"

    def evaluate(self, facts: RunFacts) -> GateVerdict:
        counts = facts.ledger.counts(excluding=facts.quarantined)
        passed = counts[PASSED] + counts[FLAKY]
        excluded = counts[SKIPPED] + counts[XFAILED] + counts[XPASSED]
        selected = sum(counts.values())
        counted = selected - excluded
        minimum = facts.settings.min_pass_rate
        required = f">= {format_threshold(minimum)}"
        data: dict[str, Any] = {outcome: counts[outcome] for outcome in OUTCOMES}
        data.update(
            selected=selected,
            counted=counted,
            min_pass_rate=str(minimum),
            quarantined=len(facts.quarantined),
        )
        errors = facts.ledger.collection_errors

        reasons = []
        if errors:
            first = errors[0]
            reasons.append(
                f"collection failed: {_plural(len(errors), 'error')} "
                f"(first: {first.nodeid or 'session'}: {first.message})"
            )
        if facts.interrupted:
            reasons.append(f"run interrupted ({facts.interrupted})")
        elif facts.stopped_early:
            reasons.append(f"run stopped early ({facts.stopped_early})")
        if counts[NOT_RUN]:
            reasons.append(f"{_plural(counts[NOT_RUN], 'selected test')} did not run")

        if counted == 0:
            if selected:
                every = (
                    "the 1 selected test was"
                    if selected == 1
                    else f"all {selected} selected tests were"
                )
                reasons.append(f"nothing ran: {every} skipped, xfailed or xpassed")
            elif not errors:
                reasons.append("nothing ran: no tests were selected")
            measured = "n/a (0 tests counted)"
            verdict = Verdict.FAIL
            if (
                selected
                and len(reasons) == 1
                and facts.partial_reason
                and not facts.settings.strict
            ):
                # An IDE run of one skipped test: nothing to judge, nothing wrong either.
                verdict = Verdict.WARN
                reasons[0] += partial_note(facts)
            return GateVerdict(self.id, verdict, measured, required, "; ".join(reasons), data=data)

        rate_ok = meets_minimum(passed, counted, minimum)
        data["pass_rate"] = passed * 100 / counted
        measured = f"{format_percent(passed, counted)} ({passed}/{counted})"
        if not rate_ok:
            failed = counts[FAILED]
            reasons.insert(
                0,
                f"{_plural(failed + counts[NOT_RUN], 'test')} of {counted} "
                f"did not pass, below the minimum of {format_threshold(minimum)}",
            )
        if reasons:
            return GateVerdict(
                self.id, Verdict.FAIL, measured, required, "; ".join(reasons), data=data
            )
        return GateVerdict(self.id, Verdict.PASS, measured, required, data=data)
