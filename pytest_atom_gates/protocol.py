"""How each test runs under ``--atom-gates``: reseeded, and rerun in place when it fails.

This is pytest's own run-test protocol plus two things. Before setup and before the call, the
global RNGs are reseeded from the test's seed (TQ-01), so every attempt draws the same numbers.
A failed attempt is rerun right away (TQ-04): only the test's own node (function-scoped fixtures,
the class instance) is torn down in between; wider fixtures stay, unless their own setup failed.
Intermediate attempts are logged as one report with outcome ``rerun``; the final attempt is
logged as usual.

It runs where the tests run (a single process, or each xdist worker), so no attempt needs a
round trip to the controller: what the controller needs rides on the reports as plain
attributes, which pytest-xdist serialises with them.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import _pytest.python
import pytest
from _pytest.runner import CallInfo, check_interactive_exception, show_test_item

from pytest_atom_gates.ledger import REPEAT, RERUN, exception_text
from pytest_atom_gates.marks import MarkIndex, Marks
from pytest_atom_gates.new_tests import (
    NEW_TEST_ATTRIBUTE,
    NOT_PASSED,
    REPEATED,
    NewTests,
    repetition_seed,
)
from pytest_atom_gates.ordering import test_seed
from pytest_atom_gates.reseeding import session_reseeder
from pytest_atom_gates.settings import Settings

RERUNS_MARKER = "atom_gates_reruns"
RERUNFAILURES_MARKER = "flaky"
QUARANTINE_MARKER = "atom_gates_quarantine"

CAPPED_ATTRIBUTE = "atom_gates_rerun_cap"
"""Report attribute: the rerun cap was reached in this process; the text says when."""
QUARANTINE_ATTRIBUTE = "atom_gates_quarantine"
"""Report attribute: the test is quarantined by its marker; the value is the reason."""

# pytest 9 added a keyword to show_test_item; --setup-show output must match pytest's own.
_SHOW_TAKES_SPACE = "add_space" in inspect.signature(show_test_item).parameters

# The function of pytest's pseudo-fixtures for parametrize arguments (pytest 8.0 to 9); if a
# pytest renames it, every fixture counts as code, which only costs a reseed.
_PARAMETER_FIXTURE = getattr(_pytest.python, "get_direct_param_fixture_func", object())


# pragma: no mutate start (pytest glue, reached by the pytester tests only)
class FixtureCode:
    """Whether a test's setup runs fixture code, which may draw from the global RNGs.

    A test without fixtures, or with only ``parametrize`` arguments (pytest's pseudo-fixtures,
    which just return the parameter), needs no second reseed before its call. Asked afresh per
    test: a cache would cost more memory than the few fixture definitions cost to look at.
    """

    @staticmethod
    def runs_for(item: pytest.Item) -> bool:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            return bool(getattr(item, "fixturenames", True))
        for definitions in info.name2fixturedefs.values():
            for definition in definitions:
                if definition.func is not _PARAMETER_FIXTURE:
                    return True
        return False


# pragma: no mutate end


@dataclass(frozen=True, eq=False, repr=False)  # one per run: no generated code it never uses
class RerunPolicy:
    """How many reruns a failure gets, and which failures get none."""

    settings: Settings
    honour_rerunfailures_marker: bool = False

    def budget(self, marks: Marks) -> tuple[int, float]:
        """Reruns allowed for a test with these marks and the delay before each."""
        settings = self.settings
        if not marks:
            return settings.reruns, settings.rerun_delay
        marker = marks.get(RERUNS_MARKER)
        if marker is not None:
            count = marker.args[0] if marker.args else marker.kwargs.get("reruns", settings.reruns)
            return int(count), float(marker.kwargs.get("delay", settings.rerun_delay))
        legacy = marks.get(RERUNFAILURES_MARKER) if self.honour_rerunfailures_marker else None
        if legacy is not None and "reruns" in legacy.kwargs:
            delay = legacy.kwargs.get("reruns_delay", settings.rerun_delay)
            return int(legacy.kwargs["reruns"]), float(delay)
        return settings.reruns, settings.rerun_delay

    def excludes(self, failure: pytest.TestReport) -> bool:
        """True when the filters say this failure must not be rerun."""
        settings = self.settings
        if not settings.rerun_only and not settings.rerun_except:
            return False
        text = exception_text(failure) or ""
        if settings.rerun_only and not any(p.search(text) for p in settings.rerun_only):
            return True
        return any(p.search(text) for p in settings.rerun_except)


def quarantine_reason(marks: Marks) -> str | None:
    """The reason an ``atom_gates_quarantine`` mark gives, if the test carries one."""
    mark = marks.get(QUARANTINE_MARKER)
    if mark is None:
        return None
    reason = mark.args[0] if mark.args else mark.kwargs.get("reason", "")
    return f"marker: {reason}" if reason else "marker"


class OutageCap:
    """Stops reruns once a large share of this process's tests failed their first attempt.

    An outage is not flakiness: reruns must not multiply a broken run's time. Each process
    judges its own share, so no worker waits on another.
    """

    def __init__(self, share: float, minimum: int) -> None:
        self.share = share
        self.minimum = minimum
        self.started = 0
        self.failed_first = 0
        self.reached: str | None = None
        self.announced = False

    def first_attempt_failed(self) -> None:
        self.failed_first += 1
        if (
            self.reached is None
            and self.failed_first >= self.minimum
            and self.failed_first > self.share * self.started
        ):
            self.reached = (
                f"reruns stopped: {self.failed_first} of {self.started} tests failed their first "
                f"attempt (cap {self.share:.0%}, at least {self.minimum})"
            )

    def announcement(self) -> str | None:
        """The cap message, once: it rides on the next report to the controller."""
        if self.reached is None or self.announced:
            return None
        self.announced = True
        return self.reached


# pragma: no mutate start (pytest glue, reached by the pytester tests only)
def _fresh_attempt(item: pytest.Item) -> None:
    """Forget what the failed attempt left on the item so the next one starts clean."""
    # Its captured output and log: each attempt's reports show their own.
    sections = getattr(item, "_report_sections", None)
    if isinstance(sections, list):
        sections.clear()
    # A new instance of the test class: drop the cached one and the method bound to it.
    item.__dict__.pop("_instance", None)
    if "_obj" in item.__dict__ and getattr(item, "cls", None) is not None:
        item.__dict__["_obj"] = None
    # Fixtures whose setup raised keep that exception cached; forget it so they run again.
    fixtureinfo = getattr(item, "_fixtureinfo", None)
    for definitions in getattr(fixtureinfo, "name2fixturedefs", {}).values():
        for definition in definitions:
            cached = getattr(definition, "cached_result", None)
            if cached is not None and cached[2] is not None:
                definition.cached_result = None
                finalizers = getattr(definition, "_finalizers", None)
                if finalizers is not None:
                    finalizers.clear()
    # A collector whose setup raised (setup_module, a class's setup) stays on pytest's setup
    # stack with its exception; tear it down so the rerun sets it up again.
    setup_state = item.session._setupstate
    failed = [node for node, (_, exc) in setup_state.stack.items() if exc is not None]
    if failed and failed[0].parent is not None:
        setup_state.teardown_exact(failed[0].parent)  # type: ignore[arg-type]


def _set_timeout(item: pytest.Item, *, start: bool = True) -> None:
    """Stop pytest-timeout's per-test timer of ``item`` and, with ``start``, give it its full
    timeout again: a rerun gets the whole timeout, not what the last attempt left, and a
    deferred rerun runs under its own test's timer, not under the test it runs before."""
    plugin = item.config.pluginmanager.get_plugin("timeout")
    item_settings = getattr(plugin, "_get_item_settings", None)
    if item_settings is None:
        return
    settings = item_settings(item)
    if settings.timeout and settings.timeout > 0 and not settings.func_only:
        hook = item.config.pluginmanager.hook
        hook.pytest_timeout_cancel_timer(item=item)
        if start:
            hook.pytest_timeout_set_timer(item=item, settings=settings)


