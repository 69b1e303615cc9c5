"""The question TQ-01's checks ask, and the engines that answer it.

A question is "run these tests, in this run's order (or in file order), with this run's seed and
no reruns: how did each end?". ``order_check`` and ``pollution`` plan questions; an engine
answers them: ``FreshProcesses`` starts one pytest process per question, ``fork_server`` a
forked copy of a pytest process that started and collected once. Both run the plugin itself in
the child, so the order and the per-test seeds are the run's.
"""

from __future__ import annotations

import json
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pytest_atom_gates.check_environment import STATE_ENV
from pytest_atom_gates.gates.independence import FRESH
from pytest_atom_gates.invocation import ARGS_FILES
from pytest_atom_gates.ledger import is_file, module_of
from pytest_atom_gates.new_tests import REPLAY_ENV
from pytest_atom_gates.process_state import read_changes

INLINE_LIMIT = 30
"""At most this many node ids go inline into a command; more go into an argument file."""


@dataclass(frozen=True)
class Question:
    """Run ``tests`` (node ids) in this run's order, or in file order; no other test runs."""

    tests: tuple[str, ...]
    file_order: bool = False
    collected: tuple[str, ...] = ()
    """Files collected first, in this order, as the run's process had (``GatesRun``), their
    other tests deselected: a replay of that process, or a search in it, meets the state
    their imports left. Both engines collect them."""
    state_between: tuple[str, str] | None = None
    """Snapshots of the process state before the first of these tests and after the second
    (``process_state``): what they changed comes back in ``Answer.state``. Fresh processes
    take them; they are for the replay of a set found."""
    probes: tuple[str, ...] = ()
    """Tests after each of which the last test is also run, in a copy of the process as it was
    before that test: ``Answer.probes`` says whether it would have failed after the tests up
    to there. Forked copies take them on their way through the question's tests; a fresh
    process cannot, and gives none. They are a search's shortcut (``pollution``)."""
    stop_at: str | None = None
    """With ``probes``: the first probe whose last test ends so ends the question there, since
    it has said what the search wants to know; the rest of the tests do not run."""


@dataclass(frozen=True)
class Answer:
    """Each test's outcome in the order they ran; ``ended`` says how the process ended when a
    test has none."""

    outcomes: tuple[tuple[str, str], ...]
    ended: str = ""
    state: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    """For a question with ``state_between``: what those tests changed in the process, and
    what of it was still changed after the last test; None when no snapshot was taken."""
    probes: tuple[tuple[str, str], ...] = ()
    """For a question with ``probes``: each test probed after, and the last test's outcome
    right after it; those that gave no outcome are left out."""

    def outcome(self, nodeid: str) -> str | None:
        return dict(self.outcomes).get(nodeid)


class Engine(Protocol):
    """Answers questions; may be asked from several threads at once."""

    mechanism: str
    """How it answers (``gates.independence``: forked copies or fresh processes)."""

    def ask(self, question: Question, timeout: float) -> Answer:
        """The answer; ``subprocess.TimeoutExpired`` past ``timeout``, ``OSError`` when no
        process could start."""
        ...

    def stop(self) -> None:
        """Kill whatever runs: the checks were interrupted."""
        ...

    def close(self) -> None:
        """The checks are over."""
        ...


@dataclass
class ChildSpec:
    """How a child pytest is started: the command up to the selection, where, and with what
    environment; ``cli_id`` turns a node id into an argument that works there."""

    command: list[str]
    cwd: Path
    environment: dict[str, str]
    cli_id: Callable[[str], str]
    repetitions: Mapping[str, int] = field(default_factory=dict)
    """New tests the run repeated, and how many more times: a question repeats them too."""
    node_id: Callable[[str], str] = str
    """A node id as the child's own collection names it (without pytest-xdist's suffix)."""

    start_args: Sequence[str] = ()
    """The run's own paths and node ids (pytest's ``config.args``): a server starts with them,
    so that its root directory and its first conftests are the run's."""

    kept_bytecode: Path | None = None
    """The run's assertion rewriting, kept under ``PYTHONDONTWRITEBYTECODE``: a server's
    copies read their test modules from there."""

    def selection(
        self, nodeids: Sequence[str], folder: Path, collected: Sequence[str] = ()
    ) -> list[str]:
        """The node ids as arguments, after the ``collected`` files (``Question.collected``);
        many go into an argument file, past the OS's limits."""
        return self.arguments(selection_args(nodeids, collected, self.cli_id, self.node_id), folder)

    def arguments(self, args: Sequence[str], folder: Path) -> list[str]:
        """``args``, or an argument file in ``folder`` that holds them when they are many."""
        args = list(args)
        if len(args) <= INLINE_LIMIT or not ARGS_FILES:
            return args
        args_file = folder / "selection.txt"
        args_file.write_text("\n".join(args) + "\n", encoding="utf-8")
        return [f"@{args_file}"]

    def replay_environment(self, nodeids: Sequence[str], folder: Path) -> dict[str, str]:
        """The environment, with the new-test repetitions of ``nodeids`` to replay."""
        env = dict(self.environment)
        repeated = {n: self.repetitions[n] for n in nodeids if n in self.repetitions}
        if repeated:
            replay = folder / "repetitions.json"
            replay.write_text(json.dumps(repeated), encoding="utf-8")
            env[REPLAY_ENV] = str(replay)
        return env


