"""TQ-01 polluter search: which earlier tests make an order-dependent test fail.

A victim failed in the shuffled run and passed alone. Its prefix, the tests that ran before it in
the same process, holds whatever broke it, or the files its process collected do. The search asks
one question of fresh pytest processes: does the victim fail when it runs after just these tests
(same seed, same options), having collected what its process collected?

- First the whole prefix: if the victim passes after it, the failure does not replay and the
  victim is *flaky in order*, with no polluter to name.
- Then bisection, one run per halving: the earlier half is tried; if the victim fails after it,
  the polluter is there, else it is assumed to be in the later half. The last test left is
  tried alone with the victim, which confirms the assumption. Where several tests each break
  the victim, this finds the first of them in the prefix.
- When that confirmation fails, the failure needs tests from both halves: delta debugging (ddmin)
  over the whole prefix finds a smallest set whose every test is needed.

What a module does when imported happens at collection, before any test: a file collected with
the victim (its tests after it, on another worker, deselected, in another shard) can break it.
Each question collects every file the victim's process collected, in the same order, so a
victim broken that way fails after any test, and bisection ends at the first test of the
prefix. Where it ends there, or nothing ran before the victim, one more question runs it with
nothing before it: if it fails, bisection (or ddmin) over the files, each question collecting only
those, names the smallest set of files whose collection breaks it; a polluter that is a file
reads ``collecting a.py``.

Known polluters are tried first: each victim is run right after each set found so far, one short
run, before any new search. One polluter with 20 victims costs one search and 20 short runs.

A *brittle* test, which fails alone too but passes after the tests before it in file order, is
searched the same way with the question turned round (does it pass after just these tests?):
the smallest set found is the tests that set it up. Its whole prefix is asked again too: a test
that passed there once but not twice is flaky, and no test is to blame.

A forked copy can *probe* on its way through the first question: before some tests of the
prefix, a copy of it runs that test and then the victim, answering "does the victim fail after
the prefix up to here?" for the price of two tests (``Probes``). The first probe the victim
fails after, and the last before it that it passed after, bound where the polluter is: bisection
starts within those bounds, not the whole prefix, and delta debugging from the first bound.

No question is asked twice: ddmin comes back to sets it has tried, and bisection's confirmation
may be a set it has just asked about; the answer already given stands.

Chance must not become order dependence: a test that fails at random fails after some prefixes and
passes alone in some runs. So a set found is *confirmed* before it is named: the victim must fail
after it, and pass alone, ``CONFIRMATIONS`` times each (a brittle test: pass after its setters and
fail alone). One contradicting answer makes the test flaky in order, with the counts as evidence.
A test that fails one run in two passes the whole gauntlet once in 2**6 = 64 attempts at most
beyond the search's own answers.

The logic here is pure: it is handed the question as a function, so it is tested without
processes; ``order_check`` asks it of real pytest processes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial

from pytest_atom_gates.gates.independence import INCONCLUSIVE
from pytest_atom_gates.ledger import is_file

FOUND = "found"
FLAKY_IN_ORDER = "flaky-in-order"
"""No set to name: the victim passed again after everything that ran before it, having collected
what its process collected, so no earlier test or file is to blame (chance); or nothing ran
before it and its process collected no other file."""
NOT_ANALYSED = "not-analysed"

CHANCE_NOT_ORDER = "chance, not order"
"""How the evidence of a set that was not confirmed ends."""
MAX_PROBES = 32
"""At most this many probes on a search's first question."""
CONFIRMATIONS = 4
"""Agreeing answers of each kind that name a polluter set: the search's own answer and the
alone-run count as one each."""

FailsAfter = Callable[[Sequence[str]], "bool | None"]
"""Does the victim fail when run right after these tests (a brittle test: pass)? None when a run
gave no answer."""