def _only_function_and_session_fixtures(item: pytest.Item) -> bool:
    """Whether a rerun of ``item`` later in the run sees what a rerun in place would.

    A test that uses a module, class or package fixture would get a fresh one when it runs
    again after other modules' tests: an order-dependent failure could pass, and look flaky.
    Function fixtures are rebuilt either way; session fixtures stay either way.
    """
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    for definitions in info.name2fixturedefs.values():
        for definition in definitions:
            if definition.scope not in ("function", "session"):
                return False
    return True


def _tear_down_wider(test: _TestRun, nextitem: pytest.Item | None) -> pytest.TestReport | None:
    """Tear down what ``nextitem`` does not need, after the test's own node was torn down; a
    report only when a finalizer raised.

    Not through ``pytest_runtest_teardown``: plugins (logging, capture) expect one teardown
    per setup. The report is folded into the test's last teardown report, where pytest would
    have put these finalizers' errors.
    """
    item = test.item
    setup_state = item.session._setupstate
    call: CallInfo[None] = CallInfo.from_call(
        lambda: setup_state.teardown_exact(nextitem),
        when="teardown",
        reraise=test.reraise,
    )
    if call.excinfo is None:
        return None
    report: pytest.TestReport = test.ihook.pytest_runtest_makereport(item=item, call=call)
    return report


