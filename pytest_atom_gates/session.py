"""One ``--atom-gates`` run: where tests run (runner) and where verdicts are made (controller).

In a single process both roles are registered. Under pytest-xdist the controller runs no tests
and the workers make no verdicts: workers shuffle, reseed and stop on budget; facts ride on the
test reports to the controller, which records them, judges once and writes every report.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Generator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_atom_gates.cache import PluginCache, open_cache
from pytest_atom_gates.check_environment import engine_choice_problem
from pytest_atom_gates.clock import Stopwatch
from pytest_atom_gates.compat import SWITCHED_OFF_RERUNNERS, switch_off_other_shufflers
from pytest_atom_gates.cov.measure import GATE as COVERAGE_GATE
from pytest_atom_gates.features import EXTENSIONS_KEY, Feature, Writer
from pytest_atom_gates.gates import (
    Gate,
    GateVerdict,
    RunFacts,
    default_gates,
    evaluate,
)
from pytest_atom_gates.gates.independence import OrderChecks
from pytest_atom_gates.gates.numbers import format_seconds, format_threshold
from pytest_atom_gates.kept_bytecode import keep_rewriting
from pytest_atom_gates.ledger import MAIN_PROCESS, NOT_LAST, Ledger
from pytest_atom_gates.ordering import (
    SEED_CACHE_KEY,
    resolve_seed,
    seed_hypothesis_tests,
    shuffle_items,
)
from pytest_atom_gates.outcomes import FAILED, FLAKY
from pytest_atom_gates.partial import partial_reason
from pytest_atom_gates.protocol import RerunPolicy, TestProtocol
from pytest_atom_gates.reporting import one_line, running_on_github
from pytest_atom_gates.reporting.atomic import check_writable, display_path
from pytest_atom_gates.reporting.terminal import closing_line, render_summary
from pytest_atom_gates.run import (
    COLLECTED_FILES_KEY,
    DESELECTED_KEY,
    FILE_ORDER_KEY,
    LATE_GATE_HOOKS_KEY,
    PLAIN_IDS_KEY,
    RUN_KEY,
    WORKER_BUDGET_KEY,
    WORKER_SEED_KEY,
    GatesRun,
    is_xdist_controller,
    is_xdist_worker,
)
from pytest_atom_gates.settings import (
    GATE_NAMES,
    SHUFFLED_ORDER,
    GateMode,
    Settings,
    load_settings,
    setting_source,
)
from pytest_atom_gates.signals import Terminated

if TYPE_CHECKING:
    from pytest_atom_gates.changes import Base

_SUMMARY_STATUSES = frozenset(
    {
        pytest.ExitCode.OK,
        pytest.ExitCode.TESTS_FAILED,
        pytest.ExitCode.INTERRUPTED,
        pytest.ExitCode.USAGE_ERROR,
        pytest.ExitCode.NO_TESTS_COLLECTED,
    }
)
"""The exit statuses after which pytest itself calls ``pytest_terminal_summary``."""
BUDGET_STOP = "atom-gates: the session time budget is spent, no further tests started"
MIN_CHECK_SECONDS = 120.0
"""TQ-01's checks may always take this long, whatever their share of the run's time."""


def _not_evaluated_reason(config: pytest.Config) -> str | None:
    for option, flag in (
        ("collectonly", "--collect-only"),
        ("setuponly", "--setup-only"),
        ("setupplan", "--setup-plan"),
        ("atom_gates_history", "--atom-gates-history"),
    ):
        if config.getoption(option, False):
            return flag
    return None


def _worker_value(config: pytest.Config, key: str) -> Any:
    workerinput: dict[str, Any] = config.workerinput  # type: ignore[attr-defined]
    if key not in workerinput:
        raise pytest.UsageError(
            "--atom-gates on an xdist worker, but the controller sent no seed: the controller "
            "must run with --atom-gates too (it does unless -p no:atom_gates is given to it)."
        )
    return workerinput[key]


def start(config: pytest.Config) -> None:
    """Validate settings and register the parts this process plays; raises UsageError early."""
    settings = load_settings(config)
    clock = Stopwatch()
    cache = PluginCache(None)
    seed_note: str | None = None
    if is_xdist_worker(config):
        seed = int(_worker_value(config, WORKER_SEED_KEY))
        budget_left = float(_worker_value(config, WORKER_BUDGET_KEY))
    else:
        seed, seed_note = _seed_of(config, settings)
        budget_left = settings.max_duration
        _check_writable_outputs(config, settings)
        problem = engine_choice_problem(os.environ)
        if problem:
            raise pytest.UsageError(problem)
        cache = open_cache(config)
    debugger = next(
        (
            flag
            for dest, flag in (("usepdb", "--pdb"), ("trace", "--trace"))
            if config.getoption(dest, False)
        ),
        None,
    )
    if debugger and settings.reruns:
        # One failure, one debugger session.
        settings = replace(settings, reruns=0, reruns_off_by=debugger)
    run = GatesRun(settings, seed, clock, budget_left, cache)
    if seed_note:
        run.notes.append(seed_note)
    known = _plan_new_tests(config, run)
    _prepare_shard(run)
    if cache.problem:
        run.notes.append(f"{cache.problem}: the seed and the flake history are not saved")
    run.notes += switch_off_other_shufflers(config)
    if debugger:
        run.notes.append(f"reruns are off while debugging ({debugger})")
    config.stash[RUN_KEY] = run
    run.sigterm.install()

    skipped = _not_evaluated_reason(config)
    if not skipped:
        keep_rewriting(config, run)
    if not is_xdist_controller(config):
        _register_runner(config, run, known)
    controller: GatesController | None = None
    if skipped and not is_xdist_worker(config):
        run.notes.append(f"gates are not evaluated with {skipped}")
        config.pluginmanager.register(HeaderOnly(run), "atom-gates-header")
    elif not is_xdist_worker(config):
        controller = GatesController(config, run)
        config.pluginmanager.register(controller, "atom-gates-controller")
        _register_cooperation(config, controller)
        if is_xdist_controller(config):
            from pytest_atom_gates.xdist_bridge import XdistControllerHooks

            config.pluginmanager.register(
                XdistControllerHooks(run, controller.ledger), "atom-gates-xdist"
            )
    if controller is not None:
        _add_gates(config, run, controller)
    run.started = True


def _register_runner(config: pytest.Config, run: GatesRun, known: Collection[str]) -> None:
    """The parts of a process that runs tests: the shuffle, the test protocol, the budget."""
    runner = GatesRunner(run)
    config.pluginmanager.register(runner, "atom-gates-runner")
    if config.getoption("dist", "no") == "loadgroup":
        config.pluginmanager.register(BeforeXdistGroups(runner), "atom-gates-groups")
    config.pluginmanager.register(_test_protocol(config, run, known), "atom-gates-protocol")
    if run.settings.stop_on_budget:
        config.pluginmanager.register(BudgetStop(run), "atom-gates-budget")


def _add_gates(config: pytest.Config, run: GatesRun, controller: GatesController) -> None:
    """The gates beyond TQ-01..03: the built-in reruns and coverage, and every extension's,
    all through ``pytest_atom_gates_add_gates``."""
    from pytest_atom_gates.extension import GateRegistry

    registry = GateRegistry(config, run, controller.add_feature)
    try:
        config.hook.pytest_atom_gates_add_gates(config=config, gates=registry)
    except (pytest.UsageError, KeyboardInterrupt):
        raise
    except BaseException as exc:  # SystemExit too: a usage error, never an INTERNALERROR
        raise pytest.UsageError(f"pytest_atom_gates_add_gates raised {exc!r}") from None
    finally:
        registry.closed = True
    registry.check_modes()


def _seed_of(config: pytest.Config, settings: Settings) -> tuple[int, str | None]:
    """The run's seed, and a note when a shard took the one its CI run shares."""
    if settings.shard is not None and settings.seed == "random":
        from pytest_atom_gates.shard import ShardSpec, shared_seed  # a CI shard

        spec = ShardSpec(*settings.shard, settings.shard_source)
        seed, name = shared_seed(os.environ, spec)
        return seed, f"shard {spec}: seed {seed} from {name}, the same on every shard of the run"
    return resolve_seed(settings.seed, getattr(config, "cache", None)), None