ProbedAsk = Callable[[Sequence[str], Sequence[str]], "tuple[bool | None, Mapping[str, bool]]"]
"""Does the victim fail after these tests, and after the prefix of them up to each of the
given tests? Only those probes that gave an answer are in the mapping."""


@dataclass(frozen=True)
class Probes:
    """How a search asks its first question with probes."""

    ask: Callable[[str, Sequence[str], Sequence[str]], tuple[bool | None, Mapping[str, bool]]]
    """``ProbedAsk`` for a victim; may raise ``StopSearch``."""
    cost: Callable[[str, Sequence[str]], float]
    """What one probe costs for this victim after these tests, in tests of their mean
    length."""


def probe_points(prefix: Sequence[str], cost: float) -> list[str]:
    """The tests of ``prefix`` to probe after, evenly spaced; none where probing would not pay.

    Bisection from the whole prefix runs about twice its tests; from probes ``k`` apart it runs
    about ``2 n / k`` tests after the ``k`` probes, so ``k = sqrt(2 n / cost)`` costs least.
    Probing is left out unless it saves at least a quarter of the prefix."""
    count = len(prefix)
    probes = min(MAX_PROBES, round(math.sqrt(2 * count / max(cost, 1.0))))
    if probes < 2 or 2 * count / probes + probes * cost > 0.75 * count:
        return []
    step = count / (probes + 1)
    return [prefix[round(step * (index + 1)) - 1] for index in range(probes)]


class StopSearch(Exception):
    """The search cannot go on: the budget is spent, a run gave no answer, or an interrupt."""

    def __init__(self, result: str, detail: str) -> None:
        super().__init__(detail)
        self.result = result
        self.detail = detail


@dataclass(frozen=True)
class PolluterSearch:
    """What the search found out about one victim."""

    victim: str
    result: str
    polluters: tuple[str, ...] = ()
    runs: int = 0
    detail: str = ""
    confirmations: int = 0
    """Runs after the search that gave the same answers again (see ``confirm``)."""


class _Counted:
    """The question, counted and stopped at the first run that gives no answer."""

    def __init__(self, fails_after: FailsAfter) -> None:
        self.fails_after = fails_after
        self.runs = 0
        self.answers: dict[tuple[str, ...], bool] = {}
        self.hints: dict[int, bool] = {}
        """What probes saw, by the length of the prefix: guidance, never an answer."""

    def __call__(self, tests: Sequence[str]) -> bool:
        asked = tuple(tests)
        known = self.answers.get(asked)
        if known is not None:
            return known
        answer = self.fails_after(tests)  # raises StopSearch when no run may start
        self.runs += 1
        if answer is None:
            raise StopSearch(INCONCLUSIVE, f"run {self.runs} of the search gave no result")
        self.answers[asked] = answer
        return answer

    def probed(self, tests: Sequence[str], ask: ProbedAsk, after: Sequence[str]) -> bool | None:
        """The question on ``tests`` with probes ``after`` those tests: their answers are kept
        as hints, by the length of the start of ``tests`` they ran. None: the question ended at
        the first probe the victim failed after, without an answer for all of ``tests``."""
        answer, probes = ask(tests, after)
        self.runs += 1
        position = {test: index for index, test in enumerate(tests)}
        self.hints = {position[t] + 1: fails for t, fails in probes.items() if t in position}
        if answer is None and not any(self.hints.values()):
            raise StopSearch(INCONCLUSIVE, f"run {self.runs} of the search gave no result")
        if answer is not None:
            self.answers[tuple(tests)] = answer
        return answer

    def bounds(self, prefix: Sequence[str]) -> tuple[int, int]:
        """The shortest start of ``prefix`` a probe saw the victim fail after, and the longest
        shorter one it saw it pass after: the last test needed lies between them."""
        hints = self.hints
        end = min((n for n, fails in hints.items() if fails), default=len(prefix))
        start = max((n for n, fails in hints.items() if not fails and n < end), default=0)
        return start, end