def _xdist_interactor(config: pytest.Config) -> Any:
    """On an xdist worker, the plugin that sends reports to the controller: it checks that
    each report is of the test it is running, which a deferred rerun is not."""
    if not hasattr(config, "workerinput"):
        return None
    for plugin in config.pluginmanager.get_plugins():
        if type(plugin).__name__ == "WorkerInteractor" and hasattr(plugin, "item_index"):
            return plugin
    return None


def _passed(reports: list[pytest.TestReport]) -> bool:
    """Setup and call both passed, and not as an xfail: an attempt a repetition may follow."""
    return len(reports) == 2 and all(r.passed and not hasattr(r, "wasxfail") for r in reports)


def _merge_teardown(teardown: pytest.TestReport, other: pytest.TestReport | None) -> None:
    """Fold a second teardown of the same test (its wider nodes, torn down apart) into the
    teardown report that is logged."""
    if other is None or not other.failed:
        return
    if teardown.failed:
        teardown.sections.append(("teardown of the wider fixtures", str(other.longrepr)))
    else:
        teardown.outcome, teardown.longrepr = "failed", other.longrepr


class _Repetitions:
    """A new test's extra runs (TQ-04): how many are left, and the seed of each one run.

    A plain class: a run without new tests never makes one, so it pays for no generated code.
    """

    __slots__ = ("first", "left", "seeds", "status")

    def __init__(self, left: int) -> None:
        self.left = left
        self.status: str | None = None
        """None until the first attempt decided whether the test is repeated."""
        self.seeds: list[int] = []
        """The session seed of each repetition run, in order."""
        self.first = 0.0

    @property
    def done(self) -> int:
        return len(self.seeds)

    def tag(self) -> dict[str, Any]:
        return {"status": self.status, "seeds": list(self.seeds), "first": self.first}


