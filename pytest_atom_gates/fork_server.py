"""TQ-01's questions answered by forked copies of one pytest process: start-up paid once.

A server is a child pytest started as a fresh child would be (the run's options and seed, no
reruns, one process). It starts up (interpreter, plugins, the initial conftests), collects
nothing, runs nothing, and answers each question by ``os.fork()``: the copy collects the
question's tests itself and runs them through pytest's own collection and run protocol, writes
each outcome to a file and exits. So a copy imports just what a fresh process named those tests
would, and meets the state a fresh process meets; only the start-up is shared. Questions come
on the server's standard input as JSON lines; the server says on a pipe of its own when it is
ready and when each copy has ended.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from pytest_atom_gates.gates.independence import FORKED
from pytest_atom_gates.ledger import Ledger
from pytest_atom_gates.questions import (
    Answer,
    ChildSpec,
    FreshProcesses,
    Question,
    signal_name,
)
from pytest_atom_gates.run import RUN_KEY
from pytest_atom_gates.settings import FILE_ORDER

SERVE_ENV = "ATOM_GATES_FORK_SERVER"
"""Set in a server's environment: the file descriptors it reads questions from and replies on
(not standard input, which pytest's capture replaces), and its folder."""
ENGINE_ENV = "ATOM_GATES_ORDER_CHECK_ENGINE"
"""``fresh`` makes the checks start a fresh process per question; ``fork``, the default, forks
where the platform allows it."""
ENGINES = ("fork", "fresh")


def engine_choice_problem(environ: Mapping[str, str]) -> str | None:
    """What is wrong with the engine the environment asks for, or None."""
    value = environ.get(ENGINE_ENV)
    if value is None or value in ENGINES:
        return None
    return (
        f"{ENGINE_ENV}={value}: not a way to answer TQ-01's questions. Accepted: fork (the "
        "default: forked copies of one pytest process, where the platform allows it), fresh "
        "(a fresh pytest process per question)."
    )


def fork_unavailable(environ: Mapping[str, str]) -> str | None:
    """Why questions cannot be answered by forked copies here, or None."""
    if environ.get(ENGINE_ENV) == "fresh":
        return f"{ENGINE_ENV}=fresh"
    if not hasattr(os, "fork"):
        return "this platform has no fork()"
    if sys.platform == "darwin":
        return "fork() is unsafe with macOS system frameworks"
    return None


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


class ServerPlugin:
    """Registered in a server: collects nothing and serves questions instead of running tests;
    in a forked copy, steps aside so that pytest collects and runs the question's tests."""

    def __init__(self, config: pytest.Config, question_fd: int, reply_fd: int) -> None:
        self.config = config
        self.question_fd = question_fd
        self.reply_fd = reply_fd
        self.in_copy = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self) -> bool | None:
        return None if self.in_copy else True  # the server collects nothing

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        if self.in_copy:
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
        threads = _threads()
        if threads > 1:
            self._reply(f"unusable {threads} threads run after start-up; a fork copies them broken")
            return
        self._reply("ready")
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
            chunk = os.read(self.question_fd, 1 << 16)
            if not chunk:  # the checks are over
                break
            buffered += chunk
            *lines, buffered = buffered.split(b"\n")
            for line in lines:
                request = json.loads(line)
                if "kill" in request:
                    pid = next((p for p, r in copies.items() if r == request["kill"]), None)
                    if pid is not None:
                        os.kill(pid, signal.SIGKILL)
                    continue
                pid = os.fork()
                if pid == 0:
                    self._answer(session, request)
                copies[pid] = request["id"]
        for pid in copies:
            os.kill(pid, signal.SIGKILL)

    def _reap(self, copies: dict[int, str]) -> None:
        while copies:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            request = copies.pop(pid, None)
            if request is not None:
                self._reply(f"{request} {os.waitstatus_to_exitcode(status)}")

    def _answer(self, session: pytest.Session, request: dict[str, Any]) -> None:
        """In the forked copy: collect and run the question's tests as a fresh process would,
        write their outcomes to the request's file, exit."""
        code = 1
        try:
            self.in_copy = True
            me = os.getpid()
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.close(self.reply_fd)
            os.close(self.question_fd)  # the questions are the server's to read
            config = self.config
            if request["file_order"]:
                run = config.stash[RUN_KEY]
                run.settings = dataclasses.replace(run.settings, order=FILE_ORDER)
            config.args[:] = request["args"]
            recorder = _Recorder()
            config.pluginmanager.register(recorder, "atom-gates-fork-recorder")
            try:
                config.hook.pytest_collection(session=session)
                config.hook.pytest_runtestloop(session=session)
            except (pytest.Session.Failed, pytest.Session.Interrupted, pytest.UsageError):
                pass  # -x, a collection error, a test not found: as in a fresh process
            except pytest.exit.Exception:
                pass
            if os.getpid() == me:  # not a child a test forked and left running pytest
                recorder.ledger.finish()
                outcomes = [[n, o] for n, o in recorder.ledger.outcomes()]
                out = Path(request["out"])
                partial = out.with_suffix(".partial")
                partial.write_text(json.dumps(outcomes), encoding="utf-8")
                os.replace(partial, out)
                code = 0
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)


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
    if sys.dont_write_bytecode:
        # The copies rewrite the same test modules again and again; their bytecode goes to
        # the server's own folder, never beside the project's files.
        sys.pycache_prefix = str(Path(folder) / "pycache")
        sys.dont_write_bytecode = False
    server = ServerPlugin(config, int(questions), int(replies))
    config.pluginmanager.register(server, "atom-gates-fork-server")