def _check_writable_outputs(config: pytest.Config, settings: Settings) -> None:
    """The files the run writes at the end, checked before any test runs."""
    # A shard only reads the durations file; every other run refreshes it at the end.
    written = [("report", settings.report_path), ("html", settings.html_path)]
    if settings.shard is None:
        written.append(("durations", settings.durations_path))
        written.append(("coverage-baseline", settings.coverage_baseline))
    for name, path in written:
        problem = check_writable(path) if path is not None else None
        if problem:
            raise pytest.UsageError(
                f"{setting_source(config, name)}: cannot write {path}: {problem}. "
                "Accepted: a file path in a writable directory."
            )
    if settings.html_path is not None:
        from pytest_atom_gates.html.page import available

        if settings.html_path == settings.report_path:
            raise pytest.UsageError(
                f"{setting_source(config, 'html')}: {settings.html_path} is the JSON report's "
                f"path too ({setting_source(config, 'report')}), which the page would "
                "overwrite. Accepted: another file path."
            )

        missing = available()
        if missing:
            raise pytest.UsageError(f"{setting_source(config, 'html')}: {missing}.")


def _prepare_shard(run: GatesRun) -> None:
    """A shard's recorded durations (a file it cannot use leaves a note, and a split by count),
    and a note when it writes no report for the merge."""
    if run.settings.shard is None:
        return
    if run.settings.report_path is None:
        run.notes.append(
            "this shard writes no report, and atom-gates merge needs one from every shard: "
            "pass --atom-gates-report=PATH"
        )
    path = run.settings.durations_path
    if path is None:
        return
    from pytest_atom_gates.durations import DurationsProblem, read_durations

    try:
        run.durations = read_durations(path)
    except DurationsProblem as exc:
        run.notes.append(
            f"the durations file {path} {exc}: the shard is split by test counts "
            "(atom-gates merge checks that every shard split alike)"
        )