@dataclass(slots=True, eq=False, repr=False)  # internal: no generated code it never uses
class _TestRun:
    """One test's way through the protocol, over all its attempts."""

    item: pytest.Item
    ihook: Any
    seed: int
    reruns: int
    tags: dict[str, str] | None
    """Report attributes for the controller, set on the final attempt's teardown report."""
    reraise: tuple[type[BaseException], ...]
    """What a phase lets through instead of reporting it, as pytest's ``call_and_report``."""
    delay: float
    interactions: dict[int, CallInfo[None]] | None = None
    """Failed phases of this attempt whose debugger (``pytest_exception_interact``) waits until
    their report is logged, by report id; None until one fails."""
    repetitions: _Repetitions | None = None
    """Set for a new test (TQ-04): the runs that prove it stable."""
    upcoming: pytest.Item | None = None
    """What runs after this attempt: the next test, or None at the end of the run."""
    wider_teardown: pytest.TestReport | None = None
    """A deferred rerun tore down the test's wider nodes apart; their report, if any."""
    threads_at_start: int = 1
    """Threads of this process when the attempt began: those it leaves are counted."""

    def phase(
        self, when: str, now: Callable[[], float] = time.perf_counter, **kwds: Any
    ) -> pytest.TestReport:
        """pytest's ``call_and_report`` without logging, and with the debugger put off.

        pytest logs a failed phase and then opens ``--pdb``; quitting the debugger raises
        ``pytest.exit``. Logging here comes later, so the debugger must too, or quitting it
        would lose the failure.
        """
        item = self.item
        hook = getattr(self.ihook, f"pytest_runtest_{when}")
        start = now()
        call: CallInfo[None] = CallInfo.from_call(
            lambda: hook(item=item, **kwds),
            when=when,  # type: ignore[arg-type]
            reraise=self.reraise,
        )
        took = now() - start
        report: pytest.TestReport = self.ihook.pytest_runtest_makereport(item=item, call=call)
        # The phase timed by the plugin's own clock, bound as a default argument: pytest's clock
        # is a module attribute, which freezegun and friends patch. As pytest times it: the
        # phase alone, not the report made of it (a failure's traceback can cost more than its
        # test). Set on the report itself, so it costs no memory and every reader (xdist,
        # --durations, JUnit) sees the same figure.
        report.duration = took
        if call.excinfo is not None and report.failed:
            from pytest_atom_gates.failures import CRASH_ATTRIBUTE, crash_facts

            crash = getattr(report.longrepr, "reprcrash", None)
            extra_threads = threading.active_count() - self.threads_at_start
            setattr(report, CRASH_ATTRIBUTE, crash_facts(call.excinfo, crash, extra_threads))
        if check_interactive_exception(call, report):
            if self.interactions is None:
                self.interactions = {}
            self.interactions[id(report)] = call
        return report

    def log(self, report: pytest.TestReport) -> None:
        """Log a report, then open the debugger for it if its phase failed."""
        self.ihook.pytest_runtest_logreport(report=report)
        if self.interactions is not None:
            call = self.interactions.pop(id(report), None)
            if call is not None:
                self.ihook.pytest_exception_interact(node=self.item, call=call, report=report)


DRAIN_LINE_INTERVAL = 10.0
"""At most this many seconds between two lines while the deferred reruns wait."""

SAY_WAITS_FROM = 5.0
"""A shorter pause before a deferred rerun goes unsaid, so its letter joins the progress line;
a longer one is said, so that the run does not look stuck."""

RETRY, REPEAT_NEXT = "retry", "repeat"
"""What follows an attempt that is not the last: a rerun after the delay, or a repetition."""


class _Waiting:
    """A failed test whose rerun waits for its delay while other tests run (a plain class, as
    ``_Repetitions``: a run without deferred reruns makes none)."""

    __slots__ = ("attempt", "due", "test", "xdist_index")

    def __init__(self, test: _TestRun, attempt: int, due: float, xdist_index: Any = None) -> None:
        self.test = test
        self.attempt = attempt
        self.due = due
        self.xdist_index = xdist_index
        """Under xdist, the test's index in the worker's items, which its reports must carry."""