# -- the checks' side ------------------------------------------------------------------------


class _Server:
    """One server process and the questions it is answering."""

    def __init__(self, spec: ChildSpec, folder: Path) -> None:
        self.spec = spec
        self.folder = folder
        self.log = folder / "server.log"
        reply_read, reply_write = os.pipe()
        question_read, question_write = os.pipe()
        try:
            with open(self.log, "wb") as log:
                self.process = subprocess.Popen(
                    [
                        *spec.command,
                        f"--atom-gates-report={folder / 'server.json'}",
                        "-o",
                        f"cache_dir={folder / 'cache'}",
                    ],
                    cwd=spec.cwd,
                    env={**spec.environment, SERVE_ENV: f"{question_read}:{reply_write}:{folder}"},
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(question_read, reply_write),
                    start_new_session=True,  # its copies are stopped with it
                )
        except BaseException:
            os.close(reply_read)
            os.close(question_write)
            raise
        finally:
            os.close(reply_write)
            os.close(question_read)
        self.replies = os.fdopen(reply_read, "r", encoding="utf-8")
        self.questions = os.fdopen(question_write, "wb")
        self.ready = threading.Event()
        self.problem: str | None = None
        self._pending: dict[str, tuple[threading.Event, list[int | None]]] = {}
        self._lock = threading.Lock()
        self._next = 0
        self.ended = False
        self.reader = threading.Thread(
            target=self._read, daemon=True, name="atom-gates-fork-replies"
        )
        self.reader.start()

    def _read(self) -> None:
        for line in self.replies:
            word, _, rest = line.strip().partition(" ")
            if not self.ready.is_set():
                self.problem = None if word == "ready" else rest
                self.ready.set()
                continue
            with self._lock:
                waiting = self._pending.pop(word, None)
            if waiting is not None:
                waiting[1].append(int(rest))
                waiting[0].set()
        # The server ended: whoever still waits gets no answer, and nobody asks it again.
        if not self.ready.is_set():
            self.problem = f"it ended before serving ({self._ending()})"
            self.ready.set()
        with self._lock:
            self.ended = True
            pending, self._pending = self._pending, {}
        for event, code in pending.values():
            code.append(None)
            event.set()

    def _ending(self) -> str:
        code = self.process.wait()
        try:
            text = self.log.read_text(encoding="utf-8", errors="backslashreplace")
        except OSError:
            text = ""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith(("ERROR", "Fatal Python"))]
        last = errors[0] if errors else (lines[-1] if lines else "no output")
        return f"exit {code}: {last}"

    def ask(self, question: Question, timeout: float) -> Answer | None:
        """The answer; None when the server has ended (killed, say, by a test)."""
        with self._lock:
            if self.ended:
                return None
            self._next += 1
            request = str(self._next)
            event, code = self._pending[request] = (threading.Event(), [])
        out = self.folder / f"{request}.json"
        self._send(
            {
                "id": request,
                "args": [self.spec.cli_id(n) for n in question.tests],
                "file_order": question.file_order,
                "out": str(out),
            }
        )
        if not event.wait(timeout):
            self._send({"kill": request})
            event.wait(5)
            raise subprocess.TimeoutExpired(self.process.args, timeout)
        try:
            outcomes = json.loads(out.read_text(encoding="utf-8"))
            out.unlink()
        except (OSError, ValueError):
            outcomes = []
        ended = code[0]
        if ended is None:  # the server ended: a fresh process answers instead
            return None
        if ended < 0:
            why = f"killed by {signal_name(-ended)}"
        else:
            why = f"exit {ended}: the forked copy wrote no outcome"
        return Answer(tuple((n, o) for n, o in outcomes), "" if outcomes else why)

    def _send(self, line: dict[str, Any]) -> None:
        data = (json.dumps(line) + "\n").encode()
        with self._lock:
            try:
                self.questions.write(data)
                self.questions.flush()
            except (OSError, ValueError):  # the server ended; its reader answers for it
                pass

    def stop(self) -> None:
        with contextlib.suppress(OSError):  # already gone
            os.killpg(self.process.pid, signal.SIGKILL)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.questions.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.stop()
            self.process.wait()
        self.stop()  # copies still running, if any
        self.reader.join(10)  # it reads until the server and its copies are gone
        if not self.reader.is_alive():
            self.replies.close()


