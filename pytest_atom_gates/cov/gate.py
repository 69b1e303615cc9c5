"""TQ-05 coverage: the combined total against the minimum, by coverage.py's own rounding rule."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pytest_atom_gates.cov.measure import GATE, MEASURED_BY_COVERAGE_RUN, MEASURED_BY_PYTEST_COV
from pytest_atom_gates.gates.base import GateVerdict, RunFacts, Verdict, partial_note
from pytest_atom_gates.gates.numbers import format_threshold

if TYPE_CHECKING:
    from pytest_atom_gates.cov.facts import CoverageFacts, PackageResult

FACTS_KEY = "coverage"
"""Where the coverage feature leaves its ``CoverageFacts`` in ``RunFacts.extras``."""

_SOURCES_SHOWN = 3


def effective_precision(minimum: Decimal, precision: int) -> int:
    """The decimals coverage.py's ``fail_under`` compares with: ``[report] precision``, or more
    when the minimum itself has more (25.5 is compared to one decimal)."""
    if minimum == minimum.to_integral_value():
        return precision
    return max(precision, -int(minimum.normalize().as_tuple().exponent))


def below(percent: float, minimum: Decimal, precision: int) -> bool:
    """Whether ``coverage report --fail-under=minimum`` would fail on this total."""
    from coverage.results import should_fail_under

    return bool(should_fail_under(percent, float(minimum), precision))


def shown_percent(percent: float, minimum: Decimal, precision: int) -> str:
    """The total as ``coverage report`` prints it: never 0 or 100 unless exactly so, and with
    as many decimals as the comparison with ``minimum`` uses."""
    from coverage.results import display_covered

    return str(display_covered(percent, effective_precision(minimum, precision)))


def package_judgement(package: PackageResult, precision: int) -> tuple[str, bool]:
    """A package's shown percentage (or why there is none) and whether it meets its minimum."""
    if package.figures is None:
        return package.problem or "not measured", False
    percent = package.figures.percent
    shown = shown_percent(percent, package.minimum, precision)
    return f"{shown} %", not below(percent, package.minimum, precision)


def describe_measurement(cov: CoverageFacts) -> str:
    """Who measured with which core, and what: ``sysmon; core, api, tools``."""
    parts = [cov.core or "core unknown"]
    if cov.measured_by in (MEASURED_BY_PYTEST_COV, MEASURED_BY_COVERAGE_RUN):
        parts[0] = f"{cov.measured_by}, {parts[0]}"
    if cov.sources:
        shown = ", ".join(cov.sources[:_SOURCES_SHOWN])
        extra = len(cov.sources) - _SOURCES_SHOWN
        parts.append(shown + (f" +{extra} more" if extra > 0 else ""))
    else:
        parts.append("all code run, tests included")
    return "; ".join(parts)


def required_minimum(settings_minimum: Decimal, cov: CoverageFacts | None) -> tuple[Decimal, str]:
    """The minimum TQ-05 holds the total to, and where it was set (empty for TQ-05's own).

    A minimum the user gave coverage.py or pytest-cov stands: the strictest one wins.
    """
    minimum, source = settings_minimum, ""
    for value, where in cov.user_minimums if cov is not None else ():
        if value > minimum:
            minimum, source = value, where
    return minimum, source


class CoverageGate:
    """FAIL below the minimum, and whenever the figure cannot be trusted: not measured,
    data lost with a worker, nothing measured, a source or package that matched nothing.
    On a partial run a failure is a warning unless ``--atom-gates-strict``."""

    id = GATE

    def evaluate(self, facts: RunFacts) -> GateVerdict:
        settings = facts.settings
        cov: CoverageFacts | None = facts.extras.get(FACTS_KEY)
        minimum, minimum_source = required_minimum(settings.min_coverage, cov)
        required = f">= {format_threshold(minimum)}"
        if minimum_source:
            required += f" ({minimum_source})"
        if cov is None:
            return GateVerdict(self.id, Verdict.FAIL, "n/a", required, "coverage was not measured")
        reasons = list(cov.problems)
        data: dict[str, Any] = {
            "measured_by": cov.measured_by,
            "core": cov.core,
            "sources": list(cov.sources),
            "min_coverage": str(minimum),
            "min_coverage_source": minimum_source or None,
            "precision": effective_precision(minimum, cov.precision),
            "percent": None,
            "missing_workers": list(cov.missing_workers),
            "packages": {},
        }
        totals = cov.totals
        measured = "n/a"
        shown: str | None = None
        if totals is not None and totals.statements:
            shown = shown_percent(totals.percent, minimum, cov.precision)
            data["percent"] = totals.percent
            partial = " partial" if cov.missing_workers else ""
            measured = f"{shown} %{partial} ({describe_measurement(cov)})"
        # The reasons that make the figure untrustworthy come before the figure's own.
        if cov.missing_workers:
            lost = ", ".join(cov.missing_workers)
            figure = "none" if shown is None else f"{shown} %"
            reasons.append(
                f"coverage incomplete: data from {lost} missing; partial figure {figure}"
            )
        if totals is None or shown is None:
            why = cov.no_data or "0 statements in the measured files"
            reasons.append(f"nothing measured: {why}")
        elif below(totals.percent, minimum, cov.precision):
            source = f" set by {minimum_source}" if minimum_source else ""
            reasons.append(
                f"total {shown} % is below the minimum of {format_threshold(minimum)}{source}"
            )
        reasons += cov.baseline_drops
        if cov.unmatched_sources:
            reasons.append(f"sources that matched nothing: {', '.join(cov.unmatched_sources)}")
        if reasons:
            reasons += cov.shadowed_sources
            if cov.unmeasured_imports:  # the figure may be low: say why, and how to check
                reasons.append(cov.unmeasured_imports)
        for package in cov.packages:
            shown_package, passed = package_judgement(package, cov.precision)
            data["packages"][package.package] = {
                "percent": None if package.figures is None else package.figures.percent,
                "min_coverage": str(package.minimum),
                "passed": passed,
            }
            if not passed:
                reasons.append(
                    f"package {package.package}: {shown_package}, "
                    f"minimum {format_threshold(package.minimum)}"
                )
        if not reasons:
            return GateVerdict(self.id, Verdict.PASS, measured, required, data=data)
        reason = "; ".join(reasons)
        if facts.partial_reason and not settings.strict:
            reason += partial_note(facts)
            return GateVerdict(self.id, Verdict.WARN, measured, required, reason, data=data)
        return GateVerdict(self.id, Verdict.FAIL, measured, required, reason, data=data)