class TestProtocol:
    """Runs each test where the tests run: reseeded, attempt after attempt.

    A rerun waits its delay while other tests run: the failed test goes to a queue and runs
    again before the first test, once the delay is over, whose setup it would not disturb (at
    a module boundary, say), or at the end of the run, where the queue is drained. Only tests
    whose fixtures are all function- or session-scoped wait so; others sleep in place.
    """

    __test__ = False  # not a test class, despite the name

    def __init__(
        self,
        config: pytest.Config,
        seed: int,
        policy: RerunPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        new_tests: NewTests | None = None,
        plain_ids: Mapping[str, str] | None = None,
    ) -> None:
        self.seed = seed
        self.plain_ids = {} if plain_ids is None else plain_ids
        """Under ``--dist loadgroup``, filled at collection: a test's seed comes from its id
        without xdist's ``@group``, as in one process."""
        self.policy = policy
        self.marks = MarkIndex((RERUNS_MARKER, RERUNFAILURES_MARKER, QUARANTINE_MARKER))
        self.fixture_code = FixtureCode()
        self.reseeder = session_reseeder(config)
        self.cap = OutageCap(float(policy.settings.rerun_cap) / 100, policy.settings.rerun_cap_min)
        self.new_tests = new_tests
        self._new_ids: frozenset[str] = frozenset()
        """The collected tests that are new (TQ-04), once collection finished."""
        self.reran = False
        """A test failed and got another attempt in this process."""
        self._sleep = sleep
        self._clock = clock
        self._waiting: list[_Waiting] = []
        self._config = config
        # -x, --maxfail and --sw stop at a test's final failure: it must come where it failed.
        self._stops_on_failure = bool(config.getoption("maxfail", 0)) or bool(
            config.getoption("stepwise", False) or config.getoption("stepwise_skip", False)
        )
        self._setup_only = bool(config.getoption("setuponly", False))
        self._setup_show = bool(config.getoption("setupshow", False))
        self._collection_failed = False
        # pytest's own rule: with --pdb a KeyboardInterrupt in a test is the test's failure.
        self._reraise: tuple[type[BaseException], ...] = (pytest.exit.Exception,)
        if not config.getoption("usepdb", False):
            self._reraise += (KeyboardInterrupt,)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # pytest runs no test when collection failed (unless told to go on); pytest-xdist's
        # workers would run every test regardless. Do as pytest does, so one process and
        # xdist give the same facts.
        self._collection_failed = bool(session.testsfailed) and not bool(
            session.config.getoption("continue_on_collection_errors", False)
        )
        if self.new_tests is not None:
            self._new_ids = self.new_tests.among([item.nodeid for item in session.items])

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool:
        if self._collection_failed:
            return True
        if self._waiting:
            self._run_due(item)
            session = item.session
            if session.shouldstop or session.shouldfail:  # a rerun's end stopped the run
                self._drain(item)
                return True
        marks = self.marks.marks(item)
        reruns, delay = self.policy.budget(marks)
        reason = quarantine_reason(marks) if marks else None
        nodeid = item.nodeid
        ihook = item.ihook  # a lookup of the conftests that apply, each time it is read
        test = _TestRun(
            item,
            ihook,
            test_seed(self.seed, self.plain_ids.get(nodeid, nodeid)),
            reruns,
            None if reason is None else {QUARANTINE_ATTRIBUTE: reason},
            self._reraise,
            delay,
            upcoming=nextitem,
        )
        if nodeid in self._new_ids:
            assert self.new_tests is not None  # only new tests planned make new ids
            test.repetitions = _Repetitions(self.new_tests.runs_of(nodeid))
        self.cap.started += 1
        ihook.pytest_runtest_logstart(nodeid=nodeid, location=item.location)
        self._run(test, 1)
        session = item.session
        if self._waiting and (nextitem is None or session.shouldstop or session.shouldfail):
            self._drain(item)
        return True

    def _run(self, test: _TestRun, attempt: int) -> None:
        """Attempts from ``attempt`` on, until the last, or until the test waits for its rerun."""
        item = test.item
        while True:
            step = self._attempt(test, attempt)
            if step is None:
                break
            attempt += 1
            _fresh_attempt(item)
            if step == RETRY and test.delay:
                if self._defer(test, attempt):
                    break
                self._sleep(test.delay)
            _set_timeout(item)
        test.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)

    def _defer(self, test: _TestRun, attempt: int) -> bool:
        """Queue the rerun to run after its delay, if the test allows it; its wider nodes are
        torn down now, as far as what runs next needs."""
        item = test.item
        if self._stops_on_failure or not _only_function_and_session_fixtures(item):
            return False
        interactor = _xdist_interactor(self._config)
        index = None if interactor is None else interactor.item_index
        self._waiting.append(_Waiting(test, attempt, self._clock() + test.delay, index))
        test.wider_teardown = _tear_down_wider(test, self._after(test.upcoming))
        return True

    def _after(self, upcoming: pytest.Item | None) -> pytest.Item | None:
        """What the fixtures are kept for: the next test, else the first waiting rerun."""
        if upcoming is not None:
            return upcoming
        waiting = self._waiting
        return min(waiting, key=lambda w: w.due).test.item if waiting else None

    @staticmethod
    def _fits(item: pytest.Item) -> bool:
        """Whether ``item`` can be set up now without tearing down anything another test set
        up: every node set up now is one of its own."""
        chain = item.listchain()
        return all(node in chain for node in item.session._setupstate.stack)

    def _run_due(self, current: pytest.Item) -> None:
        """Before ``current``'s setup: the waiting reruns whose delay is over and that fit."""
        now = self._clock()
        for waiting in [w for w in self._waiting if w.due <= now]:
            if self._fits(waiting.test.item):
                self._resume(waiting, current, upcoming=current)

    def _drain(self, current: pytest.Item) -> None:
        """The end of the run (or of what runs of it): every waiting rerun, in due order.

        A stop that came after the last test's teardown (a budget stop, ``-x`` on a teardown
        error) left that test's wider fixtures set up for a next test that will not run: they
        are torn down first, and an error of theirs goes on the rerun's last teardown report
        rather than nowhere.
        """
        while self._waiting:
            waiting = min(self._waiting, key=lambda w: w.due)
            test = waiting.test
            if not self._fits(test.item):
                left = _tear_down_wider(test, test.item)
                if test.wider_teardown is None:
                    test.wider_teardown = left
                elif left is not None:
                    _merge_teardown(test.wider_teardown, left)
            pause = waiting.due - self._clock()
            if pause > 0:
                self._wait_saying(pause)
            self._resume(waiting, current, upcoming=None)

    def _wait_saying(self, pause: float) -> None:
        """The pause before a deferred rerun at the end of the run: from ``SAY_WAITS_FROM`` on,
        said on the terminal (not under ``-q``, nor on an xdist worker, which has none) and
        again every 10 s."""
        reporter = self._config.pluginmanager.get_plugin("terminalreporter")
        if int(self._config.getoption("verbose", 0)) < 0 or pause < SAY_WAITS_FROM:
            reporter = None
        left = pause
        while left > 0:
            if reporter is not None:
                reporter.write_line(
                    f"atom-gates: waiting {left:.1f} s for the next deferred rerun "
                    f"({len(self._waiting)} left; --atom-gates-rerun-delay)"
                )
            step = min(left, DRAIN_LINE_INTERVAL)
            self._sleep(step)
            left -= step

    def _resume(
        self, waiting: _Waiting, current: pytest.Item, upcoming: pytest.Item | None
    ) -> None:
        """A waiting rerun, run now; ``current`` is the test whose protocol this is in."""
        self._waiting.remove(waiting)
        test = waiting.test
        item = test.item
        test.upcoming = upcoming
        interactor = _xdist_interactor(self._config)
        running = None if interactor is None else interactor.item_index
        if interactor is not None:
            interactor.item_index = waiting.xdist_index  # xdist checks each report's test
        _set_timeout(current, start=False)
        _set_timeout(item)
        item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        try:
            self._run(test, waiting.attempt)
        finally:
            _set_timeout(item, start=False)
            _set_timeout(current)
            if interactor is not None:
                interactor.item_index = running

    def _attempt(self, test: _TestRun, attempt: int) -> str | None:
        """Run one attempt; return what follows it, or None when it was the last."""
        item, seed = test.item, test.seed
        test.threads_at_start = threading.active_count()  # what this attempt leaves is its own
        hasrequest = hasattr(item, "_request")
        if hasrequest and not item._request:  # type: ignore[attr-defined]
            item._initrequest()  # type: ignore[attr-defined]
        try:
            self.reseeder.reseed(seed)
            setup = test.phase("setup")
            reports = [setup]
            if setup.passed:
                if self._setup_show:
                    if _SHOW_TAKES_SPACE:
                        show_test_item(item, add_space=not self._setup_only)
                    else:  # pytest < 9
                        show_test_item(item)  # type: ignore[call-arg]
                if not self._setup_only:
                    if self.fixture_code.runs_for(item):
                        # Again after the fixtures drew: every attempt's body sees the same
                        # numbers, even when wider fixtures are not set up again on a rerun.
                        self.reseeder.reseed(seed)
                    reports.append(test.phase("call"))
            failure = None
            for report in reports:
                if report.outcome == "failed":
                    failure = report
                    break
            repetitions = test.repetitions
            if repetitions is not None:
                self._account(repetitions, reports)
            if failure is not None:
                if attempt == 1:
                    self.cap.first_attempt_failed()
                if (
                    attempt <= test.reruns
                    and (repetitions is None or not repetitions.done)  # mixed already: final
                    and self.cap.reached is None
                    and not self.policy.excludes(failure)
                ):
                    self._log_rerun(test, reports, failure)
                    return RETRY
            elif repetitions is not None and repetitions.left and _passed(reports):
                return self._log_repeat(test, reports, repetitions)
            self._log_final(test, reports)
            return None
        finally:
            test.interactions = None
            if hasrequest:
                item._request = False  # type: ignore[attr-defined]
                item.funcargs = None  # type: ignore[attr-defined]

    def _account(
        self,
        repetitions: _Repetitions,
        reports: list[pytest.TestReport],
    ) -> None:
        """A new test's attempt: after the first, whether it is repeated; after a repetition,
        the time it took from the budget."""
        new_tests = self.new_tests
        assert new_tests is not None  # a test has repetitions only when new tests are planned
        spent = sum(r.duration for r in reports)
        if repetitions.done:
            new_tests.spent += spent
            return
        if repetitions.status is not None:  # reruns of a first attempt that failed
            return
        repetitions.first = spent
        why_not = new_tests.why_not(spent) if _passed(reports) else NOT_PASSED
        repetitions.status = why_not or REPEATED
        if why_not is not None:
            repetitions.left = 0

    def _log_repeat(
        self, test: _TestRun, reports: list[pytest.TestReport], repetitions: _Repetitions
    ) -> str | None:
        """A passed attempt of a new test that runs again: logged as ``repeat``, and the next
        repetition's seed chosen."""
        item = test.item
        teardown = test.phase("teardown", nextitem=item.parent)
        if teardown.failed:  # it failed after all, in its teardown: its last attempt
            self._log_final(test, reports, own_teardown=teardown)
            return None
        setup, call = reports
        call.outcome = REPEAT  # type: ignore[assignment]
        test.log(setup)
        test.log(call)
        repetitions.left -= 1
        session_seed = repetition_seed(self.seed, repetitions.done + 1)
        repetitions.seeds.append(session_seed)
        test.seed = test_seed(session_seed, self.plain_ids.get(item.nodeid, item.nodeid))
        return REPEAT_NEXT

    def _log_rerun(
        self, test: _TestRun, reports: list[pytest.TestReport], failure: pytest.TestReport
    ) -> None:
        self.reran = True  # TQ-01 replays flaky tests: it needs this process's file order
        item = test.item
        # Only this attempt's own node goes: wider fixtures stay for the next attempt.
        teardown = test.phase("teardown", nextitem=item.parent)
        if teardown.failed:
            failure.sections.append(("teardown of this attempt", str(teardown.longrepr)))
        failure.outcome = RERUN  # type: ignore[assignment]
        for report in reports:
            if report is failure or report.passed:
                test.log(report)
            if report is failure:
                break

    def _log_final(
        self,
        test: _TestRun,
        reports: list[pytest.TestReport],
        own_teardown: pytest.TestReport | None = None,
    ) -> None:
        """Log the last attempt; ``own_teardown``: its own node was torn down already."""
        item, log = test.item, test.log
        session = item.session
        nextitem = test.upcoming
        if session.shouldfail or session.shouldstop:
            nextitem = None  # tear everything down, so teardown errors are reported (pytest #11706)
        if nextitem is None and self._waiting:
            nextitem = self._after(nextitem)  # a waiting rerun still needs them
        for report in reports:
            log(report)
        if own_teardown is None:
            teardown = test.phase("teardown", nextitem=nextitem)
        else:
            teardown = own_teardown
            _merge_teardown(teardown, _tear_down_wider(test, nextitem))
        if test.wider_teardown is not None:
            _merge_teardown(teardown, test.wider_teardown)
        if test.tags is not None:
            for name, value in test.tags.items():
                setattr(teardown, name, value)
        if test.repetitions is not None:
            setattr(teardown, NEW_TEST_ATTRIBUTE, test.repetitions.tag())
        if self.cap.reached is not None:
            capped = self.cap.announcement()
            if capped is not None:
                setattr(teardown, CAPPED_ATTRIBUTE, capped)
        log(teardown)


# pragma: no mutate end