class ForkedCopies:
    """Answers each question in a forked copy of one server; where the server cannot serve,
    or the question replays new-test repetitions, a fresh process answers (``fallback``)."""

    mechanism = FORKED

    def __init__(self, spec: ChildSpec, fallback: FreshProcesses) -> None:
        self.spec = spec
        self.fallback = fallback
        self.forked = 0
        self.unusable: str | None = None
        """Why the server could not serve, if it could not."""
        self.stopped = False
        """Interrupted: no question is asked any more."""
        self._server: _Server | None = None
        self._folder = tempfile.TemporaryDirectory(prefix="atom-gates-forks-")
        self._lock = threading.Lock()

    def ask(self, question: Question, timeout: float) -> Answer:
        if self.stopped:
            return Answer((), "interrupted")
        if any(n in self.spec.repetitions for n in question.tests):
            # The server runs no new-test repetitions: a fresh process replays them.
            return self.fallback.ask(question, timeout)
        server = self._serving(timeout)
        if server is None:
            return self.fallback.ask(question, timeout)
        answer = server.ask(question, timeout)
        if answer is None:
            with self._lock:
                self.unusable = self.unusable or "its server ended while serving"
            return self.fallback.ask(question, timeout)
        with self._lock:
            self.forked += 1
        return answer

    def _serving(self, timeout: float) -> _Server | None:
        with self._lock:
            if self.unusable is not None:
                return None
            if self._server is None:
                try:
                    self._server = _Server(self.spec, Path(self._folder.name))
                except OSError as exc:
                    self.unusable = f"its server could not start: {exc}"
                    return None
            server = self._server
        if not server.ready.wait(timeout):
            server.problem = f"its server did not start within {timeout:.0f} s"
        if server.problem is not None:
            with self._lock:
                self.unusable = self.unusable or f"its server could not serve: {server.problem}"
            server.stop()
            return None
        return server

    def stop(self) -> None:
        self.stopped = True
        if self._server is not None:
            self._server.stop()
        self.fallback.stop()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self._folder.cleanup()
