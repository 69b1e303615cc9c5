"""TQ-01 alone-checks: rerun a failed test by itself in a fresh pytest process with the same seed.

A test that failed in the shuffled run and passes alone depends on what ran before it; the
polluter search (``pollution``) then finds which earlier tests it fails after. Every check runs
the plugin itself in the child (same seed, so the same order and per-test RNG seeds) and reads
the child's JSON report; it never parses terminal output.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TypeVar

import pytest

from pytest_atom_gates.gates.independence import (
    CHANCE,
    FAILS_ALONE,
    INCONCLUSIVE,
    ORDER_DEPENDENT,
    AloneCheck,
    OrderChecks,
)
from pytest_atom_gates.invocation import ARGS_FILES, Invocation, Launcher
from pytest_atom_gates.ledger import FAILED, FLAKY, PASSED, Ledger, module_of
from pytest_atom_gates.new_tests import REPLAY_ENV
from pytest_atom_gates.pollution import (
    CHANCE_NOT_ORDER,
    FLAKY_IN_ORDER,
    FOUND,
    NOT_ANALYSED,
    PolluterSearch,
    Replays,
    StopSearch,
    confirm,
    confirm_alone,
    find_polluters,
    polluter_names,
)
from pytest_atom_gates.settings import SHARD_ENV

_CHILD_ENV_DROP = (
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    "PYTEST_XDIST_TESTRUNUID",
    "PYTEST_CURRENT_TEST",
    # The child is given these options on its command line, less what it must not repeat.
    "PYTEST_ADDOPTS",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    # Set by coverage.py's subprocess measurement of this run, which has ended by now: the
    # child's data would only be left behind beside the combined data file.
    "COVERAGE_PROCESS_CONFIG",
    # A CI shard's number selects tests; the child names its own (see SELECTION_DESTS).
    *SHARD_ENV,
)
_INLINE_LIMIT = 30
"""At most this many preceding tests go inline into a reproduce command; more go into a file."""


def _engine_overrides(config: pytest.Config) -> list[str]:
    """Switch off parallelism and coverage so the child runs exactly one process."""
    overrides = []
    if config.pluginmanager.hasplugin("xdist"):
        overrides += ["-n", "0"]
    if config.pluginmanager.hasplugin("_cov"):
        overrides.append("--no-cov")
    return overrides


def _args_file_name(nodeid: str) -> str:
    """A file name for ``nodeid``'s reproduce arguments, one per node id.

    The readable part drops punctuation (``test_x-y.py`` and ``test_x_y.py`` read alike), so a
    hash of the whole node id tells them apart.
    """
    readable = "".join(c if c.isalnum() else "_" for c in nodeid)[-60:]
    digest = hashlib.blake2b(nodeid.encode(), digest_size=6).hexdigest()
    return f"reproduce-{readable}-{digest}.txt"


class AloneChecker:
    """Runs the alone-checks of one session."""

    def __init__(
        self,
        config: pytest.Config,
        seed: int,
        extra_args: Sequence[str] = (),
        environment: Mapping[str, str] | None = None,
        path: Sequence[str] | None = None,
    ) -> None:
        self.config = config
        self.seed = seed
        self.environment = dict(os.environ if environment is None else environment)
        self.launcher = Launcher.of_session(
            config.invocation_params.dir, sys.path if path is None else path
        )
        self.extra_args = list(extra_args)
        self.invocation_dir = config.invocation_params.dir
        self.invocation = Invocation(config)
        self.repetitions: dict[str, int] = {}
        """New tests the run repeated, and how many more times: the checks repeat them too."""
        self.engine = _engine_overrides(config)
        self.plain_ids: Mapping[str, str] = {}
        """Node ids with pytest-xdist's ``@group`` suffix, and without it (``GatesRun``)."""
        self._children: set[subprocess.Popen[str]] = set()
        self._lock = threading.Lock()

    def cli_id(self, nodeid: str) -> str:
        """A node id as an argument that works from the invocation directory."""
        nodeid = self.plain_ids.get(nodeid, nodeid)  # an "@" in a parameter id stays
        path, sep, rest = nodeid.partition("::")
        target = self.config.rootpath / path
        try:
            relative = os.path.relpath(target, self.invocation_dir)
        except ValueError:  # another drive on Windows
            relative = str(target)
        return relative + sep + rest

    def command(self, invocation_args: Sequence[str], *, file_order: bool = False) -> list[str]:
        """The gates with this run's seed, the invocation's options, then one process (in file
        order, for a brittle test's passing order)."""
        order = ["--atom-gates-order=file"] if file_order else []
        return [
            "--atom-gates",
            f"--atom-gates-seed={self.seed}",
            *invocation_args,
            *self.engine,
            *order,
        ]

    def reproduce_command(
        self, nodeid: str, ran_before: Sequence[str], *, file_order: bool = False
    ) -> str:
        """The command that replays ``nodeid`` after the tests that ran before it.

        Long lists go into an argument file (``pytest @file``, one argument per line, pytest 8.2
        and newer) in pytest's cache, so the command stays short enough to paste.
        """
        args = [self.cli_id(n) for n in (*ran_before, nodeid)]
        command = [
            *self.launcher.shown,
            *self.command(self.invocation.shown_args(), file_order=file_order),
        ]
        cache = getattr(self.config, "cache", None)
        if len(ran_before) <= _INLINE_LIMIT or cache is None or not ARGS_FILES:
            return shlex.join([*command, *args])
        try:
            args_file = cache.mkdir("atom_gates") / _args_file_name(nodeid)
            args_file.write_text("\n".join(args) + "\n", encoding="utf-8")
        except OSError:  # an unusable cache costs only the command's length
            return shlex.join([*command, *args])
        return shlex.join([*command, f"@{args_file}"])

    def run_alone(self, nodeid: str, timeout: float) -> tuple[str, str]:
        """Run one test alone; return its classification and a short detail."""
        try:
            outcome, done = self.run_tests([nodeid], nodeid, timeout)
        except subprocess.TimeoutExpired:
            return INCONCLUSIVE, f"the alone-run took longer than {timeout:.0f} s"
        except OSError as exc:
            return INCONCLUSIVE, f"could not start the alone-run: {exc}"
        if outcome == PASSED:
            return ORDER_DEPENDENT, "passed when run alone"
        if outcome == FAILED:
            return FAILS_ALONE, "failed when run alone too"
        if outcome is not None:
            return INCONCLUSIVE, f"{outcome} when run alone"
        return INCONCLUSIVE, f"the alone-run gave no result ({_why_no_result(done)})"

    def run_in_file_order(
        self, tests: Sequence[str], targets: Sequence[str], timeout: float
    ) -> dict[str, tuple[bool, tuple[str, ...]] | str]:
        """Run ``tests`` (one module's selected tests, in file order, up to its last target) in
        one process: did each target pass there, after which tests? A string says why a target
        has no answer."""
        try:
            ran, done = self.run_report(tests, timeout, file_order=True)
        except subprocess.TimeoutExpired:
            return dict.fromkeys(targets, f"its module took longer than {timeout:.0f} s")
        except OSError as exc:
            return dict.fromkeys(targets, f"could not start the file-order run: {exc}")
        outcomes = dict(ran)
        answers: dict[str, tuple[bool, tuple[str, ...]] | str] = {}
        for target in targets:
            outcome = outcomes.get(target)
            if outcome is None:
                answers[target] = f"the file-order run gave no result ({_why_no_result(done)})"
            elif outcome not in (PASSED, FAILED):
                answers[target] = f"{outcome} in file order"
            else:
                answers[target] = (outcome == PASSED, tuple(tests[: tests.index(target)]))
        return answers

    def fails_after(self, victim: str, tests: Sequence[str], timeout: float) -> bool | None:
        """Does ``victim`` fail when it runs right after ``tests``? None: no answer."""
        return self._outcome_after(victim, tests, timeout, file_order=False, replays=FAILED)

    def passes_after(self, test: str, tests: Sequence[str], timeout: float) -> bool | None:
        """Does the brittle ``test`` pass right after ``tests``, in file order? None: no answer."""
        return self._outcome_after(test, tests, timeout, file_order=True, replays=PASSED)

    def replays_alone(self, test: str, outcome: str, timeout: float) -> bool | None:
        """Does ``test`` end ``outcome`` once more when run alone? None: no answer."""
        return self._outcome_after(test, (), timeout, file_order=False, replays=outcome)

    def _outcome_after(
        self, test: str, tests: Sequence[str], timeout: float, *, file_order: bool, replays: str
    ) -> bool | None:
        try:
            outcome, _ = self.run_tests([*tests, test], test, timeout, file_order=file_order)
        except (subprocess.TimeoutExpired, OSError):
            return None
        if outcome not in (FAILED, PASSED):
            return None
        return outcome == replays

    def run_tests(
        self, nodeids: Sequence[str], wanted: str, timeout: float, *, file_order: bool = False
    ) -> tuple[str | None, subprocess.CompletedProcess[str]]:
        """Run ``nodeids`` in a fresh process, in this run's order; ``wanted``'s outcome."""
        ran, done = self.run_report(nodeids, timeout, file_order=file_order)
        return dict(ran).get(wanted), done

    def run_report(
        self, nodeids: Sequence[str], timeout: float, *, file_order: bool = False
    ) -> tuple[list[tuple[str, str]], subprocess.CompletedProcess[str]]:
        """Run ``nodeids`` in a fresh process: each test's outcome, in the order they ran."""
        with tempfile.TemporaryDirectory(prefix="atom-gates-alone-") as folder:
            report = Path(folder) / "alone.json"
            command = [
                *self.launcher.child(sys.executable),
                *self.command(self.invocation.child_args(), file_order=file_order),
                "-o",
                "addopts=",
                "--atom-gates-order-checks=0",
                "--atom-gates-reruns=0",
                "--atom-gates-new-test-runs=0",
                # Its own TQ-05 would erase the coverage data file that the run which
                # started it has just written.
                "--atom-gates-mode=TQ-05:off",
                f"--atom-gates-report={report}",
                # Its own cache: the run's seed and last failures stay the run's.
                "-o",
                f"cache_dir={Path(folder) / 'cache'}",
                "-q",
                *self.extra_args,
                *self._selection(nodeids, Path(folder)),
            ]
            env = {k: v for k, v in self.environment.items() if k not in _CHILD_ENV_DROP}
            repeated = {n: self.repetitions[n] for n in nodeids if n in self.repetitions}
            if repeated:
                replay = Path(folder) / "repetitions.json"
                replay.write_text(json.dumps(repeated), encoding="utf-8")
                env[REPLAY_ENV] = str(replay)
            done = self._run_child(command, env, timeout)
            return _tests_in_report(report), done

    def _run_child(
        self, command: list[str], env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """``subprocess.run``, with the child known to ``_kill_children`` while it runs."""
        child = subprocess.Popen(
            command,
            cwd=self.invocation_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # A test's output is bytes until proven text: only a failure's last line is read.
            encoding="utf-8",
            errors="backslashreplace",
        )
        with self._lock:
            self._children.add(child)
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except BaseException:  # a timeout, or an interrupt of this thread
            child.kill()
            child.communicate()
            raise
        finally:
            with self._lock:
                self._children.discard(child)
        return subprocess.CompletedProcess(command, child.returncode, stdout, stderr)

    def _kill_children(self) -> None:
        """Stop every child still running: the checks were interrupted."""
        with self._lock:
            for child in self._children:
                child.kill()

    def _selection(self, nodeids: Sequence[str], folder: Path) -> list[str]:
        """The node ids as arguments; many go into an argument file, past the OS's limits."""
        args = [self.cli_id(n) for n in nodeids]
        if len(args) <= _INLINE_LIMIT or not ARGS_FILES:
            return args
        args_file = folder / "selection.txt"
        args_file.write_text("\n".join(args) + "\n", encoding="utf-8")
        return [f"@{args_file}"]

    def check(
        self,
        ledger: Ledger,
        failed: Sequence[str],
        limit: int,
        *,
        flaky: Sequence[str] = (),
        budget_spent: Callable[[], bool] = lambda: False,
        seconds: float | None = None,
        progress: Callable[[str], None] = lambda line: None,
        workers: int = 1,
        collected: Sequence[str] | None = None,
    ) -> OrderChecks:
        """Replay the ``flaky`` tests (failed, then passed on a rerun) after the tests that ran
        before them, one process per process of the run; those that fail there join the
        ``failed`` tests. Rerun those alone, in the order they ran; those that fail alone too
        once more after their module's earlier tests in file order; then find the polluters of
        those that passed alone and the state-setters of those that passed in file order, and
        confirm each set found. ``workers`` processes run at a time.

        ``collected`` is the selected tests in collection order (file order), when known.
        ``limit`` bounds the extra processes of all steps together, ``seconds`` their time;
        ``budget_spent`` says when the session's own time budget is spent (the checks count
        towards it). What was left undone is reported, with the reason.
        """
        result = OrderChecks()
        self.repetitions = ledger.repetitions()
        budget = _Budget(limit, budget_spent, seconds)
        parallel = _Parallel(workers, self._kill_children)
        replayed = self._replay_flaky(ledger, flaky, budget, parallel, result)
        failed = [*failed, *(n for n, answer in replayed.items() if answer is False)]

        checked = self._alone_runs(
            ledger, failed, replayed, budget, parallel=parallel, result=result
        )
        prefixes = {nodeid: tuple(ledger.ran_before(nodeid)) for nodeid, _, _ in checked}
        victims = [nodeid for nodeid, verdict, _ in checked if verdict == ORDER_DEPENDENT]

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

        def asking(
            question: Callable[[str, Sequence[str], float], bool | None],
        ) -> Callable[[str, Sequence[str]], bool | None]:
            def ask(test: str, tests: Sequence[str]) -> bool | None:
                if parallel.interrupted:
                    raise KeyboardInterrupt
                budget.take()
                try:
                    return question(test, tests, self._timeout(ledger, [*tests, test]))
                except KeyboardInterrupt:  # every later step must stop too, not only this search
                    parallel.interrupted = True
                    raise

            return ask

        def settled(search: PolluterSearch) -> None:
            progress(_progress_line(search, brittle=search.victim in file_prefixes))

        found = find_polluters(
            victims, prefixes, asking(self.fails_after), parallel.map, settled=settled
        )
        found |= find_polluters(
            brittle,
            file_prefixes,
            asking(self.passes_after),
            parallel.map,
            settled=settled,
        )
        found |= self._confirmed(found, set(brittle), asking, parallel)
        for nodeid, verdict, detail in checked:
            if nodeid in victims:
                check = self._judged(nodeid, detail, prefixes[nodeid], found[nodeid])
            elif nodeid in found:
                check = self._brittle(
                    nodeid, prefixes[nodeid], file_prefixes[nodeid], found[nodeid]
                )
            elif nodeid in file_order:
                check = self._failed(nodeid, prefixes[nodeid], file_order[nodeid])
            else:
                check = AloneCheck(nodeid, verdict, detail, prefixes[nodeid])
            result.checks.append(_from_replay(check) if nodeid in replayed else check)
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
        budget: _Budget,
        *,
        parallel: _Parallel,
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
        budget: _Budget,
        parallel: _Parallel,
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
        replays: list[tuple[list[str], list[str]]] = []
        for process, members in by_process.items():
            sequence = ledger.sequences.get(process, [])
            last = max(sequence.index(member) for member in members)
            replays.append((sequence[: last + 1], members))

        def one(replay: tuple[list[str], list[str]]) -> dict[str, str | None] | str:
            tests, members = replay
            try:
                ran, done = self.run_report(tests, self._timeout(ledger, tests))
            except subprocess.TimeoutExpired:
                return "the replay took longer than its time limit"
            except OSError as exc:
                return f"could not start the replay: {exc}"
            outcomes = dict(ran)
            if not outcomes:
                return f"the replay gave no result ({_why_no_result(done)})"
            return {member: outcomes.get(member) for member in members}

        answers: dict[str, bool] = {}
        for (_, members), answer in zip(
            replays, parallel.map(budget.guarded(one), replays), strict=True
        ):
            for member in members:
                outcome = answer.get(member) if isinstance(answer, dict) else None
                if outcome in (PASSED, FAILED):
                    answers[member] = outcome == PASSED
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
        parallel: _Parallel,
    ) -> dict[str, PolluterSearch]:
        """Every set found, confirmed (``pollution.confirm``): a victim fails after it and
        passes alone again, a brittle test passes after it and fails alone again."""
        after_victim, after_brittle = asking(self.fails_after), asking(self.passes_after)
        alone_passes = asking(lambda test, _, timeout: self.replays_alone(test, PASSED, timeout))
        alone_fails = asking(lambda test, _, timeout: self.replays_alone(test, FAILED, timeout))

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
            return confirm_alone(found[nodeid], partial(alone_passes, nodeid, ()))

        settled = [n for n, search in found.items() if search.result == FOUND]
        # Nothing ran before it: the alone-run is all there is to ask again.
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

    def _judged(
        self, nodeid: str, detail: str, before: tuple[str, ...], found: PolluterSearch
    ) -> AloneCheck:
        """The alone-check of a test that passed alone, with what the search found: its failure
        did not replay after the tests before it, or its set was not confirmed, is chance."""
        if found.result == INCONCLUSIVE and found.polluters:  # found, then not confirmed
            text = f"{detail}; fails after {polluter_names(found.polluters)}, {found.detail}"
            return _not_confirmed(nodeid, text, before, found)
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
        polluters = found.polluters if found.result == FOUND else before
        return AloneCheck(
            nodeid,
            ORDER_DEPENDENT,
            detail,
            before,
            self.reproduce_command(nodeid, polluters),
            polluters=found.polluters,
            search=found.result,
            search_runs=found.runs,
            search_detail="; ".join(filter(None, (self._repeated(found.polluters), found.detail))),
            passes=self.reproduce_command(nodeid, ()),
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

    def _brittle(
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
            return _not_confirmed(nodeid, text, before, found, brittle=True)
        setters = found.polluters if found.result == FOUND else file_prefix
        return AloneCheck(
            nodeid,
            ORDER_DEPENDENT,
            f"failed alone too, passed after the {len(file_prefix)} tests before it in file order",
            before,
            self.reproduce_command(nodeid, ()),
            polluters=found.polluters,
            search=found.result,
            search_runs=found.runs + 1,  # the file-order run that found it brittle
            search_detail=found.detail,
            brittle=True,
            confirmations=found.confirmations,
            passes=self.reproduce_command(nodeid, setters, file_order=True),
        )

    def _in_file_order(
        self,
        ledger: Ledger,
        targets: Sequence[str],
        collected: Sequence[str] | None,
        budget: _Budget,
        parallel: _Parallel,
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
        for module, members in by_module.items():
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
    def _failed(
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

    @staticmethod
    def _timeout(ledger: Ledger, nodeids: Sequence[str]) -> float:
        """Ten times what these tests took in the run, and never under two minutes."""
        spent = sum(ledger.durations.get(nodeid, 0.0) for nodeid in nodeids)
        return max(120.0, 10 * spent)


_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


class _Parallel:
    """Runs checks ``workers`` at a time; an interrupt stops them all and is remembered."""

    def __init__(self, workers: int, stop_children: Callable[[], None]) -> None:
        self.workers = max(1, workers)
        self.stop_children = stop_children
        self.interrupted = False

    def map(self, one: Callable[[_Item], _Result], items: Sequence[_Item]) -> list[_Result | None]:
        """The results in order; None for those not done because of an interrupt."""
        if self.interrupted:
            return [None] * len(items)
        if self.workers == 1 or len(items) <= 1:
            results: list[_Result | None] = []
            try:
                for item in items:
                    results.append(one(item))
            except KeyboardInterrupt:
                self.interrupted = True
            return results + [None] * (len(items) - len(results))
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="atom-gates-check")
        futures = [pool.submit(one, item) for item in items]
        try:
            return [future.result() for future in futures]
        except KeyboardInterrupt:  # signals reach the main thread, which waits here
            self.interrupted = True
            pool.shutdown(wait=False, cancel_futures=True)
            self.stop_children()  # their threads then end at once
            return [
                f.result() if f.done() and not f.cancelled() and f.exception() is None else None
                for f in futures
            ]
        finally:
            pool.shutdown(wait=not self.interrupted)


class _Budget:
    """The extra processes and the time the checks may still take."""

    def __init__(
        self,
        processes: int,
        session_spent: Callable[[], bool],
        seconds: float | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = processes
        self.left = processes
        self.session_spent = session_spent
        self.clock = clock
        self.deadline = None if seconds is None else clock() + seconds
        self._lock = threading.Lock()

    def reason(self) -> str | None:
        """Why no further process may start, or None."""
        if self.left <= 0:
            return f"limit of {self.limit} extra processes (--atom-gates-order-checks)"
        if self.session_spent():
            return "the session's time budget is spent"
        if self.deadline is not None and self.clock() >= self.deadline:
            return "the checks' share of the run's time is spent (--atom-gates-order-check-time)"
        return None

    def guarded(self, run: Callable[[_Item], _Result]) -> Callable[[_Item], _Result | str]:
        """``run``, once the budget allows one more process; else why it does not."""

        def one(item: _Item) -> _Result | str:
            try:
                self.take()
            except StopSearch as stop:
                return stop.detail
            return run(item)

        return one

    def take(self) -> None:
        """Count one more process, or stop the search when none may start."""
        with self._lock:  # checks in parallel take from one budget
            reason = self.reason()
            if reason is not None:
                raise StopSearch(NOT_ANALYSED, reason)
            self.left -= 1


def _not_confirmed(
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


def _from_replay(check: AloneCheck) -> AloneCheck:
    """The check of a flaky test that failed in its replay: order-dependent as any victim, else
    flaky (it passed on a rerun in the run), with what the checks saw."""
    if check.result in (ORDER_DEPENDENT, INCONCLUSIVE):
        detail = f"failed again after the tests before its first attempt, {check.detail}"
        return replace(check, detail=detail, origin=FLAKY)
    detail = f"failed again after the tests before its first attempt; {check.detail}"
    if check.search_detail and check.search_detail not in detail:
        detail += f" ({check.search_detail})"
    return replace(check, result=CHANCE, detail=detail, origin=FLAKY, search=None)


def _progress_line(found: PolluterSearch, *, brittle: bool = False) -> str:
    """One line per victim (or brittle test), as its search ends; a brittle test's count holds
    the file-order run that found it."""
    runs = found.runs + brittle
    counted = f"{runs} run{'' if runs == 1 else 's'}"
    if found.result == FOUND:
        does = "passes only after" if brittle else "fails after"
        names = polluter_names(found.polluters)
        return f"{found.victim} {does} {names} (found in {counted})"
    if found.result == FLAKY_IN_ORDER:
        return f"{found.victim} is flaky in order: {found.detail}"
    missing = "state-setter" if brittle else "polluter"
    return f"{found.victim}: {missing} not found ({found.result}: {found.detail})"


def _why_no_result(done: subprocess.CompletedProcess[str]) -> str:
    """How a child that wrote no report ended, in words rather than a traceback's last line."""
    if done.returncode < 0:
        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = f"signal {-done.returncode}"
        return f"killed by {name}"
    lines = [line.strip() for line in f"{done.stderr}\n{done.stdout}".splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith(("Fatal Python error", "ERROR: "))]
    shown = fatal[0] if fatal else (lines[-1] if lines else "no output")
    return f"exit {done.returncode}: {shown}"


def _tests_in_report(report: Path) -> list[tuple[str, str]]:
    """Each test's node id and outcome in a child's JSON report, in the order they ran."""
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    tests = data.get("tests", []) if isinstance(data, dict) else []
    return [
        (test["nodeid"], test["outcome"])
        for test in tests
        if isinstance(test, dict)
        and isinstance(test.get("nodeid"), str)
        and isinstance(test.get("outcome"), str)
    ]