def bisect(prefix: Sequence[str], fails: Callable[[Sequence[str]], bool]) -> list[str] | None:
    """The single test of ``prefix`` the victim fails after, if one test alone does it; the
    first such test when several do, as probes find it too."""
    candidates = list(prefix)
    while len(candidates) > 1:
        middle = len(candidates) // 2
        earlier = candidates[:middle]
        candidates = earlier if fails(earlier) else candidates[middle:]
    if len(prefix) > 1 and not fails(candidates):
        return None  # it takes tests from both halves
    return candidates


def ddmin(tests: Sequence[str], fails: Callable[[Sequence[str]], bool]) -> list[str]:
    """A 1-minimal subset of ``tests`` the victim still fails after (Zeller's ddmin).

    ``fails(tests)`` must hold. Every test of the result is needed: without any one of them
    the victim passes.
    """
    current = list(tests)
    parts = 2
    while len(current) >= 2:
        size = len(current) / parts
        chunks = [current[round(i * size) : round((i + 1) * size)] for i in range(parts)]
        chunks = [chunk for chunk in chunks if chunk]
        for chunk in chunks:
            if fails(chunk):
                current, parts = chunk, 2
                break
        else:
            for index in range(len(chunks)):
                complement = [t for i, chunk in enumerate(chunks) if i != index for t in chunk]
                if len(chunks) > 2 and fails(complement):
                    current, parts = complement, max(parts - 1, 2)
                    break
            else:
                if parts >= len(current):
                    break
                parts = min(len(current), parts * 2)
    return current


def search(
    victim: str,
    prefix: Sequence[str],
    fails_after: FailsAfter,
    probes: Probes | None = None,
    collection: Sequence[str] = (),
) -> PolluterSearch:
    """Find the smallest set of ``prefix`` tests that the victim fails after; or, when it
    fails with nothing before it after its process's ``collection`` (the other files collected
    with it), the smallest set of those files."""
    counted = _Counted(fails_after)
    try:
        if not prefix:
            files = _collection_search(collection, counted) if collection else None
            if files is not None:
                return PolluterSearch(victim, FOUND, tuple(files), counted.runs)
            detail = "nothing ran before it"
            if collection:
                others = f"{len(collection)} other file{'' if len(collection) == 1 else 's'}"
                detail += f", and it passed after collecting the {others} its process collected"
            return PolluterSearch(victim, FLAKY_IN_ORDER, (), counted.runs, detail)
        after = [] if probes is None else probe_points(prefix, probes.cost(victim, prefix))
        if after:
            assert probes is not None
            whole = counted.probed(prefix, partial(probes.ask, victim), after)
        else:
            whole = counted(prefix)
        if whole is False:
            return _passed_after_all(victim, prefix, counted.runs)
        start, end = counted.bounds(prefix)
        found = bisect(prefix[start:end], counted)
        if found is not None and not counted(found):  # asked already, unless probes bounded it
            found = None
        if found is None:
            if end < len(prefix) and not counted(prefix[:end]):  # a probe misled: all of it
                end = len(prefix)
            if end == len(prefix) and not counted(prefix):  # unless asked: a probe ended it
                return _passed_after_all(victim, prefix, counted.runs)
            found = ddmin(prefix[:end], counted)
        if collection and list(found) == [prefix[0]]:
            # Every question collected the whole collection: a victim broken by that alone
            # fails after any test, and so after the first. Is it the test, or the files?
            found = _collection_search(collection, counted) or found
    except StopSearch as stop:
        return PolluterSearch(victim, stop.result, (), counted.runs, stop.detail)
    return PolluterSearch(victim, FOUND, tuple(found), counted.runs)


def _collection_search(files: Sequence[str], counted: _Counted) -> list[str] | None:
    """The smallest set of ``files`` whose collection the victim fails after with no test
    before it; None when it passes after collecting them all. Every other question of the
    search collects them all too, as the run's process had."""
    if not counted(()):
        return None
    counted.answers[tuple(files)] = True  # the same question: no other file is collected
    found = bisect(files, counted)
    if found is not None and not counted(found):  # a single file, asked now
        found = None
    return found if found is not None else ddmin(files, counted)