def _plan_change(config: pytest.Config, run: GatesRun) -> Base | None:
    """Where the change starts (``--atom-gates-changed-since``), decided where the run starts:
    a base git cannot find is a usage error before any test runs. TQ-06 gets the changed lines,
    unless it, or the coverage it reads (TQ-05), is off."""
    settings = run.settings
    if settings.changed_since is None:
        return None
    from pytest_atom_gates.changes import changed_files, changed_lines, find_base, resolve_ref
    from pytest_atom_gates.cov.patch_gate import PATCH_GATE

    ref, note = resolve_ref(settings.changed_since, os.environ)
    if ref is None:
        run.notes.append(note or "")
        return None
    base = run.change_base = find_base(config.rootpath, ref)
    if not base.merge_base_found:
        run.notes.append(
            f"--atom-gates-changed-since={ref}: {ref} and HEAD share no history in this "
            f"checkout (a shallow clone?), so the change is taken from {ref} itself; fetch the "
            "history (actions/checkout's fetch-depth: 0)"
        )
    run.changed_files = changed_files(config.rootpath, base)
    if GateMode.OFF not in (settings.mode(PATCH_GATE), settings.mode(COVERAGE_GATE)):
        run.change = changed_lines(base)
    return base


def _plan_new_tests(config: pytest.Config, run: GatesRun) -> Collection[str]:
    """What counts as new (TQ-04): decided where the run starts, sent to workers; the node ids
    the flake history knows, where tests run in this process."""
    from pytest_atom_gates.new_tests import (
        WORKER_PLAN_KEY,
        NewTestPlan,
        known_tests,
        plan_new_tests,
    )

    if is_xdist_worker(config):
        data = config.workerinput.get(WORKER_PLAN_KEY)  # type: ignore[attr-defined]
        run.new_tests = None if data is None else NewTestPlan.from_workerinput(data)
        return known_tests(run.new_tests)
    if run.cache.folder is not None:  # read here first, recorded at the end
        from pytest_atom_gates.history import FlakeHistory

        run.history = FlakeHistory(run.cache.folder)
    base = _plan_change(config, run)  # the change TQ-06 judges, too
    run.new_tests, known = plan_new_tests(config, run.settings, run.history, run.notes, base)
    return known


def _test_protocol(config: pytest.Config, run: GatesRun, known: Collection[str]) -> TestProtocol:
    switched_off = config.stash.get(SWITCHED_OFF_RERUNNERS, [])
    honour_flaky_marker = "pytest-rerunfailures" in switched_off
    if honour_flaky_marker:  # its marker stays valid under --strict-markers
        config.addinivalue_line(
            "markers",
            "flaky(reruns, reruns_delay): pytest-rerunfailures' marker; under "
            "--atom-gates it sets the test's reruns",
        )
    new_tests = None
    if run.new_tests is not None:
        from pytest_atom_gates.new_tests import NewTests

        new_tests = NewTests(run.new_tests, known)
    return TestProtocol(
        config,
        run.seed,
        RerunPolicy(run.settings, honour_flaky_marker),
        new_tests=new_tests,
        plain_ids=run.plain_ids,
    )


