"""Every set TQ-01's checks found, replayed once in a fresh process, as its command runs it.

A polluter set or state-setter set found (in forked copies or fresh processes) is asked once
more of a fresh process, with one of the tests that named it and snapshots of the process state
(``process_state``): whether it reproduces there, and what the set changed. A victim's set of
tests that does not reproduce by itself is replayed once more having collected every file its
process collected: a failure that needs a module's import as well as the tests reproduces there,
and its reproduce command collects those files too. A set that reproduces in neither has its
tests checked again in fresh processes (``order_check``).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import NamedTuple

from pytest_atom_gates.check_runs import Parallel
from pytest_atom_gates.gates.independence import OrderChecks
from pytest_atom_gates.gates.order_findings import AloneCheck
from pytest_atom_gates.ledger import is_file
from pytest_atom_gates.outcomes import FAILED, PASSED
from pytest_atom_gates.pollution import FOUND
from pytest_atom_gates.questions import FreshProcesses, Question


class Replayed(NamedTuple):
    """A set found, replayed in a fresh process."""

    reproduced: bool
    state: tuple[tuple[str, ...], tuple[str, ...]] | None
    """What the set changed in the process, and what was still changed after the test."""
    with_collection: bool = False
    """It reproduced only having collected every file the test's process collected."""


def replay_sets(
    result: OrderChecks,
    fresh: FreshProcesses,
    collected_files: tuple[str, ...],
    timeout: Callable[[Sequence[str]], float],
    parallel: Parallel,
) -> dict[str, Replayed]:
    """Each set found, replayed: by the node id of every test that named it."""
    if parallel.interrupted:
        return {}
    groups: dict[tuple[bool, tuple[str, ...]], list[AloneCheck]] = {}
    for check in result.order_dependent:
        if check.search != FOUND:
            # No set found: its commands replay what the run itself and its alone-run (or
            # file-order run) showed, each a question a copy answers as a fresh process.
            continue
        groups.setdefault((check.brittle, check.polluters), []).append(check)

    def replayed(key: tuple[bool, tuple[str, ...]]) -> Replayed:
        (brittle, polluters), nodeid = key, groups[key][0].nodeid
        expected = PASSED if brittle else FAILED
        # As its reproduce command runs it: the files found collected, the tests run.
        tests = tuple(n for n in polluters if not is_file(n))
        question = Question(
            (*tests, nodeid),
            file_order=brittle,
            collected=tuple(n for n in polluters if is_file(n)),
            state_between=(tests[0], tests[-1]) if tests else None,
        )
        seconds = timeout(question.tests)
        try:
            answer = fresh.ask(question, seconds)
            if answer.outcome(nodeid) == expected:
                return Replayed(True, answer.state)
            if brittle or not tests or not collected_files:
                return Replayed(False, answer.state)
            answer = fresh.ask(replace(question, collected=collected_files), seconds)
        except (subprocess.TimeoutExpired, OSError):
            return Replayed(False, None)
        reproduced = answer.outcome(nodeid) == expected
        return Replayed(reproduced, answer.state, with_collection=reproduced)

    keys = list(groups)
    answers = parallel.map(replayed, keys)
    return {
        check.nodeid: answer
        for key, answer in zip(keys, answers, strict=True)
        if answer is not None
        for check in groups[key]
    }


def with_replays(
    result: OrderChecks,
    replays: Mapping[str, Replayed],
    collected_files: tuple[str, ...],
    reproduce: Callable[..., str],
) -> OrderChecks:
    """The checks, each with what its set changed in the process, where its replay saw it;
    one that reproduced only having collected its process's files says so, and its command
    (from ``reproduce``) collects them."""
    needs = f"only having collected the {len(collected_files)} files its process collected"
    checks = []
    for check in result.checks:
        replay = replays.get(check.nodeid)
        replayed = check
        if replay is not None and replay.state is not None:
            changes, after_victim = replay.state
            replayed = replace(replayed, state_changes=changes, state_after_victim=after_victim)
        if replay is not None and replay.with_collection:
            replayed = replace(
                replayed,
                reproduce=reproduce(check.nodeid, check.polluters, collected=collected_files),
                search_detail="; ".join(filter(None, (check.search_detail, needs))),
            )
        checks.append(replayed)
    return replace(result, checks=checks)
