"""TQ-01's questions answered by forked copies of pytest processes: start-up and collection
paid once per set of modules, not once per question.

A server is a child pytest started as a fresh child would be (the run's options and seed, no
reruns, one process). It starts up (interpreter, plugins, the initial conftests), collects
nothing and runs nothing. For each set of test modules the questions name it forks a *group*,
which collects those modules, in that order, and runs nothing; each question is answered by a
*copy* forked from its group, which takes the question's tests from the group's collection,
hands them to the collection hooks as a fresh ``pytest NODEIDS`` process would, runs them
through pytest's own run protocol, writes each outcome to a file and exits. So a copy has
imported exactly the modules a fresh process would have (those of its tests, and the files its
question collects first), and meets the state a fresh process meets.

Questions come on a pipe as JSON lines, each naming a file with the question; the server
says on a pipe of its own when it is ready and when each copy has ended.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import os
import select
import signal
import sys
import threading
import time
import traceback
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from pytest_atom_gates.check_environment import PYCACHE_ENV, SERVE_ENV
from pytest_atom_gates.ledger import Ledger
from pytest_atom_gates.run import RUN_KEY
from pytest_atom_gates.settings import FILE_ORDER

THREADS = "threads"
"""A group's first reply when its modules start threads on import: it cannot fork, so its
questions go to the ``COLLECTING`` group, whose copies collect their own tests."""
COLLECTING: tuple[str, ...] = ()
"""The key of the group that collects nothing (every question names a module): each of its
copies collects its own tests after the fork, as a fresh process would."""
FRESH_ANSWER = 3
"""A copy's exit status when a fresh process must answer its question instead: its group could
not collect the question's tests as a fresh process would."""
LOST = "lost"
"""The reply for a question whose group ended before its copy did (a test killed it)."""
PROBE_TIMEOUT = 30.0
"""Seconds a probe may take (two tests): past them it is stopped, and its question goes on
without probes, as a fresh process would answer it."""
MAX_GROUPS = 64
"""Groups kept at once; the one least recently asked goes first. A group of one module of a
hundred tests holds about 13 MiB of its own."""


# -- the server, inside the child pytest ---------------------------------------------------


class _Recorder:
    """The outcomes of the tests a forked copy runs, as the run's own ledger records them."""

    def __init__(self) -> None:
        self.ledger = Ledger()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.ledger.set_selected(item.nodeid for item in session.items)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.ledger.record(report)