def _register_cooperation(config: pytest.Config, controller: GatesController) -> None:
    """The outputs for other tools, each registered (and imported) only when that tool is in use."""
    manager = config.pluginmanager
    if running_on_github():
        from pytest_atom_gates.reporting.github import GitHubReporter

        manager.register(GitHubReporter(controller), "atom-gates-github")
    if config.getoption("json_report", False):
        from pytest_atom_gates.reporting.json_report_coop import JsonReportCooperation

        manager.register(JsonReportCooperation(controller), "atom-gates-json-report")
    if config.getoption("xmlpath", None):
        from pytest_atom_gates.reporting.junit import JUnitProperties

        manager.register(JUnitProperties(controller), "atom-gates-junit")


def stop(config: pytest.Config) -> None:
    """Unregister every part ``start`` and the features registered (all named ``atom-gates-*``)."""
    run = config.stash.get(RUN_KEY, None)
    if run is not None:
        run.sigterm.uninstall()
    for name, plugin in config.pluginmanager.list_name_plugin():
        if name.startswith("atom-gates-") and plugin is not None:
            config.pluginmanager.unregister(plugin)


def _gate_order(gate_id: str) -> tuple[int, str]:
    """TQ-01..05 by id first; extensions' gates keep the order they were added in (sorts are
    stable)."""
    return (0, gate_id) if gate_id in GATE_NAMES else (1, "")


HEADER_WIDTH = 100
"""The gates' header lines are wrapped at this many characters, as pytest's own are short."""


def header_lines(run: GatesRun, extra_parts: Sequence[str] = ()) -> list[str]:
    """The seed (and shard) with the command that replays it on the first line; then the
    gates with their thresholds, a few to a line; then the notes."""
    settings = run.settings
    first = [f"atom-gates: seed {run.seed}"]
    if settings.shard is not None:
        first.append(f"shard {settings.shard[0]}/{settings.shard[1]}")
    first.append(f"reproduce with --atom-gates-seed={run.seed}")
    parts = []
    thresholds = {
        "TQ-01": "independence"
        + ("" if settings.order == SHUFFLED_ORDER else " in file order, not shuffled"),
        "TQ-02": f"pass rate >= {format_threshold(settings.min_pass_rate)}",
        "TQ-03": f"duration <= {format_seconds(settings.max_duration)}",
    }
    for gate, text in thresholds.items():
        mode = settings.mode(gate)
        suffix = "" if mode is GateMode.ENFORCE else f" ({mode.value})"
        parts.append(f"{gate} {text}{suffix}")
    parts += [part for part in extra_parts if part]
    lines = [" | ".join(first)]
    for part in parts:
        joined = f"{lines[-1]} | {part}"
        if len(lines) > 1 and len(joined) <= HEADER_WIDTH:
            lines[-1] = joined
        else:
            lines.append(f"atom-gates: {part}")
    return [*lines, *(f"atom-gates: {note}" for note in run.notes)]


class HeaderOnly:
    """Shows the seed when the run collects or plans but does not run tests."""

    def __init__(self, run: GatesRun) -> None:
        self.run = run

    def pytest_report_header(self) -> list[str]:
        return header_lines(self.run)


