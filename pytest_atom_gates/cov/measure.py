"""Measuring one process: started before the initial conftests are imported, stopped at the end.

Every process of a run measures itself the same way (a single process, the xdist controller and
each xdist worker); ``engine`` then decides where the data goes. Data stays in memory
(``data_file=None``): only the process that combines writes coverage.py's data file.

Measured subprocesses write data files of their own. Their names start with a base that belongs
to this session alone (``.coverage.atom-gates-<token>``), so two sessions in one directory at once
(``tox run-parallel``, an IDE beside a terminal) never combine, or delete, each other's data.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import pytest

from pytest_atom_gates.cov.imported_early import imported_before
from pytest_atom_gates.reporting.atomic import check_writable
from pytest_atom_gates.settings import GateMode, Settings, load_settings

if TYPE_CHECKING:
    import coverage

    from pytest_atom_gates.cov.facts import ProcessResult

GATE = "TQ-05"

MEASURED_BY_US = "atom-gates"
MEASURED_BY_PYTEST_COV = "pytest-cov"
MEASURED_BY_COVERAGE_RUN = "coverage run"
"""The process was started under coverage.py (``coverage run -m pytest``): TQ-05 reads it."""

_NOT_RUNNING_TESTS = ("collectonly", "setuponly", "setupplan", "help", "version")
"""Options under which no test body runs and no gate is judged: nothing to measure."""

_QUIET = ("module-not-imported", "no-data-collected")
"""Warnings a single process cannot judge under xdist (another worker may import the source);
the controller works out which sources matched nothing from the combined data instead."""


class Measurement(Protocol):
    """What measures this process, if anything."""

    @property
    def measured_by(self) -> str | None:
        """Who measures: this plugin, pytest-cov, or nobody."""
        ...

    def finish(self, process: str) -> ProcessResult:
        """Stop measuring and hand over what was measured; called once, at the end."""
        ...

    def abandon(self) -> None:
        """Stop measuring without a result (the session ended before it could judge)."""
        ...


MEASUREMENT_KEY = pytest.StashKey[Measurement]()


def start_early(config: pytest.Config) -> None:
    """From ``pytest_load_initial_conftests``: validate the settings, then start measuring.

    Starting here, before conftest files are imported, counts what they and the package under
    test run at import time. Bad settings are a usage error now, before anything is measured.
    """
    namespace = config.known_args_namespace
    settings = load_settings(config, namespace)
    if settings.mode(GATE) is GateMode.OFF:
        return
    if any(getattr(namespace, name, False) for name in _NOT_RUNNING_TESTS):
        return
    measurement = _begin(config, namespace, settings)
    config.stash[MEASUREMENT_KEY] = measurement
    config.add_cleanup(measurement.abandon)
    if isinstance(measurement, OwnTracer) and not measurement.session_data_inherited:
        _share_session_data(config, measurement.session_data)
    if isinstance(measurement, PytestCovMeasures):
        config.pluginmanager.register(measurement, "atom-gates-coverage-pytest-cov")


def _begin(config: pytest.Config, namespace: argparse.Namespace, settings: Settings) -> Measurement:
    # A bare --cov is [True] until pytest-cov's own start turns it into None ("everything"),
    # and registers its plugin.
    asked = getattr(namespace, "cov_source", None) or config.pluginmanager.has_plugin("_cov")
    if asked and not getattr(namespace, "no_cov", False):
        return PytestCovMeasures()
    outside = coverage_run()
    if outside is not None:
        return MeasuredFromOutside(outside)
    other = other_tracer()
    if other:
        return NotMeasured(f"coverage could not be measured: {other}")
    return OwnTracer.start(settings.coverage_sources)


SESSION_MARK = ".atom-gates-"
"""Between the configured data file's name and a session's token in its base name."""

SESSION_DATA_ENV = "ATOM_GATES_COVERAGE_SESSION"
"""Tells xdist workers, as ``<controller pid>:<path>``, the base name of the session's
subprocess data files; the pid keeps any other pytest started below a worker out of it."""


def _check_data_file(data_file: Path) -> None:
    problem = check_writable(data_file)
    if problem:
        raise pytest.UsageError(
            f"{GATE}: cannot write coverage.py's data file {data_file}: {problem}. Set [run] "
            "data_file (or COVERAGE_FILE) to a writable place, or switch the gate off with "
            "--atom-gates-mode=TQ-05:off."
        )


def _inherited_session_data() -> Path | None:
    """The controller's base name, in an xdist worker it started; None anywhere else."""
    parent, _, path = os.environ.get(SESSION_DATA_ENV, "").partition(":")
    if path and os.environ.get("PYTEST_XDIST_WORKER") and parent == str(os.getppid()):
        return Path(path)
    return None


