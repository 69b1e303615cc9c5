"""TQ-01's checks: which failed (and flaky) tests depend on the order, and on which tests.

A test that failed in the shuffled run and passes alone depends on what ran before it; the
polluter search (``pollution``) then finds which earlier tests it fails after. This module plans
the questions (alone-runs, file-order runs, replays, searches, confirmations); an engine from
``questions`` or ``fork_server`` answers them, running the plugin itself with the same seed, so
the same order and per-test RNG seeds; every set found in forked copies is replayed once in a
fresh process.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import TypeVar

from pytest_atom_gates.check_commands import CheckCommands
from pytest_atom_gates.check_environment import fork_unavailable
from pytest_atom_gates.check_progress import NoProgress, Progress
from pytest_atom_gates.check_runs import Budget, Parallel
from pytest_atom_gates.check_verdicts import Verdicts, from_replay, progress_line
from pytest_atom_gates.forked_copies import PROBE_OVERHEAD, ForkedCopies
from pytest_atom_gates.gates.independence import (
    CHANCE,
    FAILS_ALONE,
    FORKED,
    FRESH,
    INCONCLUSIVE,
    ORDER_DEPENDENT,
    OrderChecks,
)
from pytest_atom_gates.gates.order_findings import AloneCheck, CheckEngine
from pytest_atom_gates.ledger import Ledger, is_file, module_of
from pytest_atom_gates.outcomes import FAILED, FLAKY, PASSED
from pytest_atom_gates.pollution import (
    FLAKY_IN_ORDER,
    FOUND,
    PolluterSearch,
    Probes,
    Replays,
    confirm,
    confirm_alone,
    confirm_replayed,
    find_polluters,
)
from pytest_atom_gates.questions import (
    Answer,
    Engine,
    FreshProcesses,
    Question,
)
from pytest_atom_gates.set_replays import Replayed, replay_sets, with_replays

_Answer = TypeVar("_Answer")
_Probed = Callable[
    [str, Sequence[str], Sequence[str], float], tuple["bool | None", dict[str, bool]]
]
"""A question with probes: test, the tests before it, those to probe after, the timeout."""


class AloneChecker:
    """Runs the alone-checks of one session."""

    def __init__(self, commands: CheckCommands) -> None:
        self.commands = commands
        self.environment = commands.environment
        self.repetitions: dict[str, int] = {}
        """New tests the run repeated, and how many more times: the checks repeat them too."""
        self.engine: Engine = FreshProcesses(commands.child_spec({}))
        """What answers the checks' questions; set up for each ``check``."""
        self.collected_files: tuple[str, ...] = ()
        """The files each process of the run collected, in order (``GatesRun``); set up for
        each ``check``."""
        self.failed_in_replay: set[str] = set()
        """The flaky tests that failed again in the replay of their process, to ask again where
        nothing ran before the test (``pollution.confirm_replayed``)."""

    def reproduce_command(
        self,
        nodeid: str,
        ran_before: Sequence[str],
        *,
        file_order: bool = False,
        collected: Sequence[str] = (),
    ) -> str:
        return self.commands.reproduce_command(
            nodeid, ran_before, file_order=file_order, collected=collected
        )

    def run_alone(self, nodeid: str, timeout: float) -> tuple[str, str]:
        """Run one test alone; return its classification and a short detail."""
        try:
            answer = self.ask([nodeid], timeout)
        except subprocess.TimeoutExpired:
            return INCONCLUSIVE, f"the alone-run took longer than {timeout:.0f} s"
        except OSError as exc:
            return INCONCLUSIVE, f"could not start the alone-run: {exc}"
        outcome = answer.outcome(nodeid)
        if outcome == PASSED:
            return ORDER_DEPENDENT, "passed when run alone"
        if outcome == FAILED:
            return FAILS_ALONE, "failed when run alone too"
        if outcome is not None:
            return INCONCLUSIVE, f"{outcome} when run alone"
        return INCONCLUSIVE, f"the alone-run gave no result ({answer.ended})"

    def run_in_file_order(
        self, tests: Sequence[str], targets: Sequence[str], timeout: float
    ) -> dict[str, tuple[bool, tuple[str, ...]] | str]:
        """Run ``tests`` (one module's selected tests, in file order, up to its last target) in
        one process: did each target pass there, after which tests? A string says why a target
        has no answer."""
        try:
            answer = self.ask(tests, timeout, file_order=True)
        except subprocess.TimeoutExpired:
            return dict.fromkeys(targets, f"its module took longer than {timeout:.0f} s")
        except OSError as exc:
            return dict.fromkeys(targets, f"could not start the file-order run: {exc}")
        answers: dict[str, tuple[bool, tuple[str, ...]] | str] = {}
        for target in targets:
            outcome = answer.outcome(target)
            if outcome is None:
                answers[target] = f"the file-order run gave no result ({answer.ended})"
            elif outcome not in (PASSED, FAILED):
                answers[target] = f"{outcome} in file order"
            else:
                answers[target] = (outcome == PASSED, tuple(tests[: tests.index(target)]))
        return answers

    def fails_after(self, victim: str, tests: Sequence[str], timeout: float) -> bool | None:
        """Does ``victim`` fail when it runs right after ``tests``? None: no answer.

        A question of the polluter search, asked in a replay of the victim's process: having
        collected every file it collected, unless ``tests`` name files (``_collecting``)."""
        return self.fails_after_probed(victim, tests, (), timeout)[0]

    def fails_after_probed(
        self, victim: str, tests: Sequence[str], probes: Sequence[str], timeout: float
    ) -> tuple[bool | None, dict[str, bool]]:
        """``fails_after``, and whether ``victim`` fails right after each of the ``probes``
        (``pollution.Probes``): those a forked copy could answer."""
        tests, collected = self._collecting(victim, tests)
        return self._outcome_after(
            victim,
            tests,
            timeout,
            file_order=False,
            replays=FAILED,
            collected=collected,
            probes=probes,
        )

    def fails_after_set(self, victim: str, tests: Sequence[str], timeout: float) -> bool | None:
        """Does ``victim`` fail right after ``tests`` with no other file collected, as the
        reproduce command of a set found runs it? A short run (``pollution.find_polluters``)."""
        tests, collected = self._collecting(victim, tests, whole=False)
        return self._outcome_after(
            victim, tests, timeout, file_order=False, replays=FAILED, collected=collected
        )[0]

    def _collecting(
        self, victim: str, tests: Sequence[str], *, whole: bool = True
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``tests`` as the tests to run and the files to collect first: the files among them
        (a search of the collection), with the files of the tests and the victim in their
        places; without files among them, every file the victim's process collected (none
        but their own, unless ``whole``)."""
        named = {nodeid for nodeid in tests if is_file(nodeid)}
        run = tuple(nodeid for nodeid in tests if nodeid not in named)
        if not named:
            return run, self.collected_files if whole else ()
        own = {module_of(nodeid) for nodeid in (*run, victim)}
        return run, tuple(f for f in self.collected_files if f in named or f in own)

    def passes_after(self, test: str, tests: Sequence[str], timeout: float) -> bool | None:
        """Does the brittle ``test`` pass right after ``tests``, in file order? None: no answer."""
        return self.passes_after_probed(test, tests, (), timeout)[0]

    def passes_after_probed(
        self, test: str, tests: Sequence[str], probes: Sequence[str], timeout: float
    ) -> tuple[bool | None, dict[str, bool]]:
        """``passes_after``, and whether ``test`` passes right after each of the ``probes``."""
        return self._outcome_after(
            test, tests, timeout, file_order=True, replays=PASSED, probes=probes
        )

    def replays_alone(self, test: str, outcome: str, timeout: float) -> bool | None:
        """Does ``test`` end ``outcome`` once more when run alone? None: no answer."""
        return self._outcome_after(test, (), timeout, file_order=False, replays=outcome)[0]

    def _outcome_after(
        self,
        test: str,
        tests: Sequence[str],
        timeout: float,
        *,
        file_order: bool,
        replays: str,
        collected: tuple[str, ...] = (),
        probes: Sequence[str] = (),
    ) -> tuple[bool | None, dict[str, bool]]:
        try:
            question = Question(
                (*tests, test),
                file_order,
                collected,
                probes=tuple(probes),
                stop_at=replays if probes else None,
            )
            answer = self.engine.ask(question, timeout)
        except (subprocess.TimeoutExpired, OSError):
            return None, {}
        outcome = answer.outcome(test)
        probed = {after: o == replays for after, o in answer.probes if o in (FAILED, PASSED)}
        return (outcome == replays if outcome in (FAILED, PASSED) else None), probed

    def ask(
        self,
        tests: Sequence[str],
        timeout: float,
        *,
        file_order: bool = False,
        collected: tuple[str, ...] = (),
    ) -> Answer:
        """Run ``tests`` by themselves, in this run's order (or file order), after collecting
        the ``collected`` files (``Question.collected``): each outcome."""
        return self.engine.ask(Question(tuple(tests), file_order, collected), timeout)

    def check(
        self,
        ledger: Ledger,
        failed: Sequence[str],
        limit: int,
        *,
        flaky: Sequence[str] = (),
        budget_spent: Callable[[], bool] = lambda: False,
        seconds: float | None = None,
        progress: Progress | None = None,
        workers: int = 1,
        collected: Sequence[str] | None = None,
        collected_files: Iterable[str] = (),
    ) -> OrderChecks:
        """Replay the ``flaky`` tests (failed, then passed on a rerun) after the tests that ran
        before them, one process per process of the run; those that fail there join the
        ``failed`` tests. Rerun those alone, in the order they ran; those that fail alone too
        once more after their module's earlier tests in file order; then find the polluters of
        those that passed alone and the state-setters of those that passed in file order, and
        confirm each set found. ``workers`` processes run at a time.

        ``collected`` is the selected tests in collection order (file order), when known;
        ``collected_files`` every file the run's processes collected, which replays collect too.
        ``limit`` bounds the questions of all steps together, ``seconds`` their time;
        ``budget_spent`` says when the session's own time budget is spent (the checks count
        towards it). What was left undone is reported, with the reason.
        """
        self.repetitions = ledger.repetitions()
        self.collected_files = tuple(collected_files) or tuple(
            dict.fromkeys(
                map(module_of, collected or [n for s in ledger.sequences.values() for n in s])
            )
        )
        fresh = FreshProcesses(self.commands.child_spec(self.repetitions))
        unavailable = fork_unavailable(self.environment)
        forked = None if unavailable else ForkedCopies(fresh.spec, fresh)
        self.engine = forked or fresh
        progress = progress or NoProgress()
        budget = Budget(limit, budget_spent, seconds, asked=progress.asked)
        parallel = Parallel(workers, (forked or fresh).stop)
        checking = partial(
            self._check,
            ledger,
            budget=budget,
            parallel=parallel,
            progress=progress,
            collected=collected,
        )
        refreshed: list[str] = []
        try:
            result = checking(failed, flaky)
            replays = self._replay_sets(result, fresh, ledger, parallel)
            result = with_replays(result, replays, self.collected_files, self.reproduce_command)
            if forked is not None and not forked.unusable:
                refreshed = [n for n, replay in replays.items() if not replay.reproduced]
            if refreshed:  # a fresh process disagreed: those tests are checked in fresh ones
                self.engine = fresh
                again = checking(
                    [n for n in failed if n in refreshed], [n for n in flaky if n in refreshed]
                )
                replayed = self._replay_sets(again, fresh, ledger, parallel)
                again = with_replays(again, replayed, self.collected_files, self.reproduce_command)
                result = _merged(result, again, set(refreshed))
        finally:
            (forked or fresh).close()
        result.engine = CheckEngine(
            FORKED if forked is not None and forked.forked else FRESH,
            unavailable or (forked.unusable if forked else None),
            forked.forked if forked else 0,
            fresh.started,
            tuple(refreshed),
            forked.handed_over if forked else 0,
            forked.handed_over_reason if forked else None,
            forked.probes if forked else 0,
        )
        return result

    def _replay_sets(
        self, result: OrderChecks, fresh: FreshProcesses, ledger: Ledger, parallel: Parallel
    ) -> dict[str, Replayed]:
        timeout = partial(self._timeout, ledger)
        return replay_sets(result, fresh, self.collected_files, timeout, parallel)

    def _check(
        self,
        ledger: Ledger,
        failed: Sequence[str],
        flaky: Sequence[str],
        /,
        *,
        budget: Budget,
        parallel: Parallel,
        progress: Progress,
        collected: Sequence[str] | None,
    ) -> OrderChecks:
        result = OrderChecks()
        replayed = self._replay_flaky(ledger, flaky, budget, parallel, result)
        progress.settled(sum(answer is True for answer in replayed.values()))
        failed = [*failed, *(n for n, answer in replayed.items() if answer is False)]

        checked = self._alone_runs(
            ledger, failed, replayed, budget, parallel=parallel, result=result
        )
        progress.settled(sum(v not in (ORDER_DEPENDENT, FAILS_ALONE) for _, v, _ in checked))
        prefixes = {nodeid: tuple(ledger.ran_before(nodeid)) for nodeid, _, _ in checked}
        victims = [nodeid for nodeid, verdict, _ in checked if verdict == ORDER_DEPENDENT]
        collections = {
            victim: [f for f in self.collected_files if f != module_of(victim)]
            for victim in victims
        }

        fail_alone = [nodeid for nodeid, verdict, _ in checked if verdict == FAILS_ALONE]
        file_order = self._in_file_order(ledger, fail_alone, collected, budget, parallel)
        file_prefixes = {
            n: answer[1] for n, answer in file_order.items() if isinstance(answer, tuple)
        }
        # Passing in file order with nothing before it is chance, not order: it is flaky.
        brittle = [
            n
            for n, answer in file_order.items()
            if isinstance(answer, tuple) and answer[0] and answer[1]
        ]
        progress.settled(len(fail_alone) - len(brittle))

        asked = _Asked(ledger, budget, parallel, forked=self.engine.mechanism == FORKED)
        asking = asked.asking

        def settled(search: PolluterSearch) -> None:
            progress.line(progress_line(search, brittle=search.victim in file_prefixes))
            progress.settled()

        found: dict[str, PolluterSearch] = {}
        for tests, earlier, question, probed, files, short in (
            (
                victims,
                prefixes,
                self.fails_after,
                self.fails_after_probed,
                collections,
                asking(self.fails_after_set),
            ),
            (brittle, file_prefixes, self.passes_after, self.passes_after_probed, None, None),
        ):
            found |= find_polluters(
                tests,
                earlier,
                asking(question),
                parallel.map,
                settled=settled,
                probes=asked.probing(probed),
                collections=files,
                short_ask=short,
            )
        found |= self._confirmed(found, set(brittle), asking, parallel)
        verdicts = Verdicts(self.reproduce_command, self.repetitions, self.collected_files)
        for nodeid, verdict, detail in checked:
            if nodeid in victims:
                check = verdicts.judged(nodeid, detail, prefixes[nodeid], found[nodeid])
            elif nodeid in found:
                check = verdicts.brittle(
                    nodeid, prefixes[nodeid], file_prefixes[nodeid], found[nodeid]
                )
            elif nodeid in file_order:
                check = verdicts.failed(nodeid, prefixes[nodeid], file_order[nodeid])
            else:
                check = AloneCheck(nodeid, verdict, detail, prefixes[nodeid])
            result.checks.append(from_replay(check) if nodeid in replayed else check)
        for nodeid, passed_again in replayed.items():
            if passed_again:
                before = tuple(ledger.ran_before(nodeid))
                detail = (
                    f"passed again after the {len(before)} tests that ran before its first attempt"
                )
                result.checks.append(AloneCheck(nodeid, CHANCE, detail, before, origin=FLAKY))
        result.interrupted = parallel.interrupted
        return result

    def _alone_runs(
        self,
        ledger: Ledger,
        failed: Sequence[str],
        replayed: Mapping[str, bool],
        budget: Budget,
        *,
        parallel: Parallel,
        result: OrderChecks,
    ) -> list[tuple[str, str, str]]:
        """Each test run alone: its node id, classification and detail. Those the budget or an
        interrupt left out go to ``result``, with the reason."""

        def run_alone(nodeid: str) -> tuple[str, str]:
            return self.run_alone(nodeid, timeout=self._timeout(ledger, [nodeid]))

        checked: list[tuple[str, str, str]] = []
        answers = parallel.map(budget.guarded(run_alone), failed)
        for nodeid, answer in zip(failed, answers, strict=True):
            if isinstance(answer, tuple):
                checked.append((nodeid, *answer))
                continue
            why = answer or "interrupted during the alone-runs"  # the budget's reason, or None
            if nodeid in replayed:
                result.flaky_unchecked.append(nodeid)
                result.flaky_reason = result.flaky_reason or why
            else:
                result.unchecked.append(nodeid)
                result.skipped_reason = result.skipped_reason or why
        return checked

    def _replay_flaky(
        self,
        ledger: Ledger,
        flaky: Sequence[str],
        budget: Budget,
        parallel: Parallel,
        result: OrderChecks,
    ) -> dict[str, bool]:
        """Each flaky test's place in its process, replayed without reruns: one process per
        process of the run, up to its last flaky test. True: it passed there (flaky); False: it
        failed there (a candidate victim). Those without an answer go to
        ``result.flaky_unchecked``, with the reason."""
        by_process: dict[str, list[str]] = {}
        for nodeid in flaky:
            process = ledger.process_of(nodeid)
            if process is None:  # its worker died before its setup was reported
                result.flaky_unchecked.append(nodeid)
                result.flaky_reason = result.flaky_reason or "its place in the run is unknown"
            else:
                by_process.setdefault(process, []).append(nodeid)
        # Each replay runs its process's tests up to its last flaky test, having collected
        # what the process collected, as it had when they ran: a module collected after them,
        # or whose tests were deselected or ran elsewhere, may have broken them at import.
        replays: list[tuple[tuple[str, ...], list[str]]] = []
        for process, members in by_process.items():
            sequence = ledger.sequences.get(process, [])
            last = max(sequence.index(member) for member in members)
            replays.append((tuple(sequence[: last + 1]), members))

        def one(replay: tuple[tuple[str, ...], list[str]]) -> dict[str, str | None] | str:
            tests, members = replay
            timeout = self._timeout(ledger, tests)
            try:
                answer = self.ask(tests, timeout, collected=self.collected_files)
            except subprocess.TimeoutExpired:
                return "the replay took longer than its time limit"
            except OSError as exc:
                return f"could not start the replay: {exc}"
            if not answer.outcomes:
                return f"the replay gave no result ({answer.ended})"
            return {member: answer.outcome(member) for member in members}

        answers: dict[str, bool] = {}
        for replay, answer in zip(replays, parallel.map(budget.guarded(one), replays), strict=True):
            _, members = replay
            for member in members:
                outcome = answer.get(member) if isinstance(answer, dict) else None
                if outcome in (PASSED, FAILED):
                    answers[member] = outcome == PASSED
                    if outcome == FAILED:
                        self.failed_in_replay.add(member)
                    continue
                result.flaky_unchecked.append(member)
                if isinstance(answer, dict):
                    why = f"{outcome} in the replay" if outcome else "not in the replay's report"
                else:
                    why = answer or "interrupted during the replays"
                result.flaky_reason = result.flaky_reason or why
        return answers

    def _confirmed(
        self,
        found: dict[str, PolluterSearch],
        brittle: set[str],
        asking: Callable[
            [Callable[[str, Sequence[str], float], bool | None]],
            Callable[[str, Sequence[str]], bool | None],
        ],
        parallel: Parallel,
    ) -> dict[str, PolluterSearch]:
        """Every set found, confirmed (``pollution.confirm``): a victim fails after it and
        passes alone again, a brittle test passes after it and fails alone again."""
        after_victim, after_brittle = asking(self.fails_after), asking(self.passes_after)
        alone_passes = asking(lambda test, _, timeout: self.replays_alone(test, PASSED, timeout))
        alone_fails = asking(lambda test, _, timeout: self.replays_alone(test, FAILED, timeout))
        fails_in_replay = asking(self._fails_in_replay)

        def one(nodeid: str) -> PolluterSearch:
            if nodeid in brittle:
                replays = Replays(
                    partial(after_brittle, nodeid),
                    partial(alone_fails, nodeid, ()),
                    "passed after",
                    "failed alone",
                )
            else:
                replays = Replays(partial(after_victim, nodeid), partial(alone_passes, nodeid, ()))
            return confirm(found[nodeid], replays)

        def one_alone(nodeid: str) -> PolluterSearch:
            if nodeid not in self.failed_in_replay:  # the run cannot be asked again
                return confirm_alone(found[nodeid], partial(alone_passes, nodeid, ()))
            replays = Replays(
                lambda _: fails_in_replay(nodeid, ()),  # nothing ran before it
                partial(alone_passes, nodeid, ()),
                "failed again in the replay of its run",
            )
            return confirm_replayed(found[nodeid], replays)

        settled = [n for n, search in found.items() if search.result == FOUND]
        # Nothing ran before it: its alone-run is asked again, and its replay where it failed
        # again in one (`one_alone`).
        first = [
            n
            for n, search in found.items()
            if search.result == FLAKY_IN_ORDER and not search.runs and n not in brittle
        ]
        answers = zip(
            [*settled, *first],
            [*parallel.map(one, settled), *parallel.map(one_alone, first)],
            strict=True,
        )
        return {nodeid: answer for nodeid, answer in answers if answer is not None}

    def _fails_in_replay(self, test: str, _: Sequence[str], timeout: float) -> bool | None:
        """Does ``test``, which ran first in its process, fail again in the replay of it
        (``_replay_flaky``): having collected what the process collected? The tests after it
        cannot change its outcome, and are not run. None: no answer."""
        try:
            outcome = self.ask((test,), timeout, collected=self.collected_files).outcome(test)
        except (subprocess.TimeoutExpired, OSError):
            return None
        return None if outcome not in (PASSED, FAILED) else outcome == FAILED

    def _in_file_order(
        self,
        ledger: Ledger,
        targets: Sequence[str],
        collected: Sequence[str] | None,
        budget: Budget,
        parallel: Parallel,
    ) -> dict[str, tuple[bool, tuple[str, ...]] | str | None]:
        """Each target's outcome after its module's selected tests in file order: one process
        per module, up to its last target, so that no test after them runs."""
        if collected is None:
            return dict.fromkeys(targets, "the collection order is unknown")
        by_module: dict[str, list[str]] = {}
        for target in targets:
            by_module.setdefault(module_of(target), []).append(target)
        position = {nodeid: i for i, nodeid in enumerate(collected)}
        runs: list[tuple[list[str], list[str]]] = []
        answers: dict[str, tuple[bool, tuple[str, ...]] | str | None] = {}
        # The modules whose alone-runs came last first: their groups are the server's
        # most recent, and still there to answer (fork_server.MAX_GROUPS).
        for module, members in reversed(by_module.items()):
            if any(member not in position for member in members):
                answers.update(dict.fromkeys(members, "the collection order is unknown"))
                continue
            last = max(position[member] for member in members)
            tests = [n for n in collected[: last + 1] if module_of(n) == module]
            runs.append((tests, members))

        def one(run: tuple[list[str], list[str]]) -> dict[str, tuple[bool, tuple[str, ...]] | str]:
            tests, members = run
            return self.run_in_file_order(tests, members, self._timeout(ledger, tests))

        for (_, members), answer in zip(runs, parallel.map(budget.guarded(one), runs), strict=True):
            if isinstance(answer, dict):
                answers.update(answer)
            else:  # the budget's reason for refusing the run, or None: interrupted
                answers.update(dict.fromkeys(members, answer))
        return answers

    @staticmethod
    def _timeout(ledger: Ledger, nodeids: Sequence[str]) -> float:
        """Ten times what these tests took in the run, and never under two minutes."""
        spent = sum(ledger.durations.get(nodeid, 0.0) for nodeid in nodeids)
        return max(120.0, 10 * spent)


class _Asked:
    """The questions of the searches and confirmations: each counted against the budget,
    stopped by an interrupt, given its timeout."""

    def __init__(self, ledger: Ledger, budget: Budget, parallel: Parallel, *, forked: bool):
        self.ledger = ledger
        self.budget = budget
        self.parallel = parallel
        self.forked = forked

    def _guarded(self, call: Callable[[], _Answer]) -> _Answer:
        if self.parallel.interrupted:
            raise KeyboardInterrupt
        self.budget.take()
        try:
            return call()
        except KeyboardInterrupt:  # every later step must stop too, not only this search
            self.parallel.interrupted = True
            raise

    def asking(
        self, question: Callable[[str, Sequence[str], float], bool | None]
    ) -> Callable[[str, Sequence[str]], bool | None]:
        def ask(test: str, tests: Sequence[str]) -> bool | None:
            timeout = AloneChecker._timeout(self.ledger, [*tests, test])
            return self._guarded(partial(question, test, tests, timeout))

        return ask

    def probing(self, question: _Probed) -> Probes | None:
        if not self.forked:
            return None  # a fresh process cannot probe

        def ask(
            test: str, tests: Sequence[str], after: Sequence[str]
        ) -> tuple[bool | None, dict[str, bool]]:
            # Each probe runs its test again, and the asked test after it.
            timeout = AloneChecker._timeout(self.ledger, [*tests, test, *(test for _ in after)])
            return self._guarded(partial(question, test, tests, after, timeout))

        return Probes(ask, partial(_probe_cost, self.ledger))


def _probe_cost(ledger: Ledger, test: str, tests: Sequence[str]) -> float:
    """What one probe costs, in tests of the mean length of ``tests`` in the run: one of them
    again, ``test`` after it, and a fork."""
    durations = ledger.durations
    mean = max(sum(durations.get(nodeid, 0.0) for nodeid in tests) / max(len(tests), 1), 1e-6)
    return 1 + (durations.get(test, 0.0) + PROBE_OVERHEAD) / mean


def _merged(first: OrderChecks, again: OrderChecks, redone: set[str]) -> OrderChecks:
    """``first``'s checks, those of the ``redone`` tests replaced by ``again``'s."""
    return replace(
        first,
        checks=[c for c in first.checks if c.nodeid not in redone] + again.checks,
        unchecked=first.unchecked + again.unchecked,
        skipped_reason=first.skipped_reason or again.skipped_reason,
        flaky_unchecked=first.flaky_unchecked + again.flaky_unchecked,
        flaky_reason=first.flaky_reason or again.flaky_reason,
        interrupted=first.interrupted or again.interrupted,
    )