class GatesRunner:
    """Where tests run: shuffles the collected tests (the test protocol reseeds per test)."""

    def __init__(self, run: GatesRun) -> None:
        self.run = run
        self.seed = run.seed
        self.before_groups: dict[int, str] = {}
        """Under ``--dist loadgroup``: each item's node id before pytest-xdist's suffix."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        run = self.run
        if run.settings.shard is not None:
            from pytest_atom_gates.shard import ShardSpec, select_shard  # a CI shard

            before = len(items)
            spec = ShardSpec(*run.settings.shard, run.settings.shard_source)
            run.shard = select_shard(config, items, spec, run.durations, self.seed)
            run.shard_deselected = before - len(items)
        if self.before_groups:
            run.plain_ids.update(
                (item.nodeid, plain)
                for item in items
                if (plain := self.before_groups.get(id(item), item.nodeid)) != item.nodeid
            )
            self.before_groups.clear()
        if run.settings.mode("TQ-01") is not GateMode.OFF:
            # The file order, for TQ-01's file-order runs of tests that fail alone too.
            run.file_order = [item.nodeid for item in items]
        if run.settings.order == SHUFFLED_ORDER:
            shuffle_items(items, self.seed, run.plain_ids)
        seed_hypothesis_tests(config, items, self.seed)

    def pytest_plugin_registered(self, plugin: object) -> None:
        # A conftest of a sub-directory loads during collection, after the gates were added:
        # its gates would be missing without a word.
        if self.run.started and hasattr(plugin, "pytest_atom_gates_add_gates"):
            where = str(getattr(plugin, "__file__", None) or plugin)
            shown = display_path(Path(where)) if os.sep in where else where
            if shown not in self.run.late_gate_hooks:
                self.run.late_gate_hooks.append(shown)

    def pytest_collectstart(self, collector: pytest.Collector) -> None:
        if isinstance(collector, pytest.File):  # a path may have two (--doctest-modules)
            self.run.collected_files.setdefault(collector.nodeid, str(collector.path))

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        if self.run.settings.quarantine_path is not None:
            self.run.deselected += [item.nodeid for item in items]

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """An xdist worker whose tests failed (or were rerun) hands the file order and the files
        it collected to the controller, which never collects; so do the late gate hooks and the
        deselected tests. xdist sends the worker's output after this hook."""
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is None:
            return
        protocol = session.config.pluginmanager.get_plugin("atom-gates-protocol")
        failed = session.testsfailed or getattr(protocol, "reran", False)  # flaky ones too
        if failed and self.run.file_order is not None:
            workeroutput[FILE_ORDER_KEY] = self.run.file_order
            workeroutput[COLLECTED_FILES_KEY] = self.run.collected_files
        if self.run.late_gate_hooks:
            workeroutput[LATE_GATE_HOOKS_KEY] = self.run.late_gate_hooks
        if self.run.deselected:
            workeroutput[DESELECTED_KEY] = self.run.deselected
        if self.run.plain_ids:
            workeroutput[PLAIN_IDS_KEY] = self.run.plain_ids


class BeforeXdistGroups:
    """Under ``--dist loadgroup``, pytest-xdist suffixes a grouped test's node id with
    ``@group`` on the workers: the ids before that, for seeds and order as in one process."""

    def __init__(self, runner: GatesRunner) -> None:
        self.runner = runner

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.runner.before_groups = {id(item): item.nodeid for item in items}


class BudgetStop:
    """With ``--atom-gates-stop-on-budget``: no new test starts once the budget is spent."""

    def __init__(self, run: GatesRun) -> None:
        self.run = run
        self.session: pytest.Session | None = None

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session

    def pytest_runtest_logfinish(self) -> None:
        session = self.session
        if (
            session is not None
            and not session.shouldstop
            and (self.run.clock.elapsed() > self.run.budget_left)
        ):
            session.shouldstop = BUDGET_STOP