def _threads() -> int:
    """The threads of this process, those Python did not start included (Linux)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


@dataclasses.dataclass
class Group:
    """A forked process, in the server, that collected one set of modules."""

    pid: int
    requests: int
    """The pipe the server writes its questions to."""
    replies: int
    """The pipe it says on when each copy has ended."""
    pending: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    """The questions it was handed that have no answer yet, by id."""
    buffered: bytes = b""
    threaded: bool = False
    """It could not fork its copies: its modules start threads when imported."""

    def send(self, line: bytes) -> None:
        with contextlib.suppress(OSError):  # it ended: its replies say so
            os.write(self.requests, line + b"\n")

    def close(self) -> None:
        for fd in (self.requests, self.replies):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


class ServerPlugin:
    """Registered in a server: collects nothing and serves questions instead of running tests;
    in a group, collects its modules and keeps their items; in a copy, hands the question's
    items to pytest's collection hooks and run loop."""

    def __init__(self, config: pytest.Config, question_fd: int, reply_fd: int) -> None:
        self.config = config
        self.question_fd = question_fd
        self.reply_fd = reply_fd
        self.role = "server"
        self.collected: dict[str, pytest.Item] = {}
        """A group's items by node id: built before any copy forks, which then touches only
        its own tests (each object a copy touches is a page it copies)."""
        self.unfaithful: str | None = None
        """Why this group's copies would not answer as a fresh process would, if so."""
        self.modules = ""
        """A group's modules, in words."""
        self.probes: frozenset[str] = frozenset()
        """In a copy: the tests after each of which its question's last test is probed."""
        self.probed: list[tuple[str, str]] = []
        """In a copy: each test probed after, and the last test's outcome there."""
        self.recorder: _Recorder | None = None
        self.stop_at: str | None = None
        """In a copy: the outcome of a probe that ends its question."""
        self.probed_test = ""
        """In a copy: the question's last test, which its probes run."""
        self.probe_file = ""
        """In a copy: where its probes write their outcomes, one at a time."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self) -> bool | None:
        # Only a group, or a copy that collects its own tests, collects.
        return None if self.role in ("group", "collecting copy") else True

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_collection_modifyitems(
        self, items: list[pytest.Item]
    ) -> Generator[None, None, None]:
        if self.role == "group":
            # A group keeps its items as collected; the hooks meet each copy's own tests.
            self.collected = {item.nodeid: item for item in items}
            items[:] = []
        return (yield)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        if self.role == "copy" and self.probes:
            return self._probing_loop(session)
        if self.role in ("copy", "collecting copy"):
            return None  # pytest's own loop runs the copy's tests
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            self._serve(session)
        except BaseException:  # in the log, for the checks to quote
            traceback.print_exc()
            raise
        finally:
            sys.stderr.flush()
            os._exit(0)  # no session finish: a server writes no report, cache or data

    def _reply(self, line: str) -> None:
        os.write(self.reply_fd, f"{line}\n".encode())

    def _serve(self, session: pytest.Session) -> None:
        """The server: start a group for each set of modules, hand it their questions, relay
        its replies."""
        threads = _threads()
        if threads > 1:
            self._reply(f"unusable {threads} threads run after start-up; a fork copies them broken")
            return
        # What a run imports once a test fails (its attempts, its failure), made here once
        # instead of in each copy whose tests fail. Harness modules, not state a test sees.
        from pytest_atom_gates import attempts, failures  # noqa: F401

        self._reply("ready")
        # What the server holds now is left out of garbage collection: a group's collections
        # would copy every page of it. Each copy takes it back (``_answer``).
        gc.freeze()
        groups: dict[tuple[str, ...], Group] = {}  # the most recently asked last
        threaded: set[tuple[str, ...]] = set()  # sets of modules that start threads
        buffered = b""
        while True:
            watched = [self.question_fd, *(g.replies for g in groups.values())]
            readable, _, _ = select.select(watched, [], [])
            for key, group in list(groups.items()):
                if group.replies in readable and not self._relay(group):
                    del groups[key]
                    if group.threaded:
                        threaded.add(key)
                        for request in group.pending.values():
                            self._hand(session, COLLECTING, request, groups)
            if self.question_fd not in readable:
                continue
            lines, buffered = _read_lines(self.question_fd, buffered)
            if lines is None:  # the checks are over
                break
            for line in lines:
                request = json.loads(line)
                if "kill" in request:
                    for group in groups.values():
                        if request["kill"] in group.pending:
                            group.send(line)
                    continue
                key = tuple(request.pop("modules"))
                self._hand(session, COLLECTING if key in threaded else key, request, groups)
        for group in groups.values():
            group.close()

    def _hand(
        self,
        session: pytest.Session,
        key: tuple[str, ...],
        request: dict[str, Any],
        groups: dict[tuple[str, ...], Group],
    ) -> None:
        """Give ``request`` to the group of ``key``, started if need be; it is then the most
        recently asked."""
        group = groups.pop(key) if key in groups else self._group(session, key, groups)
        groups[key] = group
        group.pending[request["id"]] = request
        group.send(json.dumps(request).encode())

    def _relay(self, group: Group) -> bool:
        """Pass on what ``group`` replied; False once it has ended."""
        lines, group.buffered = _read_lines(group.replies, group.buffered)
        if lines is None:
            if not group.threaded:
                for request in group.pending:
                    self._reply(f"{request} {LOST}")
            group.close()
            return False
        for line in lines:
            word = line.decode().partition(" ")[0]
            if word == THREADS:
                group.threaded = True
                continue
            group.pending.pop(word, None)
            os.write(self.reply_fd, line + b"\n")
        return True

    def _group(
        self, session: pytest.Session, modules: tuple[str, ...], groups: dict[Any, Group]
    ) -> Group:
        """Fork a group that collects ``modules`` (``COLLECTING``: nothing, its copies collect
        their own tests), making room for it first."""
        leaving = evicted(groups)
        if leaving is not None:
            groups.pop(leaving).close()
        requests_read, requests_write = os.pipe()
        replies_read, replies_write = os.pipe()
        pid = os.fork()
        if pid:
            os.close(requests_read)
            os.close(replies_write)
            return Group(pid, requests_write, replies_read)
        code = 1
        try:  # the group
            for fd in (self.question_fd, self.reply_fd, requests_write, replies_read):
                os.close(fd)
            for group in groups.values():
                os.close(group.requests)
                os.close(group.replies)
            self.question_fd, self.reply_fd = requests_read, replies_write
            if modules == COLLECTING:
                self.role = "serving collecting copies"
                self._serve_copies(session)
            else:
                self._collect(session, modules)
                if _threads() > 1:
                    self._reply(THREADS)
                else:
                    gc.freeze()  # the same for its copies, of what it collected
                    self._serve_copies(session)
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def _collect(self, session: pytest.Session, modules: tuple[str, ...]) -> None:
        """In a group: collect ``modules`` as a fresh process collects its node ids' modules."""
        self.role = "group"
        self.config.args[:] = modules
        self.modules = modules[0] + (f" and {len(modules) - 1} more" if len(modules) > 1 else "")
        stopped: BaseException | None = None
        try:
            self.config.hook.pytest_collection(session=session)
        except (pytest.Session.Failed, pytest.Session.Interrupted, pytest.UsageError) as exc:
            stopped = exc
        except pytest.exit.Exception as exc:
            stopped = exc
        if stopped is not None:
            self.unfaithful = f"collecting {self.modules} stopped: {stopped}"
        elif session.testsfailed:
            self.unfaithful = f"collecting {self.modules} gave errors"
        self.role = "serving"

    def _serve_copies(self, session: pytest.Session) -> None:
        """In a group: answer each question in a forked copy."""
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        signal.set_wakeup_fd(wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        copies: dict[int, str] = {}  # pid: request id
        buffered = b""
        while True:
            readable, _, _ = select.select([self.question_fd, wake_read], [], [])
            if wake_read in readable:
                while _drained(wake_read):
                    pass
            self._reap(copies)
            if self.question_fd not in readable:
                continue
            lines, buffered = _read_lines(self.question_fd, buffered)
            if lines is None:  # the server is done with this group
                break
            for line in lines:
                request = json.loads(line)
                if "kill" in request:
                    pid = next((p for p, r in copies.items() if r == request["kill"]), None)
                    if pid is not None:
                        os.kill(pid, signal.SIGKILL)
                    continue
                pid = os.fork()
                if pid == 0:
                    collecting = self.role == "serving collecting copies"
                    self._answer(session, request, collecting=collecting)
                copies[pid] = request["id"]
        for pid in copies:
            os.kill(pid, signal.SIGKILL)

    def _run(
        self, session: pytest.Session, question: dict[str, Any], *, collecting: bool
    ) -> _Recorder:
        """Run the question's tests through pytest's own protocol; what each did."""
        config = self.config
        if question["file_order"]:
            run = config.stash[RUN_KEY]
            run.settings = dataclasses.replace(run.settings, order=FILE_ORDER)
        recorder = self.recorder = _Recorder()
        if not collecting and question["tests"]:
            self.probes = frozenset(question.get("probes", ()))
            self.probed_test = question["tests"][-1]
            self.stop_at = question.get("stop_at")
        config.pluginmanager.register(recorder, "atom-gates-fork-recorder")
        hook = config.hook
        try:
            if collecting:
                config.args[:] = question["args"]
                hook.pytest_collection(session=session)
            else:
                chosen = [self.collected[nodeid] for nodeid in question["tests"]]
                session.items = chosen
                session.testscollected = len(chosen)
                # As pytest's collection ends for a fresh process's node ids.
                hook.pytest_collection_modifyitems(session=session, config=config, items=chosen)
                hook.pytest_collection_finish(session=session)
            hook.pytest_runtestloop(session=session)
        except (pytest.Session.Failed, pytest.Session.Interrupted, pytest.UsageError):
            pass  # -x, a test not found: as in a fresh process
        except pytest.exit.Exception:
            pass
        return recorder

    def _probing_loop(self, session: pytest.Session) -> bool:
        """pytest's run loop, with a probe before each test probed after (``_probe``)."""
        items = session.items
        target = self.collected.get(self.probed_test)
        for index, item in enumerate(items):
            if item is target:
                target = None  # a probe asks about the test before it runs, not after
            if (
                target is not None
                and item.nodeid in self.probes
                and _threads() == 1  # a thread an earlier test left would be copied broken
            ):
                self._probe(session, item, target)
                if self.probed and self.probed[-1] == (item.nodeid, self.stop_at):
                    return True  # what the question was for is known
            nextitem = items[index + 1] if index + 1 < len(items) else None
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            if session.shouldfail:
                raise session.Failed(session.shouldfail)
            if session.shouldstop:
                raise session.Interrupted(session.shouldstop)
        return True

    def _probe(self, session: pytest.Session, item: pytest.Item, target: pytest.Item) -> None:
        """Would ``target`` fail right after ``item``? A copy of this process answers it as a
        question ending with the two would: ``item`` runs with ``target`` next, so it tears
        down what ``target`` does not share, then ``target`` runs last. This process goes on
        as if nothing had happened, since nothing did to it."""
        answer = Path(f"{self.probe_file}.probe")
        # This process waits for the probe itself: a handler an earlier test left for SIGCHLD
        # (ignoring it, or reaping children) would take the probe away. The probe, and this
        # process once it has waited, keep that handler, as the question's tests left it.
        left = signal.getsignal(signal.SIGCHLD)
        if left is not None:  # None: set outside Python, and it cannot be put back
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        pid = os.fork()
        if pid:
            waited = _waited(pid, PROBE_TIMEOUT)
            if left is not None:
                signal.signal(signal.SIGCHLD, left)
        else:
            if left is not None:
                signal.signal(signal.SIGCHLD, left)
            me = os.getpid()
            code = 1
            try:
                hook = item.config.hook
                hook.pytest_runtest_protocol(item=item, nextitem=target)
                if not (session.shouldfail or session.shouldstop):
                    hook.pytest_runtest_protocol(item=target, nextitem=None)
                if os.getpid() == me and self.recorder is not None:
                    self.recorder.ledger.finish()
                    outcome = dict(self.recorder.ledger.outcomes()).get(target.nodeid)
                    answer.write_text(json.dumps(outcome), encoding="utf-8")
                    code = 0
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        if not waited:
            self.probes = frozenset()  # the rest of the question goes without
            return
        try:
            outcome = json.loads(answer.read_text(encoding="utf-8"))
            answer.unlink()
        except (OSError, ValueError):
            return
        if isinstance(outcome, str):
            self.probed.append((item.nodeid, outcome))

    def _reap(self, copies: dict[int, str]) -> None:
        """Say how each copy that has ended ended."""
        while copies:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            request = copies.pop(pid, None)
            if request is not None:
                self._reply(f"{request} {os.waitstatus_to_exitcode(status)}")

    def _answer(
        self, session: pytest.Session, request: dict[str, Any], *, collecting: bool = False
    ) -> None:
        """In a forked copy: run the question's tests as a fresh process would, write their
        outcomes to the request's file, exit. A ``collecting`` copy (of the group that collects
        nothing) collects them itself; another takes them from its group's collection."""
        code = 1
        try:
            self.role = "collecting copy" if collecting else "copy"
            gc.unfreeze()  # the tests meet garbage collection as in a fresh process
            me = os.getpid()
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.close(self.reply_fd)
            os.close(self.question_fd)  # the questions are the group's to read
            question = json.loads(Path(request["question"]).read_text(encoding="utf-8"))
            self.probe_file = request["out"]
            missing = [n for n in question["tests"] if n not in self.collected and not collecting]
            unfaithful = self.unfaithful or (
                f"{missing[0]} is not among the tests collected from {self.modules}"
                if missing
                else None
            )
            if unfaithful:
                Path(request["out"]).write_text(json.dumps({"fresh": unfaithful}), "utf-8")
                code = FRESH_ANSWER
                return
            recorder = self._run(session, question, collecting=collecting)
            if os.getpid() == me:  # not a child a test forked and left running pytest
                recorder.ledger.finish()
                outcomes = [[n, o] for n, o in recorder.ledger.outcomes()]
                out = Path(request["out"])
                partial = out.with_suffix(".partial")
                written = {"outcomes": outcomes, "probes": self.probed}
                partial.write_text(json.dumps(written), encoding="utf-8")
                os.replace(partial, out)
                code = 0
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)