def _new_session_data(configured: Path) -> Path:
    # Never the global RNG here: tests reseed that one.
    return configured.with_name(f"{configured.name}{SESSION_MARK}{os.urandom(4).hex()}")


def _share_session_data(config: pytest.Config, session_data: Path) -> None:
    """Hand the base name to the xdist workers this process may start, for this session only."""
    before = os.environ.get(SESSION_DATA_ENV)
    os.environ[SESSION_DATA_ENV] = f"{os.getpid()}:{session_data}"

    def restore() -> None:
        if before is None:
            os.environ.pop(SESSION_DATA_ENV, None)
        else:
            os.environ[SESSION_DATA_ENV] = before

    config.add_cleanup(restore)


class PytestCovMeasures:
    """``--cov`` is given: pytest-cov measures and combines; TQ-05 reads its total."""

    measured_by = MEASURED_BY_PYTEST_COV

    def __init__(self) -> None:
        self.core: str | None = None

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self) -> None:
        # By now pytest-cov measures here (its xdist workers start in this very hook).
        self.core = running_core()

    def finish(self, process: str) -> ProcessResult:
        from pytest_atom_gates.cov.facts import ProcessResult

        return ProcessResult(process, self.measured_by, core=self.core)

    def abandon(self) -> None:
        pass


class MeasuredFromOutside:
    """The process runs under ``coverage run`` (or another tool's ``Coverage`` object that
    measures it from the start): TQ-05 reads that measurement, early imports included, and
    leaves it running for its owner to save."""

    measured_by = MEASURED_BY_COVERAGE_RUN

    def __init__(self, cov: coverage.Coverage) -> None:
        self.cov = cov
        self.start_dir = Path.cwd()

    def finish(self, process: str) -> ProcessResult:
        from pytest_atom_gates.cov.facts import ProcessResult

        return ProcessResult(process, self.measured_by, core=running_core())

    def abandon(self) -> None:
        pass


def coverage_run() -> coverage.Coverage | None:
    """The ``Coverage`` object that measures this process from outside, if one does: not one
    that coverage.py's subprocess support started (it steps aside for ours)."""
    import coverage

    current = coverage.Coverage.current()
    if current is None or current is getattr(coverage.process_startup, "coverage", None):
        return None
    measuring = _is_coverage_tracer(sys.gettrace()) or running_core() == "sysmon"
    return current if measuring else None


class NotMeasured:
    """Something else traces this process; a second tracer would corrupt both."""

    measured_by = None

    def __init__(self, problem: str) -> None:
        self.problem = problem

    def finish(self, process: str) -> ProcessResult:
        from pytest_atom_gates.cov.facts import ProcessResult

        return ProcessResult(process, None, problem=self.problem)

    def abandon(self) -> None:
        pass


def _is_coverage_tracer(tracer: Any) -> bool:
    owner = getattr(tracer, "__self__", tracer)  # PyTracer installs a bound method
    return type(owner).__module__.partition(".")[0] == "coverage"


def _describe(tracer: Any) -> str:
    owner = getattr(tracer, "__self__", tracer)
    kind = type(owner)
    return f"{kind.__module__}.{kind.__qualname__}"


def other_tracer() -> str | None:
    """What else traces this process, or None when nothing does.

    A coverage.py that its own subprocess support started at interpreter start-up (``[run]
    patch = subprocess`` or ``COVERAGE_PROCESS_START`` in a parent) is not in the way: coverage.py
    makes it step aside, unsaved, as soon as another ``Coverage`` object is made here.
    """
    import coverage

    started_by_parent = getattr(coverage.process_startup, "coverage", None)
    current = coverage.Coverage.current()
    if current is not None and current is not started_by_parent:
        return "coverage.py is already measuring this process (coverage run, or another plugin)"
    tracer = sys.gettrace()
    if tracer is not None and not (current is not None and _is_coverage_tracer(tracer)):
        return f"a debugger or another tracer is active (sys.gettrace() is {_describe(tracer)})"
    if sys.version_info >= (3, 12):
        monitoring = sys.monitoring
        debugger = monitoring.get_tool(monitoring.DEBUGGER_ID)
        if debugger is not None:
            return f"a debugger is registered with sys.monitoring ({debugger})"
        tool = monitoring.get_tool(monitoring.COVERAGE_ID)
        if tool is not None and current is None:
            return f"another coverage tool is registered with sys.monitoring ({tool})"
    return None


