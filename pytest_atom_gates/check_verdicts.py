"""From what TQ-01's checks saw to each failed test's verdict, its detail and its commands."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from pytest_atom_gates.gates.independence import (
    CHANCE,
    FAILS_ALONE,
    INCONCLUSIVE,
    ORDER_DEPENDENT,
)
from pytest_atom_gates.gates.order_findings import AloneCheck
from pytest_atom_gates.outcomes import FLAKY
from pytest_atom_gates.pollution import (
    CHANCE_NOT_ORDER,
    FLAKY_IN_ORDER,
    FOUND,
    NOT_ANALYSED,
    PolluterSearch,
    polluter_names,
)


class Verdicts:
    """Builds the checks' verdicts; ``reproduce`` gives the command that runs a test after
    others (``file_order`` for a brittle test's passing order), having collected files
    (``collected``)."""

    def __init__(
        self,
        reproduce: Callable[..., str],
        repetitions: Mapping[str, int],
        collected: Sequence[str] = (),
    ) -> None:
        self.reproduce = reproduce
        self.repetitions = repetitions
        self.collected = tuple(collected)
        """The files the run's processes collected: a victim's failure without a set found
        was seen after them, so its command collects them too."""

    def judged(
        self, nodeid: str, detail: str, before: tuple[str, ...], found: PolluterSearch
    ) -> AloneCheck:
        """The alone-check of a test that passed alone, with what the search found: its failure
        did not replay after the tests before it, or its set was not confirmed, is chance."""
        if found.result == INCONCLUSIVE and found.polluters:  # found, then not confirmed
            text = f"{detail}; fails after {polluter_names(found.polluters)}, {found.detail}"
            return not_confirmed(nodeid, text, before, found)
        if found.result == INCONCLUSIVE and not before:  # its replay, then not confirmed
            return not_confirmed(nodeid, f"{detail}; {found.detail}", before, found)
        if found.result == FLAKY_IN_ORDER and found.runs:
            text = f"{detail}; flaky, not order-dependent: {found.detail}"
            return AloneCheck(
                nodeid,
                CHANCE,
                text,
                before,
                search=found.result,
                search_runs=found.runs,
                search_detail=found.detail,
            )
        if found.result == FOUND:
            reproduce = self.reproduce(nodeid, found.polluters)
        else:
            reproduce = self.reproduce(nodeid, before, collected=self.collected)
        return AloneCheck(
            nodeid,
            ORDER_DEPENDENT,
            detail,
            before,
            reproduce,
            polluters=found.polluters,
            search=found.result,
            search_runs=found.runs,
            search_detail="; ".join(filter(None, (self._repeated(found.polluters), found.detail))),
            passes=self.reproduce(nodeid, ()),
            confirmations=found.confirmations,
        )

    def _repeated(self, polluters: Sequence[str]) -> str:
        """The new-test repetitions among a victim's polluters: what it fails after may be
        that the test ran several times, not that it ran."""
        repeated = [(n, self.repetitions[n]) for n in polluters if n in self.repetitions]
        if not repeated:
            return ""
        if len(polluters) == 1:
            return f"it ran {repeated[0][1] + 1} times, with its new-test repetitions"
        ran = ", ".join(f"{n} ran {runs + 1} times" for n, runs in repeated)
        return f"{ran}, with new-test repetitions"

    def brittle(
        self,
        nodeid: str,
        before: tuple[str, ...],
        file_prefix: tuple[str, ...],
        found: PolluterSearch,
    ) -> AloneCheck:
        """A test that failed alone too and passed after ``file_prefix`` in file order."""
        if found.result == FLAKY_IN_ORDER:
            detail = (
                f"failed when run alone too; {found.detail}"
                if found.detail.endswith(CHANCE_NOT_ORDER)
                else (
                    f"failed when run alone too; passed once after the {len(file_prefix)} tests "
                    "before it in file order, not again: flaky, not order-dependent"
                )
            )
            return AloneCheck(nodeid, FAILS_ALONE, detail, before)
        if found.result == INCONCLUSIVE and found.polluters:  # found, then not confirmed
            text = (
                f"failed alone too, passed after {polluter_names(found.polluters)} in file "
                f"order, {found.detail}"
            )
            return not_confirmed(nodeid, text, before, found, brittle=True)
        setters = found.polluters if found.result == FOUND else file_prefix
        return AloneCheck(
            nodeid,
            ORDER_DEPENDENT,
            f"failed alone too, passed after the {len(file_prefix)} tests before it in file order",
            before,
            self.reproduce(nodeid, ()),
            polluters=found.polluters,
            search=found.result,
            search_runs=found.runs + 1,  # the file-order run that found it brittle
            search_detail=found.detail,
            brittle=True,
            confirmations=found.confirmations,
            passes=self.reproduce(nodeid, setters, file_order=True),
        )

    @staticmethod
    def failed(
        nodeid: str,
        before: tuple[str, ...],
        in_file_order: tuple[bool, tuple[str, ...]] | str | None,
    ) -> AloneCheck:
        """A test that failed alone too, and in file order or without an answer there."""
        if isinstance(in_file_order, tuple):
            detail = "failed when run alone too, and in file order"
            if in_file_order[0]:  # it passed, with nothing before it
                detail = (
                    "failed when run alone too; passed in file order with nothing before it: "
                    "flaky, not order-dependent"
                )
            return AloneCheck(nodeid, FAILS_ALONE, detail, before)
        why = in_file_order or "interrupted"
        return AloneCheck(
            nodeid,
            FAILS_ALONE,
            "failed when run alone too",
            before,
            search=NOT_ANALYSED,
            search_detail=why,
        )


def not_confirmed(
    nodeid: str, text: str, before: tuple[str, ...], found: PolluterSearch, *, brittle: bool = False
) -> AloneCheck:
    """A set found and not confirmed before the budget ran out: inconclusive, its set shown. A
    brittle test's runs count the file-order run that found it."""
    return AloneCheck(
        nodeid,
        INCONCLUSIVE,
        text,
        before,
        polluters=found.polluters,
        search=found.result,
        search_runs=found.runs + brittle,
        search_detail=found.detail,
        brittle=brittle,
        confirmations=found.confirmations,
    )


def from_replay(check: AloneCheck) -> AloneCheck:
    """The check of a flaky test that failed in its replay: order-dependent as any victim, else
    flaky (it passed on a rerun in the run), with what the checks saw."""
    if check.result in (ORDER_DEPENDENT, INCONCLUSIVE):
        detail = f"failed again after the tests before its first attempt, {check.detail}"
        return replace(check, detail=detail, origin=FLAKY)
    detail = f"failed again after the tests before its first attempt; {check.detail}"
    if check.search_detail and check.search_detail not in detail:
        detail += f" ({check.search_detail})"
    return replace(check, result=CHANCE, detail=detail, origin=FLAKY, search=None)


def progress_line(found: PolluterSearch, *, brittle: bool = False) -> str:
    """One line per victim (or brittle test), as its search ends; a brittle test's count holds
    the file-order run that found it."""
    runs = found.runs + brittle
    counted = f"{runs} run{'' if runs == 1 else 's'}"
    if found.result == FOUND:
        does = "passes only after" if brittle else "fails after"
        names = polluter_names(found.polluters)
        return f"{found.victim} {does} {names} (found in {counted})"
    missing = "state-setter" if brittle else "polluter"
    if found.result == FLAKY_IN_ORDER and not found.runs:
        return f"{found.victim}: no {missing} to search ({found.detail})"
    if found.result == FLAKY_IN_ORDER:
        return f"{found.victim} is flaky in order: {found.detail}"
    return f"{found.victim}: {missing} not found ({found.result}: {found.detail})"