def _passed_after_all(victim: str, prefix: Sequence[str], runs: int) -> PolluterSearch:
    detail = f"passed again after the {len(prefix)} tests that ran before it"
    return PolluterSearch(victim, FLAKY_IN_ORDER, (), runs, detail)


Ask = Callable[[str, Sequence[str]], "bool | None"]
"""Does this victim fail right after these tests? May raise ``StopSearch``."""
InParallel = Callable[[Callable[[str], "bool | None"], Sequence[str]], list["bool | None"]]
"""Answers for several victims at once, in their order; raises KeyboardInterrupt when stopped."""


def _one_at_a_time(one: Callable[[str], bool | None], victims: Sequence[str]) -> list[bool | None]:
    return [one(victim) for victim in victims]


def find_polluters(
    victims: Sequence[str],
    prefixes: Mapping[str, Sequence[str]],
    ask: Ask,
    in_parallel: InParallel = _one_at_a_time,
    *,
    settled: Callable[[PolluterSearch], None] = lambda found: None,
    probes: Probes | None = None,
    collections: Mapping[str, Sequence[str]] | None = None,
    short_ask: Ask | None = None,
) -> dict[str, PolluterSearch]:
    """Search the victims in order; each polluter set found is tried on the others first.

    Once a set is found, every victim still open that ran after all of it (and whose process
    collected its files) gets one short run right after it, ``in_parallel``; those that fail
    there are settled without a search of their own. ``settled`` hears of each victim as its
    result is known. ``collections``: each victim's other files collected (``search``).
    ``short_ask`` asks the short runs, where it differs from ``ask``: a victim broken by its
    collection alone fails after any set if the question collects every file, so a short run
    collects only the set's files, as the set's reproduce command does.
    """
    collections = collections or {}
    short_ask = short_ask or ask
    results: dict[str, PolluterSearch] = {}
    short_runs: dict[str, int] = {}
    pending = list(victims)

    def settle(found: PolluterSearch) -> None:
        results[found.victim] = found
        settled(found)

    try:
        while pending:
            victim = pending[0]
            found = search(
                victim, prefixes[victim], partial(ask, victim), probes, collections.get(victim, ())
            )
            pending.pop(0)
            settle(_plus_runs(found, short_runs.get(victim, 0)))
            if found.result != FOUND:
                continue
            group = [
                v
                for v in pending
                if set(found.polluters) <= {*prefixes[v], *collections.get(v, ())}
            ]

            def short_run(v: str, polluters: tuple[str, ...] = found.polluters) -> bool | None:
                try:
                    answer = short_ask(v, polluters)
                except StopSearch:
                    return None
                short_runs[v] = short_runs.get(v, 0) + 1
                return answer

            for v, answer in zip(group, in_parallel(short_run, group), strict=True):
                if answer:
                    pending.remove(v)
                    settle(PolluterSearch(v, FOUND, found.polluters, short_runs[v]))
    except KeyboardInterrupt:
        for victim in pending:
            settle(PolluterSearch(victim, NOT_ANALYSED, (), 0, "interrupted"))
    return results


def _plus_runs(found: PolluterSearch, runs: int) -> PolluterSearch:
    if not runs:
        return found
    return PolluterSearch(
        found.victim, found.result, found.polluters, found.runs + runs, found.detail
    )


@dataclass(frozen=True)
class Replays:
    """The two questions that confirm a set found, and how their answers read."""

    after: FailsAfter
    """Does the test replay its run's outcome after these tests (victim: fail; brittle: pass)?"""
    alone: Callable[[], bool | None]
    """Does it replay its alone-run's outcome (victim: pass; brittle: fail)?"""
    after_words: str = "failed after"
    alone_words: str = "passed alone"