def running_core() -> str | None:
    """The core that traces this thread now, as coverage.py names it in ``[run] core``."""
    tracer = sys.gettrace()
    if tracer is not None:
        kind = type(getattr(tracer, "__self__", tracer)).__name__
        return {"CTracer": "ctrace", "PyTracer": "pytrace"}.get(kind, kind)
    if sys.version_info >= (3, 12) and sys.monitoring.get_tool(sys.monitoring.COVERAGE_ID):
        return "sysmon"
    return None


def _prefer_sysmon(cov: coverage.Coverage) -> str | None:
    """Ask for the sys.monitoring core when nothing rules it out; else say what does.

    coverage.py itself may still refuse it (branch coverage before Python 3.14, dynamic
    contexts, some concurrency libraries); it then warns and uses its default core.
    """
    from coverage.exceptions import ConfigError

    if sys.version_info < (3, 12):
        return "sys.monitoring needs Python 3.12 or newer"
    try:
        chosen = cov.get_option("run:core")
    except ConfigError:
        return "this coverage.py version has no [run] core setting"
    if chosen:
        return f"[run] core (or COVERAGE_CORE) chose {chosen}"
    if cov.get_option("run:timid"):
        return "[run] timid asks for the Python tracer"
    if cov.get_option("run:plugins"):
        return "[run] plugins need a trace-function core"
    cov.set_option("run:core", "sysmon")
    return None


@contextmanager
def coverage_warnings(into: list[str]) -> Iterator[None]:
    """Collect coverage.py's warnings into ``into`` instead of letting them reach pytest.

    Projects often turn warnings into errors (``filterwarnings = error``); a coverage.py
    warning at the end of the run must become a note in the summary, not a crash. Other
    warnings are passed on unchanged.
    """
    from coverage.exceptions import CoverageWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CoverageWarning)
        yield
    for warning in caught:
        if issubclass(warning.category, CoverageWarning):
            text = str(warning.message)
            if text not in into:
                into.append(text)
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )


def parallel_data_files(base: Path) -> list[Path]:
    """The parallel data files of ``base`` (``base.*``), as ``coverage combine`` finds them."""
    return sorted(base.parent.glob(f"{glob.escape(base.name)}.*"))


def coverage_errors() -> tuple[type[Exception], ...]:
    """What coverage.py raises for bad configuration or data; older coverage.py 7 releases
    do not derive ``ConfigError`` from ``CoverageException``."""
    from coverage.exceptions import ConfigError, CoverageException

    return (CoverageException, ConfigError)


_NO_SYSMON = "Can't use core=sysmon: "


def _hand_subprocesses_the_default_core(cov: coverage.Coverage) -> None:
    """Take back our request for sysmon from what measured subprocesses are handed.

    With ``[run] patch = subprocess`` coverage.py passes its configuration, our request
    included, to every subprocess in ``COVERAGE_PROCESS_CONFIG``; each would refuse sysmon
    again and print the refusal on its stderr, where the test that started it may read it.
    """
    try:
        patches = cast("list[str]", cov.get_option("run:patch") or [])
    except coverage_errors():  # coverage.py before 7.10 has no [run] patch
        return
    if "subprocess" not in patches:
        return
    cov.set_option("run:core", None)
    os.environ["COVERAGE_PROCESS_CONFIG"] = cov.config.serialize()


def _leave_out_the_plugin(cov: Any) -> None:
    """With no source configured coverage.py measures all code that runs outside the standard
    library and site-packages, and an editable install of this plugin is outside both: its
    modules are never part of a user's figure. A configured source is the user's choice."""
    if cov.get_option("run:source") or cov.get_option("run:source_pkgs"):
        return
    omit = list(cast("list[str]", cov.get_option("run:omit") or []))
    cov.set_option("run:omit", [*omit, str(Path(__file__).resolve().parents[1] / "*")])