def evicted(groups: dict[Any, Group], limit: int = MAX_GROUPS) -> Any:
    """The group to end before another starts: the least recently asked of those with no
    question pending, once ``limit`` are running (``groups`` is in the order they were last
    asked); None when there is room, or when every group is answering."""
    if len(groups) < limit:
        return None
    return next((key for key, group in groups.items() if not group.pending), None)


def _read_lines(fd: int, buffered: bytes) -> tuple[list[bytes] | None, bytes]:
    """The whole lines ``fd`` has for us, after what ``buffered`` held, and what is left of a
    line still coming; None at the end of the pipe."""
    chunk = os.read(fd, 1 << 16)
    if not chunk:
        return None, buffered
    *lines, rest = (buffered + chunk).split(b"\n")
    return lines, rest


def _waited(pid: int, seconds: float) -> bool:
    """Wait for the child ``pid`` to end, at most ``seconds``; past them it is killed."""
    try:
        ended = os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux 5.3 or newer: poll
        ended = None
    try:
        deadline = time.monotonic() + seconds
        pause = 0.0005
        while True:
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    return True
            except ChildProcessError:  # reaped by someone else: its answer may be lost
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return False
            if ended is not None:
                select.select([ended], [], [], left)
            else:
                time.sleep(min(pause, left))
                pause = min(2 * pause, 0.05)
    finally:
        if ended is not None:
            os.close(ended)


def _drained(fd: int) -> bool:
    try:
        return bool(os.read(fd, 512))
    except BlockingIOError:
        return False


def serve_if_asked(config: pytest.Config) -> None:
    """Make this pytest a server, if the checks started it as one."""
    value = os.environ.pop(SERVE_ENV, None)
    if value is None:
        return
    questions, replies, folder = value.split(":", 2)
    kept = os.environ.pop(PYCACHE_ENV, None)
    if sys.dont_write_bytecode:
        # The groups would rewrite the same test modules again; their bytecode goes to the
        # server's own folder (or where the run kept its own), never beside the project's files.
        sys.pycache_prefix = kept or str(Path(folder) / "pycache")
        sys.dont_write_bytecode = False
    server = ServerPlugin(config, int(questions), int(replies))
    config.pluginmanager.register(server, "atom-gates-fork-server")