class GatesController:
    """Records facts, judges once at the end, sets the exit status and writes the reports."""

    def __init__(self, config: pytest.Config, run: GatesRun) -> None:
        self.config = config
        self.run = run
        self.ledger = Ledger()
        self.gates: list[Gate] = default_gates()
        self.features: list[Feature] = []
        self.report_observers: list[Callable[[pytest.TestReport], None]] = []
        """Features that read the rerun reports and the last reports that carry one of
        ``observed_tags``, without a hook of their own (a hook called for every report costs
        every test)."""
        self.observed_tags: frozenset[str] = frozenset()
        """The attributes a last report must carry to be observed: most carry none."""
        self.interrupted: str | None = None
        self.stopped_early: str | None = None
        self.facts: RunFacts | None = None
        self.verdicts: list[GateVerdict] | None = None
        self.unexplained_failure = False
        self.report_written: Path | None = None
        self.html_written: Path | None = None
        self.report_problem: str | None = None
        self.output_problems: list[str] = []

    # -- facts ---------------------------------------------------------------------------

    def add_feature(
        self,
        feature: Feature,
        observe: Callable[[pytest.TestReport], None] | None = None,
        tags: frozenset[str] = frozenset(),
    ) -> None:
        """A feature's gate joins the run: TQ-01..05 in their order, then the extensions' gates
        in the order they were added; ``observe`` sees each earlier attempt's report and each
        last report that carries one of ``tags``."""
        self.features = sorted([*self.features, feature], key=lambda f: _gate_order(f.gate.id))
        self.gates = sorted([*self.gates, feature.gate], key=lambda gate: _gate_order(gate.id))
        if observe is not None:
            self.report_observers.append(observe)
            self.observed_tags |= tags

    def pytest_report_header(self) -> list[str]:
        return header_lines(self.run, [feature.header() for feature in self.features])

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.ledger.set_selected(item.nodeid for item in session.items)

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.ledger.deselected += len(items)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.ledger.record_collect_report(report)

    @pytest.hookimpl(tryfirst=True)  # before the terminal shows the report
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        node = getattr(report, "node", None)  # set by pytest-xdist: the worker that ran it
        self.ledger.record(report, MAIN_PROCESS if node is None else str(node.gateway.id))
        if report.outcome in NOT_LAST or (
            report.when == "teardown" and not report.__dict__.keys().isdisjoint(self.observed_tags)
        ):
            for observe in self.report_observers:
                observe(report)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        value = excinfo.value
        if isinstance(value, Terminated) or self.run.sigterm.received:
            self.interrupted = "SIGTERM"
        elif isinstance(value, pytest.exit.Exception):
            self.interrupted = f"pytest.exit(): {value.msg}"
        elif type(value) is KeyboardInterrupt or str(value).endswith("keyboard-interrupt"):
            # The second form is how pytest-xdist relays a worker's KeyboardInterrupt.
            self.interrupted = "KeyboardInterrupt"
        else:  # Session.Interrupted, xdist's Interrupted: the run stopped itself
            self.stopped_early = str(value) or type(value).__name__

    # -- judgement -----------------------------------------------------------------------

    def _stop_reason(self, session: pytest.Session) -> str | None:
        for reason in (self.stopped_early, session.shouldfail, session.shouldstop):
            if reason:
                return str(reason)
        return None

    def _order_checks(self, facts: RunFacts) -> OrderChecks:
        ledger = facts.ledger
        failed = [n for n in ledger.with_outcome(FAILED) if n not in facts.quarantined]
        # A rerun's pass proves flakiness only where it met its failed attempt's state: each
        # test that failed and then passed is replayed after the tests before it.
        flaky = [
            n
            for n in ledger.with_outcome(FLAKY)
            if n not in facts.quarantined and ledger.attempts(n)[0].outcome == FAILED
        ]
        if not (failed or flaky) or self.run.settings.mode("TQ-01") is GateMode.OFF:
            return OrderChecks()
        if facts.interrupted:
            why = "the run was interrupted"
            return OrderChecks(
                unchecked=failed, skipped_reason=why, flaky_unchecked=flaky, flaky_reason=why
            )
        run = self.run
        from pytest_atom_gates.check_commands import CheckCommands  # when needed
        from pytest_atom_gates.order_check import AloneChecker

        commands = CheckCommands(self.config, run.seed, environment=run.environment, path=run.path)
        commands.plain_ids = run.plain_ids
        commands.file_paths = run.collected_files
        commands.kept_bytecode = run.kept_bytecode
        checker = AloneChecker(commands)
        share = float(run.settings.order_check_time) / 100
        # A small run's share would not cover one process's start-up.
        seconds = max(share * run.clock.elapsed(), MIN_CHECK_SECONDS)
        ends = run.clock.elapsed() + seconds

        def time_left() -> float:
            now = run.clock.elapsed()
            return min(ends, run.settings.max_duration) - now

        from pytest_atom_gates.check_progress import CheckProgress, TerminalScreen

        progress = CheckProgress(
            TerminalScreen(self.config),
            tests=len(set(failed) | set(flaky)),
            limit=run.settings.order_checks,
            time_left=time_left,
        )
        with run.sigterm.raising_as(True), progress:  # the alone-runs may be cut short
            return checker.check(
                ledger,
                failed,
                run.settings.order_checks,
                flaky=flaky,
                budget_spent=lambda: run.clock.elapsed() >= run.settings.max_duration,
                seconds=seconds,
                progress=progress,
                workers=len(facts.ledger.sequences),  # under xdist, as many as ran tests
                collected=run.file_order,
                collected_files=run.collected_files,
            )

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(
        self, session: pytest.Session, exitstatus: int
    ) -> Generator[None, None, None]:
        # A wrapper judges before every other plugin's sessionfinish, whatever order plugins
        # were loaded in: pytest-json-report's is itself tryfirst, and it and JUnit XML read
        # the verdicts and the exit status set here.
        with self.run.sigterm.raising_as(False):  # the verdicts and reports get finished
            if is_xdist_controller(self.config):
                from pytest_atom_gates.xdist_bridge import wait_for_workers

                wait_for_workers(self.config)
            self._judge(session, int(exitstatus))
        result = yield
        if int(session.exitstatus) not in _SUMMARY_STATUSES:
            # pytest shows no summary for other statuses (pytest.exit's own code, say): the
            # verdicts are shown all the same.
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                self._summary(reporter)
        return result

    def _judge(self, session: pytest.Session, exitstatus: int) -> None:
        run = self.run
        stopped = self._stop_reason(session)
        facts = RunFacts(
            ledger=self.ledger,
            settings=run.settings,
            seed=run.seed,
            elapsed=run.clock.elapsed(),
            interrupted=self.interrupted,
            stopped_early=stopped,
            budget_stop=stopped == BUDGET_STOP or (stopped or "").endswith(BUDGET_STOP),
            partial_reason=partial_reason(
                self.config, self.ledger.deselected - run.shard_deselected
            ),
        )
        if self.ledger.selected is None:
            self.ledger.set_selected(())
        self.ledger.finish()
        for feature in self.features:
            feature.contribute(facts)
        checks = facts.extras["order_checks"] = self._order_checks(facts)
        if checks.interrupted and not self.interrupted:
            self.interrupted = "SIGTERM" if run.sigterm.received else "KeyboardInterrupt"
            facts.interrupted = self.interrupted
            exitstatus = pytest.ExitCode.INTERRUPTED
        facts.ledger.settle_order_dependent(
            c.nodeid for c in checks.order_dependent if c.origin == FLAKY
        )
        facts.elapsed = run.clock.elapsed()
        verdicts = evaluate(self.gates, facts)
        if run.shard is not None:
            from pytest_atom_gates.shard import SHARD_KEY, defer_whole_suite  # a CI shard

            if not run.shard.assigned:  # under xdist: what the workers collected
                run.shard.assigned = list(self.ledger.selected or ())
            facts.extras[SHARD_KEY] = run.shard
            verdicts = [defer_whole_suite(verdict, run.shard) for verdict in verdicts]
        if self.ledger.sequences and run.cache.folder is not None:
            # Only a run that ran tests records its seed for --atom-gates-seed=last.
            self.config.cache.set(SEED_CACHE_KEY, run.seed)
        status = self._exit_status(exitstatus, verdicts)
        session.exitstatus = status
        self.facts, self.verdicts = facts, verdicts
        if run.settings.report_path is not None or run.settings.html_path is not None:
            self._write_report(facts, verdicts, status, exitstatus)
        if run.settings.durations_path is not None and run.shard is None:
            self._write_durations(run.settings.durations_path)

    def _write_durations(self, path: Path) -> None:
        """Refresh the durations file that CI shards split by, with this run's figures."""
        from pytest_atom_gates.durations import DurationsProblem, write_durations

        try:
            write_durations(path, self.ledger.durations)
        except (OSError, DurationsProblem) as exc:
            self.output_problems.append(f"could not refresh the durations file {path}: {exc}")

    def _exit_status(self, pytest_status: int, verdicts: list[GateVerdict]) -> int:
        """The gates decide, except for interrupts, internal and usage errors, and no tests."""
        shard = self.run.shard
        if pytest_status == pytest.ExitCode.NO_TESTS_COLLECTED and shard and shard.collection:
            # More shards than tests: the split left this one empty, and that is no error.
            pytest_status = pytest.ExitCode.OK
        if pytest_status in (
            pytest.ExitCode.INTERNAL_ERROR,
            pytest.ExitCode.USAGE_ERROR,
            pytest.ExitCode.NO_TESTS_COLLECTED,
        ):
            return pytest_status
        if self.interrupted:
            return pytest_status
        gate_status = int(pytest.ExitCode.TESTS_FAILED) if any(v.fails_run for v in verdicts) else 0
        if pytest_status not in (
            pytest.ExitCode.OK,
            pytest.ExitCode.TESTS_FAILED,
            pytest.ExitCode.INTERRUPTED,
        ):
            return pytest_status
        # Failed attempts of flaky tests (a failed subtest, say) may have made pytest say 1.
        explained = bool(self.ledger.with_outcome(FAILED, FLAKY)) or bool(
            self.ledger.collection_errors
        )
        if pytest_status == pytest.ExitCode.TESTS_FAILED and not explained and gate_status == 0:
            self.unexplained_failure = True
            return pytest_status
        return gate_status

    def _incomplete_reason(self, facts: RunFacts, pytest_status: int) -> str | None:
        if facts.interrupted:  # pytest.exit(returncode=3) is no internal error
            return f"interrupted: {facts.interrupted}"
        if pytest_status == pytest.ExitCode.INTERNAL_ERROR:
            return "internal error"
        if facts.stopped_early:
            return f"stopped early: {facts.stopped_early}"
        if facts.ledger.collection_errors:
            return f"collection failed: {len(facts.ledger.collection_errors)} errors"
        not_run = facts.ledger.with_outcome("not-run")
        if not_run:
            return f"{len(not_run)} selected tests did not run"
        return None

    def _write_report(
        self, facts: RunFacts, verdicts: list[GateVerdict], status: int, pytest_status: int
    ) -> None:
        from pytest_atom_gates.reporting import json_report  # only runs that write a report

        path = self.run.settings.report_path
        workers = (
            self.config.getoption("numprocesses", None)
            if is_xdist_controller(self.config)
            else None
        )
        report = json_report.build_report(
            facts,
            verdicts,
            exit_status=status,
            incomplete_reason=self._incomplete_reason(facts, pytest_status),
            environment=json_report.environment(self.config, workers),
            extra_sections=self._sections(facts),
        )
        if path is not None:
            try:
                json_report.write_report(path, report)
            except OSError as exc:
                self.report_problem = f"could not write the report to {path}: {exc}"
            else:
                self.report_written = path
        html = self.run.settings.html_path
        if html is not None:
            from pytest_atom_gates.html import write_page  # only runs that write the page

            try:
                write_page(html, report)
            except OSError as exc:
                self.output_problems.append(f"could not write the HTML page to {html}: {exc}")
            except Exception as exc:  # a fault of the page must not cost the verdict
                self.output_problems.append(f"could not render the HTML page: {exc!r}")
            else:
                self.html_written = html

    def _sections(self, facts: RunFacts) -> dict[str, Any]:
        """Each built-in feature's section of the report, and the extensions' under theirs."""
        sections: dict[str, Any] = {}
        for feature in self.features:
            if feature.name == EXTENSIONS_KEY:
                sections.setdefault(EXTENSIONS_KEY, {})[feature.gate.id] = feature.report_section(
                    facts
                )
            else:
                sections[feature.name] = feature.report_section(facts)
        return sections

    # -- terminal ------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(
        self, terminalreporter: pytest.TerminalReporter
    ) -> Generator[None, None, None]:
        yield
        self._summary(terminalreporter)

    def _summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.facts is None or self.verdicts is None:
            return

        def write(text: str, **markup: bool) -> None:
            # Node ids and messages may hold line breaks; each of the plugin's lines stays one.
            terminalreporter.write_line(one_line(text), **markup)

        terminalreporter.write_sep("=", "atom-gates", bold=True)
        verbosity = int(self.config.option.verbose)
        facts = self.facts

        def feature_sections(write: Writer, verbosity: int) -> None:
            for feature in self.features:
                feature.render(write, verbosity, facts)

        render_summary(write, self.verdicts, facts, verbosity, feature_sections)
        if self.unexplained_failure:
            write("pytest reported a failure outside the tests; its exit status 1 stands", red=True)
        if self.report_problem:
            write(f"atom-gates: {self.report_problem}", red=True, bold=True)
        # Where the files went, under -q too (as pytest-html says): only -qq keeps it quiet.
        elif self.report_written is not None and verbosity >= -1:
            write(f"report: {display_path(self.report_written)}")
        if self.html_written is not None and verbosity >= -1:
            write(f"HTML page: {display_path(self.html_written)}")
        for problem in self.output_problems:
            write(f"atom-gates: {problem}", yellow=True)
        for where in self.run.late_gate_hooks:
            write(
                f"atom-gates: {where} implements pytest_atom_gates_add_gates but was loaded "
                "after start-up: its gates are not in this run. Put the hook in the rootdir's "
                "conftest.py, a test path's, or a plugin",
                red=True,
                bold=True,
            )
        text, markup = closing_line(self.verdicts, self.run.seed)
        write(text, **markup)