class OwnTracer:
    """Our coverage.py in this process: in memory, from the early start to the end."""

    measured_by = MEASURED_BY_US

    def __init__(
        self,
        cov: coverage.Coverage,
        *,
        core: str | None,
        core_note: str | None,
        start_dir: Path,
        data_file: Path,
        session_data: Path,
        session_data_inherited: bool,
        caught: list[str],
    ) -> None:
        self.cov = cov
        self.core = core
        self.core_note = core_note
        self.start_dir = start_dir
        """Where measuring started: coverage.py read its configuration relative to it."""
        self.data_file = data_file
        """Where the configuration puts coverage.py's data file: the combined data ends there."""
        self.session_data = session_data
        """The base name of this session's data files (see the module's docstring)."""
        self.session_data_inherited = session_data_inherited
        """True in an xdist worker: the base name is its controller's, shared from there."""
        self.earlier_data_files = set(parallel_data_files(data_file))
        """Parallel data files that were there before the run: not this run's to combine."""
        self.warnings = caught
        """Coverage.py's warnings in this process, so far."""
        self._tracer = sys.gettrace()
        self._result: ProcessResult | None = None
        self.imported_early: tuple[str, ...] = ()
        """Measured modules imported before measuring started (see ``imported_early``)."""

    @classmethod
    def start(cls, sources: tuple[str, ...]) -> OwnTracer:
        import coverage

        caught: list[str] = []
        try:
            with coverage_warnings(caught):
                cov = coverage.Coverage(data_file=None, source=list(sources) or None)
                _leave_out_the_plugin(cov)
                quiet = [*cast("list[str]", cov.get_option("run:disable_warnings")), *_QUIET]
                cov.set_option("run:disable_warnings", quiet)
                core_note = _prefer_sysmon(cov)
                data_file = Path.cwd() / str(cov.get_option("run:data_file"))
                _check_data_file(data_file)
                inherited = _inherited_session_data()
                session_data = inherited or _new_session_data(data_file)
                # Read by subprocesses that coverage.py measures (``[run] patch = subprocess``).
                cov.set_option("run:data_file", str(session_data))
                cov.start()
        except coverage_errors() as exc:
            raise pytest.UsageError(
                f"TQ-05: coverage.py cannot measure with its configuration: {exc}. Fix the "
                "coverage configuration, or switch the gate off with --atom-gates-mode=TQ-05:off."
            ) from None
        core = running_core()
        refusals = [text for text in caught if text.startswith(_NO_SYSMON)]
        if refusals:
            reason = refusals[0].removeprefix(_NO_SYSMON).partition(", using default core")[0]
            core_note = f"coverage.py cannot use sysmon here: {reason}"
            _hand_subprocesses_the_default_core(cov)
        elif core_note is None and core != "sysmon":
            core_note = f"coverage.py chose {core}"
        kept = [text for text in caught if not text.startswith(_NO_SYSMON)]
        tracer = cls(
            cov,
            core=core,
            core_note=core_note,
            start_dir=Path.cwd(),
            data_file=data_file,
            session_data=session_data,
            session_data_inherited=inherited is not None,
            caught=kept,
        )
        if inherited is None:  # the process that combines: an xdist worker's are the same
            tracer.imported_early = imported_before(cov)
        return tracer

    def _disturbed(self) -> str | None:
        if self.core == "sysmon":
            if sys.version_info >= (3, 12) and not sys.monitoring.get_tool(
                sys.monitoring.COVERAGE_ID
            ):
                return "sys.monitoring's coverage tool was released during the run"
            return None
        if sys.gettrace() is not self._tracer:
            return (
                "the trace function was replaced during the run (a debugger, --pdb, or a test "
                "calling sys.settrace)"
            )
        return None

    def finish(self, process: str) -> ProcessResult:
        if self._result is not None:
            return self._result
        from pytest_atom_gates.cov.facts import ProcessResult

        disturbed = self._disturbed()
        with coverage_warnings(self.warnings):
            self.cov.stop()
            data = self.cov.get_data().dumps()
        problem = f"coverage could not be measured completely: {disturbed}" if disturbed else None
        self._result = ProcessResult(
            process,
            self.measured_by,
            self.core,
            self.core_note,
            problem,
            data,
            tuple(self.warnings),
        )
        return self._result

    def abandon(self) -> None:
        if self._result is None:
            self.cov.stop()