def confirm(found: PolluterSearch, replays: Replays, needed: int = CONFIRMATIONS) -> PolluterSearch:
    """``found`` once its set and its alone-run have each replayed ``needed`` times, asked in
    turn; flaky in order at the first answer that contradicts them. When a run cannot start or
    gives no answer, the set stands if each answer has replayed at least once (saying how far
    it was confirmed), else the search is inconclusive: a spent budget neither names chance as
    a polluter nor lets an order-dependent test pass silently."""
    if found.result != FOUND:
        return found
    after = alone = 1  # the search's answer and the alone-run that made it a victim
    asked = 0
    try:
        while after < needed or alone < needed:
            by_itself = alone <= after
            answer = replays.alone() if by_itself else replays.after(found.polluters)
            asked += 1
            if answer is None:
                raise StopSearch(INCONCLUSIVE, f"confirmation run {asked} gave no result")
            if not answer:
                tried_after, tried_alone = after + (not by_itself), alone + by_itself
                replayed = replays.after_words
                if found.polluters:
                    replayed = f"{replayed} {polluter_names(found.polluters)}"
                detail = (
                    f"{replayed} in {after} of {tried_after} runs, {replays.alone_words} in "
                    f"{alone} of {tried_alone}: {CHANCE_NOT_ORDER}"
                )
                return PolluterSearch(found.victim, FLAKY_IN_ORDER, (), found.runs + asked, detail)
            if by_itself:
                alone += 1
            else:
                after += 1
    except StopSearch as stop:
        agreed = after + alone - 2
        detail = f"not confirmed: {agreed} of {2 * needed - 2} runs agreed, then {stop.detail}"
        if after < 2 or alone < 2:  # neither replayed once more: no verdict either way
            return replace(found, result=INCONCLUSIVE, confirmations=agreed, detail=detail)
        return replace(found, confirmations=agreed, detail=detail)
    return replace(found, confirmations=asked)


def confirm_replayed(
    found: PolluterSearch, replays: Replays, needed: int = CONFIRMATIONS
) -> PolluterSearch:
    """A flaky test with nothing before it that failed again where its run was replayed: the
    replay and its alone-run are each asked again, ``needed`` times in all (``confirm``, with
    the replay as the set, and its rules for a spent budget). One contradicting answer makes
    it chance: a question answered both ways is no evidence of order."""
    confirmed = confirm(replace(found, result=FOUND), replays, needed)
    if confirmed.result in (FLAKY_IN_ORDER, INCONCLUSIVE):
        return confirmed
    detail = found.detail  # kept as the search left it, with how far a spent budget let it go
    if confirmed.detail != found.detail:
        detail = f"{detail}; {confirmed.detail}"
    return replace(found, confirmations=confirmed.confirmations, detail=detail)


def confirm_alone(
    found: PolluterSearch, alone: Callable[[], bool | None], needed: int = CONFIRMATIONS
) -> PolluterSearch:
    """A victim with nothing before it: no prefix to replay, so only its alone-run is asked
    again, ``needed`` times in all; one failure there makes it chance."""
    passed = 1
    try:
        while passed < needed:
            answer = alone()
            if answer is None:
                break
            if not answer:
                detail = f"passed alone in {passed} of {passed + 1} runs: {CHANCE_NOT_ORDER}"
                return PolluterSearch(found.victim, FLAKY_IN_ORDER, (), passed, detail)
            passed += 1
    except StopSearch:
        pass
    return replace(found, confirmations=passed - 1)


def polluter_names(polluters: Sequence[str]) -> str:
    """``a``, or ``a and b together``: the tests a victim fails after; files read
    ``collecting a.py`` (``collecting a.py and b.py together``)."""
    files = all(map(is_file, polluters))
    names = [f"collecting {p}" if is_file(p) and not files else p for p in polluters]
    text = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]} together"
    return f"collecting {text}" if files else text