def selection_args(
    nodeids: Sequence[str],
    collected: Sequence[str],
    cli_id: Callable[[str], str],
    node_id: Callable[[str], str],
) -> list[str]:
    """``nodeids`` as arguments, each file of ``collected`` in its place before them: a file
    that holds none of them is collected and its tests deselected (``--deselect`` takes node
    ids from the root directory), one that holds some collects only those. A file among the
    ``nodeids`` (a polluter that is a file's collection) is collected the same way."""
    if not collected and not any(map(is_file, nodeids)):
        return [cli_id(nodeid) for nodeid in nodeids]
    own: dict[str, list[str]] = {}
    files: list[str] = []
    for nodeid in nodeids:
        if is_file(nodeid):
            files.append(nodeid)
        else:
            own.setdefault(module_of(node_id(nodeid)), []).append(cli_id(nodeid))
    args: list[str] = []
    for file in dict.fromkeys((*collected, *files)):
        plain = node_id(file)
        if plain in own:
            args += own.pop(plain)
        else:
            args += [cli_id(file), f"--deselect={plain}::"]
    return [*args, *(arg for rest in own.values() for arg in rest)]


class Children:
    """The child processes running now, to kill them all on an interrupt."""

    def __init__(self) -> None:
        self._running: set[subprocess.Popen[str]] = set()
        self._lock = threading.Lock()

    def run(
        self, command: list[str], cwd: Path, env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """``subprocess.run``, with the child known to ``kill`` while it runs."""
        child = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # A test's output is bytes until proven text: only a failure's last line is read.
            encoding="utf-8",
            errors="backslashreplace",
        )
        with self._lock:
            self._running.add(child)
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except BaseException:  # a timeout, or an interrupt of this thread
            child.kill()
            child.communicate()
            raise
        finally:
            with self._lock:
                self._running.discard(child)
        return subprocess.CompletedProcess(command, child.returncode, stdout, stderr)

    def kill(self) -> None:
        with self._lock:
            for child in self._running:
                child.kill()


class FreshProcesses:
    """One fresh pytest process per question: start-up and collection paid every time."""

    mechanism = FRESH

    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self.children = Children()
        self.started = 0
        self.stopped = False
        """Interrupted: no process is started any more."""
        self._count = threading.Lock()

    def ask(self, question: Question, timeout: float) -> Answer:
        if self.stopped:
            return Answer((), "interrupted")
        spec = self.spec
        with tempfile.TemporaryDirectory(prefix="atom-gates-alone-") as name:
            folder = Path(name)
            report = folder / "alone.json"
            command = [
                *spec.command,
                *(["--atom-gates-order=file"] if question.file_order else []),
                f"--atom-gates-report={report}",
                # Its own cache: the run's seed and last failures stay the run's.
                "-o",
                f"cache_dir={folder / 'cache'}",
                *spec.selection(question.tests, folder, question.collected),
            ]
            env = spec.replay_environment(question.tests, folder)
            snapshots = folder / "state.json"
            if question.state_between is not None:
                first, last = (spec.node_id(n) for n in question.state_between)
                env[STATE_ENV] = f"{snapshots}\n{first}\n{last}"
            with self._count:
                self.started += 1
            done = self.children.run(command, spec.cwd, env, timeout)
            outcomes = tests_in_report(report)
            state = None if question.state_between is None else read_changes(snapshots)
            return Answer(tuple(outcomes), "" if outcomes else why_no_result(done), state)

    def stop(self) -> None:
        self.stopped = True
        self.children.kill()

    def close(self) -> None:
        pass


def why_no_result(done: subprocess.CompletedProcess[str]) -> str:
    """How a child that wrote no report ended, in words rather than a traceback's last line."""
    if done.returncode < 0:
        return f"killed by {signal_name(-done.returncode)}"
    lines = [line.strip() for line in f"{done.stderr}\n{done.stdout}".splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith(("Fatal Python error", "ERROR: "))]
    shown = fatal[0] if fatal else (lines[-1] if lines else "no output")
    return f"exit {done.returncode}: {shown}"


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def tests_in_report(report: Path) -> list[tuple[str, str]]:
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
